//! The `CloudsmithAccessToken` generator: a Cloudsmith API token by OIDC exchange of a
//! Kubernetes ServiceAccount token.

use async_trait::async_trait;
use base64::Engine as _;
use eso_core::api::CloudsmithAccessTokenSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use serde::Serialize;
use serde_json::Value;

use crate::http::{TokenClient, jwt_expiry};

/// The generator kind.
const KIND: &str = "CloudsmithAccessToken";
/// The Cloudsmith API used when `spec.apiUrl` is unset.
pub const CLOUDSMITH_API_URL: &str = "https://api.cloudsmith.io";
/// How long the requested ServiceAccount token lives (exchanged right away).
const SA_TOKEN_SECONDS: i64 = 600;

/// Exchanges a ServiceAccount token for a Cloudsmith access token (kind
/// `CloudsmithAccessToken`).
///
/// A token of `serviceAccountRef` (in the consumer's namespace, for its `audiences`) is
/// requested from the cluster (TokenRequest API) and sent to Cloudsmith's OIDC endpoint,
/// `POST {apiUrl}/openid/{orgSlug}/` with `{"oidc_token": ..., "service_slug":
/// serviceSlug}`; Cloudsmith checks it against the OIDC provider configured for the
/// organisation and answers `201 {"token": ...}`, a short-lived token of that service.
/// `apiUrl` defaults to `https://api.cloudsmith.io`.
///
/// Output, as ESO's: `auth` (base64 of `token:<token>`, the value of a `.dockerconfigjson`
/// entry for Cloudsmith's registry) and `expiry` (the token's `exp` claim, Unix seconds).
/// Nothing is kept: the token expires on its own.
///
/// Errors start with `CloudsmithAccessToken`, name the field to fix (`spec.orgSlug` for an
/// unknown organisation, `spec.serviceAccountRef` when the cluster cannot issue the token),
/// carry Cloudsmith's `detail` and never contain either token. 401 is
/// [`Error::Unauthenticated`], 403 [`Error::PermissionDenied`].
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_generators::register_generators(&mut registry);
/// assert!(registry.get("CloudsmithAccessToken").is_ok());
/// ```
#[derive(Debug, Default)]
pub struct CloudsmithAccessToken {
    http: TokenClient,
}

#[derive(Serialize)]
struct ExchangeRequest<'a> {
    oidc_token: &'a str,
    service_slug: &'a str,
}

impl CloudsmithAccessToken {
    /// The generator, trusting the platform's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem` (a private CA in front of the
    /// API). An error if `pem` holds no certificate.
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        self.http.add_roots(pem, KIND)?;
        Ok(self)
    }
}

/// The exchange URL, checked.
fn exchange_url(spec: &CloudsmithAccessTokenSpec) -> Result<String> {
    let base = spec
        .api_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(CLOUDSMITH_API_URL)
        .trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(Error::invalid_config(
            "spec.apiUrl",
            format!("{KIND}: must be an http(s) URL"),
        ));
    }
    let org = spec.org_slug.trim();
    if org.is_empty() || org.contains(['/', '?', '#']) {
        return Err(Error::invalid_config(
            "spec.orgSlug",
            format!("{KIND}: must be an organisation slug"),
        ));
    }
    if spec.service_slug.trim().is_empty() {
        return Err(Error::invalid_config(
            "spec.serviceSlug",
            format!("{KIND}: is required"),
        ));
    }
    Ok(format!("{base}/openid/{org}/"))
}

#[async_trait]
impl Generator for CloudsmithAccessToken {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(KIND, |s| s.cloudsmith_access_token_spec.as_ref())?;
        let url = exchange_url(spec)?;
        let sa_token = ctx
            .credentials()
            .service_account_token(
                &spec.service_account_ref,
                &[],
                SA_TOKEN_SECONDS,
                "spec.serviceAccountRef",
            )
            .await
            .map_err(|e| e.context(KIND))?;
        let body = ExchangeRequest {
            oidc_token: sa_token.expose_str().unwrap_or_default(),
            service_slug: spec.service_slug.trim(),
        };
        let what = format!("{KIND}: POST {url}");
        let response = self
            .http
            .get(KIND)?
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status != 201 {
            let detail = answer["detail"]
                .as_str()
                .or_else(|| answer["message"].as_str())
                .unwrap_or("no detail");
            let message = format!("{what}: HTTP {status}: {detail}");
            return Err(match status {
                404 => Error::invalid_config("spec.orgSlug", message),
                400 | 422 => Error::invalid_config("spec.serviceSlug", message),
                200..=299 => Error::generic(message),
                _ => error_for_status(status, &url, message),
            });
        }
        let token = answer["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::generic(format!("{what}: the answer has no token")))?;
        let expiry = jwt_expiry(token).ok_or_else(|| {
            Error::generic(format!("{what}: the token is not a JWT with an exp claim"))
        })?;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("token:{token}"));
        let mut data = SecretMap::new();
        data.insert("auth".into(), SecretValue::from(auth));
        data.insert("expiry".into(), SecretValue::from(expiry));
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        // Nothing is kept: the token expires on its own.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(v: Value) -> CloudsmithAccessTokenSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_exchange_url_is_the_orgs_openid_endpoint() {
        let s = spec(json!({"orgSlug": "acme", "serviceSlug": "ci",
            "serviceAccountRef": {"name": "builder"}}));
        assert_eq!(
            exchange_url(&s).unwrap(),
            "https://api.cloudsmith.io/openid/acme/"
        );
        let s = spec(
            json!({"apiUrl": "https://cs.example/api/", "orgSlug": "acme",
            "serviceSlug": "ci", "serviceAccountRef": {"name": "builder"}}),
        );
        assert_eq!(
            exchange_url(&s).unwrap(),
            "https://cs.example/api/openid/acme/"
        );
        let s = spec(json!({"orgSlug": "a/b", "serviceSlug": "ci",
            "serviceAccountRef": {"name": "builder"}}));
        assert!(
            exchange_url(&s)
                .unwrap_err()
                .to_string()
                .contains("spec.orgSlug")
        );
        let s = spec(json!({"orgSlug": "acme", "serviceSlug": "",
            "serviceAccountRef": {"name": "builder"}}));
        assert!(
            exchange_url(&s)
                .unwrap_err()
                .to_string()
                .contains("spec.serviceSlug")
        );
    }
}
