//! [`ReflectorCatalog`]: the flows' [`Catalog`] backed by kube-runtime reflector stores.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use eso_core::api::{
    ClusterGenerator, ClusterSecretStore, GeneratorKind, GeneratorRef, GeneratorSpec, SecretStore,
};
use eso_core::reconcile::Catalog;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{ObjectRef, Store};

/// The stores an operator watches, as the flows' [`Catalog`]: lookups read the reflector
/// caches directly (they already hold `Arc`s), so nothing is copied or rebuilt per event.
///
/// Generator lookups answer from the optional `ClusterGenerator` reflector, then from
/// [`FetchedGenerators`] (the operator fetches the generators an object references right
/// before reconciling it, so generators need no watch of their own).
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
    fetched: Option<Arc<FetchedGenerators>>,
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
            fetched: None,
        }
    }

    /// Also answers generator references from `fetched` (see [`FetchedGenerators`]).
    #[must_use]
    pub fn with_fetched_generators(mut self, fetched: Arc<FetchedGenerators>) -> Self {
        self.fetched = Some(fetched);
        self
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

    fn generator(&self, kind: GeneratorKind, namespace: &str, name: &str) -> Option<GeneratorSpec> {
        self.fetched.as_ref()?.generator(kind, namespace, name)
    }

    fn cluster_generator(&self, name: &str) -> Option<Arc<ClusterGenerator>> {
        self.cluster_generators
            .as_ref()
            .and_then(|g| g.get(&ObjectRef::new(name)))
            .or_else(|| self.fetched.as_ref()?.cluster_generator(name))
    }
}

type NamespacedKey = (GeneratorKind, String, String);

/// The generators (`Password`, `VaultDynamicSecret`, ..., `ClusterGenerator`) the objects
/// being reconciled reference, read from the API server just before each reconcile that needs
/// them ([`FetchedGenerators::fetch`]) and answered from memory to the flows' synchronous
/// [`Catalog`]. A generator is read when it is used, so it is always current, and no watch is
/// kept per generator kind; memory holds only the generators referenced.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::api::{GeneratorKind, GeneratorRef};
/// use eso_kube::FetchedGenerators;
///
/// # async fn run(client: kube::Client, r: GeneratorRef) -> Result<(), kube::Error> {
/// let fetched = Arc::new(FetchedGenerators::new());
/// fetched.fetch(&client, "apps", [&r]).await?;
/// let _spec = fetched.generator(r.kind, "apps", &r.name);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct FetchedGenerators {
    namespaced: RwLock<HashMap<NamespacedKey, GeneratorSpec>>,
    cluster: RwLock<HashMap<String, Arc<ClusterGenerator>>>,
}

impl FetchedGenerators {
    /// Nothing fetched yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads each of `refs` (namespaced kinds from `namespace`) from the API server and keeps
    /// it for [`FetchedGenerators::generator`] / [`FetchedGenerators::cluster_generator`]. A
    /// generator that does not exist (or whose kind is not installed), or whose spec does not
    /// load, is forgotten, so the flow reports it as not found (the load error is logged
    /// with the object's name); any other API error is returned, for the reconcile to retry.
    pub async fn fetch<'a>(
        &self,
        client: &kube::Client,
        namespace: &str,
        refs: impl IntoIterator<Item = &'a GeneratorRef>,
    ) -> Result<(), kube::Error> {
        for r in refs {
            if r.kind == GeneratorKind::ClusterGenerator {
                let got = Api::<ClusterGenerator>::all(client.clone())
                    .get_opt(&r.name)
                    .await
                    .or_else(missing_kind)?;
                let mut map = self.cluster.write().unwrap_or_else(|e| e.into_inner());
                match got {
                    Some(g) => map.insert(r.name.clone(), Arc::new(g)),
                    None => map.remove(&r.name),
                };
                continue;
            }
            let gvk = GroupVersionKind::gvk(
                "generators.external-secrets.io",
                "v1alpha1",
                r.kind.as_str(),
            );
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk));
            let got = api.get_opt(&r.name).await.or_else(missing_kind)?;
            let spec = got.and_then(|obj| {
                let value = obj.data.get("spec").cloned().unwrap_or_default();
                GeneratorSpec::parse(r.kind.as_str(), value)
                    .inspect_err(|e| {
                        tracing::warn!(
                            generator = %format!("{} {namespace}/{}", r.kind.as_str(), r.name),
                            error = %e,
                            "generator spec does not load"
                        );
                    })
                    .ok()
            });
            let key = (r.kind, namespace.to_owned(), r.name.clone());
            let mut map = self.namespaced.write().unwrap_or_else(|e| e.into_inner());
            match spec {
                Some(spec) => map.insert(key, spec),
                None => map.remove(&key),
            };
        }
        Ok(())
    }

    /// The last fetched spec of a namespaced generator.
    pub fn generator(
        &self,
        kind: GeneratorKind,
        namespace: &str,
        name: &str,
    ) -> Option<GeneratorSpec> {
        self.namespaced
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// The last fetched `ClusterGenerator` of that name.
    pub fn cluster_generator(&self, name: &str) -> Option<Arc<ClusterGenerator>> {
        self.cluster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
}

/// A 404 for the kind itself (its CRD is not installed) reads as "no such generator".
fn missing_kind<T>(e: kube::Error) -> Result<Option<T>, kube::Error> {
    match &e {
        kube::Error::Api(s) if s.code == 404 => Ok(None),
        _ => Err(e),
    }
}
