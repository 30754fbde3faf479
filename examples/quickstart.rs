//! Quickstart, all in memory: generate a password, push it to two "regions" with one
//! PushSecret, pull it back with an ExternalSecret through a template, and print the Secret
//! and both statuses.
//!
//! Run: `cargo run --example quickstart`

use std::sync::Arc;

use eso_core::cluster::{Cluster, MemoryCluster};
use eso_core::reconcile::{Pass, Reconciler};
use eso_examples::{generators, load, print_status, secret_yaml};

const MANIFESTS: &str = r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: db-password, namespace: demo}
spec: {length: 32, digits: 5, symbols: 5, noUpper: false, allowRepeat: true}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault-eu, namespace: demo, labels: {role: region}}
spec: {provider: {fake: {data: []}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault-us, namespace: demo, labels: {role: region}}
spec: {provider: {fake: {data: []}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: rotate-db-password, namespace: demo}
spec:
  refreshInterval: 24h
  secretStoreRefs:
    - labelSelector: {matchLabels: {role: region}}
  selector:
    generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: db-password}
  data:
    - match: {secretKey: password, remoteRef: {remoteKey: apps/billing/db, property: password}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: billing-db, namespace: demo}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault-us}
  target:
    name: billing-db
    template:
      engineVersion: v2
      data:
        DATABASE_URL: 'postgres://billing:{{ .password | urlquery }}@db.demo:5432/billing'
  data:
    - secretKey: password
      remoteRef: {key: apps/billing/db, property: password}
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loaded = load(MANIFESTS)?;
    let cluster = Arc::new(MemoryCluster::new());
    let reconciler = Reconciler::new(cluster.clone(), loaded.catalog).with_generators(generators());
    let now = jiff::Timestamp::now();

    // Push: one generated password, written to both regions concurrently.
    let push = reconciler
        .reconcile_push_secret(&loaded.push_secrets[0], now)
        .await;
    if !push.is_ok() {
        return Err(format!("push failed: {}", push.error_message()).into());
    }
    println!(
        "pushed {} entries to {} stores",
        push.detail.pushed,
        push.status
            .synced_push_secrets
            .as_ref()
            .map_or(0, |m| m.len())
    );

    // Pull: read it back from one region into a templated Secret.
    let pull = reconciler
        .reconcile_external_secret(&loaded.external_secrets[0], &Pass::new(), now)
        .await;
    if let Some(e) = pull.error() {
        return Err(format!("pull failed: {e}").into());
    }
    let secret = cluster
        .get_secret("demo", "billing-db")
        .await?
        .ok_or("the target Secret was not created")?;
    println!("--- Secret demo/billing-db\n{}", secret_yaml(&secret));
    print_status("PushSecret demo/rotate-db-password status", &push.status);
    print_status("ExternalSecret demo/billing-db status", &pull.status);
    Ok(())
}
