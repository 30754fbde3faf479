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

pub use config::AwsFactory;
pub use generator::{EcrAuthorizationToken, StsSessionToken};
pub use provider::{Aws, AwsParameterStore, AwsSecretsManager};

/// The provider key under `spec.provider`.
pub const KIND: &str = "aws";

/// How many secrets one `BatchGetSecretValue` call reads (the API's limit for a
/// `SecretIdList`).
pub const SECRETS_MANAGER_BATCH_SIZE: usize = provider::secrets_manager::BATCH_SIZE;

/// How many parameters one `GetParameters` call reads.
pub const PARAMETER_STORE_BATCH_SIZE: usize = provider::parameter_store::BATCH_SIZE;

/// Adds the `aws` provider kind to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::provider::ProviderRegistry;
///
/// let mut registry = ProviderRegistry::new();
/// eso_provider_aws::register(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["aws", "fake"]);
/// ```
pub fn register(registry: &mut ProviderRegistry) {
    registry.register(Arc::new(AwsFactory::new()));
}

/// Adds the `ECRAuthorizationToken` and `STSSessionToken` generators to `registry`.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_aws::register_generators(&mut registry);
/// assert_eq!(registry.kinds().collect::<Vec<_>>(), ["ECRAuthorizationToken", "STSSessionToken"]);
/// ```
pub fn register_generators(registry: &mut GeneratorRegistry) {
    registry.register(Arc::new(EcrAuthorizationToken));
    registry.register(Arc::new(StsSessionToken));
}
