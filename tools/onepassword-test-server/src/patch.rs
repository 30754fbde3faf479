//! Connect's JSON Patch on items: RFC 6902 `add`, `remove` and `replace` on RFC 6901
//! pointers, where a segment after `/fields` or `/sections` is the entry's ID (or, as in
//! plain JSON Pointer, its index), and `add` to `/fields` appends.

use serde_json::Value;

use crate::ApiError;

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// The index of `seg` in `list`: an entry whose `id` is `seg`, else a numeric index.
fn index_of(list: &[Value], seg: &str) -> Option<usize> {
    list.iter()
        .position(|e| e["id"].as_str() == Some(seg))
        .or_else(|| seg.parse::<usize>().ok().filter(|i| *i < list.len()))
}

/// Applies one patch operation to `doc`.
pub(crate) fn apply(doc: &mut Value, op: &Value) -> Result<(), ApiError> {
    let kind = op["op"].as_str().unwrap_or_default();
    let path = op["path"]
        .as_str()
        .ok_or_else(|| ApiError::new(400, "Invalid patch: path is required"))?;
    let value = op.get("value").cloned();
    if !matches!(kind, "add" | "remove" | "replace") {
        return Err(ApiError::new(
            400,
            &format!("Invalid patch: unsupported op {kind:?}"),
        ));
    }
    if path == "/" || path.is_empty() {
        return match (kind, value) {
            ("replace" | "add", Some(Value::Object(new))) => {
                let keep = doc.clone();
                *doc = Value::Object(new);
                for k in ["id", "vault", "createdAt", "version"] {
                    if let Some(v) = keep.get(k) {
                        doc[k] = v.clone();
                    }
                }
                Ok(())
            }
            _ => Err(ApiError::new(
                400,
                "Invalid patch: the item must be an object",
            )),
        };
    }
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(unescape)
        .collect();
    let (last, parents) = segs
        .split_last()
        .ok_or_else(|| ApiError::new(400, "Invalid patch: empty path"))?;
    let mut cur = doc;
    for s in parents {
        cur = match cur {
            Value::Object(o) => o.get_mut(s),
            Value::Array(a) => index_of(a, s).and_then(move |i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| ApiError::new(400, &format!("Invalid patch: {path} does not exist")))?;
    }
    let missing = || ApiError::new(400, &format!("Invalid patch: {path} does not exist"));
    match (cur, kind) {
        (Value::Object(o), "remove") => o.remove(last).map(|_| ()).ok_or_else(missing),
        (Value::Object(o), _) => {
            let v = value.ok_or_else(|| ApiError::new(400, "Invalid patch: value is required"))?;
            if kind == "add"
                && let Some(Value::Array(list)) = o.get_mut(last)
                && !v.is_array()
            {
                list.push(v);
                return Ok(());
            }
            if kind == "replace" && !o.contains_key(last) {
                return Err(missing());
            }
            o.insert(last.clone(), v);
            Ok(())
        }
        (Value::Array(a), "remove") => {
            let i = index_of(a, last).ok_or_else(missing)?;
            a.remove(i);
            Ok(())
        }
        (Value::Array(a), _) => {
            let v = value.ok_or_else(|| ApiError::new(400, "Invalid patch: value is required"))?;
            match (kind, index_of(a, last)) {
                ("replace", Some(i)) => a[i] = v,
                ("add", _) if last == "-" => a.push(v),
                ("add", Some(i)) => a.insert(i, v),
                _ => return Err(missing()),
            }
            Ok(())
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_by_id() {
        let mut doc = json!({"id": "i", "title": "t", "tags": ["a", "b"],
            "fields": [{"id": "f1", "label": "user", "value": "u"}]});
        apply(
            &mut doc,
            &json!({"op": "add", "path": "/fields",
            "value": {"label": "pw", "value": "p"}}),
        )
        .unwrap();
        apply(
            &mut doc,
            &json!({"op": "replace", "path": "/fields/f1/value", "value": "u2"}),
        )
        .unwrap();
        apply(&mut doc, &json!({"op": "remove", "path": "/tags/1"})).unwrap();
        apply(
            &mut doc,
            &json!({"op": "replace", "path": "/title", "value": "t2"}),
        )
        .unwrap();
        assert_eq!(doc["fields"][0]["value"], "u2");
        assert_eq!(doc["fields"][1]["label"], "pw");
        assert_eq!(doc["tags"], json!(["a"]));
        assert_eq!(doc["title"], "t2");
        apply(&mut doc, &json!({"op": "remove", "path": "/fields/f1"})).unwrap();
        assert_eq!(doc["fields"].as_array().unwrap().len(), 1);
        assert!(apply(&mut doc, &json!({"op": "remove", "path": "/fields/nope"})).is_err());
        assert!(apply(&mut doc, &json!({"op": "move", "path": "/title"})).is_err());
    }
}
