//! `rsaDecrypt`: RSA-OAEP decryption of a PEM private key (PKCS#1 or PKCS#8), as ESO does it
//! with Go's `crypto/rsa`.
//!
//! Keys of 2048 bits and more are decrypted by aws-lc-rs. aws-lc-rs refuses smaller keys, but Go
//! (and so ESO, whose own tests use 1024-bit keys) accepts keys from 1024 bits. For those this
//! module does the RSA private operation itself on `num-bigint` (already in the dependency graph
//! through `x509-parser`). `num-bigint` is not constant-time, so the secret exponentiation is
//! protected the classic way:
//!
//! - base blinding: `c' = c * r^e mod n` for a fresh random `r`, unblinded after with `r^-1`, so
//!   the operands whose timing varies are independent of the attacker's ciphertext;
//! - exponent blinding: the exponent is `d + k * (p-1)(q-1)` for a fresh random 64-bit `k`, so the
//!   exponent bits processed differ on every call;
//! - the result is checked (`m^e == c'`) before use, and the OAEP checks are combined without
//!   early exit and reported as one error (Go's `crypto/rsa: decryption error`).
//!
//! This is deliberately not the `rsa` crate: its RUSTSEC-2023-0071 timing advisory is open.

use num_bigint::BigUint;

use super::FnResult;
use super::der::{der_read, pkcs1_to_pkcs8};
use crate::pem::decode as pem_decode;
use crate::template::value::Value;

const DECRYPT_ERR: &str = "error decrypting data with RSA: crypto/rsa: decryption error";
const PARSE_ERR: &str = "could not parse private key: unable to parse private key type";

/// The integers of a PKCS#1 `RSAPrivateKey`.
struct RsaKey {
    n: BigUint,
    e: BigUint,
    d: BigUint,
    p: BigUint,
    q: BigUint,
}

/// Reads the integers of a PKCS#1 key, or of the PKCS#1 key inside a PKCS#8 RSA key.
fn parse_key(der: &[u8]) -> Option<RsaKey> {
    let (tag, body, _) = der_read(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _version, rest) = der_read(body)?;
    if tag != 0x02 {
        return None;
    }
    // PKCS#8: version, AlgorithmIdentifier (SEQUENCE), OCTET STRING holding the PKCS#1 key.
    if let Some((0x30, _alg, rest2)) = der_read(rest) {
        let (tag, inner, _) = der_read(rest2)?;
        return if tag == 0x04 { parse_key(inner) } else { None };
    }
    let mut ints = Vec::with_capacity(5);
    let mut r = rest;
    while ints.len() < 5 {
        let (tag, v, rest2) = der_read(r)?;
        if tag != 0x02 {
            return None;
        }
        ints.push(BigUint::from_bytes_be(v));
        r = rest2;
    }
    let mut it = ints.into_iter();
    Some(RsaKey {
        n: it.next()?,
        e: it.next()?,
        d: it.next()?,
        p: it.next()?,
        q: it.next()?,
    })
}

fn random_biguint(bytes: usize) -> Result<BigUint, String> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| "random source failed".to_string())?;
    Ok(BigUint::from_bytes_be(&buf))
}

/// The raw RSA private operation `c^d mod n`, with base and exponent blinding.
fn private_op(key: &RsaKey, c: &BigUint) -> Result<BigUint, String> {
    let one = BigUint::from(1u8);
    let k_bytes = key.n.bits().div_ceil(8) as usize;
    let (r, r_inv) = loop {
        let r = random_biguint(k_bytes)? % &key.n;
        if r <= one {
            continue;
        }
        if let Some(inv) = r.modinv(&key.n) {
            break (r, inv);
        }
    };
    let phi = (&key.p - &one) * (&key.q - &one);
    let d_blind = &key.d + random_biguint(8)? * phi;
    let blinded = (c * r.modpow(&key.e, &key.n)) % &key.n;
    let m_blind = blinded.modpow(&d_blind, &key.n);
    // Fault check: a wrong result must never reach the OAEP decoder.
    if m_blind.modpow(&key.e, &key.n) != blinded {
        return Err(DECRYPT_ERR.into());
    }
    Ok((m_blind * r_inv) % &key.n)
}

fn digest(alg: &'static aws_lc_rs::digest::Algorithm, parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = aws_lc_rs::digest::Context::new(alg);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

/// MGF1 with the given hash: `len` bytes of mask from `seed`.
fn mgf1(alg: &'static aws_lc_rs::digest::Algorithm, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + alg.output_len());
    let mut counter = 0u32;
    while out.len() < len {
        out.extend(digest(alg, &[seed, &counter.to_be_bytes()]));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// EME-OAEP decoding (RFC 8017 7.1.2 step 3), checking every condition without early exit.
fn oaep_decode(alg: &'static aws_lc_rs::digest::Algorithm, em: &[u8]) -> Option<Vec<u8>> {
    let h = alg.output_len();
    let l_hash = digest(alg, &[b""]);
    let (y, rest) = em.split_first()?;
    let (masked_seed, masked_db) = rest.split_at(h);
    let seed: Vec<u8> = masked_seed
        .iter()
        .zip(mgf1(alg, masked_db, h))
        .map(|(a, b)| a ^ b)
        .collect();
    let db: Vec<u8> = masked_db
        .iter()
        .zip(mgf1(alg, &seed, masked_db.len()))
        .map(|(a, b)| a ^ b)
        .collect();
    let mut bad = *y;
    for (a, b) in db[..h].iter().zip(&l_hash) {
        bad |= a ^ b;
    }
    // Find the 0x01 separator after the zero padding, touching every byte.
    let mut found = 0u8;
    let mut index = 0usize;
    let mut invalid = 0u8;
    for (i, &b) in db[h..].iter().enumerate() {
        let is_one = u8::from(b == 1);
        let is_zero = u8::from(b == 0);
        let first_one = is_one & (found ^ 1);
        index |= usize::from(first_one) * i;
        found |= is_one;
        invalid |= (found ^ 1) & (is_zero ^ 1) & (is_one ^ 1);
    }
    if bad != 0 || found == 0 || invalid != 0 {
        return None;
    }
    Some(db[h + index + 1..].to_vec())
}

/// Decrypts with the small-key path (1024 to 2047 bits).
fn decrypt_small(
    key: &RsaKey,
    alg: &'static aws_lc_rs::digest::Algorithm,
    input: &[u8],
) -> FnResult {
    let bits = key.n.bits();
    if bits < 1024 {
        return Err(format!(
            "error decrypting data with RSA: crypto/rsa: {bits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
        ));
    }
    let k = bits.div_ceil(8) as usize;
    let h = alg.output_len();
    if input.len() > k || k < 2 * h + 2 {
        return Err(DECRYPT_ERR.into());
    }
    let c = BigUint::from_bytes_be(input);
    if c >= key.n {
        return Err(DECRYPT_ERR.into());
    }
    let m = private_op(key, &c)?;
    let mb = m.to_bytes_be();
    if mb.len() > k {
        return Err(DECRYPT_ERR.into());
    }
    let mut em = vec![0u8; k - mb.len()];
    em.extend_from_slice(&mb);
    oaep_decode(alg, &em)
        .map(Value::byte_vec)
        .ok_or_else(|| DECRYPT_ERR.to_string())
}

/// ESO's `rsaDecrypt scheme hash ciphertext privateKeyPEM`.
pub(crate) fn rsa_decrypt(scheme: &str, hash: &str, input: &[u8], key_pem: &[u8]) -> FnResult {
    use aws_lc_rs::rsa::{
        OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA512_MGF1SHA512,
        OaepPrivateDecryptingKey, PrivateDecryptingKey,
    };
    match scheme {
        "None" => return Ok(Value::bytes(input)),
        "RSA-OAEP" => {}
        other => return Err(format!("decryption scheme {other} is not supported")),
    }
    let (block, _) = pem_decode(key_pem);
    let Some(block) = block else {
        return Err("failed to decode PEM block".into());
    };
    let key = parse_key(&block.der).ok_or_else(|| PARSE_ERR.to_string())?;
    let (alg, digest_alg) = match hash {
        "SHA1" => (
            &OAEP_SHA1_MGF1SHA1,
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        ),
        "SHA512" => (&OAEP_SHA512_MGF1SHA512, &aws_lc_rs::digest::SHA512),
        _ => (&OAEP_SHA256_MGF1SHA256, &aws_lc_rs::digest::SHA256),
    };
    if key.n.bits() < 2048 {
        return decrypt_small(&key, digest_alg, input);
    }
    // PKCS#1 first, then PKCS#8 (like ESO's parsePrivateKey).
    let is_pkcs1 = matches!(der_read(&block.der), Some((0x30, body, _))
        if matches!(der_read(body), Some((0x02, _, rest)) if matches!(der_read(rest), Some((0x02, _, _)))));
    let pkcs8 = if is_pkcs1 {
        pkcs1_to_pkcs8(&block.der)
    } else {
        block.der.clone()
    };
    let key = PrivateDecryptingKey::from_pkcs8(&pkcs8).map_err(|_| PARSE_ERR.to_string())?;
    let key = OaepPrivateDecryptingKey::new(key)
        .map_err(|_| "could not parse RSA private key".to_string())?;
    let mut out = vec![0u8; key.min_output_size().max(input.len())];
    let plain = key
        .decrypt(alg, input, &mut out, None)
        .map_err(|_| DECRYPT_ERR.to_string())?;
    Ok(Value::bytes(plain))
}
