//! The `BeyondtrustWorkloadCredentialsDynamicSecret` generator: dynamic credentials (such as
//! temporary AWS keys) from BeyondTrust Workload Credentials.

use async_trait::async_trait;
use eso_core::api::{
    BeyondtrustWorkloadCredentialsDynamicSecretSpec, BeyondtrustWorkloadCredentialsProvider,
};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::TokenClient;

/// The generator kind.
const KIND: &str = "BeyondtrustWorkloadCredentialsDynamicSecret";
/// The API version eso-rs speaks (the `bt-secrets-api-version` header, as ESO v2.9.0 sends).
pub const BEYONDTRUST_API_VERSION: &str = "2026-04-28";
/// The field of the API token reference, as errors name it.
const TOKEN_FIELD: &str = "spec.provider.auth.apikey.token";

/// Generates dynamic credentials from BeyondTrust Workload Credentials (kind
/// `BeyondtrustWorkloadCredentialsDynamicSecret`).
///
/// `provider.folderPath` names the dynamic secret definition, `folder/.../name`. The
/// generator calls `POST {apiUrl}/{siteId}/secrets/dynamic/{name}/generate?folder={folder}`
/// (no `folder` for a definition at the root) with the API token of `provider.auth.apikey.
/// token` as a bearer token and the `bt-secrets-api-version` header; TLS trusts the
/// platform's roots, the embedder's and `provider.caBundle` or `provider.caProvider`.
///
/// Output, as ESO's: `accessKeyId`, `secretAccessKey`, `leaseId`, `expiration` and, when the
/// answer has one, `sessionToken`. The state is ESO's (`{"path": folderPath}`); as with
/// ESO, cleanup revokes nothing (the credentials end with their lease). The call is not
/// retried (each one creates a lease); `retrySettings` is accepted and, as in ESO, unused.
///
/// Errors start with the kind, carry BeyondTrust's `error` and `message`, name the field to
/// fix (`spec.provider.folderPath` for an unknown definition) and never contain the API
/// token or a generated value. 401 is [`Error::Unauthenticated`], 403
/// [`Error::PermissionDenied`].
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_generators::register_generators(&mut registry);
/// assert!(registry.get("BeyondtrustWorkloadCredentialsDynamicSecret").is_ok());
/// ```
#[derive(Debug, Default)]
pub struct BeyondtrustWorkloadCredentialsDynamicSecret {
    http: TokenClient,
}

/// ESO's state of the generator.
#[derive(Debug, Serialize, Deserialize)]
struct DynamicState {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    path: String,
}

/// The generated secret, as the API wraps it in `{"secret": ...}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Generated {
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    secret_access_key: String,
    #[serde(default)]
    session_token: String,
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    expiration: String,
}

#[derive(Deserialize)]
struct Wrapped {
    secret: Generated,
}

impl BeyondtrustWorkloadCredentialsDynamicSecret {
    /// The generator, trusting the platform's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem`. An error if `pem` holds no
    /// certificate.
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        self.http.add_roots(pem, KIND)?;
        Ok(self)
    }

    /// The client for `provider`: with its CA bundle when it names one.
    async fn client(
        &self,
        ctx: &GeneratorContext<'_>,
        provider: &BeyondtrustWorkloadCredentialsProvider,
    ) -> Result<reqwest::Client> {
        let ca = ctx
            .credentials()
            .ca_bundle(
                provider.ca_bundle.as_deref(),
                provider.ca_provider.as_ref(),
                "spec.provider",
            )
            .await?;
        match ca {
            Some(pem) => self
                .http
                .with_spec_roots(&pem, KIND, "spec.provider.caBundle"),
            None => self.http.get(KIND).cloned(),
        }
    }
}

/// The generate URL of `provider`: `{apiUrl}/{siteId}/secrets/dynamic/{name}/generate`,
/// with `?folder=` when the definition is in a folder.
fn generate_url(provider: &BeyondtrustWorkloadCredentialsProvider) -> Result<reqwest::Url> {
    let mut errors = eso_core::api::ValidationErrors::new();
    provider.validate_at("spec.provider", &mut errors);
    errors
        .into_result()
        .map_err(|e| Error::invalid_config("spec.provider", format!("{KIND}: {e}")))?;
    let server = provider
        .server
        .as_ref()
        .ok_or_else(|| Error::invalid_config("spec.provider.server", "is required"))?;
    let api_url = server.api_url.trim();
    if !api_url.starts_with("https://") {
        return Err(Error::invalid_config(
            "spec.provider.server.apiUrl",
            format!("{KIND}: must be an https:// URL"),
        ));
    }
    if !is_uuid_v4(server.site_id.trim()) {
        return Err(Error::invalid_config(
            "spec.provider.server.siteId",
            format!("{KIND}: must be a UUID (version 4)"),
        ));
    }
    let full = provider.folder_path.trim();
    let (folder, name) = match full.rsplit_once('/') {
        Some((f, n)) => (Some(f).filter(|f| !f.is_empty()), n),
        None => (None, full),
    };
    if name.is_empty() {
        return Err(Error::invalid_config(
            "spec.provider.folderPath",
            format!("{KIND}: must name a dynamic secret definition (folder/.../name)"),
        ));
    }
    let base = format!(
        "{}/{}/secrets/dynamic",
        api_url.trim_end_matches('/'),
        server.site_id.trim()
    );
    let mut url = reqwest::Url::parse(&base).map_err(|e| {
        Error::invalid_config("spec.provider.server.apiUrl", format!("{KIND}: {e}"))
    })?;
    url.path_segments_mut()
        .map_err(|()| Error::invalid_config("spec.provider.server.apiUrl", "cannot be a base"))?
        .push(name)
        .push("generate");
    if let Some(f) = folder {
        url.query_pairs_mut().append_pair("folder", f);
    }
    Ok(url)
}

/// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in hexadecimal, `y` one of `89ab` (what ESO
/// accepts as a site ID).
fn is_uuid_v4(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b', 'A', 'B'])
}

/// BeyondTrust's error text: `error` and `message` (and `details`), as the API sends them.
fn api_message(answer: &Value) -> String {
    let mut parts: Vec<String> = ["error", "message"]
        .iter()
        .filter_map(|k| answer[*k].as_str().filter(|s| !s.is_empty()))
        .map(str::to_owned)
        .collect();
    if let Some(d) = answer["details"].as_object().filter(|d| !d.is_empty()) {
        parts.push(format!("(details: {})", Value::Object(d.clone())));
    }
    if parts.is_empty() {
        "unexpected response".to_owned()
    } else {
        parts.join(": ")
    }
}

#[async_trait]
impl Generator for BeyondtrustWorkloadCredentialsDynamicSecret {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec: &BeyondtrustWorkloadCredentialsDynamicSecretSpec = ctx.spec_of(KIND, |s| {
            s.beyondtrust_workload_credentials_dynamic_secret_spec
                .as_ref()
        })?;
        let provider = &spec.provider;
        let url = generate_url(provider)?;
        let token_ref = provider
            .auth
            .as_ref()
            .map(|a| &a.api_key.token)
            .ok_or_else(|| Error::invalid_config("spec.provider.auth", "is required"))?;
        let token = ctx
            .credentials()
            .secret_text(token_ref, None, TOKEN_FIELD)
            .await?;
        let client = self.client(ctx, provider).await?;
        let shown = url.path().to_owned();
        let what = format!("{KIND}: POST {shown}");
        let response = client
            .post(url)
            .bearer_auth(token.expose_str().unwrap_or_default())
            .header("bt-secrets-api-version", BEYONDTRUST_API_VERSION)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        if !matches!(status, 200 | 201) {
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let message = format!("{what}: HTTP {status}: {}", api_message(&answer));
            return Err(match status {
                404 => Error::invalid_config("spec.provider.folderPath", message),
                400 => Error::invalid_config("spec.provider", message),
                _ => error_for_status(status, &shown, message),
            });
        }
        // The answer holds the credentials: a parse error must not quote it.
        let Wrapped { secret } = serde_json::from_slice(&bytes).map_err(|e| {
            Error::generic(format!(
                "{what}: the answer is not a generated secret (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let mut data = SecretMap::new();
        data.insert("accessKeyId".into(), secret.access_key_id.into());
        data.insert("secretAccessKey".into(), secret.secret_access_key.into());
        data.insert("leaseId".into(), secret.lease_id.into());
        data.insert("expiration".into(), secret.expiration.into());
        if !secret.session_token.is_empty() {
            data.insert("sessionToken".into(), secret.session_token.into());
        }
        let state = serde_json::to_value(DynamicState {
            path: provider.folder_path.clone(),
        })
        .map_err(|e| Error::generic(format!("{KIND}: cannot record the state: {e}")))?;
        Ok(GeneratorOutput::new(data).with_state(state))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, state: &Value) -> Result<()> {
        // ESO revokes nothing here: the lease ends on its own. The state must still be ours.
        serde_json::from_value::<DynamicState>(state.clone())
            .map(drop)
            .map_err(|e| Error::generic(format!("{KIND}: the generator state is not ours: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn provider(folder: &str) -> BeyondtrustWorkloadCredentialsProvider {
        serde_json::from_value(json!({
            "auth": {"apikey": {"token": {"name": "bt", "key": "token"}}},
            "server": {"apiUrl": "https://bt.example/siie/",
                "siteId": "a1b2c3d4-e5f6-4890-abcd-ef1234567890"},
            "folderPath": folder,
        }))
        .unwrap()
    }

    #[test]
    fn the_url_splits_folder_and_name() {
        let u = generate_url(&provider("production/aws/aws-temp")).unwrap();
        assert_eq!(
            u.as_str(),
            "https://bt.example/siie/a1b2c3d4-e5f6-4890-abcd-ef1234567890/secrets/dynamic/aws-temp/generate?folder=production%2Faws"
        );
        let u = generate_url(&provider("aws temp")).unwrap();
        assert!(u.as_str().ends_with("/dynamic/aws%20temp/generate"), "{u}");
        let e = generate_url(&provider("production/")).unwrap_err();
        assert!(e.to_string().contains("spec.provider.folderPath"), "{e}");
    }

    #[test]
    fn the_server_is_https_and_the_site_a_uuid() {
        let mut p = provider("aws-temp");
        p.server.as_mut().unwrap().api_url = "http://bt.example".into();
        let e = generate_url(&p).unwrap_err().to_string();
        assert!(e.contains("spec.provider.server.apiUrl"), "{e}");
        let mut p = provider("aws-temp");
        p.server.as_mut().unwrap().site_id = "a1b2c3d4-e5f6-1890-abcd-ef1234567890".into();
        let e = generate_url(&p).unwrap_err().to_string();
        assert!(e.contains("spec.provider.server.siteId"), "{e}");
        assert!(!is_uuid_v4("a1b2c3d4-e5f6-4890-cbcd-ef1234567890"));
    }

    #[test]
    fn the_state_is_esos_and_the_message_is_the_apis() {
        let s = serde_json::to_value(DynamicState {
            path: "production/aws-temp".into(),
        })
        .unwrap();
        assert_eq!(s, json!({"path": "production/aws-temp"}));
        let m = api_message(&json!({"error": "not_found", "message": "no such secret"}));
        assert_eq!(m, "not_found: no such secret");
        assert_eq!(api_message(&Value::Null), "unexpected response");
    }
}
