//! The function map: Go's builtins, the sprig subset ESO ships, and ESO's own functions.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use super::compare::{go_eq, go_lt};
use super::gofmt;
use super::limits::Limits;
use super::value::Value;

mod case;
#[cfg(feature = "template-crypto")]
mod certkey;
#[cfg(feature = "template-crypto")]
mod certs;
mod chain;
mod collections;
#[cfg(feature = "template-crypto")]
mod crypto;
mod date;
mod der;
mod encoding;
mod eso;
#[cfg(feature = "template-crypto")]
mod extra;
pub(crate) mod json;
#[cfg(feature = "template-crypto")]
mod pkcs12;
#[cfg(feature = "template-crypto")]
mod rsa;
mod semver;
mod sprig;
mod url;
pub(crate) mod yaml_out;
mod yaml_resolve;

pub(crate) use json::go_json;

/// A parameter type, as far as the engine checks it (Go's typed function parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Any,
    Str,
    Int,
    Bool,
    /// Go's `time.Time`.
    Time,
}

/// Functions the evaluator treats specially.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    And,
    Or,
    /// `dict`: with constant keys, built by the evaluator from the parsed keys.
    Dict,
}

/// What a function sees besides its arguments.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub limits: Limits,
}

pub(crate) type FnResult = Result<Value, String>;
/// A function's arguments (inline up to eight: no allocation for nearly every call, `dict`
/// and `printf` with several pairs or operands included).
pub(crate) type Args = smallvec::SmallVec<[Value; 8]>;
pub(crate) type FnPtr = fn(&Ctx, Args) -> FnResult;
/// A function whose result is a string, writing that string to `out` instead of returning it:
/// the evaluator prints such a call's result straight into the template output.
pub(crate) type PrintPtr = fn(&Ctx, &[Value], &mut Vec<u8>) -> Result<(), String>;

/// One template function.
pub(crate) struct FuncDef {
    pub name: &'static str,
    pub params: &'static [Ty],
    pub variadic: bool,
    pub special: Special,
    pub call: FnPtr,
    /// Go mutates the map passed first (`set`, `unset`, `merge` ...): maps are references.
    pub mutates_first: bool,
    /// The same function writing its string result (see [`PrintPtr`]); `call` then gives the
    /// same bytes as a value.
    pub print: Option<PrintPtr>,
}

impl FuncDef {
    /// The function with a writer for its string result.
    const fn printing(mut self, print: PrintPtr) -> Self {
        self.print = Some(print);
        self
    }
}

impl fmt::Debug for FuncDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "func {}", self.name)
    }
}

pub(crate) const A: Ty = Ty::Any;
pub(crate) const S: Ty = Ty::Str;
pub(crate) const I: Ty = Ty::Int;
pub(crate) const B: Ty = Ty::Bool;
pub(crate) const T: Ty = Ty::Time;

pub(crate) const fn fixed(name: &'static str, params: &'static [Ty], call: FnPtr) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic: false,
        special: Special::None,
        call,
        mutates_first: false,
        print: None,
    }
}

pub(crate) const fn var(name: &'static str, params: &'static [Ty], call: FnPtr) -> FuncDef {
    FuncDef {
        name,
        params,
        variadic: true,
        special: Special::None,
        call,
        mutates_first: false,
        print: None,
    }
}

// ---------------------------------------------------------------------------------------
// argument helpers

pub(crate) fn bytes_arg(v: &Value) -> &[u8] {
    v.as_bytes().unwrap_or(b"")
}

pub(crate) fn text(v: &Value) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes_arg(v))
}

pub(crate) fn int_arg(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        _ => 0,
    }
}

/// sprig's `strval`: strings as they are, anything else like `%v`.
pub(crate) fn strval(v: &Value) -> Vec<u8> {
    v.to_go_string()
}

fn go_builtin_text(args: &[Value]) -> Vec<u8> {
    if let [Value::Str(s)] = args {
        return s.to_vec();
    }
    gofmt::sprint(args)
}

fn html_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        match c {
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let s = String::from_utf8_lossy(b);
    for c in s.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\'' => out.extend_from_slice(b"\\'"),
            '"' => out.extend_from_slice(b"\\\""),
            '<' => out.extend_from_slice(b"\\u003C"),
            '>' => out.extend_from_slice(b"\\u003E"),
            '&' => out.extend_from_slice(b"\\u0026"),
            '=' => out.extend_from_slice(b"\\u003D"),
            c if (c as u32) < 0x20 || c.is_control() => {
                out.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            c => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

fn go_index(args: Args) -> FnResult {
    let mut it = args.into_iter();
    let mut item = it.next().unwrap_or_default();
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    for idx in it {
        item = match item {
            Value::List(l) => {
                let i = index_arg(&idx, l.len())?;
                l[i].clone()
            }
            Value::Str(s) => {
                let i = index_arg(&idx, s.len())?;
                Value::Uint(u64::from(s[i]))
            }
            Value::Map(m, kind) => match &idx {
                Value::Str(k) => {
                    let k = String::from_utf8_lossy(k);
                    match m.get(k.as_ref()) {
                        Some(v) => v.clone(),
                        None => match kind {
                            super::value::MapKind::Strings => Value::str(""),
                            super::value::MapKind::Any | super::value::MapKind::Struct(_) => {
                                Value::Nil
                            }
                        },
                    }
                }
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ));
                }
            },
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn index_arg(idx: &Value, len: usize) -> Result<usize, String> {
    let x = match idx {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x as usize >= len {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn go_len(args: Args) -> FnResult {
    match args.first() {
        Some(Value::Str(s)) => Ok(Value::Int(s.len() as i64)),
        Some(Value::List(l)) => Ok(Value::Int(l.len() as i64)),
        Some(Value::Map(m, _)) => Ok(Value::Int(m.len() as i64)),
        Some(Value::Nil) | None => Err("len of nil pointer".into()),
        Some(other) => Err(format!("len of type {}", other.type_name())),
    }
}

/// The error text of a function this build does not implement.
pub(crate) const UNSUPPORTED_MSG: &str = "\u{0}unsupported";

fn unsupported(_: &Ctx, _: Args) -> FnResult {
    Err(UNSUPPORTED_MSG.into())
}

/// The error text of a function that needs the `template-crypto` feature (compiled without).
pub(crate) const NEEDS_CRYPTO_MSG: &str = "\u{0}needs template-crypto";

/// The functions of the `template-crypto` feature. Without the feature they stay in the
/// function map (templates still parse) and calling one is an error naming the feature.
#[cfg(any(test, not(feature = "template-crypto")))]
pub(crate) const CRYPTO_FUNCS: &[&str] = &[
    // crypto.rs
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "bcrypt",
    "htpasswd",
    "randBytes",
    "uuidv4",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "randInt",
    "shuffle",
    // extra.rs
    "derivePassword",
    "encryptAES",
    "decryptAES",
    // certs.rs
    "genPrivateKey",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "buildCustomCert",
    // pkcs12.rs
    "certSANs",
    "pkcs12key",
    "pkcs12keyPass",
    "pkcs12cert",
    "pkcs12certPass",
    "pemToPkcs12",
    "pemToPkcs12Pass",
    "fullPemToPkcs12",
    "fullPemToPkcs12Pass",
    "pemTruststoreToPKCS12",
    "pemTruststoreToPKCS12Pass",
    "rsaDecrypt",
];

#[cfg(not(feature = "template-crypto"))]
fn needs_crypto(_: &Ctx, _: Args) -> FnResult {
    Err(NEEDS_CRYPTO_MSG.into())
}

/// The functions of the `template-crypto` feature: the real ones, or (without the feature)
/// entries answering an error.
fn crypto_funcs() -> Vec<FuncDef> {
    #[cfg(feature = "template-crypto")]
    {
        let mut v = crypto::funcs();
        v.extend(extra::funcs());
        v.extend(certs::funcs());
        v.extend(pkcs12::funcs());
        v
    }
    #[cfg(not(feature = "template-crypto"))]
    {
        CRYPTO_FUNCS
            .iter()
            .map(|name| var(name, &[A], needs_crypto))
            .collect()
    }
}

fn builtins() -> Vec<FuncDef> {
    vec![
        FuncDef {
            name: "and",
            params: &[A, A],
            variadic: true,
            special: Special::And,
            call: |_, a| Ok(a.into_iter().next().unwrap_or_default()),
            mutates_first: false,
            print: None,
        },
        FuncDef {
            name: "or",
            params: &[A, A],
            variadic: true,
            special: Special::Or,
            call: |_, a| Ok(a.into_iter().next().unwrap_or_default()),
            mutates_first: false,
            print: None,
        },
        fixed("not", &[A], |_, a| Ok(Value::Bool(!a[0].truth()))),
        fixed("len", &[A], |_, a| go_len(a)),
        var("index", &[A, A], |_, a| go_index(a)),
        var("print", &[A], |_, a| Ok(Value::byte_vec(gofmt::sprint(&a)))),
        var("println", &[A], |_, a| {
            Ok(Value::byte_vec(gofmt::sprintln(&a)))
        }),
        var("printf", &[S, A], |c, a| printed(c, &a, printf)).printing(printf),
        var("html", &[A], |_, a| {
            Ok(Value::byte_vec(html_escape(&go_builtin_text(&a))))
        }),
        var("js", &[A], |_, a| {
            Ok(Value::byte_vec(js_escape(&go_builtin_text(&a))))
        }),
        var("urlquery", &[A], |_, a| {
            Ok(Value::string(query_escape(&go_builtin_text(&a))))
        }),
        var("eq", &[A, A], |_, a| go_eq(&a)),
        fixed("ne", &[A, A], |_, a| {
            go_eq(&a).map(|v| Value::Bool(!v.truth()))
        }),
        fixed("lt", &[A, A], |_, a| go_lt(&a[0], &a[1]).map(Value::Bool)),
        fixed("le", &[A, A], |_, a| {
            let lt = go_lt(&a[0], &a[1])?;
            Ok(Value::Bool(lt || go_eq(&a)?.truth()))
        }),
        fixed("gt", &[A, A], |_, a| {
            let lt = go_lt(&a[0], &a[1])?;
            Ok(Value::Bool(!(lt || go_eq(&a)?.truth())))
        }),
        fixed("ge", &[A, A], |_, a| {
            go_lt(&a[0], &a[1]).map(|l| Value::Bool(!l))
        }),
        var("call", &[A, A], |_, a| {
            Err(format!(
                "non-function {} of type {}",
                String::from_utf8_lossy(&a[0].to_go_string()),
                a[0].type_name()
            ))
        }),
    ]
}

/// FNV-1a: the function map's keys are short names the engine itself chose, so a simple hash
/// does (the default one costs more than the rest of a lookup, and every parse does several).
#[derive(Clone, Copy, Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FuncMap = HashMap<&'static str, FuncDef, std::hash::BuildHasherDefault<Fnv>>;

static FUNCS: LazyLock<FuncMap> = LazyLock::new(|| {
    let mut m = FuncMap::default();
    for f in builtins() {
        m.insert(f.name, f);
    }
    for f in eso::funcs() {
        m.insert(f.name, f);
    }
    for f in sprig::funcs() {
        m.insert(f.name, f);
    }
    for f in collections::funcs() {
        m.insert(f.name, f);
    }
    for f in encoding::funcs() {
        m.insert(f.name, f);
    }
    for f in date::funcs() {
        m.insert(f.name, f);
    }
    for f in crypto_funcs() {
        m.insert(f.name, f);
    }
    for f in semver::funcs() {
        m.insert(f.name, f);
    }
    for f in url::funcs() {
        m.insert(f.name, f);
    }
    for name in [
        "set",
        "unset",
        "merge",
        "mustMerge",
        "mergeOverwrite",
        "mustMergeOverwrite",
    ] {
        if let Some(f) = m.get_mut(name) {
            f.mutates_first = true;
        }
    }
    for name in sprig::UNSUPPORTED {
        m.entry(*name).or_insert(var(name, &[A], unsupported));
    }
    m
});

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Builds a string value in a per-thread buffer (one allocation for the result instead of
/// two). The buffer is zeroed after use: it may have held secret data.
pub(crate) fn with_scratch(f: impl FnOnce(&mut Vec<u8>)) -> Value {
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        f(buf);
        let v = Value::bytes(buf);
        buf.fill(0);
        buf.clear();
        if buf.capacity() > 1 << 16 {
            *buf = Vec::new();
        }
        v
    })
}

/// A string-result function's value, from its writer (see [`PrintPtr`]).
pub(crate) fn printed(ctx: &Ctx, args: &[Value], print: PrintPtr) -> FnResult {
    let mut result = Ok(());
    let v = with_scratch(|buf| result = print(ctx, args, buf));
    result.map(|()| v)
}

fn printf(_: &Ctx, a: &[Value], out: &mut Vec<u8>) -> Result<(), String> {
    gofmt::sprintf_into(out, bytes_arg(&a[0]), &a[1..]);
    Ok(())
}

/// Looks up a function by name.
pub(crate) fn lookup(name: &str) -> Option<&'static FuncDef> {
    FUNCS.get(name)
}

/// All function names (sorted), for documentation and tests.
pub fn function_names() -> Vec<&'static str> {
    let mut v: Vec<_> = FUNCS.keys().copied().collect();
    v.sort_unstable();
    v
}

#[cfg(all(test, feature = "template-crypto"))]
mod tests {
    use super::*;

    /// The lean build's list is exactly what the crypto modules register.
    #[test]
    fn crypto_list_matches_the_crypto_modules() {
        let mut real: Vec<&str> = crypto_funcs().iter().map(|f| f.name).collect();
        let mut listed = CRYPTO_FUNCS.to_vec();
        real.sort_unstable();
        listed.sort_unstable();
        assert_eq!(real, listed);
    }
}
