//! Helpers shared by the eso-rs examples.

use std::sync::Arc;

use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::KubeSecret;
use eso_core::generator::GeneratorRegistry;
use eso_core::reconcile::MemoryCatalog;

/// The ESO objects of a YAML stream: stores and generators in a [`MemoryCatalog`], plus the
/// ExternalSecrets and PushSecrets.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Stores and generators.
    pub catalog: MemoryCatalog,
    /// ExternalSecrets, in file order.
    pub external_secrets: Vec<ExternalSecret>,
    /// PushSecrets, in file order.
    pub push_secrets: Vec<PushSecret>,
}

/// Loads and validates every ESO document of `yaml`.
pub fn load(yaml: &str) -> Result<Loaded, Box<dyn std::error::Error>> {
    let mut out = Loaded::default();
    for (i, doc) in parse_documents(yaml) {
        let manifest =
            Manifest::from_value(doc?.value).map_err(|e| format!("document {i}: {e}"))?;
        manifest
            .validate()
            .map_err(|e| format!("document {i}: {e}"))?;
        match manifest {
            Manifest::ExternalSecret(e) => out.external_secrets.push(*e),
            Manifest::PushSecret(p) => out.push_secrets.push(*p),
            other => out.catalog.add(other),
        }
    }
    Ok(out)
}

/// The generators the in-memory examples use (Password, UUID, Fake), from eso-generators.
pub fn generators() -> Arc<GeneratorRegistry> {
    let mut g = GeneratorRegistry::new();
    eso_generators::register_generators(&mut g);
    Arc::new(g)
}

/// A Secret as `kubectl get -o yaml` would show it (data base64-encoded), through the one
/// `KubeSecret` -> `Secret` conversion ([`eso_core::cluster::secret_to_kube`]).
pub fn secret_yaml(s: &KubeSecret) -> String {
    serde_saphyr::to_string(&eso_core::cluster::secret_to_kube(s))
        .unwrap_or_else(|e| format!("# cannot print: {e}\n"))
}

/// Prints a status object as YAML under a heading.
pub fn print_status(title: &str, status: &impl serde::Serialize) {
    let text = serde_json::to_value(status)
        .ok()
        .and_then(|v| serde_saphyr::to_string(&v).ok())
        .unwrap_or_default();
    println!("--- {title}\n{text}");
}
