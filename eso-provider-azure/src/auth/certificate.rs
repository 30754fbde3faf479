//! Client-certificate credentials without OpenSSL: the client assertion Entra ID expects
//! (a JWT with the certificate's SHA-1 thumbprint as `x5t`, signed with its private key,
//! RS256 for RSA keys, ES256 for P-256 keys) built with aws-lc-rs, and handed to the SDK's
//! `ClientAssertionCredential`.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
use azure_core::http::ClientMethodOptions;
use azure_identity::ClientAssertion;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eso_core::pem;
use eso_core::{Error, Result};

/// Lifetime of one assertion.
const ASSERTION_SECS: i64 = 600;

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A certificate and its private key, signing client assertions for one token endpoint.
#[derive(Clone)]
pub(crate) struct CertificateAssertion {
    key: Arc<Key>,
    x5t: String,
    client_id: String,
    audience: String,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("client_id", &self.client_id)
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

/// The DER of every `label` block of `text` (malformed blocks are skipped, as Go does).
fn blocks(text: &str, label: &str) -> Vec<Vec<u8>> {
    pem::blocks(text)
        .filter_map(Result::ok)
        .filter(|b| b.label == label)
        .map(|b| b.der)
        .collect()
}

impl CertificateAssertion {
    /// Parses `pem` (the certificate and its key: PKCS#8, PKCS#1 RSA or SEC1 EC P-256 PEM)
    /// for `client_id` at the token endpoint `audience`. Errors name `field`.
    pub(crate) fn from_pem(
        pem: &[u8],
        client_id: &str,
        audience: String,
        field: &str,
    ) -> Result<Self> {
        let bad = |m: &str| Error::invalid_config(field, m.to_owned());
        let text = std::str::from_utf8(pem).map_err(|_| bad("is not PEM text"))?;
        let cert = blocks(text, "CERTIFICATE")
            .into_iter()
            .next()
            .ok_or_else(|| bad("holds no CERTIFICATE block"))?;
        let key = if let Some(der) = blocks(text, "PRIVATE KEY").into_iter().next() {
            match RsaKeyPair::from_pkcs8(&der) {
                Ok(k) => Key::Rsa(k),
                Err(_) => Key::Ec(
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                        .map_err(|_| bad("the private key is neither RSA nor EC P-256"))?,
                ),
            }
        } else if let Some(der) = blocks(text, "RSA PRIVATE KEY").into_iter().next() {
            Key::Rsa(RsaKeyPair::from_der(&der).map_err(|_| bad("bad RSA PRIVATE KEY"))?)
        } else if let Some(der) = blocks(text, "EC PRIVATE KEY").into_iter().next() {
            Key::Ec(
                EcdsaKeyPair::from_private_key_der(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                )
                .map_err(|_| bad("bad EC PRIVATE KEY (P-256 only)"))?,
            )
        } else {
            return Err(bad(
                "holds no private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
            ));
        };
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
        Ok(Self {
            key: Arc::new(key),
            x5t: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            client_id: client_id.to_owned(),
            audience,
        })
    }

    /// A fresh signed assertion.
    pub(crate) fn assertion(&self) -> std::result::Result<String, String> {
        let now = jiff::Timestamp::now().as_second();
        let alg = match *self.key {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        };
        let header = serde_json::json!({"alg": alg, "typ": "JWT", "x5t": self.x5t});
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).map_err(|e| e.to_string())?;
        let claims = serde_json::json!({"aud": self.audience, "iss": self.client_id,
            "sub": self.client_id, "jti": URL_SAFE_NO_PAD.encode(jti),
            "nbf": now, "iat": now, "exp": now + ASSERTION_SECS});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let sig = match &*self.key {
            Key::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(|e| e.to_string())?;
                sig
            }
            Key::Ec(k) => k
                .sign(&rng, input.as_bytes())
                .map_err(|e| e.to_string())?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[async_trait::async_trait]
impl ClientAssertion for CertificateAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        self.assertion().map_err(|e| {
            azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!("cannot sign the client assertion: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;

    use super::*;

    #[test]
    fn signs_a_verifiable_rs256_assertion() {
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        );
        let a = CertificateAssertion::from_pem(
            pem.as_bytes(),
            "app",
            "https://login/t/oauth2/v2.0/token".into(),
            "f",
        )
        .unwrap();
        let jwt = a.assertion().unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["x5t"],
            URL_SAFE_NO_PAD.encode(
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &[0x30, 0])
                    .as_ref()
            )
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "app");
        assert_eq!(claims["aud"], "https://login/t/oauth2/v2.0/token");
        use aws_lc_rs::signature::KeyPair as _;
        signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            kp.public_key().as_ref(),
        )
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .unwrap();
        let e = CertificateAssertion::from_pem(b"nothing", "app", String::new(), "f").unwrap_err();
        assert!(e.to_string().contains("CERTIFICATE"), "{e}");
    }
}
