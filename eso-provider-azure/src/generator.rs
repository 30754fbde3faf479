//! The `ACRAccessToken` generator: an Entra ID token exchanged at Azure Container Registry
//! for a refresh token, or for an access token of `scope`.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RetryOptions};
use azure_identity::{
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId,
};
use eso_core::api::{ACRAccessTokenSpec, AzureEnvironmentType};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreRetry, error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use serde_json::Value;

/// The user name ACR expects with a token as password.
pub const ACR_USERNAME: &str = "00000000-0000-0000-0000-000000000000";

/// `ACRAccessToken`: a docker login for an Azure Container Registry.
///
/// Outputs `username` (`00000000-0000-0000-0000-000000000000`) and `password`: the refresh
/// token from `https://REGISTRY/oauth2/exchange` (an Entra ID token for Azure Resource Manager
/// traded in), or with `scope` (e.g. `repository:app:pull`) the access token from
/// `https://REGISTRY/oauth2/token`. Auth: `auth.servicePrincipal` (client ID and secret from
/// Secrets, `tenantId`) or `auth.managedIdentity`. For `PublicCloud` the authority host
/// honours `AZURE_AUTHORITY_HOST`, as the Azure SDKs do.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_azure::register_generators(&mut registry);
/// assert!(registry.get("ACRAccessToken").is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct AcrAccessToken;

impl AcrAccessToken {
    /// The generator (also [`Default`]).
    pub fn new() -> Self {
        Self
    }

    /// The generator kind.
    pub const KIND: &'static str = "ACRAccessToken";
}

#[async_trait]
impl Generator for AcrAccessToken {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(Self::KIND, |s| s.acr_access_token_spec.as_ref())?;
        StoreRetry::default().run(|| Self::once(spec, ctx)).await
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        Ok(())
    }
}

/// The Azure Resource Manager scope of a cloud.
fn arm_scope(env: AzureEnvironmentType) -> &'static str {
    match env {
        AzureEnvironmentType::USGovernmentCloud => "https://management.usgovcloudapi.net/.default",
        AzureEnvironmentType::ChinaCloud => "https://management.chinacloudapi.cn/.default",
        AzureEnvironmentType::GermanCloud => "https://management.microsoftazure.de/.default",
        _ => "https://management.azure.com/.default",
    }
}

fn options(env: AzureEnvironmentType) -> ClientOptions {
    use azure_core::cloud::CloudConfiguration;
    let cloud = match env {
        AzureEnvironmentType::USGovernmentCloud => Some(CloudConfiguration::AzureGovernment),
        AzureEnvironmentType::ChinaCloud => Some(CloudConfiguration::AzureChina),
        // None: the SDK's default, which honours AZURE_AUTHORITY_HOST.
        _ => None,
    };
    ClientOptions {
        retry: RetryOptions::none(),
        cloud: cloud.map(Arc::new),
        ..ClientOptions::default()
    }
}

async fn credential(
    spec: &ACRAccessTokenSpec,
    ctx: &GeneratorContext<'_>,
) -> Result<Arc<dyn TokenCredential>> {
    let creds = ctx.credentials();
    if let Some(sp) = &spec.auth.service_principal {
        let f = "spec.auth.servicePrincipal.secretRef";
        let id_sel = sp
            .secret_ref
            .client_id
            .as_ref()
            .ok_or_else(|| Error::invalid_config(format!("{f}.clientId"), "is required"))?;
        let secret_sel = sp
            .secret_ref
            .client_secret
            .as_ref()
            .ok_or_else(|| Error::invalid_config(format!("{f}.clientSecret"), "is required"))?;
        let id = creds
            .secret_text(id_sel, None, &format!("{f}.clientId"))
            .await?;
        let secret = creds
            .secret_text(secret_sel, None, &format!("{f}.clientSecret"))
            .await?;
        let tenant = spec
            .tenant_id
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::invalid_config("spec.tenantId", "is required"))?;
        let c = ClientSecretCredential::new(
            tenant,
            id.expose_str().unwrap_or_default().to_owned(),
            secret.expose_str().unwrap_or_default().to_owned().into(),
            Some(ClientSecretCredentialOptions {
                client_options: options(spec.environment_type),
            }),
        )
        .map_err(|e| Error::invalid_config(f, e.to_string()))?;
        return Ok(c);
    }
    if let Some(mi) = &spec.auth.managed_identity {
        let user_assigned_id = mi.identity_id.clone().filter(|i| !i.is_empty()).map(|id| {
            if id.starts_with("/subscriptions/") {
                UserAssignedId::ResourceId(id)
            } else {
                UserAssignedId::ClientId(id)
            }
        });
        let c = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id,
            client_options: options(spec.environment_type),
        }))
        .map_err(|e| Error::invalid_config("spec.auth.managedIdentity", e.to_string()))?;
        return Ok(c);
    }
    if spec.auth.workload_identity.is_some() {
        return Err(Error::NotSupported(
            "ACRAccessToken: spec.auth.workloadIdentity needs the ServiceAccount's azure.workload.identity/client-id annotation, which eso-rs cannot read yet".into(),
        ));
    }
    Err(Error::invalid_config(
        "spec.auth",
        "one of servicePrincipal, managedIdentity or workloadIdentity is required",
    ))
}

/// POSTs `form` to `url` and returns the string field `field` of the JSON answer.
async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    field: &str,
) -> Result<String> {
    let what = format!("ACRAccessToken POST {url}");
    let resp = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| transport_error(&what, &e))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status != 200 {
        let detail = body["errors"][0]["message"]
            .as_str()
            .or_else(|| body["error_description"].as_str())
            .unwrap_or("no detail");
        return Err(error_for_status(
            status,
            url,
            format!("{what}: HTTP {status}: {detail}"),
        ));
    }
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::generic(format!("{what}: the answer has no {field}")))
}

impl AcrAccessToken {
    async fn once(
        spec: &ACRAccessTokenSpec,
        ctx: &GeneratorContext<'_>,
    ) -> Result<GeneratorOutput> {
        let registry = spec.registry.trim_end_matches('/');
        if registry.is_empty() {
            return Err(Error::invalid_config("spec.registry", "is required"));
        }
        let host = registry.strip_prefix("https://").unwrap_or(registry);
        let cred = credential(spec, ctx).await?;
        let aad = cred
            .get_token(&[arm_scope(spec.environment_type)], None)
            .await
            .map_err(|e| Error::Unauthenticated {
                message: format!("ACRAccessToken: cannot obtain an Entra ID token: {e}"),
            })?;
        let http = reqwest::Client::new();
        let tenant = spec.tenant_id.clone().unwrap_or_default();
        let refresh = post_form(
            &http,
            &format!("https://{host}/oauth2/exchange"),
            &[
                ("grant_type", "access_token"),
                ("service", host),
                ("tenant", &tenant),
                ("access_token", aad.token.secret()),
            ],
            "refresh_token",
        )
        .await?;
        let password = match spec.scope.as_deref().filter(|s| !s.is_empty()) {
            None => refresh,
            Some(scope) => {
                post_form(
                    &http,
                    &format!("https://{host}/oauth2/token"),
                    &[
                        ("grant_type", "refresh_token"),
                        ("service", host),
                        ("scope", scope),
                        ("refresh_token", &refresh),
                    ],
                    "access_token",
                )
                .await?
            }
        };
        let mut data = SecretMap::new();
        data.insert("username".into(), SecretValue::from(ACR_USERNAME));
        data.insert("password".into(), SecretValue::from(password));
        Ok(GeneratorOutput::new(data))
    }
}
