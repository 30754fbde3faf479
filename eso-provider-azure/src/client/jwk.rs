//! PEM private keys (PKCS#8 RSA or EC, PKCS#1 RSA, SEC1 EC) as JSON Web Keys for Key Vault's
//! key import, read with x509-parser's DER reader.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use x509_parser::der_parser::asn1_rs::{Class, Tag};
use x509_parser::der_parser::ber::{BerObject, BerObjectContent};
use x509_parser::der_parser::parse_der;

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// The DER object at the start of `input` (x509-parser's DER reader).
fn der(input: &[u8]) -> Option<BerObject<'_>> {
    parse_der(input).ok().map(|(_, o)| o)
}

/// The elements of the SEQUENCE `input` holds.
fn seq(input: &[u8]) -> Option<Vec<BerObject<'_>>> {
    match der(input)?.content {
        BerObjectContent::Sequence(v) => Some(v),
        _ => None,
    }
}

fn integer<'a>(o: &BerObject<'a>) -> Option<&'a [u8]> {
    match o.content {
        BerObjectContent::Integer(i) => Some(i),
        _ => None,
    }
}

fn octets<'a>(o: &BerObject<'a>) -> Option<&'a [u8]> {
    match o.content {
        BerObjectContent::OctetString(b) => Some(b),
        _ => None,
    }
}

fn oid<'a>(o: &'a BerObject<'_>) -> Option<&'a [u8]> {
    match &o.content {
        BerObjectContent::OID(oid) => Some(oid.as_bytes()),
        _ => None,
    }
}

/// The content of the context-specific `[n]` wrapper `o`, parsed.
fn explicit<'a>(o: &BerObject<'a>, n: u32) -> Option<BerObject<'a>> {
    match &o.content {
        BerObjectContent::Unknown(any)
            if any.header.class() == Class::ContextSpecific && any.header.tag() == Tag(n) =>
        {
            der(any.data)
        }
        _ => None,
    }
}

/// base64url of an unsigned big-endian INTEGER, without leading zeros.
fn b64_uint(i: &[u8]) -> String {
    let start = i
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(i.len().saturating_sub(1));
    URL_SAFE_NO_PAD.encode(&i[start..])
}

fn rsa_jwk(pkcs1: &[u8]) -> Option<Value> {
    let f = seq(pkcs1)?;
    // version, then n, e, d, p, q, dp, dq, qi.
    let ints: Vec<&[u8]> = f.iter().take(9).map(integer).collect::<Option<_>>()?;
    if ints.len() < 9 {
        return None;
    }
    let names = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];
    let mut m = Map::new();
    m.insert("kty".into(), "RSA".into());
    for (name, v) in names.iter().zip(&ints[1..]) {
        m.insert((*name).into(), b64_uint(v).into());
    }
    Some(Value::Object(m))
}

fn curve(oid: &[u8]) -> Option<(&'static str, usize)> {
    match oid {
        OID_P256 => Some(("P-256", 32)),
        OID_P384 => Some(("P-384", 48)),
        OID_P521 => Some(("P-521", 66)),
        _ => None,
    }
}

/// An EC JWK from SEC1 `ECPrivateKey` content; `curve_oid` when the structure omits it.
fn ec_jwk(sec1: &[u8], curve_oid: Option<&[u8]>) -> Option<Value> {
    let f = seq(sec1)?;
    let d = octets(f.get(1)?)?;
    let mut curve_oid = curve_oid.map(<[u8]>::to_vec);
    let mut point: Option<&[u8]> = None;
    for o in f.get(2..).unwrap_or_default() {
        if let Some(inner) = explicit(o, 0) {
            curve_oid = oid(&inner).map(<[u8]>::to_vec);
        } else if let Some(inner) = explicit(o, 1)
            && let BerObjectContent::BitString(_, bits) = inner.content
        {
            point = Some(bits.data);
        }
    }
    let (crv, size) = curve(&curve_oid?)?;
    let point = point?;
    if point.first() != Some(&0x04) || point.len() != 1 + 2 * size {
        return None;
    }
    let pad = |v: &[u8]| {
        let v = &v[v.len().saturating_sub(size)..];
        let mut out = vec![0u8; size - v.len()];
        out.extend_from_slice(v);
        URL_SAFE_NO_PAD.encode(out)
    };
    Some(json!({"kty": "EC", "crv": crv, "d": pad(d),
        "x": URL_SAFE_NO_PAD.encode(&point[1..=size]), "y": URL_SAFE_NO_PAD.encode(&point[1 + size..])}))
}

fn pkcs8_jwk(input: &[u8]) -> Option<Value> {
    let f = seq(input)?;
    let BerObjectContent::Sequence(alg) = &f.get(1)?.content else {
        return None;
    };
    let key = octets(f.get(2)?)?;
    match oid(alg.first()?)? {
        OID_RSA => rsa_jwk(key),
        OID_EC => ec_jwk(key, alg.get(1).and_then(oid)),
        _ => None,
    }
}

/// The DER of the first `label` block of `text`.
fn pem_block(text: &str, label: &str) -> Option<Vec<u8>> {
    eso_core::pem::blocks(text)
        .filter_map(Result::ok)
        .find(|b| b.label == label)
        .map(|b| b.der)
}

/// The JSON Web Key (with its private members) of a PEM private key.
pub(crate) fn private_jwk(pem: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "the value is not PEM text".to_owned())?;
    let jwk = if let Some(der) = pem_block(text, "PRIVATE KEY") {
        pkcs8_jwk(&der)
    } else if let Some(der) = pem_block(text, "RSA PRIVATE KEY") {
        rsa_jwk(&der)
    } else if let Some(der) = pem_block(text, "EC PRIVATE KEY") {
        ec_jwk(&der, None)
    } else {
        return Err("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block".into());
    };
    jwk.ok_or_else(|| {
        "unsupported private key (RSA, or EC on P-256, P-384 or P-521 with its public key)".into()
    })
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};

    use super::*;

    fn pem(label: &str, der: &[u8]) -> String {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    #[test]
    fn rsa_pkcs8_to_jwk() {
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
        let jwk = private_jwk(pem("PRIVATE KEY", der.as_ref()).as_bytes()).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
        assert!(jwk["qi"].is_string());
    }

    #[test]
    fn ec_pkcs8_to_jwk() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
                .unwrap();
        let jwk = private_jwk(pem("PRIVATE KEY", doc.as_ref()).as_bytes()).unwrap();
        assert_eq!(jwk["crv"], "P-256");
        let point = kp.public_key().as_ref();
        assert_eq!(jwk["x"], URL_SAFE_NO_PAD.encode(&point[1..33]));
        assert_eq!(jwk["y"], URL_SAFE_NO_PAD.encode(&point[33..]));
        assert!(
            private_jwk(b"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n").is_err()
        );
        assert!(private_jwk(b"nothing").is_err());
    }
}
