//! sprig's encoding and regexp functions: `b64enc`/`b64dec`, `b32enc`/`b32dec`, `hexdec`,
//! `adler32sum`, and the `regex*` family (hashes and random values are in `crypto.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Ctx, FnResult, FuncDef, I, S, bytes_arg, fixed, int_arg, printed, text};
use crate::template::value::Value;

fn s(v: String) -> FnResult {
    Ok(Value::string(v))
}

fn regex(re: &Value) -> Result<regex::Regex, String> {
    regex::Regex::new(&text(re)).map_err(|e| format!("error parsing regexp: {e}"))
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut c) = (1u32, 0u32);
    for &x in b {
        a = (a + u32::from(x)) % 65521;
        c = (c + a) % 65521;
    }
    (c << 16) | a
}

fn b32enc(b: &[u8]) -> String {
    const AL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in b.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = buf.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        let nchars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < nchars {
                out.push(AL[((v >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(s: &str) -> Result<Vec<u8>, String> {
    const AL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'\r' && *c != b'\n').collect();
    if !clean.len().is_multiple_of(8) {
        return Err(format!(
            "illegal base32 data at input byte {}",
            clean.len() / 8 * 8
        ));
    }
    let mut out = Vec::new();
    for (ci, chunk) in clean.chunks(8).enumerate() {
        let mut v = 0u64;
        let mut n = 0;
        for (i, &c) in chunk.iter().enumerate() {
            if c == b'=' {
                break;
            }
            let Some(p) = AL.iter().position(|a| *a == c) else {
                return Err(format!("illegal base32 data at input byte {}", ci * 8 + i));
            };
            v |= (p as u64) << (35 - i * 5);
            n += 1;
        }
        let bytes = n * 5 / 8;
        for i in 0..bytes {
            out.push((v >> (32 - i * 8)) as u8);
        }
    }
    Ok(out)
}

/// Go's base64 `CorruptInputError` text for `b64dec` of bad input.
pub(crate) fn go_b64_decode(s: &[u8]) -> Result<Vec<u8>, String> {
    // Go ignores \r and \n.
    let clean: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| *c != b'\r' && *c != b'\n')
        .collect();
    match STANDARD.decode(&clean) {
        Ok(v) => Ok(v),
        Err(e) => {
            let pos = match e {
                base64::DecodeError::InvalidByte(p, _) => p,
                base64::DecodeError::InvalidLength(l) => l / 4 * 4,
                base64::DecodeError::InvalidLastSymbol(p, _) => p,
                base64::DecodeError::InvalidPadding => clean.len().saturating_sub(1) / 4 * 4,
            };
            // Go reports the start of the bad quantum for short input.
            let pos = if !clean.len().is_multiple_of(4) && pos >= clean.len() / 4 * 4 {
                clean.len() / 4 * 4
            } else {
                pos
            };
            Err(format!("illegal base64 data at input byte {pos}"))
        }
    }
}

fn regex_find_all(a: &[Value]) -> FnResult {
    let r = regex(&a[0])?;
    let n = int_arg(&a[2]);
    let t = text(&a[1]);
    let it = r.find_iter(&t).map(|m| Value::str(m.as_str()));
    Ok(Value::list(if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }))
}

fn regex_split(a: &[Value]) -> FnResult {
    let r = regex(&a[0])?;
    let n = int_arg(&a[2]);
    let t = text(&a[1]);
    if n == 0 {
        return Ok(Value::Nil);
    }
    let parts: Vec<Value> = if n < 0 {
        r.split(&t).map(Value::str).collect()
    } else {
        r.splitn(&t, n as usize).map(Value::str).collect()
    };
    Ok(Value::list(parts))
}

/// `b64enc`: standard base64 with padding.
fn b64enc(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    let input = bytes_arg(&a[0]);
    let start = out.len();
    out.resize(start + input.len().div_ceil(3) * 4, 0);
    let n = STANDARD
        .encode_slice(input, &mut out[start..])
        .map_err(|e| e.to_string())?;
    out.truncate(start + n);
    Ok(())
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        // encodings and hashes
        fixed("b64enc", &[S], |c, a| printed(c, &a, b64enc)).printing(b64enc),
        fixed("b64dec", &[S], |_, a| {
            match go_b64_decode(bytes_arg(&a[0])) {
                Ok(v) => Ok(Value::byte_vec(v)),
                Err(e) => s(e),
            }
        }),
        fixed("b32enc", &[S], |_, a| s(b32enc(bytes_arg(&a[0])))),
        fixed("b32dec", &[S], |_, a| match b32dec(&text(&a[0])) {
            Ok(v) => Ok(Value::byte_vec(v)),
            Err(e) => s(e),
        }),
        fixed("hexdec", &[S], |_, a| {
            let b = bytes_arg(&a[0]);
            let mut out = Vec::with_capacity(b.len() / 2);
            for (i, pair) in b.chunks(2).enumerate() {
                let hv = |c: u8| (c as char).to_digit(16);
                if pair.len() < 2 {
                    if hv(pair[0]).is_none() {
                        return s(format!(
                            "encoding/hex: invalid byte: {}",
                            crate::template::lex::go_u(pair[0] as char)
                        ));
                    }
                    return s("encoding/hex: odd length hex string".into());
                }
                match (hv(pair[0]), hv(pair[1])) {
                    (Some(x), Some(y)) => out.push((x * 16 + y) as u8),
                    (None, _) => {
                        return s(format!(
                            "encoding/hex: invalid byte: {}",
                            crate::template::lex::go_u(pair[0] as char)
                        ));
                    }
                    (_, None) => {
                        let _ = i;
                        return s(format!(
                            "encoding/hex: invalid byte: {}",
                            crate::template::lex::go_u(pair[1] as char)
                        ));
                    }
                }
            }
            Ok(Value::byte_vec(out))
        }),
        fixed("adler32sum", &[S], |_, a| {
            s(adler32(bytes_arg(&a[0])).to_string())
        }),
        // regexps
        fixed("regexMatch", &[S, S], |_, a| {
            Ok(Value::Bool(
                regex(&a[0])
                    .map(|r| r.is_match(&text(&a[1])))
                    .unwrap_or(false),
            ))
        }),
        fixed("mustRegexMatch", &[S, S], |_, a| {
            Ok(Value::Bool(regex(&a[0])?.is_match(&text(&a[1]))))
        }),
        fixed("regexFindAll", &[S, S, I], |_, a| {
            regex_find_all(&a).or_else(|_| Ok(Value::list(vec![])))
        }),
        fixed("mustRegexFindAll", &[S, S, I], |_, a| regex_find_all(&a)),
        fixed("regexFind", &[S, S], |_, a| {
            Ok(regex(&a[0])
                .ok()
                .and_then(|r| r.find(&text(&a[1])).map(|m| Value::str(m.as_str())))
                .unwrap_or_else(|| Value::str("")))
        }),
        fixed("mustRegexFind", &[S, S], |_, a| {
            Ok(regex(&a[0])?
                .find(&text(&a[1]))
                .map_or(Value::str(""), |m| Value::str(m.as_str())))
        }),
        fixed("regexReplaceAll", &[S, S, S], |_, a| {
            Ok(regex(&a[0])
                .map(|r| {
                    Value::string(
                        r.replace_all(&text(&a[1]), text(&a[2]).as_ref())
                            .into_owned(),
                    )
                })
                .unwrap_or_else(|_| Value::str("")))
        }),
        fixed("mustRegexReplaceAll", &[S, S, S], |_, a| {
            Ok(Value::string(
                regex(&a[0])?
                    .replace_all(&text(&a[1]), text(&a[2]).as_ref())
                    .into_owned(),
            ))
        }),
        fixed("regexReplaceAllLiteral", &[S, S, S], |_, a| {
            Ok(regex(&a[0])
                .map(|r| {
                    Value::string(
                        r.replace_all(&text(&a[1]), regex::NoExpand(&text(&a[2])))
                            .into_owned(),
                    )
                })
                .unwrap_or_else(|_| Value::str("")))
        }),
        fixed("mustRegexReplaceAllLiteral", &[S, S, S], |_, a| {
            Ok(Value::string(
                regex(&a[0])?
                    .replace_all(&text(&a[1]), regex::NoExpand(&text(&a[2])))
                    .into_owned(),
            ))
        }),
        fixed("regexSplit", &[S, S, I], |_, a| {
            regex_split(&a).or_else(|_| Ok(Value::list(vec![])))
        }),
        fixed("mustRegexSplit", &[S, S, I], |_, a| regex_split(&a)),
        fixed("regexQuoteMeta", &[S], |_, a| {
            s(regex::escape(&text(&a[0])))
        }),
    ]
}
