//! The ClusterPushSecret flow: one PushSecret in every selected namespace.

use std::time::Duration;

use futures_util::future::BoxFuture;

use super::Reconciler;
use super::cluster_external_secret::{cluster_requeue, owner_ref};
use super::conditions::set_condition;
use super::fan_out::{self, FanOut, FanOutResult, Stamped, Stopped, non_empty, set_controller_ref};
use super::outcome::{ClusterChanges, Outcome};
use super::workloads::WorkloadStore;
use crate::api::{
    ClusterPushSecret, ClusterPushSecretNamespaceFailure, ClusterPushSecretStatus, Condition,
    EsoResource, LabelSelector, ObjectMeta, PushSecret,
};

/// The result of reconciling (or deleting) one ClusterPushSecret: its status, an error worth
/// retrying soon (a conflict, an unavailable API, bad selectors; the per-namespace failures
/// are in `status.failedNamespaces`), and the PushSecrets it created, updated or deleted.
pub type ClusterPushSecretOutcome = Outcome<ClusterPushSecretStatus, ClusterChanges<PushSecret>>;

impl Stamped for PushSecret {
    const OWNER_KIND: &'static str = "ClusterPushSecret";
    const WHAT: &'static str = "push secret";
    const APPLY_WHAT: &'static str = "push secret";

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn get<'a>(
        store: &'a dyn WorkloadStore,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, crate::Result<Option<Self>>> {
        store.get_push_secret(ns, name)
    }

    fn apply(store: &dyn WorkloadStore, obj: Self) -> BoxFuture<'_, crate::Result<Self>> {
        store.apply_push_secret(obj)
    }

    fn delete<'a>(
        store: &'a dyn WorkloadStore,
        ns: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, crate::Result<()>> {
        store.delete_push_secret(ns, name)
    }
}

/// The PushSecret a ClusterPushSecret wants in `ns`, built on the existing one.
fn desired(
    cps: &ClusterPushSecret,
    name: &str,
    ns: &str,
    existing: Option<&PushSecret>,
) -> PushSecret {
    let spec = &cps.spec;
    let mut ps = existing.cloned().unwrap_or_else(|| {
        let mut ps = PushSecret::new(name, spec.push_secret_spec.clone());
        ps.metadata.namespace = Some(ns.to_owned());
        ps
    });
    ps.spec = spec.push_secret_spec.clone();
    let md = spec.push_secret_metadata.clone().unwrap_or_default();
    ps.metadata.labels = non_empty(md.labels);
    ps.metadata.annotations = non_empty(md.annotations);
    set_controller_ref(
        &mut ps.metadata,
        owner_ref(
            ClusterPushSecret::API_VERSION,
            ClusterPushSecret::KIND,
            &cps.metadata,
        ),
    );
    ps
}

fn failures(r: &FanOutResult<PushSecret>) -> Option<Vec<ClusterPushSecretNamespaceFailure>> {
    Some(
        r.failed
            .iter()
            .map(|(ns, reason)| ClusterPushSecretNamespaceFailure {
                namespace: ns.clone(),
                reason: Some(reason.clone()),
            })
            .collect::<Vec<_>>(),
    )
    .filter(|f| !f.is_empty())
}

fn cps_status(
    previous: &ClusterPushSecretStatus,
    r: &FanOutResult<PushSecret>,
    now: &str,
) -> ClusterPushSecretStatus {
    let mut status = previous.clone();
    match r.stopped {
        Some(Stopped::Rename) => {
            // ESO keeps the old name so the next pass retries the rename.
            status.failed_namespaces = failures(r);
            set_condition(
                &mut status.conditions,
                "Ready",
                false,
                "Errored",
                "failed to delete push secret",
                now,
            );
        }
        Some(Stopped::Selection) => {
            status.push_secret_name = Some(r.name.clone());
            set_condition(
                &mut status.conditions,
                "Ready",
                false,
                "Errored",
                "failed to get target Namespaces",
                now,
            );
        }
        None => {
            status.push_secret_name = Some(r.name.clone());
            status.provisioned_namespaces = Some(r.provisioned.clone()).filter(|p| !p.is_empty());
            status.failed_namespaces = failures(r);
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
        }
    }
    status
}

impl Reconciler {
    /// Reconciles one ClusterPushSecret: writes a PushSecret named `pushSecretName` (default:
    /// the ClusterPushSecret's name) with `pushSecretSpec` and the labels and annotations of
    /// `pushSecretMetadata` into every namespace matched by one of `namespaceSelectors`, and
    /// deletes the ones it owns in namespaces no longer selected or under a previous name.
    /// An existing PushSecret it does not control is never touched (reason `push secret
    /// already exists in namespace`). `now` stamps the `Ready` condition when the whole
    /// pass fails.
    ///
    /// Difference from ESO, on purpose: `provisionedNamespaces` lists every namespace that
    /// still holds a PushSecret of this object, including one whose update failed or a
    /// de-selected one whose deletion failed, so a later pass still cleans it up.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use std::sync::Arc;
    /// use eso_core::api::ClusterPushSecret;
    /// use eso_core::cluster::{KubeNamespace, MemoryCluster};
    /// use eso_core::reconcile::{MemoryCatalog, MemoryWorkloads, Reconciler};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cps: ClusterPushSecret = serde_saphyr::from_str(r#"
    /// apiVersion: external-secrets.io/v1alpha1
    /// kind: ClusterPushSecret
    /// metadata: {name: push-tls}
    /// spec:
    ///   pushSecretName: tls
    ///   namespaceSelectors: [{matchLabels: {tls: "true"}}]
    ///   pushSecretSpec:
    ///     secretStoreRefs: [{name: vault, kind: ClusterSecretStore}]
    ///     selector: {secret: {name: tls}}
    ///     data: [{match: {secretKey: tls.crt, remoteRef: {remoteKey: certs/tls}}}]
    /// "#).unwrap();
    /// let labels = BTreeMap::from([("tls".to_owned(), "true".to_owned())]);
    /// let cluster = MemoryCluster::new().with_namespace(KubeNamespace::new("edge", labels));
    /// let workloads = MemoryWorkloads::new();
    /// let reconciler = Reconciler::new(Arc::new(cluster), MemoryCatalog::new())
    ///     .with_workloads(Arc::new(workloads.clone()));
    ///
    /// let out = reconciler
    ///     .reconcile_cluster_push_secret(&cps, jiff::Timestamp::UNIX_EPOCH)
    ///     .await;
    /// assert_eq!(out.status.provisioned_namespaces.unwrap(), ["edge"]);
    /// assert_eq!(workloads.push_secrets()[0].metadata.name.as_deref(), Some("tls"));
    /// # });
    /// ```
    pub async fn reconcile_cluster_push_secret(
        &self,
        cps: &ClusterPushSecret,
        now: jiff::Timestamp,
    ) -> ClusterPushSecretOutcome {
        let workloads: &dyn WorkloadStore = self.workloads().as_ref();
        let previous = cps.status.clone().unwrap_or_default();
        let name = cps
            .spec
            .push_secret_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| cps.name().to_owned());
        let selectors: Vec<(String, &LabelSelector)> = cps
            .spec
            .namespace_selectors
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| (format!("spec.namespaceSelectors[{i}]"), s))
            .collect();
        let selected = self.target_namespaces(&[], &selectors).await;
        let build = |ns: &str, existing: Option<&PushSecret>| desired(cps, &name, ns, existing);
        let provisioned = previous.provisioned_namespaces.clone().unwrap_or_default();
        let result = fan_out::fan_out(
            workloads,
            FanOut {
                owner: cps.name(),
                name: name.clone(),
                previous_name: previous.push_secret_name.as_deref(),
                provisioned: &provisioned,
                build: &build,
            },
            selected,
        )
        .await;
        let requeue = cluster_requeue(
            cps.spec.refresh_interval,
            &format!("ClusterPushSecret/{}", cps.name()),
        );
        let requeue_after = match &result.error {
            Some(e) if e.is_temporary() => Some(Duration::from_secs(5)),
            _ => requeue,
        };
        let now = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let status = cps_status(&previous, &result, &now);
        result.into_outcome(status, requeue_after)
    }

    /// Handles deletion of a ClusterPushSecret: deletes the PushSecrets it owns in the
    /// namespaces of its status (what Kubernetes garbage collection does for ESO through
    /// the owner references). The host runs [`Reconciler::delete_push_secret`] on each of
    /// `deleted`; when `error` is set, retry (the namespaces still to clean are in the
    /// status).
    pub async fn delete_cluster_push_secret(
        &self,
        cps: &ClusterPushSecret,
        now: jiff::Timestamp,
    ) -> ClusterPushSecretOutcome {
        let workloads: &dyn WorkloadStore = self.workloads().as_ref();
        let previous = cps.status.clone().unwrap_or_default();
        let name = previous
            .push_secret_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| cps.name().to_owned());
        let provisioned = previous.provisioned_namespaces.clone().unwrap_or_default();
        let result =
            fan_out::remove_all::<PushSecret>(workloads, cps.name(), name, &provisioned).await;
        let now = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let requeue_after = result.error.as_ref().map(|_| Duration::from_secs(5));
        let status = cps_status(&previous, &result, &now);
        result.into_outcome(status, requeue_after)
    }
}
