//! ESO's own template functions: PEM filtering, certificate chains and SANs, PKCS#12
//! extraction, JWK to PEM, RSA decryption.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::{FnResult, FuncDef, S, bytes_arg, fixed, text};
use crate::template::value::Value;

/// One decoded PEM block.
pub(crate) struct PemBlock {
    pub typ: String,
    pub bytes: Vec<u8>,
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return None;
    }
    memchr::memmem::find(h, n)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `base64.StdEncoding` (padded, non-canonical trailing bits accepted).
const GO_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Go's `pem.Decode`: the next block and the remaining input, or `None` and the input.
pub(crate) fn pem_decode(mut data: &[u8]) -> (Option<PemBlock>, &[u8]) {
    let orig = data;
    loop {
        let start = if data.starts_with(b"-----BEGIN ") {
            0
        } else {
            match find(data, b"\n-----BEGIN ") {
                Some(i) => i + 1,
                None => return (None, orig),
            }
        };
        let after = &data[start + 11..];
        let (line, rest) = match memchr::memchr(b'\n', after) {
            Some(i) => (&after[..i], &after[i + 1..]),
            None => (after, &after[after.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(typ) = line.strip_suffix(b"-----") else {
            data = rest;
            continue;
        };
        let typ = String::from_utf8_lossy(typ).into_owned();
        // Skip RFC 1421 headers (lines with ':' up to a blank line).
        let mut body = rest;
        if let Some(nl) = memchr::memchr(b'\n', body)
            && body[..nl].contains(&b':')
        {
            match find(body, b"\n\n").or_else(|| find(body, b"\r\n\r\n")) {
                Some(i) => body = &body[i..],
                None => {
                    data = rest;
                    continue;
                }
            }
        }
        let (end_idx, end_len) = if body.starts_with(b"-----END ") {
            (0, 0)
        } else {
            match find(body, b"\n-----END ") {
                Some(i) => (i, 1),
                None => {
                    data = rest;
                    continue;
                }
            }
        };
        let b64 = &body[..end_idx];
        let trailer = &body[end_idx + end_len + 9..];
        let Some(tail) = trailer.strip_prefix(typ.as_bytes()) else {
            data = rest;
            continue;
        };
        let Some(tail) = tail.strip_prefix(b"-----") else {
            data = rest;
            continue;
        };
        // The rest of the END line must be whitespace.
        let (eol, remaining) = match memchr::memchr(b'\n', tail) {
            Some(i) => (&tail[..i], &tail[i + 1..]),
            None => (tail, &tail[tail.len()..]),
        };
        if !eol.iter().all(|c| is_ws(*c)) {
            data = rest;
            continue;
        }
        let mut clean = Vec::with_capacity(b64.len());
        let mut lines = b64;
        loop {
            let (line, next) = match memchr::memchr(b'\n', lines) {
                Some(i) => (&lines[..i], Some(&lines[i + 1..])),
                None => (lines, None),
            };
            if memchr::memchr3(b' ', b'\t', b'\r', line).is_some() {
                clean.extend(line.iter().copied().filter(|c| !is_ws(*c)));
            } else {
                clean.extend_from_slice(line);
            }
            match next {
                Some(n) => lines = n,
                None => break,
            }
        }
        match GO_STD.decode(&clean) {
            Ok(bytes) => return (Some(PemBlock { typ, bytes }), remaining),
            Err(_) => {
                data = rest;
            }
        }
    }
}

/// Go's `pem.Encode` without headers.
pub(crate) fn pem_encode(typ: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * typ.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(typ);
    out.push_str("-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        // base64 text is ASCII: any byte index is a char boundary
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(typ);
    out.push_str("-----\n");
    out
}

fn trim_junk(b: &[u8]) -> &[u8] {
    match find(b, b"-----BEGIN") {
        Some(i) => &b[i..],
        None => b,
    }
}

fn filter_pem(typ: &str, input: &[u8]) -> Result<String, String> {
    let mut data = trim_junk(input);
    let mut out = String::new();
    loop {
        let (block, rest) = pem_decode(data);
        data = rest;
        match block {
            None => break,
            Some(b) => {
                if b.typ.eq_ignore_ascii_case(typ) {
                    out.push_str(&pem_encode(&b.typ, &b.bytes));
                }
            }
        }
    }
    if out.is_empty() && !data.is_empty() {
        return Err("error filtering pem: found junk".into());
    }
    Ok(out)
}

fn ip_string(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            let v6 = std::net::Ipv6Addr::from(a);
            match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => v6.to_string(),
            }
        }
        _ => {
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("?{h}")
        }
    }
}

fn cert_sans(input: &[u8]) -> FnResult {
    let (block, _) = pem_decode(trim_junk(input));
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&block.bytes)
        .map_err(|e| format!("failed to parse certificate: x509: malformed certificate ({e})"))?;
    let (mut dns, mut ips, mut emails, mut uris) = (vec![], vec![], vec![], vec![]);
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for g in &san.general_names {
                match g {
                    GeneralName::DNSName(d) => dns.push(Value::str(d)),
                    GeneralName::IPAddress(b) => ips.push(Value::string(ip_string(b))),
                    GeneralName::RFC822Name(e) => emails.push(Value::str(e)),
                    GeneralName::URI(u) => uris.push(Value::str(u)),
                    _ => {}
                }
            }
        }
    }
    dns.extend(ips);
    dns.extend(emails);
    dns.extend(uris);
    Ok(Value::list(dns))
}

// ---------------------------------------------------------------------------------------
// PKCS#12

fn pkcs12_key(pass: &str, input: &[u8]) -> FnResult {
    let a = p12_keystore::Pkcs12Archive::from_pkcs12(input, pass)
        .map_err(|e| format!("unable to decode pkcs12 with password: {e}"))?;
    let Some(k) = a.keys.first() else {
        return Err("unable to decode pkcs12 with password: pkcs12: private key missing".into());
    };
    Ok(Value::string(pem_encode(
        "PRIVATE KEY",
        &normalize_pkcs8(k.key.as_der()),
    )))
}

fn pkcs12_cert(pass: &str, input: &[u8]) -> FnResult {
    let a = p12_keystore::Pkcs12Archive::from_pkcs12(input, pass)
        .map_err(|e| format!("unable to decode pkcs12 certificate with password: {e}"))?;
    if a.certs.is_empty() {
        return Err(
            "unable to decode pkcs12 certificate with password: pkcs12: certificate missing".into(),
        );
    }
    let mut pem = String::new();
    for c in &a.certs {
        pem.push_str(&pem_encode("CERTIFICATE", c.cert.as_der()));
    }
    match super::chain::order_chain(pem.as_bytes()) {
        Ok(ordered) => Ok(Value::string(
            ordered
                .iter()
                .map(|c| pem_encode("CERTIFICATE", &c.der))
                .collect(),
        )),
        Err(_) => Ok(Value::string(pem)),
    }
}

fn parse_cert_der(der: &[u8]) -> Result<p12_keystore::Certificate, String> {
    p12_keystore::Certificate::from_der(der)
        .map_err(|e| format!("x509: malformed certificate: {e}"))
}

fn parse_ca_certs(input: &[u8]) -> Result<Vec<p12_keystore::Certificate>, String> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (block, r) = pem_decode(rest);
        rest = r;
        let Some(b) = block else {
            if rest.iter().all(|c| is_ws(*c)) {
                break;
            }
            return Err("failed to decode PEM block".into());
        };
        out.push(parse_cert_der(&b.bytes)?);
    }
    Ok(out)
}

/// A private key PEM (PKCS#1, PKCS#8 or SEC1) as PKCS#8 DER.
fn private_key_pkcs8(key_pem: &[u8]) -> Result<Vec<u8>, String> {
    let (block, _) = pem_decode(key_pem);
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let der = block.bytes;
    let Some((0x30, body, _)) = der_read(&der) else {
        return Err("unable to parse private key type".into());
    };
    let Some((0x02, ver, rest)) = der_read(body) else {
        return Err("unable to parse private key type".into());
    };
    match der_read(rest) {
        Some((0x02, _, _)) => Ok(pkcs1_to_pkcs8(&der)),
        Some((0x30, _, _)) => Ok(normalize_pkcs8(&der)),
        Some((0x04, _, _)) if ver == [1] => {
            // SEC1 ECPrivateKey: take the curve from [0] parameters.
            let mut r = rest;
            let mut curve = None;
            while let Some((tag, c, r2)) = der_read(r) {
                if tag == 0xa0 {
                    curve = Some(c.to_vec());
                }
                r = r2;
            }
            let Some(curve) = curve else {
                return Err("unable to parse private key type".into());
            };
            Ok(normalize_pkcs8(&der_seq(&[
                der_uint(&[0]),
                der_seq(&[OID_EC.to_vec(), curve]),
                der_tlv(0x04, &der),
            ])))
        }
        _ => Err("unable to parse private key type".into()),
    }
}

fn encode_pkcs12(
    cert: p12_keystore::Certificate,
    key_pem: &[u8],
    cas: Vec<p12_keystore::Certificate>,
    pass: &str,
) -> FnResult {
    let key = p12_keystore::PrivateKey::from_der(&private_key_pkcs8(key_pem)?)
        .map_err(|e| format!("unable to parse private key type: {e}"))?;
    let mut chain = vec![cert];
    chain.extend(cas);
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        chain[0].as_der(),
    );
    let kc = p12_keystore::PrivateKeyChain::new(digest.as_ref().to_vec(), key, chain);
    let mut ks = p12_keystore::KeyStore::new();
    ks.add_entry("1", p12_keystore::KeyStoreEntry::PrivateKeyChain(kc));
    let pfx = ks
        .writer(pass)
        .write()
        .map_err(|e| format!("pkcs12: {e}"))?;
    Ok(Value::string(STANDARD.encode(pfx)))
}

fn pem_to_pkcs12(cert: &[u8], key: &[u8], pass: &str, full: bool) -> FnResult {
    let (block, rest) = pem_decode(cert);
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let leaf = parse_cert_der(&block.bytes)?;
    let cas = if full {
        parse_ca_certs(rest)?
    } else {
        Vec::new()
    };
    encode_pkcs12(leaf, key, cas, pass)
}

fn truststore_to_pkcs12(certs: &[u8], pass: &str) -> FnResult {
    let cas = parse_ca_certs(certs)?;
    let mut ks = p12_keystore::KeyStore::new();
    for (i, c) in cas.into_iter().enumerate() {
        ks.add_entry(&i.to_string(), p12_keystore::KeyStoreEntry::Certificate(c));
    }
    let pfx = ks
        .writer(pass)
        .write()
        .map_err(|e| format!("pkcs12: {e}"))?;
    Ok(Value::string(STANDARD.encode(pfx)))
}

// ---------------------------------------------------------------------------------------
// minimal DER helpers

fn der_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn der_uint(b: &[u8]) -> Vec<u8> {
    let skip = b.iter().take_while(|x| **x == 0).count();
    let mut v: Vec<u8> = b[skip..].to_vec();
    if v.is_empty() {
        v.push(0);
    }
    if v[0] & 0x80 != 0 {
        v.insert(0, 0);
    }
    der_tlv(0x02, &v)
}

fn der_seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der_tlv(0x30, &parts.concat())
}

/// Reads one TLV: (tag, content, rest).
pub(crate) fn der_read(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, b.get(hdr..end)?, b.get(end..)?))
}

const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const OID_X25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x6e];

fn rsa_alg() -> Vec<u8> {
    der_seq(&[OID_RSA.to_vec(), vec![0x05, 0x00]])
}

/// Wraps a PKCS#1 RSAPrivateKey in PKCS#8.
pub(crate) fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    der_seq(&[der_uint(&[0]), rsa_alg(), der_tlv(0x04, pkcs1)])
}

/// Re-encodes PKCS#8 the way Go's `x509.MarshalPKCS8PrivateKey` writes it (drops optional
/// attributes / public key fields; EC keys without inner curve parameters).
fn normalize_pkcs8(der: &[u8]) -> Vec<u8> {
    let Some((0x30, body, _)) = der_read(der) else {
        return der.to_vec();
    };
    let Some((0x02, _ver, rest)) = der_read(body) else {
        return der.to_vec();
    };
    let Some((0x30, alg, rest)) = der_read(rest) else {
        return der.to_vec();
    };
    let Some((0x04, key, _)) = der_read(rest) else {
        return der.to_vec();
    };
    let alg_full = der_tlv(0x30, alg);
    if alg.starts_with(OID_EC) {
        // ECPrivateKey: version, privateKey, [0] params (drop), [1] publicKey
        if let Some((0x30, ec, _)) = der_read(key) {
            let mut parts = Vec::new();
            let mut r = ec;
            while let Some((tag, c, rest2)) = der_read(r) {
                if tag != 0xa0 {
                    parts.push(der_tlv(tag, c));
                }
                r = rest2;
            }
            return der_seq(&[der_uint(&[0]), alg_full, der_tlv(0x04, &der_seq(&parts))]);
        }
    }
    der_seq(&[der_uint(&[0]), alg_full, der_tlv(0x04, key)])
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
        fixed("certSANs", &[S], |_, a| cert_sans(bytes_arg(&a[0]))),
        fixed("pkcs12key", &[S], |_, a| pkcs12_key("", bytes_arg(&a[0]))),
        fixed("pkcs12keyPass", &[S, S], |_, a| {
            pkcs12_key(&text(&a[0]), bytes_arg(&a[1]))
        }),
        fixed("pkcs12cert", &[S], |_, a| pkcs12_cert("", bytes_arg(&a[0]))),
        fixed("pkcs12certPass", &[S, S], |_, a| {
            pkcs12_cert(&text(&a[0]), bytes_arg(&a[1]))
        }),
        fixed("pemToPkcs12", &[S, S], |_, a| {
            pem_to_pkcs12(bytes_arg(&a[0]), bytes_arg(&a[1]), "", false)
        }),
        fixed("pemToPkcs12Pass", &[S, S, S], |_, a| {
            pem_to_pkcs12(bytes_arg(&a[0]), bytes_arg(&a[1]), &text(&a[2]), false)
        }),
        fixed("fullPemToPkcs12", &[S, S], |_, a| {
            pem_to_pkcs12(bytes_arg(&a[0]), bytes_arg(&a[1]), "", true)
        }),
        fixed("fullPemToPkcs12Pass", &[S, S, S], |_, a| {
            pem_to_pkcs12(bytes_arg(&a[0]), bytes_arg(&a[1]), &text(&a[2]), true)
        }),
        fixed("pemTruststoreToPKCS12", &[S], |_, a| {
            truststore_to_pkcs12(bytes_arg(&a[0]), "")
        }),
        fixed("pemTruststoreToPKCS12Pass", &[S, S], |_, a| {
            truststore_to_pkcs12(bytes_arg(&a[0]), &text(&a[1]))
        }),
        fixed("jwkPublicKeyPem", &[S], |_, a| {
            let v = jwk_parse(bytes_arg(&a[0]))?;
            Ok(Value::string(pem_encode(
                "PUBLIC KEY",
                &jwk_public_der(&v)?,
            )))
        }),
        fixed("jwkPrivateKeyPem", &[S], |_, a| {
            let v = jwk_parse(bytes_arg(&a[0]))?;
            Ok(Value::string(pem_encode(
                "PRIVATE KEY",
                &jwk_private_der(&v)?,
            )))
        }),
        fixed("rsaDecrypt", &[S, S, S, S], |_, a| {
            super::rsa::rsa_decrypt(
                &text(&a[0]),
                &text(&a[1]),
                bytes_arg(&a[2]),
                bytes_arg(&a[3]),
            )
        }),
    ]
}
