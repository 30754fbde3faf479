//! Go durations (`refreshInterval: 1h30m`): parse, and a parsed value prints to a text
//! that parses back to the same value.
#![no_main]

use eso_core::GoDuration;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = text.parse::<GoDuration>() {
        let printed = d.to_string();
        let again: GoDuration = printed
            .parse()
            .unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
        assert_eq!(again, d, "{text:?} -> {printed:?}");
    }
});
