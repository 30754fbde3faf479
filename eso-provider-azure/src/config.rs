//! The `azurekv` provider kind: checking `spec.provider.azurekv`, building clients.

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::{
    AzureAuthType, AzureEnvironmentType, AzureKvProvider, SecretStoreProvider, ValidationErrors,
};
use eso_core::provider::{Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity};
use eso_core::{Error, Result};

use crate::FIELD;
use crate::provider::AzureKeyVault;

/// Builds [`AzureKeyVault`] providers from `spec.provider.azurekv`.
///
/// Credentials come from `authType`: `ServicePrincipal` (client ID, tenant and client secret
/// from `authSecretRef`), `ManagedIdentity` (optionally `identityId`) or `WorkloadIdentity`
/// (a token of `serviceAccountRef` with audience `api://AzureADTokenExchange`, exchanged at
/// Entra ID). `environmentType` picks the cloud; `AzureStackCloud` takes the authority host
/// from `customCloudConfig.activeDirectoryEndpoint`. One client is built per store revision.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_azure::AzureFactory;
///
/// let spec: SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"azurekv": {"vaultUrl": ""}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "kv");
/// let err = AzureFactory::new().validate_store(&spec, &store).unwrap_err();
/// assert_eq!(err.to_string(), "spec.provider.azurekv.vaultUrl: is required");
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct AzureFactory;

impl AzureFactory {
    /// The factory.
    pub fn new() -> Self {
        Self
    }

    fn check(spec: &AzureKvProvider, store: &StoreIdentity) -> Result<()> {
        let mut errors = ValidationErrors::new();
        spec.validate_store(store.api_scope(), FIELD, &mut errors);
        if spec.vault_url.is_empty() {
            errors.push(format!("{FIELD}.vaultUrl"), "is required");
        } else if !(spec.vault_url.starts_with("https://") || spec.vault_url.starts_with("http://"))
        {
            errors.push(format!("{FIELD}.vaultUrl"), "must be an http(s) URL");
        }
        match spec.auth_type {
            AzureAuthType::ServicePrincipal => {
                let a = spec.auth_secret_ref.as_ref();
                if a.and_then(|a| a.client_id.as_ref()).is_none() {
                    errors.push(format!("{FIELD}.authSecretRef.clientId"), "is required");
                }
                if a.is_some_and(|a| a.client_secret.is_none() && a.client_certificate.is_none()) {
                    errors.push(
                        format!("{FIELD}.authSecretRef"),
                        "needs clientSecret or clientCertificate",
                    );
                }
                if spec.tenant_id.as_deref().is_none_or(str::is_empty)
                    && a.and_then(|a| a.tenant_id.as_ref()).is_none()
                {
                    errors.push(format!("{FIELD}.tenantId"), "is required");
                }
            }
            AzureAuthType::WorkloadIdentity => {
                if spec.service_account_ref.is_none() {
                    errors.push(format!("{FIELD}.serviceAccountRef"), "is required");
                }
            }
            AzureAuthType::ManagedIdentity => {}
        }
        errors.into_result().map_err(Into::into)
    }

    /// Builds the provider of `ctx` (also available through [`ProviderFactory::new_provider`]).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<AzureKeyVault> {
        let p = ctx.block(crate::KIND, |p| p.azurekv.as_ref())?;
        if p.vault_url.is_empty() {
            return Err(Error::invalid_config(
                format!("{FIELD}.vaultUrl"),
                "is required",
            ));
        }
        let creds = ctx.credentials();
        let credential = crate::auth::credential(p, &creds).await?;
        let store = format!("{}/{}", ctx.store.namespace, ctx.store.name);
        let referent = creds.is_referent(reference_namespaces(p));
        let verify_challenge = p.environment_type != AzureEnvironmentType::AzureStackCloud;
        AzureKeyVault::connect(p, credential, store, referent, verify_challenge)
    }
}

/// The namespaces of the credential references the spec sets (for
/// [`Credentials::is_referent`](eso_core::provider::Credentials::is_referent)).
fn reference_namespaces(p: &AzureKvProvider) -> impl Iterator<Item = Option<&str>> {
    let secrets = p.auth_secret_ref.iter().flat_map(|a| {
        [
            &a.client_id,
            &a.tenant_id,
            &a.client_secret,
            &a.client_certificate,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.namespace.as_deref())
    });
    let sa = p.service_account_ref.iter().map(|s| s.namespace.as_deref());
    secrets.chain(sa)
}

#[async_trait]
impl ProviderFactory for AzureFactory {
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
        let a = spec
            .azurekv
            .as_ref()
            .ok_or_else(|| Error::invalid_config(FIELD, "is missing"))?;
        Self::check(a, store).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}
