//! The PushSecret flow hands every push the source Secret's type, labels and annotations
//! (`PushRef::source`): as stored without a template; with one, the template's type (even
//! empty, as ESO does) and its metadata merged over the source's.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use eso_core::api::{Manifest, PushSecret, SecretStoreProvider, parse_documents};
use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::provider::{
    Capabilities, DynProvider, FindRef, InMemory, Provider, ProviderFactory, ProviderRegistry,
    PushRef, PushValue, RemoteRef, SourceMetadata, StoreContext, StoreIdentity, Validation,
};
use eso_core::reconcile::{MemoryCatalog, Reconciler};
use eso_core::{Result, SecretMap, SecretValue};

/// An in-memory backend that records the source metadata of every push.
#[derive(Debug, Default)]
struct Recording {
    inner: InMemory,
    sources: Mutex<Vec<SourceMetadata>>,
}

#[async_trait]
impl Provider for Recording {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.inner.get_secret(r).await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.inner.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, f: &FindRef) -> Result<SecretMap> {
        self.inner.get_all_secrets(f).await
    }
    async fn push_secret(&self, v: &PushValue, r: &PushRef) -> Result<()> {
        if let Ok(mut s) = self.sources.lock() {
            s.push(r.source.clone());
        }
        self.inner.push_secret(v, r).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.inner.delete_secret(r).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.inner.secret_exists(r).await
    }
    async fn validate(&self) -> Result<Validation> {
        Ok(Validation::Ready)
    }
}

#[derive(Debug)]
struct RecordingFactory(Arc<Recording>);

#[async_trait]
impl ProviderFactory for RecordingFactory {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    fn validate_store(&self, _: &SecretStoreProvider, _: &StoreIdentity) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    async fn new_provider(&self, _: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::clone(&self.0) as DynProvider)
    }
}

async fn push(spec: &str) -> Vec<SourceMetadata> {
    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: s, namespace: app}}
spec: {{provider: {{fake: {{data: []}}}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: p, namespace: app}}
spec:
  secretStoreRefs: [{{name: s, kind: SecretStore}}]
{spec}
"#
    );
    let mut catalog = MemoryCatalog::new();
    let mut ps: Option<PushSecret> = None;
    for (_, doc) in parse_documents(&yaml) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let cluster = MemoryCluster::new().with_secret(
        KubeSecret::new("app", "tls")
            .with_type("kubernetes.io/tls")
            .with_data("tls.crt", "c")
            .with_data("tls.key", "k")
            .with_label("app", "web")
            .with_annotation("note", "n"),
    );
    let backend = Arc::new(Recording::default());
    let mut registry = ProviderRegistry::empty();
    registry.register(Arc::new(RecordingFactory(Arc::clone(&backend))));
    let r = Reconciler::new(Arc::new(cluster), catalog).with_providers(Arc::new(registry));
    let out = r
        .reconcile_push_secret(&ps.unwrap(), jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    backend.sources.lock().unwrap().clone()
}

#[tokio::test]
async fn the_source_secret_as_stored() {
    let got = push(
        "  selector: {secret: {name: tls}}\n  data: [{match: {remoteRef: {remoteKey: web-tls}}}]",
    )
    .await;
    let want = SourceMetadata::new("kubernetes.io/tls")
        .with_label("app", "web")
        .with_annotation("note", "n");
    assert_eq!(got, [want]);
}

#[tokio::test]
async fn a_template_sets_the_type_and_merges_its_metadata() {
    let got = push(
        "  selector: {secret: {name: tls}}\n  template:\n    type: kubernetes.io/ssh-auth\n    metadata: {labels: {tier: '{{ \"front\" }}'}}\n    data: {ssh-privatekey: '{{ index . \"tls.key\" }}'}\n  data: [{match: {secretKey: ssh-privatekey, remoteRef: {remoteKey: k, property: key}}}]",
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].secret_type(), "kubernetes.io/ssh-auth");
    assert_eq!(got[0].labels["app"], "web");
    assert_eq!(got[0].labels["tier"], "front");
    // A template without a type pushes Opaque, as ESO's does.
    let got = push(
        "  selector: {secret: {name: tls}}\n  template: {data: {x: \"v\"}}\n  data: [{match: {secretKey: x, remoteRef: {remoteKey: k, property: x}}}]",
    )
    .await;
    assert_eq!(got[0].secret_type(), "Opaque");
}
