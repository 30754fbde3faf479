//! The provider and generator registries of this build: every provider crate whose Cargo
//! feature is on (all by default), eso-generators' generators and the provider crates'.

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;

/// Every provider kind compiled in, besides the in-memory `fake` one.
#[allow(unused_variables)]
pub(crate) fn providers() -> ProviderRegistry {
    let mut registry = ProviderRegistry::new();
    #[cfg(feature = "aws")]
    eso_provider_aws::register(&mut registry);
    #[cfg(feature = "azure")]
    eso_provider_azure::register(&mut registry);
    #[cfg(feature = "gcp")]
    eso_provider_gcp::register(&mut registry);
    #[cfg(feature = "vault")]
    eso_provider_vault::register(&mut registry);
    #[cfg(feature = "kubernetes")]
    eso_provider_k8s::register(&mut registry);
    #[cfg(feature = "infisical")]
    eso_provider_infisical::register(&mut registry);
    #[cfg(feature = "onepassword")]
    eso_provider_onepassword::register(&mut registry);
    #[cfg(feature = "webhook")]
    eso_provider_webhook::register(&mut registry);
    registry
}

/// Every generator kind compiled in.
pub(crate) fn generators() -> GeneratorRegistry {
    let mut registry = GeneratorRegistry::new();
    eso_generators::register_generators(&mut registry);
    #[cfg(feature = "aws")]
    eso_provider_aws::register_generators(&mut registry);
    #[cfg(feature = "azure")]
    eso_provider_azure::register_generators(&mut registry);
    #[cfg(feature = "gcp")]
    eso_provider_gcp::register_generators(&mut registry);
    #[cfg(feature = "vault")]
    eso_provider_vault::register_generators(&mut registry);
    #[cfg(feature = "webhook")]
    eso_provider_webhook::register_generators(&mut registry);
    registry
}
