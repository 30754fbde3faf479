//! YAML read as ESO reads it: `sigs.k8s.io/yaml` on yaml.v2 (YAML 1.1 scalars, yaml.v2's
//! folding of multi-line quoted scalars). `data/yaml-go-vectors.json` holds Go's answers:
//! `data/yaml-go/main.go` unmarshals each input with sigs.k8s.io/yaml v1.6.0 into
//! `map[string]interface{}` (what ESO's `fromYaml` does) and prints `json.Marshal` of it, or
//! `error: true` when Go fails (ESO's `fromYaml` then answers `{"Error": "..."}`).

use eso_core::template::{Template, Value};

#[derive(serde::Deserialize)]
struct Vector {
    name: String,
    input: String,
    /// `toJson (fromYaml input)` as ESO prints it.
    json: String,
    /// Go failed to read the input: the JSON holds its message under `Error`.
    error: bool,
}

/// JSON with the text of an `Error` entry blanked (our messages are worded differently).
fn without_error_text(json: &str) -> Option<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_str(json).ok()?;
    let e = v.get_mut("Error")?;
    *e = serde_json::Value::String(String::new());
    Some(v)
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("data/yaml-go-vectors.json");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

/// `fromYaml | toJson` in the engine gives Go's JSON, or fails where Go fails.
#[test]
fn engine_from_yaml_matches_go() {
    let t = Template::parse("t", "{{ .in | fromYaml | toJson }}").unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for v in vectors() {
        let data = Value::string_map([("in".into(), Value::str(&v.input))].into());
        let got = t
            .render(&data)
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let ok = match &got {
            Ok(g) if v.error => {
                without_error_text(g).is_some()
                    && without_error_text(g) == without_error_text(&v.json)
            }
            Ok(g) => *g == v.json,
            Err(_) => false,
        };
        if !ok {
            failures.push(format!(
                "{}: input {:?}\n  go:   {:?}\n  ours: {:?}",
                v.name, v.input, v.json, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The manifest reader (`api::parse_yaml`, into untyped JSON) reads the same scalars and
/// quoted-scalar folding as Go. Go's JSON numbers are float64 after the round trip, so the
/// comparison is on values with numbers as f64; cases where Go fails must fail here too.
#[test]
fn manifest_reader_matches_go() {
    let mut failures = Vec::new();
    for v in vectors() {
        let ours = eso_core::api::parse_yaml::<serde_json::Value>(&v.input);
        let ok = match &ours {
            Ok(o) if !v.error => {
                let go: serde_json::Value =
                    serde_json::from_str(&v.json).unwrap_or_else(|e| panic!("{e}"));
                as_f64(o) == as_f64(&go)
            }
            Ok(_) => false,
            Err(_) => v.error,
        };
        if !ok {
            failures.push(format!(
                "{}: input {:?}\n  go:   {}\n  ours: {:?}",
                v.name,
                v.input,
                v.json,
                ours.map(|o| o.to_string())
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn as_f64(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Number(n) => serde_json::json!(n.as_f64()),
        serde_json::Value::Array(a) => a.iter().map(as_f64).collect(),
        serde_json::Value::Object(o) => o.iter().map(|(k, e)| (k.clone(), as_f64(e))).collect(),
        other => other.clone(),
    }
}
