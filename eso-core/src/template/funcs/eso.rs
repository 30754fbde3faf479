//! ESO's own template functions that need no cryptography: PEM filtering, certificate
//! chains, JWK to PEM. The others are in `pkcs12.rs` (feature `template-crypto`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::der::{
    OID_EC, OID_ED25519, OID_P256, OID_P384, OID_P521, OID_X25519, der_seq, der_tlv, der_uint,
    pkcs1_to_pkcs8, rsa_alg,
};
use super::{FuncDef, S, bytes_arg, fixed, text};
use crate::pem;
use crate::template::value::Value;

/// The input from its first `-----BEGIN` on (ESO drops text before the first block).
pub(crate) fn trim_junk(b: &[u8]) -> &[u8] {
    match memchr::memmem::find(b, b"-----BEGIN") {
        Some(i) => &b[i..],
        None => b,
    }
}

/// ESO's `filterPEM`: the blocks of one type, re-encoded; junk and no match is an error.
fn filter_pem(typ: &str, input: &[u8]) -> Result<String, String> {
    let mut blocks = pem::blocks(trim_junk(input));
    let mut rest = blocks.rest();
    let mut out = String::new();
    while let Some(item) = blocks.next() {
        // Go's pem.Decode skips malformed blocks
        if let Ok(b) = item {
            rest = blocks.rest();
            if b.label.eq_ignore_ascii_case(typ) {
                out.push_str(&pem::encode(&b.label, &b.der));
            }
        }
    }
    if out.is_empty() && !rest.is_empty() {
        return Err("error filtering pem: found junk".into());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// JWK

fn b64url(v: &serde_json::Value, field: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(field)
        .and_then(|x| x.as_str())
        .ok_or_else(|| format!("failed to parse JWK: missing required field {field:?}"))?;
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("failed to decode field {field:?}: {e}"))
}

fn curve(v: &serde_json::Value) -> Result<(&'static [u8], usize), String> {
    match v.get("crv").and_then(|c| c.as_str()) {
        Some("P-256") => Ok((OID_P256, 32)),
        Some("P-384") => Ok((OID_P384, 48)),
        Some("P-521") => Ok((OID_P521, 66)),
        other => Err(format!("unsupported curve {other:?}")),
    }
}

fn pad_left(b: &[u8], n: usize) -> Vec<u8> {
    let b = &b[b.len().saturating_sub(n)..];
    let mut v = vec![0u8; n - b.len()];
    v.extend_from_slice(b);
    v
}

fn jwk_parse(s: &[u8]) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = serde_json::from_slice(s)
        .map_err(|e| format!("failed to unmarshal JSON into key hint: {e}"))?;
    if !v.is_object() {
        return Err("failed to unmarshal JSON into key hint".into());
    }
    Ok(v)
}

fn jwk_public_der(v: &serde_json::Value) -> Result<Vec<u8>, String> {
    let kty = v.get("kty").and_then(|k| k.as_str());
    if v.get("d").is_some() {
        // Go marshals the JWK's raw key, which is a private key here: not a public key type.
        let t = match kty {
            Some("RSA") => "*rsa.PrivateKey",
            Some("EC") => "*ecdsa.PrivateKey",
            _ => "ed25519.PrivateKey",
        };
        return Err(format!("x509: unsupported public key type: {t}"));
    }
    match kty {
        Some("RSA") => {
            let (n, e) = (b64url(v, "n")?, b64url(v, "e")?);
            let pkcs1 = der_seq(&[der_uint(&n), der_uint(&e)]);
            let mut bits = vec![0u8];
            bits.extend(pkcs1);
            Ok(der_seq(&[rsa_alg(), der_tlv(0x03, &bits)]))
        }
        Some("EC") => {
            let (oid, size) = curve(v)?;
            let (x, y) = (b64url(v, "x")?, b64url(v, "y")?);
            let mut bits = vec![0u8, 4];
            bits.extend(pad_left(&x, size));
            bits.extend(pad_left(&y, size));
            Ok(der_seq(&[
                der_seq(&[OID_EC.to_vec(), oid.to_vec()]),
                der_tlv(0x03, &bits),
            ]))
        }
        Some("OKP") => {
            let oid = match v.get("crv").and_then(|c| c.as_str()) {
                Some("Ed25519") => OID_ED25519,
                Some("X25519") => OID_X25519,
                other => return Err(format!("unsupported curve {other:?}")),
            };
            let x = b64url(v, "x")?;
            let mut bits = vec![0u8];
            bits.extend(x);
            Ok(der_seq(&[der_seq(&[oid.to_vec()]), der_tlv(0x03, &bits)]))
        }
        other => Err(format!("invalid key type from JSON ({other:?})")),
    }
}

fn jwk_private_der(v: &serde_json::Value) -> Result<Vec<u8>, String> {
    match v.get("kty").and_then(|k| k.as_str()) {
        Some("RSA") => {
            if v.get("d").is_none() {
                return Err(
                    "x509: unknown key type while marshaling PKCS#8: *rsa.PublicKey".into(),
                );
            }
            let fields = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
            let mut parts = vec![der_uint(&[0])];
            for f in fields {
                parts.push(der_uint(&b64url(v, f)?));
            }
            Ok(pkcs1_to_pkcs8(&der_seq(&parts)))
        }
        Some("EC") => {
            if v.get("d").is_none() {
                return Err(
                    "x509: unknown key type while marshaling PKCS#8: *ecdsa.PublicKey".into(),
                );
            }
            let (oid, size) = curve(v)?;
            let (x, y, d) = (b64url(v, "x")?, b64url(v, "y")?, b64url(v, "d")?);
            let mut pubbits = vec![0u8, 4];
            pubbits.extend(pad_left(&x, size));
            pubbits.extend(pad_left(&y, size));
            let ec = der_seq(&[
                der_uint(&[1]),
                der_tlv(0x04, &pad_left(&d, size)),
                der_tlv(0xa1, &der_tlv(0x03, &pubbits)),
            ]);
            Ok(der_seq(&[
                der_uint(&[0]),
                der_seq(&[OID_EC.to_vec(), oid.to_vec()]),
                der_tlv(0x04, &ec),
            ]))
        }
        Some("OKP") => {
            let oid = match v.get("crv").and_then(|c| c.as_str()) {
                Some("Ed25519") => OID_ED25519,
                Some("X25519") => OID_X25519,
                other => return Err(format!("unsupported curve {other:?}")),
            };
            let d = b64url(v, "d")?;
            Ok(der_seq(&[
                der_uint(&[0]),
                der_seq(&[oid.to_vec()]),
                der_tlv(0x04, &der_tlv(0x04, &d)),
            ]))
        }
        other => Err(format!("invalid key type from JSON ({other:?})")),
    }
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("filterPEM", &[S, S], |_, a| {
            filter_pem(&text(&a[0]), bytes_arg(&a[1])).map(Value::string)
        }),
        fixed("filterCertChain", &[S, S], |_, a| {
            super::chain::filter_cert_chain(&text(&a[0]), bytes_arg(&a[1])).map(Value::string)
        }),
        fixed("jwkPublicKeyPem", &[S], |_, a| {
            let v = jwk_parse(bytes_arg(&a[0]))?;
            Ok(Value::string(pem::encode(
                "PUBLIC KEY",
                &jwk_public_der(&v)?,
            )))
        }),
        fixed("jwkPrivateKeyPem", &[S], |_, a| {
            let v = jwk_parse(bytes_arg(&a[0]))?;
            Ok(Value::string(pem::encode(
                "PRIVATE KEY",
                &jwk_private_der(&v)?,
            )))
        }),
    ]
}
