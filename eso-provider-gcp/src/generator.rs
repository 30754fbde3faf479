//! The `GCRAccessToken` generator: an OAuth2 access token for Container Registry and
//! Artifact Registry, from the same auth options as the store.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eso_core::api::GCRAccessTokenSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreRetry, error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use google_cloud_auth::credentials::CacheableResource;
use serde_json::{Value, json};

use crate::auth::{CLOUD_PLATFORM, Resolved, resolve};

const USERNAME: &str = "oauth2accesstoken";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// What `expiry` says when the credential source does not report a lifetime: Google access
/// tokens live one hour.
const DEFAULT_LIFETIME_SECS: u64 = 3600;

/// `GCRAccessToken`: a docker login for `gcr.io` / `*-docker.pkg.dev`.
///
/// Outputs `username` (`oauth2accesstoken`), `password` (an OAuth2 access token with the
/// `cloud-platform` scope) and `expiry` (Unix seconds). With `auth.secretRef` the token comes
/// from a JWT-bearer grant at the key's `token_uri` (as ESO's `JWTConfigFromJSON` does); with
/// Workload Identity (Federation) from Google's STS; without auth from Application Default
/// Credentials.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_provider_gcp::register_generators(&mut registry);
/// assert!(registry.get("GCRAccessToken").is_ok());
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct GcrAccessToken;

impl GcrAccessToken {
    /// The generator (also [`Default`]).
    pub fn new() -> Self {
        Self
    }

    /// The generator kind.
    pub const KIND: &'static str = "GCRAccessToken";
}

#[async_trait]
impl Generator for GcrAccessToken {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(Self::KIND, |s| s.gcr_access_token_spec.as_ref())?;
        StoreRetry::default().run(|| Self::once(spec, ctx)).await
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        Ok(())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl GcrAccessToken {
    async fn once(
        spec: &GCRAccessTokenSpec,
        ctx: &GeneratorContext<'_>,
    ) -> Result<GeneratorOutput> {
        // `projectID` names the registry's project; the token is not project-bound.
        let resolved = resolve(Some(&spec.auth), "spec.auth", &ctx.credentials()).await?;
        let (token, expiry) = access_token(resolved).await?;
        let mut data = SecretMap::new();
        data.insert("username".into(), SecretValue::from(USERNAME));
        data.insert("password".into(), SecretValue::from(token));
        data.insert("expiry".into(), SecretValue::from(expiry.to_string()));
        Ok(GeneratorOutput::new(data))
    }
}

/// An access token and its expiry (Unix seconds) from resolved credentials.
pub(crate) async fn access_token(resolved: Resolved) -> Result<(String, u64)> {
    let creds = match resolved {
        Resolved::ServiceAccountKey(key) => return jwt_bearer_grant(key).await,
        Resolved::Other(creds) => creds,
    };
    let headers = match creds.headers(Default::default()).await {
        Ok(CacheableResource::New { data, .. }) => data,
        Ok(CacheableResource::NotModified) => {
            return Err(Error::generic("GCRAccessToken: no token was returned"));
        }
        Err(e) => {
            let message = format!("GCRAccessToken: cannot obtain a token: {e}");
            return Err(if e.is_transient() {
                Error::unavailable(message, e)
            } else {
                Error::Unauthenticated { message }
            });
        }
    };
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Error::generic("GCRAccessToken: the credentials gave no bearer token"))?
        .to_owned();
    Ok((token, now() + DEFAULT_LIFETIME_SECS))
}

/// The OAuth2 JWT-bearer grant (RFC 7523) of a service-account key: an assertion signed with
/// the key, sent to the key's `token_uri`. Returns the access token and its expiry.
async fn jwt_bearer_grant(key: Value) -> Result<(String, u64)> {
    let field = "spec.auth.secretRef.secretAccessKeySecretRef";
    let text = |k: &str| key.get(k).and_then(Value::as_str).map(str::to_owned);
    let token_uri = text("token_uri").unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
    let email = text("client_email").unwrap_or_default();
    let kid = text("private_key_id");
    let signer = google_cloud_auth::credentials::service_account::Builder::new(key)
        .build_signer()
        .map_err(|e| {
            Error::invalid_config(field, format!("is not a usable service-account key: {e}"))
        })?;
    let iat = now();
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = Value::String(kid);
    }
    let claims = json!({"iss": email, "scope": CLOUD_PLATFORM, "aud": token_uri,
        "iat": iat, "exp": iat + DEFAULT_LIFETIME_SECS});
    let unsigned = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = signer
        .sign(unsigned.as_bytes())
        .await
        .map_err(|e| Error::invalid_config(field, format!("cannot sign with the key: {e}")))?;
    let assertion = format!("{unsigned}.{}", URL_SAFE_NO_PAD.encode(sig));
    let what = format!("GCRAccessToken POST {token_uri}");
    let resp = reqwest::Client::new()
        .post(&token_uri)
        .form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await
        .map_err(|e| transport_error(&what, &e))?;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        let reason = [body.get("error"), body.get("error_description")]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(": ");
        return Err(error_for_status(
            status,
            &token_uri,
            format!("{what}: HTTP {status}: {reason}"),
        ));
    }
    let token = body
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::generic(format!("{what}: the response has no access_token")))?
        .to_owned();
    let lifetime = body
        .get("expires_in")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_LIFETIME_SECS);
    Ok((token, iat + lifetime))
}
