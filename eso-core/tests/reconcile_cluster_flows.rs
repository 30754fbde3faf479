//! ClusterExternalSecret and ClusterPushSecret on the in-memory cluster and workload store
//! (namespace selection, naming, ownership, cleanup, status), and syncWindows gating the
//! ExternalSecret flow.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ExternalSecret, ExternalSecretSpec, Manifest,
    PushSecret, Validate, parse_documents,
};
use eso_core::cluster::{Cluster, KubeNamespace, MemoryCluster};
use eso_core::reconcile::{
    MemoryCatalog, MemoryWorkloads, Pass, Reconciler, TargetAction, WorkloadAction, WorkloadStore,
};
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

const STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  provider:
    fake:
      data: [{key: db, value: '{"user":"app","pass":"hunter2"}'}]
"#;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn ns(name: &str, pairs: &[(&str, &str)]) -> KubeNamespace {
    KubeNamespace::new(name, labels(pairs))
}

/// A reconciler over `cluster` (and the shared store) whose cluster kinds write to `workloads`.
fn reconciler_on(cluster: &MemoryCluster, workloads: impl WorkloadStore) -> Reconciler {
    let mut catalog = MemoryCatalog::new();
    for (_, doc) in parse_documents(STORE) {
        catalog.add(Manifest::from_value(doc.unwrap().value).unwrap());
    }
    Reconciler::new(Arc::new(cluster.clone()), catalog).with_workloads(Arc::new(workloads))
}

fn setup(namespaces: &[KubeNamespace]) -> (Reconciler, MemoryCluster, MemoryWorkloads) {
    let mut catalog = MemoryCatalog::new();
    for (_, doc) in parse_documents(STORE) {
        catalog.add(Manifest::from_value(doc.unwrap().value).unwrap());
    }
    let mut cluster = MemoryCluster::new();
    for n in namespaces {
        cluster = cluster.with_namespace(n.clone());
    }
    let workloads = MemoryWorkloads::new();
    (
        Reconciler::new(Arc::new(cluster.clone()), catalog)
            .with_workloads(Arc::new(workloads.clone())),
        cluster,
        workloads,
    )
}

fn ces(spec: &str) -> ClusterExternalSecret {
    let yaml = format!(
        "apiVersion: external-secrets.io/v1\nkind: ClusterExternalSecret\nmetadata: {{name: db, uid: ces-uid}}\nspec:\n{spec}  externalSecretSpec:\n    refreshInterval: 1h\n    secretStoreRef: {{name: shared, kind: ClusterSecretStore}}\n    target: {{name: db-creds, deletionPolicy: Delete}}\n    dataFrom: [{{extract: {{key: db}}}}]\n"
    );
    let c: ClusterExternalSecret = serde_saphyr::from_str(&yaml).unwrap();
    c.validate().unwrap();
    c
}

fn cps(spec: &str) -> ClusterPushSecret {
    let yaml = format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: ClusterPushSecret\nmetadata: {{name: push, uid: cps-uid}}\nspec:\n{spec}  pushSecretSpec:\n    secretStoreRefs: [{{name: shared, kind: ClusterSecretStore}}]\n    selector: {{secret: {{name: src}}}}\n    data: [{{match: {{secretKey: k, remoteRef: {{remoteKey: remote}}}}}}]\n"
    );
    let c: ClusterPushSecret = serde_saphyr::from_str(&yaml).unwrap();
    c.validate().unwrap();
    c
}

fn provisioned(p: &Option<Vec<String>>) -> Vec<String> {
    p.clone().unwrap_or_default()
}

fn actions(
    changes: &[eso_core::reconcile::WorkloadChange],
) -> Vec<(String, String, WorkloadAction)> {
    changes
        .iter()
        .map(|c| (c.namespace.clone(), c.name.clone(), c.action))
        .collect()
}

fn ready(conditions: &Option<Vec<eso_core::api::Condition>>) -> (String, Option<String>) {
    let c = conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    (c.status.clone(), c.message.clone())
}

fn es_in(namespace: &str, name: &str, owner: Option<(&str, &str)>) -> ExternalSecret {
    let mut es = ExternalSecret::new(name, ExternalSecretSpec::default());
    es.metadata.namespace = Some(namespace.to_owned());
    es.metadata.resource_version = Some("1".to_owned());
    if let Some((kind, owner)) = owner {
        es.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "external-secrets.io/v1".into(),
            kind: kind.into(),
            name: owner.into(),
            uid: "other".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]);
    }
    es
}

#[tokio::test]
async fn ces_selects_by_selectors_deprecated_selector_and_names() {
    let (r, _, w) = setup(&[
        ns("a", &[("team", "x")]),
        ns("b", &[("team", "y")]),
        ns("c", &[]),
        ns("d", &[]),
        ns("e", &[("team", "z")]),
    ]);
    let c = ces(concat!(
        "  namespaceSelector: {matchLabels: {team: y}}\n",
        "  namespaceSelectors: [{matchLabels: {team: x}}, ",
        "{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [c]}]}]\n",
        "  namespaces: [d, missing]\n",
        "  refreshTime: 10m\n",
        "  externalSecretMetadata: {labels: {app: db}, annotations: {note: shared}}\n",
    ));
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.error().is_none(), "{:?}", out.errors);
    assert_eq!(
        provisioned(&out.status.provisioned_namespaces),
        ["a", "b", "c", "d"]
    );
    assert_eq!(out.status.failed_namespaces, None);
    assert_eq!(out.status.external_secret_name.as_deref(), Some("db"));
    assert_eq!(ready(&out.status.conditions), ("True".to_owned(), None));
    assert!(out.status.conditions.as_ref().unwrap()[0].reason.is_none());
    assert_eq!(
        actions(&out.detail.changes),
        ["a", "b", "c", "d"].map(|n| (n.to_owned(), "db".to_owned(), WorkloadAction::Created))
    );
    let requeue = out.requeue_after.unwrap().as_secs();
    assert!((600..=660).contains(&requeue), "{requeue}");

    let es = w.get_external_secret("b", "db").await.unwrap().unwrap();
    assert_eq!(es.spec, c.spec.external_secret_spec);
    assert_eq!(es.metadata.labels, Some(labels(&[("app", "db")])));
    assert_eq!(es.metadata.annotations, Some(labels(&[("note", "shared")])));
    let owner = &es.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str()
        ),
        ("external-secrets.io/v1", "ClusterExternalSecret", "db")
    );
    assert_eq!(owner.uid, "ces-uid");
    assert_eq!(owner.controller, Some(true));
    assert!(w.get_external_secret("e", "db").await.unwrap().is_none());
}

#[tokio::test]
async fn ces_follows_namespace_label_changes_and_writes_only_changes() {
    let (r, cluster, w) = setup(&[
        ns("a", &[("env", "prod")]),
        ns("b", &[("env", "prod")]),
        ns("c", &[]),
    ]);
    let mut c = ces("  namespaceSelectors: [{matchLabels: {env: prod}}]\n");
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["a", "b"]);
    c.status = Some(out.status);
    let version = w
        .get_external_secret("a", "db")
        .await
        .unwrap()
        .unwrap()
        .metadata
        .resource_version;

    // Nothing changed: nothing written.
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(
        out.detail
            .changes
            .iter()
            .all(|x| x.action == WorkloadAction::Unchanged)
    );
    assert_eq!(
        w.get_external_secret("a", "db")
            .await
            .unwrap()
            .unwrap()
            .metadata
            .resource_version,
        version
    );
    c.status = Some(out.status);

    // c gains the label, a loses it.
    let _ = cluster
        .clone()
        .with_namespace(ns("c", &[("env", "prod")]))
        .with_namespace(ns("a", &[("env", "dev")]));
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.error().is_none());
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["b", "c"]);
    assert_eq!(
        actions(&out.detail.changes),
        [
            ("a".to_owned(), "db".to_owned(), WorkloadAction::Deleted),
            ("b".to_owned(), "db".to_owned(), WorkloadAction::Unchanged),
            ("c".to_owned(), "db".to_owned(), WorkloadAction::Created),
        ]
    );
    assert_eq!(out.detail.deleted.len(), 1);
    assert_eq!(
        out.detail.deleted[0].metadata.namespace.as_deref(),
        Some("a")
    );
    assert!(w.get_external_secret("a", "db").await.unwrap().is_none());
    assert!(w.get_external_secret("c", "db").await.unwrap().is_some());
    c.status = Some(out.status);

    // A spec change updates every ExternalSecret (and bumps its generation).
    c.spec.external_secret_spec.refresh_interval = "5m".parse().unwrap();
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(
        out.detail
            .changes
            .iter()
            .all(|x| x.action == WorkloadAction::Updated)
    );
    let es = w.get_external_secret("b", "db").await.unwrap().unwrap();
    assert_eq!(es.metadata.generation, Some(2));
    assert_eq!(es.spec.refresh_interval, "5m".parse().unwrap());
}

#[tokio::test]
async fn ces_name_rename_and_force_sync() {
    let (r, _, w) = setup(&[ns("a", &[("x", "1")])]);
    let mut c =
        ces("  externalSecretName: first\n  namespaceSelectors: [{matchLabels: {x: '1'}}]\n");
    c.metadata.annotations = Some(labels(&[("external-secrets.io/force-sync", "1")]));
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.status.external_secret_name.as_deref(), Some("first"));
    let es = w.get_external_secret("a", "first").await.unwrap().unwrap();
    assert_eq!(
        es.metadata.annotations,
        Some(labels(&[("external-secrets.io/force-sync", "1")]))
    );
    c.status = Some(out.status);

    // Rename: the old ExternalSecret goes, the new one comes; force-sync dropped with the
    // annotation.
    c.spec.external_secret_name = Some("second".into());
    c.metadata.annotations = None;
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.error().is_none());
    assert_eq!(out.status.external_secret_name.as_deref(), Some("second"));
    assert_eq!(
        actions(&out.detail.changes),
        [
            ("a".to_owned(), "first".to_owned(), WorkloadAction::Deleted),
            ("a".to_owned(), "second".to_owned(), WorkloadAction::Created),
        ]
    );
    assert!(w.get_external_secret("a", "first").await.unwrap().is_none());
    let es = w.get_external_secret("a", "second").await.unwrap().unwrap();
    assert_eq!(es.metadata.annotations, None);
    c.status = Some(out.status);

    // Back to the default name: the ClusterExternalSecret's own.
    c.spec.external_secret_name = None;
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.status.external_secret_name.as_deref(), Some("db"));
    assert!(w.get_external_secret("a", "db").await.unwrap().is_some());
    assert_eq!(w.external_secrets().len(), 1);
}

#[tokio::test]
async fn ces_never_takes_over_a_foreign_external_secret() {
    let (r, _, w) = setup(&[
        ns("a", &[("x", "1")]),
        ns("b", &[("x", "1")]),
        ns("c", &[("x", "1")]),
    ]);
    let w = w
        .with_external_secret(es_in("a", "db", None))
        .with_external_secret(es_in(
            "b",
            "db",
            Some(("ClusterExternalSecret", "someone-else")),
        ));
    let mut c = ces("  namespaceSelectors: [{matchLabels: {x: '1'}}]\n");
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.error().is_none());
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["c"]);
    let failed = out.status.failed_namespaces.clone().unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].namespace, "a");
    assert_eq!(failed[1].namespace, "b");
    for f in &failed {
        assert_eq!(
            f.reason.as_deref(),
            Some("external secret already exists in namespace")
        );
    }
    assert_eq!(
        ready(&out.status.conditions),
        (
            "False".to_owned(),
            Some("one or more namespaces failed".to_owned())
        )
    );
    // The foreign objects are untouched.
    let a = w.get_external_secret("a", "db").await.unwrap().unwrap();
    assert_eq!(a, es_in("a", "db", None));
    c.status = Some(out.status);

    // De-selecting everything never deletes a foreign object either.
    c.spec.namespace_selectors = None;
    c.status.as_mut().unwrap().provisioned_namespaces =
        Some(vec!["a".into(), "b".into(), "c".into()]);
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.status.provisioned_namespaces, None);
    assert_eq!(out.status.failed_namespaces, None);
    assert_eq!(ready(&out.status.conditions).0, "True");
    assert_eq!(out.detail.deleted.len(), 1);
    assert!(w.get_external_secret("a", "db").await.unwrap().is_some());
    assert!(w.get_external_secret("b", "db").await.unwrap().is_some());
    assert!(w.get_external_secret("c", "db").await.unwrap().is_none());
}

#[tokio::test]
async fn ces_bad_selector_and_refresh_time() {
    let (r, _, _) = setup(&[ns("a", &[])]);
    let c = ces("  namespaceSelectors: [{matchExpressions: [{key: x, operator: Near}]}]\n");
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    let err = out.error().unwrap().to_string();
    assert!(
        err.contains("spec.namespaceSelectors[0].matchExpressions[0].operator"),
        "{err}"
    );
    let failed = out.status.failed_namespaces.unwrap();
    assert_eq!(failed[0].namespace, "unknown");
    assert_eq!(ready(&out.status.conditions).0, "False");

    // No selector at all: nothing selected, nothing failed.
    let out = r
        .reconcile_cluster_external_secret(&ces(""), jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.status.provisioned_namespaces, None);
    let requeue = out.requeue_after.unwrap().as_secs();
    assert!((3600..=3960).contains(&requeue), "{requeue}");
    let out = r
        .reconcile_cluster_external_secret(&ces("  refreshTime: 0s\n"), jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.requeue_after, None);
}

/// The host loop: CES -> ExternalSecrets -> Secrets in every namespace; de-selection and
/// deletion remove them again through the ExternalSecret deletion flow.
#[tokio::test]
async fn ces_end_to_end_with_the_external_secret_flow() {
    let (r, cluster, w) = setup(&[ns("a", &[("db", "yes")]), ns("b", &[("db", "yes")])]);
    let mut c = ces("  namespaceSelectors: [{matchLabels: {db: 'yes'}}]\n");
    let now = Timestamp::from_second(1_700_000_000).unwrap();
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    c.status = Some(out.status);
    let pass = Pass::new();
    for es in w.external_secrets() {
        let res = r.reconcile_external_secret(&es, &pass, now).await;
        assert_eq!(res.detail, TargetAction::Created, "{:?}", res.errors);
        let ns = es.metadata.namespace.clone().unwrap();
        w.set_external_secret_status(&ns, "db", res.status).unwrap();
    }
    for ns in ["a", "b"] {
        let s = cluster.get_secret(ns, "db-creds").await.unwrap().unwrap();
        assert_eq!(s.data["pass"].expose(), b"hunter2");
    }
    // The CES does not clobber the ExternalSecret's status.
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(
        out.detail
            .changes
            .iter()
            .all(|x| x.action == WorkloadAction::Unchanged)
    );
    assert!(
        w.get_external_secret("a", "db")
            .await
            .unwrap()
            .unwrap()
            .status
            .is_some()
    );
    c.status = Some(out.status);

    let _ = cluster.clone().with_namespace(ns("b", &[]));
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.detail.deleted.len(), 1);
    for es in &out.detail.deleted {
        assert_eq!(
            r.delete_external_secret(es, jiff::Timestamp::UNIX_EPOCH)
                .await
                .detail,
            TargetAction::Deleted
        );
    }
    assert!(cluster.get_secret("b", "db-creds").await.unwrap().is_none());
    assert!(cluster.get_secret("a", "db-creds").await.unwrap().is_some());
    c.status = Some(out.status);

    let out = r
        .delete_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.error().is_none());
    assert_eq!(out.detail.deleted.len(), 1);
    assert_eq!(out.status.provisioned_namespaces, None);
    for es in &out.detail.deleted {
        assert!(
            r.delete_external_secret(es, jiff::Timestamp::UNIX_EPOCH)
                .await
                .is_ok()
        );
    }
    assert!(w.external_secrets().is_empty());
    assert!(cluster.get_secret("a", "db-creds").await.unwrap().is_none());
}

// ---------------------------------------------------------------------------------------
// ClusterPushSecret

fn now() -> Timestamp {
    Timestamp::from_second(1_700_000_000).unwrap()
}

#[tokio::test]
async fn cps_selects_names_and_owns() {
    let (r, cluster, w) = setup(&[
        ns("a", &[("push", "yes")]),
        ns("b", &[("push", "yes")]),
        ns("c", &[]),
    ]);
    let mut c = cps(
        "  pushSecretName: pushed\n  pushSecretMetadata: {labels: {l: v}}\n  namespaceSelectors: [{matchLabels: {push: 'yes'}}]\n  refreshTime: 1m\n",
    );
    let out = r.reconcile_cluster_push_secret(&c, now()).await;
    assert!(out.error().is_none());
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["a", "b"]);
    assert_eq!(out.status.push_secret_name.as_deref(), Some("pushed"));
    assert_eq!(ready(&out.status.conditions), ("True".to_owned(), None));
    let requeue = out.requeue_after.unwrap().as_secs();
    assert!((60..=66).contains(&requeue), "{requeue}");
    let ps = w.get_push_secret("a", "pushed").await.unwrap().unwrap();
    assert_eq!(ps.spec, c.spec.push_secret_spec);
    assert_eq!(ps.metadata.labels, Some(labels(&[("l", "v")])));
    let owner = &ps.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str()
        ),
        (
            "external-secrets.io/v1alpha1",
            "ClusterPushSecret",
            "push",
            "cps-uid"
        )
    );
    c.status = Some(out.status);

    // De-select b, select c.
    let _ = cluster
        .clone()
        .with_namespace(ns("b", &[]))
        .with_namespace(ns("c", &[("push", "yes")]));
    let out = r.reconcile_cluster_push_secret(&c, now()).await;
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["a", "c"]);
    assert_eq!(out.detail.deleted.len(), 1);
    assert_eq!(
        out.detail.deleted[0].metadata.namespace.as_deref(),
        Some("b")
    );
    assert!(w.get_push_secret("b", "pushed").await.unwrap().is_none());
    c.status = Some(out.status);

    // Rename.
    c.spec.push_secret_name = None;
    let out = r.reconcile_cluster_push_secret(&c, now()).await;
    assert_eq!(out.status.push_secret_name.as_deref(), Some("push"));
    let names: Vec<_> = w
        .push_secrets()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p.metadata.namespace.clone().unwrap(),
                p.metadata.name.clone().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["a/push", "c/push"]);
    c.status = Some(out.status);

    // Deletion removes what it owns.
    let out = r.delete_cluster_push_secret(&c, now()).await;
    assert!(out.error().is_none());
    assert_eq!(out.detail.deleted.len(), 2);
    for ps in &out.detail.deleted {
        assert!(
            r.delete_push_secret(ps, jiff::Timestamp::UNIX_EPOCH)
                .await
                .is_ok()
        );
    }
    assert!(w.push_secrets().is_empty());
}

#[tokio::test]
async fn cps_conflict_and_bad_selector() {
    let (r, _, w) = setup(&[ns("a", &[("push", "yes")]), ns("b", &[("push", "yes")])]);
    let mut foreign = PushSecret::new("push", cps("").spec.push_secret_spec);
    foreign.metadata.namespace = Some("a".into());
    let w = w.with_push_secret(foreign.clone());
    let c = cps("  namespaceSelectors: [{matchLabels: {push: 'yes'}}]\n");
    let out = r.reconcile_cluster_push_secret(&c, now()).await;
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["b"]);
    let failed = out.status.failed_namespaces.clone().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].namespace, "a");
    assert_eq!(
        failed[0].reason.as_deref(),
        Some("push secret already exists in namespace")
    );
    assert_eq!(
        ready(&out.status.conditions),
        (
            "False".to_owned(),
            Some("one or more namespaces failed".to_owned())
        )
    );
    assert_eq!(
        w.get_push_secret("a", "push").await.unwrap().unwrap(),
        foreign
    );

    let mut bad =
        cps("  namespaceSelectors: [{matchExpressions: [{key: x, operator: Sometimes}]}]\n");
    let mut previous = out.status.clone();
    previous.conditions = Some(vec![eso_core::api::Condition {
        type_: "Ready".into(),
        status: "True".into(),
        ..Default::default()
    }]);
    bad.status = Some(previous);
    let out = r.reconcile_cluster_push_secret(&bad, now()).await;
    assert!(out.error().is_some());
    let cond = out
        .status
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(cond.status, "False");
    assert_eq!(cond.reason.as_deref(), Some("Errored"));
    assert_eq!(
        cond.message.as_deref(),
        Some("failed to get target Namespaces")
    );
    assert_eq!(
        cond.last_transition_time.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    // Nothing is known about the namespaces: the previous lists stay.
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["b"]);
    assert!(w.get_push_secret("b", "push").await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------
// syncWindows

fn windowed_es(windows: &str) -> ExternalSecret {
    let yaml = format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: db, namespace: a, generation: 1}}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: shared, kind: ClusterSecretStore}}\n  target: {{name: db-creds}}\n  dataFrom: [{{extract: {{key: db}}}}]\n  syncWindows:\n{windows}"
    );
    let es: ExternalSecret = serde_saphyr::from_str(&yaml).unwrap();
    es.validate().unwrap();
    es
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn sync_window_deny_blocks_periodic_refresh_until_it_closes() {
    let (r, _, _) = setup(&[ns("a", &[])]);
    let mut es =
        windowed_es("    kind: deny\n    windows: [{schedule: '0 11 * * *', duration: 2h}]\n");
    // The first sync is never gated, even inside a deny window.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T11:30:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Created);
    es.status = Some(out.status);
    // Due at 12:30, still inside the window: skipped, back when it closes.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T12:30:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Skipped);
    assert_eq!(out.requeue_after, Some(Duration::from_secs(30 * 60 + 1)));
    // After the window: refreshed.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T13:00:01Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Unchanged);
    assert_eq!(
        out.status.refresh_time.as_deref(),
        Some("2026-03-02T13:00:01Z")
    );
    es.status = Some(out.status.clone());
    // A spec change is not a periodic refresh: windows do not gate it.
    es.metadata.generation = Some(2);
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-03T11:05:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Unchanged);
    assert!(
        out.status
            .synced_resource_version
            .unwrap()
            .starts_with("2-")
    );
}

#[tokio::test]
async fn sync_window_allow_waits_for_the_next_opening() {
    let (r, _, _) = setup(&[ns("a", &[])]);
    let mut es = windowed_es(
        "    kind: allow\n    windows:\n      - {schedule: '0 2 * * *', duration: 30m}\n      - {schedule: '@every 6h', duration: 5m}\n",
    );
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T09:00:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Created);
    es.status = Some(out.status);
    // Not yet due: the normal remaining interval.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T09:30:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Skipped);
    assert_eq!(out.requeue_after, Some(Duration::from_secs(30 * 60)));
    // Due at 10:00 but outside every window: the next opening is 12:00 (@every 6h).
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T10:00:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Skipped);
    assert_eq!(out.requeue_after, Some(Duration::from_secs(2 * 3600)));
    // Inside the window: refreshed.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T12:04:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Unchanged);
    assert_eq!(
        out.status.refresh_time.as_deref(),
        Some("2026-03-02T12:04:00Z")
    );
    es.status = Some(out.status);
    // Due at 13:04; the 18:00 opening is next.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T13:10:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Skipped);
    assert_eq!(
        out.requeue_after,
        Some(Duration::from_secs(4 * 3600 + 50 * 60))
    );
}

#[tokio::test]
async fn sync_windows_do_not_gate_created_once() {
    let (r, _, _) = setup(&[ns("a", &[])]);
    let mut es =
        windowed_es("    kind: allow\n    windows: [{schedule: '0 2 * * *', duration: 1m}]\n");
    es.spec.refresh_policy = Some(eso_core::api::ExternalSecretRefreshPolicy::CreatedOnce);
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-02T09:00:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Created);
    es.status = Some(out.status);
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), at("2026-03-05T09:00:00Z"))
        .await;
    assert_eq!(out.detail, TargetAction::Skipped);
    // The window does not decide when it comes back (the 02:00 opening is 17 h away).
    let requeue = out.requeue_after.unwrap().as_secs();
    assert!((3600..=3960).contains(&requeue), "{requeue}");
}

/// A workload store whose deletes and (optionally) writes fail.
#[derive(Debug)]
struct Flaky {
    inner: MemoryWorkloads,
    fail_apply: bool,
}

#[async_trait::async_trait]
impl WorkloadStore for Flaky {
    async fn get_external_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> eso_core::Result<Option<ExternalSecret>> {
        self.inner.get_external_secret(namespace, name).await
    }
    async fn apply_external_secret(&self, es: ExternalSecret) -> eso_core::Result<ExternalSecret> {
        if self.fail_apply {
            return Err(eso_core::Error::Conflict("modified concurrently".into()));
        }
        self.inner.apply_external_secret(es).await
    }
    async fn delete_external_secret(&self, _: &str, _: &str) -> eso_core::Result<()> {
        Err(eso_core::Error::generic("api server said no"))
    }
    async fn get_push_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> eso_core::Result<Option<PushSecret>> {
        self.inner.get_push_secret(namespace, name).await
    }
    async fn apply_push_secret(&self, ps: PushSecret) -> eso_core::Result<PushSecret> {
        self.inner.apply_push_secret(ps).await
    }
    async fn delete_push_secret(&self, _: &str, _: &str) -> eso_core::Result<()> {
        Err(eso_core::Error::generic("api server said no"))
    }
}

#[tokio::test]
async fn failed_cleanup_is_retried_and_conflicts_requeue_soon() {
    let (r, cluster, w) = setup(&[ns("a", &[("x", "1")]), ns("b", &[("x", "1")])]);
    let mut c = ces("  namespaceSelectors: [{matchLabels: {x: '1'}}]\n");
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    c.status = Some(out.status);
    let flaky_r = reconciler_on(
        &cluster,
        Flaky {
            inner: w.clone(),
            fail_apply: false,
        },
    );

    // b is de-selected but its ExternalSecret cannot be deleted: b stays listed (ESO would
    // forget it and leak the object) and is reported.
    let _ = cluster.clone().with_namespace(ns("b", &[]));
    let out = flaky_r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["a", "b"]);
    let failed = out.status.failed_namespaces.clone().unwrap();
    assert_eq!(failed[0].namespace, "b");
    assert!(
        failed[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("external secret in non matching namespace could not be deleted: ")
    );
    assert_eq!(ready(&out.status.conditions).0, "False");
    c.status = Some(out.status);
    // The next pass with a working API finishes the cleanup.
    let out = r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["a"]);
    assert_eq!(out.status.failed_namespaces, None);
    assert!(w.get_external_secret("b", "db").await.unwrap().is_none());
    c.status = Some(out.status);

    // A rename whose cleanup fails keeps the old name, so it is retried.
    c.spec.external_secret_name = Some("renamed".into());
    let out = flaky_r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.error().is_some());
    assert_eq!(out.status.external_secret_name.as_deref(), Some("db"));
    assert!(
        w.get_external_secret("a", "renamed")
            .await
            .unwrap()
            .is_none()
    );

    // A conflict while writing: failed namespace, error, quick requeue.
    let conflicting_r = reconciler_on(
        &cluster,
        Flaky {
            inner: w.clone(),
            fail_apply: true,
        },
    );
    c.spec.external_secret_name = None;
    c.spec.external_secret_spec.refresh_interval = "2h".parse().unwrap();
    let out = conflicting_r
        .reconcile_cluster_external_secret(&c, jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(matches!(out.error(), Some(eso_core::Error::Conflict(_))));
    assert_eq!(out.requeue_after, Some(Duration::from_secs(5)));
    let failed = out.status.failed_namespaces.unwrap();
    assert!(
        failed[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("could not create or update ExternalSecret: ")
    );
    // The ExternalSecret in a is still ours, so a stays listed and is cleaned up later.
    assert_eq!(provisioned(&out.status.provisioned_namespaces), ["a"]);
}
