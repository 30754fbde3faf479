//! ESO's key and value strategies: `conversionStrategy`, `decodingStrategy`, `nullBytePolicy`
//! and `rewrite` (regexp, transform, merge).
//!
//! # Example
//!
//! Every function takes the API model's own types (`ExternalSecretConversionStrategy`,
//! `ExternalSecretRewrite`, ...), so the flows pass the manifest's fields straight through.
//! The strategy enums also parse from ESO's names (`"Base64".parse()`), where a name comes as
//! text (a CLI flag, a test case).
//!
//! ```
//! use eso_core::api::{ExternalSecretConversionStrategy as Conv, ExternalSecretDecodingStrategy as Dec,
//!     PushSecretConversionStrategy as Rev};
//! use eso_core::strategy::{convert_keys, decode, reverse_keys};
//! use eso_core::{SecretMap, SecretValue};
//!
//! let mut m = SecretMap::new();
//! m.insert("a/c".into(), SecretValue::from("x"));
//! let c = convert_keys(Conv::Unicode, m).unwrap();
//! assert!(c.contains_key("a_U002f_c"));
//! let r = reverse_keys(Rev::ReverseUnicode, c).unwrap();
//! assert!(r.contains_key("a/c"));
//! assert_eq!(decode(Dec::Base64, b"YmFy").unwrap(), b"bar");
//! assert_eq!(decode("Base64URL".parse().unwrap(), b"YmFy").unwrap(), b"bar");
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

use crate::api::{
    ExternalSecretConversionStrategy, ExternalSecretDecodingStrategy, ExternalSecretNullBytePolicy,
    ExternalSecretRewrite, ExternalSecretRewriteMerge, ExternalSecretRewriteMergeConflictPolicy,
    ExternalSecretRewriteMergePriorityPolicy, ExternalSecretRewriteMergeStrategy,
    ExternalSecretRewriteRegexp, ExternalSecretRewriteTransform, PushSecretConversionStrategy,
    PushSecretRewrite,
};
use crate::{Error, Result, SecretMap, SecretValue};

impl FromStr for ExternalSecretConversionStrategy {
    type Err = Error;

    /// ESO's names; empty means `Default`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "Default" => Ok(Self::Default),
            "Unicode" => Ok(Self::Unicode),
            other => Err(Error::Conversion(format!(
                "conversion strategy {other} is not supported"
            ))),
        }
    }
}

impl FromStr for PushSecretConversionStrategy {
    type Err = Error;

    /// ESO's names; empty means `None`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "None" => Ok(Self::None),
            "ReverseUnicode" => Ok(Self::ReverseUnicode),
            other => Err(Error::Conversion(format!(
                "conversion strategy {other} is not supported"
            ))),
        }
    }
}

impl FromStr for ExternalSecretDecodingStrategy {
    type Err = Error;

    /// ESO's names; empty means `None`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "None" => Ok(Self::None),
            "Base64" => Ok(Self::Base64),
            "Base64URL" => Ok(Self::Base64Url),
            "Auto" => Ok(Self::Auto),
            other => Err(Error::Conversion(format!(
                "decoding strategy {other} is not supported"
            ))),
        }
    }
}

fn is_key_char(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == '-' || c == '.' || c == '_'
}

/// Converts one key name with `conversionStrategy` `Default` or `Unicode`.
pub fn convert_key(strategy: ExternalSecretConversionStrategy, key: &str) -> String {
    let unicode = strategy == ExternalSecretConversionStrategy::Unicode;
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        if is_key_char(c) {
            out.push(c);
        } else if unicode {
            out.push_str(&format!("_U{:04x}_", c as u32));
        } else {
            out.push('_');
        }
    }
    out
}

/// Converts all keys of a map; a collision is an error.
pub fn convert_keys(
    strategy: ExternalSecretConversionStrategy,
    input: SecretMap,
) -> Result<SecretMap> {
    let mut out = SecretMap::new();
    for (k, v) in input {
        let nk = convert_key(strategy, &k);
        if out.contains_key(&nk) {
            return Err(Error::Conversion(format!(
                "secret name collision during conversion: {nk}"
            )));
        }
        out.insert(nk, v);
    }
    Ok(out)
}

/// Reverses `Unicode` conversion on one key (`ReverseUnicode`), or leaves it (`None`).
pub fn reverse_key(strategy: PushSecretConversionStrategy, key: &str) -> String {
    if strategy == PushSecretConversionStrategy::None {
        return key.to_string();
    }
    let b = key.as_bytes();
    let mut out = String::with_capacity(key.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 2 < b.len() {
        if b[i] == b'_' && b[i + 1] == b'U' {
            let hex = b[i + 2..]
                .iter()
                .take(5)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            let n = if hex == 5 && b.get(i + 7) == Some(&b'_') {
                5
            } else if hex >= 4 && b.get(i + 6) == Some(&b'_') {
                4
            } else {
                0
            };
            if n > 0 {
                let digits = &key[i + 2..i + 2 + n];
                if let Some(c) = u32::from_str_radix(digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    out.push_str(&key[copied..i]);
                    out.push(c);
                    copied = i + 3 + n;
                }
                i += 3 + n;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&key[copied..]);
    out
}

/// Reverses all keys of a map; a collision is an error.
pub fn reverse_keys(strategy: PushSecretConversionStrategy, input: SecretMap) -> Result<SecretMap> {
    let mut out = SecretMap::new();
    for (k, v) in input {
        let nk = reverse_key(strategy, &k);
        if out.contains_key(&nk) {
            return Err(Error::Conversion(format!(
                "secret name collision during reverse conversion: {nk}"
            )));
        }
        out.insert(nk, v);
    }
    Ok(out)
}

/// Decodes one value with `decodingStrategy` `None`, `Base64`, `Base64URL` or `Auto`.
pub fn decode(strategy: ExternalSecretDecodingStrategy, input: &[u8]) -> Result<Vec<u8>> {
    use ExternalSecretDecodingStrategy as D;
    match strategy {
        D::None => Ok(input.to_vec()),
        D::Base64 => STANDARD
            .decode(input)
            .map_err(|e| Error::Conversion(format!("error decoding base64: {e}"))),
        D::Base64Url => URL_SAFE
            .decode(input)
            .map_err(|e| Error::Conversion(format!("error decoding base64url: {e}"))),
        D::Auto => Ok(STANDARD
            .decode(input)
            .or_else(|_| URL_SAFE.decode(input))
            .unwrap_or_else(|_| input.to_vec())),
    }
}

/// Decodes every value of a map.
pub fn decode_map(strategy: ExternalSecretDecodingStrategy, input: SecretMap) -> Result<SecretMap> {
    if strategy == ExternalSecretDecodingStrategy::None {
        return Ok(input);
    }
    let mut out = SecretMap::new();
    for (k, v) in input {
        let d = decode(strategy, v.expose())
            .map_err(|e| Error::Conversion(format!("failure decoding key {k}: {e}")))?;
        out.insert(k, SecretValue::new(d));
    }
    Ok(out)
}

/// `nullBytePolicy: Fail`: an error naming the first key (in sorted order) whose value has a NUL byte.
pub fn check_null_bytes(policy: ExternalSecretNullBytePolicy, data: &SecretMap) -> Result<()> {
    if policy != ExternalSecretNullBytePolicy::Fail {
        return Ok(());
    }
    for (k, v) in data {
        if v.expose().contains(&0) {
            return Err(Error::Conversion(format!(
                "secret key {k} contains a null byte, which is not allowed by nullBytePolicy Fail"
            )));
        }
    }
    Ok(())
}

/// One rewrite step, borrowed from an ExternalSecret's `rewrite[]` or a PushSecret's
/// `dataTo[].rewrite[]` (the one bridge between the two API shapes).
#[derive(Clone, Copy, Debug)]
enum Step<'a> {
    Regexp(&'a ExternalSecretRewriteRegexp),
    Transform(&'a ExternalSecretRewriteTransform),
    Merge(&'a ExternalSecretRewriteMerge),
    Nothing,
}

impl<'a> From<&'a ExternalSecretRewrite> for Step<'a> {
    fn from(op: &'a ExternalSecretRewrite) -> Self {
        match (&op.regexp, &op.transform, &op.merge) {
            (Some(r), _, _) => Self::Regexp(r),
            (None, Some(t), _) => Self::Transform(t),
            (None, None, Some(m)) => Self::Merge(m),
            (None, None, None) => Self::Nothing,
        }
    }
}

impl<'a> From<&'a PushSecretRewrite> for Step<'a> {
    fn from(op: &'a PushSecretRewrite) -> Self {
        match (&op.regexp, &op.transform) {
            (Some(r), _) => Self::Regexp(r),
            (None, Some(t)) => Self::Transform(t),
            (None, None) => Self::Nothing,
        }
    }
}

/// Applies an ExternalSecret's rewrite operations in order (ESO's `RewriteMap`).
pub fn rewrite(ops: &[ExternalSecretRewrite], data: SecretMap) -> Result<SecretMap> {
    apply_steps(ops.iter().map(Step::from), data)
}

/// Applies a PushSecret `dataTo[].rewrite` to one key: the remote key it is pushed to.
pub fn rewrite_push_key(ops: &[PushSecretRewrite], key: &str) -> Result<String> {
    let one = SecretMap::from([(key.to_owned(), SecretValue::default())]);
    let renamed = apply_steps(ops.iter().map(Step::from), one)?;
    Ok(renamed.into_keys().next().unwrap_or_else(|| key.to_owned()))
}

fn apply_steps<'a>(
    steps: impl Iterator<Item = Step<'a>>,
    mut data: SecretMap,
) -> Result<SecretMap> {
    for step in steps {
        match step {
            Step::Regexp(r) => {
                let re = regex::Regex::new(&r.source).map_err(|e| {
                    Error::Conversion(format!("error compiling regexp {:?}: {e}", r.source))
                })?;
                data = data
                    .into_iter()
                    .map(|(k, v)| (re.replace_all(&k, r.target.as_str()).into_owned(), v))
                    .collect();
            }
            Step::Transform(t) => {
                let tpl = crate::template::Template::parse("transform", &t.template)
                    .map_err(|e| Error::Template(format!("error parsing template: {e}")))?;
                let mut out = SecretMap::new();
                for (k, v) in data {
                    let nk = crate::template::render_rewrite_key(&tpl, &k)?;
                    out.insert(nk, v);
                }
                data = out;
            }
            Step::Merge(m) => data = merge(m, data)?,
            Step::Nothing => {}
        }
    }
    Ok(data)
}

fn json_value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => crate::template::format_float_plain(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn merge(m: &ExternalSecretRewriteMerge, data: SecretMap) -> Result<SecretMap> {
    let strict = m.priority_policy == ExternalSecretRewriteMergePriorityPolicy::Strict;
    let priority = m.priority.as_deref().unwrap_or_default();
    let mut order: Vec<&String> = data.keys().filter(|k| !priority.contains(k)).collect();
    for p in priority {
        match data.get_key_value(p) {
            Some((k, _)) => order.push(k),
            None if strict => {
                return Err(Error::Conversion(format!(
                    "merge failed: priority key {p} not found in secret data"
                )));
            }
            None => {}
        }
    }
    let mut merged: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for k in order {
        let Some(v) = data.get(k) else { continue };
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(v.expose())
            .map_err(|e| {
                Error::Conversion(format!(
                    "merge failed: value of key {k} is not a JSON object: {e}"
                ))
            })?;
        for (sk, sv) in obj {
            if merged.contains_key(&sk) {
                conflicts.push(sk.clone());
            }
            merged.insert(sk, sv);
        }
    }
    if !conflicts.is_empty() && m.conflict_policy == ExternalSecretRewriteMergeConflictPolicy::Error
    {
        conflicts.sort();
        conflicts.dedup();
        return Err(Error::Conversion(format!(
            "merge failed with conflicts: {}",
            conflicts.join(", ")
        )));
    }
    match m.strategy {
        ExternalSecretRewriteMergeStrategy::Json => {
            let into = m.into.as_str();
            if into.is_empty() {
                return Err(Error::Conversion(
                    "merge failed: missing 'into' field for JSON strategy".into(),
                ));
            }
            let obj = crate::template::Value::from(&serde_json::Value::Object(
                merged.into_iter().collect(),
            ));
            let text = crate::template::go_json_text(&obj)
                .map_err(|e| Error::Conversion(format!("merge failed: {e}")))?;
            let mut out = data;
            out.insert(into.to_string(), SecretValue::from(text));
            Ok(out)
        }
        ExternalSecretRewriteMergeStrategy::Extract => Ok(merged
            .into_iter()
            .map(|(k, v)| (k, SecretValue::from(json_value_text(&v))))
            .collect()),
    }
}
