//! A kubeconfig from a Secret (`authRef`), read the way the Kubernetes provider reads it:
//! errors name a line and column and never quote the input.
#![no_main]

use kube::config::Kubeconfig;
use libfuzzer_sys::fuzz_target;

const CANARY: &str = "kc-c4n4ry";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains(CANARY) {
        return;
    }
    // The canary goes after the first ':' so it lands in a value.
    let planted = match text.find(':') {
        Some(i) => format!("{}: {CANARY}{}", &text[..i], &text[i + 1..]),
        None => format!("{text}{CANARY}"),
    };
    if let Err(e) = eso_core::api::parse_yaml::<Kubeconfig>(&planted) {
        assert!(!e.to_string().contains(CANARY), "leaked: {e}");
    }
});
