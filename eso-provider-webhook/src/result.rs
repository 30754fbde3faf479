//! Turning a webhook's JSON answer into data: the JSONPath subset and the value rules shared
//! by the provider and the generator.

use eso_core::{Error, Result, SecretMap, SecretValue};
use serde_json::Value;

/// The whole answer as a map (generator output, `dataFrom.extract`): the JSON object that
/// `json_path` selects (a selected string is parsed as JSON again); strings as they are,
/// numbers and booleans as text, objects and arrays as JSON, `null` as an empty value.
/// `field` names the `result.jsonPath` field in errors.
pub(crate) fn to_map(body: &[u8], json_path: Option<&str>, field: &str) -> Result<SecretMap> {
    let parsed = parse(body)?;
    let mut selected = match json_path.filter(|p| !p.is_empty()) {
        Some(p) => select(&parsed, p, field)?.clone(),
        None => parsed,
    };
    if let Value::String(s) = &selected {
        selected = serde_json::from_str(s)
            .map_err(|_| Error::Conversion(format!("{field}: the selected string is not JSON")))?;
    }
    let Value::Object(map) = selected else {
        return Err(Error::Conversion(format!(
            "the webhook result must be a JSON object, not {}",
            type_name(&selected)
        )));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, SecretValue::from(scalar_bytes(v))))
        .collect())
}

/// One value (`data[].remoteRef`): the raw answer without `json_path`, else what it selects,
/// as ESO returns it (the first element of an array, an object as JSON).
pub(crate) fn to_value(body: &[u8], json_path: Option<&str>, field: &str) -> Result<SecretValue> {
    let Some(path) = json_path.filter(|p| !p.is_empty()) else {
        return Ok(SecretValue::from(body.to_vec()));
    };
    let parsed = parse(body)?;
    let mut selected = select(&parsed, path, field)?.clone();
    if let Value::Array(items) = selected {
        selected = items.into_iter().next().ok_or_else(|| {
            Error::Conversion(format!("{field}: {path:?} selects an empty array"))
        })?;
    }
    Ok(SecretValue::from(scalar_bytes(selected)))
}

fn parse(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body)
        .map_err(|_| Error::Conversion("the webhook response is not JSON".to_owned()))
}

fn scalar_bytes(v: Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.into_bytes(),
        Value::Null => Vec::new(),
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Number(n) => n.to_string().into_bytes(),
        other @ (Value::Array(_) | Value::Object(_)) => {
            serde_json::to_vec(&other).unwrap_or_default()
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Evaluates the JSONPath subset `$`, `.name`, `['name']`, `["name"]` and `[index]`
/// (negative indexes count from the end); errors are at `field`.
pub(crate) fn select<'a>(root: &'a Value, path: &str, field: &str) -> Result<&'a Value> {
    let bad = |why: &str| Error::invalid_config(field, why.to_owned());
    let unsupported =
        || bad("only $, .name, ['name'] and [index] steps are supported (no wildcards or filters)");
    let mut rest = path
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| bad("must start with $"))?;
    let mut current = root;
    while !rest.is_empty() {
        let (step, after): (Step, &str) = if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || name == "*" || r.starts_with('.') {
                return Err(unsupported());
            }
            (Step::Name(name.to_owned()), &r[end..])
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| bad("unclosed ["))?;
            let inner = r[..end].trim();
            let step = if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
            {
                Step::Name(q.to_owned())
            } else if inner.starts_with('"') {
                Step::Name(serde_json::from_str(inner).map_err(|_| unsupported())?)
            } else {
                Step::Index(inner.parse().map_err(|_| unsupported())?)
            };
            (step, &r[end + 1..])
        } else {
            return Err(unsupported());
        };
        current = match (&step, current) {
            (Step::Name(n), Value::Object(m)) => m.get(n),
            (Step::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 {
                    usize::try_from(i.unsigned_abs())
                        .ok()
                        .and_then(|back| a.len().checked_sub(back))
                } else {
                    usize::try_from(*i).ok()
                };
                idx.and_then(|i| a.get(i))
            }
            _ => None,
        }
        .ok_or_else(|| bad(&format!("{path:?} selects nothing in the response")))?;
        rest = after;
    }
    Ok(current)
}

enum Step {
    Name(String),
    Index(i64),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const F: &str = "spec.result.jsonPath";

    #[test]
    fn json_path_subset() {
        let v = json!({"a": {"b c": [10, {"d": "x"}]}});
        assert_eq!(select(&v, "$", F).unwrap(), &v);
        assert_eq!(select(&v, "$.a['b c'][1].d", F).unwrap(), "x");
        assert_eq!(select(&v, "$[\"a\"][\"b c\"][-2]", F).unwrap(), 10);
        for bad in ["a.b", "$..a", "$.*", "$[*]", "$[?(@.a)]", "$.a[", "$.x"] {
            let e = select(&v, bad, F).unwrap_err();
            assert!(
                e.to_string().starts_with("spec.result.jsonPath: "),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn values_as_eso_returns_them() {
        let body = br#"{"s": "x", "n": 1.5, "b": true, "z": null, "l": ["first", "second"], "o": {"k": 1}, "e": []}"#;
        let v = |p: &str| to_value(body, Some(p), F).map(|v| v.expose().to_vec());
        assert_eq!(v("$.s").unwrap(), b"x");
        assert_eq!(v("$.n").unwrap(), b"1.5");
        assert_eq!(v("$.b").unwrap(), b"true");
        assert_eq!(v("$.z").unwrap(), b"");
        assert_eq!(v("$.l").unwrap(), b"first");
        assert_eq!(v("$.o").unwrap(), br#"{"k":1}"#);
        assert!(v("$.e").unwrap_err().to_string().contains("empty array"));
        assert_eq!(
            to_value(b"raw text", None, F).unwrap().expose(),
            b"raw text"
        );
        assert!(to_value(b"raw text", Some("$.a"), F).is_err());
    }

    #[test]
    fn maps() {
        let m = to_map(br#"{"d": {"a": "1", "n": 2}}"#, Some("$.d"), F).unwrap();
        assert_eq!(m["a"].expose(), b"1");
        assert_eq!(m["n"].expose(), b"2");
        let m = to_map(br#"{"d": "{\"k\": \"v\"}"}"#, Some("$.d"), F).unwrap();
        assert_eq!(m["k"].expose(), b"v");
        let e = to_map(br#"["a"]"#, None, F).unwrap_err();
        assert!(e.to_string().contains("must be a JSON object"), "{e}");
    }
}
