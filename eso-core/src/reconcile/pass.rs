//! One sweep of reconciles: identical remote reads are made once ([`Pass`], and its
//! deduplicating provider layer). A long-running host shares one [`Pass::shared`] between
//! all its reconciles: reads within a short window are made once, and reads of providers
//! that batch are gathered into batch calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::gather::Gatherer;

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

    /// The key of a batch read.
    fn batch(store: &StoreIdentity, namespace: &str, read: &BatchRead) -> Self {
        let op = match read {
            BatchRead::Map(_) => Op::Map,
            _ => Op::Get,
        };
        Self::remote(store, namespace, op, read.remote_ref())
    }
}

#[derive(Clone, Debug)]
enum ReadValue {
    One(SecretValue),
    Map(SecretMap),
}

impl From<BatchValue> for ReadValue {
    fn from(v: BatchValue) -> Self {
        match v {
            BatchValue::Value(v) => Self::One(v),
            BatchValue::Map(m) => Self::Map(m),
        }
    }
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
    /// This view's oldest acceptable read (a shared pass's window at most).
    max_age: Option<Duration>,
    /// Refreshes due within this are made now.
    ahead: Duration,
}

/// A read: its value once made, and when it started.
type Cell = (Instant, Arc<OnceCell<ReadValue>>);

#[derive(Debug, Default)]
struct Reads {
    reads: Mutex<HashMap<ReadKey, Cell>>,
    provider_calls: std::sync::atomic::AtomicU64,
    /// Shared passes: how long a read is reused.
    window: Option<Duration>,
    /// When reads older than the window were last dropped.
    pruned: Mutex<Option<Instant>>,
    /// Shared passes: single reads of batching providers gathered into batch calls.
    gather: Option<Gatherer>,
}

impl Pass {
    /// A new pass.
    pub fn new() -> Self {
        Self::default()
    }

    /// A pass shared by every reconcile of a long-running host (an operator), instead of a
    /// new one per sweep: a read is reused by the reconciles that ask for the same thing
    /// within `window` of its start (in flight, or done), and never after, so no value older
    /// than `window` is served; a zero `window` turns reuse off (every read goes to the
    /// provider, as with a new pass per reconcile). Keep `window` well under the shortest
    /// refresh interval: an ExternalSecret may get a value up to `window` older than its
    /// refresh.
    ///
    /// `gather` > 0 also gathers the single reads of providers that batch
    /// ([`Provider::supports_batch_reads`]) for that long and sends them as one
    /// [`Provider::get_batch`] call per store and credential namespace (AWS Secrets Manager:
    /// 20 secrets per backend call), so reconciles that run at about the same time share
    /// calls even when they read different secrets. Each batch call is filled up to the
    /// provider's [`batch_size`](Provider::batch_size) with secrets of the same store that
    /// reconciles asked for lately and the pass does not hold now (read now, so as fresh as
    /// the rest): when the refreshes of a store come together, its K distinct secrets cost
    /// about K / 20 calls per refresh, however the reconciles are spread over the window.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use eso_core::provider::{DynProvider, InMemory, Provider, RemoteRef, StoreIdentity, StoreScope};
    /// use eso_core::reconcile::Pass;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let store = StoreIdentity::new(StoreScope::Namespaced, "ns", "mem");
    /// let mem: DynProvider = Arc::new(InMemory::new().with_secret("db", "v1"));
    /// let shared = Pass::shared(Duration::from_secs(2), Duration::ZERO);
    /// let a = shared.provider(&store, "ns", Arc::clone(&mem));
    /// let b = shared.provider(&store, "ns", mem);
    /// a.get_secret(&RemoteRef::new("db")).await.unwrap();
    /// b.get_secret(&RemoteRef::new("db")).await.unwrap(); // within the window: reused
    /// assert_eq!(shared.provider_reads(), 1);
    /// # });
    /// ```
    pub fn shared(window: Duration, gather: Duration) -> Self {
        Self {
            inner: Arc::new(Reads {
                window: Some(window),
                gather: (!gather.is_zero()).then(|| Gatherer::new(gather)),
                ..Reads::default()
            }),
            max_age: None,
            ahead: Duration::ZERO,
        }
    }

    /// This pass, serving no read older than `age` to the reconciles that use this view
    /// (an ExternalSecret refreshing every 30 s takes nothing older than 30 s from a shared
    /// pass with a longer window). Reads stay shared with the other views.
    #[must_use]
    pub fn at_most(&self, age: Duration) -> Self {
        Self {
            max_age: Some(self.max_age.map_or(age, |a| a.min(age))),
            ..self.clone()
        }
    }

    /// This pass, under which an ExternalSecret whose periodic refresh falls due within
    /// `ahead` is refreshed now: an operator that groups the refreshes of a store on one
    /// moment refreshes early (never late) those due before its next moment.
    #[must_use]
    pub fn refreshing_ahead(&self, ahead: Duration) -> Self {
        Self {
            ahead,
            ..self.clone()
        }
    }

    /// How far ahead periodic refreshes are made (zero unless
    /// [`refreshing_ahead`](Self::refreshing_ahead)).
    pub fn refresh_ahead(&self) -> Duration {
        self.ahead
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

    /// Whether a read that started at `at` may still be served.
    fn fresh(&self, at: Instant, now: Instant) -> bool {
        let age = now.duration_since(at);
        self.inner.window.is_none_or(|w| age <= w) && self.max_age.is_none_or(|m| age <= m)
    }

    fn cell(&self, key: ReadKey) -> Arc<OnceCell<ReadValue>> {
        let now = Instant::now();
        self.prune(now);
        let Ok(mut m) = self.inner.reads.lock() else {
            return Arc::new(OnceCell::new());
        };
        match m.get(&key) {
            Some((at, cell)) if self.fresh(*at, now) => Arc::clone(cell),
            _ => {
                let cell = Arc::new(OnceCell::new());
                m.insert(key, (now, Arc::clone(&cell)));
                cell
            }
        }
    }

    /// Drops the reads older than the window (at most once per window).
    fn prune(&self, now: Instant) {
        let Some(window) = self.inner.window else {
            return;
        };
        let Ok(mut pruned) = self.inner.pruned.lock() else {
            return;
        };
        if pruned.is_some_and(|p| now.duration_since(p) < window) {
            return;
        }
        *pruned = Some(now);
        drop(pruned);
        if let Ok(mut m) = self.inner.reads.lock() {
            m.retain(|_, (at, _)| now.duration_since(*at) <= window);
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
        let now = Instant::now();
        self.inner.reads.lock().is_ok_and(|m| {
            m.get(&key)
                .is_some_and(|(at, c)| self.fresh(*at, now) && c.initialized())
        })
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
                let read = BatchRead::Value(r.clone());
                if let Some(v) = self.gathered(store, namespace, provider, read).await {
                    return v;
                }
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
        self.map_read(key, || async {
            let read = BatchRead::Map(r.clone());
            match self.gathered(store, namespace, provider, read).await {
                Some(Ok(ReadValue::Map(m))) => Ok(m),
                Some(Ok(ReadValue::One(_))) => {
                    Err(crate::Error::generic("a batch answered a value for a map"))
                }
                Some(Err(e)) => Err(e),
                None => {
                    self.count();
                    provider.get_secret_map(r).await
                }
            }
        })
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
        self.map_read(key, || async {
            self.count();
            provider.get_all_secrets(find).await
        })
        .await
    }

    /// `read` through the gatherer, when this pass gathers and the provider batches
    /// (`None` otherwise: read it directly). Counts one call per batch sent.
    ///
    /// The read that opens a batch also fills it, up to the provider's
    /// [`batch_size`](Provider::batch_size), with reads of the same store that reconciles
    /// asked for recently and that the pass does not hold now: the refreshes of one store
    /// come together, so those are about to be asked for again, and they ride in a call that
    /// is made anyway. Their values are read now, so they are as fresh as any other.
    async fn gathered(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        read: BatchRead,
    ) -> Option<Result<ReadValue>> {
        let gather = self.inner.gather.as_ref()?;
        if !provider.supports_batch_reads() {
            return None;
        }
        gather.remember(store, namespace, &read);
        let asked = read.clone();
        let (rx, before) = match gather.enqueue(store, namespace, read) {
            Ok(queued) => queued,
            Err(e) => return Some(Err(e)),
        };
        let fill = match self.inner.reads.lock() {
            // One look at the reads for all candidates: the pass holds no fresh read of them.
            Ok(reads) if before == 0 => {
                let (room, now) = (provider.batch_size().saturating_sub(1), Instant::now());
                gather.expected(store, namespace, room, |r| {
                    let key = ReadKey::batch(store, namespace, r);
                    !reads.get(&key).is_some_and(|(at, _)| self.fresh(*at, now))
                })
            }
            _ => Vec::new(),
        };
        let own = gather.complete(store, namespace, provider, rx);
        let companions = futures_util::future::join_all(
            fill.into_iter()
                .map(|r| self.companion(store, namespace, provider, r)),
        );
        let ((result, sent), companions_sent) = futures_util::future::join(own, companions).await;
        for _ in 0..usize::from(sent) + companions_sent.iter().filter(|s| **s).count() {
            self.count();
        }
        if result.is_err() {
            gather.forget(store, namespace, &asked);
        }
        Some(result.map(ReadValue::from))
    }

    /// Reads `read` into the pass as a companion in the batch being gathered (see
    /// [`Pass::gathered`]); a read the pass got meanwhile is left alone. Returns whether this
    /// companion sent the batch. A failed read (asked or companion) is forgotten, so it
    /// rides no more batches until a reconcile asks for it again.
    async fn companion(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        read: BatchRead,
    ) -> bool {
        let Some(gather) = self.inner.gather.as_ref() else {
            return false;
        };
        let cell = self.cell(ReadKey::batch(store, namespace, &read));
        let mut sent = false;
        let result = cell
            .get_or_try_init(|| async {
                let (rx, _) = gather.enqueue(store, namespace, read.clone())?;
                let (result, by_me) = gather.complete(store, namespace, provider, rx).await;
                sent = by_me;
                result.map(ReadValue::from)
            })
            .await;
        if result.is_err() {
            gather.forget(store, namespace, &read);
        }
        sent
    }

    async fn map_read<F, Fut>(&self, key: ReadKey, read: F) -> Result<SecretMap>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<SecretMap>>,
    {
        let cell = self.cell(key);
        let v = cell
            .get_or_try_init(|| async { read().await.map(ReadValue::Map) })
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
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        self.inner.get_batch(reads).await
    }
}
