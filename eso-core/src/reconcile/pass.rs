//! One sweep of reconciles: identical remote reads are made once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::provider::{DynProvider, FindRef, RemoteRef, StoreIdentity};
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
/// Create a new `Pass` for every sweep so values are re-read.
#[derive(Debug, Default)]
pub struct Pass {
    reads: Mutex<HashMap<ReadKey, Arc<OnceCell<ReadValue>>>>,
    provider_calls: std::sync::atomic::AtomicU64,
}

impl Pass {
    /// A new pass.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many reads were sent to providers in this pass (a batched read of many secrets,
    /// see [`Reconciler::prefetch`](super::Reconciler::prefetch), counts once).
    pub fn provider_reads(&self) -> u64 {
        self.provider_calls
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn cell(&self, key: ReadKey) -> Arc<OnceCell<ReadValue>> {
        match self.reads.lock() {
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
        self.reads
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
        self.provider_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) async fn get_secret(
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

    pub(crate) async fn get_secret_map(
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

    pub(crate) async fn get_all_secrets(
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
