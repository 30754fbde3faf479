//! The `GithubAccessToken` generator: a GitHub App's installation access token.

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eso_core::api::GithubAccessTokenSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreRetry, error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::http::TokenClient;

/// The generator kind.
const KIND: &str = "GithubAccessToken";
/// The API of github.com, used when `spec.url` is unset.
pub const GITHUB_API_URL: &str = "https://api.github.com";
/// How far back the JWT's `iat` is dated, for clocks that run ahead of GitHub's.
const JWT_BACKDATE_SECS: i64 = 60;
/// The JWT's lifetime after now (GitHub accepts at most ten minutes from `iat` to `exp`).
const JWT_TTL_SECS: i64 = 300;
/// The field of the private key reference, as errors name it.
const KEY_FIELD: &str = "spec.auth.privateKey.secretRef";

/// Mints a GitHub App installation access token (kind `GithubAccessToken`).
///
/// The App authenticates with a JWT signed RS256 by its private key (`auth.privateKey.
/// secretRef`, a PEM `RSA PRIVATE KEY` as GitHub hands it out, or PKCS#8 `PRIVATE KEY`): `iss`
/// is `appID`, `iat` one minute ago, `exp` five minutes ahead. With it the generator calls
/// `POST {url}/app/installations/{installID}/access_tokens`, asking for `repositories` and
/// `permissions` when they are set (all the installation's otherwise). `url` defaults to
/// `https://api.github.com`; for GitHub Enterprise Server it is the API root, e.g.
/// `https://github.example.com/api/v3`.
///
/// Output: `token` (the `ghs_...` token), as ESO's. GitHub's tokens expire after one hour:
/// refresh well within that. Stateless: nothing to revoke on cleanup (the token expires).
///
/// Errors start with `GithubAccessToken`, carry GitHub's `message` and name the spec field
/// they are about; they never contain the private key, the JWT or the token. Temporary
/// failures (no answer, 429, 5xx) are retried twice, a second apart.
///
/// HTTPS uses the platform's trusted roots (on Linux the system store, `SSL_CERT_FILE`);
/// [`GithubAccessToken::with_root_certificates`] adds more, for a GitHub Enterprise Server
/// behind a private CA.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::GithubAccessToken;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let pem = std::fs::read("app.private-key.pem").unwrap();
/// let cluster: DynCluster = Arc::new(
///     MemoryCluster::new().with_secret(KubeSecret::new("default", "github-app").with_data("key", pem)),
/// );
/// let spec = eso_core::api::GeneratorSpec::parse("GithubAccessToken", serde_json::json!({
///     "appID": "123456",
///     "installID": "7891011",
///     "repositories": ["infra"],
///     "permissions": {"contents": "read"},
///     "auth": {"privateKey": {"secretRef": {"name": "github-app", "key": "key"}}},
/// }))?;
/// let out = GithubAccessToken::new()
///     .generate(&GeneratorContext::new(&spec, "default", &cluster))
///     .await?;
/// assert!(out.data.contains_key("token"));
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct GithubAccessToken {
    http: TokenClient,
}

impl GithubAccessToken {
    /// The generator, trusting the platform's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem` (a private CA of a GitHub
    /// Enterprise Server). An error if `pem` holds no certificate.
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        self.http.add_roots(pem, KIND)?;
        Ok(self)
    }

    async fn once(&self, spec: &GithubAccessTokenSpec, key: &RsaKeyPair) -> Result<SecretMap> {
        let url = endpoint(spec)?;
        let jwt = Zeroizing::new(app_jwt(
            key,
            &spec.app_id,
            jiff::Timestamp::now().as_second(),
        )?);
        let body = TokenRequest {
            repositories: spec.repositories.as_ref().filter(|r| !r.is_empty()),
            permissions: spec.permissions.as_ref(),
        };
        let mut request = self
            .http
            .get(KIND)?
            .post(&url)
            .bearer_auth(jwt.as_str())
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if body.repositories.is_some() || body.permissions.is_some() {
            request = request.json(&body);
        }
        let what = format!("{KIND}: POST {url}");
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        // A body that is not JSON is read as no body: its text is not quoted anywhere.
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let message = answer["message"].as_str().unwrap_or("no message");
            let message = format!("{what}: HTTP {status}: {message}");
            return Err(match status {
                // Not "secret not found": nothing to delete, the spec points nowhere.
                404 => Error::invalid_config(
                    "spec.installID",
                    format!("{message} (no such installation of the app at spec.url)"),
                ),
                422 => Error::invalid_config("spec", message),
                _ => error_for_status(status, &url, message),
            });
        }
        let token = answer["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::generic(format!("{what}: the answer has no token")))?;
        let mut data = SecretMap::new();
        data.insert("token".into(), SecretValue::from(token));
        Ok(data)
    }
}

#[async_trait]
impl Generator for GithubAccessToken {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(KIND, |s| s.github_access_token_spec.as_ref())?;
        if spec.app_id.trim().is_empty() {
            return Err(Error::invalid_config("spec.appID", "is required"));
        }
        let pem = ctx
            .credentials()
            .secret(&spec.auth.private_key.secret_ref, None, KEY_FIELD)
            .await?;
        let key = private_key(pem.expose())?;
        let data = StoreRetry::default().run(|| self.once(spec, &key)).await?;
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        Ok(())
    }
}

/// The body of the token request: only what the spec sets.
#[derive(Serialize)]
struct TokenRequest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    repositories: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<&'a std::collections::BTreeMap<String, String>>,
}

/// `{url}/app/installations/{installID}/access_tokens`.
fn endpoint(spec: &GithubAccessTokenSpec) -> Result<String> {
    let install = spec.install_id.trim();
    if install.is_empty() || !install.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_config(
            "spec.installID",
            "must be the installation's numeric ID",
        ));
    }
    let base = spec
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(GITHUB_API_URL)
        .trim_end_matches('/');
    let parsed = reqwest::Url::parse(base)
        .map_err(|e| Error::invalid_config("spec.url", format!("not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(Error::invalid_config("spec.url", "must be an http(s) URL"));
    }
    Ok(format!("{base}/app/installations/{install}/access_tokens"))
}

/// Parses the App's private key: PKCS#1 `RSA PRIVATE KEY` (what GitHub hands out) or PKCS#8
/// `PRIVATE KEY`. Errors name the field and never quote the key.
fn private_key(pem: &[u8]) -> Result<RsaKeyPair> {
    let bad = |m: &str| Error::invalid_config(KEY_FIELD, format!("{KIND}: {m}"));
    for block in eso_core::pem::blocks(pem).filter_map(std::result::Result::ok) {
        let der = Zeroizing::new(block.der);
        match block.label.as_str() {
            "RSA PRIVATE KEY" => {
                return RsaKeyPair::from_der(&der).map_err(|_| bad("not a valid RSA private key"));
            }
            "PRIVATE KEY" => {
                return RsaKeyPair::from_pkcs8(&der)
                    .map_err(|_| bad("not an RSA private key (GitHub Apps use RSA)"));
            }
            _ => {}
        }
    }
    Err(bad(
        "holds no PEM private key (RSA PRIVATE KEY or PRIVATE KEY)",
    ))
}

/// The App's JWT at `now` (Unix seconds): RS256, `iss` = the App ID, `iat` backdated a
/// minute, `exp` five minutes ahead.
fn app_jwt(key: &RsaKeyPair, app_id: &str, now: i64) -> Result<String> {
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": app_id.trim(),
        "iat": now - JWT_BACKDATE_SECS,
        "exp": now + JWT_TTL_SECS,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| Error::generic(format!("{KIND}: cannot sign the App's JWT")))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{KeyPair as _, UnparsedPublicKey};
    use eso_core::cluster::{KubeSecret, MemoryCluster};
    use serde_json::json;

    use super::*;
    use crate::test_util::{run, run_with};

    fn test_key() -> (RsaKeyPair, String) {
        let pkcs8 = RsaKeyPair::generate(KeySize::Rsa2048)
            .unwrap()
            .as_der()
            .unwrap();
        let pem = eso_core::pem::encode("PRIVATE KEY", pkcs8.as_ref());
        (RsaKeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(), pem)
    }

    fn spec(url: &str, install: &str) -> Value {
        json!({"url": url, "appID": "42", "installID": install,
            "auth": {"privateKey": {"secretRef": {"name": "gh", "key": "key"}}}})
    }

    #[test]
    fn the_jwt_is_rs256_signed_with_the_app_claims() {
        let (key, _) = test_key();
        let jwt = app_jwt(&key, " 42 ", 1_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let decode = |p: &str| -> Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
        };
        assert_eq!(decode(parts[0]), json!({"alg": "RS256", "typ": "JWT"}));
        assert_eq!(
            decode(parts[1]),
            json!({"iss": "42", "iat": 999_940, "exp": 1_000_300})
        );
        let public = UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            key.public_key().as_ref(),
        );
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn bad_keys_name_the_field_and_never_quote_the_key() {
        let (_, pem) = test_key();
        let broken = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        for (input, expected) in [
            ("not pem at all", "holds no PEM private key"),
            (broken.as_str(), "not a valid RSA private key"),
        ] {
            let e = private_key(input.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(KEY_FIELD) && e.contains(expected), "{e}");
            assert!(!e.contains("MII"), "{e}");
        }
        assert!(private_key(pem.as_bytes()).is_ok());
    }

    #[test]
    fn endpoint_follows_url_and_checks_the_install_id() {
        let s = |v: Value| -> GithubAccessTokenSpec { serde_json::from_value(v).unwrap() };
        let mut v = spec("https://ghe.example.com/api/v3/", "77");
        assert_eq!(
            endpoint(&s(v.clone())).unwrap(),
            "https://ghe.example.com/api/v3/app/installations/77/access_tokens"
        );
        v.as_object_mut().unwrap().remove("url");
        assert_eq!(
            endpoint(&s(v)).unwrap(),
            "https://api.github.com/app/installations/77/access_tokens"
        );
        let e = endpoint(&s(spec("https://x", "../77"))).unwrap_err();
        assert!(e.to_string().contains("spec.installID"), "{e}");
        let e = endpoint(&s(spec("ftp://x", "77"))).unwrap_err();
        assert!(e.to_string().contains("spec.url"), "{e}");
    }

    #[test]
    fn a_missing_key_secret_names_the_reference() {
        let e = run(&GithubAccessToken::new(), spec("https://x", "1")).unwrap_err();
        assert!(e.to_string().contains(KEY_FIELD), "{e}");
        let cluster = MemoryCluster::new()
            .with_secret(KubeSecret::new("default", "gh").with_data("key", "x"));
        let e = run_with(&GithubAccessToken::new(), spec("https://x", "1"), cluster).unwrap_err();
        assert!(e.to_string().contains("holds no PEM private key"), "{e}");
    }

    #[test]
    fn root_certificates_must_be_pem() {
        assert!(
            GithubAccessToken::new()
                .with_root_certificates(b"nothing")
                .is_err()
        );
    }
}
