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

    /// How many reads were sent to providers in this pass.
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
        let key = ReadKey {
            store: store.clone(),
            namespace: namespace.to_owned(),
            op: Op::Get,
            what: format!(
                "{:?}",
                (&r.key, r.property(), r.version(), r.metadata_policy)
            ),
        };
        let cell = self.cell(key);
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
        let key = ReadKey {
            store: store.clone(),
            namespace: namespace.to_owned(),
            op: Op::Map,
            what: format!(
                "{:?}",
                (&r.key, r.property(), r.version(), r.metadata_policy)
            ),
        };
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
