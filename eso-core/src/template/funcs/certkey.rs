//! The private keys sprig's certificate functions sign with: RSA, ECDSA (P-256, P-384,
//! P-521) and Ed25519, as sprig's `parsePrivateKeyPEM` reads them and `pemBlockForKey`
//! writes them back.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING,
    EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
};

use super::der::der_read;
use crate::pem::{decode as pem_decode, encode as pem_encode};

/// sha256WithRSAEncryption.
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
/// ecdsa-with-SHA256, -SHA384, -SHA512.
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
/// id-Ed25519.
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// A key a certificate is made for and signed with.
pub(crate) enum SignKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, &'static [u8]),
    Ed25519(Ed25519KeyPair),
}

const CURVES: [(&EcdsaSigningAlgorithm, &[u8]); 3] = [
    (&ECDSA_P256_SHA256_ASN1_SIGNING, OID_ECDSA_SHA256),
    (&ECDSA_P384_SHA384_ASN1_SIGNING, OID_ECDSA_SHA384),
    (&ECDSA_P521_SHA512_ASN1_SIGNING, OID_ECDSA_SHA512),
];

fn marshal_failed<E>(_: E) -> String {
    "x509: failed to marshal key".to_string()
}

impl SignKey {
    /// A new RSA key of `size`.
    pub(crate) fn new_rsa(size: KeySize) -> Result<Self, String> {
        RsaKeyPair::generate(size)
            .map(Self::Rsa)
            .map_err(|_| "failed to generate private key".to_string())
    }

    /// A private key from PEM as sprig reads it: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY`
    /// (PKCS#1) or `EC PRIVATE KEY` (SEC1).
    pub(crate) fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let (block, _) = pem_decode(pem);
        let block = block.ok_or_else(|| "no PEM data in input".to_string())?;
        let der = &block.der;
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8(der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der)
                .map(Self::Rsa)
                .map_err(|_| "parsing RSA private key from PEM: malformed key".to_string()),
            "EC PRIVATE KEY" => Self::ec(der)
                .ok_or_else(|| "parsing EC private key from PEM: malformed key".to_string()),
            label if label.ends_with(" PRIVATE KEY") => Err(format!(
                "invalid private key type {}",
                &label[..label.len() - 12]
            )),
            label => Err(format!("no private key data in PEM block of type {label}")),
        }
    }

    fn ec(der: &[u8]) -> Option<Self> {
        CURVES.iter().find_map(|(alg, sig_oid)| {
            EcdsaKeyPair::from_private_key_der(alg, der)
                .ok()
                .map(|k| Self::Ec(k, sig_oid))
        })
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            return Ok(Self::Rsa(k));
        }
        if let Some(k) = Self::ec(der) {
            return Ok(k);
        }
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(Self::Ed25519)
            .map_err(|_| "decoding PEM as PKCS#8: unknown or malformed key".to_string())
    }

    /// The SubjectPublicKeyInfo (DER).
    pub(crate) fn spki(&self) -> Result<Vec<u8>, String> {
        let der: PublicKeyX509Der<'_> = match self {
            Self::Rsa(k) => k.public_key().as_der(),
            Self::Ec(k, _) => k.public_key().as_der(),
            Self::Ed25519(k) => k.public_key().as_der(),
        }
        .map_err(|_| "x509: failed to sign certificate".to_string())?;
        Ok(der.as_ref().to_vec())
    }

    /// The AlgorithmIdentifier of this key's signatures, as Go writes it (NULL parameters for
    /// RSA, none for ECDSA and Ed25519).
    pub(crate) fn sig_alg(&self) -> Vec<u8> {
        let (oid, null): (&[u8], bool) = match self {
            Self::Rsa(_) => (OID_SHA256_RSA, true),
            Self::Ec(_, oid) => (oid, false),
            Self::Ed25519(_) => (OID_ED25519, false),
        };
        let mut body = vec![0x06, oid.len() as u8];
        body.extend_from_slice(oid);
        if null {
            body.extend_from_slice(&[0x05, 0x00]);
        }
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    /// Signs `msg` (the TBSCertificate).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let fail = |_| "x509: failed to sign certificate".to_string();
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Self::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(fail)?;
                Ok(sig)
            }
            Self::Ec(k, _) => Ok(k.sign(&rng, msg).map_err(fail)?.as_ref().to_vec()),
            Self::Ed25519(k) => Ok(k.sign(msg).as_ref().to_vec()),
        }
    }

    /// The key as sprig's `pemBlockForKey` writes it: `RSA PRIVATE KEY` (PKCS#1),
    /// `EC PRIVATE KEY` (SEC1), `PRIVATE KEY` (PKCS#8) for Ed25519.
    pub(crate) fn to_pem(&self) -> Result<String, String> {
        match self {
            Self::Rsa(k) => {
                let pkcs8: Pkcs8V1Der<'_> = k.as_der().map_err(marshal_failed)?;
                let pkcs1 = pkcs8_inner(pkcs8.as_ref()).ok_or_else(|| marshal_failed(()))?;
                Ok(pem_encode("RSA PRIVATE KEY", pkcs1))
            }
            Self::Ec(k, _) => {
                let der = k.private_key().as_der().map_err(marshal_failed)?;
                Ok(pem_encode("EC PRIVATE KEY", der.as_ref()))
            }
            Self::Ed25519(k) => {
                let der = k.to_pkcs8v1().map_err(marshal_failed)?;
                Ok(pem_encode("PRIVATE KEY", der.as_ref()))
            }
        }
    }
}

/// The privateKey OCTET STRING's content of a PKCS#8 PrivateKeyInfo.
fn pkcs8_inner(der: &[u8]) -> Option<&[u8]> {
    let (0x30, body, _) = der_read(der)? else {
        return None;
    };
    let (_, _, rest) = der_read(body)?;
    let (_, _, rest) = der_read(rest)?;
    let (0x04, inner, _) = der_read(rest)? else {
        return None;
    };
    Some(inner)
}

#[cfg(test)]
#[path = "certkey_tests.rs"]
mod tests;
