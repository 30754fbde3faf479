//! ESO's `filterCertChain`: order a PEM bundle leaf to root by authority / subject key
//! identifiers and pick the leaf, the intermediates or the root.

use super::der::der_read;
use crate::pem::{decode as pem_decode, encode as pem_encode};

pub(crate) struct CertInfo {
    pub der: Vec<u8>,
    aki: Vec<u8>,
    ski: Vec<u8>,
    has_aki: bool,
}

/// Reads the key identifiers of a certificate with a direct walk over its DER (no full X.509
/// parse: the chain order needs only these two extensions). Malformed structure is an error.
fn cert_info(der: &[u8]) -> Result<CertInfo, String> {
    cert_ids(der)
        .map(|(aki, ski)| CertInfo {
            der: der.to_vec(),
            has_aki: aki.is_some(),
            aki: aki.unwrap_or_default().to_vec(),
            ski: ski.unwrap_or_default().to_vec(),
        })
        .ok_or_else(|| "x509: malformed certificate".to_string())
}

const OID_SKI: &[u8] = &[0x55, 0x1d, 0x0e];
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];

/// (authority key id, subject key id) of a DER certificate.
/// (authority key id, subject key id), each optional.
type KeyIds<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

fn cert_ids(der: &[u8]) -> Option<KeyIds<'_>> {
    let (0x30, cert, []) = der_read(der)? else {
        return None;
    };
    let (0x30, tbs, rest) = der_read(cert)? else {
        return None;
    };
    // signatureAlgorithm and signatureValue must follow.
    let (0x30, _, rest) = der_read(rest)? else {
        return None;
    };
    let (0x03, _, []) = der_read(rest)? else {
        return None;
    };
    let mut r = tbs;
    if r.first() == Some(&0xa0) {
        r = der_read(r)?.2;
    }
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
    for want in [0x02, 0x30, 0x30, 0x30, 0x30, 0x30] {
        let (tag, _, rest) = der_read(r)?;
        if tag != want {
            return None;
        }
        r = rest;
    }
    let (mut aki, mut ski) = (None, None);
    while !r.is_empty() {
        let (tag, body, rest) = der_read(r)?;
        r = rest;
        if tag != 0xa3 {
            continue;
        }
        let (0x30, mut exts, _) = der_read(body)? else {
            return None;
        };
        while !exts.is_empty() {
            let (0x30, ext, rest) = der_read(exts)? else {
                return None;
            };
            exts = rest;
            let (0x06, oid, mut e) = der_read(ext)? else {
                return None;
            };
            if e.first() == Some(&0x01) {
                e = der_read(e)?.2;
            }
            let (0x04, value, _) = der_read(e)? else {
                return None;
            };
            if oid == OID_SKI {
                let (0x04, id, _) = der_read(value)? else {
                    return None;
                };
                ski = Some(id);
            } else if oid == OID_AKI {
                let (0x30, mut seq, _) = der_read(value)? else {
                    return None;
                };
                while !seq.is_empty() {
                    let (tag, v, rest) = der_read(seq)?;
                    if tag == 0x80 {
                        aki = Some(v);
                    }
                    seq = rest;
                }
            }
        }
    }
    Some((aki, ski))
}

pub(crate) fn order_chain(input: &[u8]) -> Result<Vec<CertInfo>, String> {
    let mut nodes = Vec::new();
    let mut data = input;
    loop {
        let (block, rest) = pem_decode(data);
        data = rest;
        let Some(b) = block else { break };
        nodes.push(cert_info(&b.der)?);
        if nodes.len() > 1000 {
            return Err("too many certificates".into());
        }
    }
    let n = nodes.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut is_parent = vec![false; n];
    for i in 0..n {
        for j in 0..n {
            if i != j && nodes[i].aki == nodes[j].ski {
                is_parent[j] = true;
                parent[i] = Some(j);
                break;
            }
        }
    }
    let mut leaf = None;
    for (i, parent_flag) in is_parent.iter().enumerate() {
        if !parent_flag {
            if leaf.is_some() {
                return Err("found multiple leaf or disjunct certificates".into());
            }
            leaf = Some(i);
        }
    }
    let Some(mut cur) = leaf else {
        return Err("no leaf certificate found".into());
    };
    let mut order = vec![cur];
    while let Some(p) = parent[cur] {
        if order.len() >= n {
            return Err("constructing chain resulted in cycle".into());
        }
        order.push(p);
        cur = p;
    }
    let mut slots: Vec<Option<CertInfo>> = nodes.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

fn is_root(c: &CertInfo) -> bool {
    !c.has_aki || c.aki == c.ski
}

pub(crate) fn filter_cert_chain(kind: &str, input: &[u8]) -> Result<String, String> {
    let ordered = order_chain(input)?;
    let Some(first) = ordered.first() else {
        return Ok(String::new());
    };
    match kind {
        "leaf" if first.has_aki && first.aki != first.ski => {
            return Ok(pem_encode("CERTIFICATE", &first.der));
        }
        "intermediate" => {
            let mut out = String::new();
            for c in ordered.iter().skip(1) {
                if is_root(c) {
                    break;
                }
                out.push_str(&pem_encode("CERTIFICATE", &c.der));
            }
            return Ok(out);
        }
        "root" => {
            if let Some(last) = ordered.last()
                && is_root(last)
            {
                return Ok(pem_encode("CERTIFICATE", &last.der));
            }
        }
        _ => {}
    }
    Ok(String::new())
}
