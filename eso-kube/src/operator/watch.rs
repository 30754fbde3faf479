//! What wakes the ExternalSecret controller: one reconcile per change, none for the echoes of
//! the operator's own writes.
//!
//! - ExternalSecrets pass when their generation (spec), labels, annotations (ESO's
//!   `force-sync` among them) or deletion mark change, as ESO's
//!   `shouldEnqueueExternalSecretUpdate` has it, except finalizers: the operator adds its
//!   finalizer and syncs in the same pass, so the finalizer's echo is not another pass. A
//!   status patch changes none of these, so it wakes nothing.
//! - Secrets are watched as metadata only (their data never reaches the operator through the
//!   watch), all of them as ESO does: their names feed [`KnownSecrets`], so a new
//!   ExternalSecret's target is created without asking first whether it exists. Target
//!   Secrets (controlled by an ExternalSecret) wake their owner when deleted, or when their
//!   last write was not the owner's own field manager (someone edited the Secret, or removed
//!   its `reconcile.external-secrets.io/managed` label). The operator's own create or update
//!   of a target is an echo and wakes nothing.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eso_core::api::ExternalSecret;
use eso_core::reconcile::field_manager;
use futures_util::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};

use crate::known_secrets::KnownSecrets;

/// The hash of what makes an ExternalSecret worth a pass (see the module docs).
pub(super) fn external_secret_changed(es: &ExternalSecret) -> Option<u64> {
    let mut h = DefaultHasher::new();
    es.metadata.generation.hash(&mut h);
    es.metadata.labels.hash(&mut h);
    es.metadata.annotations.hash(&mut h);
    es.metadata.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// The ExternalSecret watch, reflected into a store the controller (and the refresh
/// endpoint) read, and filtered by [`external_secret_changed`]. `endpoints` turn ready once
/// the first listing is in the store.
pub(super) fn external_secrets(
    api: Api<ExternalSecret>,
    config: watcher::Config,
    endpoints: &super::Endpoints,
) -> (
    Store<ExternalSecret>,
    impl Stream<Item = Result<ExternalSecret, watcher::Error>> + Send + 'static,
) {
    let (reader, writer) = reflector::store();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(slim)
        .reflect(writer)
        .inspect({
            let endpoints = endpoints.clone();
            move |event| {
                if matches!(event, Ok(watcher::Event::InitDone)) {
                    endpoints.set_ready(true);
                }
            }
        })
        .applied_objects()
        .predicate_filter(external_secret_changed, Default::default());
    (reader, stream)
}

/// A store kind's watch, reflected into the store the controller and the catalog read;
/// `listed` turns true once the first listing is in it.
pub(super) fn stores<K>(
    api: Api<K>,
    config: watcher::Config,
    listed: Arc<AtomicBool>,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(slim)
        .reflect(writer)
        .inspect(move |event| {
            if matches!(event, Ok(watcher::Event::InitDone)) {
                listed.store(true, Ordering::Relaxed);
            }
        })
        .applied_objects();
    (reader, stream)
}

/// Drops what no reconcile reads from a cached ESO object: its `managedFields` (often as
/// large as the spec). Annotations stay, kubectl's last-applied one included: they are part
/// of the object's `syncedResourceVersion`, which must hash as ESO's does.
pub(super) fn slim<K: kube::Resource>(obj: &mut K) {
    obj.meta_mut().managed_fields = None;
}

/// True when the last write to `secret` came from the field manager of the ExternalSecret
/// that controls it (the operator's own write, or its echo).
fn written_by_owner(secret: &PartialObjectMeta<Secret>) -> bool {
    let meta = &secret.metadata;
    let Some(owner) = owning_external_secret(secret) else {
        return false;
    };
    let ours = field_manager(&owner.name);
    let entries = meta.managed_fields.iter().flatten();
    let Some(latest) = entries.clone().filter_map(|e| e.time.as_ref()).max() else {
        return false;
    };
    // Every entry of the latest second must be ours (a tie with another manager wakes).
    entries
        .filter(|e| e.time.as_ref() == Some(latest))
        .all(|e| e.manager.as_deref() == Some(ours.as_str()))
}

/// The ExternalSecret controlling `secret` (a target of creation policy `Owner`), if any.
fn owning_external_secret(
    secret: &PartialObjectMeta<Secret>,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "ExternalSecret")
}

/// Keeps `known` up to date with one watch event of Secret metadata.
fn record(known: &KnownSecrets, event: &watcher::Event<PartialObjectMeta<Secret>>) {
    let name = |s: &PartialObjectMeta<Secret>| (s.namespace().unwrap_or_default(), s.name_any());
    match event {
        watcher::Event::Init => known.listing_started(),
        watcher::Event::InitApply(s) | watcher::Event::Apply(s) => {
            let (ns, n) = name(s);
            known.insert(&ns, &n);
        }
        watcher::Event::Delete(s) => {
            let (ns, n) = name(s);
            known.remove(&ns, &n);
        }
        watcher::Event::InitDone => known.listing_done(),
    }
}

/// The metadata watch of every Secret: it keeps `known` up to date and yields the events of
/// target Secrets that should wake their owning ExternalSecret: deleted, or written by
/// someone else (an edit, the managed label removed).
pub(super) fn target_secrets(
    api: Api<PartialObjectMeta<Secret>>,
    known: KnownSecrets,
) -> impl Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send + 'static {
    watcher(api, watcher::Config::default())
        .default_backoff()
        .filter_map(move |event| {
            if let Ok(ev) = &event {
                record(&known, ev);
            }
            let out = match event {
                Ok(watcher::Event::Delete(s)) if owning_external_secret(&s).is_some() => {
                    Some(Ok(s))
                }
                Ok(watcher::Event::Apply(s))
                    if owning_external_secret(&s).is_some() && !written_by_owner(&s) =>
                {
                    Some(Ok(s))
                }
                // The initial listing: every ExternalSecret gets its own first pass anyway.
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            };
            async move { out }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        ManagedFieldsEntry, OwnerReference, Time,
    };

    fn es(json: serde_json::Value) -> ExternalSecret {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn status_and_finalizer_changes_are_echoes_spec_labels_annotations_are_not() {
        let base = serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "a", "namespace": "n", "generation": 1,
                         "annotations": {"x": "1"}},
            "spec": {}
        });
        let h = |v: &serde_json::Value| external_secret_changed(&es(v.clone()));
        let mut v = base.clone();
        v["metadata"]["finalizers"] =
            serde_json::json!(["externalsecrets.external-secrets.io/externalsecret-cleanup"]);
        v["metadata"]["resourceVersion"] = "7".into();
        v["status"] = serde_json::json!({"refreshTime": "2026-01-01T00:00:00Z"});
        assert_eq!(
            h(&base),
            h(&v),
            "finalizer, resourceVersion and status: no pass"
        );
        let mut v = base.clone();
        v["metadata"]["generation"] = 2.into();
        assert_ne!(h(&base), h(&v), "spec change");
        let mut v = base.clone();
        v["metadata"]["annotations"]["force-sync"] = "1700000000".into();
        assert_ne!(h(&base), h(&v), "force-sync");
        let mut v = base.clone();
        v["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z".into();
        assert_ne!(h(&base), h(&v), "deletion");
    }

    fn secret(owner: Option<&str>, writes: &[(&str, i64)]) -> PartialObjectMeta<Secret> {
        let mut s = PartialObjectMeta::<Secret>::default();
        s.metadata.owner_references = owner.map(|o| {
            vec![OwnerReference {
                api_version: "external-secrets.io/v1".into(),
                kind: "ExternalSecret".into(),
                name: o.into(),
                uid: "u".into(),
                controller: Some(true),
                block_owner_deletion: None,
            }]
        });
        s.metadata.managed_fields = Some(
            writes
                .iter()
                .map(|(m, t)| ManagedFieldsEntry {
                    manager: Some((*m).to_owned()),
                    time: Some(Time(jiff::Timestamp::from_second(*t).unwrap())),
                    ..Default::default()
                })
                .collect(),
        );
        s
    }

    #[test]
    fn the_owners_own_write_is_an_echo_anyone_elses_is_not() {
        let ours = field_manager("db");
        assert!(written_by_owner(&secret(Some("db"), &[(&ours, 10)])));
        assert!(written_by_owner(&secret(
            Some("db"),
            &[("kubectl-edit", 5), (&ours, 10)]
        )));
        assert!(!written_by_owner(&secret(
            Some("db"),
            &[(&ours, 5), ("kubectl-edit", 10)]
        )));
        assert!(!written_by_owner(&secret(
            Some("db"),
            &[(&ours, 10), ("kubectl-edit", 10)]
        )));
        assert!(!written_by_owner(&secret(None, &[(&ours, 10)])));
        assert!(!written_by_owner(&secret(Some("db"), &[])));
    }
}
