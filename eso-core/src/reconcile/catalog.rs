//! Where the flows look up stores and generators: the [`Catalog`] trait, and
//! [`MemoryCatalog`], the catalog that holds its objects itself.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::api::{
    ClusterGenerator, ClusterSecretStore, EsoResource, GeneratorKind, GeneratorRef, GeneratorSpec,
    Manifest, SecretStore, SecretStoreKind, SecretStoreSpec,
};
use crate::cluster::LabelQuery;
use crate::provider::{StoreIdentity, StoreRetry, StoreScope};
use crate::{Error, Result};

/// The stores and generators the flows resolve references against.
///
/// Lookups hand out shared, typed objects: an operator implements this over its watch
/// caches (kube-runtime reflector stores hold `Arc<K>` already), so nothing is copied or
/// rebuilt per event; `esoctl` and tests use [`MemoryCatalog`]. Nothing here is parsed again:
/// the provider block a store carries goes to its factory as it is.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::api::{ClusterGenerator, ClusterSecretStore, GeneratorKind, GeneratorSpec, SecretStore};
/// use eso_core::reconcile::Catalog;
///
/// /// A catalog with one ClusterSecretStore and nothing else.
/// #[derive(Debug)]
/// struct One(Arc<ClusterSecretStore>);
///
/// impl Catalog for One {
///     fn secret_store(&self, _: &str, _: &str) -> Option<Arc<SecretStore>> { None }
///     fn cluster_secret_store(&self, name: &str) -> Option<Arc<ClusterSecretStore>> {
///         (self.0.metadata.name.as_deref() == Some(name)).then(|| Arc::clone(&self.0))
///     }
///     fn secret_stores(&self, _: &str) -> Vec<Arc<SecretStore>> { Vec::new() }
///     fn cluster_secret_stores(&self) -> Vec<Arc<ClusterSecretStore>> { vec![Arc::clone(&self.0)] }
///     fn generator(&self, _: GeneratorKind, _: &str, _: &str) -> Option<GeneratorSpec> { None }
///     fn cluster_generator(&self, _: &str) -> Option<Arc<ClusterGenerator>> { None }
/// }
/// ```
pub trait Catalog: fmt::Debug + Send + Sync + 'static {
    /// The SecretStore `namespace/name`.
    fn secret_store(&self, namespace: &str, name: &str) -> Option<Arc<SecretStore>>;

    /// The ClusterSecretStore `name`.
    fn cluster_secret_store(&self, name: &str) -> Option<Arc<ClusterSecretStore>>;

    /// Every SecretStore of `namespace`.
    fn secret_stores(&self, namespace: &str) -> Vec<Arc<SecretStore>>;

    /// Every ClusterSecretStore.
    fn cluster_secret_stores(&self) -> Vec<Arc<ClusterSecretStore>>;

    /// The spec of the namespaced generator `kind` `namespace/name` (`Password`, ...), in
    /// the one-of form ([`GeneratorSpec::from_manifest`]).
    fn generator(&self, kind: GeneratorKind, namespace: &str, name: &str) -> Option<GeneratorSpec>;

    /// The ClusterGenerator `name`.
    fn cluster_generator(&self, name: &str) -> Option<Arc<ClusterGenerator>>;
}

/// A shared catalog.
pub type DynCatalog = Arc<dyn Catalog>;

/// A catalog that holds its stores and generators itself, filled from manifests.
///
/// # Example
///
/// ```
/// use eso_core::api::Manifest;
/// use eso_core::reconcile::{Catalog, MemoryCatalog};
///
/// let mut catalog = MemoryCatalog::new();
/// catalog.add(Manifest::from_value(serde_json::json!({
///     "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
///     "metadata": {"name": "mem", "namespace": "apps"},
///     "spec": {"provider": {"fake": {"data": []}}}})).unwrap());
/// assert!(catalog.secret_store("apps", "mem").is_some());
/// assert_eq!(catalog.secret_stores("apps").len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    secret_stores: BTreeMap<(String, String), Arc<SecretStore>>,
    cluster_secret_stores: BTreeMap<String, Arc<ClusterSecretStore>>,
    generators: BTreeMap<(GeneratorKind, String, String), GeneratorSpec>,
    cluster_generators: BTreeMap<String, Arc<ClusterGenerator>>,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a store or generator; other kinds are ignored. A namespaced object
    /// without a namespace lands in `default`.
    pub fn add(&mut self, manifest: Manifest) {
        let namespace = manifest
            .metadata()
            .and_then(|m| m.namespace.clone())
            .unwrap_or_else(|| "default".to_owned());
        let name = manifest
            .metadata()
            .and_then(|m| m.name.clone())
            .unwrap_or_default();
        match manifest {
            Manifest::SecretStore(s) => {
                self.secret_stores.insert((namespace, name), Arc::new(*s));
            }
            Manifest::ClusterSecretStore(s) => {
                self.cluster_secret_stores.insert(name, Arc::new(*s));
            }
            Manifest::ClusterGenerator(g) => {
                self.cluster_generators.insert(name, Arc::new(*g));
            }
            other => {
                if let Some(spec) = GeneratorSpec::from_manifest(other)
                    && let Some(kind) = spec.kind()
                {
                    self.generators.insert((kind, namespace, name), spec);
                }
            }
        }
    }

    /// Removes a store or generator by kind, namespace (ignored for cluster kinds) and name.
    pub fn remove(&mut self, kind: &str, namespace: &str, name: &str) {
        let key = (namespace.to_owned(), name.to_owned());
        match kind {
            "SecretStore" => {
                self.secret_stores.remove(&key);
            }
            "ClusterSecretStore" => {
                self.cluster_secret_stores.remove(name);
            }
            "ClusterGenerator" => {
                self.cluster_generators.remove(name);
            }
            other => self
                .generators
                .retain(|(k, ns, n), _| !(k.as_str() == other && *ns == key.0 && *n == key.1)),
        }
    }
}

impl Catalog for MemoryCatalog {
    fn secret_store(&self, namespace: &str, name: &str) -> Option<Arc<SecretStore>> {
        self.secret_stores
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    fn cluster_secret_store(&self, name: &str) -> Option<Arc<ClusterSecretStore>> {
        self.cluster_secret_stores.get(name).cloned()
    }

    fn secret_stores(&self, namespace: &str) -> Vec<Arc<SecretStore>> {
        self.secret_stores
            .range((namespace.to_owned(), String::new())..)
            .take_while(|((ns, _), _)| ns == namespace)
            .map(|(_, s)| Arc::clone(s))
            .collect()
    }

    fn cluster_secret_stores(&self) -> Vec<Arc<ClusterSecretStore>> {
        self.cluster_secret_stores.values().cloned().collect()
    }

    fn generator(&self, kind: GeneratorKind, namespace: &str, name: &str) -> Option<GeneratorSpec> {
        self.generators
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    fn cluster_generator(&self, name: &str) -> Option<Arc<ClusterGenerator>> {
        self.cluster_generators.get(name).cloned()
    }
}

/// A store as the flows use it: its identity (the client cache key) and the shared object.
#[derive(Clone, Debug)]
pub(crate) enum StoreObject {
    Namespaced(Arc<SecretStore>),
    Cluster(Arc<ClusterSecretStore>),
}

/// A resolved store reference.
#[derive(Clone, Debug)]
pub(crate) struct ResolvedStore {
    pub(crate) identity: StoreIdentity,
    object: StoreObject,
}

impl ResolvedStore {
    /// The store's spec.
    pub(crate) fn spec(&self) -> &SecretStoreSpec {
        match &self.object {
            StoreObject::Namespaced(s) => &s.spec,
            StoreObject::Cluster(s) => &s.spec.0,
        }
    }

    /// The shared store object, for the registry's identity check.
    pub(crate) fn origin(&self) -> crate::provider::Origin {
        match &self.object {
            StoreObject::Namespaced(s) => Arc::clone(s) as crate::provider::Origin,
            StoreObject::Cluster(s) => Arc::clone(s) as crate::provider::Origin,
        }
    }

    /// The store's `retrySettings` (an unparsable interval counts as unset; admission
    /// validation reports it).
    pub(crate) fn retry(&self) -> Option<StoreRetry> {
        let r = self.spec().retry_settings.as_ref()?;
        StoreRetry::from_settings(r, "spec.retrySettings")
            .or_else(|_| {
                StoreRetry::from_settings(
                    &crate::api::SecretStoreRetrySettings {
                        retry_interval: None,
                        ..r.clone()
                    },
                    "spec.retrySettings",
                )
            })
            .ok()
    }
}

/// Resolves a store reference; a missing store is an error at `spec.secretStoreRef`.
pub(crate) fn resolve_store(
    catalog: &dyn Catalog,
    kind: SecretStoreKind,
    namespace: &str,
    name: &str,
) -> Result<ResolvedStore> {
    match kind {
        SecretStoreKind::SecretStore => {
            let s = catalog.secret_store(namespace, name).ok_or_else(|| {
                Error::invalid_config(
                    "spec.secretStoreRef",
                    format!("SecretStore {namespace}/{name} not found"),
                )
            })?;
            Ok(ResolvedStore {
                identity: StoreIdentity::new(StoreScope::Namespaced, namespace, name)
                    .with_generation(s.metadata.generation.unwrap_or(0)),
                object: StoreObject::Namespaced(s),
            })
        }
        SecretStoreKind::ClusterSecretStore => {
            let s = catalog.cluster_secret_store(name).ok_or_else(|| {
                Error::invalid_config(
                    "spec.secretStoreRef",
                    format!("ClusterSecretStore {name} not found"),
                )
            })?;
            Ok(ResolvedStore {
                identity: StoreIdentity::new(StoreScope::Cluster, "", name)
                    .with_generation(s.metadata.generation.unwrap_or(0)),
                object: StoreObject::Cluster(s),
            })
        }
    }
}

/// Names of the stores of `kind` visible from `namespace` whose labels match `query`.
pub(crate) fn stores_by_labels(
    catalog: &dyn Catalog,
    kind: SecretStoreKind,
    namespace: &str,
    query: &LabelQuery,
) -> Vec<String> {
    let empty = BTreeMap::new();
    match kind {
        SecretStoreKind::SecretStore => catalog
            .secret_stores(namespace)
            .iter()
            .filter(|s| query.matches(s.metadata.labels.as_ref().unwrap_or(&empty)))
            .map(|s| s.name().to_owned())
            .collect(),
        SecretStoreKind::ClusterSecretStore => catalog
            .cluster_secret_stores()
            .iter()
            .filter(|s| query.matches(s.metadata.labels.as_ref().unwrap_or(&empty)))
            .map(|s| s.name().to_owned())
            .collect(),
    }
}

/// The typed spec a `generatorRef` points at, from `namespace`.
pub(crate) fn resolve_generator(
    catalog: &dyn Catalog,
    r: &GeneratorRef,
    namespace: &str,
) -> Result<GeneratorSpec> {
    if r.kind == GeneratorKind::ClusterGenerator {
        let g = catalog.cluster_generator(&r.name).ok_or_else(|| {
            Error::invalid_config(
                "generatorRef",
                format!("ClusterGenerator {} not found", r.name),
            )
        })?;
        if g.spec.generator.kind() != Some(g.spec.kind) {
            return Err(Error::invalid_config(
                "spec.generator",
                format!(
                    "ClusterGenerator {} must hold exactly one spec, of kind {}",
                    r.name,
                    g.spec.kind.as_str()
                ),
            ));
        }
        return Ok(g.spec.generator.clone());
    }
    catalog
        .generator(r.kind, namespace, &r.name)
        .ok_or_else(|| {
            Error::invalid_config(
                "generatorRef",
                format!("{} {namespace}/{} not found", r.kind.as_str(), r.name),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(spec: serde_json::Value) -> MemoryCatalog {
        let mut c = MemoryCatalog::new();
        let store = serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "s", "namespace": "ns"}, "spec": spec,
        });
        c.add(Manifest::from_value(store).unwrap());
        c
    }

    #[test]
    fn retry_settings_are_read_from_the_typed_spec() {
        let c = catalog(serde_json::json!({
            "provider": {"fake": {"data": []}},
            "retrySettings": {"maxRetries": 5, "retryInterval": "250ms"},
        }));
        let s = resolve_store(&c, SecretStoreKind::SecretStore, "ns", "s").unwrap();
        assert_eq!(s.spec().provider.kind(), Some("fake"));
        assert_eq!(
            s.retry(),
            Some(StoreRetry::new(
                5,
                Some(std::time::Duration::from_millis(250))
            ))
        );

        let c = catalog(serde_json::json!({
            "provider": {"fake": {"data": []}},
            "retrySettings": {"maxRetries": -1},
        }));
        let s = resolve_store(&c, SecretStoreKind::SecretStore, "ns", "s").unwrap();
        assert_eq!(s.retry(), Some(StoreRetry::new(0, None)));

        let c = catalog(serde_json::json!({"provider": {"fake": {"data": []}}}));
        let s = resolve_store(&c, SecretStoreKind::SecretStore, "ns", "s").unwrap();
        assert_eq!(s.retry(), None);
    }

    #[test]
    fn missing_objects_name_what_is_missing() {
        let c = MemoryCatalog::new();
        let e = resolve_store(&c, SecretStoreKind::ClusterSecretStore, "ns", "x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "spec.secretStoreRef: ClusterSecretStore x not found"
        );
        let r: GeneratorRef = serde_json::from_value(serde_json::json!(
            {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": "pw"}))
        .unwrap();
        let e = resolve_generator(&c, &r, "ns").unwrap_err();
        assert_eq!(e.to_string(), "generatorRef: Password ns/pw not found");
    }

    #[test]
    fn generators_are_kept_typed() {
        let mut c = MemoryCatalog::new();
        c.add(
            Manifest::from_value(serde_json::json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
                "metadata": {"name": "pw", "namespace": "ns"}, "spec": {"length": 12}}))
            .unwrap(),
        );
        let r: GeneratorRef = serde_json::from_value(serde_json::json!(
            {"apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password", "name": "pw"}))
        .unwrap();
        let spec = resolve_generator(&c, &r, "ns").unwrap();
        assert_eq!(spec.password_spec.unwrap().length, 12);
        c.remove("Password", "ns", "pw");
        assert!(resolve_generator(&c, &r, "ns").is_err());
    }
}
