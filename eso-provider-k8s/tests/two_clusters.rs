//! The two use cases across two kube-apiserver instances ("management" = the instance in
//! the environment, "child" = `kube.sh start k8s-child`, started and stopped by this test):
//!
//! 1. Bootstrap: a PushSecret in the management cluster whose store uses `authRef` to the
//!    child's kubeconfig Secret. Before the child exists (no kubeconfig Secret yet, then a
//!    kubeconfig whose server does not answer) each pass is a temporary error with a clear
//!    message; once the child answers, the next pass pushes.
//! 2. Pull: an ExternalSecret in the child cluster reads `user-credentials` from the
//!    management cluster (server URL + CA bundle + token).

mod common;

use std::sync::Arc;

use eso_core::api::{ExternalSecret, Manifest, PushSecret};
use eso_core::cluster::{Cluster, KubeSecret};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{Pass, Reconciler};
use eso_kube::KubeCluster;
use eso_provider_k8s::MANAGED_BY_LABEL;
use kube::api::{Api, PostParams};

const CHILD: &str = "k8s-child";

#[tokio::test]
async fn bootstrap_push_then_pull_across_clusters() {
    let mgmt = require_kube!();
    common::child::stop(CHILD);
    let mclient = mgmt.client().await;
    common::install_crds(&mclient).await;
    let mcluster = Arc::new(KubeCluster::new(mclient.clone()));
    let ns = common::namespace(&mclient, "mgmt").await;
    common::put_secret(
        mcluster.as_ref(),
        &ns,
        "user-credentials",
        &[("username", "app"), ("password", "s3cret")],
    )
    .await;

    // --- 1. bootstrap push -------------------------------------------------------------
    let yaml = push_manifests(&ns);
    let (catalog, ps) = common::child::catalog_and(&yaml, |m| match m {
        Manifest::PushSecret(p) => Some(*p),
        _ => None,
    });
    // The PushSecret exists before the child cluster does.
    let ps_api: Api<PushSecret> = Api::namespaced(mclient.clone(), &ns);
    let ps = ps_api.create(&PostParams::default(), &ps).await.unwrap();
    let mut providers = ProviderRegistry::new();
    eso_provider_k8s::register(&mut providers);
    let providers = Arc::new(providers);
    let r = Reconciler::new(mcluster.clone(), catalog).with_providers(Arc::clone(&providers));

    // Pass 1: no kubeconfig Secret yet.
    let out = r.reconcile_push_secret(&ps, jiff::Timestamp::now()).await;
    assert_temporary(&out, "child-kubeconfig not found");
    assert!(out.requeue_after.is_some());
    let msg = serde_json::to_string(&out.status).unwrap();
    assert!(msg.contains("not found"), "{msg}");

    // Pass 2: a kubeconfig whose server does not answer yet.
    let dead = mgmt.kubeconfig.replace(
        &mgmt.server,
        &format!("https://127.0.0.1:{}", common::child::free_port()),
    );
    mcluster
        .create_secret(KubeSecret::new(&ns, "child-kubeconfig").with_data("value", dead.as_str()))
        .await
        .unwrap();
    let out = r.reconcile_push_secret(&ps, jiff::Timestamp::now()).await;
    assert_temporary(&out, "not reachable");

    // The child's API comes up and its kubeconfig lands in the Secret.
    let child = common::child::start(CHILD);
    let child = &child.env;
    let mut s = mcluster
        .get_secret(&ns, "child-kubeconfig")
        .await
        .unwrap()
        .unwrap();
    s.data
        .insert("value".into(), child.kubeconfig.as_str().into());
    mcluster.update_secret(s).await.unwrap();

    // Pass 3: pushed, with the same Reconciler (and cached provider).
    let out = r.reconcile_push_secret(&ps, jiff::Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 2);
    let ccluster = Arc::new(child.cluster().await);
    let pushed = ccluster
        .get_secret("default", "user-credentials")
        .await
        .unwrap()
        .expect("pushed Secret in the child");
    assert_eq!(pushed.data["password"].expose(), b"s3cret");
    assert_eq!(pushed.data["username"].expose(), b"app");
    assert_eq!(pushed.labels[MANAGED_BY_LABEL], "external-secrets");
    assert_eq!(pushed.labels["pushed-from"], "management");

    // --- 2. the child pulls user-credentials from the management cluster --------------------
    pull_from_management(&mgmt, child, &ccluster, &ns, providers).await;
}

/// The management side: a store reaching the child through its kubeconfig Secret, and the
/// PushSecret that bootstraps the child.
fn push_manifests(ns: &str) -> String {
    format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: child, namespace: {ns}}}
spec:
  provider:
    kubernetes:
      authRef: {{name: child-kubeconfig, key: value}}
      remoteNamespace: default
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: to-child, namespace: {ns}}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: child, kind: SecretStore}}]
  selector:
    secret: {{name: user-credentials}}
  data:
  - match:
      secretKey: password
      remoteRef: {{remoteKey: user-credentials, property: password}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec:
        labels: {{pushed-from: management}}
  - match:
      secretKey: username
      remoteRef: {{remoteKey: user-credentials, property: username}}
"#
    )
}

/// Nothing pushed, and every error temporary and saying `needle`.
fn assert_temporary(out: &eso_core::reconcile::PushSecretOutcome, needle: &str) {
    assert_eq!(out.detail.pushed, 0);
    assert!(!out.errors.is_empty());
    for e in out.errors.iter().map(|e| &e.error) {
        assert!(e.is_temporary(), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
}

/// The child pulls `user-credentials` from the management cluster (server URL, CA bundle and
/// a token from a Secret) into a Secret of its own.
async fn pull_from_management(
    mgmt: &common::Env,
    child: &common::Env,
    ccluster: &Arc<KubeCluster>,
    ns: &str,
    providers: Arc<ProviderRegistry>,
) {
    let cclient = child.client().await;
    common::install_crds(&cclient).await;
    let cns = common::namespace(&cclient, "app").await;
    common::put_secret(
        ccluster.as_ref(),
        &cns,
        "mgmt-token",
        &[("token", &mgmt.admin_token)],
    )
    .await;
    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: management, namespace: {cns}}}
spec:
  provider:
    kubernetes:
      remoteNamespace: {ns}
      server:
        url: {server}
        caBundle: {ca}
      auth:
        token:
          bearerToken: {{name: mgmt-token, key: token}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: user-credentials, namespace: {cns}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: management, kind: SecretStore}}
  target: {{name: user-credentials}}
  dataFrom:
  - extract: {{key: user-credentials}}
"#,
        server = mgmt.server,
        ca = serde_json::to_string(&mgmt.ca_pem).unwrap(),
    );
    let (catalog, es) = common::child::catalog_and(&yaml, |m| match m {
        Manifest::ExternalSecret(e) => Some(*e),
        _ => None,
    });
    let es_api: Api<ExternalSecret> = Api::namespaced(cclient.clone(), &cns);
    let es = es_api.create(&PostParams::default(), &es).await.unwrap();
    let r = Reconciler::new(ccluster.clone(), catalog).with_providers(providers);
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
        .await;
    assert!(out.error().is_none(), "{:?}", out.errors);
    let pulled = ccluster
        .get_secret(&cns, "user-credentials")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pulled.data["password"].expose(), b"s3cret");
    assert_eq!(pulled.data["username"].expose(), b"app");
}
