//! A backend that answers "rate limited" on a pull: the ExternalSecret keeps the error's kind,
//! requeues at the quick temporary interval (not its refresh interval), shows the kind in its
//! `Ready` condition, and the store's `retrySettings` decide how often the read is retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use eso_core::api::{ExternalSecret, Manifest, SecretStoreProvider, parse_documents};
use eso_core::cluster::MemoryCluster;
use eso_core::provider::{
    Capabilities, DynProvider, FindRef, Provider, ProviderFactory, ProviderRegistry, PushRef,
    PushValue, RemoteRef, StoreContext, StoreIdentity, Validation,
};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler, TEMPORARY_REQUEUE, TargetAction};
use eso_core::{Error, Result, SecretMap, SecretValue};

/// A backend that is rate limiting every read, counting them.
#[derive(Debug, Default)]
struct Throttled {
    reads: AtomicUsize,
}

impl Throttled {
    fn slow_down(&self) -> Error {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Error::RateLimited {
            message: "429 Too Many Requests: slow down".into(),
        }
    }
}

#[async_trait]
impl Provider for Throttled {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    async fn get_secret(&self, _: &RemoteRef) -> Result<SecretValue> {
        Err(self.slow_down())
    }
    async fn get_secret_map(&self, _: &RemoteRef) -> Result<SecretMap> {
        Err(self.slow_down())
    }
    async fn get_all_secrets(&self, _: &FindRef) -> Result<SecretMap> {
        Err(self.slow_down())
    }
    async fn push_secret(&self, _: &PushValue, _: &PushRef) -> Result<()> {
        Err(self.slow_down())
    }
    async fn delete_secret(&self, _: &PushRef) -> Result<()> {
        Err(self.slow_down())
    }
    async fn secret_exists(&self, _: &PushRef) -> Result<bool> {
        Err(self.slow_down())
    }
    async fn validate(&self) -> Result<Validation> {
        Ok(Validation::Ready)
    }
}

#[derive(Debug)]
struct ThrottledFactory(Arc<Throttled>);

#[async_trait]
impl ProviderFactory for ThrottledFactory {
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

fn setup(retry: &str) -> (Reconciler, Arc<Throttled>, ExternalSecret) {
    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: busy, namespace: app}}
spec:
  {retry}
  provider: {{fake: {{data: []}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db, namespace: app}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: busy}}
  target: {{name: db}}
  data: [{{secretKey: password, remoteRef: {{key: db/password}}}}]
"#
    );
    let mut catalog = MemoryCatalog::new();
    let mut es = None;
    for (_, doc) in parse_documents(&yaml) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            other => catalog.add(other),
        }
    }
    let backend = Arc::new(Throttled::default());
    let mut registry = ProviderRegistry::empty();
    registry.register(Arc::new(ThrottledFactory(Arc::clone(&backend))));
    let r =
        Reconciler::new(Arc::new(MemoryCluster::new()), catalog).with_providers(Arc::new(registry));
    (r, backend, es.unwrap())
}

#[tokio::test]
async fn a_rate_limited_pull_requeues_at_the_temporary_interval_with_its_kind_visible() {
    let (r, backend, es) = setup("retrySettings: {maxRetries: 0}");
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::UNIX_EPOCH)
        .await;

    // The kind survives the flow: a rate limit, so temporary.
    let err = out.error().expect("the read failed");
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    assert!(out.is_temporary());
    assert_eq!(
        err.to_string(),
        "rate limited: spec.data[0].remoteRef: 429 Too Many Requests: slow down"
    );
    // The quick temporary requeue, not the 1h refresh interval.
    assert_eq!(out.requeue_after, Some(TEMPORARY_REQUEUE));
    assert_eq!(out.detail, TargetAction::NotWritten);
    // The status says what kind of failure it is.
    let ready = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_deref()),
        ("False", Some("SecretSyncedError"))
    );
    assert_eq!(
        ready.message.as_deref(),
        Some(
            "could not get secret data from provider: rate limited: spec.data[0].remoteRef: \
             429 Too Many Requests: slow down"
        )
    );
    // maxRetries: 0 means one attempt.
    assert_eq!(backend.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_store_retry_settings_bound_the_attempts() {
    let (r, backend, es) = setup("retrySettings: {maxRetries: 3, retryInterval: 1ms}");
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::UNIX_EPOCH)
        .await;
    assert!(out.is_temporary());
    assert_eq!(
        backend.reads.load(Ordering::SeqCst),
        4,
        "1 attempt + 3 retries"
    );
}
