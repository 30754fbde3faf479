//! The ExternalSecret flow on the in-memory store and cluster: every creation/deletion/refresh
//! policy, markers and ownership as ESO writes them.

use std::sync::Arc;

use eso_core::api::{ExternalSecret, Manifest, parse_documents};
use eso_core::cluster::{Cluster, KubeSecret, MemoryCluster, OwnerRef};
use eso_core::reconcile::data_hash;
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler, TargetAction};
use jiff::Timestamp;

const STORES: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: fake, namespace: app}
spec:
  provider:
    fake:
      data:
        - {key: db, value: '{"user":"app","pass":"hunter2"}'}
        - {key: token, value: t0k3n}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared}
spec:
  conditions: [{namespaces: [allowed]}]
  provider:
    fake:
      data: [{key: token, value: shared-token}]
"#;

fn setup(es_yaml: &str) -> (Reconciler, Arc<MemoryCluster>, ExternalSecret) {
    let mut catalog = MemoryCatalog::new();
    let mut es = None;
    for (_, doc) in parse_documents(&format!("{STORES}\n---\n{es_yaml}")) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => {
                e.validate_ok();
                es = Some(*e);
            }
            other => catalog.add(other),
        }
    }
    let cluster = Arc::new(MemoryCluster::new());
    (
        Reconciler::new(cluster.clone(), catalog),
        cluster,
        es.unwrap(),
    )
}

trait ValidateOk {
    fn validate_ok(&self);
}
impl ValidateOk for ExternalSecret {
    fn validate_ok(&self) {
        use eso_core::api::Validate;
        self.validate().unwrap();
    }
}

fn es(extra_target: &str, body: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: db, namespace: app, uid: es-uid, generation: 1}}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: fake}}\n  target:\n    name: db-creds\n{extra_target}{body}"
    )
}

const EXTRACT: &str = "  dataFrom: [{extract: {key: db}}]\n";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

#[tokio::test]
async fn owner_creates_with_eso_markers_and_status() {
    let (r, cluster, es) = setup(&es("", EXTRACT));
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    assert!(out.error().is_none(), "{:?}", out.errors);
    assert_eq!(out.detail, TargetAction::Created);
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data["user"].expose(), b"app");
    assert_eq!(s.labels["reconcile.external-secrets.io/managed"], "true");
    assert_eq!(
        s.annotations["reconcile.external-secrets.io/data-hash"],
        data_hash(&s.data)
    );
    assert_eq!(
        s.labels["reconcile.external-secrets.io/created-by"],
        eso_core::reconcile::string_hash("app/db")
    );
    assert_eq!(s.owner_references[0].kind, "ExternalSecret");
    assert_eq!(s.owner_references[0].uid, "es-uid");
    let cond = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (cond.type_.as_str(), cond.status.as_str()),
        ("Ready", "True")
    );
    assert_eq!(cond.reason.as_deref(), Some("SecretSynced"));
    assert_eq!(cond.message.as_deref(), Some("secret synced"));
    assert_eq!(out.status.binding.as_ref().unwrap().name, "db-creds");
    assert!(
        out.status
            .synced_resource_version
            .as_ref()
            .unwrap()
            .starts_with("1-")
    );
    let requeue = out.requeue_after.unwrap().as_secs();
    assert!((3600..=3960).contains(&requeue), "{requeue}");
}

#[tokio::test]
async fn skips_until_due_and_resyncs_after_drift() {
    let (r, cluster, mut es) = setup(&es("", EXTRACT));
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    es.status = Some(out.status);
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(60)).await;
    assert_eq!(out.detail, TargetAction::Skipped);
    assert_eq!(out.requeue_after.unwrap().as_secs(), 3540);
    // Someone edits the Secret: the data-hash no longer matches, so it is restored.
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    cluster
        .update_secret(s.with_data("user", "mallory"))
        .await
        .unwrap();
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(120)).await;
    assert_eq!(out.detail, TargetAction::Updated);
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data["user"].expose(), b"app");
    // Due again after the interval, content unchanged.
    es.status = Some(out.status);
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), t(120 + 3600))
        .await;
    assert_eq!(out.detail, TargetAction::Unchanged);
}

#[tokio::test]
async fn refresh_policies() {
    for (policy, interval, spec_changed, want_refresh) in [
        ("CreatedOnce", "1h", true, false),
        ("OnChange", "1h", false, false),
        ("OnChange", "1h", true, true),
        ("Periodic", "\"0\"", true, false),
    ] {
        let yaml = es("", EXTRACT).replace(
            "refreshInterval: 1h",
            &format!("refreshInterval: {interval}\n  refreshPolicy: {policy}"),
        );
        let (r, _, mut es) = setup(&yaml);
        let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
        assert!(out.error().is_none());
        es.status = Some(out.status);
        if spec_changed {
            es.metadata.generation = Some(2);
        }
        let out = r
            .reconcile_external_secret(&es, &Pass::new(), t(7200))
            .await;
        let refreshed = out.detail != TargetAction::Skipped;
        assert_eq!(
            refreshed, want_refresh,
            "{policy} {interval} changed={spec_changed}"
        );
    }
}

#[tokio::test]
async fn creation_policies() {
    // Merge without a target: nothing written, SecretMissing.
    let (r, cluster, es1) = setup(&es("    creationPolicy: Merge\n", EXTRACT));
    let out = r.reconcile_external_secret(&es1, &Pass::new(), t(0)).await;
    assert_eq!(out.detail, TargetAction::NotWritten);
    assert_eq!(
        out.status.conditions.as_ref().unwrap()[0].reason.as_deref(),
        Some("SecretMissing")
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_none()
    );
    // Merge into an existing Secret keeps foreign keys and adds no owner.
    cluster
        .create_secret(KubeSecret::new("app", "db-creds").with_data("other", "keep"))
        .await
        .unwrap();
    let out = r.reconcile_external_secret(&es1, &Pass::new(), t(1)).await;
    assert_eq!(out.detail, TargetAction::Updated);
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data["other"].expose(), b"keep");
    assert_eq!(s.data["pass"].expose(), b"hunter2");
    assert!(s.owner_references.is_empty());
    // None: never writes.
    let (r, cluster, es2) = setup(&es("    creationPolicy: None\n", EXTRACT));
    let out = r.reconcile_external_secret(&es2, &Pass::new(), t(0)).await;
    assert_eq!(out.detail, TargetAction::NotWritten);
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_none()
    );
    // Orphan: written without an owner reference.
    let (r, cluster, es3) = setup(&es("    creationPolicy: Orphan\n", EXTRACT));
    r.reconcile_external_secret(&es3, &Pass::new(), t(0)).await;
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    assert!(s.owner_references.is_empty());
    assert!(
        !s.labels
            .contains_key("reconcile.external-secrets.io/created-by")
    );
    // CreateOrMerge: creates when missing.
    let (r, cluster, es4) = setup(&es("    creationPolicy: CreateOrMerge\n", EXTRACT));
    assert_eq!(
        r.reconcile_external_secret(&es4, &Pass::new(), t(0))
            .await
            .detail,
        TargetAction::Created
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn deletion_policies_when_the_remote_is_gone() {
    let missing = "  data: [{secretKey: x, remoteRef: {key: nope}}]\n";
    // Delete + Owner: the target is removed.
    let (r, cluster, es1) = setup(&es("    deletionPolicy: Delete\n", missing));
    cluster
        .create_secret(KubeSecret::new("app", "db-creds").with_data("x", "old"))
        .await
        .unwrap();
    let out = r.reconcile_external_secret(&es1, &Pass::new(), t(0)).await;
    assert_eq!(out.detail, TargetAction::Deleted);
    assert_eq!(
        out.status.conditions.as_ref().unwrap()[0].reason.as_deref(),
        Some("SecretDeleted")
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_none()
    );
    // Retain (the default): a missing remote secret is an error and nothing changes.
    let (r, cluster, es2) = setup(&es("", missing));
    cluster
        .create_secret(KubeSecret::new("app", "db-creds").with_data("x", "old"))
        .await
        .unwrap();
    let out = r.reconcile_external_secret(&es2, &Pass::new(), t(0)).await;
    assert!(out.error().unwrap().to_string().contains("nope"));
    let cond = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_deref()),
        ("False", Some("SecretSyncedError"))
    );
    assert!(
        cond.message
            .as_deref()
            .unwrap_or_default()
            .starts_with("could not get secret data from provider: "),
        "{:?}",
        cond.message
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_some()
    );
    // Merge deletion policy: missing keys are dropped, others kept.
    let both = "  data:\n    - {secretKey: x, remoteRef: {key: nope}}\n    - {secretKey: t, remoteRef: {key: token}}\n";
    let (r, cluster, es3) = setup(&es("    deletionPolicy: Merge\n", both));
    r.reconcile_external_secret(&es3, &Pass::new(), t(0)).await;
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data.keys().collect::<Vec<_>>(), ["t"]);
}

#[tokio::test]
async fn never_takes_over_a_secret_owned_by_another_external_secret() {
    let (r, cluster, es) = setup(&es("", EXTRACT));
    let mut other = KubeSecret::new("app", "db-creds").with_data("k", "v");
    other.owner_references.push(OwnerRef::controller(
        "external-secrets.io/v1",
        "ExternalSecret",
        "someone-else",
        "u2",
    ));
    cluster.create_secret(other).await.unwrap();
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    assert!(out.error().is_some());
    assert!(
        out.status.conditions.as_ref().unwrap()[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("target is owned by another ExternalSecret: ")
    );
    assert_eq!(out.requeue_after, None, "ownership errors are not retried");
    assert_eq!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .unwrap()
            .data["k"]
            .expose(),
        b"v"
    );
}

#[tokio::test]
async fn immutable_targets_are_not_changed() {
    let (r, cluster, mut es) = setup(&es("    immutable: true\n", EXTRACT));
    r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .unwrap()
            .immutable
    );
    es.spec.data_from = None;
    es.spec.data =
        Some(serde_json::from_str(r#"[{"secretKey":"t","remoteRef":{"key":"token"}}]"#).unwrap());
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(10)).await;
    assert!(
        out.status.conditions.as_ref().unwrap()[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("could not update secret, target is immutable: ")
    );
}

#[tokio::test]
async fn template_and_target_rename() {
    let tpl = "    template:\n      engineVersion: v2\n      type: kubernetes.io/basic-auth\n      metadata: {labels: {team: a}}\n      data:\n        username: '{{ .user }}'\n        dsn: 'postgres://{{ .user }}:{{ .pass }}@db'\n";
    let (r, cluster, mut es) = setup(&es(tpl, EXTRACT));
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    // The host writes the status back: `status.binding` records the target's name.
    assert_eq!(out.status.binding.as_ref().unwrap().name, "db-creds");
    es.status = Some(out.status);
    let s = cluster
        .get_secret("app", "db-creds")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.type_, "kubernetes.io/basic-auth");
    assert_eq!(s.labels["team"], "a");
    assert_eq!(s.data["dsn"].expose(), b"postgres://app:hunter2@db");
    assert!(!s.data.contains_key("pass"));
    // Renaming the target with creationPolicy Owner removes the old Secret.
    es.spec.target.name = Some("db-creds-v2".into());
    r.reconcile_external_secret(&es, &Pass::new(), t(10)).await;
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        cluster
            .get_secret("app", "db-creds-v2")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn cluster_store_conditions_are_enforced() {
    let body = "  data: [{secretKey: t, remoteRef: {key: token}}]\n";
    let yaml = es("", body).replace(
        "secretStoreRef: {name: fake}",
        "secretStoreRef: {name: shared, kind: ClusterSecretStore}",
    );
    let (r, _, es) = setup(&yaml);
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    let err = out.error().unwrap().to_string();
    assert!(err.contains("not allowed from namespace \"app\""), "{err}");
    let (r, cluster, mut es) = setup(&yaml.replace("namespace: app", "namespace: allowed"));
    es.metadata.namespace = Some("allowed".into());
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    assert!(out.error().is_none(), "{:?}", out.errors);
    assert_eq!(
        cluster
            .get_secret("allowed", "db-creds")
            .await
            .unwrap()
            .unwrap()
            .data["t"]
            .expose(),
        b"shared-token"
    );
}

#[tokio::test]
async fn identical_reads_happen_once_per_pass() {
    let (r, _, es) = setup(&es("", EXTRACT));
    let pass = Pass::new();
    for i in 0..50 {
        let mut e = es.clone();
        e.metadata.name = Some(format!("es-{i}"));
        e.spec.target.name = Some(format!("target-{i}"));
        assert!(
            r.reconcile_external_secret(&e, &pass, t(0))
                .await
                .error()
                .is_none()
        );
    }
    assert_eq!(pass.provider_reads(), 1);
    // The provider client itself is built once and reused across passes.
    assert_eq!(r.providers().cached(), 1);
}

#[tokio::test]
async fn deleting_the_external_secret_honours_deletion_policy() {
    let (r, cluster, es1) = setup(&es("    deletionPolicy: Delete\n", EXTRACT));
    r.reconcile_external_secret(&es1, &Pass::new(), t(0)).await;
    assert_eq!(
        r.delete_external_secret(&es1, jiff::Timestamp::UNIX_EPOCH)
            .await
            .detail,
        TargetAction::Deleted
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_none()
    );
    let (r, cluster, es2) = setup(&es("", EXTRACT));
    r.reconcile_external_secret(&es2, &Pass::new(), t(0)).await;
    assert_eq!(
        r.delete_external_secret(&es2, jiff::Timestamp::UNIX_EPOCH)
            .await
            .detail,
        TargetAction::NotWritten
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn generic_targets_are_refused_and_nothing_is_written() {
    let yaml = es("    manifest: {apiVersion: v1, kind: ConfigMap}\n", EXTRACT);
    let (r, cluster, es) = setup(&yaml);
    let out = r.reconcile_external_secret(&es, &Pass::new(), t(0)).await;
    assert_eq!(out.detail, TargetAction::NotWritten);
    assert!(
        out.requeue_after.is_none(),
        "a configuration error is not retried"
    );
    let err = out.error().unwrap().to_string();
    assert!(err.contains("spec.target.manifest"), "{err}");
    let cond = &out.status.conditions.unwrap()[0];
    assert_eq!(cond.status, "False");
    assert_eq!(cond.reason.as_deref(), Some("SecretSyncedError"));
    assert!(
        cond.message
            .as_deref()
            .unwrap_or_default()
            .starts_with("invalid generic target: spec.target.manifest: ")
    );
    assert!(
        cluster
            .get_secret("app", "db-creds")
            .await
            .unwrap()
            .is_none()
    );
}

/// Without a template ESO copies the ExternalSecret's own labels and annotations onto the
/// target (and with one, only the template's metadata): an operator taking a store over from
/// ESO then finds the target as ESO left it and rewrites nothing.
#[tokio::test]
async fn a_target_without_template_carries_the_external_secrets_metadata() {
    let plain = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: meta
  namespace: app
  labels: {app.kubernetes.io/part-of: shop}
  annotations: {example.com/contact: ops}
spec:
  secretStoreRef: {name: fake}
  data: [{secretKey: t, remoteRef: {key: token}}]
"#;
    let (r, cluster, es) = setup(plain);
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), Timestamp::UNIX_EPOCH)
        .await;
    assert_eq!(out.detail, TargetAction::Created, "{:?}", out.errors);
    let s = cluster.get_secret("app", "meta").await.unwrap().unwrap();
    assert_eq!(s.labels["app.kubernetes.io/part-of"], "shop");
    assert_eq!(s.annotations["example.com/contact"], "ops");

    let templated = plain.replace(
        "  data: [",
        "  target: {template: {metadata: {labels: {from: template}}}}\n  data: [",
    );
    let (r, cluster, es) = setup(&templated);
    r.reconcile_external_secret(&es, &Pass::new(), Timestamp::UNIX_EPOCH)
        .await;
    let s = cluster.get_secret("app", "meta").await.unwrap().unwrap();
    assert_eq!(s.labels["from"], "template");
    assert!(!s.labels.contains_key("app.kubernetes.io/part-of"));
    assert!(!s.annotations.contains_key("example.com/contact"));
}
