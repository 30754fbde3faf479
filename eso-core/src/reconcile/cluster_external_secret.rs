//! The ClusterExternalSecret flow: one ExternalSecret in every selected namespace.

use std::time::Duration;

use futures_util::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::fan_out::{
    self, FanOut, FanOutResult, Stamped, non_empty, select_namespaces, set_controller_ref,
};
use super::outcome::{ClusterChanges, Outcome};
use super::workloads::WorkloadStore;
use super::{Reconciler, with_jitter};
use crate::api::{
    ClusterExternalSecret, ClusterExternalSecretNamespaceFailure, ClusterExternalSecretStatus,
    Condition, EsoResource, ExternalSecret, LabelSelector, ObjectMeta,
};
use crate::cluster::LabelQuery;

/// Annotation that forces a refresh of an ExternalSecret when its value changes; a
/// ClusterExternalSecret copies it onto every ExternalSecret it creates.
pub const ANNOTATION_FORCE_SYNC: &str = "external-secrets.io/force-sync";

/// Finalizer ESO keeps on a ClusterExternalSecret until its ExternalSecrets are deleted.
pub const CLUSTER_EXTERNAL_SECRET_FINALIZER: &str =
    "externalsecrets.external-secrets.io/clusterexternalsecret-cleanup";

/// Refresh interval of ClusterExternalSecrets and ClusterPushSecrets without `refreshTime`
/// (ESO's controller default).
pub const DEFAULT_CLUSTER_REFRESH: Duration = Duration::from_secs(3600);

/// The finalizer ESO puts on every namespace a ClusterExternalSecret provisions, so a
/// namespace is not removed while the ClusterExternalSecret still manages objects in it.
/// These flows do not write namespaces; an operator that wants ESO's behaviour adds it.
pub fn cluster_external_secret_namespace_finalizer(ces_name: &str) -> String {
    format!("externalsecrets.external-secrets.io/ces-{ces_name}")
}

/// The result of reconciling (or deleting) one ClusterExternalSecret: its status, an error worth
/// retrying soon (a conflict, an unavailable API, bad selectors; the per-namespace failures
/// are in `status.failedNamespaces`), and the ExternalSecrets it created, updated or deleted.
pub type ClusterExternalSecretOutcome =
    Outcome<ClusterExternalSecretStatus, ClusterChanges<ExternalSecret>>;

impl Stamped for ExternalSecret {
    const OWNER_KIND: &'static str = "ClusterExternalSecret";
    const WHAT: &'static str = "external secret";
    const APPLY_WHAT: &'static str = "ExternalSecret";

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn get<'a>(
        store: &'a dyn WorkloadStore,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, crate::Result<Option<Self>>> {
        store.get_external_secret(ns, name)
    }

    fn apply(store: &dyn WorkloadStore, obj: Self) -> BoxFuture<'_, crate::Result<Self>> {
        store.apply_external_secret(obj)
    }

    fn delete<'a>(
        store: &'a dyn WorkloadStore,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, crate::Result<()>> {
        store.delete_external_secret(ns, name)
    }
}

/// The controller owner reference of objects created by the cluster-scoped `owner`.
pub(crate) fn owner_ref(api_version: &str, kind: &str, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The requeue delay for a `refreshTime`.
pub(crate) fn cluster_requeue(refresh: Option<crate::GoDuration>, seed: &str) -> Option<Duration> {
    let interval = match refresh {
        Some(d) => d.to_std().unwrap_or_default(),
        None => DEFAULT_CLUSTER_REFRESH,
    };
    (!interval.is_zero()).then(|| with_jitter(interval, seed))
}

/// The ExternalSecret a ClusterExternalSecret wants in `ns`, built on the existing one (whose
/// status, finalizers and other owner references are kept).
fn desired(
    ces: &ClusterExternalSecret,
    name: &str,
    ns: &str,
    existing: Option<&ExternalSecret>,
) -> ExternalSecret {
    let spec = &ces.spec;
    let mut es = existing.cloned().unwrap_or_else(|| {
        let mut es = ExternalSecret::new(name, spec.external_secret_spec.clone());
        es.metadata.namespace = Some(ns.to_owned());
        es
    });
    es.spec = spec.external_secret_spec.clone();
    let md = spec.external_secret_metadata.clone().unwrap_or_default();
    es.metadata.labels = non_empty(md.labels);
    let mut annotations = md.annotations.unwrap_or_default();
    match ces
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_FORCE_SYNC))
    {
        Some(v) => {
            annotations.insert(ANNOTATION_FORCE_SYNC.to_owned(), v.clone());
        }
        None => {
            annotations.remove(ANNOTATION_FORCE_SYNC);
        }
    }
    es.metadata.annotations = non_empty(Some(annotations));
    set_controller_ref(
        &mut es.metadata,
        owner_ref(
            ClusterExternalSecret::API_VERSION,
            ClusterExternalSecret::KIND,
            &ces.metadata,
        ),
    );
    es
}

fn ces_status(
    previous: &ClusterExternalSecretStatus,
    r: &FanOutResult<ExternalSecret>,
) -> ClusterExternalSecretStatus {
    let mut status = previous.clone();
    status.external_secret_name = Some(r.name.clone());
    status.provisioned_namespaces = Some(r.provisioned.clone()).filter(|p| !p.is_empty());
    status.failed_namespaces = Some(
        r.failed
            .iter()
            .map(|(ns, reason)| ClusterExternalSecretNamespaceFailure {
                namespace: ns.clone(),
                reason: Some(reason.clone()),
            })
            .collect::<Vec<_>>(),
    )
    .filter(|f| !f.is_empty());
    let ready = if r.failed.is_empty() {
        Condition {
            type_: "Ready".to_owned(),
            status: "True".to_owned(),
            ..Condition::default()
        }
    } else {
        Condition {
            type_: "Ready".to_owned(),
            status: "False".to_owned(),
            message: Some("one or more namespaces failed".to_owned()),
            ..Condition::default()
        }
    };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    conditions.retain(|c| c.type_ != "Ready");
    conditions.push(ready);
    status
}

/// The selectors of a ClusterExternalSecret with their field paths: the deprecated
/// `namespaceSelector` first, then `namespaceSelectors`.
fn ces_selectors(ces: &ClusterExternalSecret) -> Vec<(String, &LabelSelector)> {
    let mut out = Vec::new();
    if let Some(s) = &ces.spec.namespace_selector {
        out.push(("spec.namespaceSelector".to_owned(), s));
    }
    for (i, s) in ces.spec.namespace_selectors.iter().flatten().enumerate() {
        out.push((format!("spec.namespaceSelectors[{i}]"), s));
    }
    out
}

impl Reconciler {
    /// The namespaces `names` or any of `selectors` select (sorted), as ESO's
    /// ClusterExternalSecret and ClusterPushSecret pick them. Each selector comes with its
    /// field path for error messages.
    pub(crate) async fn target_namespaces(
        &self,
        names: &[String],
        selectors: &[(String, &LabelSelector)],
    ) -> crate::Result<Vec<String>> {
        if names.is_empty() && selectors.is_empty() {
            return Ok(Vec::new());
        }
        let all = self
            .cluster()
            .list_namespaces(&LabelQuery::default())
            .await?;
        select_namespaces(&all, names, selectors)
    }

    /// Reconciles one ClusterExternalSecret: writes an ExternalSecret named
    /// `externalSecretName` (default: the ClusterExternalSecret's name) into every namespace
    /// listed in `namespaces` or matched by `namespaceSelector` / `namespaceSelectors` (all
    /// OR'ed), and deletes the ones it owns in namespaces that are no longer selected or
    /// under a previous name.
    ///
    /// Each ExternalSecret gets `externalSecretSpec`, the labels and annotations of
    /// `externalSecretMetadata` (plus the ClusterExternalSecret's `force-sync` annotation)
    /// and a controller owner reference to the ClusterExternalSecret. An existing
    /// ExternalSecret without that reference is never touched: its namespace is reported
    /// in `failedNamespaces` with ESO's reason `external secret already exists in
    /// namespace`. Nothing is written when an ExternalSecret is already as wanted.
    ///
    /// Difference from ESO, on purpose: `provisionedNamespaces` lists every namespace that
    /// still holds an ExternalSecret of this object, including one whose update failed or a
    /// de-selected one whose deletion failed, so a later pass still cleans it up (ESO drops
    /// such namespaces from the list and the ExternalSecret is left behind for good).
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use std::sync::Arc;
    /// use eso_core::api::ClusterExternalSecret;
    /// use eso_core::cluster::{KubeNamespace, MemoryCluster};
    /// use eso_core::reconcile::{MemoryCatalog, MemoryWorkloads, Reconciler, WorkloadStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let ces: ClusterExternalSecret = serde_saphyr::from_str(r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: ClusterExternalSecret
    /// metadata: {name: shared-db, uid: ces-uid}
    /// spec:
    ///   namespaceSelectors: [{matchLabels: {team: payments}}]
    ///   externalSecretSpec:
    ///     secretStoreRef: {name: vault, kind: ClusterSecretStore}
    ///     dataFrom: [{extract: {key: shared/db}}]
    /// "#).unwrap();
    /// let team = BTreeMap::from([("team".to_owned(), "payments".to_owned())]);
    /// let cluster = MemoryCluster::new()
    ///     .with_namespace(KubeNamespace::new("pay-eu", team.clone()))
    ///     .with_namespace(KubeNamespace::new("pay-us", team))
    ///     .with_namespace(KubeNamespace::new("web", BTreeMap::new()));
    /// let workloads = MemoryWorkloads::new();
    /// let reconciler = Reconciler::new(Arc::new(cluster), MemoryCatalog::new())
    ///     .with_workloads(Arc::new(workloads.clone()));
    ///
    /// let out = reconciler
    ///     .reconcile_cluster_external_secret(&ces, jiff::Timestamp::UNIX_EPOCH)
    ///     .await;
    /// assert!(out.is_ok());
    /// assert_eq!(out.status.provisioned_namespaces.unwrap(), ["pay-eu", "pay-us"]);
    /// let es = workloads.get_external_secret("pay-eu", "shared-db").await.unwrap().unwrap();
    /// assert_eq!(es.spec, ces.spec.external_secret_spec);
    /// # });
    /// ```
    pub async fn reconcile_cluster_external_secret(
        &self,
        ces: &ClusterExternalSecret,
        _now: jiff::Timestamp,
    ) -> ClusterExternalSecretOutcome {
        let workloads: &dyn WorkloadStore = self.workloads().as_ref();
        let previous = ces.status.clone().unwrap_or_default();
        let name = ces
            .spec
            .external_secret_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| ces.name().to_owned());
        let selected = self
            .target_namespaces(
                ces.spec.namespaces.as_deref().unwrap_or_default(),
                &ces_selectors(ces),
            )
            .await;
        let build = |ns: &str, existing: Option<&ExternalSecret>| desired(ces, &name, ns, existing);
        let provisioned = previous.provisioned_namespaces.clone().unwrap_or_default();
        let result = fan_out::fan_out(
            workloads,
            FanOut {
                owner: ces.name(),
                name: name.clone(),
                previous_name: previous.external_secret_name.as_deref(),
                provisioned: &provisioned,
                build: &build,
            },
            selected,
        )
        .await;
        let requeue = cluster_requeue(
            ces.spec.refresh_interval,
            &format!("ClusterExternalSecret/{}", ces.name()),
        );
        let requeue_after = match &result.error {
            Some(e) if e.is_temporary() => Some(Duration::from_secs(5)),
            _ => requeue,
        };
        let status = ces_status(&previous, &result);
        result.into_outcome(status, requeue_after)
    }

    /// Handles deletion of a ClusterExternalSecret: deletes the ExternalSecrets it owns in
    /// the namespaces of its status (ESO does this before dropping
    /// [`CLUSTER_EXTERNAL_SECRET_FINALIZER`]). The host runs
    /// [`Reconciler::delete_external_secret`] on each of `detail.deleted`; on an error,
    /// keep the finalizer and retry (the namespaces still to clean are in the status).
    pub async fn delete_cluster_external_secret(
        &self,
        ces: &ClusterExternalSecret,
        _now: jiff::Timestamp,
    ) -> ClusterExternalSecretOutcome {
        let workloads: &dyn WorkloadStore = self.workloads().as_ref();
        let previous = ces.status.clone().unwrap_or_default();
        let name = previous
            .external_secret_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| ces.name().to_owned());
        let provisioned = previous.provisioned_namespaces.clone().unwrap_or_default();
        let result =
            fan_out::remove_all::<ExternalSecret>(workloads, ces.name(), name, &provisioned).await;
        let requeue_after = result.error.as_ref().map(|_| Duration::from_secs(5));
        let status = ces_status(&previous, &result);
        result.into_outcome(status, requeue_after)
    }
}
