//! sprig's functions that need a cryptographic library: the hashes (`sha1sum`, `sha256sum`,
//! `sha512sum`, `bcrypt`, `htpasswd`) and the random values (`randAlphaNum`, `randAlpha`,
//! `randAscii`, `randNumeric`, `randInt`, `randBytes`, `uuidv4`, `shuffle`).
//! Feature `template-crypto`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::sprig::check_items;
use super::{Ctx, FnResult, FuncDef, I, S, bytes_arg, fixed, int_arg, text};
use crate::template::value::Value;

fn s(v: String) -> FnResult {
    Ok(Value::string(v))
}

fn sha_hex(alg: &'static aws_lc_rs::digest::Algorithm, b: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(alg, b);
    d.as_ref().iter().map(|x| format!("{x:02x}")).collect()
}

fn bcrypt_hash(pw: &[u8]) -> Result<String, String> {
    let h = bcrypt::hash_with_result(pw, 10).map_err(|e| e.to_string())?;
    Ok(h.format_for_version(bcrypt::Version::TwoA))
}

fn rand_string(ctx: &Ctx, n: i64, alphabet: &[u8]) -> FnResult {
    let n = check_items(ctx, n)?;
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| "random source failed".to_string())?;
    let out: String = buf
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect();
    s(out)
}

/// xstrings' `Shuffle`: the runes in random order.
fn shuffle(s: &str) -> Result<String, String> {
    let mut runes: Vec<char> = s.chars().collect();
    let mut rnd = vec![0u8; runes.len() * 4];
    aws_lc_rs::rand::fill(&mut rnd).map_err(|_| "random source failed".to_string())?;
    for i in (1..runes.len()).rev() {
        let r = u32::from_le_bytes([rnd[i * 4], rnd[i * 4 + 1], rnd[i * 4 + 2], rnd[i * 4 + 3]]);
        let j = ((u64::from(r) * (i as u64 + 1)) >> 32) as usize;
        runes.swap(i, j);
    }
    Ok(runes.into_iter().collect())
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("sha1sum", &[S], |_, a| {
            s(sha_hex(
                &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                bytes_arg(&a[0]),
            ))
        }),
        fixed("sha256sum", &[S], |_, a| {
            s(sha_hex(&aws_lc_rs::digest::SHA256, bytes_arg(&a[0])))
        }),
        fixed("sha512sum", &[S], |_, a| {
            s(sha_hex(&aws_lc_rs::digest::SHA512, bytes_arg(&a[0])))
        }),
        // crypto
        fixed("bcrypt", &[S], |_, a| {
            bcrypt_hash(bytes_arg(&a[0])).map(Value::string)
        }),
        fixed("htpasswd", &[S, S, S], |_, a| {
            let user = text(&a[0]);
            if user.contains(':') {
                return s(format!("invalid username: {user}"));
            }
            if text(&a[2]) == "sha" {
                let d = aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                    bytes_arg(&a[1]),
                );
                return s(format!("{user}:{{SHA}}{}", STANDARD.encode(d.as_ref())));
            }
            s(format!("{user}:{}", bcrypt_hash(bytes_arg(&a[1]))?))
        }),
        fixed("randBytes", &[I], |ctx, a| {
            let n = check_items(ctx, int_arg(&a[0]))?;
            let mut buf = vec![0u8; n];
            aws_lc_rs::rand::fill(&mut buf).map_err(|_| "random source failed".to_string())?;
            s(STANDARD.encode(buf))
        }),
        fixed("uuidv4", &[], |_, _| {
            let mut b = [0u8; 16];
            aws_lc_rs::rand::fill(&mut b).map_err(|_| "random source failed".to_string())?;
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            s(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            ))
        }),
        fixed("randAlphaNum", &[I], |ctx, a| {
            rand_string(
                ctx,
                int_arg(&a[0]),
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            )
        }),
        fixed("randAlpha", &[I], |ctx, a| {
            rand_string(
                ctx,
                int_arg(&a[0]),
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            )
        }),
        fixed("randAscii", &[I], |ctx, a| {
            let al: Vec<u8> = (32u8..127).collect();
            rand_string(ctx, int_arg(&a[0]), &al)
        }),
        fixed("randNumeric", &[I], |ctx, a| {
            rand_string(ctx, int_arg(&a[0]), b"0123456789")
        }),
        fixed("randInt", &[I, I], |_, a| {
            let (lo, hi) = (int_arg(&a[0]), int_arg(&a[1]));
            if hi <= lo {
                return Err("invalid argument to Intn".into());
            }
            let mut b = [0u8; 8];
            aws_lc_rs::rand::fill(&mut b).map_err(|_| "random source failed".to_string())?;
            let r = u64::from_le_bytes(b) % (hi - lo) as u64;
            Ok(Value::Int(lo + r as i64))
        }),
        fixed("shuffle", &[S], |_, a| {
            shuffle(&text(&a[0])).map(Value::string)
        }),
    ]
}
