#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod config;
mod error;
mod provider;
mod push;

use std::sync::Arc;

use eso_core::provider::ProviderRegistry;

pub use config::KubernetesFactory;
pub use provider::{Kubernetes, MANAGED_BY_LABEL, MANAGED_BY_VALUE, PROVIDER_FIELD_MANAGER};

/// The provider key under `spec.provider` for Kubernetes.
pub const KIND: &str = "kubernetes";

/// Adds the `kubernetes` provider kind to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_k8s::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["fake", "kubernetes"]);
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(KubernetesFactory::new()));
}
