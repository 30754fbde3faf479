//! ESO's functions that need an X.509 parser or a PKCS#12 codec: `certSANs`, `pkcs12key`,
//! `pkcs12cert` (and their `Pass` forms), `pemToPkcs12`, `fullPemToPkcs12`,
//! `pemTruststoreToPKCS12` (and `Pass` forms), `rsaDecrypt`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::der::{normalize_pkcs8, private_key_pkcs8};
use super::{FnResult, FuncDef, S, bytes_arg, fixed, text};
use crate::pem;
use crate::template::value::Value;

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
    let (block, _) = pem::decode(super::eso::trim_junk(input));
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let (_, cert) = x509_parser::parse_x509_certificate(&block.der)
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

fn pkcs12_key(pass: &str, input: &[u8]) -> FnResult {
    let a = p12_keystore::Pkcs12Archive::from_pkcs12(input, pass)
        .map_err(|e| format!("unable to decode pkcs12 with password: {e}"))?;
    let Some(k) = a.keys.first() else {
        return Err("unable to decode pkcs12 with password: pkcs12: private key missing".into());
    };
    Ok(Value::string(pem::encode(
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
        pem.push_str(&pem::encode("CERTIFICATE", c.cert.as_der()));
    }
    match super::chain::order_chain(pem.as_bytes()) {
        Ok(ordered) => Ok(Value::string(
            ordered
                .iter()
                .map(|c| pem::encode("CERTIFICATE", &c.der))
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
        let (block, r) = pem::decode(rest);
        rest = r;
        let Some(b) = block else {
            if rest
                .iter()
                .all(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
            {
                break;
            }
            return Err("failed to decode PEM block".into());
        };
        out.push(parse_cert_der(&b.der)?);
    }
    Ok(out)
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
    let (block, rest) = pem::decode(cert);
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let leaf = parse_cert_der(&block.der)?;
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

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
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
