//! Building a [`Kubernetes`] provider from a store's provider block: [`KubernetesFactory`].

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::{KubernetesProvider, SecretStoreProvider, ValidationErrors};
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, provider_block,
};
use eso_core::{Error, Result};
use tokio::sync::Mutex;

use crate::provider::{CAPABILITIES, Inner, Kubernetes};

/// Builds [`Kubernetes`] providers from `spec.provider.kubernetes` blocks.
///
/// Building checks the spec only; the client connects on first use (see [`Kubernetes`]).
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_k8s::KubernetesFactory;
///
/// let f = KubernetesFactory::new();
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!(
///     {"kubernetes": {"auth": {"token": {"bearerToken": {"name": "t"}}}}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "remote");
/// let err = f.validate_store(&spec, &store).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.kubernetes.auth.token.bearerToken.key"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct KubernetesFactory;

impl KubernetesFactory {
    /// A factory for the `kubernetes` kind.
    pub fn new() -> Self {
        Self
    }

    /// Checks a provider block beyond the API model's admission rules (no network, no
    /// cluster access).
    fn check(spec: &KubernetesProvider, store: &StoreIdentity) -> Result<()> {
        let field = format!("spec.provider.{}", crate::KIND);
        let mut errors = ValidationErrors::new();
        spec.validate_store(store.api_scope(), &field, &mut errors);
        errors.into_result()?;
        match (&spec.auth, &spec.auth_ref) {
            (None, None) => Err(Error::invalid_config(
                field,
                "no auth provider given: set auth or authRef",
            )),
            (Some(_), Some(_)) => Err(Error::invalid_config(
                field,
                "auth and authRef are mutually exclusive",
            )),
            _ => Ok(()),
        }
    }

    /// Builds a provider for the store in `ctx` (no network access yet).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<Kubernetes> {
        let spec = ctx.block(crate::KIND, |p| p.kubernetes.as_ref())?;
        Ok(Kubernetes::from_inner(Inner {
            spec: spec.clone(),
            creds: ctx.credentials(),
            field: ctx.field(),
            client: Mutex::new(None),
        }))
    }
}

#[async_trait]
impl ProviderFactory for KubernetesFactory {
    fn kind(&self) -> &'static str {
        crate::KIND
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>> {
        let k = provider_block(spec, crate::KIND, |p| p.kubernetes.as_ref())?;
        Self::check(k, store).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}

#[cfg(test)]
mod tests {
    use eso_core::provider::StoreScope;

    use super::*;

    fn err(v: serde_json::Value) -> String {
        let spec: SecretStoreProvider =
            serde_json::from_value(serde_json::json!({ "kubernetes": v })).unwrap();
        KubernetesFactory::new()
            .validate_store(
                &spec,
                &StoreIdentity::new(StoreScope::Namespaced, "ns", "s"),
            )
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_specs_name_the_field() {
        assert!(err(serde_json::json!({})).contains("no auth provider given"));
        let both = serde_json::json!({"authRef": {"name": "k", "key": "v"},
            "auth": {"token": {"bearerToken": {"name": "t", "key": "k"}}}});
        assert!(err(both).contains("mutually exclusive"));
        let ok: SecretStoreProvider = serde_json::from_value(
            serde_json::json!({"kubernetes": {"authRef": {"name": "k", "key": "value"}}}),
        )
        .unwrap();
        assert!(
            KubernetesFactory::new()
                .validate_store(&ok, &StoreIdentity::new(StoreScope::Namespaced, "ns", "s"))
                .is_ok()
        );
    }
}
