//! The ExternalSecret flow end to end with the `kubernetes` provider reading through
//! `KubeCluster` (eso-kube) on a real kube-apiserver.

mod common;

use std::sync::Arc;

use eso_core::api::{ExternalSecret, Manifest, parse_documents};
use eso_core::cluster::Cluster;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler, TargetAction};
use eso_kube::KubeCluster;
use kube::api::{Api, PostParams};

/// The ExternalSecret flow with `KubeCluster`: a `kubernetes` store (token auth) reads a
/// source Secret of namespace `src` into a target Secret of namespace `app`; the target
/// follows a source change and carries ESO's labels, annotations and owner reference.
#[tokio::test]
async fn external_secret_end_to_end_with_kube_cluster() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let cluster = Arc::new(KubeCluster::new(client.clone()));
    let src = common::namespace(&client, "src").await;
    let app = common::namespace(&client, "app").await;
    common::put_secret(
        cluster.as_ref(),
        &app,
        "kube-token",
        &[("token", &env.admin_token)],
    )
    .await;
    common::put_secret(
        cluster.as_ref(),
        &src,
        "user-credentials",
        &[("username", "app"), ("password", "s3cret")],
    )
    .await;
    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: other, namespace: {app}}}
spec:
  provider:
    kubernetes:
      remoteNamespace: {src}
      server:
        url: {server}
        caBundle: {ca}
      auth:
        token:
          bearerToken: {{name: kube-token, key: token}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: creds, namespace: {app}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: other, kind: SecretStore}}
  target: {{name: creds}}
  data:
  - secretKey: password
    remoteRef: {{key: user-credentials, property: password}}
  dataFrom:
  - extract: {{key: user-credentials}}
"#,
        server = env.server,
        ca = serde_json::to_string(&env.ca_pem).unwrap(),
    );
    let mut catalog = MemoryCatalog::default();
    let mut es = None;
    for (_, doc) in parse_documents(&yaml) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            other => catalog.add(other),
        }
    }
    // Store the ExternalSecret so the owner reference carries a real UID.
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &app);
    let es = es_api
        .create(&PostParams::default(), &es.unwrap())
        .await
        .unwrap();
    let mut providers = ProviderRegistry::new();
    eso_provider_k8s::register(&mut providers);
    let r = Reconciler::new(cluster.clone(), catalog).with_providers(Arc::new(providers));

    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
        .await;
    assert!(out.error().is_none(), "{:?}", out.errors);
    assert_eq!(out.detail, TargetAction::Created);
    let target = cluster.get_secret(&app, "creds").await.unwrap().unwrap();
    assert_eq!(target.data["password"].expose(), b"s3cret");
    assert_eq!(target.data["username"].expose(), b"app");
    assert_eq!(
        target.labels["reconcile.external-secrets.io/managed"],
        "true"
    );
    assert!(
        target
            .annotations
            .contains_key("reconcile.external-secrets.io/data-hash")
    );
    let owner = &target.owner_references[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("ExternalSecret", true)
    );
    assert_eq!(Some(&owner.uid), es.metadata.uid.as_ref());

    // Unchanged source: nothing written.
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
        .await;
    assert_eq!(out.detail, TargetAction::Unchanged, "{:?}", out.errors);

    // The source changes; the next pass follows.
    let mut s = cluster
        .get_secret(&src, "user-credentials")
        .await
        .unwrap()
        .unwrap();
    s.data.insert("password".into(), "rotated".into());
    cluster.update_secret(s).await.unwrap();
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
        .await;
    assert_eq!(out.detail, TargetAction::Updated, "{:?}", out.errors);
    let target = cluster.get_secret(&app, "creds").await.unwrap().unwrap();
    assert_eq!(target.data["password"].expose(), b"rotated");
}
