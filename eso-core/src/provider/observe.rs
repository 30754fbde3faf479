//! The call-counting layer every provider runs behind: [`Observed`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    BatchRead, BatchValue, Capabilities, FindRef, Provider, PushRef, PushValue, RemoteRef,
    Validation,
};
use crate::{Result, SecretMap, SecretValue};

/// Told about every provider call: a host counts them (eso-kube's operator exports ESO's
/// `externalsecret_provider_api_calls_count{provider, call, status}` from this).
///
/// `provider` is the store's provider kind (`vault`, `aws`, `fake`...), `call` the
/// [`Provider`] method in ESO's naming (`GetSecret`, `GetSecretMap`, `GetAllSecrets`,
/// `PushSecret`, `DeleteSecret`, `SecretExists`, `Validate`, `GetBatch`), and `ok` whether
/// it succeeded. Each attempt counts: a call the [`Retry`](super::Retry) layer repeats is
/// observed once per attempt.
///
/// # Example
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use eso_core::provider::CallObserver;
///
/// #[derive(Default)]
/// struct Count(AtomicU64);
/// impl CallObserver for Count {
///     fn observe(&self, _provider: &str, _call: &str, _ok: bool) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// let c = Count::default();
/// c.observe("fake", "GetSecret", true);
/// assert_eq!(c.0.load(Ordering::Relaxed), 1);
/// ```
pub trait CallObserver: Send + Sync {
    /// Records one call.
    fn observe(&self, provider: &str, call: &str, ok: bool);
}

/// Reports every call of the wrapped provider to a [`CallObserver`].
///
/// [`ProviderRegistry`](super::ProviderRegistry) wraps every provider it builds in this
/// layer (inside [`Retry`](super::Retry)) once a host gives it an observer
/// ([`ProviderRegistry::with_call_observer`](super::ProviderRegistry::with_call_observer)).
///
/// # Example
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use eso_core::provider::{CallObserver, InMemory, Observed, Provider, RemoteRef};
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
/// impl CallObserver for Log {
///     fn observe(&self, provider: &str, call: &str, ok: bool) {
///         self.0.lock().unwrap().push(format!("{provider} {call} {ok}"));
///     }
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let log = Arc::new(Log::default());
/// let p = Observed::new(InMemory::new().with_secret("k", "v"), "fake", log.clone());
/// assert!(p.get_secret(&RemoteRef::new("k")).await.is_ok());
/// assert!(p.get_secret(&RemoteRef::new("nope")).await.is_err());
/// assert_eq!(*log.0.lock().unwrap(), ["fake GetSecret true", "fake GetSecret false"]);
/// # });
/// ```
pub struct Observed<P> {
    inner: P,
    provider: String,
    observer: Arc<dyn CallObserver>,
}

impl<P: std::fmt::Debug> std::fmt::Debug for Observed<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observed")
            .field("inner", &self.inner)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl<P> Observed<P> {
    /// Wraps `inner`, reporting its calls as provider `provider` to `observer`.
    pub fn new(inner: P, provider: impl Into<String>, observer: Arc<dyn CallObserver>) -> Self {
        Self {
            inner,
            provider: provider.into(),
            observer,
        }
    }

    fn seen<T>(&self, call: &str, out: Result<T>) -> Result<T> {
        self.observer.observe(&self.provider, call, out.is_ok());
        out
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<P: Provider> Provider for Observed<P> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.seen("GetSecret", self.inner.get_secret(r).await)
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.seen("GetSecretMap", self.inner.get_secret_map(r).await)
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        self.seen("GetAllSecrets", self.inner.get_all_secrets(find).await)
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.seen("PushSecret", self.inner.push_secret(value, r).await)
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.seen("DeleteSecret", self.inner.delete_secret(r).await)
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.seen("SecretExists", self.inner.secret_exists(r).await)
    }
    async fn validate(&self) -> Result<Validation> {
        self.seen("Validate", self.inner.validate().await)
    }
    fn supports_batch_reads(&self) -> bool {
        self.inner.supports_batch_reads()
    }
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        let out = self.inner.get_batch(reads).await;
        let ok = out.iter().all(Result::is_ok);
        self.observer.observe(&self.provider, "GetBatch", ok);
        out
    }
}
