//! `cert/` and `key/` objects: reads (the certificate's DER bytes, the key's public JSON Web
//! Key) and certificate pushes (imported from PEM, PKCS#12 or a DER certificate; skipped when
//! the certificate is unchanged; never over a certificate without our tag).

use std::collections::HashMap;

use azure_security_keyvault_certificates::models::{
    CertificateClientGetCertificateOptions, CertificatePolicy, ImportCertificateParameters,
    SecretProperties,
};
use azure_security_keyvault_keys::models::KeyClientGetKeyOptions;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eso_core::pem;
use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE};
use eso_core::{Error, Result, SecretValue};

use crate::client::is_managed;
use crate::error;
use crate::provider::AzureKeyVault;

const PEM: &str = "application/x-pem-file";
const PKCS12: &str = "application/x-pkcs12";

impl AzureKeyVault {
    /// The certificate `name` at `version`, `None` when it does not exist.
    async fn certificate(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Option<azure_security_keyvault_certificates::models::Certificate>> {
        let opts = CertificateClientGetCertificateOptions {
            certificate_version: version.map(str::to_owned),
            ..Default::default()
        };
        match self.certs.get_certificate(name, Some(opts)).await {
            Ok(r) => r
                .into_model()
                .map(Some)
                .map_err(|e| self.err("GetCertificate", name, &e)),
            Err(e) if error::status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.err("GetCertificate", name, &e)),
        }
    }

    /// The DER bytes of certificate `name` (ESO returns the `cer` field).
    pub(crate) async fn get_certificate_der(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<SecretValue> {
        let c = self
            .certificate(name, version)
            .await?
            .ok_or_else(|| Error::not_found(format!("cert/{name}")))?;
        Ok(SecretValue::new(c.cer.unwrap_or_default()))
    }

    /// Tags of certificate `name`.
    pub(crate) async fn certificate_tags(&self, name: &str) -> Result<HashMap<String, String>> {
        let c = self
            .certificate(name, None)
            .await?
            .ok_or_else(|| Error::not_found(format!("cert/{name}")))?;
        Ok(c.tags.unwrap_or_default())
    }

    /// The public JSON Web Key of key `name` (as ESO, the `key` member of the bundle).
    pub(crate) async fn get_key_jwk(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<SecretValue> {
        let opts = KeyClientGetKeyOptions {
            key_version: version.map(str::to_owned),
            ..Default::default()
        };
        let key = match self.keys.get_key(name, Some(opts)).await {
            Ok(r) => r.into_model().map_err(|e| self.err("GetKey", name, &e))?,
            Err(e) if error::status(&e) == Some(404) => {
                return Err(Error::not_found(format!("key/{name}")));
            }
            Err(e) => return Err(self.err("GetKey", name, &e)),
        };
        let jwk = key.key.ok_or_else(|| {
            Error::generic(format!("azurekv key/{name}: the answer holds no key"))
        })?;
        serde_json::to_vec(&jwk)
            .map(SecretValue::new)
            .map_err(|e| Error::Conversion(e.to_string()))
    }

    /// Tags of key `name`.
    pub(crate) async fn key_tags(&self, name: &str) -> Result<HashMap<String, String>> {
        match self.keys.get_key(name, None).await {
            Ok(r) => Ok(r
                .into_model()
                .map_err(|e| self.err("GetKey", name, &e))?
                .tags
                .unwrap_or_default()),
            Err(e) if error::status(&e) == Some(404) => {
                Err(Error::not_found(format!("key/{name}")))
            }
            Err(e) => Err(self.err("GetKey", name, &e)),
        }
    }

    /// Imports the PEM private key `value` as key `name` (a JSON Web Key) unless the same key
    /// is there already; never over a key without our tag.
    pub(crate) async fn push_key(&self, name: &str, value: &[u8]) -> Result<()> {
        let jwk = super::jwk::private_jwk(value)
            .map_err(|e| Error::Conversion(format!("key push: {e}")))?;
        match self.keys.get_key(name, None).await {
            Ok(r) => {
                let existing = r.into_model().map_err(|e| self.err("GetKey", name, &e))?;
                if !is_managed(existing.tags.as_ref()) {
                    return Err(Error::not_managed(format!("key/{name}")));
                }
                let old = serde_json::to_value(existing.key).unwrap_or_default();
                if ["kty", "n", "e", "crv", "x", "y"]
                    .iter()
                    .all(|k| old.get(k) == jwk.get(k))
                {
                    return Ok(());
                }
            }
            Err(e) if error::status(&e) == Some(404) => {}
            Err(e) => return Err(self.err("GetKey", name, &e)),
        }
        let key: azure_security_keyvault_keys::models::JsonWebKey =
            serde_json::from_value(jwk).map_err(|e| Error::Conversion(format!("key push: {e}")))?;
        let params = azure_security_keyvault_keys::models::ImportKeyParameters {
            key: Some(key),
            tags: Some(HashMap::from([(
                MANAGED_BY_TAG.to_owned(),
                MANAGED_BY_VALUE.to_owned(),
            )])),
            ..Default::default()
        };
        let body = params
            .try_into()
            .map_err(|e: azure_core::Error| self.err("ImportKey", name, &e))?;
        self.keys
            .import_key(name, body, None)
            .await
            .map(|_| ())
            .map_err(|e| self.err("ImportKey", name, &e))
    }

    /// Whether certificate `name` exists.
    pub(crate) async fn certificate_exists(&self, name: &str) -> Result<bool> {
        Ok(self.certificate(name, None).await?.is_some())
    }

    /// Imports `value` as certificate `name` unless the same certificate is there already.
    pub(crate) async fn push_certificate(&self, name: &str, value: &[u8]) -> Result<()> {
        let parsed = parse_certificate(value)?;
        if let Some(existing) = self.certificate(name, None).await? {
            if !is_managed(existing.tags.as_ref()) {
                return Err(Error::not_managed(format!("cert/{name}")));
            }
            if existing.cer.as_deref() == Some(parsed.der.as_slice()) {
                return Ok(());
            }
        }
        let params = ImportCertificateParameters {
            base64_encoded_certificate: Some(parsed.value),
            certificate_policy: Some(CertificatePolicy {
                secret_properties: Some(SecretProperties {
                    content_type: Some(parsed.content_type.to_owned()),
                }),
                ..Default::default()
            }),
            tags: Some(HashMap::from([(
                MANAGED_BY_TAG.to_owned(),
                MANAGED_BY_VALUE.to_owned(),
            )])),
            ..Default::default()
        };
        let body = params
            .try_into()
            .map_err(|e: azure_core::Error| self.err("ImportCertificate", name, &e))?;
        self.certs
            .import_certificate(name, body, None)
            .await
            .map(|_| ())
            .map_err(|e| self.err("ImportCertificate", name, &e))
    }
}

/// What to send to Key Vault's import for a pushed certificate value.
#[derive(Debug)]
struct Parsed {
    /// PEM text, or base64 of the PKCS#12 archive.
    value: String,
    content_type: &'static str,
    /// The (leaf) certificate's DER, to tell an unchanged certificate.
    der: Vec<u8>,
}

/// PEM (certificate and key), a password-less PKCS#12 archive, or a DER certificate.
fn parse_certificate(value: &[u8]) -> Result<Parsed> {
    let bad = |m: &str| Error::Conversion(format!("certificate push: {m}"));
    if let Ok(text) = std::str::from_utf8(value)
        && text.contains("-----BEGIN CERTIFICATE-----")
    {
        // The first certificate block; a malformed block before it is an error.
        let der = pem::blocks(text)
            .find_map(|b| match b {
                Ok(b) if b.label == "CERTIFICATE" => Some(Ok(b.der)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .unwrap_or_else(|| Ok(Vec::new()))
            .map_err(|e| bad(&format!("bad PEM certificate: {e}")))?;
        return Ok(Parsed {
            value: text.to_owned(),
            content_type: PEM,
            der,
        });
    }
    if let Ok(a) = p12_keystore::Pkcs12Archive::from_pkcs12(value, "") {
        let der = a
            .certs
            .first()
            .map(|c| c.cert.as_der().to_vec())
            .ok_or_else(|| bad("the PKCS#12 archive holds no certificate"))?;
        return Ok(Parsed {
            value: STANDARD.encode(value),
            content_type: PKCS12,
            der,
        });
    }
    if p12_keystore::Certificate::from_der(value).is_ok() {
        // A bare certificate: Key Vault imports it as PEM (it then needs the key elsewhere).
        return Ok(Parsed {
            value: pem::encode("CERTIFICATE", value),
            content_type: PEM,
            der: value.to_vec(),
        });
    }
    Err(bad(
        "the value is neither PEM, PKCS#12 (without a password) nor a DER certificate",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_certificate() {
        let e = parse_certificate(b"hello").unwrap_err();
        assert!(e.to_string().contains("neither PEM"), "{e}");
        let e = parse_certificate(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .unwrap_err();
        assert!(e.to_string().contains("bad PEM"), "{e}");
    }
}
