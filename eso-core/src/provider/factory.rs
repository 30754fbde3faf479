//! Building providers from store specs.

use std::fmt;

use async_trait::async_trait;

use super::{Capabilities, DynProvider};
use crate::Result;
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
#[derive(Debug)]
#[non_exhaustive]
pub struct StoreContext<'a> {
    /// The store.
    pub store: &'a StoreIdentity,
    /// The provider kind (the single key under `spec.provider`, e.g. `vault`).
    pub kind: &'a str,
    /// The provider block (`spec.provider.<kind>`) as JSON.
    pub spec: &'a serde_json::Value,
    /// The namespace credentials are read from: the store's for a `SecretStore`, the
    /// consumer's for a `ClusterSecretStore` (selectors with an explicit namespace override it).
    pub namespace: &'a str,
    /// Access to Secrets/ConfigMaps holding credentials and CA bundles.
    pub cluster: &'a DynCluster,
    /// A hash of `kind` and `spec` computed once by the caller (the reconcile flows keep one
    /// per store), so the registry's cache lookup does not re-hash a large spec on every call.
    pub fingerprint: Option<u64>,
    /// The store's `spec.retrySettings`, when it sets them (`None`: the provider's default).
    pub retry: Option<StoreRetry>,
}

/// A store's `spec.retrySettings` in provider-neutral form: how many times a failed call is
/// retried, and how long to wait before each retry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreRetry {
    /// Retries after the first attempt (`maxRetries`; negative values count as 0).
    pub max_retries: u32,
    /// Wait before each retry (`retryInterval`; `None` when unset).
    pub interval: Option<std::time::Duration>,
}

impl StoreRetry {
    /// Retry settings.
    pub fn new(max_retries: u32, interval: Option<std::time::Duration>) -> Self {
        Self {
            max_retries,
            interval,
        }
    }
}

impl<'a> StoreContext<'a> {
    /// A context.
    pub fn new(
        store: &'a StoreIdentity,
        kind: &'a str,
        spec: &'a serde_json::Value,
        namespace: &'a str,
        cluster: &'a DynCluster,
    ) -> Self {
        Self {
            store,
            kind,
            spec,
            namespace,
            cluster,
            fingerprint: None,
            retry: None,
        }
    }

    /// Sets the store's retry settings.
    #[must_use]
    pub fn with_retry(mut self, retry: Option<StoreRetry>) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the precomputed hash of `kind` and `spec` (see [`spec_fingerprint`]).
    #[must_use]
    pub fn with_fingerprint(mut self, fingerprint: u64) -> Self {
        self.fingerprint = Some(fingerprint);
        self
    }
}

/// A stable-within-the-process hash of a provider kind and its spec, the cache key part that
/// tells two revisions of a store apart.
pub fn spec_fingerprint(kind: &str, spec: &serde_json::Value) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    kind.hash(&mut h);
    spec.to_string().hash(&mut h);
    h.finish()
}

/// Builds providers of one kind (`vault`, `aws`, `fake`, ...) from store specs.
#[async_trait]
pub trait ProviderFactory: fmt::Debug + Send + Sync + 'static {
    /// The provider key under `spec.provider` this factory serves.
    fn kind(&self) -> &'static str;

    /// What providers built by this factory support (before any spec is seen).
    fn capabilities(&self) -> Capabilities;

    /// Checks a provider block without contacting the backend; returns warnings.
    /// Errors name the field path under `spec.provider.<kind>`.
    fn validate_store(&self, spec: &serde_json::Value, scope: StoreScope) -> Result<Vec<String>>;

    /// Builds a provider (reads credentials through `ctx.cluster`, authenticates lazily or now).
    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider>;
}
