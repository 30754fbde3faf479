//! The `QuayAccessToken` generator: a robot account token by OIDC federation with a
//! Kubernetes ServiceAccount token.

use async_trait::async_trait;
use base64::Engine as _;
use eso_core::api::QuayAccessTokenSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use serde_json::Value;

use crate::http::{TokenClient, jwt_expiry};

/// The generator kind.
const KIND: &str = "QuayAccessToken";
/// The Quay used when `spec.url` is unset.
pub const QUAY_URL: &str = "quay.io";
/// How long the requested ServiceAccount token lives (the TokenRequest minimum): it is
/// exchanged right away.
pub(crate) const SA_TOKEN_SECONDS: i64 = 600;

/// Exchanges a ServiceAccount token for a Quay robot account token (kind
/// `QuayAccessToken`).
///
/// A token of `serviceAccountRef` (in the consumer's namespace, for its `audiences`) is
/// requested from the cluster (TokenRequest API) and sent as the password of the robot
/// account `robotAccount` (`organization+name`) to `GET https://{url}/oauth2/federation/
/// robot/token`, Quay's robot federation endpoint; Quay checks it against the issuer and
/// subject configured on the robot account and answers a short-lived robot token. `url` is a
/// host (default `quay.io`) or an `https://` URL; as with ESO, the scheme is dropped and
/// HTTPS always used.
///
/// Output, as ESO's: `registry` (the `url` without scheme), `auth` (base64 of
/// `robotAccount:token`, the value of a `.dockerconfigjson` entry) and `expiry` (the token's
/// `exp` claim, Unix seconds). Nothing is kept: the token expires on its own.
///
/// Errors start with `QuayAccessToken`, name the field to fix (`spec.robotAccount` for an
/// unknown robot account, `spec.serviceAccountRef` when the cluster cannot issue the token)
/// and never contain either token. 401 is [`Error::Unauthenticated`] (Quay rejected the
/// federated token), 403 [`Error::PermissionDenied`].
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_generators::register_generators(&mut registry);
/// assert!(registry.get("QuayAccessToken").is_ok());
/// ```
#[derive(Debug, Default)]
pub struct QuayAccessToken {
    http: TokenClient,
}

impl QuayAccessToken {
    /// The generator, trusting the platform's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem` (a private CA of a self-hosted
    /// Quay). An error if `pem` holds no certificate.
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        self.http.add_roots(pem, KIND)?;
        Ok(self)
    }
}

/// `spec.url` without scheme or trailing `/` (`quay.io` when unset).
fn registry(spec: &QuayAccessTokenSpec) -> Result<&str> {
    let url = spec.url.as_deref().map(str::trim).unwrap_or_default();
    if url.starts_with("http://") {
        return Err(Error::invalid_config(
            "spec.url",
            format!("{KIND}: must be a host or an https:// URL"),
        ));
    }
    let host = url.strip_prefix("https://").unwrap_or(url);
    let host = host.trim_end_matches('/');
    Ok(if host.is_empty() { QUAY_URL } else { host })
}

#[async_trait]
impl Generator for QuayAccessToken {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(KIND, |s| s.quay_access_token_spec.as_ref())?;
        let robot = spec.robot_account.trim();
        if robot.is_empty() {
            return Err(Error::invalid_config(
                "spec.robotAccount",
                format!("{KIND}: is required"),
            ));
        }
        let registry = registry(spec)?;
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
        let url = format!("https://{registry}/oauth2/federation/robot/token");
        let what = format!("{KIND}: GET {url}");
        let response = self
            .http
            .get(KIND)?
            .get(&url)
            .basic_auth(robot, sa_token.expose_str())
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status != 200 {
            let message = format!("{what}: HTTP {status}: {}", quay_message(&answer));
            return Err(match status {
                400 | 404 => Error::invalid_config("spec.robotAccount", message),
                _ => error_for_status(status, &url, message),
            });
        }
        let token = answer["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::generic(format!("{what}: the answer has no token")))?;
        let expiry = jwt_expiry(token).ok_or_else(|| {
            Error::generic(format!(
                "{what}: the robot token is not a JWT with an exp claim"
            ))
        })?;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{robot}:{token}"));
        let mut data = SecretMap::new();
        data.insert("registry".into(), SecretValue::from(registry));
        data.insert("auth".into(), SecretValue::from(auth));
        data.insert("expiry".into(), SecretValue::from(expiry));
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        // Nothing is kept: the token expires on its own.
        Ok(())
    }
}

/// Quay's error text: `error_description`, `detail`, `message` or `error`, whichever the
/// answer has.
fn quay_message(answer: &Value) -> &str {
    ["error_description", "detail", "message", "error"]
        .iter()
        .find_map(|k| answer[*k].as_str())
        .unwrap_or("no message")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(url: Option<&str>) -> QuayAccessTokenSpec {
        serde_json::from_value(json!({"url": url, "robotAccount": "org+ci",
            "serviceAccountRef": {"name": "builder"}}))
        .unwrap()
    }

    #[test]
    fn the_registry_is_the_url_without_scheme() {
        assert_eq!(registry(&spec(None)).unwrap(), "quay.io");
        assert_eq!(
            registry(&spec(Some("https://quay.example/"))).unwrap(),
            "quay.example"
        );
        assert_eq!(
            registry(&spec(Some("quay.example:8443"))).unwrap(),
            "quay.example:8443"
        );
        let e = registry(&spec(Some("http://quay.example"))).unwrap_err();
        assert!(e.to_string().contains("spec.url"), "{e}");
    }

    #[test]
    fn without_a_token_issuer_the_error_names_the_field() {
        let e = crate::test_util::run(
            &QuayAccessToken::new(),
            json!({"robotAccount": "org+ci", "serviceAccountRef": {"name": "builder"}}),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(KIND) && text.contains("spec.serviceAccountRef"),
            "{text}"
        );
    }
}
