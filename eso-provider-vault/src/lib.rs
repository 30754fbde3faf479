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

pub use auth::token::TokenStats;
pub use config::{DEFAULT_REQUEST_TIMEOUT, VaultFactory};
pub use generator::VaultDynamicSecret;
pub use provider::Vault;

/// The provider key under `spec.provider` for HashiCorp Vault.
pub const KIND: &str = "vault";

/// The provider key under `spec.provider` for OpenBao (ESO models it as a subset of the Vault
/// fields, so the same client serves it).
pub const OPENBAO_KIND: &str = "openBao";

/// Adds the `vault` and `openBao` provider kinds to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_vault::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["fake", "openBao", "vault"]);
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(VaultFactory::new()));
    registry.register(Arc::new(VaultFactory::openbao()));
}

/// Adds the `VaultDynamicSecret` generator to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_vault::register_generators(&mut registry);
/// assert!(registry.get("VaultDynamicSecret").is_ok());
/// ```
pub fn register_generators(registry: &mut GeneratorRegistry) {
    registry.register(Arc::new(VaultDynamicSecret::new()));
}
