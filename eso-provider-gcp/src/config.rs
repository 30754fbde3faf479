//! The `gcpsm` provider kind: checking `spec.provider.gcpsm`, building clients.

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::{GcpSmProvider, SecretStoreProvider, ValidationErrors};
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, provider_block,
};
use eso_core::{Error, Result};

use crate::provider::{GcpSecretManager, Settings};

const FIELD: &str = "spec.provider.gcpsm";

/// Builds [`GcpSecretManager`] providers from `spec.provider.gcpsm`.
///
/// Credentials come from `auth.secretRef` (a service-account JSON key in a Secret),
/// `auth.workloadIdentity` (GKE: a ServiceAccount token exchanged at Google's STS),
/// `auth.workloadIdentityFederation` (a credential configuration from a ConfigMap and/or a
/// ServiceAccount token, optionally impersonating `gcpServiceAccountEmail`) or Application
/// Default Credentials. One client is built per store revision and reused; there is no
/// process-wide lock.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_gcp::GcpFactory;
///
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({"gcpsm": {
///     "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "sa", "key": "key.json"}}}}}))
///     .unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "gcp");
/// let err = GcpFactory::new().validate_store(&spec, &store).unwrap_err();
/// assert_eq!(err.to_string(), "spec.provider.gcpsm.projectID: is required");
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct GcpFactory;

impl GcpFactory {
    /// The factory.
    pub fn new() -> Self {
        Self
    }

    fn check(spec: &GcpSmProvider, store: &StoreIdentity) -> Result<()> {
        let mut errors = ValidationErrors::new();
        spec.validate_store(store.api_scope(), FIELD, &mut errors);
        if spec.project_id.as_deref().is_none_or(str::is_empty) {
            errors.push(format!("{FIELD}.projectID"), "is required");
        }
        if let Some(l) = spec.location.as_deref().filter(|l| !l.is_empty())
            && !l
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            errors.push(format!("{FIELD}.location"), "must match ^[a-z0-9-]+$");
        }
        errors.into_result().map_err(Into::into)
    }

    /// Builds the provider of `ctx` (also available through [`ProviderFactory::new_provider`]).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<GcpSecretManager> {
        let p = ctx.block(crate::KIND, |p| p.gcpsm.as_ref())?;
        let project = p
            .project_id
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid_config(format!("{FIELD}.projectID"), "is required"))?;
        let location = p.location.clone().filter(|s| !s.is_empty());
        let creds = ctx.credentials();
        let auth_field = format!("{FIELD}.auth");
        let resolved = crate::auth::resolve(p.auth.as_ref(), &auth_field, &creds).await?;
        let google = resolved.into_credentials(&auth_field)?;
        let referent = creds.is_referent(reference_namespaces(p));
        let settings = Settings {
            project,
            location,
            policy: p.secret_version_selection_policy,
            referent,
        };
        GcpSecretManager::connect(settings, google).await
    }
}

/// The namespaces of the credential references the spec sets (for
/// [`Credentials::is_referent`](eso_core::provider::Credentials::is_referent)).
fn reference_namespaces(p: &GcpSmProvider) -> Vec<Option<&str>> {
    let Some(auth) = &p.auth else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(s) = auth
        .secret_ref
        .as_ref()
        .and_then(|s| s.secret_access_key.as_ref())
    {
        out.push(s.namespace.as_deref());
    }
    if let Some(w) = &auth.workload_identity {
        out.push(w.service_account_ref.namespace.as_deref());
    }
    if let Some(f) = &auth.workload_identity_federation {
        out.extend(f.service_account_ref.iter().map(|s| s.namespace.as_deref()));
        out.extend(f.cred_config.iter().map(|c| c.namespace.as_deref()));
    }
    out
}

#[async_trait]
impl ProviderFactory for GcpFactory {
    fn kind(&self) -> &'static str {
        crate::KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>> {
        let g = provider_block(spec, crate::KIND, |p| p.gcpsm.as_ref())?;
        Self::check(g, store).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}

#[cfg(test)]
mod tests {
    use eso_core::provider::StoreScope;

    use super::*;

    fn check(g: serde_json::Value) -> Result<Vec<String>> {
        let spec: SecretStoreProvider =
            serde_json::from_value(serde_json::json!({ "gcpsm": g })).unwrap();
        GcpFactory::new().validate_store(
            &spec,
            &StoreIdentity::new(StoreScope::Namespaced, "apps", "gcp"),
        )
    }

    #[test]
    fn specs_are_checked() {
        assert!(check(serde_json::json!({"projectID": "p"})).is_ok());
        let e =
            check(serde_json::json!({"projectID": "p", "location": "Europe West"})).unwrap_err();
        assert!(
            e.to_string().contains("spec.provider.gcpsm.location"),
            "{e}"
        );
        let e = check(serde_json::json!({"projectID": "p", "auth": {"secretRef":
            {"secretAccessKeySecretRef": {"name": "k", "key": "k", "namespace": "other"}}}}))
        .unwrap_err();
        assert!(
            e.to_string().contains("secretAccessKeySecretRef.namespace"),
            "{e}"
        );
    }
}
