//! The template functions that parse secret material by hand (PEM, PKCS#12, JWK, JSON,
//! YAML, base64, certificates) over arbitrary bytes: errors, never panics.
#![no_main]

use std::sync::OnceLock;

use eso_core::template::Template;
use eso_core::{SecretMap, SecretValue};
use libfuzzer_sys::fuzz_target;

const CALLS: &[&str] = &[
    "{{ .d | pkcs12key }}",
    "{{ .d | pkcs12cert }}",
    "{{ .d | pkcs12keyPass .p }}",
    "{{ .d | pkcs12certPass .p }}",
    "{{ .d | filterPEM \"CERTIFICATE\" }}",
    "{{ .d | filterPEM \"PRIVATE KEY\" }}",
    "{{ .d | filterCertChain \"leaf\" }}",
    "{{ .d | filterCertChain \"root\" }}",
    "{{ .d | filterCertChain \"intermediate\" }}",
    "{{ .d | jwkPublicKeyPem }}",
    "{{ .d | jwkPrivateKeyPem }}",
    "{{ pemToPkcs12 .d .d }}",
    "{{ fullPemToPkcs12 .d }}",
    "{{ .d | fromJson | toJson }}",
    "{{ .d | fromYaml | toYaml }}",
    "{{ .d | b64dec }}",
    "{{ .d | b32dec }}",
    "{{ .d | rsaDecrypt \"RSA-OAEP\" \"SHA256\" .p }}",
    "{{ .d | getSecretKey \"k\" }}",
    "{{ (.d | fromJson).a.b }}",
];

fn templates() -> &'static [Template] {
    static T: OnceLock<Vec<Template>> = OnceLock::new();
    T.get_or_init(|| {
        CALLS
            .iter()
            .filter_map(|src| Template::parse("fuzz", src).ok())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, data)) = data.split_first() else {
        return;
    };
    let (d, p) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let mut map = SecretMap::new();
    map.insert("d".into(), SecretValue::new(d.to_vec()));
    map.insert("p".into(), SecretValue::new(p.to_vec()));
    let ts = templates();
    if let Some(t) = ts.get(usize::from(pick) % ts.len().max(1)) {
        let _ = t.render_secret_map(&map);
    }
});
