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

pub use config::AzureFactory;
pub use generator::{ACR_USERNAME, AcrAccessToken};
pub use provider::AzureKeyVault;

/// The provider key under `spec.provider`.
pub const KIND: &str = "azurekv";

/// Where a store's provider block sits, for error paths.
pub(crate) const FIELD: &str = "spec.provider.azurekv";

/// Adds the `azurekv` provider kind to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_azure::register(&mut registry);
/// assert!(registry.kinds().any(|k| k == "azurekv"));
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(AzureFactory::new()));
}

/// Adds the `ACRAccessToken` generator to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_azure::register_generators(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["ACRAccessToken"]);
/// ```
pub fn register_generators(registry: &mut GeneratorRegistry) {
    registry.register(Arc::new(AcrAccessToken));
}
