#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod client;
mod config;
mod error;
mod generator;
mod provider;
mod push;

use std::sync::Arc;

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;

pub use auth::STS_TOKEN_URL_ENV;
pub use client::ENDPOINT_ENV;
pub use config::GcpFactory;
pub use generator::GcrAccessToken;
pub use provider::GcpSecretManager;

/// The provider key under `spec.provider`.
pub const KIND: &str = "gcpsm";

/// Adds the `gcpsm` provider kind to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_gcp::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["fake", "gcpsm"]);
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(GcpFactory::new()));
}

/// Adds the `GCRAccessToken` generator to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_gcp::register_generators(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["GCRAccessToken"]);
/// ```
pub fn register_generators(registry: &mut GeneratorRegistry) {
    registry.register(Arc::new(GcrAccessToken));
}
