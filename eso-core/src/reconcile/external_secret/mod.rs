//! The ExternalSecret flow: fetch, decode, convert, rewrite, template, write the target Secret.

mod fetch;
mod target;

use std::time::Duration;

use super::conditions::set_condition;
use super::generator_state::{Generated, consumer_ref};
use super::hash::{data_hash, resource_version};
use super::outcome::{FlowError, Outcome};
use super::{ANNOTATION_DATA_HASH, LABEL_MANAGED, Pass, Reconciler, with_jitter};
use crate::api::{
    EsoResource, ExternalSecret, ExternalSecretCreationPolicy, ExternalSecretDeletionPolicy,
    ExternalSecretRefreshPolicy, ExternalSecretStatus, ExternalSecretTemplate,
};
use crate::cluster::{KubeSecret, OwnerRef};
use crate::{Error, Result, template};

const ES_API_VERSION: &str = "external-secrets.io/v1";

/// How soon an ExternalSecret whose reconcile failed with a temporary error (a rate limit, an
/// outage, a conflict) is tried again.
pub const TEMPORARY_REQUEUE: Duration = Duration::from_secs(5);

/// What happened to the target Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetAction {
    /// The Secret was created.
    Created,
    /// The Secret's data was updated (and maybe its labels, annotations or type).
    Updated,
    /// Only the Secret's labels, annotations or type were updated; its data is unchanged.
    Relabelled,
    /// The Secret already had the wanted content.
    Unchanged,
    /// The Secret was deleted (deletionPolicy Delete with no data).
    Deleted,
    /// Nothing was fetched: the object did not need a refresh.
    Skipped,
    /// Nothing was written (creationPolicy None, Merge without a target, Retain, or an error).
    NotWritten,
}

/// The result of reconciling one ExternalSecret: its status, the error (if the reconcile
/// failed; also in the `Ready` condition) and what happened to the target Secret.
pub type ExternalSecretOutcome = Outcome<ExternalSecretStatus, TargetAction>;

pub(super) use fetch::remote_ref;

fn rfc3339(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Reconciler {
    pub(crate) fn generators_registry(&self) -> &crate::generator::GeneratorRegistry {
        &self.generators
    }

    /// Reconciles one ExternalSecret at time `now`: decides whether a refresh is due, fetches,
    /// renders and writes the target Secret, and returns the new status.
    pub async fn reconcile_external_secret(
        &self,
        es: &ExternalSecret,
        pass: &Pass,
        now: jiff::Timestamp,
    ) -> ExternalSecretOutcome {
        let status = es.status.clone().unwrap_or_default();
        let ns = es.namespace().unwrap_or("default").to_owned();
        let target_name = target_name(es);
        let now_s = rfc3339(now);
        let interval = es.spec.refresh_interval.to_std().unwrap_or_default();
        let labels = es.metadata.labels.clone().unwrap_or_default();
        let annotations = es.metadata.annotations.clone().unwrap_or_default();
        let rv = resource_version(es.metadata.generation.unwrap_or(0), &labels, &annotations);
        let requeue =
            (!interval.is_zero()).then(|| with_jitter(interval, &format!("{ns}/{}", es.name())));

        // Generic targets (`target.manifest`) write arbitrary objects; like ESO without
        // `--unsafe-allow-generic-targets`, they are refused, and not retried.
        if es.spec.target.manifest.is_some() {
            let e = Error::invalid_config(
                "spec.target.manifest",
                "generic targets are disabled: eso-rs only writes Secrets",
            );
            return self.failed(status, "invalid generic target", e, &now_s, None);
        }
        let existing = match self.existing_target(es, &ns, &target_name).await {
            Ok(s) => s,
            Err(e) => {
                return self.failed(status, "could not get target secret", e, &now_s, requeue);
            }
        };
        if !self.should_refresh(es, &status, &rv, now, interval, pass.refresh_ahead())
            && self.is_secret_valid(es, existing.as_ref())
        {
            return skipped(es, status, now, interval, requeue);
        }

        let run = Run {
            es,
            consumer: consumer_ref(
                "ExternalSecret",
                ES_API_VERSION,
                es.name(),
                es.metadata.uid.as_deref().unwrap_or_default(),
            ),
            ns,
            target_name,
            now,
            now_s,
            rv,
            requeue,
        };
        let mut generated = Generated::default();
        let data = match self.fetch_data(es, &run.ns, pass, &mut generated).await {
            Ok(d) => d,
            Err(e) => {
                let msg = "could not get secret data from provider";
                return self.give_up(&run, status, generated, msg, e, requeue).await;
            }
        };
        if data.is_empty() {
            match es.spec.target.deletion_policy {
                ExternalSecretDeletionPolicy::Delete => {
                    return self
                        .delete_empty_target(&run, status, existing, generated)
                        .await;
                }
                ExternalSecretDeletionPolicy::Retain => {
                    self.commit_generated(&run.consumer, &run.ns, generated, now)
                        .await;
                    let msg = "secret retained due to DeletionPolicy=Retain";
                    let status = run.synced(status, "SecretSynced", msg);
                    return ExternalSecretOutcome::new(status, requeue, TargetAction::NotWritten);
                }
                _ => {}
            }
        }
        match self
            .write_target(es, &run.ns, &run.target_name, existing, data)
            .await
        {
            Ok(action) => {
                self.commit_generated(&run.consumer, &run.ns, generated, now)
                    .await;
                let creation = es.spec.target.creation_policy;
                let (reason, msg) = if action == TargetAction::NotWritten
                    && creation == ExternalSecretCreationPolicy::Merge
                {
                    (
                        "SecretMissing",
                        "secret will not be created due to CreationPolicy=Merge",
                    )
                } else {
                    ("SecretSynced", "secret synced")
                };
                let mut status = run.synced(status, reason, msg);
                if creation != ExternalSecretCreationPolicy::None {
                    status.binding = Some(k8s_openapi::api::core::v1::LocalObjectReference {
                        name: run.target_name,
                    });
                }
                ExternalSecretOutcome::new(status, requeue, action)
            }
            Err((msg, e, retry)) => {
                let requeue = if retry { requeue } else { None };
                self.give_up(&run, status, generated, msg, e, requeue).await
            }
        }
    }

    /// The target Secret as it is now. A target the flow creates may be known absent
    /// without a request (new objects); Merge and None write into an existing Secret only:
    /// always asked.
    async fn existing_target(
        &self,
        es: &ExternalSecret,
        ns: &str,
        name: &str,
    ) -> Result<Option<KubeSecret>> {
        match es.spec.target.creation_policy {
            ExternalSecretCreationPolicy::Owner | ExternalSecretCreationPolicy::Orphan => {
                self.cluster().get_target_secret(ns, name).await
            }
            _ => self.cluster().get_secret(ns, name).await,
        }
    }

    /// `deletionPolicy: Delete` with no data: the target goes (only a Secret this
    /// ExternalSecret owns may be deleted).
    async fn delete_empty_target(
        &self,
        run: &Run<'_>,
        status: ExternalSecretStatus,
        existing: Option<KubeSecret>,
        generated: Generated,
    ) -> ExternalSecretOutcome {
        let creation = run.es.spec.target.creation_policy;
        if creation != ExternalSecretCreationPolicy::Owner {
            let e = Error::invalid_config(
                "spec.target.deletionPolicy",
                format!(
                    "unable to delete secret {}: creationPolicy={creation:?} is not Owner",
                    run.target_name
                ),
            );
            return self
                .give_up(run, status, generated, "could not delete secret", e, None)
                .await;
        }
        if existing.is_some()
            && let Err(e) = self
                .cluster()
                .delete_secret(&run.ns, &run.target_name)
                .await
        {
            let msg = "could not delete secret";
            return self
                .give_up(run, status, generated, msg, e, run.requeue)
                .await;
        }
        self.commit_generated(&run.consumer, &run.ns, generated, run.now)
            .await;
        let msg = "secret deleted due to DeletionPolicy=Delete";
        let status = run.synced(status, "SecretDeleted", msg);
        ExternalSecretOutcome::new(status, run.requeue, TargetAction::Deleted)
    }

    /// Rolls back what this pass generated and fails it.
    async fn give_up(
        &self,
        run: &Run<'_>,
        status: ExternalSecretStatus,
        generated: Generated,
        msg: &str,
        e: Error,
        requeue: Option<Duration>,
    ) -> ExternalSecretOutcome {
        self.rollback_generated(&run.consumer, &run.ns, generated, run.now)
            .await;
        self.failed(status, msg, e, &run.now_s, requeue)
    }

    fn failed(
        &self,
        mut status: ExternalSecretStatus,
        msg: &str,
        e: Error,
        now: &str,
        requeue: Option<Duration>,
    ) -> ExternalSecretOutcome {
        // ESO's message, then the error itself, so its kind (rate limited, unavailable,
        // not found...) shows in the status and not only in the logs.
        set_condition(
            &mut status.conditions,
            "Ready",
            false,
            "SecretSyncedError",
            &format!("{msg}: {e}"),
            now,
        );
        let retry = if e.is_temporary() {
            Some(TEMPORARY_REQUEUE)
        } else {
            requeue
        };
        let mut out = ExternalSecretOutcome::new(status, retry, TargetAction::NotWritten);
        out.errors.push(FlowError::object(e));
        out
    }

    pub(super) fn should_refresh(
        &self,
        es: &ExternalSecret,
        status: &ExternalSecretStatus,
        rv: &str,
        now: jiff::Timestamp,
        interval: Duration,
        ahead: Duration,
    ) -> bool {
        let synced = status.synced_resource_version.as_deref();
        match es.spec.refresh_policy {
            Some(ExternalSecretRefreshPolicy::CreatedOnce) => return synced.is_none(),
            Some(ExternalSecretRefreshPolicy::OnChange) => return synced != Some(rv),
            _ => {}
        }
        if interval.is_zero() && synced.is_some() {
            return false;
        }
        if synced != Some(rv) {
            return true;
        }
        let Some(last) = status
            .refresh_time
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        else {
            return true;
        };
        if last > now {
            return true;
        }
        // A refresh due within `ahead` is made now (an operator grouping refreshes: see
        // `Pass::refreshing_ahead`): the value is then fresher than the interval asks.
        let ahead = jiff::SignedDuration::try_from(ahead).unwrap_or_default();
        match jiff::SignedDuration::try_from(interval) {
            Ok(d) => {
                last + d <= now + ahead && super::sync_window::periodic_refresh_allowed(es, now)
            }
            Err(_) => false,
        }
    }

    pub(super) fn is_secret_valid(&self, es: &ExternalSecret, secret: Option<&KubeSecret>) -> bool {
        if es.spec.target.creation_policy == ExternalSecretCreationPolicy::Orphan {
            return true;
        }
        let Some(s) = secret else { return false };
        s.labels.get(LABEL_MANAGED).map(String::as_str) == Some("true")
            && s.annotations.get(ANNOTATION_DATA_HASH) == Some(&data_hash(&s.data))
    }

    /// The ConfigMaps and Secrets a template's `templateFrom` names, read from `ns`. A
    /// missing object is an error naming the field (`<field>.templateFrom[i].configMap`), in
    /// both flows, as in ESO.
    pub(super) async fn template_sources(
        &self,
        t: &ExternalSecretTemplate,
        ns: &str,
        field: &str,
    ) -> Result<template::TemplateSources> {
        let mut sources = template::TemplateSources::default();
        for (i, tf) in t.template_from.iter().flatten().enumerate() {
            if let Some(cm) = &tf.config_map {
                let found = self
                    .cluster()
                    .get_config_map(ns, &cm.name)
                    .await?
                    .ok_or_else(|| {
                        Error::invalid_config(
                            format!("{field}.templateFrom[{i}].configMap"),
                            format!("ConfigMap {ns}/{} not found", cm.name),
                        )
                    })?;
                sources.config_maps.insert(cm.name.clone(), found.data);
            }
            if let Some(sec) = &tf.secret {
                let found = self
                    .cluster()
                    .get_secret(ns, &sec.name)
                    .await?
                    .ok_or_else(|| {
                        Error::invalid_config(
                            format!("{field}.templateFrom[{i}].secret"),
                            format!("Secret {ns}/{} not found", sec.name),
                        )
                    })?;
                sources.secrets.insert(sec.name.clone(), found.data);
            }
        }
        Ok(sources)
    }

    /// Handles deletion of an ExternalSecret: with `deletionPolicy: Delete` the target Secret
    /// is deleted if this ExternalSecret controls it. The outcome's `detail` says whether it
    /// was ([`TargetAction::Deleted`]); on an error, keep the finalizer and retry. The
    /// generator states of the ExternalSecret are cleaned up (their generator's cleanup: a
    /// VaultDynamicSecret lease is revoked) and deleted first.
    pub async fn delete_external_secret(
        &self,
        es: &ExternalSecret,
        _now: jiff::Timestamp,
    ) -> ExternalSecretOutcome {
        let status = es.status.clone().unwrap_or_default();
        let ns = es.namespace().unwrap_or("default");
        let released = self
            .release_consumer_states("ExternalSecret", ns, es.name())
            .await;
        match released.and(self.delete_target(es).await) {
            Ok(true) => ExternalSecretOutcome::new(status, None, TargetAction::Deleted),
            Ok(false) => ExternalSecretOutcome::new(status, None, TargetAction::NotWritten),
            Err(e) => {
                let mut out = ExternalSecretOutcome::new(
                    status,
                    Some(TEMPORARY_REQUEUE),
                    TargetAction::NotWritten,
                );
                out.errors.push(FlowError::object(e));
                out
            }
        }
    }

    /// Deletes the target of `es` when its deletion policy says so and `es` controls it.
    async fn delete_target(&self, es: &ExternalSecret) -> Result<bool> {
        if es.spec.target.deletion_policy != ExternalSecretDeletionPolicy::Delete {
            return Ok(false);
        }
        let ns = es.namespace().unwrap_or("default");
        let name = target_name(es);
        let Some(s) = self.cluster().get_secret(ns, &name).await? else {
            return Ok(false);
        };
        let controlled = s
            .owner_references
            .iter()
            .any(|o| o.controller && o.kind == "ExternalSecret" && o.name == es.name());
        if controlled {
            self.cluster().delete_secret(ns, &name).await?;
        }
        Ok(controlled)
    }
}

/// One reconcile of an ExternalSecret past the refresh check: what its steps share.
struct Run<'a> {
    es: &'a ExternalSecret,
    /// The ExternalSecret as the consumer of generator states.
    consumer: OwnerRef,
    ns: String,
    target_name: String,
    now: jiff::Timestamp,
    now_s: String,
    /// The `syncedResourceVersion` of this pass.
    rv: String,
    requeue: Option<Duration>,
}

impl Run<'_> {
    /// `status` after a successful pass: `Ready` with `reason` and `msg`, refreshed now.
    fn synced(
        &self,
        mut status: ExternalSecretStatus,
        reason: &str,
        msg: &str,
    ) -> ExternalSecretStatus {
        set_condition(
            &mut status.conditions,
            "Ready",
            true,
            reason,
            msg,
            &self.now_s,
        );
        status.refresh_time = Some(self.now_s.clone());
        status.synced_resource_version = Some(self.rv.clone());
        status
    }
}

/// The name of the target Secret: `spec.target.name`, or the ExternalSecret's own name.
fn target_name(es: &ExternalSecret) -> String {
    es.spec
        .target
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| es.name().to_owned())
}

/// The outcome of a pass that needs no refresh: the status unchanged, requeued when the
/// next refresh is due (or a sync window opens).
fn skipped(
    es: &ExternalSecret,
    status: ExternalSecretStatus,
    now: jiff::Timestamp,
    interval: Duration,
    requeue: Option<Duration>,
) -> ExternalSecretOutcome {
    let remaining = status
        .refresh_time
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .and_then(|t| {
            (t + jiff::SignedDuration::try_from(interval).ok()?)
                .duration_since(now)
                .try_into()
                .ok()
        })
        .filter(|d: &Duration| !d.is_zero())
        .or_else(|| super::sync_window::blocked_requeue(es, now));
    ExternalSecretOutcome::new(
        status,
        remaining.or(requeue).filter(|_| !interval.is_zero()),
        TargetAction::Skipped,
    )
}

/// The flow's future is `Send` (kube-runtime and other generic hosts need that): checked
/// at compile time.
const _: fn(&Reconciler, &ExternalSecret, &Pass) = |r, es, p| {
    fn is_send<T: Send>(_: T) {}
    is_send(r.reconcile_external_secret(es, p, jiff::Timestamp::UNIX_EPOCH));
};
