//! ESO's Password generator cases (`shared/conformance/generators/password.json`): every case
//! must produce the keys, counts, alphabet and encoding it describes, or fail when it expects an
//! error.
#![cfg(feature = "password")]

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use eso_core::cluster::{DynCluster, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext};
use eso_generators::Password;
use serde_json::Value;

/// How many times each succeeding case is generated: the output is random.
const ROUNDS: usize = 20;

fn decode(encoding: &str, value: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(value).expect("encoded output is ASCII");
    match encoding {
        "raw" => value.to_vec(),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64"),
        "base64url" => base64::engine::general_purpose::URL_SAFE
            .decode(text)
            .expect("base64url"),
        "hex" => (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect(),
        "base32" => base32_decode(text),
        other => panic!("unknown encoding {other}"),
    }
}

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    assert_eq!(text.len() % 8, 0, "base32 output is padded");
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u64, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base32 char") as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn check_password(name: &str, pw: &str, c: &Value) {
    let chars: Vec<char> = pw.chars().collect();
    let int = |k: &str| c[k].as_u64().map(|v| v as usize);
    let symbols: BTreeSet<char> = c["allowedSymbols"]
        .as_str()
        .expect("allowedSymbols")
        .chars()
        .collect();
    if let Some(len) = int("length") {
        assert_eq!(chars.len(), len, "{name}: length");
    }
    let n_digits = chars.iter().filter(|c| c.is_ascii_digit()).count();
    let n_symbols = chars.iter().filter(|c| symbols.contains(c)).count();
    let n_letters = chars.iter().filter(|c| c.is_ascii_alphabetic()).count();
    if let Some(d) = int("digits") {
        assert_eq!(n_digits, d, "{name}: digits in {} chars", chars.len());
    }
    if let Some(d) = int("minDigits") {
        assert!(n_digits >= d, "{name}: minDigits");
    }
    if let Some(s) = int("symbols") {
        assert_eq!(n_symbols, s, "{name}: symbols");
    }
    if let Some(s) = int("minSymbols") {
        assert!(n_symbols >= s, "{name}: minSymbols");
    }
    assert_eq!(
        n_digits + n_symbols + n_letters,
        chars.len(),
        "{name}: only letters, digits and allowed symbols"
    );
    if c["noUpper"].as_bool() == Some(true) {
        assert!(
            !chars.iter().any(char::is_ascii_uppercase),
            "{name}: noUpper"
        );
    }
    if c["allowRepeat"].as_bool() == Some(false) {
        assert_eq!(
            chars.iter().collect::<BTreeSet<_>>().len(),
            chars.len(),
            "{name}: no character repeats"
        );
    }
}

#[tokio::test]
async fn every_eso_password_case_holds() {
    let Some(text) = eso_core::testing::conformance_file("generators/password.json") else {
        return;
    };
    let cases: Vec<Value> = serde_json::from_str(&text).expect("password.json is JSON");
    assert_eq!(
        cases.len(),
        25,
        "the case file changed; review the new cases"
    );
    let cluster: DynCluster = Arc::new(MemoryCluster::new());
    let mut checked = 0;

    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let checks = &case["checks"];
        let expect_error = checks["expectError"].as_bool().expect("expectError");

        // The generator receives parsed JSON; a document that is not JSON fails before it.
        let spec = match (case.get("spec"), case.get("raw").and_then(Value::as_str)) {
            (Some(spec), _) => spec.clone(),
            (None, Some(raw)) => match serde_json::from_str::<Value>(raw) {
                Ok(v) => v,
                Err(_) => {
                    assert!(expect_error, "{name}: raw spec is not JSON");
                    checked += 1;
                    continue;
                }
            },
            (None, None) => Value::Null,
        };
        // The spec loads as a manifest's would: a spec the model refuses (a wrong type) is
        // an error naming the field before the generator runs.
        let spec = match eso_core::api::GeneratorSpec::parse("Password", spec) {
            Ok(spec) => spec,
            Err(err) => {
                assert!(expect_error, "{name}: unexpected load error {err}");
                assert!(
                    err.to_string().starts_with("spec"),
                    "{name}: error names a field: {err}"
                );
                checked += 1;
                continue;
            }
        };
        let ctx = GeneratorContext::new(&spec, "default", &cluster);

        if expect_error {
            let err = Password::new()
                .generate(&ctx)
                .await
                .expect_err(&format!("{name}: expected an error"));
            let msg = err.to_string();
            assert!(
                msg.starts_with("spec"),
                "{name}: error names a field: {msg}"
            );
            checked += 1;
            continue;
        }

        if let Some(v) = case.get("encodingVector") {
            let input = v["input"].as_str().expect("input");
            let expected = v["expected"].as_str().expect("expected");
            assert_eq!(
                base64::engine::general_purpose::URL_SAFE.encode(input),
                expected,
                "{name}: encoder vector"
            );
        }

        let encoding = checks["encoding"].as_str().expect("encoding");
        let keys: Vec<&str> = checks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k.as_str().expect("key"))
            .collect();
        for _ in 0..ROUNDS {
            let out = Password::new()
                .generate(&ctx)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(out.state.is_none(), "{name}: Password is stateless");
            assert_eq!(
                out.data.keys().map(String::as_str).collect::<Vec<_>>(),
                keys,
                "{name}: keys"
            );
            for key in &keys {
                let value = out.data[*key].expose();
                if let Some(n) = checks["encodedLength"].as_u64() {
                    assert_eq!(value.len(), n as usize, "{name}: encodedLength");
                }
                let raw = decode(encoding, value);
                let pw = String::from_utf8(raw).expect("password is UTF-8");
                check_password(name, &pw, checks);
            }
            if keys.len() > 1 {
                let distinct: BTreeSet<_> = keys.iter().map(|k| out.data[*k].expose()).collect();
                assert_eq!(distinct.len(), keys.len(), "{name}: independent passwords");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
}
