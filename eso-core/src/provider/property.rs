//! JSON properties inside a secret value, the way ESO's providers address them.
//!
//! ESO providers read `remoteRef.property` with an exact top-level key first and then as a
//! dotted path (`a.b.0.c`, with `\.` escaping a literal dot); push sets a property inside the
//! existing JSON document and keeps the rest. These helpers do that for every provider crate.

use serde_json::{Map, Value};

use crate::{Error, Result, SecretMap, SecretValue};

/// Splits a dotted path into segments, honouring `\.` as a literal dot.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) => cur.push(next),
                None => cur.push('\\'),
            },
            '.' => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}

/// Looks up a dotted path. Array elements are addressed by index; `#` on an array gives its length.
///
/// # Example
///
/// ```
/// use eso_core::provider::property;
///
/// let doc = serde_json::json!({"db": {"hosts": ["a", "b"]}, "x.y": 1});
/// assert_eq!(property::get(&doc, "db.hosts.1"), Some(serde_json::json!("b")));
/// assert_eq!(property::get(&doc, "x\\.y"), Some(serde_json::json!(1)));
/// assert_eq!(property::get(&doc, "db.hosts.#"), Some(serde_json::json!(2)));
/// ```
pub fn get(doc: &Value, path: &str) -> Option<Value> {
    let mut cur = doc;
    let parts = split_path(path);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get(part.as_str())?,
            Value::Array(a) if part == "#" && i == last => return Some(Value::from(a.len())),
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur.clone())
}

/// The bytes ESO gives for a JSON value: strings without quotes, `null` as empty, anything else
/// as compact JSON.
pub fn value_to_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    }
}

/// Reads `property` from a JSON secret value: an exact top-level key first, then a dotted path.
///
/// `key` names the secret in the `NotFound` error. Fails with [`Error::Conversion`] when the
/// value is not JSON.
pub fn extract(value: &SecretValue, key: &str, property: &str) -> Result<SecretValue> {
    let doc: Value = serde_json::from_slice(value.expose()).map_err(|_| {
        Error::Conversion(format!(
            "secret {key:?} is not a JSON document, so property {property:?} cannot be read"
        ))
    })?;
    select_in(&doc, key, Some(property))
}

/// The value a ref selects in an already parsed JSON document: the whole document (compact
/// JSON) without a property, else the property (an exact top-level key first, then a dotted
/// path) as [`value_to_bytes`] gives it. For backends whose API answers with JSON documents
/// (Vault's KV), so they do not serialise and parse again.
///
/// # Example
///
/// ```
/// use eso_core::provider::property;
///
/// let doc = serde_json::json!({"a.b": "exact", "a": {"b": "nested"}});
/// assert_eq!(property::select_in(&doc, "k", Some("a.b")).unwrap().expose(), b"exact");
/// assert_eq!(property::select_in(&doc, "k", Some("a")).unwrap().expose(), br#"{"b":"nested"}"#);
/// let e = property::select_in(&doc, "k", Some("x")).unwrap_err();
/// assert_eq!(e.to_string(), "secret not found: k#x");
/// ```
pub fn select_in(doc: &Value, key: &str, property: Option<&str>) -> Result<SecretValue> {
    let Some(property) = property else {
        return serde_json::to_vec(doc)
            .map(SecretValue::new)
            .map_err(|e| Error::Conversion(e.to_string()));
    };
    if let Value::Object(m) = doc
        && let Some(v) = m.get(property)
    {
        return Ok(SecretValue::new(value_to_bytes(v)));
    }
    get(doc, property)
        .map(|v| SecretValue::new(value_to_bytes(&v)))
        .ok_or_else(|| Error::not_found(format!("{key}#{property}")))
}

/// Whether `doc` has `property` (an exact top-level key, or a dotted path).
pub fn contains(doc: &Value, property: &str) -> bool {
    doc.get(property).is_some() || get(doc, property).is_some()
}

/// The value a ref selects: `value` itself without a property, else [`extract`] of it.
pub fn select(value: SecretValue, key: &str, property: Option<&str>) -> Result<SecretValue> {
    match property {
        None => Ok(value),
        Some(p) => extract(&value, key, p),
    }
}

/// Turns a JSON object secret into a map: string values as they are, other values as JSON.
pub fn json_to_map(value: &SecretValue, key: &str) -> Result<SecretMap> {
    let doc: Value = serde_json::from_slice(value.expose())
        .map_err(|_| Error::Conversion(format!("secret {key:?} is not a JSON object")))?;
    match doc {
        Value::Object(m) => Ok(m
            .into_iter()
            .map(|(k, v)| (k, SecretValue::new(value_to_bytes(&v))))
            .collect()),
        _ => Err(Error::Conversion(format!(
            "secret {key:?} is not a JSON object"
        ))),
    }
}

/// Sets `path` in `doc` to `new`, creating intermediate objects; a non-object `doc` is replaced
/// by an object.
pub fn set(doc: &mut Value, path: &str, new: Value) {
    let parts = split_path(path);
    let mut cur = doc;
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        if i + 1 == parts.len() {
            m.insert(part.clone(), new);
            return;
        }
        cur = m
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Removes `path` from `doc`; returns whether something was removed.
pub fn remove(doc: &mut Value, path: &str) -> bool {
    if let Value::Object(m) = doc
        && m.remove(path).is_some()
    {
        return true;
    }
    let parts = split_path(path);
    let mut cur = doc;
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(m) = cur else { return false };
        if i + 1 == parts.len() {
            return m.remove(part.as_str()).is_some();
        }
        match m.get_mut(part.as_str()) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    false
}

/// Parses a secret value as JSON for a property push; an empty or absent value is `{}`.
pub fn parse_for_push(existing: Option<&SecretValue>, key: &str) -> Result<Value> {
    match existing {
        None => Ok(Value::Object(Map::new())),
        Some(v) if v.is_empty() => Ok(Value::Object(Map::new())),
        Some(v) => serde_json::from_slice(v.expose()).map_err(|_| {
            Error::Conversion(format!(
                "secret {key:?} is not a JSON document, so a property cannot be set in it"
            ))
        }),
    }
}

/// The JSON value to store for pushed bytes: a string if UTF-8, else an error.
pub fn push_value(value: &SecretValue) -> Result<Value> {
    value
        .expose_str()
        .map(|s| Value::String(s.to_owned()))
        .ok_or_else(|| Error::Conversion("a property value must be valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extract_exact_key_before_path() {
        let v = SecretValue::from(r#"{"a.b":"exact","a":{"b":"nested"},"n":5,"o":{"x":1}}"#);
        assert_eq!(extract(&v, "k", "a.b").unwrap().expose(), b"exact");
        assert_eq!(extract(&v, "k", "n").unwrap().expose(), b"5");
        assert_eq!(extract(&v, "k", "o").unwrap().expose(), br#"{"x":1}"#);
        assert!(extract(&v, "k", "missing").unwrap_err().is_not_found());
        let bad = SecretValue::from("not json");
        let err = extract(&bad, "k", "p").unwrap_err();
        assert!(!err.to_string().contains("not json"));
    }

    #[test]
    fn set_and_remove() {
        let mut d = json!({"keep": 1});
        set(&mut d, "a.b", json!("x"));
        assert_eq!(d, json!({"keep": 1, "a": {"b": "x"}}));
        assert!(remove(&mut d, "a.b"));
        assert!(!remove(&mut d, "a.c"));
        assert_eq!(d, json!({"keep": 1, "a": {}}));
    }

    #[test]
    fn map_values() {
        let v = SecretValue::from(r#"{"s":"str","n":1,"b":true,"z":null}"#);
        let m = json_to_map(&v, "k").unwrap();
        assert_eq!(m["s"].expose(), b"str");
        assert_eq!(m["n"].expose(), b"1");
        assert_eq!(m["b"].expose(), b"true");
        assert_eq!(m["z"].expose(), b"");
    }
}
