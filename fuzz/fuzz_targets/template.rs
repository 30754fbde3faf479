//! The template engine: parse a template, then execute it over secret data. The input is
//! the template, a NUL byte, then `key=value` lines of data. Limits (steps, output size,
//! nesting) must stop every hostile template with an error, never a panic or a hang.
#![no_main]

use eso_core::template::Template;
use eso_core::{SecretMap, SecretValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (src, rest) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(src) = std::str::from_utf8(src) else {
        return;
    };
    let mut map = SecretMap::new();
    for line in rest.split(|b| *b == b'\n') {
        let (k, v) = match line.iter().position(|b| *b == b'=') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, &[][..]),
        };
        map.insert(
            String::from_utf8_lossy(k).into_owned(),
            SecretValue::new(v.to_vec()),
        );
    }
    if let Ok(t) = Template::parse("fuzz", src) {
        let _ = t.render_secret_map(&map);
    }
});
