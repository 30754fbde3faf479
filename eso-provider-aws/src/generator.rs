//! The `ECRAuthorizationToken` and `STSSessionToken` generators.

use async_trait::async_trait;
use base64::Engine as _;
use eso_core::api::{ECRAuthorizationTokenSpec, EcrScope, STSSessionTokenSpec, ValidationErrors};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::StoreRetry;
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::auth::{AuthSpec, sdk_config};
use crate::error::{malformed, sdk_error};

fn check_region(region: &str) -> Result<()> {
    let mut errors = ValidationErrors::new();
    if region.trim().is_empty() {
        errors.push("spec.region", "is required");
    }
    errors.into_result().map_err(Into::into)
}

fn auth_spec(
    region: &str,
    auth: Option<&eso_core::api::AwsAuth>,
    role: Option<&String>,
) -> AuthSpec {
    AuthSpec {
        region: region.to_owned(),
        auth: auth.cloned(),
        role: role.cloned(),
        path: "spec".to_owned(),
        ..AuthSpec::default()
    }
}

fn unix(t: &aws_smithy_types::DateTime) -> String {
    t.secs().to_string()
}

/// `ECRAuthorizationToken`: a docker login for an ECR registry.
///
/// Outputs `username`, `password`, `proxy_endpoint` (private registries) and `expires_at`
/// (Unix seconds), ready for a `dockerconfigjson` template.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_aws::register_generators(&mut registry);
/// assert!(registry.get("ECRAuthorizationToken").is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct EcrAuthorizationToken;

impl EcrAuthorizationToken {
    /// The generator (also [`Default`]).
    pub fn new() -> Self {
        Self
    }

    /// The generator kind.
    pub const KIND: &'static str = "ECRAuthorizationToken";
}

#[async_trait]
impl Generator for EcrAuthorizationToken {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(Self::KIND, |s| s.ecr_authorization_token_spec.as_ref())?;
        check_region(&spec.region)?;
        // The SDK does not retry (one retry layer for every backend): retry here.
        StoreRetry::default().run(|| Self::once(spec, ctx)).await
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

impl EcrAuthorizationToken {
    async fn once(
        spec: &ECRAuthorizationTokenSpec,
        ctx: &GeneratorContext<'_>,
    ) -> Result<GeneratorOutput> {
        let auth = auth_spec(&spec.region, spec.auth.as_ref(), spec.role.as_ref());
        let config = sdk_config(&auth, &ctx.credentials()).await?;
        let mut data = SecretMap::new();
        let (token, expires) = if spec.scope == Some(EcrScope::Public) {
            let out = aws_sdk_ecrpublic::Client::new(&config)
                .get_authorization_token()
                .send()
                .await
                .map_err(|e| sdk_error("ecr-public GetAuthorizationToken", "", e))?;
            let d = out
                .authorization_data()
                .ok_or_else(|| malformed("GetAuthorizationToken", "authorizationData"))?;
            (
                d.authorization_token().map(str::to_owned),
                d.expires_at().map(unix),
            )
        } else {
            let out = aws_sdk_ecr::Client::new(&config)
                .get_authorization_token()
                .send()
                .await
                .map_err(|e| sdk_error("ecr GetAuthorizationToken", "", e))?;
            let d = out
                .authorization_data()
                .first()
                .ok_or_else(|| malformed("GetAuthorizationToken", "authorizationData"))?;
            if let Some(p) = d.proxy_endpoint() {
                data.insert("proxy_endpoint".into(), SecretValue::from(p));
            }
            (
                d.authorization_token().map(str::to_owned),
                d.expires_at().map(unix),
            )
        };
        let token =
            token.ok_or_else(|| malformed("GetAuthorizationToken", "authorizationToken"))?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| Error::Conversion("the ECR token is not base64".into()))?;
        let decoded = SecretValue::new(decoded);
        let (user, pass) = decoded
            .expose_str()
            .and_then(|s| s.split_once(':'))
            .ok_or_else(|| Error::Conversion("the ECR token is not user:password".into()))?;
        data.insert("username".into(), SecretValue::from(user));
        data.insert("password".into(), SecretValue::from(pass));
        data.insert(
            "expires_at".into(),
            SecretValue::from(expires.unwrap_or_default()),
        );
        Ok(GeneratorOutput::new(data))
    }
}

/// `STSSessionToken`: temporary credentials from `sts:GetSessionToken`.
///
/// Outputs `access_key_id`, `secret_access_key`, `session_token` and `expiration` (Unix
/// seconds).
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_aws::register_generators(&mut registry);
/// assert!(registry.get("STSSessionToken").is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct StsSessionToken;

impl StsSessionToken {
    /// The generator (also [`Default`]).
    pub fn new() -> Self {
        Self
    }

    /// The generator kind.
    pub const KIND: &'static str = "STSSessionToken";
}

#[async_trait]
impl Generator for StsSessionToken {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(Self::KIND, |s| s.sts_session_token_spec.as_ref())?;
        check_region(&spec.region)?;
        StoreRetry::default().run(|| Self::once(spec, ctx)).await
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

impl StsSessionToken {
    async fn once(
        spec: &STSSessionTokenSpec,
        ctx: &GeneratorContext<'_>,
    ) -> Result<GeneratorOutput> {
        let params = spec.request_parameters.clone().unwrap_or_default();
        if let Some(d) = params.session_duration
            && !(900..=129_600).contains(&d)
        {
            return Err(Error::invalid_config(
                "spec.requestParameters.sessionDuration",
                "must be between 900 and 129600 seconds",
            ));
        }
        let auth = auth_spec(&spec.region, spec.auth.as_ref(), spec.role.as_ref());
        let config = sdk_config(&auth, &ctx.credentials()).await?;
        let out = aws_sdk_sts::Client::new(&config)
            .get_session_token()
            .set_duration_seconds(params.session_duration)
            .set_serial_number(params.serial_number.clone())
            .set_token_code(params.token_code.clone())
            .send()
            .await
            .map_err(|e| sdk_error("sts GetSessionToken", "", e))?;
        let c = out
            .credentials()
            .ok_or_else(|| malformed("GetSessionToken", "credentials"))?;
        let mut data = SecretMap::new();
        data.insert("access_key_id".into(), SecretValue::from(c.access_key_id()));
        data.insert(
            "secret_access_key".into(),
            SecretValue::from(c.secret_access_key()),
        );
        data.insert("session_token".into(), SecretValue::from(c.session_token()));
        data.insert("expiration".into(), SecretValue::from(unix(c.expiration())));
        Ok(GeneratorOutput::new(data))
    }
}
