//! sprig's `encryptAES`, `decryptAES` and `derivePassword` (feature `template-crypto`).

use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, UnboundCipherKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{FnResult, FuncDef, I, S, bytes_arg, fixed, text};
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
    let crypt = super::encoding::go_b64_decode(crypt64)?;
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

/// The Master Password algorithm's site password templates (sprig's `derivePassword`).
const PASSWORD_TEMPLATES: &[(&str, &[&str])] = &[
    ("maximum", &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"]),
    (
        "long",
        &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
    ),
    ("medium", &["CvcnoCvc", "CvcCvcno"]),
    ("short", &["Cvcn"]),
    ("basic", &["aaanaaan", "aannaaan", "aaannaaa"]),
    ("pin", &["nnnn"]),
];

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// sprig's `derivePassword counter type password user site` (Master Password: scrypt
/// N=32768 r=8 p=2 over the user, HMAC-SHA256 over the site and counter).
fn derive_password(counter: u32, kind: &str, password: &[u8], user: &[u8], site: &[u8]) -> String {
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let Some((_, templates)) = PASSWORD_TEMPLATES.iter().find(|(k, _)| *k == kind) else {
        return format!("cannot find password template {kind}");
    };
    let mut salt = SEED.to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user);
    let mut key = [0u8; 64];
    let params = match scrypt::Params::new(15, 8, 2) {
        Ok(p) => p,
        Err(e) => return format!("failed to derive password: {e}"),
    };
    if let Err(e) = scrypt::scrypt(password, &salt, &params, &mut key) {
        return format!("failed to derive password: {e}");
    }
    let mut msg = SEED.to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site);
    msg.extend_from_slice(&counter.to_be_bytes());
    let hkey = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    let seed = aws_lc_rs::hmac::sign(&hkey, &msg);
    let seed = seed.as_ref();
    let template = templates[usize::from(seed[0]) % templates.len()].as_bytes();
    template
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let chars = template_chars(*c);
            chars[usize::from(seed[i + 1]) % chars.len()] as char
        })
        .collect()
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("derivePassword", &[I, S, S, S, S], |_, a| {
            let counter = u32::try_from(super::int_arg(&a[0])).unwrap_or(0);
            Ok(Value::string(derive_password(
                counter,
                &text(&a[1]),
                bytes_arg(&a[2]),
                bytes_arg(&a[3]),
                bytes_arg(&a[4]),
            )))
        }),
        fixed("encryptAES", &[S, S], |_, a| {
            encrypt_aes(bytes_arg(&a[0]), bytes_arg(&a[1]))
        }),
        fixed("decryptAES", &[S, S], |_, a| {
            decrypt_aes(bytes_arg(&a[0]), bytes_arg(&a[1]))
        }),
    ]
}
