//! Inputs the fuzzers (`fuzz/`, `scripts/fuzz.sh`) found to break something, kept so the
//! fix stays. Each test names the target and what went wrong.

use eso_core::template::Template;
use eso_core::{SecretMap, SecretValue};

fn render(src: &str, keys: &[&str]) -> String {
    let data: SecretMap = keys
        .iter()
        .map(|k| ((*k).to_owned(), SecretValue::new(b"v".to_vec())))
        .collect();
    let out = Template::parse("t", src)
        .unwrap()
        .render_secret_map(&data)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// `template`, 1.4 million runs into the first long run: `toYaml` over keys whose yaml.v2
/// order has a cycle (`005` < `00i` < `3` < `005`) panicked in the standard library's sort
/// ("user-provided comparison function does not correctly implement a total order").
#[test]
fn to_yaml_with_keys_in_no_total_order() {
    // The fuzzer's input, minimized: the data keys of its map.
    let keys = [
        "a", "n", "fF", "j", "\u{1}", "005\0", "07", "3", "0", "d", "8", "", ",}", "000", "00080",
        "\u{fffd}", "0\"", ",", "i", "00i", "00",
    ];
    let out = render("{{ $ | toYaml }}", &keys);
    assert_eq!(out.lines().count(), keys.len(), "{out}");
    // The smallest cycle, alone and among other keys: no panic, every key once.
    for keys in [
        &["005", "00i", "3"][..],
        &[
            "x", "005", "00i", "3", "b", "7", "0b", "10", "2", "a1", "a01", "a001", "z",
        ][..],
    ] {
        let out = render("{{ . | toYaml }}", keys);
        for k in keys {
            let plain = format!("{k}: v");
            let quoted = format!("\"{k}\": v");
            assert!(
                out.lines().any(|l| l == plain || l == quoted),
                "{k} missing from {out}"
            );
        }
    }
}

/// Keys that are totally ordered keep yaml.v2's order (letters after digits, digit runs
/// compared as numbers; checked against yaml.v2 itself), as the template conformance cases
/// check at length. sprig trims the last newline.
#[test]
fn to_yaml_key_order_is_yaml_v2_order_when_total() {
    let out = render("{{ . | toYaml }}", &["b", "10", "a", "9", "a10", "a9"]);
    assert_eq!(out, "\"9\": v\n\"10\": v\na: v\na9: v\na10: v\nb: v");
}
