//! Building providers from store specs.

use std::fmt;

use async_trait::async_trait;

use super::{Capabilities, Credentials, DynProvider};
use crate::Result;
use crate::api::SecretStoreProvider;
use crate::cluster::DynCluster;

/// Whether a store is namespaced (`SecretStore`) or cluster-wide (`ClusterSecretStore`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StoreScope {
    /// A `SecretStore`.
    #[default]
    Namespaced,
    /// A `ClusterSecretStore`.
    Cluster,
}

/// Which store a provider is built for, and which revision of it.
///
/// Used as the client cache key: a new generation of the store spec builds a new client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct StoreIdentity {
    /// Namespaced or cluster-wide.
    pub scope: StoreScope,
    /// Store namespace (empty for cluster stores).
    pub namespace: String,
    /// Store name.
    pub name: String,
    /// `metadata.generation` of the store (0 when unknown).
    pub generation: i64,
}

impl StoreIdentity {
    /// Identifies a store.
    pub fn new(scope: StoreScope, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            scope,
            namespace: namespace.into(),
            name: name.into(),
            generation: 0,
        }
    }

    /// Sets the generation.
    #[must_use]
    pub fn with_generation(mut self, generation: i64) -> Self {
        self.generation = generation;
        self
    }

    /// The store's kind and namespace in the form the API model's admission rules take
    /// (`VaultProvider::validate_store`, ...).
    pub fn api_scope(&self) -> crate::api::StoreScope<'_> {
        match self.scope {
            StoreScope::Cluster => crate::api::StoreScope::cluster(),
            StoreScope::Namespaced => crate::api::StoreScope::namespaced(
                Some(self.namespace.as_str()).filter(|n| !n.is_empty()),
            ),
        }
    }
}

impl fmt::Display for StoreIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            StoreScope::Namespaced => write!(f, "SecretStore {}/{}", self.namespace, self.name),
            StoreScope::Cluster => write!(f, "ClusterSecretStore {}", self.name),
        }
    }
}

/// Everything a factory needs to build a provider.
///
/// The provider block arrives typed, exactly as the store manifest was parsed: a factory
/// picks its own block (`ctx.provider.vault`, ...) and never re-parses JSON. The registry has
/// already run [`ProviderFactory::validate_store`] on it once for this store revision.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::api::{FakeProvider, SecretStoreProvider};
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{StoreContext, StoreIdentity, StoreScope};
///
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "mem");
/// let provider = SecretStoreProvider { fake: Some(FakeProvider::default()), ..Default::default() };
/// let ctx = StoreContext::new(&store, &provider, "apps", &cluster);
/// assert_eq!(ctx.kind().unwrap(), "fake");
/// assert_eq!(ctx.field(), "spec.provider.fake");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct StoreContext<'a> {
    /// The store.
    pub store: &'a StoreIdentity,
    /// The store's typed `spec.provider` block (exactly one provider set).
    pub provider: &'a SecretStoreProvider,
    /// The namespace credentials are read from: the store's for a `SecretStore`, the
    /// consumer's for a `ClusterSecretStore` (selectors with an explicit namespace override it).
    pub namespace: &'a str,
    /// Access to Secrets/ConfigMaps holding credentials and CA bundles.
    pub cluster: &'a DynCluster,
    /// The store's `spec.retrySettings`, when it sets them (`None`: [`StoreRetry::default`]).
    pub retry: Option<StoreRetry>,
    /// The shared object the spec was read from (a catalog's `Arc` of the store), if any:
    /// while the registry sees the very same object again it knows the spec is unchanged
    /// without comparing it.
    pub origin: Option<Origin>,
}

/// A shared object a [`StoreContext`]'s spec comes from (see [`StoreContext::with_origin`]).
pub type Origin = std::sync::Arc<dyn std::any::Any + Send + Sync>;

/// A store's `spec.retrySettings` in provider-neutral form: how many times a failed call is
/// retried, and how long to wait before each retry.
///
/// The registry puts a [`Retry`](super::Retry) layer built from it around every provider it
/// builds, so every provider honours `retrySettings` the same way; provider crates do not
/// retry on their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreRetry {
    /// Retries after the first attempt (`maxRetries`; negative values count as 0).
    pub max_retries: u32,
    /// Wait before each retry (`retryInterval`; `None` when unset: the default interval).
    pub interval: Option<std::time::Duration>,
}

impl Default for StoreRetry {
    /// Two retries, one second apart: what applies when a store sets no `retrySettings`.
    fn default() -> Self {
        Self {
            max_retries: 2,
            interval: Some(Self::DEFAULT_INTERVAL),
        }
    }
}

impl StoreRetry {
    /// The wait between retries when `retryInterval` is unset.
    pub const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

    /// Retry settings.
    pub fn new(max_retries: u32, interval: Option<std::time::Duration>) -> Self {
        Self {
            max_retries,
            interval,
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self::new(0, None)
    }

    /// The wait before each retry.
    pub fn wait(&self) -> std::time::Duration {
        self.interval.unwrap_or(Self::DEFAULT_INTERVAL)
    }
}

impl<'a> StoreContext<'a> {
    /// A context.
    pub fn new(
        store: &'a StoreIdentity,
        provider: &'a SecretStoreProvider,
        namespace: &'a str,
        cluster: &'a DynCluster,
    ) -> Self {
        Self {
            store,
            provider,
            namespace,
            cluster,
            retry: None,
            origin: None,
        }
    }

    /// Sets the shared object the spec comes from (the catalog's `Arc` of the store): the
    /// registry then recognises an unchanged store by identity instead of comparing specs.
    #[must_use]
    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// Sets the store's retry settings.
    #[must_use]
    pub fn with_retry(mut self, retry: Option<StoreRetry>) -> Self {
        self.retry = retry;
        self
    }

    /// The provider kind (the single key under `spec.provider`, e.g. `vault`).
    pub fn kind(&self) -> Result<&'a str> {
        self.provider.kind().ok_or_else(|| {
            crate::Error::invalid_config("spec.provider", "exactly one provider must be set")
        })
    }

    /// The field path of the provider block, `spec.provider.<kind>`, for error messages.
    pub fn field(&self) -> String {
        format!("spec.provider.{}", self.provider.kind().unwrap_or_default())
    }

    /// Picks this factory's typed block out of the provider spec (`|p| p.vault.as_ref()`),
    /// or says that the store holds another provider.
    pub fn block<T>(
        &self,
        kind: &str,
        pick: impl FnOnce(&'a SecretStoreProvider) -> Option<&'a T>,
    ) -> Result<&'a T> {
        provider_block(self.provider, kind, pick)
    }

    /// The credential resolver for this store: Secrets, ConfigMaps and ServiceAccount tokens
    /// with ESO's `SecretStore` / `ClusterSecretStore` namespace rules.
    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            std::sync::Arc::clone(self.cluster),
            self.namespace,
            self.store.scope,
        )
    }
}

/// A factory's own typed block of a store's provider spec (`|p| p.vault.as_ref()`), or an
/// error at `spec.provider.<kind>` saying which block the store holds instead. For
/// [`ProviderFactory::validate_store`] and [`StoreContext::block`].
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::provider_block;
///
/// let spec: SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"fake": {"data": []}})).unwrap();
/// assert!(provider_block(&spec, "fake", |p| p.fake.as_ref()).is_ok());
/// let err = provider_block(&spec, "vault", |p| p.vault.as_ref()).unwrap_err();
/// assert_eq!(err.to_string(), "spec.provider.vault: is missing: the store holds a \"fake\" provider block");
/// ```
pub fn provider_block<'a, T>(
    spec: &'a SecretStoreProvider,
    kind: &str,
    pick: impl FnOnce(&'a SecretStoreProvider) -> Option<&'a T>,
) -> Result<&'a T> {
    pick(spec).ok_or_else(|| {
        crate::Error::invalid_config(
            format!("spec.provider.{kind}"),
            format!(
                "is missing: the store holds a {:?} provider block",
                spec.kind().unwrap_or("different")
            ),
        )
    })
}

/// Builds providers of one kind (`vault`, `aws`, `fake`, ...) from store specs.
#[async_trait]
pub trait ProviderFactory: fmt::Debug + Send + Sync + 'static {
    /// The provider key under `spec.provider` this factory serves.
    fn kind(&self) -> &'static str;

    /// What providers built by this factory support (before any spec is seen).
    fn capabilities(&self) -> Capabilities;

    /// Checks a store's provider block without contacting the backend; returns warnings.
    /// Errors name the field path under `spec.provider.<kind>`. `store` tells a namespaced
    /// store (and its namespace) from a cluster store, whose reference rules differ.
    ///
    /// The registry calls this once per store revision, before the first
    /// [`ProviderFactory::new_provider`] for it.
    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>>;

    /// Builds a provider (reads credentials through [`StoreContext::credentials`],
    /// authenticates lazily or now). The spec has passed [`ProviderFactory::validate_store`].
    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider>;
}
