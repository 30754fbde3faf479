//! The key strategies: key conversion (and its reverse), value decoding, and rewrites with
//! a regexp and a template taken from the input.
#![no_main]

use eso_core::api::{
    ExternalSecretConversionStrategy, ExternalSecretDecodingStrategy, ExternalSecretRewrite,
    PushSecretConversionStrategy,
};
use eso_core::strategy::{convert_key, decode, reverse_key, rewrite};
use eso_core::{SecretMap, SecretValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = convert_key(ExternalSecretConversionStrategy::Unicode, &text);
    let _ = convert_key(ExternalSecretConversionStrategy::Default, &text);
    let _ = reverse_key(PushSecretConversionStrategy::ReverseUnicode, &text);
    for s in ["Base64", "Base64URL", "Auto", "None"] {
        if let Ok(strategy) = s.parse::<ExternalSecretDecodingStrategy>() {
            let _ = decode(strategy, data);
        }
    }
    // A rewrite: the first line is the regexp source, the second its target, the rest keys.
    let mut lines = text.lines();
    let (Some(source), Some(target)) = (lines.next(), lines.next()) else {
        return;
    };
    let ops: Vec<ExternalSecretRewrite> = serde_json::from_value(serde_json::json!([
        {"regexp": {"source": source, "target": target}},
        {"transform": {"template": format!("{{{{ .value | {target} }}}}")}},
    ]))
    .unwrap_or_default();
    let mut map = SecretMap::new();
    for key in lines {
        map.insert(key.to_owned(), SecretValue::new(b"v".to_vec()));
    }
    for op in &ops {
        let _ = rewrite(std::slice::from_ref(op), map.clone());
    }
});
