//! TLS for the Vault client: the server CA (`caBundle` / `caProvider`) and client certificates
//! (`tls.certSecretRef` / `tls.keySecretRef` for mTLS, `auth.cert` for cert login), all on
//! rustls.

use std::time::Duration;

use eso_core::api::VaultProvider;
use eso_core::{Error, Result, SecretValue};
use reqwest::{Certificate, Identity};

use eso_core::provider::Credentials;

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
    creds: &Credentials,
    field: &str,
) -> Result<TlsMaterial> {
    let mut m = TlsMaterial::default();
    let ca = creds
        .ca_bundle(spec.ca_bundle.as_deref(), spec.ca_provider.as_ref(), field)
        .await?;
    if let Some(pem) = ca {
        let path = if spec.ca_bundle.as_deref().is_some_and(|b| !b.is_empty()) {
            format!("{field}.caBundle")
        } else {
            format!("{field}.caProvider")
        };
        certificates(&pem, &path)?;
        m.ca_pem = Some(pem);
    }
    if let Some(tls) = &spec.tls
        && let (Some(cert), Some(key)) = (&tls.cert_secret_ref, &tls.key_secret_ref)
    {
        let cert = creds
            .secret(cert, Some("tls.crt"), &format!("{field}.tls.certSecretRef"))
            .await?;
        let key = creds
            .secret(key, Some("tls.key"), &format!("{field}.tls.keySecretRef"))
            .await?;
        m.identity = Some((cert, key));
    }
    Ok(m)
}

/// Builds a reqwest client trusting `ca_pem` (or the system roots) and presenting `identity`,
/// giving up on a request after `timeout`.
pub(crate) fn build_client(
    timeout: Duration,
    ca_pem: Option<&[u8]>,
    identity: Option<(&SecretValue, &SecretValue)>,
    field: &str,
) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
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

    #[test]
    fn bad_identity_is_a_config_error() {
        let e = build_client(
            Duration::from_secs(1),
            None,
            Some((&SecretValue::from("nope"), &SecretValue::from("secret-key"))),
            "spec.provider.vault.tls",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("spec.provider.vault.tls:"));
        assert!(!e.to_string().contains("secret-key"));
    }
}
