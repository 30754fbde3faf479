//! RSA signing (PKCS#1 v1.5 with SHA-256) with a PEM private key: GCP's self-signed
//! assertions and OCI's request signatures.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// An RSA private key.
pub(crate) struct RsaKey(RsaKeyPair);

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaKey(******)")
    }
}

impl RsaKey {
    /// The first private key of a PEM text: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY`
    /// (PKCS#1). Encrypted keys are refused. Errors never quote the text.
    pub(crate) fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let encrypted = pem.windows(9).any(|w| w == b"ENCRYPTED");
        if encrypted {
            return Err(
                "encrypted private keys are not supported (give the key unencrypted)".into(),
            );
        }
        let block = eso_core::pem::blocks(pem)
            .filter_map(std::result::Result::ok)
            .find(|b| b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY")
            .ok_or("no PEM private key (PRIVATE KEY or RSA PRIVATE KEY) found")?;
        let pair = if block.label == "PRIVATE KEY" {
            RsaKeyPair::from_pkcs8(&block.der)
        } else {
            RsaKeyPair::from_der(&block.der)
        }
        .map_err(|_| "not a usable RSA private key")?;
        Ok(Self(pair))
    }

    /// The PKCS#1 v1.5 SHA-256 signature of `data`.
    pub(crate) fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut sig = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
            .map_err(|_| "RSA signing failed".to_owned())?;
        Ok(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_from_pem_without_quoting_it() {
        let e =
            RsaKey::from_pem(b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")
                .unwrap_err();
        assert_eq!(e, "not a usable RSA private key");
        let e = RsaKey::from_pem(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap_err();
        assert!(e.contains("encrypted"), "{e}");
        assert!(
            RsaKey::from_pem(b"hunter2")
                .unwrap_err()
                .contains("no PEM private key")
        );
    }

    #[test]
    fn pkcs8_keys_sign_verifiably() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        let kp = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
        let pem = eso_core::pem::encode("PRIVATE KEY", pkcs8.as_ref());
        let key = RsaKey::from_pem(pem.as_bytes()).unwrap();
        let sig = key.sign_sha256(b"data").unwrap();
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            kp.public_key().as_ref(),
        )
        .verify(b"data", &sig)
        .unwrap();
    }
}
