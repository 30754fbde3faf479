//! The provider and generator registries of this build (providers are compiled in through
//! Cargo features, e.g. `vault`).

use std::process::ExitCode;

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;

/// Adds every provider kind compiled into esoctl besides the in-memory `fake` one.
#[allow(unused_variables)]
pub(crate) fn register_providers(registry: &mut ProviderRegistry) {
    #[cfg(feature = "aws")]
    eso_provider_aws::register(registry);
    #[cfg(feature = "azure")]
    eso_provider_azure::register(registry);
    #[cfg(feature = "gcp")]
    eso_provider_gcp::register(registry);
    #[cfg(feature = "infisical")]
    eso_provider_infisical::register(registry);
    #[cfg(feature = "onepassword")]
    eso_provider_onepassword::register(registry);
    #[cfg(feature = "vault")]
    eso_provider_vault::register(registry);
    #[cfg(feature = "kubernetes")]
    eso_provider_k8s::register(registry);
    #[cfg(feature = "webhook")]
    eso_provider_webhook::register(registry);
}

/// Adds every generator kind compiled into esoctl: eso-generators' and the provider crates'.
pub(crate) fn register_generators(registry: &mut GeneratorRegistry) {
    eso_generators::register_generators(registry);
    #[cfg(feature = "aws")]
    eso_provider_aws::register_generators(registry);
    #[cfg(feature = "azure")]
    eso_provider_azure::register_generators(registry);
    #[cfg(feature = "gcp")]
    eso_provider_gcp::register_generators(registry);
    #[cfg(feature = "vault")]
    eso_provider_vault::register_generators(registry);
    #[cfg(feature = "webhook")]
    eso_provider_webhook::register_generators(registry);
}

pub(crate) fn run() -> ExitCode {
    let mut providers = ProviderRegistry::new();
    register_providers(&mut providers);
    let mut generators = GeneratorRegistry::new();
    register_generators(&mut generators);
    for kind in providers.kinds() {
        println!("provider  {kind}");
    }
    for kind in generators.kinds() {
        println!("generator {kind}");
    }
    ExitCode::SUCCESS
}
