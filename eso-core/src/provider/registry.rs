//! The explicit registry of provider factories, with a client cache.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use super::{DynProvider, InMemoryFactory, ProviderFactory, Retry, StoreContext, StoreIdentity};
use crate::api::SecretStoreProvider;
use crate::{Error, Result};

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    store: StoreIdentity,
    namespace: String,
}

/// A built provider and the spec revision it was built from.
struct Cached {
    spec: SecretStoreProvider,
    retry: Option<super::StoreRetry>,
    /// The shared object the spec was last seen in (cheap identity check).
    origin: Option<super::factory::Origin>,
    provider: DynProvider,
}

impl Cached {
    /// True when `ctx` describes the revision this provider was built for. The same shared
    /// origin object means the same spec; otherwise the specs are compared (and the new
    /// origin remembered, so the next lookup is an identity check again).
    fn serves(&mut self, ctx: &StoreContext<'_>) -> bool {
        if self.retry != ctx.retry {
            return false;
        }
        if let (Some(a), Some(b)) = (&self.origin, &ctx.origin)
            && Arc::ptr_eq(a, b)
        {
            return true;
        }
        if self.spec != *ctx.provider {
            return false;
        }
        self.origin.clone_from(&ctx.origin);
        true
    }
}

/// Maps provider kinds to factories, and caches built providers.
///
/// Nothing registers itself: a host adds the provider crates it links
/// (`eso_provider_vault::register(&mut registry)`). [`ProviderRegistry::new`] holds only the
/// in-memory `fake` provider.
///
/// Built providers are cached by store identity (scope, namespace, name, generation) and the
/// credential namespace, and checked against the typed provider spec they were built from, so
/// a client and its auth token are reused across reconciles until the store changes — unlike
/// ESO, which builds a client per reconcile. A store revision's spec is validated
/// ([`ProviderFactory::validate_store`]) and built ([`ProviderFactory::new_provider`]) once,
/// and the provider is wrapped in the [`Retry`] layer of its `retrySettings`.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{ProviderRegistry, StoreContext, StoreIdentity, StoreScope};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let registry = ProviderRegistry::new();
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let store = StoreIdentity::new(StoreScope::Namespaced, "default", "fake-store");
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!(
///     {"fake": {"data": [{"key": "k", "value": "v"}]}})).unwrap();
/// let provider = registry
///     .provider(&StoreContext::new(&store, &spec, "default", &cluster))
///     .await
///     .unwrap();
/// assert!(provider.capabilities().push);
///
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!(
///     {"doppler": {"auth": {}}})).unwrap();
/// let err = registry
///     .provider(&StoreContext::new(&store, &spec, "default", &cluster))
///     .await
///     .unwrap_err();
/// assert_eq!(err.to_string(), "not supported: provider \"doppler\" is not supported by this build");
/// # });
/// ```
pub struct ProviderRegistry {
    factories: BTreeMap<&'static str, Arc<dyn ProviderFactory>>,
    cache: Mutex<HashMap<CacheKey, Cached>>,
    observer: Option<Arc<dyn super::CallObserver>>,
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
            observer: None,
        }
    }

    /// Reports every call of every provider built from now on to `observer` (the
    /// [`Observed`](super::Observed) layer, inside the [`Retry`] one).
    #[must_use]
    pub fn with_call_observer(mut self, observer: Arc<dyn super::CallObserver>) -> Self {
        self.observer = Some(observer);
        self.cache = Mutex::new(HashMap::new());
        self
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
    ///
    /// On a miss, the factory's [`ProviderFactory::validate_store`] checks the spec, then
    /// [`ProviderFactory::new_provider`] builds the client, which is wrapped in the
    /// [`Retry`] layer of the store's `retrySettings` (or [`StoreRetry::default`](super::StoreRetry::default)).
    pub async fn provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        let factory = self.factory(ctx.kind()?)?;
        let key = CacheKey {
            store: ctx.store.clone(),
            namespace: ctx.namespace.to_owned(),
        };
        if let Some(c) = self.lock()?.get_mut(&key)
            && c.serves(ctx)
        {
            return Ok(Arc::clone(&c.provider));
        }
        factory.validate_store(ctx.provider, ctx.store)?;
        let built = factory.new_provider(ctx).await?;
        let built: DynProvider = match &self.observer {
            Some(o) => Arc::new(super::Observed::new(built, ctx.kind()?, Arc::clone(o))),
            None => built,
        };
        let provider: DynProvider = Arc::new(Retry::new(built, ctx.retry.unwrap_or_default()));
        let mut cache = self.lock()?;
        // Older revisions of the same store are dropped.
        cache.retain(|k, _| {
            !(k.store.scope == key.store.scope
                && k.store.namespace == key.store.namespace
                && k.store.name == key.store.name
                && k.store.generation != key.store.generation)
        });
        cache.insert(
            key,
            Cached {
                spec: ctx.provider.clone(),
                retry: ctx.retry,
                origin: ctx.origin.clone(),
                provider: Arc::clone(&provider),
            },
        );
        Ok(provider)
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

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<CacheKey, Cached>>> {
        self.cache
            .lock()
            .map_err(|_| Error::generic("provider cache is poisoned"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::cluster::{DynCluster, MemoryCluster};
    use crate::provider::{Capabilities, StoreScope};

    /// Counts how often specs are validated and providers built.
    #[derive(Debug, Default)]
    struct Counting {
        validated: AtomicUsize,
        built: AtomicUsize,
    }

    #[async_trait]
    impl ProviderFactory for Counting {
        fn kind(&self) -> &'static str {
            "fake"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::ALL
        }
        fn validate_store(
            &self,
            _: &SecretStoreProvider,
            _: &StoreIdentity,
        ) -> Result<Vec<String>> {
            self.validated.fetch_add(1, Ordering::Relaxed);
            Ok(Vec::new())
        }
        async fn new_provider(&self, _: &StoreContext<'_>) -> Result<DynProvider> {
            self.built.fetch_add(1, Ordering::Relaxed);
            Ok(Arc::new(crate::provider::InMemory::new()))
        }
    }

    fn spec(key: &str) -> SecretStoreProvider {
        serde_json::from_value(serde_json::json!({"fake": {"data": [{"key": key, "value": "v"}]}}))
            .unwrap()
    }

    #[tokio::test]
    async fn one_validation_and_one_build_per_store_revision() {
        let counting = Arc::new(Counting::default());
        let mut registry = ProviderRegistry::empty();
        registry.register(Arc::clone(&counting) as Arc<dyn ProviderFactory>);
        let cluster: DynCluster = Arc::new(MemoryCluster::new());
        let rev1 = StoreIdentity::new(StoreScope::Namespaced, "ns", "s").with_generation(1);
        let a = spec("a");
        for _ in 0..100 {
            registry
                .provider(&StoreContext::new(&rev1, &a, "ns", &cluster))
                .await
                .unwrap();
        }
        assert_eq!(counting.validated.load(Ordering::Relaxed), 1);
        assert_eq!(counting.built.load(Ordering::Relaxed), 1);

        // A new generation, or a changed spec under the same generation (manifests without
        // a server-side generation), is a new revision: validated and built once more.
        let rev2 = rev1.clone().with_generation(2);
        let b = spec("b");
        for spec in [&a, &b] {
            for _ in 0..10 {
                registry
                    .provider(&StoreContext::new(&rev2, spec, "ns", &cluster))
                    .await
                    .unwrap();
            }
        }
        assert_eq!(counting.validated.load(Ordering::Relaxed), 3);
        assert_eq!(counting.built.load(Ordering::Relaxed), 3);
        assert_eq!(registry.cached(), 1, "older revisions are dropped");
    }
}
