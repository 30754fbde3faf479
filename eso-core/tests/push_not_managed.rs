//! The PushSecret flow and remote secrets that are not ours: a delete answered with
//! `NotManaged` drops the entry from the status (nothing of ours to clean up) and the Ready
//! message says the secret was left in place; the secret itself is untouched.

use std::sync::Arc;

use eso_core::api::{Manifest, PushSecret, parse_documents};
use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::provider::{RemoteRef, StoreContext, StoreIdentity, StoreScope};
use eso_core::reconcile::{MemoryCatalog, Reconciler};

/// A store holding `theirs` (seeded without the ownership marker), and a PushSecret whose
/// status says it once pushed `theirs` there, although its spec no longer names it.
const OBJECTS: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: eu, namespace: app}
spec: {provider: {fake: {data: [{key: theirs, value: original}]}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: p, namespace: app, generation: 1}
spec:
  refreshInterval: 1h
  deletionPolicy: Delete
  secretStoreRefs: [{name: eu}]
  selector: {secret: {name: src}}
  data:
    - match: {secretKey: password, remoteRef: {remoteKey: ours}}
status:
  syncedPushSecrets:
    SecretStore/eu:
      theirs:
        match: {secretKey: password, remoteRef: {remoteKey: theirs}}
"#;

fn setup() -> (Reconciler, PushSecret) {
    let mut catalog = MemoryCatalog::new();
    let mut ps = None;
    for (_, doc) in parse_documents(OBJECTS) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let cluster = Arc::new(
        MemoryCluster::new().with_secret(KubeSecret::new("app", "src").with_data("password", "pw")),
    );
    (Reconciler::new(cluster, catalog), ps.unwrap())
}

async fn remote(r: &Reconciler, key: &str) -> Option<String> {
    let id = StoreIdentity::new(StoreScope::Namespaced, "app", "eu");
    let stored = r.catalog().secret_store("app", "eu").unwrap();
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
    p.get_secret(&RemoteRef::new(key))
        .await
        .ok()
        .map(|v| String::from_utf8(v.into_bytes()).unwrap())
}

#[tokio::test]
async fn an_entry_that_left_the_spec_over_a_foreign_secret_is_dropped_and_reported() {
    let (r, ps) = setup();
    let out = r
        .reconcile_push_secret(&ps, jiff::Timestamp::from_second(1_700_000_000).unwrap())
        .await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!((out.detail.pushed, out.detail.deleted), (1, 0));
    let synced = out.status.synced_push_secrets.clone().unwrap();
    let keys: Vec<_> = synced["SecretStore/eu"].keys().collect();
    assert_eq!(keys, ["ours"]);
    let cond = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(cond.reason.as_deref(), Some("Synced"));
    let msg = cond.message.as_deref().unwrap();
    assert!(
        msg.contains(r#"SecretStore/eu: remote secret "theirs" is not managed by external-secrets: left unchanged"#),
        "{msg}"
    );
    assert_eq!(remote(&r, "theirs").await.as_deref(), Some("original"));
}

#[tokio::test]
async fn deleting_the_push_secret_leaves_foreign_secrets_and_does_not_block() {
    let (r, ps) = setup();
    let out = r
        .delete_push_secret(&ps, jiff::Timestamp::from_second(1_700_000_000).unwrap())
        .await;
    // No error: the finalizer can go, although the foreign secret was not deleted.
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.deleted, 0);
    assert_eq!(remote(&r, "theirs").await.as_deref(), Some("original"));
}
