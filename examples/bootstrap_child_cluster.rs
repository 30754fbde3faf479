//! Bootstrap a new (child) cluster with a secret from the management cluster, without the
//! secret ever going through Git: a PushSecret in the management cluster writes it to a shared
//! store, and an ExternalSecret in the child cluster pulls it. Both clusters and the store are
//! in memory here; swap in `KubeCluster` and a real provider for the real thing.
//!
//! Run: `cargo run --example bootstrap_child_cluster`

use std::sync::Arc;

use eso_core::cluster::{Cluster, KubeSecret, MemoryCluster};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{Pass, Reconciler};
use eso_examples::{load, secret_yaml};

const STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {name: shared-vault}
spec: {provider: {fake: {data: []}}}
"#;

const MANAGEMENT: &str = r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: registry-credentials, namespace: platform}
spec:
  refreshInterval: 1h
  deletionPolicy: Delete
  secretStoreRefs: [{name: shared-vault, kind: ClusterSecretStore}]
  selector: {secret: {name: registry-credentials}}
  data:
    - match: {remoteRef: {remoteKey: clusters/child-1/registry}}
"#;

const CHILD: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: registry-credentials, namespace: kube-system}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: shared-vault, kind: ClusterSecretStore}
  target:
    name: registry-credentials
    template:
      engineVersion: v2
      type: kubernetes.io/dockerconfigjson
      data:
        .dockerconfigjson: '{"auths":{"{{ .server }}":{"auth":"{{ printf "%s:%s" .username .password | b64enc }}"}}}'
  dataFrom: [{extract: {key: clusters/child-1/registry}}]
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One provider registry = one in-memory store shared by both clusters.
    let providers = Arc::new(ProviderRegistry::new());
    let now = jiff::Timestamp::now();

    let management_cluster = Arc::new(
        MemoryCluster::new().with_secret(
            KubeSecret::new("platform", "registry-credentials")
                .with_data("server", "registry.example.com")
                .with_data("username", "robot")
                .with_data("password", "correct-horse-battery-staple"),
        ),
    );
    let mgmt = load(&format!("{STORE}---\n{MANAGEMENT}"))?;
    let management =
        Reconciler::new(management_cluster, mgmt.catalog).with_providers(providers.clone());
    let push = management
        .reconcile_push_secret(&mgmt.push_secrets[0], now)
        .await;
    if !push.is_ok() {
        return Err(format!("push failed: {}", push.error_message()).into());
    }

    let child_cluster = Arc::new(MemoryCluster::new());
    let child = load(&format!("{STORE}---\n{CHILD}"))?;
    let child_reconciler =
        Reconciler::new(child_cluster.clone(), child.catalog).with_providers(providers);
    let pull = child_reconciler
        .reconcile_external_secret(&child.external_secrets[0], &Pass::new(), now)
        .await;
    if let Some(e) = pull.error() {
        return Err(format!("pull failed: {e}").into());
    }
    let secret = child_cluster
        .get_secret("kube-system", "registry-credentials")
        .await?
        .ok_or("not created")?;
    println!("child cluster now has:\n{}", secret_yaml(&secret));
    Ok(())
}
