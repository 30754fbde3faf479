//! More sprig functions: `toDecimal`, `shuffle`, `encryptAES`, `decryptAES`.

use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, UnboundCipherKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{A, FnResult, FuncDef, S, bytes_arg, fixed, strval, text};
use crate::template::value::Value;

/// sprig's AES key: the password's bytes, zero-padded or cut to 32 (AES-256).
fn aes_key(password: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    key
}

/// sprig's `encryptAES`: AES-256-CBC, PKCS#7 padding, random IV first, base64.
fn encrypt_aes(password: &[u8], plain: &[u8]) -> FnResult {
    if plain.is_empty() {
        return Ok(Value::str(""));
    }
    let fail = |_| "crypto/aes: encryption failed".to_string();
    let key = UnboundCipherKey::new(&AES_256, &aes_key(password)).map_err(fail)?;
    let key = EncryptingKey::cbc(key).map_err(fail)?;
    let pad = 16 - plain.len() % 16;
    let mut buf = plain.to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let ctx = key.encrypt(&mut buf).map_err(fail)?;
    let iv: &[u8] = (&ctx).try_into().map_err(fail)?;
    let mut out = iv.to_vec();
    out.extend_from_slice(&buf);
    Ok(Value::string(STANDARD.encode(out)))
}

/// sprig's `decryptAES`. Like Go, the padding is not checked: the last byte says how many
/// bytes to drop; impossible lengths are errors (Go panics there, which the template reports).
fn decrypt_aes(password: &[u8], crypt64: &[u8]) -> FnResult {
    if crypt64.is_empty() {
        return Ok(Value::str(""));
    }
    let crypt = super::sprig::go_b64_decode(crypt64)?;
    if crypt.len() < 16 {
        return Err("runtime error: slice bounds out of range".into());
    }
    let (iv, body) = crypt.split_at(16);
    if !body.len().is_multiple_of(16) {
        return Err("crypto/cipher: input not full blocks".into());
    }
    if body.is_empty() {
        return Err("runtime error: index out of range [-1]".into());
    }
    let fail = |_| "crypto/aes: decryption failed".to_string();
    let key = UnboundCipherKey::new(&AES_256, &aes_key(password)).map_err(fail)?;
    let key = DecryptingKey::cbc(key).map_err(fail)?;
    let mut iv16 = [0u8; 16];
    iv16.copy_from_slice(iv);
    let mut buf = body.to_vec();
    let plain = key
        .decrypt(&mut buf, DecryptionContext::Iv128(iv16.into()))
        .map_err(fail)?;
    let pad = usize::from(plain[plain.len() - 1]);
    if pad > plain.len() {
        return Err("runtime error: slice bounds out of range".into());
    }
    Ok(Value::bytes(&plain[..plain.len() - pad]))
}

/// xstrings' `Shuffle`: the runes in random order.
fn shuffle(s: &str) -> Result<String, String> {
    let mut runes: Vec<char> = s.chars().collect();
    let mut rnd = vec![0u8; runes.len() * 4];
    aws_lc_rs::rand::fill(&mut rnd).map_err(|_| "random source failed".to_string())?;
    for i in (1..runes.len()).rev() {
        let r = u32::from_le_bytes([rnd[i * 4], rnd[i * 4 + 1], rnd[i * 4 + 2], rnd[i * 4 + 3]]);
        let j = (u64::from(r) * (i as u64 + 1) >> 32) as usize;
        runes.swap(i, j);
    }
    Ok(runes.into_iter().collect())
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("toDecimal", &[A], |_, a| {
            // Go: strconv.ParseInt(fmt.Sprint(v), 8, 64), 0 on any error.
            let t = String::from_utf8_lossy(&strval(&a[0])).into_owned();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
            let ok = !digits.is_empty() && digits.bytes().all(|c| (b'0'..=b'7').contains(&c));
            Ok(Value::Int(if ok {
                i64::from_str_radix(&t, 8).unwrap_or(0)
            } else {
                0
            }))
        }),
        fixed("shuffle", &[S], |_, a| {
            shuffle(&text(&a[0])).map(Value::string)
        }),
        fixed("encryptAES", &[S, S], |_, a| {
            encrypt_aes(bytes_arg(&a[0]), bytes_arg(&a[1]))
        }),
        fixed("decryptAES", &[S, S], |_, a| {
            decrypt_aes(bytes_arg(&a[0]), bytes_arg(&a[1]))
        }),
    ]
}
