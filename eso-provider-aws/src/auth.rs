//! AWS credentials for a store or generator: static keys from Kubernetes Secrets, a web
//! identity from a ServiceAccount token, or the SDK's default chain; then the role chain
//! (`additionalRoles`, then `role` with `externalID` and session tags).
//!
//! Assumed-role and web-identity credentials are providers, not values: the SDK's identity
//! cache renews them before they expire, so a cached store keeps working for days.

use std::fmt;
use std::time::SystemTime;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use eso_core::api::{AwsAuth, SecretKeySelector, ServiceAccountSelector};
use eso_core::provider::Credentials as StoreCredentials;
use eso_core::{Error, Result};

/// The session name ESO uses for assumed roles.
const SESSION_NAME: &str = "external-secrets-provider-aws";
/// The audience of ServiceAccount tokens for STS (what EKS uses).
const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// Everything that decides which credentials a client uses.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthSpec {
    /// The region.
    pub(crate) region: String,
    /// `auth`, if any.
    pub(crate) auth: Option<AwsAuth>,
    /// `additionalRoles` (assumed in order, plainly).
    pub(crate) additional_roles: Vec<String>,
    /// `role` (assumed last, with the external ID and tags).
    pub(crate) role: Option<String>,
    /// `externalID`.
    pub(crate) external_id: Option<String>,
    /// Session tags for `role`.
    pub(crate) session_tags: Vec<(String, String)>,
    /// `transitiveTagKeys`.
    pub(crate) transitive_tag_keys: Vec<String>,
    /// Field path of the block, for errors (`spec.provider.aws`, `spec`).
    pub(crate) path: String,
}

/// Builds the SDK configuration: region, credentials, role chain. The endpoint comes from
/// the standard AWS environment (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`). The SDK's
/// own retries are off: the registry's retry layer applies the store's `retrySettings`.
pub(crate) async fn sdk_config(spec: &AuthSpec, creds: &StoreCredentials) -> Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(spec.region.clone()))
        .retry_config(RetryConfig::disabled());
    let auth = spec.auth.as_ref();
    if let Some(s) = auth.and_then(|a| a.secret_ref.as_ref()) {
        let path = format!("{}.auth.secretRef", spec.path);
        let ak = read_key(
            creds,
            s.access_key_id.as_ref(),
            &format!("{path}.accessKeyIDSecretRef"),
        )
        .await?;
        let sk = read_key(
            creds,
            s.secret_access_key.as_ref(),
            &format!("{path}.secretAccessKeySecretRef"),
        )
        .await?;
        let token = match &s.session_token {
            Some(sel) => {
                Some(read_key(creds, Some(sel), &format!("{path}.sessionTokenSecretRef")).await?)
            }
            None => None,
        };
        loader = loader.credentials_provider(Credentials::new(ak, sk, token, None, "secretRef"));
    }
    let mut config = loader.load().await;
    let mut role = spec.role.clone().filter(|r| !r.is_empty());
    if let Some(sa) = auth
        .and_then(|a| a.jwt.as_ref())
        .and_then(|j| j.service_account_ref.as_ref())
    {
        // The web identity is exchanged for `role`; without a ServiceAccount read API the
        // `eks.amazonaws.com/role-arn` annotation cannot be consulted, so `role` is required.
        let web_role = role.take().ok_or_else(|| {
            Error::invalid_config(
                format!("{}.role", spec.path),
                "auth.jwt needs the role ARN to assume with the ServiceAccount token",
            )
        })?;
        let audiences = sa
            .audiences
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| vec![STS_AUDIENCE.to_owned()]);
        let provider = WebIdentity {
            sts: aws_sdk_sts::Client::new(&config),
            creds: creds.clone(),
            service_account: ServiceAccountSelector {
                audiences: Some(audiences),
                ..sa.clone()
            },
            field: format!("{}.auth.jwt.serviceAccountRef", spec.path),
            role: web_role,
        };
        config = with_provider(&config, provider);
    }
    for r in spec.additional_roles.iter().filter(|r| !r.is_empty()) {
        let provider = AssumeRole {
            sts: aws_sdk_sts::Client::new(&config),
            role: r.clone(),
            external_id: None,
            tags: Vec::new(),
            transitive: Vec::new(),
        };
        config = with_provider(&config, provider);
    }
    if let Some(r) = role {
        let provider = AssumeRole {
            sts: aws_sdk_sts::Client::new(&config),
            role: r,
            external_id: spec.external_id.clone().filter(|e| !e.is_empty()),
            tags: spec.session_tags.clone(),
            transitive: spec.transitive_tag_keys.clone(),
        };
        config = with_provider(&config, provider);
    }
    Ok(config)
}

fn with_provider(config: &SdkConfig, p: impl ProvideCredentials + 'static) -> SdkConfig {
    config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(p))
        .build()
}

/// Resolves the configured credentials once (ESO's store validation).
pub(crate) async fn check_credentials(config: &SdkConfig) -> Result<()> {
    let Some(p) = config.credentials_provider() else {
        return Err(Error::Unauthenticated {
            message: "no AWS credentials found (auth, environment or default chain)".into(),
        });
    };
    p.provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| Error::Unauthenticated {
            message: format!(
                "cannot obtain AWS credentials: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            ),
        })
}

async fn read_key(
    creds: &StoreCredentials,
    sel: Option<&SecretKeySelector>,
    path: &str,
) -> Result<String> {
    let sel = sel.ok_or_else(|| Error::invalid_config(path, "is required"))?;
    let value = creds.secret_text(sel, None, path).await?;
    Ok(value.expose_str().unwrap_or_default().to_owned())
}

fn to_credentials(c: &aws_sdk_sts::types::Credentials, source: &'static str) -> Credentials {
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        SystemTime::try_from(*c.expiration()).ok(),
        source,
    )
}

/// `sts:AssumeRole`, renewed by the SDK's identity cache.
struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role: String,
    external_id: Option<String>,
    tags: Vec<(String, String)>,
    transitive: Vec<String>,
}

impl fmt::Debug for AssumeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRole")
            .field("role", &self.role)
            .field("external_id", &self.external_id.as_ref().map(|_| "******"))
            .finish_non_exhaustive()
    }
}

impl AssumeRole {
    async fn assume(&self) -> aws_credential_types::provider::Result {
        let mut tags = Vec::new();
        for (k, v) in &self.tags {
            let tag = aws_sdk_sts::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(CredentialsError::invalid_configuration)?;
            tags.push(tag);
        }
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.clone())
            .set_tags((!tags.is_empty()).then_some(tags))
            .set_transitive_tag_keys((!self.transitive.is_empty()).then(|| self.transitive.clone()))
            .send()
            .await
            .map_err(CredentialsError::provider_error)?;
        let c = out
            .credentials()
            .ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
        Ok(to_credentials(c, "AssumeRole"))
    }
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

/// `sts:AssumeRoleWithWebIdentity` with a fresh ServiceAccount token (IRSA), renewed by the
/// SDK's identity cache.
struct WebIdentity {
    sts: aws_sdk_sts::Client,
    creds: StoreCredentials,
    service_account: ServiceAccountSelector,
    field: String,
    role: String,
}

impl fmt::Debug for WebIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebIdentity")
            .field("service_account", &self.service_account.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl WebIdentity {
    async fn assume(&self) -> aws_credential_types::provider::Result {
        let token = self
            .creds
            .service_account_token(&self.service_account, &[], 3600, &self.field)
            .await
            .map_err(CredentialsError::provider_error)?;
        let token = token
            .expose_str()
            .ok_or_else(|| CredentialsError::unhandled("the ServiceAccount token is not UTF-8"))?
            .to_owned();
        let out = self
            .sts
            .assume_role_with_web_identity()
            .role_arn(&self.role)
            .role_session_name(SESSION_NAME)
            .web_identity_token(token)
            .send()
            .await
            .map_err(CredentialsError::provider_error)?;
        let c = out.credentials().ok_or_else(|| {
            CredentialsError::unhandled("AssumeRoleWithWebIdentity returned no credentials")
        })?;
        Ok(to_credentials(c, "WebIdentity"))
    }
}

impl ProvideCredentials for WebIdentity {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}
