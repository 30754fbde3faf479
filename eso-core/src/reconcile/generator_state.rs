//! Generator state as ESO keeps it: what a reconcile generated is recorded once the reconcile
//! succeeds (commit) or cleaned up at once when it fails (rollback); states the consumer has
//! moved away from get a garbage-collection deadline and are cleaned up and deleted after it
//! ([`Reconciler::collect_generator_states`]); deleting the consumer releases all of its states.
//!
//! ESO's rules, kept here: one state per consumer entry (`dataFrom` index, or `__pushsecret`)
//! and generation, labelled with ESO's owner key; at commit every state of the entry except
//! the newest unflagged one gets `deadline = now + grace period` (default two minutes, ESO's
//! `--generator-gc-grace-period`), then the new state is recorded. The state a consumer used
//! until this commit is therefore flagged one rotation later: a lease is cleaned up only once
//! two newer ones exist, so pods that have not picked up the last rotation keep working.

use std::time::Duration;

use super::Reconciler;
use crate::api::{GeneratorRef, GeneratorSpec};
use crate::cluster::{GeneratorStateQuery, KubeGeneratorState, OwnerRef};
use crate::generator::GeneratorContext;
use crate::{Error, Result, SecretMap};

/// ESO's default `--generator-gc-grace-period`: how long a state the consumer moved away
/// from is kept before its generator's cleanup runs.
pub const DEFAULT_GENERATOR_GC_GRACE_PERIOD: Duration = Duration::from_secs(120);

/// The entry key ESO uses for a PushSecret's generator.
pub const PUSH_SECRET_STATE_KEY: &str = "__pushsecret";

/// What one reconcile generated, not yet committed.
#[derive(Debug, Default)]
pub(crate) struct Generated {
    entries: Vec<GeneratedEntry>,
}

#[derive(Debug)]
struct GeneratedEntry {
    key: String,
    generator_name: String,
    generator: GeneratorSpec,
    state: Option<serde_json::Value>,
}

impl GeneratedEntry {
    /// The state record of this entry for `consumer` in `namespace` (none for a stateless
    /// generator).
    fn into_record(self, namespace: &str, consumer: &OwnerRef) -> Option<KubeGeneratorState> {
        let state = self.state?;
        let mut record = KubeGeneratorState::new(
            namespace,
            consumer.clone(),
            &self.key,
            self.generator,
            state,
        );
        record.generator_name = self.generator_name;
        Some(record)
    }
}

/// What [`Reconciler::collect_generator_states`] did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct GeneratorStateReport {
    /// States cleaned up and deleted.
    pub collected: usize,
    /// States still waiting for their deadline.
    pub waiting: usize,
    /// The earliest deadline still ahead, if any (when to look again).
    pub next_deadline: Option<jiff::Timestamp>,
    /// Cleanups or deletions that failed (the state stays and is retried).
    pub errors: Vec<Error>,
}

/// The owner reference ESO puts on a consumer's states (an owner, not the controller).
pub(crate) fn consumer_ref(kind: &str, api_version: &str, name: &str, uid: &str) -> OwnerRef {
    let mut o = OwnerRef::controller(api_version, kind, name, uid);
    o.controller = false;
    o
}

impl Reconciler {
    /// Runs the generator `r` points at for entry `key` of a consumer in `namespace`, and
    /// remembers what it produced in `generated` for the commit or rollback.
    pub(super) async fn generate(
        &self,
        r: &GeneratorRef,
        namespace: &str,
        key: &str,
        generated: &mut Generated,
    ) -> Result<SecretMap> {
        let spec = super::catalog::resolve_generator(self.catalog(), r, namespace)?;
        let kind = spec.kind().ok_or_else(|| {
            Error::invalid_config("generatorRef", "the generator holds no single spec")
        })?;
        let generator = self.generators_registry().get(kind.as_str())?;
        let ctx = GeneratorContext::new(&spec, namespace, self.cluster());
        let out = generator.generate(&ctx).await?;
        generated.entries.push(GeneratedEntry {
            key: key.to_owned(),
            generator_name: r.name.clone(),
            generator: spec,
            state: out.state,
        });
        Ok(out.data)
    }

    /// The reconcile succeeded: flag the states the consumer moved away from and record the
    /// new ones. A cluster that keeps no states makes this a no-op; failures are logged (the
    /// next commit of the entry flags what this one could not).
    pub(super) async fn commit_generated(
        &self,
        consumer: &OwnerRef,
        namespace: &str,
        generated: Generated,
        now: jiff::Timestamp,
    ) {
        if !self.generator_states {
            return;
        }
        let deadline = self.gc_deadline(now);
        for entry in generated.entries {
            if let Err(e) = self
                .commit_entry(consumer, namespace, entry, now, deadline)
                .await
            {
                if matches!(e, Error::NotSupported(_)) {
                    return;
                }
                tracing::warn!(
                    consumer = %format_args!("{}/{namespace}/{}", consumer.kind, consumer.name),
                    error = %e,
                    "could not commit generator state"
                );
            }
        }
    }

    async fn commit_entry(
        &self,
        consumer: &OwnerRef,
        namespace: &str,
        entry: GeneratedEntry,
        now: jiff::Timestamp,
        deadline: jiff::Timestamp,
    ) -> Result<()> {
        let owner_key =
            KubeGeneratorState::owner_key_of(&consumer.kind, namespace, &consumer.name, &entry.key);
        let existing = self
            .cluster()
            .list_generator_states(GeneratorStateQuery::OwnerKey(namespace, &owner_key))
            .await?;
        let latest = existing
            .iter()
            .filter(|s| s.garbage_collection_deadline.is_none() && !s.deleting)
            .max_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)))
            .map(|s| s.name.clone());
        for s in &existing {
            if s.garbage_collection_deadline.is_none() && Some(&s.name) != latest.as_ref() {
                match self
                    .cluster()
                    .flag_generator_state(namespace, &s.name, deadline)
                    .await
                {
                    Err(e) if !e.is_not_found() => return Err(e),
                    _ => {}
                }
            }
        }
        if let Some(mut record) = entry.into_record(namespace, consumer) {
            record.created = Some(now);
            self.cluster().create_generator_state(record).await?;
        }
        Ok(())
    }

    /// The reconcile failed after generating: clean up what it generated now. A state whose
    /// cleanup fails is recorded with a deadline of `now`, so the collector retries it.
    pub(super) async fn rollback_generated(
        &self,
        consumer: &OwnerRef,
        namespace: &str,
        generated: Generated,
        now: jiff::Timestamp,
    ) {
        for entry in generated.entries {
            let Some(mut record) = entry.into_record(namespace, consumer) else {
                continue;
            };
            let Err(e) = self.cleanup_state(&record).await else {
                continue;
            };
            if !self.generator_states {
                tracing::warn!(
                    consumer = %format_args!("{}/{namespace}/{}", consumer.kind, consumer.name),
                    error = %e,
                    "could not roll back generated values, and generator states are off: nothing will retry"
                );
                continue;
            }
            tracing::warn!(
                consumer = %format_args!("{}/{namespace}/{}", consumer.kind, consumer.name),
                error = %e,
                "could not roll back generated values; keeping the state for the collector"
            );
            record.created = Some(now);
            record.garbage_collection_deadline = Some(now);
            if let Err(e) = self.cluster().create_generator_state(record).await
                && !matches!(e, Error::NotSupported(_))
            {
                tracing::warn!(error = %e, "could not record the generator state to collect");
            }
        }
    }

    /// Cleans up and deletes every state whose deadline passed at `now` or whose deletion
    /// was requested (the garbage collector removed its consumer). Run it periodically (the
    /// operator does); a failed cleanup leaves the state in place to be tried again.
    pub async fn collect_generator_states(&self, now: jiff::Timestamp) -> GeneratorStateReport {
        self.collect_generator_states_in(GeneratorStateQuery::All, now)
            .await
    }

    /// Like [`collect_generator_states`](Self::collect_generator_states), over the states
    /// `query` selects (an operator watching one namespace collects only there).
    pub async fn collect_generator_states_in(
        &self,
        query: GeneratorStateQuery<'_>,
        now: jiff::Timestamp,
    ) -> GeneratorStateReport {
        let mut report = GeneratorStateReport::default();
        let states = match self.cluster().list_generator_states(query).await {
            Ok(s) => s,
            Err(Error::NotSupported(_)) => return report,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        };
        for s in states {
            if s.is_due(now) {
                match self.release_state(&s).await {
                    Ok(()) => report.collected += 1,
                    Err(e) => report.errors.push(e),
                }
            } else if let Some(d) = s.garbage_collection_deadline {
                report.waiting += 1;
                report.next_deadline = Some(report.next_deadline.map_or(d, |n| n.min(d)));
            }
        }
        report
    }

    /// Cleans up and deletes every state of the consumer `kind` `namespace/name` (its
    /// deletion): all entries, in use or not.
    pub(super) async fn release_consumer_states(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<usize> {
        let states = match self
            .cluster()
            .list_generator_states(GeneratorStateQuery::Namespace(namespace))
            .await
        {
            Ok(s) => s,
            Err(Error::NotSupported(_)) => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut released = 0;
        for s in states
            .iter()
            .filter(|s| s.owner.kind == kind && s.owner.name == name)
        {
            self.release_state(s).await?;
            released += 1;
        }
        Ok(released)
    }

    async fn release_state(&self, s: &KubeGeneratorState) -> Result<()> {
        self.cleanup_state(s).await.map_err(|e| {
            e.context(format!(
                "GeneratorState {}/{}: cleanup",
                s.namespace, s.name
            ))
        })?;
        self.cluster()
            .delete_generator_state(&s.namespace, &s.name)
            .await
    }

    async fn cleanup_state(&self, s: &KubeGeneratorState) -> Result<()> {
        let kind = s.generator.kind().ok_or_else(|| {
            Error::invalid_config("spec.resource", "the generator holds no single spec")
        })?;
        let generator = self.generators_registry().get(kind.as_str())?;
        let ctx = GeneratorContext::new(&s.generator, &s.namespace, self.cluster());
        generator.cleanup(&ctx, &s.state).await
    }

    fn gc_deadline(&self, now: jiff::Timestamp) -> jiff::Timestamp {
        jiff::SignedDuration::try_from(self.generator_gc_grace)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .unwrap_or(now)
    }
}
