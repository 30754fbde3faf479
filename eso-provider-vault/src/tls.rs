//! TLS for the Vault client: the server CA (`caBundle` / `caProvider`) and client certificates
//! (`tls.certSecretRef` / `tls.keySecretRef` for mTLS, `auth.cert` for cert login), all on
//! rustls.

use std::time::Duration;

use base64::Engine as _;
use eso_core::api::VaultProvider;
use eso_core::{Error, Result, SecretValue};
use reqwest::{Certificate, Identity};

use crate::refs::Refs;

/// The trust and identity material of one store, resolved from the cluster.
#[derive(Default)]
pub(crate) struct TlsMaterial {
    /// PEM of the CA bundle to trust instead of the system roots.
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// Client certificate and key (PEM), for mTLS.
    pub(crate) identity: Option<(SecretValue, SecretValue)>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &self.ca_pem.as_ref().map(Vec::len))
            .field("identity", &self.identity.as_ref().map(|_| "******"))
            .finish()
    }
}

/// Accepts a PEM bundle, or base64 of one (once or twice, as ESO does for `[]byte` fields).
pub(crate) fn decode_pem_bundle(raw: &[u8], field: &str) -> Result<Vec<u8>> {
    let mut cur = raw.to_vec();
    for _ in 0..3 {
        if contains_pem(&cur) {
            return Ok(cur);
        }
        let compact: Vec<u8> = cur
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(&compact) {
            Ok(d) => cur = d,
            Err(_) => break,
        }
    }
    Err(Error::invalid_config(
        field,
        "is neither a PEM certificate bundle nor base64 of one",
    ))
}

fn contains_pem(b: &[u8]) -> bool {
    b.windows(11).any(|w| w == b"-----BEGIN ")
}

fn certificates(pem: &[u8], field: &str) -> Result<Vec<Certificate>> {
    let certs = Certificate::from_pem_bundle(pem)
        .map_err(|_| Error::invalid_config(field, "cannot parse the PEM certificates"))?;
    if certs.is_empty() {
        return Err(Error::invalid_config(field, "holds no certificate"));
    }
    Ok(certs)
}

/// Reads the CA and mTLS material the spec points at.
pub(crate) async fn material(
    spec: &VaultProvider,
    refs: &Refs,
    field: &str,
) -> Result<TlsMaterial> {
    let mut m = TlsMaterial::default();
    if let Some(b) = spec.ca_bundle.as_deref().filter(|b| !b.is_empty()) {
        let path = format!("{field}.caBundle");
        let pem = decode_pem_bundle(b.as_bytes(), &path)?;
        certificates(&pem, &path)?;
        m.ca_pem = Some(pem);
    } else if let Some(ca) = &spec.ca_provider {
        let path = format!("{field}.caProvider");
        let raw = refs.ca_provider(ca, &path).await?;
        let pem = decode_pem_bundle(&raw, &path)?;
        certificates(&pem, &path)?;
        m.ca_pem = Some(pem);
    }
    if let Some(tls) = &spec.tls
        && let (Some(cert), Some(key)) = (&tls.cert_secret_ref, &tls.key_secret_ref)
    {
        let cert = refs
            .secret(cert, Some("tls.crt"), &format!("{field}.tls.certSecretRef"))
            .await?;
        let key = refs
            .secret(key, Some("tls.key"), &format!("{field}.tls.keySecretRef"))
            .await?;
        m.identity = Some((cert, key));
    }
    Ok(m)
}

/// Builds a reqwest client trusting `ca_pem` (or the system roots) and presenting `identity`.
pub(crate) fn build_client(
    ca_pem: Option<&[u8]>,
    identity: Option<(&SecretValue, &SecretValue)>,
    field: &str,
) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("eso-rs/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = ca_pem {
        b = b.tls_certs_only(certificates(pem, field)?);
    }
    if let Some((cert, key)) = identity {
        let mut pem = Vec::with_capacity(cert.len() + key.len() + 1);
        pem.extend_from_slice(cert.expose());
        pem.push(b'\n');
        pem.extend_from_slice(key.expose());
        let id = Identity::from_pem(&pem).map_err(|_| {
            Error::invalid_config(
                field,
                "cannot use the client certificate and key (expected PEM certificate and PKCS#8, PKCS#1 or SEC1 key)",
            )
        });
        zeroize_vec(pem);
        b = b.identity(id?);
    }
    b.build()
        .map_err(|e| Error::invalid_config(field, format!("cannot build the HTTP client: {e}")))
}

fn zeroize_vec(v: Vec<u8>) {
    drop(SecretValue::new(v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBADCBsw==\n-----END CERTIFICATE-----\n";

    #[test]
    fn pem_plain_or_base64() {
        assert_eq!(
            decode_pem_bundle(PEM.as_bytes(), "f").unwrap(),
            PEM.as_bytes()
        );
        let once = STANDARD.encode(PEM);
        assert_eq!(
            decode_pem_bundle(once.as_bytes(), "f").unwrap(),
            PEM.as_bytes()
        );
        let twice = STANDARD.encode(&once);
        assert_eq!(
            decode_pem_bundle(twice.as_bytes(), "f").unwrap(),
            PEM.as_bytes()
        );
        let err = decode_pem_bundle(b"not a cert", "spec.provider.vault.caBundle").unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.provider.vault.caBundle: is neither a PEM certificate bundle nor base64 of one"
        );
    }

    #[test]
    fn bad_identity_is_a_config_error() {
        let e = build_client(
            None,
            Some((&SecretValue::from("nope"), &SecretValue::from("secret-key"))),
            "spec.provider.vault.tls",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("spec.provider.vault.tls:"));
        assert!(!e.to_string().contains("secret-key"));
    }
}
