//! The HTTP client of the token generators (GitHub, GitLab, Grafana, Quay, Cloudsmith,
//! BeyondTrust): one per generator value, built on first use, trusting the platform's roots
//! plus the ones the embedder adds (and, for a spec naming its own CA, one more per call).

use std::sync::OnceLock;
use std::time::Duration;

use eso_core::{Error, Result};

/// A lazily built client with extra trusted roots. It holds no credentials: every call
/// carries its own.
#[derive(Debug, Default)]
pub(crate) struct TokenClient {
    roots: Vec<reqwest::Certificate>,
    http: OnceLock<reqwest::Client>,
}

impl TokenClient {
    /// Adds the certificates of the PEM bundle `pem`; `kind` names the generator in errors.
    pub(crate) fn add_roots(&mut self, pem: &[u8], kind: &str) -> Result<()> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::generic(format!("{kind}: no PEM certificate in the bundle")))?;
        self.roots.extend(certs);
        self.http = OnceLock::new();
        Ok(())
    }

    /// The client, built on first use.
    pub(crate) fn get(&self, kind: &str) -> Result<&reqwest::Client> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let client = self.build(&[], kind)?;
        Ok(self.http.get_or_init(|| client))
    }

    /// A client that also trusts the PEM bundle `pem` (a CA the generator's spec names), built
    /// for one generation; `field` names where the bundle came from in errors.
    #[cfg_attr(not(feature = "beyondtrust"), allow(dead_code))]
    pub(crate) fn with_spec_roots(
        &self,
        pem: &[u8],
        kind: &str,
        field: &str,
    ) -> Result<reqwest::Client> {
        let extra = reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid_config(field, "no PEM certificate in the bundle"))?;
        self.build(&extra, kind)
    }

    fn build(&self, extra: &[reqwest::Certificate], kind: &str) -> Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("eso-rs/", env!("CARGO_PKG_VERSION")));
        for c in self.roots.iter().chain(extra) {
            builder = builder.add_root_certificate(c.clone());
        }
        builder
            .build()
            .map_err(|e| Error::unavailable(format!("{kind}: cannot build the HTTP client"), e))
    }
}

/// The `exp` claim of the JWT `token`, in Unix seconds as text (how ESO writes the `expiry`
/// key of the Quay and Cloudsmith generators); `None` when `token` is not a JWT with a
/// numeric `exp`.
#[cfg(any(feature = "quay", feature = "cloudsmith"))]
pub(crate) fn jwt_expiry(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    match &claims["exp"] {
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        serde_json::Value::Number(n) => n.as_f64().map(|f| format!("{f}")),
        _ => None,
    }
}

#[cfg(all(test, any(feature = "quay", feature = "cloudsmith")))]
mod tests {
    use base64::Engine as _;

    use super::jwt_expiry;

    #[test]
    fn the_expiry_is_the_exp_claim() {
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"RS256"}"#),
            enc(r#"{"exp":1733600000}"#)
        );
        assert_eq!(jwt_expiry(&jwt).as_deref(), Some("1733600000"));
        let no_exp = format!("{}.{}.sig", enc("{}"), enc(r#"{"sub":"x"}"#));
        assert_eq!(jwt_expiry(&no_exp), None);
        assert_eq!(jwt_expiry("not-a-jwt"), None);
    }
}
