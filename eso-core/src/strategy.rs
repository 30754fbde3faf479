//! ESO's key and value strategies: `conversionStrategy`, `decodingStrategy`, `nullBytePolicy`
//! and `rewrite` (regexp, transform, merge).
//!
//! # Example
//!
//! ```
//! use eso_core::strategy::{convert_keys, decode, reverse_keys};
//! use eso_core::{SecretMap, SecretValue};
//!
//! let mut m = SecretMap::new();
//! m.insert("a/c".into(), SecretValue::from("x"));
//! let c = convert_keys("Unicode", m).unwrap();
//! assert!(c.contains_key("a_U002f_c"));
//! let r = reverse_keys("ReverseUnicode", c).unwrap();
//! assert!(r.contains_key("a/c"));
//! assert_eq!(decode("Base64", b"YmFy").unwrap(), b"bar");
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, SecretMap, SecretValue};

fn is_key_char(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == '-' || c == '.' || c == '_'
}

/// Converts one key name with `conversionStrategy` `Default` (or empty) or `Unicode`.
pub fn convert_key(strategy: &str, key: &str) -> Result<String> {
    let unicode = match strategy {
        "" | "Default" => false,
        "Unicode" => true,
        other => {
            return Err(Error::Conversion(format!(
                "conversion strategy {other} is not supported"
            )));
        }
    };
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
    Ok(out)
}

/// Converts all keys of a map; a collision is an error.
pub fn convert_keys(strategy: &str, input: SecretMap) -> Result<SecretMap> {
    let mut out = SecretMap::new();
    for (k, v) in input {
        let nk = convert_key(strategy, &k)?;
        if out.contains_key(&nk) {
            return Err(Error::Conversion(format!(
                "secret name collision during conversion: {nk}"
            )));
        }
        out.insert(nk, v);
    }
    Ok(out)
}

/// Reverses `Unicode` conversion on one key (`ReverseUnicode`), or leaves it (`None`/empty).
pub fn reverse_key(strategy: &str, key: &str) -> Result<String> {
    match strategy {
        "" | "None" => return Ok(key.to_string()),
        "ReverseUnicode" => {}
        other => {
            return Err(Error::Conversion(format!(
                "conversion strategy {other} is not supported"
            )));
        }
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
    Ok(out)
}

/// Reverses all keys of a map; a collision is an error.
pub fn reverse_keys(strategy: &str, input: SecretMap) -> Result<SecretMap> {
    let mut out = SecretMap::new();
    for (k, v) in input {
        let nk = reverse_key(strategy, &k)?;
        if out.contains_key(&nk) {
            return Err(Error::Conversion(format!(
                "secret name collision during reverse conversion: {nk}"
            )));
        }
        out.insert(nk, v);
    }
    Ok(out)
}

/// Decodes one value with `decodingStrategy` `None`/empty, `Base64`, `Base64URL` or `Auto`.
pub fn decode(strategy: &str, input: &[u8]) -> Result<Vec<u8>> {
    match strategy {
        "" | "None" => Ok(input.to_vec()),
        "Base64" => STANDARD
            .decode(input)
            .map_err(|e| Error::Conversion(format!("error decoding base64: {e}"))),
        "Base64URL" => URL_SAFE
            .decode(input)
            .map_err(|e| Error::Conversion(format!("error decoding base64url: {e}"))),
        "Auto" => Ok(STANDARD
            .decode(input)
            .or_else(|_| URL_SAFE.decode(input))
            .unwrap_or_else(|_| input.to_vec())),
        other => Err(Error::Conversion(format!(
            "decoding strategy {other} is not supported"
        ))),
    }
}

/// Decodes every value of a map.
pub fn decode_map(strategy: &str, input: SecretMap) -> Result<SecretMap> {
    let mut out = SecretMap::new();
    for (k, v) in input {
        let d = decode(strategy, v.expose())
            .map_err(|e| Error::Conversion(format!("failure decoding key {k}: {e}")))?;
        out.insert(k, SecretValue::new(d));
    }
    Ok(out)
}

/// `nullBytePolicy: Fail`: an error naming the first key (in sorted order) whose value has a NUL byte.
pub fn check_null_bytes(policy: &str, data: &SecretMap) -> Result<()> {
    if policy != "Fail" {
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

/// One rewrite operation (CRD form).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rewrite {
    /// Regexp rename of keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Template rename of keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
    /// Merge of JSON values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<RewriteMerge>,
}

/// `rewrite[].regexp`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewriteRegexp {
    /// Go RE2 pattern.
    pub source: String,
    /// Replacement with `$1` / `${name}` references.
    pub target: String,
}

/// `rewrite[].transform`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewriteTransform {
    /// Go template over `{"value": key}`.
    pub template: String,
}

/// `rewrite[].merge`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewriteMerge {
    /// `Extract` (default) or `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// `Error` (default) or `Ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_policy: Option<String>,
    /// Target key for strategy `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<String>,
    /// Keys merged last, in this order (later wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<String>,
    /// `Strict` (default) or `IgnoreNotFound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_policy: Option<String>,
}

/// Applies rewrite operations in order (ESO's `RewriteMap`).
pub fn rewrite(ops: &[Rewrite], mut data: SecretMap) -> Result<SecretMap> {
    for op in ops {
        if let Some(r) = &op.regexp {
            let re = regex::Regex::new(&r.source).map_err(|e| {
                Error::Conversion(format!("error compiling regexp {:?}: {e}", r.source))
            })?;
            let mut out = SecretMap::new();
            for (k, v) in data {
                let nk = re.replace_all(&k, r.target.as_str()).into_owned();
                out.insert(nk, v);
            }
            data = out;
        } else if let Some(t) = &op.transform {
            let tpl = crate::template::Template::parse("transform", &t.template)
                .map_err(|e| Error::Template(format!("error parsing template: {e}")))?;
            let mut out = SecretMap::new();
            for (k, v) in data {
                let nk = crate::template::render_rewrite_key(&tpl, &k)?;
                out.insert(nk, v);
            }
            data = out;
        } else if let Some(m) = &op.merge {
            data = merge(m, data)?;
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

fn merge(m: &RewriteMerge, data: SecretMap) -> Result<SecretMap> {
    let strict = m.priority_policy.as_deref() != Some("IgnoreNotFound");
    let mut order: Vec<&String> = data.keys().filter(|k| !m.priority.contains(k)).collect();
    for p in &m.priority {
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
    if !conflicts.is_empty() && m.conflict_policy.as_deref() != Some("Ignore") {
        conflicts.sort();
        conflicts.dedup();
        return Err(Error::Conversion(format!(
            "merge failed with conflicts: {}",
            conflicts.join(", ")
        )));
    }
    match m.strategy.as_deref().unwrap_or("Extract") {
        "JSON" => {
            let Some(into) = m.into.as_deref().filter(|s| !s.is_empty()) else {
                return Err(Error::Conversion(
                    "merge failed: missing 'into' field for JSON strategy".into(),
                ));
            };
            let obj = crate::template::Value::from(&serde_json::Value::Object(
                merged.into_iter().collect(),
            ));
            let text = crate::template::go_json_text(&obj)
                .map_err(|e| Error::Conversion(format!("merge failed: {e}")))?;
            let mut out = data;
            out.insert(into.to_string(), SecretValue::from(text));
            Ok(out)
        }
        "Extract" | "" => Ok(merged
            .into_iter()
            .map(|(k, v)| (k, SecretValue::from(json_value_text(&v))))
            .collect()),
        other => Err(Error::Conversion(format!(
            "merge failed: unknown strategy {other}"
        ))),
    }
}
