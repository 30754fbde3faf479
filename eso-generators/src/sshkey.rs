//! The `SSHKey` generator: key generation through aws-lc-rs, OpenSSH encoding by hand.

use async_trait::async_trait;
use aws_lc_rs::encoding::{AsBigEndian as _, AsDer as _};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use eso_core::api::{SSHKeySpec, SshKeyType};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::{Error, Result, SecretMap, SecretValue};
use zeroize::Zeroizing;

/// Generates an SSH key pair (kind `SSHKey`).
///
/// Output, as ESO writes it:
///
/// - `privateKey`: the unencrypted private key in OpenSSH format
///   (`-----BEGIN OPENSSH PRIVATE KEY-----`, 64-column base64 like Go's PEM encoder), carrying
///   `comment`;
/// - `publicKey`: an `authorized_keys` line (`ssh-ed25519 AAAA... comment`), ending in a newline.
///
/// `keyType` is `rsa` (default), `ecdsa` or `ed25519`. `keySize` is the RSA modulus size (default
/// 2048; 2048, 3072, 4096 and 8192 are supported, other sizes are an error where ESO would try
/// them) or the ECDSA curve (256 → P-256, 384 → P-384, 521 → P-521, anything else P-256, as ESO);
/// Ed25519 ignores it.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::SshKey;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let spec = serde_json::json!({"keyType": "ed25519", "comment": "deploy@example"});
/// let spec = eso_core::api::GeneratorSpec::parse("SSHKey", spec)?;
/// let out = SshKey::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// let public = out.data["publicKey"].expose_str().unwrap();
/// assert!(public.starts_with("ssh-ed25519 AAAA") && public.ends_with(" deploy@example\n"));
/// let private = out.data["privateKey"].expose_str().unwrap();
/// assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct SshKey;

impl SshKey {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Generator for SshKey {
    fn kind(&self) -> &'static str {
        "SSHKey"
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of("SSHKey", |s| s.ssh_key_spec.as_ref())?;
        let comment = spec.comment.clone().unwrap_or_default();
        let key = generate_key(spec)?;
        let (private, public) = key.to_openssh(&comment)?;
        Ok(GeneratorOutput::new(SecretMap::from([
            ("privateKey".to_owned(), private),
            ("publicKey".to_owned(), SecretValue::from(public)),
        ])))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

/// The parts of a key OpenSSH needs, as big-endian integers and octet strings.
enum Key {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
        d: Zeroizing<Vec<u8>>,
        p: Zeroizing<Vec<u8>>,
        q: Zeroizing<Vec<u8>>,
        iqmp: Zeroizing<Vec<u8>>,
    },
    Ed25519 {
        public: Vec<u8>,
        seed: Zeroizing<Vec<u8>>,
    },
    Ecdsa {
        curve: &'static str,
        point: Vec<u8>,
        scalar: Zeroizing<Vec<u8>>,
    },
}

fn keygen_error() -> Error {
    Error::generic("spec.keyType: key generation failed")
}

fn generate_key(spec: &SSHKeySpec) -> Result<Key> {
    match spec.key_type {
        SshKeyType::Rsa => {
            let size = match spec.key_size.unwrap_or(2048) {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                8192 => KeySize::Rsa8192,
                other => {
                    return Err(Error::invalid_config(
                        "spec.keySize",
                        format!(
                            "RSA keys of {other} bits are not supported; use 2048, 3072, 4096 or 8192"
                        ),
                    ));
                }
            };
            let pair = signature::RsaKeyPair::generate(size).map_err(|_| keygen_error())?;
            let pkcs8 = pair.as_der().map_err(|_| keygen_error())?;
            rsa_from_pkcs8(pkcs8.as_ref()).ok_or_else(keygen_error)
        }
        SshKeyType::Ed25519 => {
            let pair = Ed25519KeyPair::generate().map_err(|_| keygen_error())?;
            let seed = pair.seed().map_err(|_| keygen_error())?;
            let seed = seed.as_be_bytes().map_err(|_| keygen_error())?;
            Ok(Key::Ed25519 {
                public: pair.public_key().as_ref().to_vec(),
                seed: Zeroizing::new(seed.as_ref().to_vec()),
            })
        }
        SshKeyType::Ecdsa => {
            let (curve, alg) = match spec.key_size {
                Some(384) => ("nistp384", &signature::ECDSA_P384_SHA384_ASN1_SIGNING),
                Some(521) => ("nistp521", &signature::ECDSA_P521_SHA512_ASN1_SIGNING),
                _ => ("nistp256", &signature::ECDSA_P256_SHA256_ASN1_SIGNING),
            };
            let pair = EcdsaKeyPair::generate(alg).map_err(|_| keygen_error())?;
            let scalar = pair
                .private_key()
                .as_be_bytes()
                .map_err(|_| keygen_error())?;
            Ok(Key::Ecdsa {
                curve,
                point: pair.public_key().as_ref().to_vec(),
                scalar: Zeroizing::new(scalar.as_ref().to_vec()),
            })
        }
    }
}

impl Key {
    fn algorithm(&self) -> String {
        match self {
            Self::Rsa { .. } => "ssh-rsa".to_owned(),
            Self::Ed25519 { .. } => "ssh-ed25519".to_owned(),
            Self::Ecdsa { curve, .. } => format!("ecdsa-sha2-{curve}"),
        }
    }

    /// The public key blob (RFC 4253 section 6.6, RFC 5656, RFC 8709).
    fn public_blob(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.string(self.algorithm().as_bytes());
        match self {
            Self::Rsa { n, e, .. } => {
                w.mpint(e);
                w.mpint(n);
            }
            Self::Ed25519 { public, .. } => w.string(public),
            Self::Ecdsa { curve, point, .. } => {
                w.string(curve.as_bytes());
                w.string(point);
            }
        }
        std::mem::take(&mut w.0)
    }

    /// `(privateKey, publicKey)` in OpenSSH formats.
    fn to_openssh(&self, comment: &str) -> Result<(SecretValue, String)> {
        let public_blob = self.public_blob();
        let b64 = base64::engine::general_purpose::STANDARD;

        let mut check = [0u8; 4];
        aws_lc_rs::rand::fill(&mut check).map_err(|_| keygen_error())?;
        let mut inner = Writer::default();
        inner.0.extend_from_slice(&check);
        inner.0.extend_from_slice(&check);
        inner.string(self.algorithm().as_bytes());
        match self {
            Self::Rsa {
                n,
                e,
                d,
                p,
                q,
                iqmp,
            } => {
                inner.mpint(n);
                inner.mpint(e);
                inner.mpint(d);
                inner.mpint(iqmp);
                inner.mpint(p);
                inner.mpint(q);
            }
            Self::Ed25519 { public, seed } => {
                inner.string(public);
                let mut both = Zeroizing::new(seed.to_vec());
                both.extend_from_slice(public);
                inner.string(&both);
            }
            Self::Ecdsa {
                curve,
                point,
                scalar,
            } => {
                inner.string(curve.as_bytes());
                inner.string(point);
                inner.mpint(scalar);
            }
        }
        inner.string(comment.as_bytes());
        // Pad to the cipher block size (8 for "none") with 1, 2, 3, ...
        let mut pad = 1u8;
        while inner.0.len() % 8 != 0 {
            inner.0.push(pad);
            pad += 1;
        }

        let mut outer = Writer::default();
        outer.0.extend_from_slice(b"openssh-key-v1\0");
        outer.string(b"none");
        outer.string(b"none");
        outer.string(b"");
        outer.0.extend_from_slice(&1u32.to_be_bytes());
        outer.string(&public_blob);
        outer.string(&inner.0);

        let body = Zeroizing::new(b64.encode(&outer.0));
        let mut pem = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 80));
        pem.push_str("-----BEGIN OPENSSH PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END OPENSSH PRIVATE KEY-----\n");

        let mut public = format!("{} {}", self.algorithm(), b64.encode(&public_blob));
        if !comment.is_empty() {
            public.push(' ');
            public.push_str(comment);
        }
        public.push('\n');
        Ok((SecretValue::from(pem.as_bytes()), public))
    }
}

/// SSH wire encoding (RFC 4251 section 5). Private material is zeroed on drop.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Drop for Writer {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl Writer {
    fn string(&mut self, bytes: &[u8]) {
        self.0
            .extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        self.0.extend_from_slice(bytes);
    }

    /// A non-negative integer from big-endian magnitude bytes.
    fn mpint(&mut self, magnitude: &[u8]) {
        let start = magnitude
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(magnitude.len());
        let trimmed = &magnitude[start..];
        if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            let len = u32::try_from(trimmed.len() + 1).unwrap_or(u32::MAX);
            self.0.extend_from_slice(&len.to_be_bytes());
            self.0.push(0);
            self.0.extend_from_slice(trimmed);
        } else {
            self.string(trimmed);
        }
    }
}

/// Extracts the RSA components from a PKCS#8 v1 `PrivateKeyInfo` holding a PKCS#1
/// `RSAPrivateKey`.
fn rsa_from_pkcs8(der: &[u8]) -> Option<Key> {
    let mut info = Der(der).sequence()?;
    info.integer()?; // version
    info.sequence()?; // algorithm identifier
    let inner = info.take(0x04)?; // privateKey OCTET STRING
    let mut rsa = Der(inner).sequence()?;
    rsa.integer()?; // version
    let n = rsa.integer()?.to_vec();
    let e = rsa.integer()?.to_vec();
    let d = Zeroizing::new(rsa.integer()?.to_vec());
    let p = Zeroizing::new(rsa.integer()?.to_vec());
    let q = Zeroizing::new(rsa.integer()?.to_vec());
    rsa.integer()?; // d mod (p-1)
    rsa.integer()?; // d mod (q-1)
    let iqmp = Zeroizing::new(rsa.integer()?.to_vec());
    Some(Key::Rsa {
        n,
        e,
        d,
        p,
        q,
        iqmp,
    })
}

/// A minimal DER reader: just enough to walk the structures above.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The contents of the next element, which must have tag `tag`.
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.0.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (len_bytes, after) = rest.split_at(n);
            rest = after;
            len_bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.0 = after;
        Some(contents)
    }

    fn sequence(&mut self) -> Option<Self> {
        self.take(0x30).map(Der)
    }

    fn integer(&mut self) -> Option<&'a [u8]> {
        self.take(0x02)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_util::{run, text};

    /// Reads an SSH string at `pos`, advancing it.
    fn read_string<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
        let len = u32::from_be_bytes(buf[*pos..*pos + 4].try_into().unwrap()) as usize;
        let s = &buf[*pos + 4..*pos + 4 + len];
        *pos += 4 + len;
        s
    }

    fn decode_private(pem: &str) -> Vec<u8> {
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN OPENSSH PRIVATE KEY-----");
        assert_eq!(*lines.last().unwrap(), "-----END OPENSSH PRIVATE KEY-----");
        assert!(lines[1..lines.len() - 1].iter().all(|l| l.len() <= 64));
        base64::engine::general_purpose::STANDARD
            .decode(lines[1..lines.len() - 1].concat())
            .unwrap()
    }

    /// Checks the container and returns (public blob, private section).
    fn check_container(pem: &str, comment: &str) -> (Vec<u8>, Vec<u8>) {
        let bin = decode_private(pem);
        assert!(bin.starts_with(b"openssh-key-v1\0"));
        let mut pos = 15;
        assert_eq!(read_string(&bin, &mut pos), b"none");
        assert_eq!(read_string(&bin, &mut pos), b"none");
        assert_eq!(read_string(&bin, &mut pos), b"");
        assert_eq!(&bin[pos..pos + 4], &[0, 0, 0, 1]);
        pos += 4;
        let public = read_string(&bin, &mut pos).to_vec();
        let private = read_string(&bin, &mut pos).to_vec();
        assert_eq!(pos, bin.len());
        assert_eq!(private.len() % 8, 0);
        assert_eq!(private[0..4], private[4..8]);
        // The comment sits right before the padding.
        let pad = usize::from(*private.last().unwrap());
        let pad = if private[private.len() - pad..]
            .iter()
            .enumerate()
            .all(|(i, b)| usize::from(*b) == i + 1)
        {
            pad
        } else {
            0
        };
        let body = &private[..private.len() - pad];
        assert!(body.ends_with(comment.as_bytes()));
        (public, private)
    }

    fn check_public_line(line: &str, algo: &str, blob: &[u8], comment: &str) {
        assert!(line.ends_with('\n'));
        let parts: Vec<&str> = line.trim_end().split(' ').collect();
        assert_eq!(parts[0], algo);
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(parts[1])
                .unwrap(),
            blob
        );
        if comment.is_empty() {
            assert_eq!(parts.len(), 2);
        } else {
            assert_eq!(parts[2], comment);
        }
    }

    #[test]
    fn ed25519_key() {
        let out = run(&SshKey, json!({"keyType": "ed25519", "comment": "me@host"})).unwrap();
        let (public, private) = check_container(&text(&out, "privateKey"), "me@host");
        check_public_line(&text(&out, "publicKey"), "ssh-ed25519", &public, "me@host");
        let mut pos = 0;
        assert_eq!(read_string(&public, &mut pos), b"ssh-ed25519");
        let pk = read_string(&public, &mut pos);
        assert_eq!(pk.len(), 32);
        let mut pos = 8;
        assert_eq!(read_string(&private, &mut pos), b"ssh-ed25519");
        assert_eq!(read_string(&private, &mut pos), pk);
        let sk = read_string(&private, &mut pos);
        assert_eq!(sk.len(), 64);
        assert_eq!(&sk[32..], pk);
        // The seed really is the private half of the public key.
        let pair = Ed25519KeyPair::from_seed_unchecked(&sk[..32]).unwrap();
        assert_eq!(pair.public_key().as_ref(), pk);
    }

    #[test]
    fn rsa_key_default_2048_without_comment() {
        let out = run(&SshKey, json!({})).unwrap();
        let (public, private) = check_container(&text(&out, "privateKey"), "");
        check_public_line(&text(&out, "publicKey"), "ssh-rsa", &public, "");
        let mut pos = 0;
        assert_eq!(read_string(&public, &mut pos), b"ssh-rsa");
        let e = read_string(&public, &mut pos).to_vec();
        let n = read_string(&public, &mut pos).to_vec();
        assert_eq!(e, [1, 0, 1]);
        assert_eq!(n.len(), 257); // leading zero + 2048 bits
        let mut pos = 8;
        assert_eq!(read_string(&private, &mut pos), b"ssh-rsa");
        assert_eq!(read_string(&private, &mut pos), n);
        assert_eq!(read_string(&private, &mut pos), e);
    }

    #[test]
    fn ecdsa_curves() {
        for (size, curve, point_len) in [
            (None, "nistp256", 65),
            (Some(384), "nistp384", 97),
            (Some(521), "nistp521", 133),
            (Some(1024), "nistp256", 65),
        ] {
            let mut spec = json!({"keyType": "ecdsa", "comment": "c"});
            if let Some(s) = size {
                spec["keySize"] = json!(s);
            }
            let out = run(&SshKey, spec).unwrap();
            let (public, _) = check_container(&text(&out, "privateKey"), "c");
            let algo = format!("ecdsa-sha2-{curve}");
            check_public_line(&text(&out, "publicKey"), &algo, &public, "c");
            let mut pos = 0;
            assert_eq!(read_string(&public, &mut pos), algo.as_bytes());
            assert_eq!(read_string(&public, &mut pos), curve.as_bytes());
            assert_eq!(read_string(&public, &mut pos).len(), point_len);
        }
    }

    #[test]
    fn keys_differ_between_calls() {
        let a = run(&SshKey, json!({"keyType": "ed25519"})).unwrap();
        let b = run(&SshKey, json!({"keyType": "ed25519"})).unwrap();
        assert_ne!(text(&a, "publicKey"), text(&b, "publicKey"));
    }

    #[test]
    fn bad_specs_name_fields() {
        let e = run(&SshKey, json!({"keyType": "rsa", "keySize": 1000})).unwrap_err();
        assert!(e.to_string().starts_with("spec.keySize: "), "{e}");
        let e = run(&SshKey, json!({"keyType": "dsa"})).unwrap_err();
        assert!(e.to_string().starts_with("spec.keyType: "), "{e}");
    }

    #[test]
    fn mpint_encoding() {
        let mut w = Writer::default();
        w.mpint(&[0, 0, 0x7f]);
        w.mpint(&[0x80]);
        w.mpint(&[0, 0]);
        assert_eq!(w.0, [0, 0, 0, 1, 0x7f, 0, 0, 0, 2, 0, 0x80, 0, 0, 0, 0]);
    }

    /// Cross-checks with OpenSSH's own parser when `ssh-keygen` is installed.
    #[test]
    fn ssh_keygen_reads_the_keys() {
        if std::process::Command::new("ssh-keygen")
            .arg("-?")
            .output()
            .is_err()
        {
            return;
        }
        let dir = std::env::temp_dir().join(format!("eso-sshkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for spec in [
            json!({"keyType": "ed25519", "comment": "a@b"}),
            json!({"keyType": "rsa", "comment": "a@b"}),
            json!({"keyType": "ecdsa", "keySize": 384, "comment": "a@b"}),
        ] {
            let out = run(&SshKey, spec).unwrap();
            let path = dir.join("key");
            std::fs::write(&path, out.data["privateKey"].expose()).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
            let derived = std::process::Command::new("ssh-keygen")
                .arg("-y")
                .arg("-f")
                .arg(&path)
                .output()
                .unwrap();
            assert!(derived.status.success(), "{derived:?}");
            let derived = String::from_utf8(derived.stdout).unwrap();
            assert_eq!(derived, text(&out, "publicKey"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
