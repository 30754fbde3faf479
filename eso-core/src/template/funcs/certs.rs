//! sprig's key and certificate generators: `genPrivateKey`, `genCA`, `genCAWithKey`,
//! `genSelfSignedCert`, `genSelfSignedCertWithKey`, `genSignedCert`, `genSignedCertWithKey`,
//! `buildCustomCert`, on aws-lc-rs.
//!
//! Certificates are built like Go's `x509.CreateCertificate` from sprig's template: v3, a
//! random 128-bit serial, `CN` subject, validity now .. now + days, key usage digital
//! signature + key encipherment (+ cert sign for a CA), server and client auth, basic
//! constraints, SANs, a subject key id on CAs and the issuer's key id on signed certificates,
//! signed with the issuer's key (SHA-256 with RSA, ECDSA with SHA-256/384/512 by curve, or
//! Ed25519). A certificate is a dict with `Cert` and `Key` (PEM), as Go's struct is used
//! (`.Cert`, `.Key`). Generated keys are RSA 2048 (RSA 4096 for `genPrivateKey`); the
//! `WithKey` forms take an RSA, ECDSA (P-256, P-384, P-521) or Ed25519 key, as sprig reads
//! it (see [`super::certkey`]). DSA keys are not supported.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeySize;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::certkey::SignKey;
use super::der::der_read;
use super::{A, FnResult, FuncDef, I, S, fixed, int_arg, text};
use crate::pem::{decode as pem_decode, encode as pem_encode};
use crate::template::time::GoTime;
use crate::template::value::{Map, Value};

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn uint(b: &[u8]) -> Vec<u8> {
    let skip = b.iter().take_while(|x| **x == 0).count();
    let mut v = b[skip..].to_vec();
    if v.first().is_none_or(|x| x & 0x80 != 0) {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

fn oid(arcs: &[u8]) -> Vec<u8> {
    tlv(0x06, arcs)
}

const OID_CN: &[u8] = &[0x55, 0x04, 0x03];

fn rand_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut b = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| "random source failed".to_string())?;
    Ok(b)
}

fn name(cn: &str) -> Vec<u8> {
    if cn.is_empty() {
        return seq(&[]);
    }
    let printable = cn
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&c));
    let value = tlv(if printable { 0x13 } else { 0x0c }, cn.as_bytes());
    seq(&[&tlv(0x31, &seq(&[&oid(OID_CN), &value]))])
}

fn asn1_time(t: &GoTime) -> Vec<u8> {
    let year: i64 = t.format("2006").parse().unwrap_or(0);
    if (1950..2050).contains(&year) {
        tlv(0x17, t.format("060102150405Z").as_bytes())
    } else {
        tlv(0x18, t.format("20060102150405Z").as_bytes())
    }
}

fn ext(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let oid = oid(id);
    let val = tlv(0x04, value);
    if critical {
        seq(&[&oid, &[0x01, 0x01, 0xff], &val])
    } else {
        seq(&[&oid, &val])
    }
}

fn parse_ip(s: &str) -> Option<Vec<u8>> {
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => Some(v4.octets().to_vec()),
        std::net::IpAddr::V6(v6) => Some(v6.octets().to_vec()),
    }
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::List(l) => l
            .iter()
            .map(|e| match e {
                Value::Str(b) => Ok(String::from_utf8_lossy(b).into_owned()),
                _ => Err(format!("error processing {what}")),
            })
            .collect(),
        other => Err(format!(
            "wrong type for value; expected []interface {{}}; got {}",
            other.type_name()
        )),
    }
}

/// What the certificate is signed with: the issuer's name, key id and key.
struct Issuer<'a> {
    name: Vec<u8>,
    key_id: Option<Vec<u8>>,
    key: &'a SignKey,
}

struct Spec<'a> {
    cn: &'a str,
    ips: Vec<Vec<u8>>,
    dns: Vec<String>,
    days: i64,
    is_ca: bool,
}

fn key_id(spki: &[u8]) -> Option<Vec<u8>> {
    // SHA-1 of the subjectPublicKey bits, as Go does.
    let (_, body, _) = der_read(spki)?;
    let (_, _, rest) = der_read(body)?;
    let (_, bits, _) = der_read(rest)?;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bits.get(1..)?);
    Some(d.as_ref().to_vec())
}

fn create_cert(spec: &Spec<'_>, key: &SignKey, issuer: Option<&Issuer<'_>>) -> FnResult {
    let spki = key.spki()?;
    let mut serial = rand_bytes(16)?;
    serial[0] &= 0x7f;
    let now = GoTime::now();
    let not_after = now.add(spec.days.saturating_mul(86_400_000_000_000));
    let subject = name(spec.cn);
    let own_id = key_id(&spki);
    let mut exts = Vec::new();
    let usage: &[u8] = if spec.is_ca {
        &[0x02, 0xa4]
    } else {
        &[0x05, 0xa0]
    };
    exts.push(ext(&[0x55, 0x1d, 0x0f], true, &tlv(0x03, usage)));
    exts.push(ext(
        &[0x55, 0x1d, 0x25],
        false,
        &seq(&[
            &oid(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01]),
            &oid(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]),
        ]),
    ));
    let bc: Vec<u8> = if spec.is_ca {
        seq(&[&[0x01, 0x01, 0xff]])
    } else {
        seq(&[])
    };
    exts.push(ext(&[0x55, 0x1d, 0x13], true, &bc));
    if spec.is_ca
        && let Some(id) = &own_id
    {
        exts.push(ext(&[0x55, 0x1d, 0x0e], false, &tlv(0x04, id)));
    }
    if let Some(id) = issuer.and_then(|i| i.key_id.as_ref()) {
        exts.push(ext(&[0x55, 0x1d, 0x23], false, &seq(&[&tlv(0x80, id)])));
    }
    if !spec.dns.is_empty() || !spec.ips.is_empty() {
        let mut names = Vec::new();
        for d in &spec.dns {
            names.extend(tlv(0x82, d.as_bytes()));
        }
        for ip in &spec.ips {
            names.extend(tlv(0x87, ip));
        }
        exts.push(ext(&[0x55, 0x1d, 0x11], false, &tlv(0x30, &names)));
    }
    let signer = issuer.map_or(key, |i| i.key);
    let alg = signer.sig_alg();
    let issuer_name = issuer.map_or_else(|| subject.clone(), |i| i.name.clone());
    let tbs = seq(&[
        &[0xa0, 0x03, 0x02, 0x01, 0x02],
        &uint(&serial),
        &alg,
        &issuer_name,
        &seq(&[&asn1_time(&now), &asn1_time(&not_after)]),
        &subject,
        &spki,
        &tlv(0xa3, &tlv(0x30, &exts.concat())),
    ]);
    let sig = signer.sign(&tbs)?;
    let mut bits = vec![0u8];
    bits.extend(sig);
    let cert = seq(&[&tbs, &alg, &tlv(0x03, &bits)]);
    let mut m = Map::new();
    m.insert(
        "Cert".into(),
        Value::string(pem_encode("CERTIFICATE", &cert)),
    );
    m.insert("Key".into(), Value::string(key.to_pem()?));
    Ok(certificate(m))
}

fn spec_from<'a>(a: &'a [Value], is_ca: bool, cn: &'a str) -> Result<Spec<'a>, String> {
    let ips = if is_ca {
        Vec::new()
    } else {
        string_list(&a[1], "ip")?
            .iter()
            .map(|s| parse_ip(s).ok_or_else(|| format!("error parsing ip: {s}")))
            .collect::<Result<_, _>>()?
    };
    let dns = if is_ca {
        Vec::new()
    } else {
        string_list(&a[2], "alternate dns name")?
    };
    let days = int_arg(&a[if is_ca { 1 } else { 3 }]);
    Ok(Spec {
        cn,
        ips,
        dns,
        days,
        is_ca,
    })
}

fn ca_issuer<'k>(ca: &Value, key: &'k SignKey) -> Result<Issuer<'k>, String> {
    let Value::Map(m, _) = ca else {
        return Err(format!(
            "wrong type for value; expected sprig.certificate; got {}",
            ca.type_name()
        ));
    };
    let cert_pem = m.get("Cert").and_then(Value::as_bytes).unwrap_or(b"");
    let (block, _) = pem_decode(cert_pem);
    let der = block
        .map(|b| b.der)
        .ok_or_else(|| "unable to decode CA certificate PEM".to_string())?;
    subject_and_key_id(&der)
        .map(|(name, key_id)| Issuer { name, key_id, key })
        .ok_or_else(|| "error parsing certificate: x509: malformed certificate".to_string())
}

fn subject_and_key_id(der: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let (0x30, cert, _) = der_read(der)? else {
        return None;
    };
    let (0x30, tbs, _) = der_read(cert)? else {
        return None;
    };
    let mut r = tbs;
    if r.first() == Some(&0xa0) {
        r = der_read(r)?.2;
    }
    for _ in 0..4 {
        r = der_read(r)?.2;
    }
    let subject_len = r.len() - der_read(r)?.2.len();
    let subject = r[..subject_len].to_vec();
    let spki = der_read(r)?.2;
    let spki_len = spki.len() - der_read(spki)?.2.len();
    Some((subject, key_id(&spki[..spki_len])))
}

fn ca_key(ca: &Value) -> Result<SignKey, String> {
    let key = match ca {
        Value::Map(m, _) => m.get("Key").and_then(Value::as_bytes).unwrap_or(b""),
        _ => b"",
    };
    SignKey::from_pem(key)
}

fn gen_private_key(kind: &str) -> String {
    let res = match kind {
        "" | "rsa" => SignKey::new_rsa(KeySize::Rsa4096).and_then(|k| k.to_pem()),
        "ecdsa" => aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        )
        .ok()
        .and_then(|k| {
            k.private_key()
                .as_der()
                .ok()
                .map(|d| pem_encode("EC PRIVATE KEY", d.as_ref()))
        })
        .ok_or_else(|| "failed to generate private key".to_string()),
        "ed25519" => aws_lc_rs::signature::Ed25519KeyPair::generate()
            .ok()
            .and_then(|k| k.to_pkcs8v1().ok())
            .map(|d| pem_encode("PRIVATE KEY", d.as_ref()))
            .ok_or_else(|| "failed to generate private key".to_string()),
        "dsa" => Err("DSA keys are not supported by this build".to_string()),
        other => return format!("Unknown type {other}"),
    };
    res.unwrap_or_else(|e| format!("failed to generate private key: {e}"))
}

fn build_custom_cert(cert_b64: &[u8], key_b64: &[u8]) -> FnResult {
    let cert = STANDARD
        .decode(cert_b64)
        .map_err(|_| "unable to decode base64 certificate".to_string())?;
    let key = STANDARD
        .decode(key_b64)
        .map_err(|_| "unable to decode base64 private key".to_string())?;
    let (cblock, _) = pem_decode(&cert);
    let cblock = cblock.ok_or_else(|| "unable to decode certificate".to_string())?;
    subject_and_key_id(&cblock.der)
        .ok_or_else(|| "error parsing certificate: x509: malformed certificate".to_string())?;
    let (kblock, _) = pem_decode(&key);
    let kblock = kblock.ok_or_else(|| "unable to decode private key".to_string())?;
    let mut m = Map::new();
    m.insert(
        "Cert".into(),
        Value::string(pem_encode(&cblock.label, &cblock.der)),
    );
    m.insert(
        "Key".into(),
        Value::string(pem_encode(&kblock.label, &kblock.der)),
    );
    Ok(certificate(m))
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("genPrivateKey", &[S], |_, a| {
            Ok(Value::string(gen_private_key(&text(&a[0]))))
        }),
        fixed("genCA", &[S, I], |_, a| {
            let cn = text(&a[0]);
            let key = SignKey::new_rsa(KeySize::Rsa2048)?;
            create_cert(&spec_from(&a, true, &cn)?, &key, None)
        }),
        fixed("genCAWithKey", &[S, I, S], |_, a| {
            let cn = text(&a[0]);
            let key = SignKey::from_pem(a[2].as_bytes().unwrap_or(b""))?;
            create_cert(&spec_from(&a, true, &cn)?, &key, None)
        }),
        fixed("genSelfSignedCert", &[S, A, A, I], |_, a| {
            let cn = text(&a[0]);
            let key = SignKey::new_rsa(KeySize::Rsa2048)?;
            create_cert(&spec_from(&a, false, &cn)?, &key, None)
        }),
        fixed("genSelfSignedCertWithKey", &[S, A, A, I, S], |_, a| {
            let cn = text(&a[0]);
            let key = SignKey::from_pem(a[4].as_bytes().unwrap_or(b""))?;
            create_cert(&spec_from(&a, false, &cn)?, &key, None)
        }),
        fixed("genSignedCert", &[S, A, A, I, A], |_, a| {
            let cn = text(&a[0]);
            let key = SignKey::new_rsa(KeySize::Rsa2048)?;
            let ca_key = ca_key(&a[4])?;
            let issuer = ca_issuer(&a[4], &ca_key)?;
            create_cert(&spec_from(&a, false, &cn)?, &key, Some(&issuer))
        }),
        fixed("genSignedCertWithKey", &[S, A, A, I, A, S], |_, a| {
            let cn = text(&a[0]);
            let key = SignKey::from_pem(a[5].as_bytes().unwrap_or(b""))?;
            let ca_key = ca_key(&a[4])?;
            let issuer = ca_issuer(&a[4], &ca_key)?;
            create_cert(&spec_from(&a, false, &cn)?, &key, Some(&issuer))
        }),
        fixed("buildCustomCert", &[S, S], |_, a| {
            build_custom_cert(
                a[0].as_bytes().unwrap_or(b""),
                a[1].as_bytes().unwrap_or(b""),
            )
        }),
    ]
}

/// sprig's `certificate` struct (`.Cert`, `.Key`).
fn certificate(m: Map) -> Value {
    Value::Map(
        std::sync::Arc::new(m),
        crate::template::value::MapKind::Struct(crate::template::value::StructKind::Certificate),
    )
}
