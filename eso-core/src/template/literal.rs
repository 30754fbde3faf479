//! Literals of the template language: Go's string unquoting and number constants.

use crate::template::value::Value;

/// A numeric constant with all the interpretations Go allows.
#[derive(Debug)]
pub(crate) struct Number {
    pub text: String,
    pub int: Option<i64>,
    #[allow(dead_code)]
    pub float: Option<f64>,
    /// The value for an untyped (interface{}) context, or Go's error for it.
    pub ideal: Result<Value, String>,
}

/// Go's `strconv.Unquote` for double-quoted and raw strings; bytes out.
pub(crate) fn unquote(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let q = b[0];
    if b[b.len() - 1] != q {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    if q == b'`' {
        if inner.contains('`') {
            return None;
        }
        return Some(inner.replace('\r', "").into_bytes());
    }
    if q != b'"' && q != b'\'' {
        return None;
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '\n' {
            return None;
        }
        if c == q as char && q == b'"' {
            return None;
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let (_, e) = chars.next()?;
        match e {
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '\\' => out.push(b'\\'),
            '\'' | '"' => {
                if e as u8 != q {
                    return None;
                }
                out.push(e as u8);
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                for _ in 0..n {
                    let (_, h) = chars.next()?;
                    v = v * 16 + h.to_digit(16)?;
                }
                if e == 'x' {
                    out.push(v as u8);
                } else {
                    let c = char::from_u32(v)?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    let (_, h) = chars.next()?;
                    v = v * 8 + h.to_digit(8)?;
                }
                if v > 255 {
                    return None;
                }
                out.push(v as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn parse_int_text(text: &str) -> Option<i128> {
    let (neg, t) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = t.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r.to_string(), true)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r.to_string(), true)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') {
        // Go: underscores only between digits (or after a base prefix).
        let d = if prefixed && radix != 8 || lower.starts_with("0o") {
            format!("0{digits}")
        } else {
            digits.clone()
        };
        if d.starts_with('_') && !prefixed || d.ends_with('_') || d.contains("__") {
            return None;
        }
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return if radix == 8 && !prefixed {
            Some(0)
        } else {
            None
        };
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

fn is_hex_int(t: &str) -> bool {
    let t = t.trim_start_matches(['+', '-']);
    t.len() > 2 && t.starts_with('0') && (t.as_bytes()[1] | 0x20) == b'x' && !t.contains(['p', 'P'])
}

/// Go's `parse.newNumber`.
pub(crate) fn new_number(text: &str, is_char: bool) -> Result<Number, String> {
    if is_char {
        let raw = unquote(text).ok_or_else(|| format!("malformed character constant: {text}"))?;
        let s =
            String::from_utf8(raw).map_err(|_| format!("malformed character constant: {text}"))?;
        let mut cs = s.chars();
        let c = cs
            .next()
            .ok_or_else(|| format!("malformed character constant: {text}"))?;
        if cs.next().is_some() {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = c as i64;
        return Ok(Number {
            text: text.to_string(),
            int: Some(v),
            float: Some(v as f64),
            ideal: Ok(Value::Int(v)),
        });
    }
    if text.ends_with('i') {
        return Err(format!("complex constants are not supported: {text:?}"));
    }
    let mut int = None;
    let mut uint_only = false;
    let mut float = None;
    if let Some(v) = parse_int_text(text) {
        if let Ok(i) = i64::try_from(v) {
            int = Some(i);
            float = Some(i as f64);
        } else if u64::try_from(v).is_ok() {
            uint_only = true;
            float = Some(v as f64);
        }
    }
    if int.is_none() && !uint_only {
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        let parsed = if is_hex_int(text) || clean.to_ascii_lowercase().contains("0x") {
            None
        } else {
            clean.parse::<f64>().ok().filter(|f| f.is_finite())
        };
        if let Some(f) = parsed {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(format!("integer overflow: {text:?}"));
            }
            float = Some(f);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                int = Some(f as i64);
            }
        }
    }
    if int.is_none() && float.is_none() {
        return Err(format!("illegal number syntax: {text:?}"));
    }
    let is_float_text =
        float.is_some() && !is_hex_int(text) && text.contains(['.', 'e', 'E', 'p', 'P']);
    let ideal = if is_float_text {
        Ok(Value::Float(float.unwrap_or(0.0)))
    } else if let Some(i) = int {
        Ok(Value::Int(i))
    } else {
        Err(format!("{text} overflows int"))
    };
    Ok(Number {
        text: text.to_string(),
        int,
        float,
        ideal,
    })
}
