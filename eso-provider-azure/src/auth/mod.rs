//! Credentials for the Key Vault client: service principal with a client secret, managed
//! identity and workload identity (a ServiceAccount token exchanged as a client assertion),
//! on the SDK's credential types, with the SDK's retries off and the store's cloud.

use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientMethodOptions, ClientOptions, RetryOptions};
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId,
};
use eso_core::api::{AzureAuthType, AzureEnvironmentType, AzureKvProvider, ServiceAccountSelector};
use eso_core::provider::Credentials;
use eso_core::{Error, Result};

use crate::FIELD;

mod certificate;
/// The audience of ServiceAccount tokens exchanged with Entra ID.
pub(crate) const WORKLOAD_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The SDK client options of a store: no SDK retries (the registry's retry layer retries every
/// provider the same way) and the store's cloud.
pub(crate) fn client_options(p: &AzureKvProvider) -> ClientOptions {
    let cloud = match p.environment_type {
        AzureEnvironmentType::PublicCloud => CloudConfiguration::AzurePublic,
        AzureEnvironmentType::USGovernmentCloud => CloudConfiguration::AzureGovernment,
        AzureEnvironmentType::ChinaCloud => CloudConfiguration::AzureChina,
        // Azure Germany was retired; its endpoints answer no more. ESO keeps the value.
        AzureEnvironmentType::GermanCloud => custom("https://login.microsoftonline.de"),
        AzureEnvironmentType::AzureStackCloud => custom(
            p.custom_cloud_config
                .as_ref()
                .map_or("", |c| c.active_directory_endpoint.as_str()),
        ),
    };
    ClientOptions {
        retry: RetryOptions::none(),
        cloud: Some(Arc::new(cloud)),
        ..ClientOptions::default()
    }
}

/// The authority host the SDK's credentials use for `p` (the token endpoint's origin).
pub(crate) fn authority_host(p: &AzureKvProvider) -> String {
    match p.environment_type {
        AzureEnvironmentType::USGovernmentCloud => "https://login.microsoftonline.us".to_owned(),
        AzureEnvironmentType::ChinaCloud => "https://login.chinacloudapi.cn".to_owned(),
        AzureEnvironmentType::GermanCloud => "https://login.microsoftonline.de".to_owned(),
        AzureEnvironmentType::AzureStackCloud => p
            .custom_cloud_config
            .as_ref()
            .map_or_else(String::new, |c| c.active_directory_endpoint.clone()),
        AzureEnvironmentType::PublicCloud => "https://login.microsoftonline.com".to_owned(),
    }
}

fn custom(authority: &str) -> CloudConfiguration {
    let mut c = CustomConfiguration::default();
    c.authority_host = authority.trim_end_matches('/').to_owned();
    c.into()
}

fn sdk_err(field: &str, e: &azure_core::Error) -> Error {
    Error::invalid_config(field, e.to_string())
}

/// The tenant of the store: `tenantId`, else `authSecretRef.tenantId`.
async fn tenant(p: &AzureKvProvider, creds: &Credentials) -> Result<Option<String>> {
    if let Some(t) = p.tenant_id.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Some(t.clone()));
    }
    if let Some(sel) = p
        .auth_secret_ref
        .as_ref()
        .and_then(|a| a.tenant_id.as_ref())
    {
        let v = creds
            .secret_text(sel, None, &format!("{FIELD}.authSecretRef.tenantId"))
            .await?;
        return Ok(v.expose_str().map(str::to_owned));
    }
    Ok(None)
}

/// Builds the token credential the store's `authType` asks for.
pub(crate) async fn credential(
    p: &AzureKvProvider,
    creds: &Credentials,
) -> Result<Arc<dyn TokenCredential>> {
    match p.auth_type {
        AzureAuthType::ServicePrincipal => service_principal(p, creds).await,
        AzureAuthType::ManagedIdentity => {
            let user_assigned_id = p.identity_id.as_ref().filter(|i| !i.is_empty()).map(|id| {
                if id.starts_with("/subscriptions/") {
                    UserAssignedId::ResourceId(id.clone())
                } else {
                    UserAssignedId::ClientId(id.clone())
                }
            });
            let opts = ManagedIdentityCredentialOptions {
                user_assigned_id,
                client_options: client_options(p),
            };
            let c = ManagedIdentityCredential::new(Some(opts))
                .map_err(|e| sdk_err(&format!("{FIELD}.identityId"), &e))?;
            Ok(c)
        }
        AzureAuthType::WorkloadIdentity => workload_identity(p, creds).await,
    }
}

async fn service_principal(
    p: &AzureKvProvider,
    creds: &Credentials,
) -> Result<Arc<dyn TokenCredential>> {
    let field = format!("{FIELD}.authSecretRef");
    let auth = p.auth_secret_ref.as_ref().ok_or_else(|| {
        Error::invalid_config(&field, "is required for authType ServicePrincipal")
    })?;
    let client_sel = auth
        .client_id
        .as_ref()
        .ok_or_else(|| Error::invalid_config(format!("{field}.clientId"), "is required"))?;
    let client_id = creds
        .secret_text(client_sel, None, &format!("{field}.clientId"))
        .await?;
    let client_id = client_id.expose_str().unwrap_or_default().to_owned();
    let tenant = tenant(p, creds)
        .await?
        .ok_or_else(|| Error::invalid_config(format!("{FIELD}.tenantId"), "is required"))?;
    match (&auth.client_secret, &auth.client_certificate) {
        (Some(_), Some(_)) => Err(Error::invalid_config(
            &field,
            "set either clientSecret or clientCertificate, not both",
        )),
        (Some(sel), None) => {
            let secret = creds
                .secret_text(sel, None, &format!("{field}.clientSecret"))
                .await?;
            let secret = secret.expose_str().unwrap_or_default().to_owned();
            let opts = ClientSecretCredentialOptions {
                client_options: client_options(p),
            };
            let c = ClientSecretCredential::new(&tenant, client_id, secret.into(), Some(opts))
                .map_err(|e| sdk_err(&field, &e))?;
            Ok(c)
        }
        (None, Some(sel)) => {
            let pem = creds
                .secret(sel, None, &format!("{field}.clientCertificate"))
                .await?;
            let opts = ClientAssertionCredentialOptions {
                client_options: client_options(p),
            };
            let audience = format!(
                "{}/{tenant}/oauth2/v2.0/token",
                authority_host(p).trim_end_matches('/')
            );
            let assertion = certificate::CertificateAssertion::from_pem(
                pem.expose(),
                &client_id,
                audience,
                &format!("{field}.clientCertificate"),
            )?;
            let c = ClientAssertionCredential::new(tenant, client_id, assertion, Some(opts))
                .map_err(|e| sdk_err(&field, &e))?;
            Ok(c)
        }
        (None, None) => Err(Error::invalid_config(
            format!("{field}.clientSecret"),
            "is required (or clientCertificate)",
        )),
    }
}

/// A ServiceAccount token requested on each exchange (the SDK caches the access token).
#[derive(Clone)]
struct ServiceAccountAssertion {
    creds: Credentials,
    sa: ServiceAccountSelector,
}

impl std::fmt::Debug for ServiceAccountAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountAssertion")
            .field("service_account", &self.sa.name)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl ClientAssertion for ServiceAccountAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        let field = format!("{FIELD}.serviceAccountRef");
        let t = self
            .creds
            .service_account_token(&self.sa, &[WORKLOAD_AUDIENCE.to_owned()], 3600, &field)
            .await
            .map_err(|e| {
                azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    format!("{field}: cannot obtain a ServiceAccount token: {e}"),
                )
            })?;
        Ok(t.expose_str().unwrap_or_default().to_owned())
    }
}

async fn workload_identity(
    p: &AzureKvProvider,
    creds: &Credentials,
) -> Result<Arc<dyn TokenCredential>> {
    let field = format!("{FIELD}.serviceAccountRef");
    let sa = p.service_account_ref.clone().ok_or_else(|| {
        Error::invalid_config(&field, "is required for authType WorkloadIdentity")
    })?;
    // ESO falls back to the ServiceAccount's azure.workload.identity/* annotations; reading a
    // ServiceAccount is not part of the Cluster interface yet, so the IDs must be given.
    let client_id = match p
        .auth_secret_ref
        .as_ref()
        .and_then(|a| a.client_id.as_ref())
    {
        Some(sel) => creds
            .secret_text(sel, None, &format!("{FIELD}.authSecretRef.clientId"))
            .await?
            .expose_str()
            .unwrap_or_default()
            .to_owned(),
        None => {
            return Err(Error::invalid_config(
                format!("{FIELD}.authSecretRef.clientId"),
                "is required for authType WorkloadIdentity (ServiceAccount annotations are not read yet)",
            ));
        }
    };
    let tenant = tenant(p, creds)
        .await?
        .ok_or_else(|| Error::invalid_config(format!("{FIELD}.tenantId"), "is required"))?;
    let assertion = ServiceAccountAssertion {
        creds: creds.clone(),
        sa,
    };
    let opts = ClientAssertionCredentialOptions {
        client_options: client_options(p),
    };
    let c = ClientAssertionCredential::new(tenant, client_id, assertion, Some(opts))
        .map_err(|e| sdk_err(&field, &e))?;
    Ok(c)
}
