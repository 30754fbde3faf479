//! The manifest loader: a multi-document YAML stream into the typed model, then validation.
//! Every input must give documents or errors; nothing may panic or hang.
#![no_main]

use eso_core::api::{Manifest, parse_documents};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (_, doc) in parse_documents(&text) {
        let Ok(doc) = doc else { continue };
        if let Ok(m) = Manifest::from_value(doc.value) {
            let _ = m.validate();
        }
    }
});
