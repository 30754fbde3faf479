//! The bench corpus (../shared/bench/templates.json) renders exactly ESO's expected output.

#![cfg(feature = "testing")]

use eso_core::template::{Template, Value};

#[test]
fn bench_corpus_matches_eso() {
    let Some(text) = eso_core::testing::bench_file("templates.json") else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let data = Value::string_map(
            case["data"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str().into(), Value::str(v.as_str().unwrap())))
                .collect(),
        );
        for (key, tpl) in case["templates"].as_object().unwrap() {
            let t = Template::parse(key, tpl.as_str().unwrap()).unwrap();
            let start = std::time::Instant::now();
            let out = t
                .render(&data)
                .unwrap_or_else(|e| panic!("{name}/{key}: {e}"));
            let took = start.elapsed();
            let want = case["expected"][key].as_str().unwrap();
            assert_eq!(String::from_utf8_lossy(&out), want, "{name}/{key}");
            eprintln!("{name}/{key}: render {took:?} (debug build)");
        }
    }
}
