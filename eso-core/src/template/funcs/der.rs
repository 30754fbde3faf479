//! Minimal DER reading and writing for the key and certificate functions (no cryptography:
//! the PKCS#8 / PKCS#1 / SEC1 framing and the JWK structures only).
pub(crate) fn der_len(out: &mut Vec<u8>, n: usize) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

pub(crate) fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

pub(crate) fn der_uint(b: &[u8]) -> Vec<u8> {
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

pub(crate) fn der_seq(parts: &[Vec<u8>]) -> Vec<u8> {
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

pub(crate) const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
pub(crate) const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
pub(crate) const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub(crate) const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
pub(crate) const OID_P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
pub(crate) const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
pub(crate) const OID_X25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x6e];

pub(crate) fn rsa_alg() -> Vec<u8> {
    der_seq(&[OID_RSA.to_vec(), vec![0x05, 0x00]])
}

/// Wraps a PKCS#1 RSAPrivateKey in PKCS#8.
pub(crate) fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
    der_seq(&[der_uint(&[0]), rsa_alg(), der_tlv(0x04, pkcs1)])
}

#[cfg(feature = "template-crypto")]
/// Re-encodes PKCS#8 the way Go's `x509.MarshalPKCS8PrivateKey` writes it (drops optional
/// attributes / public key fields; EC keys without inner curve parameters).
pub(crate) fn normalize_pkcs8(der: &[u8]) -> Vec<u8> {
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

#[cfg(feature = "template-crypto")]
/// A private key PEM (PKCS#1, PKCS#8 or SEC1) as PKCS#8 DER.
pub(crate) fn private_key_pkcs8(key_pem: &[u8]) -> Result<Vec<u8>, String> {
    let (block, _) = crate::pem::decode(key_pem);
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let der = block.der;
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
