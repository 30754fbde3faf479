//! The explicit registry of provider factories, with a client cache.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use super::{DynProvider, InMemoryFactory, ProviderFactory, StoreContext, StoreIdentity};
use crate::{Error, Result};

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    store: StoreIdentity,
    namespace: String,
    spec: u64,
}

/// Maps provider kinds to factories, and caches built providers.
///
/// Nothing registers itself: a host adds the provider crates it links
/// (`eso_provider_vault::register(&mut registry)`). [`ProviderRegistry::new`] holds only the
/// in-memory `fake` provider.
///
/// Built providers are cached by store identity (scope, namespace, name, generation), the
/// credential namespace and the provider spec, so a client and its auth token are reused across
/// reconciles until the store changes — unlike ESO, which builds a client per reconcile.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{ProviderRegistry, StoreContext, StoreIdentity, StoreScope};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let registry = ProviderRegistry::new();
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let store = StoreIdentity::new(StoreScope::Namespaced, "default", "fake-store");
/// let spec = serde_json::json!({"data": [{"key": "k", "value": "v"}]});
/// let provider = registry
///     .provider(&StoreContext::new(&store, "fake", &spec, "default", &cluster))
///     .await
///     .unwrap();
/// assert!(provider.capabilities().push);
///
/// let err = registry
///     .provider(&StoreContext::new(&store, "doppler", &spec, "default", &cluster))
///     .await
///     .unwrap_err();
/// assert_eq!(err.to_string(), "not supported: provider \"doppler\" is not supported by this build");
/// # });
/// ```
pub struct ProviderRegistry {
    factories: BTreeMap<&'static str, Arc<dyn ProviderFactory>>,
    cache: Mutex<HashMap<CacheKey, DynProvider>>,
}

impl Default for ProviderRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderRegistry")
            .field("kinds", &self.factories.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ProviderRegistry {
    /// A registry holding the in-memory `fake` provider.
    pub fn new() -> Self {
        let mut r = Self::empty();
        r.register(Arc::new(InMemoryFactory::default()));
        r
    }

    /// A registry with no providers at all.
    pub fn empty() -> Self {
        Self {
            factories: BTreeMap::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Adds (or replaces) the factory for its kind.
    pub fn register(&mut self, factory: Arc<dyn ProviderFactory>) {
        self.factories.insert(factory.kind(), factory);
    }

    /// The factory for `kind`.
    pub fn factory(&self, kind: &str) -> Result<&Arc<dyn ProviderFactory>> {
        self.factories.get(kind).ok_or_else(|| {
            Error::not_supported(format!("provider {kind:?} is not supported by this build"))
        })
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// A provider for the store in `ctx`: cached if the same store revision was built before.
    pub async fn provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        let factory = self.factory(ctx.kind)?;
        let key = CacheKey {
            store: ctx.store.clone(),
            namespace: ctx.namespace.to_owned(),
            spec: ctx
                .fingerprint
                .unwrap_or_else(|| super::spec_fingerprint(ctx.kind, ctx.spec)),
        };
        if let Some(p) = self.lock()?.get(&key) {
            return Ok(Arc::clone(p));
        }
        let built = factory.new_provider(ctx).await?;
        let mut cache = self.lock()?;
        // Older revisions of the same store are dropped.
        cache.retain(|k, _| {
            !(k.store.scope == key.store.scope
                && k.store.namespace == key.store.namespace
                && k.store.name == key.store.name
                && k.store.generation != key.store.generation)
        });
        Ok(Arc::clone(cache.entry(key).or_insert(built)))
    }

    /// Drops every cached provider of the named store (e.g. when it is deleted or its
    /// credentials change).
    pub fn invalidate(&self, store: &StoreIdentity) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|k, _| {
                !(k.store.scope == store.scope
                    && k.store.namespace == store.namespace
                    && k.store.name == store.name)
            });
        }
    }

    /// Number of cached providers.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<CacheKey, DynProvider>>> {
        self.cache
            .lock()
            .map_err(|_| Error::generic("provider cache is poisoned"))
    }
}
