#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod aws;
mod client;
mod cloud;
mod cloud_auth;
mod config;
mod error;
mod http;
mod provider;
mod push;
mod sign;

use std::sync::Arc;

use eso_core::provider::ProviderRegistry;

pub use auth::TokenStats;
pub use cloud::CloudEndpoints;
pub use config::{DEFAULT_SERVICE_ACCOUNT_TOKEN_FILE, InfisicalFactory};
pub use provider::Infisical;

/// The provider key under `spec.provider` for Infisical.
pub const KIND: &str = "infisical";

/// Adds the `infisical` provider kind to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_infisical::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["fake", "infisical"]);
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(InfisicalFactory::new()));
}
