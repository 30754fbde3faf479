//! The PushSecret flow: concurrent multi-store pushes, update and deletion policies, and the
//! ESO defects we avoid.

use std::sync::Arc;

use eso_core::api::{Manifest, PushSecret, parse_documents};
use eso_core::cluster::{Cluster, KubeSecret, MemoryCluster};
use eso_core::provider::{RemoteRef, StoreContext, StoreIdentity, StoreScope};
use eso_core::reconcile::{MemoryCatalog, Reconciler};
use jiff::Timestamp;

const STORES: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: eu, namespace: app, labels: {tier: regional}}
spec: {provider: {fake: {data: [{key: preexisting, value: theirs}]}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: us, namespace: app, labels: {tier: regional}}
spec: {provider: {fake: {data: []}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: broken, namespace: app}
spec: {provider: {doppler: {auth: {secretRef: {dopplerToken: {name: x, key: y}}}}}}
"#;

fn setup(ps_yaml: &str) -> (Reconciler, Arc<MemoryCluster>, PushSecret) {
    let mut catalog = MemoryCatalog::new();
    let mut ps = None;
    for (_, doc) in parse_documents(&format!("{STORES}\n---\n{ps_yaml}")) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let cluster = Arc::new(
        MemoryCluster::new().with_secret(
            KubeSecret::new("app", "src")
                .with_data("password", "s3cr3t")
                .with_data("user", "app"),
        ),
    );
    (
        Reconciler::new(cluster.clone(), catalog),
        cluster,
        ps.unwrap(),
    )
}

fn ps_yaml(stores: &str, extra: &str, data: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: p, namespace: app, generation: 1}}\nspec:\n  refreshInterval: 1h\n  secretStoreRefs: {stores}\n  selector: {{secret: {{name: src}}}}\n{extra}  data:\n{data}"
    )
}

const ONE: &str =
    "    - match: {secretKey: password, remoteRef: {remoteKey: app/db, property: password}}\n";

/// Reads what a store holds, through the same (cached) provider the flow used.
async fn remote(r: &Reconciler, store: &str, key: &str, property: Option<&str>) -> Option<String> {
    let id = StoreIdentity::new(StoreScope::Namespaced, "app", store);
    let stored = r.catalog().secret_store("app", store).unwrap();
    let cluster: eso_core::cluster::DynCluster = Arc::new(MemoryCluster::new());
    let p = r
        .providers()
        .provider(&StoreContext::new(
            &id,
            &stored.spec.provider,
            "app",
            &cluster,
        ))
        .await
        .unwrap();
    let mut rr = RemoteRef::new(key);
    rr.property = property.map(str::to_owned);
    p.get_secret(&rr)
        .await
        .ok()
        .map(|v| String::from_utf8(v.into_bytes()).unwrap())
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).unwrap()
}

#[tokio::test]
async fn pushes_to_every_store_and_records_status() {
    let (r, _, ps) = setup(&ps_yaml(
        "[{name: eu}, {labelSelector: {matchLabels: {tier: regional}}}]",
        "",
        ONE,
    ));
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 2);
    for store in ["eu", "us"] {
        assert_eq!(
            remote(&r, store, "app/db", Some("password"))
                .await
                .as_deref(),
            Some("s3cr3t")
        );
    }
    let synced = out.status.synced_push_secrets.unwrap();
    assert_eq!(
        synced.keys().collect::<Vec<_>>(),
        ["SecretStore/eu", "SecretStore/us"]
    );
    assert!(synced["SecretStore/eu"].contains_key("app/db/password"));
    let cond = &out.status.conditions.unwrap()[0];
    assert_eq!(
        (cond.reason.as_deref(), cond.message.as_deref()),
        (Some("Synced"), Some("PushSecret synced successfully"))
    );
}

#[tokio::test]
async fn one_failing_store_does_not_stop_the_others() {
    let (r, _, ps) = setup(&ps_yaml(
        "[{name: broken}, {name: eu}, {name: us}]",
        "",
        ONE,
    ));
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert_eq!(out.errors.len(), 1);
    assert_eq!(
        out.errors[0]
            .store
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("SecretStore/broken")
    );
    assert!(
        out.errors[0]
            .error
            .to_string()
            .contains("not supported by this build")
    );
    assert_eq!(out.detail.pushed, 2);
    let cond = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_deref()),
        ("False", Some("Errored"))
    );
    assert!(
        cond.message
            .as_deref()
            .unwrap()
            .starts_with("SecretStore/broken:")
    );
    assert_eq!(out.status.synced_push_secrets.unwrap().len(), 2);
}

#[tokio::test]
async fn if_not_exists_never_overwrites_nor_later_deletes_a_foreign_secret() {
    let data = "    - match: {secretKey: password, remoteRef: {remoteKey: preexisting}}\n    - match: {secretKey: user, remoteRef: {remoteKey: mine}}\n";
    let (r, _, mut ps) = setup(&ps_yaml(
        "[{name: eu}]",
        "  updatePolicy: IfNotExists\n  deletionPolicy: Delete\n",
        data,
    ));
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!((out.detail.pushed, out.detail.skipped), (1, 1));
    assert_eq!(
        remote(&r, "eu", "preexisting", None).await.as_deref(),
        Some("theirs")
    );
    assert!(
        !out.status.synced_push_secrets.as_ref().unwrap()["SecretStore/eu"]
            .contains_key("preexisting")
    );
    assert!(
        out.status.conditions.as_ref().unwrap()[0]
            .message
            .as_deref()
            .unwrap()
            .ends_with("Existing secrets in providers unchanged.")
    );
    // Drop both entries from the spec: ours is deleted, the foreign one stays (ESO would delete it).
    ps.status = Some(out.status);
    ps.metadata.generation = Some(2);
    ps.spec.data = Some(Vec::new());
    let out = r.reconcile_push_secret(&ps, t(10)).await;
    assert_eq!(out.detail.deleted, 1);
    assert_eq!(remote(&r, "eu", "mine", None).await, None);
    assert_eq!(
        remote(&r, "eu", "preexisting", None).await.as_deref(),
        Some("theirs")
    );
}

#[tokio::test]
async fn deletion_policy_delete_cleans_removed_entries_stores_and_deleted_sources() {
    let data = "    - match: {secretKey: password, remoteRef: {remoteKey: a}}\n    - match: {secretKey: user, remoteRef: {remoteKey: b}}\n";
    let (r, cluster, mut ps) = setup(&ps_yaml(
        "[{name: eu}, {name: us}]",
        "  deletionPolicy: Delete\n",
        data,
    ));
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert_eq!(out.detail.pushed, 4);
    // Entry b and store us leave the spec.
    ps.status = Some(out.status);
    ps.metadata.generation = Some(2);
    ps.spec.data.as_mut().unwrap().truncate(1);
    ps.spec.secret_store_refs.truncate(1);
    let out = r.reconcile_push_secret(&ps, t(10)).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.deleted, 3);
    assert_eq!(remote(&r, "eu", "a", None).await.as_deref(), Some("s3cr3t"));
    assert_eq!(remote(&r, "eu", "b", None).await, None);
    assert_eq!(remote(&r, "us", "a", None).await, None);
    // The source Secret disappears: everything remote goes, status says SourceDeleted.
    ps.status = Some(out.status);
    ps.metadata.generation = Some(3);
    cluster.delete_secret("app", "src").await.unwrap();
    let out = r.reconcile_push_secret(&ps, t(20)).await;
    assert_eq!(out.detail.deleted, 1);
    assert_eq!(remote(&r, "eu", "a", None).await, None);
    assert_eq!(
        out.status.conditions.as_ref().unwrap()[0].reason.as_deref(),
        Some("SourceDeleted")
    );
    assert!(out.status.synced_push_secrets.is_none());
    // Deleting the PushSecret with nothing synced is a no-op.
    ps.status = Some(out.status);
    assert!(r.delete_push_secret(&ps, t(0)).await.is_ok());
}

#[tokio::test]
async fn several_source_secrets_do_not_delete_each_others_entries() {
    let yaml = ps_yaml("[{name: eu}]", "  deletionPolicy: Delete\n", "")
        .replace(
            "selector: {secret: {name: src}}",
            "selector: {secret: {selector: {matchLabels: {push: \"yes\"}}}}",
        )
        .replace(
            "  data:\n",
            "  dataTo: [{storeRef: {name: eu}, match: {regexp: \"^key-\"}}]\n",
        );
    let (r, cluster, mut ps) = setup(&yaml);
    cluster
        .create_secret(
            KubeSecret::new("app", "one")
                .with_label("push", "yes")
                .with_data("key-one", "1"),
        )
        .await
        .unwrap();
    cluster
        .create_secret(
            KubeSecret::new("app", "two")
                .with_label("push", "yes")
                .with_data("key-two", "2")
                .with_data("skip", "x"),
        )
        .await
        .unwrap();
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 2);
    ps.status = Some(out.status);
    ps.metadata.generation = Some(2);
    let out = r.reconcile_push_secret(&ps, t(10)).await;
    assert_eq!(
        out.detail.deleted, 0,
        "entries of one source must not look stale to the other"
    );
    assert_eq!(
        remote(&r, "eu", "key-one", None).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        remote(&r, "eu", "key-two", None).await.as_deref(),
        Some("2")
    );
    assert_eq!(remote(&r, "eu", "skip", None).await, None);
}

#[tokio::test]
async fn refresh_interval_and_template() {
    let tpl = "  template:\n    engineVersion: v2\n    data:\n      password: '{{ .password | upper }}'\n";
    let (r, _, mut ps) = setup(&ps_yaml("[{name: us}]", tpl, ONE));
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert_eq!(
        remote(&r, "us", "app/db", Some("password"))
            .await
            .as_deref(),
        Some("S3CR3T")
    );
    ps.status = Some(out.status);
    let out = r.reconcile_push_secret(&ps, t(60)).await;
    assert!(out.detail.up_to_date);
    let out = r.reconcile_push_secret(&ps, t(3600)).await;
    assert!(!out.detail.up_to_date);
}

#[tokio::test]
async fn whole_secret_push_without_secret_key() {
    let data = "    - match: {remoteRef: {remoteKey: bundle}}\n";
    let (r, _, ps) = setup(&ps_yaml("[{name: us}]", "", data));
    let out = r.reconcile_push_secret(&ps, t(0)).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        remote(&r, "us", "bundle", Some("user")).await.as_deref(),
        Some("app")
    );
    let missing = "    - match: {secretKey: nope, remoteRef: {remoteKey: x}}\n";
    let (r, _, bad) = setup(&ps_yaml("[{name: us}]", "", missing));
    let out = r.reconcile_push_secret(&bad, t(0)).await;
    assert!(
        out.errors[0]
            .error
            .to_string()
            .contains("\"nope\" does not exist")
    );
}
