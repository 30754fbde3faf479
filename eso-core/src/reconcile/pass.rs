//! One sweep of reconciles: identical remote reads are made once ([`Pass`], and its
//! deduplicating provider layer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::provider::{
    BatchRead, BatchValue, Capabilities, DynProvider, FindRef, Provider, PushRef, PushValue,
    RemoteRef, StoreIdentity, Validation,
};
use crate::{Result, SecretMap, SecretValue};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Op {
    Get,
    Map,
    Find,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReadKey {
    store: StoreIdentity,
    namespace: String,
    op: Op,
    what: String,
}

impl ReadKey {
    fn remote(store: &StoreIdentity, namespace: &str, op: Op, r: &RemoteRef) -> Self {
        Self {
            store: store.clone(),
            namespace: namespace.to_owned(),
            op,
            what: format!(
                "{:?}",
                (&r.key, r.property(), r.version(), r.metadata_policy)
            ),
        }
    }
}

#[derive(Clone, Debug)]
enum ReadValue {
    One(SecretValue),
    Map(SecretMap),
}

/// A reconcile pass. Reads through it are deduplicated: the same remote read (same store,
/// credential namespace, key, property, version and metadata policy) is sent to the provider
/// once per pass, and concurrent identical reads wait for the first. Failed reads are not
/// remembered, so a later reconcile in the pass retries them.
///
/// Create a new `Pass` for every sweep so values are re-read. Clones share the same reads.
///
/// The deduplication is a provider layer: [`Pass::provider`] wraps a store's provider so its
/// reads go through the pass.
#[derive(Clone, Debug, Default)]
pub struct Pass {
    inner: Arc<Reads>,
}

#[derive(Debug, Default)]
struct Reads {
    reads: Mutex<HashMap<ReadKey, Arc<OnceCell<ReadValue>>>>,
    provider_calls: std::sync::atomic::AtomicU64,
}

impl Pass {
    /// A new pass.
    pub fn new() -> Self {
        Self::default()
    }

    /// `provider` (the client of `store`, with credentials resolved in `namespace`) with its
    /// reads deduplicated through this pass: `get_secret`, `get_secret_map` and
    /// `get_all_secrets` of the same arguments reach the backend once per pass, concurrent
    /// identical reads wait for the first, and failed reads are not remembered. Writes go
    /// straight through. Wrap a provider once: a read of the outer layer waits for the same
    /// read of the inner one.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eso_core::provider::{DynProvider, InMemory, Provider, RemoteRef, StoreIdentity, StoreScope};
    /// use eso_core::reconcile::Pass;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "mem");
    /// let backend: DynProvider = Arc::new(InMemory::new().with_secret("db", "s3cr3t"));
    /// let pass = Pass::new();
    /// let p = pass.provider(&store, "apps", backend);
    /// for _ in 0..3 {
    ///     assert_eq!(p.get_secret(&RemoteRef::new("db")).await.unwrap().expose(), b"s3cr3t");
    /// }
    /// assert_eq!(pass.provider_reads(), 1);
    /// # });
    /// ```
    pub fn provider(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: DynProvider,
    ) -> DynProvider {
        Arc::new(Deduplicated {
            pass: self.clone(),
            store: store.clone(),
            namespace: namespace.to_owned(),
            inner: provider,
        })
    }

    /// How many reads were sent to providers in this pass (a batched read of many secrets,
    /// see [`Reconciler::prefetch`](super::Reconciler::prefetch), counts once).
    pub fn provider_reads(&self) -> u64 {
        self.inner
            .provider_calls
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn cell(&self, key: ReadKey) -> Arc<OnceCell<ReadValue>> {
        match self.inner.reads.lock() {
            Ok(mut m) => Arc::clone(m.entry(key).or_default()),
            Err(_) => Arc::new(OnceCell::new()),
        }
    }

    /// True when a value read of `r` is already in the pass (a map read when `map`).
    pub(crate) fn holds(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        r: &RemoteRef,
        map: bool,
    ) -> bool {
        let op = if map { Op::Map } else { Op::Get };
        let key = ReadKey::remote(store, namespace, op, r);
        self.inner
            .reads
            .lock()
            .is_ok_and(|m| m.get(&key).is_some_and(|c| c.initialized()))
    }

    /// Stores the result of a batched read (see `Reconciler::prefetch`), so the reconciles of
    /// the pass take it from here; a value already present is kept.
    pub(crate) fn prefill_value(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        r: &RemoteRef,
        value: SecretValue,
    ) {
        let cell = self.cell(ReadKey::remote(store, namespace, Op::Get, r));
        let _ = cell.set(ReadValue::One(value));
    }

    /// Like [`Pass::prefill_value`], for a map read.
    pub(crate) fn prefill_map(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        r: &RemoteRef,
        value: SecretMap,
    ) {
        let cell = self.cell(ReadKey::remote(store, namespace, Op::Map, r));
        let _ = cell.set(ReadValue::Map(value));
    }

    /// Counts one batched provider call.
    pub(crate) fn count_batch(&self) {
        self.count();
    }

    fn count(&self) {
        self.inner
            .provider_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn get_secret(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        r: &RemoteRef,
    ) -> Result<SecretValue> {
        let cell = self.cell(ReadKey::remote(store, namespace, Op::Get, r));
        let v = cell
            .get_or_try_init(|| async {
                self.count();
                provider.get_secret(r).await.map(ReadValue::One)
            })
            .await?;
        match v {
            ReadValue::One(v) => Ok(v.clone()),
            ReadValue::Map(_) => Err(crate::Error::generic("read cache holds a map for a value")),
        }
    }

    async fn get_secret_map(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        r: &RemoteRef,
    ) -> Result<SecretMap> {
        let key = ReadKey::remote(store, namespace, Op::Map, r);
        self.map_read(key, || async { provider.get_secret_map(r).await })
            .await
    }

    async fn get_all_secrets(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        find: &FindRef,
    ) -> Result<SecretMap> {
        let key = ReadKey {
            store: store.clone(),
            namespace: namespace.to_owned(),
            op: Op::Find,
            what: format!(
                "{:?}",
                (
                    &find.path,
                    find.name.as_ref().map(regex::Regex::as_str),
                    &find.tags
                )
            ),
        };
        self.map_read(key, || async { provider.get_all_secrets(find).await })
            .await
    }

    async fn map_read<F, Fut>(&self, key: ReadKey, read: F) -> Result<SecretMap>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<SecretMap>>,
    {
        let cell = self.cell(key);
        let v = cell
            .get_or_try_init(|| async {
                self.count();
                read().await.map(ReadValue::Map)
            })
            .await?;
        match v {
            ReadValue::Map(m) => Ok(m.clone()),
            ReadValue::One(_) => Err(crate::Error::generic("read cache holds a value for a map")),
        }
    }
}

/// A provider whose reads go through a [`Pass`].
#[derive(Debug)]
struct Deduplicated {
    pass: Pass,
    store: StoreIdentity,
    namespace: String,
    inner: DynProvider,
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Provider for Deduplicated {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.pass
            .get_secret(&self.store, &self.namespace, &self.inner, r)
            .await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.pass
            .get_secret_map(&self.store, &self.namespace, &self.inner, r)
            .await
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        self.pass
            .get_all_secrets(&self.store, &self.namespace, &self.inner, find)
            .await
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.inner.push_secret(value, r).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.inner.delete_secret(r).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.inner.secret_exists(r).await
    }
    async fn validate(&self) -> Result<Validation> {
        self.inner.validate().await
    }
    fn supports_batch_reads(&self) -> bool {
        self.inner.supports_batch_reads()
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        self.inner.get_batch(reads).await
    }
}
