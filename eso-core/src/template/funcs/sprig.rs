//! The sprig functions ESO ships (its vendored sprig fork, without env/expandenv/getHostByName).

use std::collections::BTreeMap;

use super::json::{go_json, go_json_into, go_yaml, value_from_yaml_str};
use super::{
    A, B, Ctx, FnResult, FuncDef, I, S, bytes_arg, fixed, int_arg, printed, strval, text, var,
};
use crate::template::gofmt::go_quote_into;
use crate::template::value::{Map, MapKind, Value};

/// Names in ESO's function map this build does not implement (calling them is an error):
/// none today; the mechanism stays for functions ESO may add.
pub(crate) const UNSUPPORTED: &[&str] = &[];

fn s(v: String) -> FnResult {
    Ok(Value::string(v))
}

/// cast.ToInt64-like conversion used by sprig.
pub(crate) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(b) => {
            let t = String::from_utf8_lossy(b);
            let t = t.trim();
            let t = t.strip_suffix(".0").unwrap_or(t);
            crate::template::literal::new_number(t, false)
                .ok()
                .and_then(|n| n.int)
                .filter(|_| !t.contains(['.', 'e', 'E']))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(b) => String::from_utf8_lossy(b).trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

pub(crate) fn list_of(v: &Value) -> Result<Vec<Value>, String> {
    match v {
        Value::List(l) => Ok(l.as_ref().clone()),
        Value::Nil => Err("Cannot find first on type <nil>".into()),
        other => Err(format!("Cannot use type {} as a list", other.type_name())),
    }
}

fn strslice(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(l) => l.iter().filter(|e| !e.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

fn join_bytes(parts: &[Vec<u8>], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(p);
    }
    out
}

pub(crate) fn empty(v: &Value) -> bool {
    !v.truth()
}

pub(crate) fn check_items(ctx: &Ctx, n: i64) -> Result<usize, String> {
    if n < 0 {
        return Ok(0);
    }
    if n as u64 > ctx.limits.max_items as u64 {
        return Err(format!(
            "list of {n} items exceeds the limit of {}",
            ctx.limits.max_items
        ));
    }
    Ok(n as usize)
}

fn until_step(ctx: &Ctx, start: i64, stop: i64, step: i64) -> FnResult {
    let mut v = Vec::new();
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Ok(Value::list(v));
    }
    let n = (stop as i128 - start as i128).unsigned_abs() / step.unsigned_abs() as u128;
    check_items(ctx, i64::try_from(n).unwrap_or(i64::MAX))?;
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        v.push(Value::Int(i));
        i = match i.checked_add(step) {
            Some(x) => x,
            None => break,
        };
    }
    Ok(Value::list(v))
}

fn swapcase(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().collect::<String>()
            } else {
                c.to_uppercase().collect::<String>()
            }
        })
        .collect()
}

fn words(s: &str) -> Vec<String> {
    // split on non-alphanumerics and lower->upper transitions
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase()
            && !cur.is_empty()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_numeric()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                    && chars[i - 1].is_uppercase())
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

/// A copy with new maps and lists all the way down (Go's copystructure: a deep copy is a
/// different map, so `set` on it leaves the original alone).
fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m, kind) => Value::Map(
            std::sync::Arc::new(m.iter().map(|(k, e)| (k.clone(), deep_copy(e))).collect()),
            *kind,
        ),
        Value::List(l) => Value::list(l.iter().map(deep_copy).collect()),
        other => other.clone(),
    }
}

fn indent(n: i64, v: &[u8]) -> Vec<u8> {
    let pad = " ".repeat(n.max(0) as usize);
    let mut out = pad.clone().into_bytes();
    for &c in v {
        out.push(c);
        if c == b'\n' {
            out.extend_from_slice(pad.as_bytes());
        }
    }
    out
}

fn wrap(s: &str, width: usize, sep: &str) -> String {
    // commons-lang WordUtils.wrap semantics (wrapLongWords = true)
    let width = width.max(1);
    let mut out = String::new();
    for (li, line) in s.split('\n').enumerate() {
        if li > 0 {
            out.push('\n');
        }
        let mut cur = 0;
        for (wi, word) in line.split(' ').filter(|w| !w.is_empty()).enumerate() {
            let mut w = word;
            if wi > 0 {
                if cur + 1 + w.chars().count() > width {
                    out.push_str(sep);
                    cur = 0;
                } else {
                    out.push(' ');
                    cur += 1;
                }
            }
            while w.chars().count() > width {
                let cut: String = w.chars().take(width).collect();
                out.push_str(&cut);
                out.push_str(sep);
                w = &w[cut.len()..];
            }
            out.push_str(w);
            cur += w.chars().count();
        }
    }
    out
}

#[allow(clippy::too_many_lines)]
/// `toJson`: Go's `json.Marshal` text; nothing when the value cannot be marshaled.
fn to_json(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    let _ = go_json_into(out, &a[0], true, false);
    Ok(())
}

/// `toPrettyJson`: as [`to_json`], indented.
fn to_pretty_json(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    let _ = go_json_into(out, &a[0], true, true);
    Ok(())
}

/// `upper`: Go's `strings.ToUpper`.
fn upper(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    let b = bytes_arg(&a[0]);
    if b.is_ascii() {
        out.extend(b.iter().map(u8::to_ascii_uppercase));
    } else {
        out.extend_from_slice(super::case::to_upper(&String::from_utf8_lossy(b)).as_bytes());
    }
    Ok(())
}

/// `lower`: Go's `strings.ToLower`.
fn lower(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    let b = bytes_arg(&a[0]);
    if b.is_ascii() {
        out.extend(b.iter().map(u8::to_ascii_lowercase));
    } else {
        out.extend_from_slice(super::case::to_lower(&String::from_utf8_lossy(b)).as_bytes());
    }
    Ok(())
}

/// `quote`: each non-nil argument as a Go string literal, space separated.
fn quote(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    for (i, v) in a.iter().filter(|v| !v.is_nil()).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        match v {
            Value::Str(b) => go_quote_into(out, b),
            other => go_quote_into(out, &strval(other)),
        }
    }
    Ok(())
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("hello", &[], |_, _| s("Hello!".into())),
        // strings
        fixed("abbrev", &[I, S], |_, a| {
            let w = int_arg(&a[0]);
            let t = text(&a[1]);
            if w < 4 || t.chars().count() as i64 <= w {
                return Ok(a[1].clone());
            }
            let cut: String = t.chars().take((w - 3) as usize).collect();
            s(format!("{cut}..."))
        }),
        fixed("abbrevboth", &[I, I, S], |_, a| {
            let (l, r) = (
                int_arg(&a[0]).max(0) as usize,
                int_arg(&a[1]).max(0) as usize,
            );
            let t: Vec<char> = text(&a[2]).chars().collect();
            if r < 4 || l > 0 && r < 7 || t.len() <= r {
                return Ok(a[2].clone());
            }
            let mut off = l.min(t.len());
            if t.len() - off < r - 3 {
                off = t.len() - (r - 3);
            }
            if off <= 4 {
                let cut: String = t.iter().take(r - 3).collect();
                return s(format!("{cut}..."));
            }
            if off + r - 3 < t.len() {
                let mid: String = t[off..].iter().take(r - 6).collect();
                return s(format!("...{mid}..."));
            }
            let tail: String = t[t.len() - (r - 3)..].iter().collect();
            s(format!("...{tail}"))
        }),
        fixed("trunc", &[I, S], |_, a| {
            let c = int_arg(&a[0]);
            let b = bytes_arg(&a[1]);
            let n = b.len() as i64;
            if c < 0 && -c < n {
                return Ok(Value::bytes(&b[(n + c) as usize..]));
            }
            if c >= 0 && n > c {
                return Ok(Value::bytes(&b[..c as usize]));
            }
            Ok(a[1].clone())
        }),
        fixed("trim", &[S], |_, a| s(text(&a[0]).trim().to_string())),
        fixed("upper", &[S], |c, a| printed(c, &a, upper)).printing(upper),
        fixed("lower", &[S], |c, a| printed(c, &a, lower)).printing(lower),
        fixed("title", &[S], |_, a| s(super::case::title(&text(&a[0])))),
        fixed("untitle", &[S], |_, a| {
            let t = text(&a[0]);
            let mut out = String::new();
            let mut prev_space = true;
            for c in t.chars() {
                if prev_space && c.is_alphabetic() {
                    out.extend(c.to_lowercase());
                } else {
                    out.push(c);
                }
                prev_space = c.is_whitespace();
            }
            s(out)
        }),
        fixed("substr", &[I, I, S], |_, a| {
            let (st, en) = (int_arg(&a[0]), int_arg(&a[1]));
            let b = bytes_arg(&a[2]);
            let n = b.len() as i64;
            let r = if st < 0 {
                &b[..en.clamp(0, n) as usize]
            } else if en < 0 || en > n {
                &b[st.min(n) as usize..]
            } else {
                &b[st.min(en) as usize..en as usize]
            };
            Ok(Value::bytes(r))
        }),
        fixed("repeat", &[I, S], |ctx, a| {
            let n = int_arg(&a[0]);
            let b = bytes_arg(&a[1]);
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            if (n as u128) * (b.len() as u128) > ctx.limits.max_output as u128 {
                return Err("result exceeds the output size limit".into());
            }
            Ok(Value::byte_vec(b.repeat(n as usize)))
        }),
        fixed("trimall", &[S, S], |_, a| {
            let cut: Vec<char> = text(&a[0]).chars().collect();
            s(text(&a[1]).trim_matches(|c| cut.contains(&c)).to_string())
        }),
        fixed("trimAll", &[S, S], |_, a| {
            let cut: Vec<char> = text(&a[0]).chars().collect();
            s(text(&a[1]).trim_matches(|c| cut.contains(&c)).to_string())
        }),
        fixed("trimSuffix", &[S, S], |_, a| {
            let (suf, b) = (bytes_arg(&a[0]), bytes_arg(&a[1]));
            Ok(Value::bytes(b.strip_suffix(suf).unwrap_or(b)))
        }),
        fixed("trimPrefix", &[S, S], |_, a| {
            let (pre, b) = (bytes_arg(&a[0]), bytes_arg(&a[1]));
            Ok(Value::bytes(b.strip_prefix(pre).unwrap_or(b)))
        }),
        fixed("nospace", &[S], |_, a| {
            s(text(&a[0]).chars().filter(|c| !c.is_whitespace()).collect())
        }),
        fixed("initials", &[S], |_, a| {
            s(text(&a[0])
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect())
        }),
        fixed("swapcase", &[S], |_, a| s(swapcase(&text(&a[0])))),
        fixed("snakecase", &[S], |_, a| {
            s(words(&text(&a[0]))
                .iter()
                .map(|w| w.to_lowercase())
                .collect::<Vec<_>>()
                .join("_"))
        }),
        fixed("kebabcase", &[S], |_, a| {
            s(words(&text(&a[0]))
                .iter()
                .map(|w| w.to_lowercase())
                .collect::<Vec<_>>()
                .join("-"))
        }),
        fixed("camelcase", &[S], |_, a| {
            let t = text(&a[0]);
            s(t.split('_')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                        None => String::new(),
                    }
                })
                .collect())
        }),
        fixed("wrap", &[I, S], |_, a| {
            s(wrap(&text(&a[1]), int_arg(&a[0]).max(1) as usize, "\n"))
        }),
        fixed("wrapWith", &[I, S, S], |_, a| {
            s(wrap(
                &text(&a[2]),
                int_arg(&a[0]).max(1) as usize,
                &text(&a[1]),
            ))
        }),
        fixed("contains", &[S, S], |_, a| {
            Ok(Value::Bool(text(&a[1]).contains(text(&a[0]).as_ref())))
        }),
        fixed("hasPrefix", &[S, S], |_, a| {
            Ok(Value::Bool(bytes_arg(&a[1]).starts_with(bytes_arg(&a[0]))))
        }),
        fixed("hasSuffix", &[S, S], |_, a| {
            Ok(Value::Bool(bytes_arg(&a[1]).ends_with(bytes_arg(&a[0]))))
        }),
        var("quote", &[A], |c, a| printed(c, &a, quote)).printing(quote),
        var("squote", &[A], |_, a| {
            let parts: Vec<Vec<u8>> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| {
                    let mut o = b"'".to_vec();
                    o.extend(strval(v));
                    o.push(b'\'');
                    o
                })
                .collect();
            Ok(Value::byte_vec(join_bytes(&parts, b" ")))
        }),
        var("cat", &[A], |_, a| {
            let parts: Vec<Vec<u8>> = a.iter().filter(|v| !v.is_nil()).map(strval).collect();
            Ok(Value::byte_vec(join_bytes(&parts, b" ")))
        }),
        fixed("indent", &[I, S], |_, a| {
            Ok(Value::byte_vec(indent(int_arg(&a[0]), bytes_arg(&a[1]))))
        }),
        fixed("nindent", &[I, S], |_, a| {
            let mut o = b"\n".to_vec();
            o.extend(indent(int_arg(&a[0]), bytes_arg(&a[1])));
            Ok(Value::byte_vec(o))
        }),
        fixed("replace", &[S, S, S], |ctx, a| {
            let (old, new, src) = (text(&a[0]), text(&a[1]), text(&a[2]));
            let r = src.replace(old.as_ref(), &new);
            if r.len() > ctx.limits.max_output {
                return Err("result exceeds the output size limit".into());
            }
            s(r)
        }),
        fixed("plural", &[S, S, I], |_, a| {
            Ok(if int_arg(&a[2]) == 1 {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
        fixed("toString", &[A], |_, a| Ok(Value::byte_vec(strval(&a[0])))),
        fixed("toStrings", &[A], |_, a| {
            Ok(Value::list(
                strslice(&a[0]).into_iter().map(Value::byte_vec).collect(),
            ))
        }),
        fixed("split", &[S, S], |_, a| {
            let (sep, orig) = (text(&a[0]), text(&a[1]));
            let parts: Vec<&str> = if sep.is_empty() {
                orig.split("").filter(|p| !p.is_empty()).collect()
            } else {
                orig.split(sep.as_ref()).collect()
            };
            let m: Map = parts
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}").into(), Value::str(p)))
                .collect();
            Ok(Value::Map(std::sync::Arc::new(m), MapKind::Strings))
        }),
        fixed("splitList", &[S, S], |ctx, a| {
            let (sep, orig) = (text(&a[0]), text(&a[1]));
            let parts: Vec<Value> = if sep.is_empty() {
                orig.chars().map(|c| Value::string(c.to_string())).collect()
            } else {
                orig.split(sep.as_ref()).map(Value::str).collect()
            };
            check_items(ctx, parts.len() as i64)?;
            Ok(Value::list(parts))
        }),
        fixed("splitn", &[S, I, S], |_, a| {
            let (sep, n, orig) = (text(&a[0]), int_arg(&a[1]), text(&a[2]));
            let parts: Vec<&str> = if n < 0 {
                orig.split(sep.as_ref()).collect()
            } else {
                orig.splitn(n as usize, sep.as_ref()).collect()
            };
            let m: Map = parts
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}").into(), Value::str(p)))
                .collect();
            Ok(Value::Map(std::sync::Arc::new(m), MapKind::Strings))
        }),
        fixed("join", &[S, A], |_, a| {
            Ok(Value::byte_vec(join_bytes(
                &strslice(&a[1]),
                bytes_arg(&a[0]),
            )))
        }),
        fixed("sortAlpha", &[A], |_, a| {
            let mut v = strslice(&a[0]);
            v.sort();
            Ok(Value::list(v.into_iter().map(Value::byte_vec).collect()))
        }),
        // numbers
        fixed("atoi", &[S], |_, a| {
            Ok(Value::Int(text(&a[0]).parse::<i64>().unwrap_or(0)))
        }),
        fixed("int", &[A], |_, a| Ok(Value::Int(to_i64(&a[0])))),
        fixed("int64", &[A], |_, a| Ok(Value::Int64(to_i64(&a[0])))),
        fixed("float64", &[A], |_, a| Ok(Value::Float(to_f64(&a[0])))),
        var("seq", &[I], |ctx, a| {
            let p: Vec<i64> = a.iter().map(int_arg).collect();
            let (start, end, step) = match p.as_slice() {
                [] => return s(String::new()),
                [e] => (1, *e, if *e >= 1 { 1 } else { -1 }),
                [st, e] => (*st, *e, if e >= st { 1 } else { -1 }),
                [st, stp, e] => (*st, *e, *stp),
                _ => return Err("seq: wrong number of arguments".into()),
            };
            let end2 = if step > 0 {
                end.saturating_add(1)
            } else {
                end.saturating_sub(1)
            };
            let v = until_step(ctx, start, end2, step)?;
            if let Value::List(l) = v {
                let parts: Vec<Vec<u8>> = l.iter().map(strval).collect();
                return Ok(Value::byte_vec(join_bytes(&parts, b" ")));
            }
            s(String::new())
        }),
        fixed("until", &[I], |ctx, a| {
            let n = int_arg(&a[0]);
            until_step(ctx, 0, n, if n < 0 { -1 } else { 1 })
        }),
        fixed("untilStep", &[I, I, I], |ctx, a| {
            until_step(ctx, int_arg(&a[0]), int_arg(&a[1]), int_arg(&a[2]))
        }),
        fixed("add1", &[A], |_, a| {
            Ok(Value::Int64(to_i64(&a[0]).wrapping_add(1)))
        }),
        var("add", &[A], |_, a| {
            Ok(Value::Int64(
                a.iter().fold(0i64, |s2, v| s2.wrapping_add(to_i64(v))),
            ))
        }),
        fixed("sub", &[A, A], |_, a| {
            Ok(Value::Int64(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
        }),
        fixed("div", &[A, A], |_, a| {
            let d = to_i64(&a[1]);
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(Value::Int64(to_i64(&a[0]).wrapping_div(d)))
        }),
        fixed("mod", &[A, A], |_, a| {
            let d = to_i64(&a[1]);
            if d == 0 {
                return Err("runtime error: integer divide by zero".into());
            }
            Ok(Value::Int64(to_i64(&a[0]).wrapping_rem(d)))
        }),
        var("mul", &[A, A], |_, a| {
            Ok(Value::Int64(
                a.iter()
                    .skip(1)
                    .fold(to_i64(&a[0]), |acc, v| acc.wrapping_mul(to_i64(v))),
            ))
        }),
        fixed("toDecimal", &[A], |_, a| {
            // Go: strconv.ParseInt(fmt.Sprint(v), 8, 64), 0 on any error.
            let t = String::from_utf8_lossy(&strval(&a[0])).into_owned();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
            let ok = !digits.is_empty() && digits.bytes().all(|c| (b'0'..=b'7').contains(&c));
            Ok(Value::Int64(if ok {
                i64::from_str_radix(&t, 8).unwrap_or(0)
            } else {
                0
            }))
        }),
        fixed("add1f", &[A], |_, a| Ok(Value::Float(to_f64(&a[0]) + 1.0))),
        var("addf", &[A], |_, a| {
            Ok(Value::Float(a.iter().map(to_f64).sum()))
        }),
        var("subf", &[A, A], |_, a| {
            Ok(Value::Float(
                a.iter().skip(1).fold(to_f64(&a[0]), |x, v| x - to_f64(v)),
            ))
        }),
        var("divf", &[A, A], |_, a| {
            Ok(Value::Float(
                a.iter().skip(1).fold(to_f64(&a[0]), |x, v| x / to_f64(v)),
            ))
        }),
        var("mulf", &[A, A], |_, a| {
            Ok(Value::Float(
                a.iter().skip(1).fold(to_f64(&a[0]), |x, v| x * to_f64(v)),
            ))
        }),
        var("biggest", &[A, A], |_, a| {
            Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
        }),
        var("max", &[A, A], |_, a| {
            Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
        }),
        var("min", &[A, A], |_, a| {
            Ok(Value::Int64(a.iter().map(to_i64).min().unwrap_or(0)))
        }),
        var("maxf", &[A, A], |_, a| {
            Ok(Value::Float(a.iter().map(to_f64).fold(f64::MIN, f64::max)))
        }),
        var("minf", &[A, A], |_, a| {
            Ok(Value::Float(a.iter().map(to_f64).fold(f64::MAX, f64::min)))
        }),
        fixed("ceil", &[A], |_, a| Ok(Value::Float(to_f64(&a[0]).ceil()))),
        fixed("floor", &[A], |_, a| {
            Ok(Value::Float(to_f64(&a[0]).floor()))
        }),
        var("round", &[A, I, A], |_, a| {
            let v = to_f64(&a[0]);
            let p = int_arg(&a[1]).clamp(-300, 300) as i32;
            let half = a.get(2).map_or(0.5, to_f64);
            let pow = 10f64.powi(p);
            let digit = pow * v;
            let (int, frac) = (digit.trunc(), digit.fract());
            let r = if frac >= half { int + 1.0 } else { int };
            Ok(Value::Float(r / pow))
        }),
        // defaults / flow
        var("default", &[A, A], |_, a| {
            Ok(match a.get(1) {
                Some(g) if !empty(g) => g.clone(),
                _ => a[0].clone(),
            })
        }),
        fixed("empty", &[A], |_, a| Ok(Value::Bool(empty(&a[0])))),
        var("coalesce", &[A], |_, a| {
            Ok(a.into_iter().find(|v| !empty(v)).unwrap_or_default())
        }),
        var("all", &[A], |_, a| {
            Ok(Value::Bool(a.iter().all(|v| !empty(v))))
        }),
        var("any", &[A], |_, a| {
            Ok(Value::Bool(a.is_empty() || a.iter().any(|v| !empty(v))))
        }),
        fixed("compact", &[A], |_, a| {
            Ok(Value::list(
                list_of(&a[0])?.into_iter().filter(|v| !empty(v)).collect(),
            ))
        }),
        fixed("mustCompact", &[A], |_, a| {
            Ok(Value::list(
                list_of(&a[0])?.into_iter().filter(|v| !empty(v)).collect(),
            ))
        }),
        fixed("fromJson", &[S], |_, a| {
            Ok(super::json::from_json(bytes_arg(&a[0])).unwrap_or(Value::Nil))
        }),
        fixed("mustFromJson", &[S], |_, a| {
            super::json::from_json(bytes_arg(&a[0]))
        }),
        fixed("toJson", &[A], |c, a| printed(c, &a, to_json)).printing(to_json),
        fixed("mustToJson", &[A], |_, a| {
            go_json(&a[0], true, false).map(Value::string)
        }),
        fixed("toPrettyJson", &[A], |c, a| printed(c, &a, to_pretty_json)).printing(to_pretty_json),
        fixed("mustToPrettyJson", &[A], |_, a| {
            go_json(&a[0], true, true).map(Value::string)
        }),
        fixed("toRawJson", &[A], |_, a| {
            s(go_json(&a[0], false, false).unwrap_or_default())
        }),
        fixed("mustToRawJson", &[A], |_, a| {
            go_json(&a[0], false, false).map(Value::string)
        }),
        fixed("ternary", &[A, A, B], |_, a| {
            Ok(if matches!(a[2], Value::Bool(true)) {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
        fixed("deepCopy", &[A], |_, a| Ok(deep_copy(&a[0]))),
        fixed("mustDeepCopy", &[A], |_, a| {
            if a[0].is_nil() {
                return Err("copy: cannot copy nil".into());
            }
            Ok(deep_copy(&a[0]))
        }),
        fixed("fail", &[S], |_, a| Err(text(&a[0]).into_owned())),
        // reflection
        fixed("typeOf", &[A], |_, a| s(a[0].type_name().to_string())),
        fixed("typeIs", &[S, A], |_, a| {
            Ok(Value::Bool(text(&a[0]) == a[1].type_name()))
        }),
        fixed("typeIsLike", &[S, A], |_, a| {
            let t = a[1].type_name();
            let want = text(&a[0]);
            Ok(Value::Bool(want == t || want == format!("*{t}")))
        }),
        fixed("kindOf", &[A], |_, a| s(a[0].kind_name().to_string())),
        fixed("kindIs", &[S, A], |_, a| {
            Ok(Value::Bool(text(&a[0]) == a[1].kind_name()))
        }),
        fixed("deepEqual", &[A, A], |_, a| Ok(Value::Bool(a[0] == a[1]))),
        // paths
        fixed("base", &[S], |_, a| s(path_base(&text(&a[0])))),
        fixed("dir", &[S], |_, a| s(path_dir(&text(&a[0])))),
        fixed("clean", &[S], |_, a| s(path_clean(&text(&a[0])))),
        fixed("ext", &[S], |_, a| s(path_ext(&text(&a[0])))),
        fixed("isAbs", &[S], |_, a| {
            Ok(Value::Bool(text(&a[0]).starts_with('/')))
        }),
        fixed("osBase", &[S], |_, a| s(path_base(&text(&a[0])))),
        fixed("osDir", &[S], |_, a| s(path_dir(&text(&a[0])))),
        fixed("osClean", &[S], |_, a| s(path_clean(&text(&a[0])))),
        fixed("osExt", &[S], |_, a| s(path_ext(&text(&a[0])))),
        fixed("osIsAbs", &[S], |_, a| {
            Ok(Value::Bool(text(&a[0]).starts_with('/')))
        }),
        // ESO YAML helpers
        fixed("toYaml", &[A], |_, a| s(go_yaml(&a[0]))),
        fixed("fromYaml", &[S], |_, a| {
            match value_from_yaml_str(&text(&a[0])) {
                Ok(Value::Map(m, _)) => Ok(Value::Map(m, MapKind::Any)),
                Ok(Value::Nil) => Ok(Value::map(BTreeMap::new())),
                Ok(_) => Ok(Value::map(BTreeMap::from([(
                    "Error".into(),
                    Value::str(
                        "error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]interface {}",
                    ),
                )]))),
                Err(e) => Ok(Value::map(BTreeMap::from([(
                    "Error".into(),
                    Value::string(e),
                )]))),
            }
        }),
    ]
}
