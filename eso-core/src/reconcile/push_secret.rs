//! The PushSecret flow: source Secret (or generator) -> template -> every store, concurrently.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};

use super::conditions::set_condition;
use super::generator_state::{Generated, PUSH_SECRET_STATE_KEY, consumer_ref};
use super::hash::resource_version;
use super::outcome::{FlowError, Outcome, PushCounts, StoreKey};
use super::{Reconciler, with_jitter};
use crate::api::{
    EsoResource, PushSecret, PushSecretConversionStrategy, PushSecretData,
    PushSecretDeletionPolicy, PushSecretMatch, PushSecretRemoteRef, PushSecretStatus,
    PushSecretUpdatePolicy, SecretStoreRef, SyncedPushSecretsMap,
};
use crate::cluster::{KubeSecret, LabelQuery};
use crate::provider::{PushRef, PushValue, SourceMetadata};
use crate::{Error, Result, SecretMap, strategy, template};

/// The name ESO gives the in-memory Secret holding a generator's output.
const PS_API_VERSION: &str = "external-secrets.io/v1alpha1";
const GENERATED_SOURCE: &str = "___generated-secret";

/// The result of reconciling one PushSecret: its status, the errors (one per failing store,
/// or one for the whole object) and the [`PushCounts`].
pub type PushSecretOutcome = Outcome<PushSecretStatus, PushCounts>;

/// One source Secret after the template: its data and metadata.
#[derive(Debug)]
struct Source {
    data: SecretMap,
    meta: SourceMetadata,
}

/// One thing to push to one store.
#[derive(Clone, Debug)]
struct Entry {
    record: PushSecretData,
    /// For a `dataTo` bundle: only these keys.
    only_keys: Option<BTreeSet<String>>,
}

impl Entry {
    fn status_key(&self) -> String {
        let r = &self.record.match_.remote_ref;
        match r.property.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => format!("{}/{p}", r.remote_key),
            None => r.remote_key.clone(),
        }
    }

    fn push_ref(&self, source: &SourceMetadata) -> PushRef {
        let r = &self.record.match_.remote_ref;
        let mut pr = PushRef::new(r.remote_key.clone()).with_source(source.clone());
        pr.property.clone_from(&r.property);
        pr.secret_key = self
            .record
            .match_
            .secret_key
            .clone()
            .filter(|k| !k.is_empty());
        pr.metadata.clone_from(&self.record.metadata);
        pr
    }
}

fn delete_ref(record: &PushSecretData) -> PushRef {
    let r = &record.match_.remote_ref;
    let mut pr = PushRef::new(r.remote_key.clone());
    pr.property.clone_from(&r.property);
    pr
}

fn store_ref_from_key(key: &str) -> Option<SecretStoreRef> {
    let k = StoreKey::parse(key)?;
    Some(SecretStoreRef {
        name: k.name,
        kind: Some(k.kind),
    })
}

impl Reconciler {
    /// Reconciles one PushSecret at time `now`: reads the source, renders the template and
    /// pushes to every store concurrently (bounded), one error per failing store.
    ///
    /// Differences from ESO, on purpose: entries skipped by `updatePolicy: IfNotExists` are
    /// not recorded as synced, so `deletionPolicy: Delete` never deletes a remote secret this
    /// PushSecret did not write; with a label selector matching several Secrets, stale entries
    /// are computed over all of them at once, so sources never delete each other's entries;
    /// a failing store does not stop the others and keeps its previous entries in the status.
    pub async fn reconcile_push_secret(
        &self,
        ps: &PushSecret,
        now: jiff::Timestamp,
    ) -> PushSecretOutcome {
        let mut status = ps.status.clone().unwrap_or_default();
        let ns = ps.namespace().unwrap_or("default").to_owned();
        let now_s = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let interval = ps.spec.refresh_interval.to_std().unwrap_or_default();
        let labels = ps.metadata.labels.clone().unwrap_or_default();
        let annotations = ps.metadata.annotations.clone().unwrap_or_default();
        let rv = resource_version(ps.metadata.generation.unwrap_or(0), &labels, &annotations);
        let requeue =
            (!interval.is_zero()).then(|| with_jitter(interval, &format!("{ns}/{}", ps.name())));
        let mut out =
            PushSecretOutcome::new(PushSecretStatus::default(), requeue, PushCounts::default());
        if !push_due(&status, &rv, interval, now) {
            out.status = status;
            out.detail.up_to_date = true;
            return out;
        }
        let old_synced = status.synced_push_secrets.clone().unwrap_or_default();

        // 1. Sources.
        let consumer = consumer_ref(
            "PushSecret",
            PS_API_VERSION,
            ps.name(),
            ps.metadata.uid.as_deref().unwrap_or_default(),
        );
        let mut generated = Generated::default();
        let sources = match self.push_sources(ps, &ns, &mut generated).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                self.source_gone(ps, &ns, &old_synced, &mut status, &now_s, &mut out)
                    .await;
                out.status = status;
                return out;
            }
            Err(e) => {
                self.rollback_generated(&consumer, &ns, generated, now)
                    .await;
                let msg = format!("could not get source secret: {e}");
                errored(&mut status, &msg, &now_s);
                out.errors.push(FlowError::object(e));
                out.status = status;
                return out;
            }
        };

        // 2. Stores.
        let stores = match self.push_stores(ps, &ns) {
            Ok(s) => s,
            Err(e) => {
                self.rollback_generated(&consumer, &ns, generated, now)
                    .await;
                errored(&mut status, &e.to_string(), &now_s);
                out.errors.push(FlowError::object(e));
                out.status = status;
                return out;
            }
        };

        // 3. Push to every store concurrently; 4. stores that left the spec.
        let (mut new_synced, left) = self
            .push_to_stores(ps, &ns, &stores, &sources, &old_synced, &mut out)
            .await;
        if ps.spec.deletion_policy == PushSecretDeletionPolicy::Delete {
            self.delete_left_stores(&ns, &stores, &old_synced, &mut new_synced, &mut out)
                .await;
        }

        status.synced_push_secrets = (!new_synced.is_empty()).then_some(new_synced);
        // What was generated is in use once any store holds it.
        if out.errors.is_empty() || out.detail.pushed > 0 {
            self.commit_generated(&consumer, &ns, generated, now).await;
        } else {
            self.rollback_generated(&consumer, &ns, generated, now)
                .await;
        }
        if out.errors.is_empty() {
            let mut msg = "PushSecret synced successfully".to_owned();
            if ps.spec.update_policy == PushSecretUpdatePolicy::IfNotExists {
                msg.push_str(". Existing secrets in providers unchanged.");
            }
            if !left.is_empty() {
                msg.push_str(&format!(". Left in place: {}", left.join("; ")));
            }
            set_condition(
                &mut status.conditions,
                "Ready",
                true,
                "Synced",
                &msg,
                &now_s,
            );
            status.refresh_time = Some(now_s);
            status.synced_resource_version = Some(rv);
        } else {
            errored(&mut status, &out.error_message(), &now_s);
            out.requeue_after = Some(Duration::from_secs(5).max(requeue.unwrap_or_default() / 60));
        }
        out.status = status;
        out
    }

    /// The named source Secret is gone: with `deletionPolicy: Delete` what was pushed is
    /// deleted from the stores, otherwise the pass fails with NotFound.
    async fn source_gone(
        &self,
        ps: &PushSecret,
        ns: &str,
        old_synced: &SyncedPushSecretsMap,
        status: &mut PushSecretStatus,
        now_s: &str,
        out: &mut PushSecretOutcome,
    ) {
        if ps.spec.deletion_policy == PushSecretDeletionPolicy::Delete && !old_synced.is_empty() {
            let (deleted, errors) = self.delete_synced(ns, old_synced).await;
            out.detail.deleted = deleted;
            if errors.is_empty() {
                status.synced_push_secrets = None;
                set_condition(
                    &mut status.conditions,
                    "Ready",
                    false,
                    "SourceDeleted",
                    "source secret deleted; provider secrets cleaned up",
                    now_s,
                );
            } else {
                errored(status, &join_errors(&errors), now_s);
                out.errors = errors;
            }
        } else {
            let e = Error::not_found(format!(
                "{ns}/{}",
                ps.spec
                    .selector
                    .secret
                    .as_ref()
                    .and_then(|s| s.name.clone())
                    .unwrap_or_default()
            ));
            errored(status, &format!("could not get source secret: {e}"), now_s);
            out.errors.push(FlowError::object(e));
        }
    }

    /// Pushes `sources` to every store concurrently (bounded), counting into `out` and
    /// recording each store's error there; returns the new `syncedPushSecrets` and the entries
    /// left in place because their remote secret is not ours (`store: error` each). A failing
    /// store keeps what was known for it, plus what did get written.
    async fn push_to_stores(
        &self,
        ps: &PushSecret,
        ns: &str,
        stores: &[SecretStoreRef],
        sources: &[Source],
        old_synced: &SyncedPushSecretsMap,
        out: &mut PushSecretOutcome,
    ) -> (SyncedPushSecretsMap, Vec<String>) {
        // The futures are built first so the stream's type holds no closure over borrowed
        // arguments: that keeps this future `Send` for generic callers (kube-runtime).
        let pushes: Vec<_> = stores
            .iter()
            .map(|store_ref| {
                let key = StoreKey::new(store_ref.kind(), store_ref.name.clone());
                let old = old_synced.get(&key.to_string());
                async move {
                    let r = self.push_to_store(ps, ns, store_ref, sources, old).await;
                    (key, r)
                }
            })
            .collect();
        let results: Vec<_> = stream::iter(pushes)
            .buffer_unordered(self.push_concurrency)
            .collect()
            .await;

        let mut new_synced = SyncedPushSecretsMap::new();
        let mut left = Vec::new();
        for (key, r) in results {
            match r {
                Ok(s) => {
                    left.extend(s.left.iter().map(|e| format!("{key}: {e}")));
                    out.detail.pushed += s.pushed;
                    out.detail.skipped += s.skipped;
                    out.detail.deleted += s.deleted;
                    if !s.entries.is_empty() {
                        new_synced.insert(key.to_string(), s.entries);
                    }
                }
                Err((e, partial)) => {
                    let mut keep = old_synced
                        .get(&key.to_string())
                        .cloned()
                        .unwrap_or_default();
                    keep.extend(partial);
                    if !keep.is_empty() {
                        new_synced.insert(key.to_string(), keep);
                    }
                    out.errors.push(FlowError::store(key, e));
                }
            }
        }
        (new_synced, left)
    }

    /// `deletionPolicy: Delete`: what was pushed to stores that left the spec is deleted; a
    /// store whose deletion fails keeps its entries in `new_synced`.
    async fn delete_left_stores(
        &self,
        ns: &str,
        stores: &[SecretStoreRef],
        old_synced: &SyncedPushSecretsMap,
        new_synced: &mut SyncedPushSecretsMap,
        out: &mut PushSecretOutcome,
    ) {
        let current: BTreeSet<String> = stores
            .iter()
            .map(|s| format!("{}/{}", s.kind().as_str(), s.name))
            .collect();
        let gone: SyncedPushSecretsMap = old_synced
            .iter()
            .filter(|(k, _)| !current.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (deleted, errors) = self.delete_synced(ns, &gone).await;
        out.detail.deleted += deleted;
        for e in errors {
            if let Some(k) = e.store.as_ref().map(ToString::to_string)
                && let Some(v) = gone.get(&k)
            {
                new_synced.insert(k, v.clone());
            }
            out.errors.push(e);
        }
    }

    /// Handles deletion of a PushSecret: its generator states are cleaned up and deleted;
    /// with `deletionPolicy: Delete`, every synced entry is deleted from its store. The outcome's errors are per store (none: the finalizer can
    /// go); its status is the object's, unchanged.
    pub async fn delete_push_secret(
        &self,
        ps: &PushSecret,
        _now: jiff::Timestamp,
    ) -> PushSecretOutcome {
        let status = ps.status.clone().unwrap_or_default();
        let mut out = PushSecretOutcome::new(status, None, PushCounts::default());
        let ns = ps.namespace().unwrap_or("default");
        if let Err(e) = self
            .release_consumer_states("PushSecret", ns, ps.name())
            .await
        {
            out.errors.push(FlowError::object(e));
            out.requeue_after = Some(Duration::from_secs(5));
            return out;
        }
        if ps.spec.deletion_policy != PushSecretDeletionPolicy::Delete {
            return out;
        }
        let synced = out.status.synced_push_secrets.clone().unwrap_or_default();
        let (deleted, errors) = self.delete_synced(ns, &synced).await;
        out.detail.deleted = deleted;
        out.errors = errors;
        if !out.errors.is_empty() {
            out.requeue_after = Some(Duration::from_secs(5));
        }
        out
    }

    async fn delete_synced(
        &self,
        ns: &str,
        synced: &SyncedPushSecretsMap,
    ) -> (usize, Vec<FlowError>) {
        let mut deleted = 0;
        let mut errors = Vec::new();
        for (key, entries) in synced {
            let Some(store_ref) = store_ref_from_key(key) else {
                errors.push(FlowError::object(Error::invalid_config(
                    "status.syncedPushSecrets",
                    format!("bad store key {key:?}"),
                )));
                continue;
            };
            let store_key = || StoreKey::new(store_ref.kind(), store_ref.name.clone());
            let provider = match self
                .store_provider(&store_ref, ns, "status.syncedPushSecrets")
                .await
            {
                Ok((_, p)) => p,
                Err(e) => {
                    errors.push(FlowError::store(store_key(), e));
                    continue;
                }
            };
            for record in entries.values() {
                match provider.delete_secret(&delete_ref(record)).await {
                    Ok(()) => deleted += 1,
                    // Not ours: nothing to clean up, so the entry is dropped, not retried.
                    Err(e) if e.is_not_managed() => {
                        tracing::warn!(store = %store_key(), error = %e, "left in place");
                    }
                    Err(e) => {
                        errors.push(FlowError::store(store_key(), e));
                        break;
                    }
                }
            }
        }
        (deleted, errors)
    }

    /// The source Secrets after the template (data, type, labels, annotations); `None` when a
    /// named source is missing.
    async fn push_sources(
        &self,
        ps: &PushSecret,
        ns: &str,
        generated: &mut Generated,
    ) -> Result<Option<Vec<Source>>> {
        let sel = &ps.spec.selector;
        let mut sources: Vec<KubeSecret> = Vec::new();
        if let Some(g) = &sel.generator_ref {
            let data = self
                .generate(g, ns, PUSH_SECRET_STATE_KEY, generated)
                .await
                .map_err(|e| e.context("spec.selector.generatorRef"))?;
            // ESO's in-memory Secret for a generator has no type, labels or annotations.
            let mut generated = KubeSecret::new(ns, GENERATED_SOURCE).with_type("");
            generated.data = data;
            sources.push(generated);
        } else if let Some(s) = &sel.secret {
            if let Some(name) = s.name.as_deref().filter(|n| !n.is_empty()) {
                match self.cluster().get_secret(ns, name).await? {
                    Some(secret) => sources.push(secret),
                    None => return Ok(None),
                }
            } else if let Some(selector) = &s.selector {
                let q = LabelQuery::from_selector(selector, "spec.selector.secret.selector")?;
                sources.extend(self.cluster().list_secrets(ns, &q).await?);
            }
        }
        let Some(t) = &ps.spec.template else {
            return Ok(Some(
                sources
                    .into_iter()
                    .map(|s| Source {
                        meta: SourceMetadata {
                            type_: s.type_,
                            labels: s.labels,
                            annotations: s.annotations,
                        },
                        data: s.data,
                    })
                    .collect(),
            ));
        };
        let tsources = self.template_sources(t, ns, "spec.template").await?;
        let mut out = Vec::new();
        for s in sources {
            let mut target = template::TargetSecret {
                type_: Some(s.type_),
                data: s.data,
                labels: s.labels,
                annotations: s.annotations,
                ..Default::default()
            };
            template::apply_push(t, &tsources, &mut target)?;
            out.push(Source {
                data: target.data,
                meta: SourceMetadata {
                    type_: target.type_.unwrap_or_default(),
                    labels: target.labels,
                    annotations: target.annotations,
                },
            });
        }
        Ok(Some(out))
    }

    fn push_stores(&self, ps: &PushSecret, ns: &str) -> Result<Vec<SecretStoreRef>> {
        let mut out: Vec<SecretStoreRef> = Vec::new();
        for (i, r) in ps.spec.secret_store_refs.iter().enumerate() {
            if let Some(name) = r.name.as_deref().filter(|n| !n.is_empty()) {
                out.push(SecretStoreRef {
                    name: name.to_owned(),
                    kind: Some(r.kind),
                });
            } else if let Some(sel) = &r.label_selector {
                let q = LabelQuery::from_selector(
                    sel,
                    &format!("spec.secretStoreRefs[{i}].labelSelector"),
                )?;
                for name in super::catalog::stores_by_labels(self.catalog(), r.kind, ns, &q) {
                    out.push(SecretStoreRef {
                        name,
                        kind: Some(r.kind),
                    });
                }
            }
        }
        out.sort_by(|a, b| (a.kind().as_str(), &a.name).cmp(&(b.kind().as_str(), &b.name)));
        out.dedup();
        Ok(out)
    }

    /// The entries for one store: `data[]` plus the `dataTo[]` entries aimed at it.
    fn entries_for(
        &self,
        ps: &PushSecret,
        ns: &str,
        store: &SecretStoreRef,
        data: &SecretMap,
    ) -> Result<Vec<Entry>> {
        let mut entries: Vec<Entry> = ps
            .spec
            .data
            .iter()
            .flatten()
            .map(|d| Entry {
                record: d.clone(),
                only_keys: None,
            })
            .collect();
        for (i, dt) in ps.spec.data_to.iter().flatten().enumerate() {
            let path = format!("spec.dataTo[{i}]");
            if let Some(sr) = &dt.store_ref {
                let matches = if let Some(name) = sr.name.as_deref().filter(|n| !n.is_empty()) {
                    name == store.name && sr.kind == store.kind()
                } else if let Some(sel) = &sr.label_selector {
                    let q =
                        LabelQuery::from_selector(sel, &format!("{path}.storeRef.labelSelector"))?;
                    super::catalog::stores_by_labels(self.catalog(), sr.kind, ns, &q)
                        .contains(&store.name)
                        && sr.kind == store.kind()
                } else {
                    true
                };
                if !matches {
                    continue;
                }
            }
            let re = match dt
                .match_
                .as_ref()
                .and_then(|m| m.regexp.as_deref())
                .filter(|r| !r.is_empty())
            {
                Some(r) => Some(regex::Regex::new(r).map_err(|_| {
                    Error::invalid_config(
                        format!("{path}.match.regexp"),
                        "invalid regular expression",
                    )
                })?),
                None => None,
            };
            let matched: SecretMap = data
                .iter()
                .filter(|(k, _)| re.as_ref().is_none_or(|r| r.is_match(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if let Some(remote_key) = dt.remote_key.as_deref().filter(|k| !k.is_empty()) {
                entries.push(Entry {
                    record: PushSecretData {
                        match_: PushSecretMatch {
                            secret_key: None,
                            remote_ref: PushSecretRemoteRef {
                                remote_key: remote_key.to_owned(),
                                property: None,
                            },
                        },
                        metadata: dt.metadata.clone(),
                        conversion_strategy: dt.conversion_strategy,
                    },
                    only_keys: Some(matched.keys().cloned().collect()),
                });
                continue;
            }
            let ops = dt.rewrite.as_deref().unwrap_or_default();
            for key in matched.keys() {
                let remote = strategy::rewrite_push_key(ops, key)
                    .map_err(|e| e.context(format!("{path}.rewrite")))?;
                entries.push(Entry {
                    record: PushSecretData {
                        match_: PushSecretMatch {
                            secret_key: Some(key.clone()),
                            remote_ref: PushSecretRemoteRef {
                                remote_key: remote,
                                property: None,
                            },
                        },
                        metadata: dt.metadata.clone(),
                        conversion_strategy: dt.conversion_strategy,
                    },
                    only_keys: None,
                });
            }
        }
        Ok(entries)
    }

    async fn push_to_store(
        &self,
        ps: &PushSecret,
        ns: &str,
        store: &SecretStoreRef,
        sources: &[Source],
        old: Option<&BTreeMap<String, PushSecretData>>,
    ) -> std::result::Result<StoreResult, (Error, BTreeMap<String, PushSecretData>)> {
        let mut res = StoreResult::default();
        let (_, provider) = self
            .store_provider(store, ns, "spec.secretStoreRefs")
            .await
            .map_err(|e| (e, BTreeMap::new()))?;
        for Source { data, meta } in sources {
            let entries = self
                .entries_for(ps, ns, store, data)
                .map_err(|e| (e, res.entries.clone()))?;
            for entry in entries {
                let conv = entry.record.conversion_strategy;
                let mut converted = if conv == PushSecretConversionStrategy::None {
                    data.clone()
                } else {
                    strategy::reverse_keys(conv, data.clone())
                        .map_err(|e| (e, res.entries.clone()))?
                };
                if let Some(keys) = &entry.only_keys {
                    converted.retain(|k, _| keys.contains(k));
                }
                let push_ref = entry.push_ref(meta);
                let value = match &push_ref.secret_key {
                    Some(k) => match converted.get(k) {
                        Some(v) => PushValue::Single(v.clone()),
                        None => {
                            let e = Error::invalid_config(
                                "spec.data",
                                format!("secret key {k:?} does not exist in the source"),
                            );
                            return Err((e, res.entries.clone()));
                        }
                    },
                    None => PushValue::Map(converted),
                };
                if ps.spec.update_policy == PushSecretUpdatePolicy::IfNotExists {
                    match provider.secret_exists(&push_ref).await {
                        Ok(true) => {
                            // Written earlier by us: keep tracking it; otherwise leave it alone.
                            if let Some(prev) = old.and_then(|o| o.get(&entry.status_key())) {
                                res.entries.insert(entry.status_key(), prev.clone());
                            }
                            res.skipped += 1;
                            continue;
                        }
                        Ok(false) => {}
                        Err(e) => return Err((e, res.entries.clone())),
                    }
                }
                provider.push_secret(&value, &push_ref).await.map_err(|e| {
                    let message = format!("could not write remote ref {}: {e}", entry.status_key());
                    // Keep a temporary error temporary (an unreachable store is retried).
                    let wrapped = if e.is_temporary() {
                        Error::Unavailable {
                            message,
                            source: None,
                        }
                    } else {
                        Error::generic(message)
                    };
                    (wrapped, res.entries.clone())
                })?;
                res.pushed += 1;
                res.entries.insert(entry.status_key(), entry.record.clone());
            }
        }
        if ps.spec.deletion_policy == PushSecretDeletionPolicy::Delete {
            for (k, record) in old.into_iter().flatten() {
                if !res.entries.contains_key(k) {
                    match provider.delete_secret(&delete_ref(record)).await {
                        Ok(()) => res.deleted += 1,
                        // Not ours: the entry leaves the status and the secret stays.
                        Err(e) if e.is_not_managed() => res.left.push(e.to_string()),
                        Err(e) => return Err((e, res.entries.clone())),
                    }
                }
            }
        }
        Ok(res)
    }
}

#[derive(Debug, Default)]
struct StoreResult {
    entries: BTreeMap<String, PushSecretData>,
    pushed: usize,
    skipped: usize,
    deleted: usize,
    /// Entries that left the spec whose remote secret is not ours: left in place.
    left: Vec<String>,
}

fn join_errors(errors: &[FlowError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// True when a PushSecret needs a pass: its spec or metadata changed since the last sync,
/// or its refresh interval elapsed.
fn push_due(status: &PushSecretStatus, rv: &str, interval: Duration, now: jiff::Timestamp) -> bool {
    let synced = status.synced_resource_version.as_deref() == Some(rv);
    let due = status
        .refresh_time
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .zip(jiff::SignedDuration::try_from(interval).ok())
        .is_none_or(|(t, d)| t + d <= now);
    !(synced && (interval.is_zero() || !due))
}

/// Marks `status` not ready with reason `Errored` and `message`.
fn errored(status: &mut PushSecretStatus, message: &str, now_s: &str) {
    set_condition(
        &mut status.conditions,
        "Ready",
        false,
        "Errored",
        message,
        now_s,
    );
}
