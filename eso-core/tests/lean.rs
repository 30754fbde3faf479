//! `eso-core` without its default `template-crypto` feature: the engine still knows the
//! crypto functions (templates parse) and calling one is an error naming the feature; the
//! rest of the engine and `pem` work.
//!
//! Run with `cargo test -p eso-core --no-default-features`.
#![cfg(not(feature = "template-crypto"))]

use eso_core::pem;
use eso_core::template::{Template, Value};

fn data() -> Value {
    Value::string_map([("user".into(), Value::str("bob"))].into())
}

#[test]
fn crypto_functions_answer_a_clear_error() {
    for (src, name) in [
        ("{{ .user | pkcs12key }}", "pkcs12key"),
        ("{{ .user | sha256sum }}", "sha256sum"),
        ("{{ (genCA \"ca\" 1).Cert }}", "genCA"),
        ("{{ randAlphaNum 8 }}", "randAlphaNum"),
        ("{{ .user | bcrypt }}", "bcrypt"),
    ] {
        let t = Template::parse("t", src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let err = t.render(&data()).expect_err(src).message;
        let want = format!(
            "function \"{name}\" needs eso-core's template-crypto feature (compiled without it)"
        );
        assert!(err.ends_with(&want), "{src}: {err}");
    }
}

#[test]
fn the_rest_of_the_engine_works() {
    let src = "{{ .user | upper | b64enc }}|{{ dict \"a\" 1 | toJson }}|{{ \"k: yes\" | fromYaml | toJson }}";
    let t = Template::parse("t", src).unwrap_or_else(|e| panic!("{e}"));
    let out = t.render(&data()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(String::from_utf8_lossy(&out), "Qk9C|{\"a\":1}|{\"k\":true}");
}

#[test]
fn pem_filtering_needs_no_crypto() {
    let bundle = format!(
        "{}{}",
        pem::encode("PRIVATE KEY", b"key"),
        pem::encode("CERTIFICATE", b"cert")
    );
    let data = Value::string_map([("b".into(), Value::string(bundle))].into());
    let t = Template::parse("t", "{{ .b | filterPEM \"CERTIFICATE\" }}")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = t.render(&data).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        pem::encode("CERTIFICATE", b"cert")
    );
}
