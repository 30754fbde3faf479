//! [`ReflectorCatalog`]: the flows' [`Catalog`] backed by kube-runtime reflector stores.

use std::sync::Arc;

use eso_core::api::{
    ClusterGenerator, ClusterSecretStore, GeneratorKind, GeneratorSpec, SecretStore,
};
use eso_core::reconcile::Catalog;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

/// The stores an operator watches, as the flows' [`Catalog`]: lookups read the reflector
/// caches directly (they already hold `Arc`s), so nothing is copied or rebuilt per event.
///
/// Generator lookups answer from the optional `ClusterGenerator` reflector; namespaced
/// generator kinds (`Password`, ...) are not watched by this catalog, so a `generatorRef` to
/// one is reported as not found (use a `ClusterGenerator`, or implement [`Catalog`] over more
/// reflectors).
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::api::{ClusterSecretStore, SecretStore};
/// use eso_kube::ReflectorCatalog;
/// use kube::runtime::reflector;
///
/// let (stores, _writer) = reflector::store::<SecretStore>();
/// let (cluster_stores, _writer) = reflector::store::<ClusterSecretStore>();
/// let catalog = ReflectorCatalog::new(stores, cluster_stores);
/// let _shared: Arc<dyn eso_core::reconcile::Catalog> = Arc::new(catalog);
/// ```
#[derive(Clone)]
pub struct ReflectorCatalog {
    secret_stores: Store<SecretStore>,
    cluster_secret_stores: Store<ClusterSecretStore>,
    cluster_generators: Option<Store<ClusterGenerator>>,
}

impl std::fmt::Debug for ReflectorCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReflectorCatalog")
            .field("secret_stores", &self.secret_stores.state().len())
            .field(
                "cluster_secret_stores",
                &self.cluster_secret_stores.state().len(),
            )
            .finish_non_exhaustive()
    }
}

impl ReflectorCatalog {
    /// A catalog over the SecretStore and ClusterSecretStore reflectors.
    pub fn new(
        secret_stores: Store<SecretStore>,
        cluster_secret_stores: Store<ClusterSecretStore>,
    ) -> Self {
        Self {
            secret_stores,
            cluster_secret_stores,
            cluster_generators: None,
        }
    }

    /// Also answers `ClusterGenerator` references from `generators`.
    #[must_use]
    pub fn with_cluster_generators(mut self, generators: Store<ClusterGenerator>) -> Self {
        self.cluster_generators = Some(generators);
        self
    }
}

impl Catalog for ReflectorCatalog {
    fn secret_store(&self, namespace: &str, name: &str) -> Option<Arc<SecretStore>> {
        self.secret_stores
            .get(&ObjectRef::new(name).within(namespace))
    }

    fn cluster_secret_store(&self, name: &str) -> Option<Arc<ClusterSecretStore>> {
        self.cluster_secret_stores.get(&ObjectRef::new(name))
    }

    fn secret_stores(&self, namespace: &str) -> Vec<Arc<SecretStore>> {
        self.secret_stores
            .state()
            .into_iter()
            .filter(|s| s.namespace().as_deref() == Some(namespace))
            .collect()
    }

    fn cluster_secret_stores(&self) -> Vec<Arc<ClusterSecretStore>> {
        self.cluster_secret_stores.state()
    }

    fn generator(&self, _: GeneratorKind, _: &str, _: &str) -> Option<GeneratorSpec> {
        None
    }

    fn cluster_generator(&self, name: &str) -> Option<Arc<ClusterGenerator>> {
        self.cluster_generators
            .as_ref()
            .and_then(|g| g.get(&ObjectRef::new(name)))
    }
}
