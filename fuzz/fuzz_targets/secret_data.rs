//! Inputs that carry secret values (a Secret manifest, a data file, a provider's JSON
//! answer) with a canary planted at a position the fuzzer picks: whatever error the
//! loaders give, the canary is never in it.
#![no_main]

use eso_core::api::{Manifest, parse_documents, parse_json, parse_yaml};
use libfuzzer_sys::fuzz_target;

const CANARY: &str = "zq-c4n4ry-9";

fn check(what: &str, err: &str) {
    assert!(!err.contains(CANARY), "{what} leaked: {err}");
    assert!(!err.contains("c4n4ry"), "{what} leaked part: {err}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&at, data)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains("c4n4ry") {
        return;
    }
    let mut cut = usize::from(at) % (text.len() + 1);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let planted = format!("{}{CANARY}{}", &text[..cut], &text[cut..]);
    if let Err(e) = parse_yaml::<serde_json::Value>(&planted) {
        check("parse_yaml", &e.to_string());
    }
    if let Err(e) = parse_yaml::<std::collections::BTreeMap<String, Vec<u8>>>(&planted) {
        check("parse_yaml typed", &e.to_string());
    }
    if let Err(e) = parse_json::<std::collections::BTreeMap<String, String>>(planted.as_bytes()) {
        check("parse_json", &e.to_string());
    }
    for (_, doc) in parse_documents(&planted) {
        match doc {
            Err(e) => check("parse_documents", &e.to_string()),
            // ESO's kinds hold references to secrets, not values: their typed errors keep
            // the offending value on purpose; only the YAML layer is checked here.
            Ok(doc) => {
                let _ = Manifest::from_value(doc.value);
            }
        }
    }
});
