//! Building a [`Kubernetes`] provider from a store's provider block: [`KubernetesFactory`].

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::{KubernetesProvider, ValidationErrors};
use eso_core::provider::{Capabilities, DynProvider, ProviderFactory, StoreContext, StoreScope};
use eso_core::{Error, Result};
use tokio::sync::Mutex;

use crate::auth::Refs;
use crate::provider::{Inner, Kubernetes};

/// What the provider supports (no versions: Kubernetes Secrets have none).
pub(crate) const CAPABILITIES: Capabilities = {
    let mut c = Capabilities::ALL;
    c.versions = false;
    c
};

/// Builds [`Kubernetes`] providers from `spec.provider.kubernetes` blocks.
///
/// Building checks the spec only; the client connects on first use (see [`Kubernetes`]).
///
/// # Example
///
/// ```
/// use eso_core::provider::{ProviderFactory, StoreScope};
/// use eso_provider_k8s::KubernetesFactory;
///
/// let f = KubernetesFactory::new();
/// let spec = serde_json::json!({"auth": {"token": {"bearerToken": {"name": "t"}}}});
/// let err = f.validate_store(&spec, StoreScope::Namespaced).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.kubernetes.auth.token.bearerToken.key"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct KubernetesFactory {
    _private: (),
}

impl KubernetesFactory {
    /// A factory for the `kubernetes` kind.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses and checks a provider block (no network, no cluster access).
    fn parse(&self, spec: &serde_json::Value, scope: StoreScope) -> Result<KubernetesProvider> {
        let field = format!("spec.provider.{}", crate::KIND);
        let parsed: KubernetesProvider = serde_path_to_error::deserialize(spec).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." || path.is_empty() {
                field.clone()
            } else {
                format!("{field}.{path}")
            };
            Error::invalid_config(at, e.into_inner().to_string())
        })?;
        let mut errors = ValidationErrors::new();
        let api_scope = match scope {
            StoreScope::Cluster => eso_core::api::StoreScope::cluster(),
            _ => eso_core::api::StoreScope::namespaced(None),
        };
        parsed.validate_store(api_scope, &field, &mut errors);
        errors.into_result()?;
        match (&parsed.auth, &parsed.auth_ref) {
            (None, None) => Err(Error::invalid_config(
                field,
                "no auth provider given: set auth or authRef",
            )),
            (Some(_), Some(_)) => Err(Error::invalid_config(
                field,
                "auth and authRef are mutually exclusive",
            )),
            _ => Ok(parsed),
        }
    }

    /// Builds a provider for the store in `ctx` (no network access yet).
    pub fn build(&self, ctx: &StoreContext<'_>) -> Result<Kubernetes> {
        let spec = self.parse(ctx.spec, ctx.store.scope)?;
        Ok(Kubernetes::from_inner(Inner {
            spec,
            refs: Refs {
                cluster: Arc::clone(ctx.cluster),
                namespace: ctx.namespace.to_owned(),
                scope: ctx.store.scope,
            },
            field: format!("spec.provider.{}", crate::KIND),
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

    fn validate_store(&self, spec: &serde_json::Value, scope: StoreScope) -> Result<Vec<String>> {
        self.parse(spec, scope).map(|_| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(v: serde_json::Value) -> String {
        KubernetesFactory::new()
            .validate_store(&v, StoreScope::Namespaced)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_specs_name_the_field() {
        assert!(err(serde_json::json!({})).contains("no auth provider given"));
        assert!(
            err(serde_json::json!({"remoteNamespace": 3}))
                .starts_with("spec.provider.kubernetes.remoteNamespace")
        );
        let both = serde_json::json!({"authRef": {"name": "k", "key": "v"},
            "auth": {"token": {"bearerToken": {"name": "t", "key": "k"}}}});
        assert!(err(both).contains("mutually exclusive"));
        let ok = serde_json::json!({"authRef": {"name": "k", "key": "value"}});
        assert!(
            KubernetesFactory::new()
                .validate_store(&ok, StoreScope::Namespaced)
                .is_ok()
        );
    }
}
