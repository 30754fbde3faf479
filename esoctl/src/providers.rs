//! The provider and generator registries of this build (providers are compiled in through
//! Cargo features, e.g. `vault`).

use std::process::ExitCode;

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;

/// Every provider kind compiled into esoctl.
pub(crate) fn provider_registry() -> ProviderRegistry {
    #[allow(unused_mut)]
    let mut registry = ProviderRegistry::new();
    #[cfg(feature = "vault")]
    eso_provider_vault::register(&mut registry);
    registry
}

/// Every generator kind compiled into esoctl that lives in a provider crate.
pub(crate) fn generator_registry() -> GeneratorRegistry {
    #[allow(unused_mut)]
    let mut registry = GeneratorRegistry::new();
    #[cfg(feature = "vault")]
    eso_provider_vault::register_generator(&mut registry);
    registry
}

pub(crate) fn run() -> ExitCode {
    for kind in provider_registry().kinds() {
        println!("provider  {kind}");
    }
    for kind in generator_registry().kinds() {
        println!("generator {kind}");
    }
    ExitCode::SUCCESS
}
