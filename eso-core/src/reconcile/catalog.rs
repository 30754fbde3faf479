//! The stores and generators the flows resolve references against.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::{
    ClusterGenerator, ClusterSecretStore, EsoResource, GeneratorKind, GeneratorRef, Manifest,
    SecretStore, SecretStoreKind, SecretStoreSpec,
};
use crate::provider::{StoreIdentity, StoreScope};
use crate::{Error, Result};

/// A snapshot of SecretStores, ClusterSecretStores, generators and ClusterGenerators.
///
/// An operator keeps it current from its watches; `esoctl` fills it from manifests.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    secret_stores:
        BTreeMap<(String, String), (SecretStore, std::result::Result<ProviderBlock, String>)>,
    cluster_secret_stores: BTreeMap<
        String,
        (
            ClusterSecretStore,
            std::result::Result<ProviderBlock, String>,
        ),
    >,
    /// (kind, namespace, name) -> the generator's `spec` JSON.
    generators: BTreeMap<(String, String, String), Value>,
    cluster_generators: BTreeMap<String, ClusterGenerator>,
}

/// A store's provider block, extracted once when the store is added (a large `fake` or
/// inline-CA spec would otherwise be re-serialized on every reconcile).
#[derive(Clone, Debug)]
pub(crate) struct ProviderBlock {
    pub(crate) kind: String,
    pub(crate) spec: Value,
    pub(crate) fingerprint: u64,
}

/// A resolved store: identity, spec and provider block.
#[derive(Debug)]
pub(crate) struct ResolvedStore<'a> {
    pub(crate) identity: StoreIdentity,
    pub(crate) spec: &'a SecretStoreSpec,
    block: &'a std::result::Result<ProviderBlock, String>,
}

impl ResolvedStore<'_> {
    /// The store's `retrySettings` (an unparsable interval counts as unset; admission
    /// validation reports it).
    pub(crate) fn retry(&self) -> Option<crate::provider::StoreRetry> {
        let r = self.spec.retry_settings.as_ref()?;
        let max = u32::try_from(r.max_retries.unwrap_or(0).max(0)).unwrap_or(0);
        let interval = r
            .retry_interval
            .as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|s| crate::GoDuration::parse(s).ok())
            .and_then(crate::GoDuration::to_std);
        Some(crate::provider::StoreRetry::new(max, interval))
    }

    /// The provider kind, block and fingerprint, or why the spec has no usable provider.
    pub(crate) fn provider(&self) -> Result<(&str, &Value, u64)> {
        match self.block {
            Ok(b) => Ok((&b.kind, &b.spec, b.fingerprint)),
            Err(message) => Err(Error::invalid_config("spec.provider", message.clone())),
        }
    }
}

fn extract(spec: &SecretStoreSpec) -> std::result::Result<ProviderBlock, String> {
    let (kind, spec) = provider_block(spec).map_err(|e| match e {
        Error::InvalidConfig { message, .. } => message,
        other => other.to_string(),
    })?;
    let fingerprint = crate::provider::spec_fingerprint(&kind, &spec);
    Ok(ProviderBlock {
        kind,
        spec,
        fingerprint,
    })
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a store or generator (other kinds are ignored).
    pub fn add(&mut self, manifest: Manifest) {
        let kind = manifest.kind().to_owned();
        let namespace = manifest
            .metadata()
            .and_then(|m| m.namespace.clone())
            .unwrap_or_else(|| "default".to_owned());
        match manifest {
            Manifest::SecretStore(s) => {
                let name = s.name().to_owned();
                let block = extract(&s.spec);
                self.secret_stores.insert((namespace, name), (*s, block));
            }
            Manifest::ClusterSecretStore(s) => {
                let block = extract(&s.spec.0);
                self.cluster_secret_stores
                    .insert(s.name().to_owned(), (*s, block));
            }
            Manifest::ClusterGenerator(g) => {
                self.cluster_generators.insert(g.name().to_owned(), *g);
            }
            Manifest::ExternalSecret(_)
            | Manifest::ClusterExternalSecret(_)
            | Manifest::PushSecret(_)
            | Manifest::ClusterPushSecret(_)
            | Manifest::GeneratorState(_)
            | Manifest::Other { .. } => {}
            generator => {
                let name = generator
                    .metadata()
                    .and_then(|m| m.name.clone())
                    .unwrap_or_default();
                if let Ok(v) = generator.to_value() {
                    let spec = v.get("spec").cloned().unwrap_or(Value::Null);
                    self.generators.insert((kind, namespace, name), spec);
                }
            }
        }
    }

    /// Every SecretStore.
    pub fn secret_stores(&self) -> impl Iterator<Item = &SecretStore> {
        self.secret_stores.values().map(|(s, _)| s)
    }

    /// Every ClusterSecretStore.
    pub fn cluster_secret_stores(&self) -> impl Iterator<Item = &ClusterSecretStore> {
        self.cluster_secret_stores.values().map(|(s, _)| s)
    }

    pub(crate) fn store(
        &self,
        kind: SecretStoreKind,
        namespace: &str,
        name: &str,
    ) -> Result<ResolvedStore<'_>> {
        match kind {
            SecretStoreKind::SecretStore => {
                let (s, block) = self
                    .secret_stores
                    .get(&(namespace.to_owned(), name.to_owned()))
                    .ok_or_else(|| {
                        Error::invalid_config(
                            "spec.secretStoreRef",
                            format!("SecretStore {namespace}/{name} not found"),
                        )
                    })?;
                Ok(ResolvedStore {
                    identity: StoreIdentity::new(StoreScope::Namespaced, namespace, name)
                        .with_generation(s.metadata.generation.unwrap_or(0)),
                    spec: &s.spec,
                    block,
                })
            }
            SecretStoreKind::ClusterSecretStore => {
                let (s, block) = self.cluster_secret_stores.get(name).ok_or_else(|| {
                    Error::invalid_config(
                        "spec.secretStoreRef",
                        format!("ClusterSecretStore {name} not found"),
                    )
                })?;
                Ok(ResolvedStore {
                    identity: StoreIdentity::new(StoreScope::Cluster, "", name)
                        .with_generation(s.metadata.generation.unwrap_or(0)),
                    spec: &s.spec.0,
                    block,
                })
            }
        }
    }

    /// Stores of `kind` visible from `namespace` whose labels match `query`.
    pub(crate) fn stores_by_labels(
        &self,
        kind: SecretStoreKind,
        namespace: &str,
        query: &crate::cluster::LabelQuery,
    ) -> Vec<String> {
        let empty = BTreeMap::new();
        match kind {
            SecretStoreKind::SecretStore => self
                .secret_stores
                .iter()
                .filter(|((ns, _), (s, _))| {
                    ns == namespace && query.matches(s.metadata.labels.as_ref().unwrap_or(&empty))
                })
                .map(|((_, n), _)| n.clone())
                .collect(),
            SecretStoreKind::ClusterSecretStore => self
                .cluster_secret_stores
                .iter()
                .filter(|(_, (s, _))| query.matches(s.metadata.labels.as_ref().unwrap_or(&empty)))
                .map(|(n, _)| n.clone())
                .collect(),
        }
    }

    /// The generator kind and `spec` JSON a `generatorRef` points at, from `namespace`.
    pub(crate) fn generator(&self, r: &GeneratorRef, namespace: &str) -> Result<(String, Value)> {
        if r.kind == GeneratorKind::ClusterGenerator {
            let g = self.cluster_generators.get(&r.name).ok_or_else(|| {
                Error::invalid_config(
                    "generatorRef",
                    format!("ClusterGenerator {} not found", r.name),
                )
            })?;
            let generator = serde_json::to_value(&g.spec.generator)
                .map_err(|e| Error::Conversion(e.to_string()))?;
            let spec = generator
                .as_object()
                .and_then(|m| m.values().next().cloned())
                .ok_or_else(|| {
                    Error::invalid_config(
                        "spec.generator",
                        format!("ClusterGenerator {} has no generator spec", r.name),
                    )
                })?;
            return Ok((g.spec.kind.as_str().to_owned(), spec));
        }
        let kind = r.kind.as_str().to_owned();
        self.generators
            .get(&(kind.clone(), namespace.to_owned(), r.name.clone()))
            .map(|spec| (kind.clone(), spec.clone()))
            .ok_or_else(|| {
                Error::invalid_config(
                    "generatorRef",
                    format!("{kind} {namespace}/{} not found", r.name),
                )
            })
    }
}

/// The provider kind and its block as JSON (`spec.provider.<kind>`).
pub(crate) fn provider_block(spec: &SecretStoreSpec) -> Result<(String, Value)> {
    let v = serde_json::to_value(&spec.provider).map_err(|e| Error::Conversion(e.to_string()))?;
    let obj = v.as_object().filter(|m| m.len() == 1).ok_or_else(|| {
        Error::invalid_config("spec.provider", "exactly one provider must be set")
    })?;
    let (k, block) = obj
        .iter()
        .next()
        .ok_or_else(|| Error::invalid_config("spec.provider", "no provider set"))?;
    Ok((k.clone(), block.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::StoreRetry;

    fn catalog(spec: Value) -> Catalog {
        let mut c = Catalog::new();
        let store = serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "s", "namespace": "ns"}, "spec": spec,
        });
        c.add(Manifest::from_value(store).unwrap());
        c
    }

    #[test]
    fn provider_block_and_retry_settings_are_resolved_once() {
        let c = catalog(serde_json::json!({
            "provider": {"fake": {"data": []}},
            "retrySettings": {"maxRetries": 5, "retryInterval": "250ms"},
        }));
        let s = c.store(SecretStoreKind::SecretStore, "ns", "s").unwrap();
        let (kind, block, fp) = s.provider().unwrap();
        assert_eq!(kind, "fake");
        assert_eq!(block, &serde_json::json!({"data": []}));
        assert_eq!(fp, crate::provider::spec_fingerprint("fake", block));
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
        let s = c.store(SecretStoreKind::SecretStore, "ns", "s").unwrap();
        assert_eq!(s.retry(), Some(StoreRetry::new(0, None)));

        let c = catalog(serde_json::json!({"provider": {"fake": {"data": []}}}));
        let s = c.store(SecretStoreKind::SecretStore, "ns", "s").unwrap();
        assert_eq!(s.retry(), None);
    }

    #[test]
    fn a_store_without_a_provider_reports_it_on_use() {
        let c = catalog(serde_json::json!({"provider": {}}));
        let s = c.store(SecretStoreKind::SecretStore, "ns", "s").unwrap();
        let e = s.provider().unwrap_err().to_string();
        assert!(e.contains("spec.provider"), "{e}");
    }
}
