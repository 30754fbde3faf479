//! The generators of the External Secrets Operator, for eso-rs.
//!
//! Each generator is a type implementing [`eso_core::generator::Generator`]; [`register_generators`] adds
//! every generator compiled into this build to a [`GeneratorRegistry`]. The reconcile flows then
//! call them for `dataFrom[].sourceRef.generatorRef` (ExternalSecret) and `selector.generatorRef`
//! (PushSecret), whether the reference names a generator kind or a `ClusterGenerator`.
//!
//! | kind | feature | output keys |
//! |---|---|---|
//! | [`Password`] | `password` (default) | one per `spec.secretKeys` entry (default `password`) |
//! | [`Uuid`] | `uuid` (default) | `uuid` |
//! | [`Fake`] | `fake` (default) | the keys of `spec.data` |
//! | [`SshKey`] | `sshkey` (default) | `privateKey`, `publicKey` |
//! | [`Mfa`] | `mfa` (default) | `token`, `timeLeft` |
//! | [`GithubAccessToken`] | `github` (default) | `token` |
//! | [`GitlabDeployToken`] | `gitlab` (default) | `username`, `token` (stateful: revoked on cleanup) |
//! | [`Grafana`] | `grafana` (default) | `login`, `token` (stateful: deleted on cleanup) |
//! | [`QuayAccessToken`] | `quay` (default) | `registry`, `auth`, `expiry` |
//! | [`CloudsmithAccessToken`] | `cloudsmith` (default) | `auth`, `expiry` |
//! | [`BeyondtrustWorkloadCredentialsDynamicSecret`] | `beyondtrust` (default) | `accessKeyId`, `secretAccessKey`, `leaseId`, `expiration`, `sessionToken` when set (stateful; nothing to revoke, as with ESO) |
//! | `Webhook` | `webhook` | the keys of the JSON object the endpoint returns |
//!
//! Errors name the spec field they are about (`spec.length: ...`) and never contain a generated
//! value or a value read from a Secret.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use eso_core::cluster::{DynCluster, MemoryCluster};
//! use eso_core::generator::{GeneratorContext, GeneratorRegistry};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut registry = GeneratorRegistry::new();
//! eso_generators::register_generators(&mut registry);
//!
//! let cluster: DynCluster = Arc::new(MemoryCluster::new());
//! let spec = eso_core::api::GeneratorSpec::parse("Password", serde_json::json!({"length": 16, "symbols": 0}))?;
//! let out = registry
//!     .get("Password")?
//!     .generate(&GeneratorContext::new(&spec, "default", &cluster))
//!     .await?;
//! assert_eq!(out.data["password"].len(), 16);
//! # Ok::<(), eso_core::Error>(())
//! # }).unwrap();
//! ```

#[cfg(feature = "beyondtrust")]
mod beyondtrust;
#[cfg(feature = "cloudsmith")]
mod cloudsmith;
#[cfg(any(feature = "password", feature = "mfa"))]
mod encoding;
#[cfg(feature = "fake")]
mod fake;
#[cfg(feature = "github")]
mod github;
#[cfg(feature = "gitlab")]
mod gitlab;
#[cfg(feature = "grafana")]
mod grafana;
#[cfg(any(
    feature = "github",
    feature = "gitlab",
    feature = "grafana",
    feature = "quay",
    feature = "cloudsmith",
    feature = "beyondtrust"
))]
mod http;
#[cfg(feature = "mfa")]
mod mfa;
#[cfg(feature = "password")]
mod password;
#[cfg(feature = "quay")]
mod quay;
#[cfg(feature = "sshkey")]
mod sshkey;
#[cfg(feature = "uuid")]
mod uuid;

#[cfg(feature = "beyondtrust")]
pub use beyondtrust::{BEYONDTRUST_API_VERSION, BeyondtrustWorkloadCredentialsDynamicSecret};
#[cfg(feature = "cloudsmith")]
pub use cloudsmith::{CLOUDSMITH_API_URL, CloudsmithAccessToken};
/// The `Webhook` generator (from `eso-provider-webhook`, which shares its HTTP and template
/// core with the `webhook` store kind).
#[cfg(feature = "webhook")]
pub use eso_provider_webhook::{WEBHOOK_SECRET_LABEL, WebhookGenerator as Webhook};
#[cfg(feature = "fake")]
pub use fake::Fake;
#[cfg(feature = "github")]
pub use github::{GITHUB_API_URL, GithubAccessToken};
#[cfg(feature = "gitlab")]
pub use gitlab::{GITLAB_URL, GitlabDeployToken};
#[cfg(feature = "grafana")]
pub use grafana::Grafana;
#[cfg(feature = "mfa")]
pub use mfa::Mfa;
#[cfg(feature = "password")]
pub use password::Password;
#[cfg(feature = "quay")]
pub use quay::{QUAY_URL, QuayAccessToken};
#[cfg(feature = "sshkey")]
pub use sshkey::SshKey;
#[cfg(feature = "uuid")]
pub use uuid::Uuid;

#[allow(unused_imports)]
use std::sync::Arc;

use eso_core::generator::GeneratorRegistry;
#[allow(unused_imports)]
use eso_core::{Error, Result};

/// The crate README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Registers every generator compiled into this build (see the crate features).
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_generators::register_generators(&mut registry);
/// assert!(registry.get("Password").is_ok());
/// assert!(registry.get("UUID").is_ok());
/// ```
#[allow(unused_variables)]
pub fn register_generators(registry: &mut GeneratorRegistry) {
    #[cfg(feature = "password")]
    registry.register(Arc::new(Password));
    #[cfg(feature = "uuid")]
    registry.register(Arc::new(Uuid));
    #[cfg(feature = "fake")]
    registry.register(Arc::new(Fake));
    #[cfg(feature = "sshkey")]
    registry.register(Arc::new(SshKey));
    #[cfg(feature = "mfa")]
    registry.register(Arc::new(Mfa));
    #[cfg(feature = "github")]
    registry.register(Arc::new(GithubAccessToken::new()));
    #[cfg(feature = "gitlab")]
    registry.register(Arc::new(GitlabDeployToken::new()));
    #[cfg(feature = "grafana")]
    registry.register(Arc::new(Grafana::new()));
    #[cfg(feature = "quay")]
    registry.register(Arc::new(QuayAccessToken::new()));
    #[cfg(feature = "cloudsmith")]
    registry.register(Arc::new(CloudsmithAccessToken::new()));
    #[cfg(feature = "beyondtrust")]
    registry.register(Arc::new(BeyondtrustWorkloadCredentialsDynamicSecret::new()));
    #[cfg(feature = "webhook")]
    registry.register(Arc::new(Webhook::new()));
}

#[cfg(test)]
#[allow(dead_code)] // not every feature combination uses every helper
pub(crate) mod test_util {
    use std::sync::Arc;

    use eso_core::cluster::{DynCluster, MemoryCluster};
    use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};

    /// Runs `generator` on `spec` against `cluster` in namespace `default`.
    pub(crate) fn run_with(
        generator: &dyn Generator,
        spec: serde_json::Value,
        cluster: MemoryCluster,
    ) -> eso_core::Result<GeneratorOutput> {
        let cluster: DynCluster = Arc::new(cluster);
        let spec = eso_core::api::GeneratorSpec::parse(generator.kind(), spec)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(generator.generate(&GeneratorContext::new(&spec, "default", &cluster)))
    }

    /// Runs `generator` on `spec` with an empty cluster.
    pub(crate) fn run(
        generator: &dyn Generator,
        spec: serde_json::Value,
    ) -> eso_core::Result<GeneratorOutput> {
        run_with(generator, spec, MemoryCluster::new())
    }

    /// A value as UTF-8.
    pub(crate) fn text(out: &GeneratorOutput, key: &str) -> String {
        String::from_utf8(out.data[key].expose().to_vec()).expect("utf-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_adds_every_default_kind() {
        let mut r = GeneratorRegistry::new();
        register_generators(&mut r);
        let kinds: Vec<_> = r.kinds().collect();
        for k in [
            "BeyondtrustWorkloadCredentialsDynamicSecret",
            "CloudsmithAccessToken",
            "Fake",
            "GithubAccessToken",
            "GitlabDeployToken",
            "Grafana",
            "MFA",
            "Password",
            "QuayAccessToken",
            "SSHKey",
            "UUID",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
    }
}
