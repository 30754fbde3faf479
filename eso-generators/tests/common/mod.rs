//! What the token generators' tests share.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use eso_core::SecretValue;
use eso_core::cluster::MemoryCluster;
use eso_core::provider::{RemoteRef, StoreContext, StoreIdentity, StoreScope};
use eso_core::reconcile::Reconciler;

/// The value a PushSecret wrote to `key` of the in-memory store `app/mirror` of `r`.
pub async fn pushed_to_mirror(r: &Reconciler, key: &str) -> SecretValue {
    let stored = r.catalog().secret_store("app", "mirror").unwrap();
    let id = StoreIdentity::new(StoreScope::Namespaced, "app", "mirror");
    let cluster: eso_core::cluster::DynCluster = Arc::new(MemoryCluster::new());
    let store = r
        .providers()
        .provider(&StoreContext::new(
            &id,
            &stored.spec.provider,
            "app",
            &cluster,
        ))
        .await
        .unwrap();
    store.get_secret(&RemoteRef::new(key)).await.unwrap()
}

/// `GET url` trusting the test server's CA `ca` (PEM): status and JSON body.
pub async fn get_json(
    url: &str,
    ca: &[u8],
    basic: Option<(&str, &str)>,
) -> (u16, serde_json::Value) {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca).unwrap())
        .build()
        .unwrap();
    let mut req = http.get(url);
    if let Some((u, p)) = basic {
        req = req.basic_auth(u, Some(p));
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// The Kubernetes subject of ServiceAccount `ns/name`.
pub fn subject(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

/// An ExternalSecret `es` (target `target`) and a PushSecret `ps` pushing key `push_key` to
/// `remote` in the in-memory store `app/mirror`, both on generator `kind`/`name`.
pub fn consumers(kind: &str, name: &str, target: &str, push_key: &str, remote: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: mirror, namespace: app}}
spec: {{provider: {{fake: {{data: []}}}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: es, namespace: app, uid: es-uid}}
spec:
  refreshInterval: 1h
  target: {{name: {target}}}
  dataFrom:
    - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: {kind}, name: {name}}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: ps, namespace: app, uid: ps-uid, generation: 1}}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{{name: mirror, kind: SecretStore}}]
  selector: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: {kind}, name: {name}}}}}
  data: [{{match: {{secretKey: {push_key}, remoteRef: {{remoteKey: {remote}}}}}}}]
"#
    )
}

/// A reconciler over `cluster` with `generator` registered, holding the generator manifest
/// `manifest` and the consumers `consumers`; with the ExternalSecret and the PushSecret.
pub fn setup(
    cluster: MemoryCluster,
    generator: Arc<dyn eso_core::generator::Generator>,
    manifest: &str,
    consumers: &str,
) -> (
    Reconciler,
    eso_core::api::ExternalSecret,
    eso_core::api::PushSecret,
) {
    use eso_core::api::{Manifest, parse_documents};
    let mut catalog = eso_core::reconcile::MemoryCatalog::new();
    let (mut es, mut ps) = (None, None);
    let text = format!("{manifest}---\n{consumers}");
    for (_, doc) in parse_documents(&text) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let mut generators = eso_core::generator::GeneratorRegistry::new();
    generators.register(generator);
    let reconciler =
        Reconciler::new(Arc::new(cluster), catalog).with_generators(Arc::new(generators));
    (reconciler, es.unwrap(), ps.unwrap())
}

/// The keys and values of Secret `app/name`, sorted by key.
pub async fn secret_data(r: &Reconciler, name: &str) -> Vec<(String, String)> {
    let s = r.cluster().get_secret("app", name).await.unwrap().unwrap();
    s.data
        .iter()
        .map(|(k, v)| (k.clone(), v.expose_str().unwrap().to_owned()))
        .collect()
}
