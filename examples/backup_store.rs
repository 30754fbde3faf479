//! Back up every secret under a path of one store into another: an ExternalSecret collects
//! them (`dataFrom.find`) into a Secret, and a PushSecret writes that Secret, key by key
//! (`dataTo`), to the backup store.
//!
//! Run: `cargo run --example backup_store`

use std::sync::Arc;

use eso_core::cluster::MemoryCluster;
use eso_core::reconcile::{Pass, Reconciler};
use eso_examples::{load, print_status};

const MANIFESTS: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: primary, namespace: backup}
spec:
  provider:
    fake:
      data:
        - {key: team-a/db, value: pa55}
        - {key: team-a/api, value: k3y}
        - {key: team-b/db, value: other}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: backup, namespace: backup}
spec: {provider: {fake: {data: []}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: team-a-snapshot, namespace: backup}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: primary}
  target: {name: team-a-snapshot}
  dataFrom:
    - find: {path: team-a, name: {regexp: ".*"}}
      rewrite: [{regexp: {source: "team-a/(.*)", target: "$1"}}]
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: team-a-backup, namespace: backup}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: backup}]
  selector: {secret: {name: team-a-snapshot}}
  dataTo:
    - storeRef: {name: backup}
      rewrite: [{regexp: {source: "(.*)", target: "backups/team-a/$1"}}]
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loaded = load(MANIFESTS)?;
    let reconciler = Reconciler::new(Arc::new(MemoryCluster::new()), loaded.catalog);
    let now = jiff::Timestamp::now();
    let pull = reconciler
        .reconcile_external_secret(&loaded.external_secrets[0], &Pass::new(), now)
        .await;
    if let Some(e) = pull.error() {
        return Err(format!("snapshot failed: {e}").into());
    }
    let push = reconciler
        .reconcile_push_secret(&loaded.push_secrets[0], now)
        .await;
    if !push.is_ok() {
        return Err(format!("backup failed: {}", push.error_message()).into());
    }
    print_status("PushSecret backup/team-a-backup status", &push.status);
    Ok(())
}
