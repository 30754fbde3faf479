#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod generator;
mod provider;
mod request;
mod result;

use std::sync::Arc;

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;

pub use config::WebhookFactory;
pub use generator::WebhookGenerator;
pub use provider::Webhook;
pub use request::WEBHOOK_SECRET_LABEL;

/// The provider key under `spec.provider` for ESO's generic HTTP provider.
pub const KIND: &str = "webhook";

/// Adds the `webhook` provider kind to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_webhook::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["fake", "webhook"]);
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(WebhookFactory::new()));
}

/// Adds the `Webhook` generator to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_webhook::register_generators(&mut registry);
/// assert!(registry.get("Webhook").is_ok());
/// ```
pub fn register_generators(registry: &mut GeneratorRegistry) {
    registry.register(Arc::new(WebhookGenerator::new()));
}
