#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
mod error;
mod provider;
mod push;

use std::sync::Arc;

use eso_core::provider::ProviderRegistry;

pub use config::OnePasswordFactory;
pub use provider::OnePassword;

/// The provider key under `spec.provider` for 1Password Connect.
pub const KIND: &str = "onepassword";

/// Adds the `onepassword` provider kind to `registry`.
///
/// ESO's other 1Password kind, `onepasswordSDK` (1Password's SDK talking to 1Password's own
/// service with a service-account token), is not registered: a store using it is refused by
/// the registry with `NotSupported` naming the kind.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_onepassword::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["fake", "onepassword"]);
/// assert!(registry.factory("onepasswordSDK").unwrap_err().to_string().contains("onepasswordSDK"));
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(OnePasswordFactory::new()));
}
