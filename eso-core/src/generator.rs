//! Generators: the [`Generator`] trait and the [`GeneratorRegistry`].
//!
//! A generator produces a fresh set of values (a password, a UUID, a registry token) from its
//! spec. ExternalSecrets use them through `dataFrom[].sourceRef.generatorRef`, PushSecrets
//! through `selector.generatorRef`. Implementations live in `eso-generators`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::api::GeneratorSpec;
use crate::cluster::DynCluster;
use crate::provider::Credentials;
use crate::{Error, Result, SecretMap};

/// A shared generator.
pub type DynGenerator = Arc<dyn Generator>;

/// What a generator is asked to do.
///
/// The spec arrives typed, as the generator manifest (or the `ClusterGenerator`) was parsed:
/// a generator picks its own spec with [`GeneratorContext::spec_of`].
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::api::{GeneratorSpec, UUIDSpec};
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::GeneratorContext;
///
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let spec = GeneratorSpec { uuid_spec: Some(UUIDSpec::default()), ..Default::default() };
/// let ctx = GeneratorContext::new(&spec, "apps", &cluster);
/// assert!(ctx.spec_of("UUID", |s| s.uuid_spec.as_ref()).is_ok());
/// let err = ctx.spec_of("Password", |s| s.password_spec.as_ref()).unwrap_err();
/// assert_eq!(err.to_string(), "spec: is not a Password spec");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct GeneratorContext<'a> {
    /// The generator's typed spec (exactly one kind set).
    pub spec: &'a GeneratorSpec,
    /// The namespace of the consumer (ExternalSecret/PushSecret).
    pub namespace: &'a str,
    /// Access to Secrets holding the generator's credentials.
    pub cluster: &'a DynCluster,
}

impl<'a> GeneratorContext<'a> {
    /// A context.
    pub fn new(spec: &'a GeneratorSpec, namespace: &'a str, cluster: &'a DynCluster) -> Self {
        Self {
            spec,
            namespace,
            cluster,
        }
    }

    /// Picks the generator's own spec (`|s| s.password_spec.as_ref()`), or says that the
    /// spec is of another kind.
    pub fn spec_of<T>(
        &self,
        kind: &str,
        pick: impl FnOnce(&'a GeneratorSpec) -> Option<&'a T>,
    ) -> Result<&'a T> {
        pick(self.spec)
            .ok_or_else(|| Error::invalid_config("spec", format!("is not a {kind} spec")))
    }

    /// The credential resolver for the generator's references: generators are namespaced,
    /// so references resolve in the consumer's namespace (ESO's rule).
    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            Arc::clone(self.cluster),
            self.namespace,
            crate::provider::StoreScope::Namespaced,
        )
    }
}

/// What a generator produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GeneratorOutput {
    /// The generated values.
    pub data: SecretMap,
    /// State to keep for rotation or cleanup (stored in a `GeneratorState`), if any.
    pub state: Option<serde_json::Value>,
}

impl GeneratorOutput {
    /// Output without state.
    pub fn new(data: SecretMap) -> Self {
        Self { data, state: None }
    }

    /// Adds state.
    #[must_use]
    pub fn with_state(mut self, state: serde_json::Value) -> Self {
        self.state = Some(state);
        self
    }
}

/// Produces values from a generator spec.
///
/// # Contract
///
/// `generate` returns new values on every call (that is the point of rotating them).
/// `cleanup` releases what a previous `generate` created (revokes a token) and must be
/// idempotent; stateless generators do nothing there. Errors name spec fields as
/// `spec.<field>` and never contain generated values.
#[async_trait]
pub trait Generator: fmt::Debug + Send + Sync + 'static {
    /// The generator kind, e.g. `Password`.
    fn kind(&self) -> &'static str;

    /// Generates values.
    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput>;

    /// Releases what `generate` created, given the state it returned.
    async fn cleanup(&self, ctx: &GeneratorContext<'_>, state: &serde_json::Value) -> Result<()>;
}

/// Maps generator kinds to implementations. Nothing registers itself.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let registry = GeneratorRegistry::new();
/// let err = registry.get("Password").unwrap_err();
/// assert_eq!(err.to_string(), "not supported: generator kind \"Password\" is not supported by this build");
/// ```
#[derive(Clone, Default)]
pub struct GeneratorRegistry {
    generators: BTreeMap<&'static str, DynGenerator>,
}

impl fmt::Debug for GeneratorRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratorRegistry")
            .field("kinds", &self.generators.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl GeneratorRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the generator for its kind.
    pub fn register(&mut self, generator: DynGenerator) {
        self.generators.insert(generator.kind(), generator);
    }

    /// The generator for `kind`.
    pub fn get(&self, kind: &str) -> Result<&DynGenerator> {
        self.generators.get(kind).ok_or_else(|| {
            Error::not_supported(format!(
                "generator kind {kind:?} is not supported by this build"
            ))
        })
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.generators.keys().copied()
    }
}
