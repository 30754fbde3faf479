//! The seed scenario across two kube-apiserver instances: a management cluster (the instance
//! in the environment) pushes a TLS certificate and a registry token into a new child cluster
//! (an instance this test starts and stops: `kube.sh start <name>`, the name from
//! `ESO_TEST_KUBE_SEED_CHILD`, default `k8s-seed-child`).
//!
//! The ClusterSecretStore's `authRef` names the child's kubeconfig Secret, which exists
//! before anything answers at the address it names (as a cluster provisioner writes it
//! before the control plane is up). While the child does not answer each pass is a
//! temporary error; once it answers (a proxy starts listening at that address), the next
//! pass writes typed Secrets with the same keys and the PushSecretMetadata labels.

mod common;

use std::sync::Arc;

use eso_core::api::{Manifest, PushSecret};
use eso_core::cluster::{Cluster, KubeSecret};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::Reconciler;
use eso_core::testing::FaultProxy;
use eso_kube::KubeCluster;
use eso_provider_k8s::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use kube::api::{Api, PostParams};

const CERT: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUseed\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIseed\n-----END EC PRIVATE KEY-----\n";
const DOCKER: &str = r#"{"auths":{"registry.example:5000":{"auth":"dXNlcjp0b2tlbg=="}}}"#;

#[tokio::test]
async fn seed_child_with_tls_and_registry_secrets() {
    let mgmt = require_kube!();
    let name = common::child::instance_name("ESO_TEST_KUBE_SEED_CHILD", "k8s-seed-child");
    common::child::stop(&name);
    let mclient = mgmt.client().await;
    common::install_crds(&mclient).await;
    let mcluster = Arc::new(KubeCluster::new(mclient.clone()));
    let ns = common::namespace(&mclient, "seed").await;

    create_sources(&mcluster, &ns).await;

    // The child's kubeconfig Secret names an address where nothing answers yet.
    let child = common::child::start(&name);
    let upstream = child.env.server.trim_start_matches("https://").to_owned();
    let port = common::child::free_port();
    let kubeconfig = child
        .env
        .kubeconfig
        .replace(&child.env.server, &format!("https://127.0.0.1:{port}"));
    mcluster
        .create_secret(
            KubeSecret::new(&ns, "child-kubeconfig").with_data("value", kubeconfig.as_str()),
        )
        .await
        .unwrap();

    let yaml = manifests(&ns);
    let pick = |want: &'static str| {
        move |m: Manifest| match m {
            Manifest::PushSecret(p) if p.metadata.name.as_deref() == Some(want) => Some(*p),
            _ => None,
        }
    };
    let (catalog, tls_ps) = common::child::catalog_and(&yaml, pick("web-tls"));
    let (_, registry_ps) = common::child::catalog_and(&yaml, pick("registry"));
    let ps_api: Api<PushSecret> = Api::namespaced(mclient.clone(), &ns);
    let tls_ps = ps_api
        .create(&PostParams::default(), &tls_ps)
        .await
        .unwrap();
    let registry_ps = ps_api
        .create(&PostParams::default(), &registry_ps)
        .await
        .unwrap();
    let mut providers = ProviderRegistry::new();
    eso_provider_k8s::register(&mut providers);
    let r = Reconciler::new(mcluster.clone(), catalog).with_providers(Arc::new(providers));

    // The child does not answer yet: temporary errors, nothing written.
    for ps in [&tls_ps, &registry_ps] {
        let out = r.reconcile_push_secret(ps, jiff::Timestamp::now()).await;
        assert_eq!(out.detail.pushed, 0);
        assert!(!out.errors.is_empty());
        for e in out.errors.iter().map(|e| &e.error) {
            assert!(e.is_temporary(), "{e}");
            assert!(e.to_string().contains("not reachable"), "{e}");
        }
    }

    // The child answers at the kubeconfig's address; the next passes push.
    let _proxy = FaultProxy::start_on(([127, 0, 0, 1], port).into(), &upstream, 0)
        .await
        .unwrap();
    for ps in [&tls_ps, &registry_ps] {
        let out = r.reconcile_push_secret(ps, jiff::Timestamp::now()).await;
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.detail.pushed, 1);
    }

    let ccluster = child.env.cluster().await;
    check_pushed(&ccluster).await;

    // Another pass writes nothing: the remote Secret keeps its resourceVersion.
    let before = ccluster
        .get_secret("default", "web-tls")
        .await
        .unwrap()
        .unwrap()
        .resource_version;
    let out = r
        .reconcile_push_secret(&tls_ps, jiff::Timestamp::now())
        .await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let after = ccluster
        .get_secret("default", "web-tls")
        .await
        .unwrap()
        .unwrap()
        .resource_version;
    assert_eq!(before, after);
}

/// The sources in the management cluster: a TLS Secret with its own label and annotation, and a
/// registry credential.
async fn create_sources(mcluster: &KubeCluster, ns: &str) {
    let tls = KubeSecret::new(ns, "web-tls")
        .with_type("kubernetes.io/tls")
        .with_data("tls.crt", CERT)
        .with_data("tls.key", KEY)
        .with_label("app", "web")
        .with_annotation("example.com/issuer", "management-ca");
    mcluster.create_secret(tls).await.unwrap();
    let registry = KubeSecret::new(ns, "registry")
        .with_type("kubernetes.io/dockerconfigjson")
        .with_data(".dockerconfigjson", DOCKER);
    mcluster.create_secret(registry).await.unwrap();
}

/// The child's store (kubeconfig from a Secret) and the two PushSecrets.
fn manifests(ns: &str) -> String {
    format!(
        r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: child}}
spec:
  provider:
    kubernetes:
      authRef: {{name: child-kubeconfig, key: value, namespace: {ns}}}
      remoteNamespace: default
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: web-tls, namespace: {ns}}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: child, kind: ClusterSecretStore}}]
  selector:
    secret: {{name: web-tls}}
  data:
  - match:
      remoteRef: {{remoteKey: web-tls}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec:
        labels: {{pushed-from: management}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: registry, namespace: {ns}}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: child, kind: ClusterSecretStore}}]
  selector:
    secret: {{name: registry}}
  data:
  - match:
      remoteRef: {{remoteKey: registry}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec:
        labels: {{pushed-from: management}}
        sourceMergePolicy: Replace
"#
    )
}

/// Both Secrets in the child, with their types, data and the metadata the policies give.
async fn check_pushed(ccluster: &KubeCluster) {
    let pushed = ccluster
        .get_secret("default", "web-tls")
        .await
        .unwrap()
        .expect("web-tls in the child");
    assert_eq!(pushed.type_, "kubernetes.io/tls");
    assert_eq!(
        pushed.data.keys().collect::<Vec<_>>(),
        ["tls.crt", "tls.key"]
    );
    assert_eq!(pushed.data["tls.crt"].expose(), CERT.as_bytes());
    assert_eq!(pushed.data["tls.key"].expose(), KEY.as_bytes());
    assert_eq!(pushed.labels["pushed-from"], "management");
    assert_eq!(pushed.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    // sourceMergePolicy Merge (the default): the source's own metadata comes along.
    assert_eq!(pushed.labels["app"], "web");
    assert_eq!(pushed.annotations["example.com/issuer"], "management-ca");

    let pushed = ccluster
        .get_secret("default", "registry")
        .await
        .unwrap()
        .expect("registry in the child");
    assert_eq!(pushed.type_, "kubernetes.io/dockerconfigjson");
    assert_eq!(
        pushed.data.keys().collect::<Vec<_>>(),
        [".dockerconfigjson"]
    );
    assert_eq!(pushed.data[".dockerconfigjson"].expose(), DOCKER.as_bytes());
    assert_eq!(pushed.labels["pushed-from"], "management");
    assert_eq!(pushed.labels.len(), 2, "{:?}", pushed.labels);
}
