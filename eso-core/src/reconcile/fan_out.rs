//! The part ClusterExternalSecret and ClusterPushSecret share: pick namespaces, stamp one
//! owned object into each, clean up the ones left behind.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::workloads::WorkloadStore;
use crate::api::{LabelSelector, ObjectMeta};
use crate::cluster::{KubeNamespace, LabelQuery};
use crate::{Error, Result};

/// The label Kubernetes puts on every namespace with its own name.
pub(crate) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// What happened to the object stamped into one namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkloadAction {
    /// The object was created.
    Created,
    /// The object was updated (labels, annotations, owner reference or spec).
    Updated,
    /// The object already had the wanted content; nothing was written.
    Unchanged,
    /// The object was deleted (namespace de-selected, object renamed, or owner deleted).
    Deleted,
}

/// One object a cluster-scoped kind created, updated, left alone or deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkloadChange {
    /// Namespace of the object.
    pub namespace: String,
    /// Name of the object.
    pub name: String,
    /// What happened.
    pub action: WorkloadAction,
}

/// An object kind a cluster-scoped kind stamps out (ExternalSecret, PushSecret).
pub(crate) trait Stamped: Clone + PartialEq + Send + Sync + Sized + 'static {
    /// Kind of the owning cluster-scoped object.
    const OWNER_KIND: &'static str;
    /// Lower-case words for messages: `external secret`, `push secret`.
    const WHAT: &'static str;
    /// The kind as written in ESO's apply error: `ExternalSecret`, `push secret`.
    const APPLY_WHAT: &'static str;
    fn meta(&self) -> &ObjectMeta;
    fn get<'a>(
        store: &'a dyn WorkloadStore,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Self>>>;
    fn apply(store: &dyn WorkloadStore, obj: Self) -> BoxFuture<'_, Result<Self>>;
    fn delete<'a>(
        store: &'a dyn WorkloadStore,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}

/// Whether `meta` has a controller owner reference to the `kind` named `owner` in ESO's group.
pub(crate) fn controlled_by(meta: &ObjectMeta, kind: &str, owner: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
        .is_some_and(|r| {
            r.api_version.split('/').next() == Some("external-secrets.io")
                && r.api_version.contains('/')
                && r.kind == kind
                && r.name == owner
        })
}

/// Sets the controller reference to the owner, replacing a reference to the same object
/// (any version) and keeping the others.
pub(crate) fn set_controller_ref(meta: &mut ObjectMeta, owner: OwnerReference) {
    let refs = meta.owner_references.get_or_insert_with(Vec::new);
    let group = |v: &str| v.split('/').next().unwrap_or("").to_owned();
    match refs.iter_mut().find(|r| {
        group(&r.api_version) == group(&owner.api_version)
            && r.kind == owner.kind
            && r.name == owner.name
    }) {
        Some(r) => *r = owner,
        None => refs.push(owner),
    }
}

/// An empty map is written as no map, so comparisons with stored objects stay stable.
pub(crate) fn non_empty(m: Option<BTreeMap<String, String>>) -> Option<BTreeMap<String, String>> {
    m.filter(|m| !m.is_empty())
}

/// The namespaces selected by names and label selectors (OR'ed), sorted. A namespace always
/// carries `kubernetes.io/metadata.name` (Kubernetes sets it), which selectors may use.
pub(crate) fn select_namespaces(
    all: &[KubeNamespace],
    names: &[String],
    selectors: &[(String, &LabelSelector)],
) -> Result<Vec<String>> {
    let queries = selectors
        .iter()
        .map(|(path, s)| LabelQuery::from_selector(s, path))
        .collect::<Result<Vec<_>>>()?;
    let mut out = BTreeSet::new();
    for ns in all {
        let mut labels = ns.labels.clone();
        labels
            .entry(NAMESPACE_NAME_LABEL.to_owned())
            .or_insert_with(|| ns.name.clone());
        if names.contains(&ns.name) || queries.iter().any(|q| q.matches(&labels)) {
            out.insert(ns.name.clone());
        }
    }
    Ok(out.into_iter().collect())
}

/// The input of one fan-out.
pub(crate) struct FanOut<'a, W> {
    /// Name of the cluster-scoped owner.
    pub owner: &'a str,
    /// Name of the objects to stamp out.
    pub name: String,
    /// Name recorded in the owner's status (a different one means a rename).
    pub previous_name: Option<&'a str>,
    /// Namespaces recorded in the owner's status.
    pub provisioned: &'a [String],
    /// The desired object for a namespace, built on the existing one if any.
    pub build: &'a (dyn Fn(&str, Option<&W>) -> W + Sync),
}

/// Where a fan-out stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// Deleting the objects under the previous name failed.
    Rename,
    /// The namespaces could not be listed or a selector is invalid.
    Selection,
}

/// The result of one fan-out.
pub(crate) struct FanOutResult<W> {
    /// Set when the fan-out stopped before provisioning.
    pub stopped: Option<Stopped>,
    /// The object name to record in the status.
    pub name: String,
    /// Namespaces holding an object of this owner (sorted).
    pub provisioned: Vec<String>,
    /// Failed namespaces and why.
    pub failed: BTreeMap<String, String>,
    pub changes: Vec<WorkloadChange>,
    pub deleted: Vec<W>,
    pub error: Option<Error>,
}

impl<W> FanOutResult<W> {
    /// The flow outcome of this fan-out, with the owner's new `status`.
    pub(crate) fn into_outcome<S>(
        self,
        status: S,
        requeue_after: Option<std::time::Duration>,
    ) -> super::Outcome<S, super::outcome::ClusterChanges<W>> {
        let mut out = super::Outcome::new(
            status,
            requeue_after,
            super::outcome::ClusterChanges {
                changes: self.changes,
                deleted: self.deleted,
            },
        );
        out.errors
            .extend(self.error.map(super::outcome::FlowError::object));
        out
    }

    fn new(name: String, provisioned: Vec<String>) -> Self {
        Self {
            stopped: None,
            name,
            provisioned,
            failed: BTreeMap::new(),
            changes: Vec::new(),
            deleted: Vec::new(),
            error: None,
        }
    }

    fn deleted(&mut self, ns: &str, obj: W, name: &str) {
        self.changes.push(WorkloadChange {
            namespace: ns.to_owned(),
            name: name.to_owned(),
            action: WorkloadAction::Deleted,
        });
        self.deleted.push(obj);
    }
}

/// Deletes `ns/name` if the owner controls it; returns the deleted object.
pub(crate) async fn delete_owned<W: Stamped>(
    store: &dyn WorkloadStore,
    owner: &str,
    ns: &str,
    name: &str,
) -> Result<Option<W>> {
    let Some(existing) = W::get(store, ns, name).await? else {
        return Ok(None);
    };
    if !controlled_by(existing.meta(), W::OWNER_KIND, owner) {
        return Ok(None);
    }
    W::delete(store, ns, name).await?;
    Ok(Some(existing))
}

/// Deletes every object of the owner (its deletion): returns the result with the namespaces
/// where deletion failed still listed as provisioned.
pub(crate) async fn remove_all<W: Stamped>(
    store: &dyn WorkloadStore,
    owner: &str,
    name: String,
    provisioned: &[String],
) -> FanOutResult<W> {
    let mut out = FanOutResult::new(name, Vec::new());
    for ns in provisioned {
        match delete_owned::<W>(store, owner, ns, &out.name).await {
            Ok(Some(obj)) => {
                let name = out.name.clone();
                out.deleted(ns, obj, &name);
            }
            Ok(None) => {}
            Err(e) => {
                out.failed.insert(ns.clone(), e.to_string());
                out.provisioned.push(ns.clone());
                out.error = Some(e);
            }
        }
    }
    out
}

/// One reconcile of a cluster-scoped owner over the `selected` namespaces (ESO's order:
/// rename cleanup, de-selected cleanup, then create or update in every selected namespace).
pub(crate) async fn fan_out<W: Stamped>(
    store: &dyn WorkloadStore,
    input: FanOut<'_, W>,
    selected: Result<Vec<String>>,
) -> FanOutResult<W> {
    let name = input.name;
    // A rename: delete the objects under the old name first; on failure keep the old name
    // so the next pass retries.
    if let Some(prev) = input.previous_name.filter(|p| !p.is_empty() && *p != name) {
        let mut out = FanOutResult::new(prev.to_owned(), input.provisioned.to_vec());
        let mut removed = Vec::new();
        for ns in input.provisioned {
            match delete_owned::<W>(store, input.owner, ns, prev).await {
                Ok(Some(obj)) => removed.push((ns.clone(), obj)),
                Ok(None) => {}
                Err(e) => {
                    out.failed.insert(ns.clone(), e.to_string());
                    out.error = Some(e);
                }
            }
        }
        for (ns, obj) in removed {
            out.deleted(&ns, obj, prev);
        }
        if out.error.is_some() {
            out.stopped = Some(Stopped::Rename);
            return out;
        }
        return fan_out_named(
            store,
            input.owner,
            name,
            input.provisioned,
            input.build,
            selected,
            out,
        )
        .await;
    }
    let out = FanOutResult::new(name.clone(), Vec::new());
    fan_out_named(
        store,
        input.owner,
        name,
        input.provisioned,
        input.build,
        selected,
        out,
    )
    .await
}

async fn fan_out_named<W: Stamped>(
    store: &dyn WorkloadStore,
    owner: &str,
    name: String,
    provisioned: &[String],
    build: &(dyn Fn(&str, Option<&W>) -> W + Sync),
    selected: Result<Vec<String>>,
    mut out: FanOutResult<W>,
) -> FanOutResult<W> {
    out.name.clone_from(&name);
    out.provisioned = Vec::new();
    let selected = match selected {
        Ok(s) => s,
        Err(e) => {
            // Nothing is known about the namespaces: keep the previous list.
            out.provisioned = provisioned.to_vec();
            out.failed.insert("unknown".to_owned(), e.to_string());
            out.error = Some(e);
            out.stopped = Some(Stopped::Selection);
            return out;
        }
    };
    let mut keep = BTreeSet::new();
    for ns in provisioned.iter().filter(|ns| !selected.contains(ns)) {
        match delete_owned::<W>(store, owner, ns, &name).await {
            Ok(Some(obj)) => out.deleted(ns, obj, &name),
            Ok(None) => {}
            Err(e) => {
                // Still provisioned there: listing it makes the next pass retry the cleanup
                // (ESO forgets the namespace and leaks the object).
                out.failed.insert(
                    ns.clone(),
                    format!(
                        "{} in non matching namespace could not be deleted: {e}",
                        W::WHAT
                    ),
                );
                keep.insert(ns.clone());
                if e.is_temporary() {
                    out.error = Some(e);
                }
            }
        }
    }
    for ns in &selected {
        let existing = match W::get(store, ns, &name).await {
            Ok(e) => e,
            Err(e) => {
                out.failed.insert(ns.clone(), e.to_string());
                if provisioned.contains(ns) {
                    keep.insert(ns.clone());
                }
                if e.is_temporary() {
                    out.error = Some(e);
                }
                continue;
            }
        };
        if let Some(e) = &existing
            && !controlled_by(e.meta(), W::OWNER_KIND, owner)
        {
            out.failed.insert(
                ns.clone(),
                format!("{} already exists in namespace", W::WHAT),
            );
            continue;
        }
        let desired = build(ns, existing.as_ref());
        let action = match &existing {
            Some(e) if *e == desired => {
                keep.insert(ns.clone());
                out.changes.push(WorkloadChange {
                    namespace: ns.clone(),
                    name: name.clone(),
                    action: WorkloadAction::Unchanged,
                });
                continue;
            }
            Some(_) => WorkloadAction::Updated,
            None => WorkloadAction::Created,
        };
        match W::apply(store, desired).await {
            Ok(_) => {
                keep.insert(ns.clone());
                out.changes.push(WorkloadChange {
                    namespace: ns.clone(),
                    name: name.clone(),
                    action,
                });
            }
            Err(e) => {
                out.failed.insert(
                    ns.clone(),
                    format!("could not create or update {}: {e}", W::APPLY_WHAT),
                );
                // An object of ours is still there (just not updated): keep tracking it.
                if existing.is_some() {
                    keep.insert(ns.clone());
                }
                if e.is_temporary() {
                    out.error = Some(e);
                }
            }
        }
    }
    out.provisioned = keep.into_iter().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(api_version: &str, kind: &str, name: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            uid: "u".into(),
            controller: Some(controller),
            block_owner_deletion: None,
        }
    }

    #[test]
    fn ownership_needs_a_controller_reference_in_eso_group() {
        let mut meta = ObjectMeta::default();
        assert!(!controlled_by(&meta, "ClusterExternalSecret", "c"));
        meta.owner_references = Some(vec![owner(
            "external-secrets.io/v1",
            "ClusterExternalSecret",
            "c",
            false,
        )]);
        assert!(!controlled_by(&meta, "ClusterExternalSecret", "c"));
        meta.owner_references = Some(vec![owner(
            "example.com/v1",
            "ClusterExternalSecret",
            "c",
            true,
        )]);
        assert!(!controlled_by(&meta, "ClusterExternalSecret", "c"));
        // Any version of the group counts (ESO compares group and kind).
        meta.owner_references = Some(vec![owner(
            "external-secrets.io/v1beta1",
            "ClusterExternalSecret",
            "c",
            true,
        )]);
        assert!(controlled_by(&meta, "ClusterExternalSecret", "c"));
        assert!(!controlled_by(&meta, "ClusterExternalSecret", "d"));
        assert!(!controlled_by(&meta, "ClusterPushSecret", "c"));
    }

    #[test]
    fn controller_reference_is_upserted() {
        let mut meta = ObjectMeta {
            owner_references: Some(vec![
                owner("apps/v1", "Deployment", "x", false),
                owner(
                    "external-secrets.io/v1beta1",
                    "ClusterExternalSecret",
                    "c",
                    true,
                ),
            ]),
            ..ObjectMeta::default()
        };
        set_controller_ref(
            &mut meta,
            owner("external-secrets.io/v1", "ClusterExternalSecret", "c", true),
        );
        let refs = meta.owner_references.unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].kind, "Deployment");
        assert_eq!(refs[1].api_version, "external-secrets.io/v1");
    }

    #[test]
    fn namespace_selection() {
        let all = vec![
            KubeNamespace::new("b", [("t".to_owned(), "1".to_owned())].into()),
            KubeNamespace::new("a", BTreeMap::new()),
        ];
        let empty = LabelSelector::default();
        // An empty selector selects every namespace; the result is sorted.
        assert_eq!(
            select_namespaces(&all, &[], &[("s".into(), &empty)]).unwrap(),
            ["a", "b"]
        );
        assert!(select_namespaces(&all, &[], &[]).unwrap().is_empty());
        assert_eq!(
            select_namespaces(&all, &["a".into(), "zz".into()], &[]).unwrap(),
            ["a"]
        );
        let by_name = LabelSelector {
            match_labels: Some([(NAMESPACE_NAME_LABEL.to_owned(), "b".to_owned())].into()),
            ..LabelSelector::default()
        };
        assert_eq!(
            select_namespaces(&all, &[], &[("s".into(), &by_name)]).unwrap(),
            ["b"]
        );
    }
}
