//! The hashes ESO writes into labels and annotations, reproduced byte for byte.
//!
//! ESO hashes with `ObjectHash`: the lowercase hex SHA3-224 digest of Go's
//! `fmt.Sprintf("%+v", x)`. For a Secret's `data` (a Go `map[string][]byte`) that text is
//! `map[k1:[b1 b2 ...] k2:[...]]`: keys in sorted byte order, each byte as a decimal number.
//! Computing the same digest means a Secret written by ESO is recognised as up to date by
//! eso-rs, so a migration does not rewrite every Secret once.

use std::fmt::Write as _;

use sha3::{Digest, Sha3_224};

use crate::SecretMap;

/// Lowercase hex SHA3-224 of `bytes`.
pub(crate) fn sha3_224_hex(bytes: &[u8]) -> String {
    let digest = Sha3_224::digest(bytes);
    let mut out = String::with_capacity(56);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The `reconcile.external-secrets.io/data-hash` annotation value for Secret data.
///
/// # Example
///
/// ```
/// use eso_core::SecretMap;
/// use eso_core::reconcile::data_hash;
///
/// let mut data = SecretMap::new();
/// data.insert("foo".into(), "bar".into());
/// assert_eq!(data_hash(&data), "f2a604b87eb0cf673761e8cfea850f901fe73a3d1b2f338802107f36");
/// ```
pub fn data_hash(data: &SecretMap) -> String {
    let mut hasher = Sha3_224::new();
    hasher.update(b"map[");
    let mut num = String::with_capacity(4);
    for (i, (k, v)) in data.iter().enumerate() {
        if i > 0 {
            hasher.update(b" ");
        }
        hasher.update(k.as_bytes());
        hasher.update(b":[");
        for (j, b) in v.expose().iter().enumerate() {
            num.clear();
            if j > 0 {
                num.push(' ');
            }
            let _ = write!(num, "{b}");
            hasher.update(num.as_bytes());
        }
        hasher.update(b"]");
    }
    hasher.update(b"]");
    let mut out = String::with_capacity(56);
    for b in hasher.finalize() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// ESO's hash of a plain string (Go `%+v` of a string is the string itself), used for the
/// `created-by` label (`"<namespace>/<name>"`) and long field-manager names.
pub fn string_hash(s: &str) -> String {
    sha3_224_hex(s.as_bytes())
}

/// ESO's hash of an object's labels and annotations (Go `%+v` of a struct holding both
/// maps: `{annotations:map[k:v ...] labels:map[...]}`), used in `syncedResourceVersion`.
pub(crate) fn meta_hash(
    labels: &std::collections::BTreeMap<String, String>,
    annotations: &std::collections::BTreeMap<String, String>,
) -> String {
    fn write_map(out: &mut String, m: &std::collections::BTreeMap<String, String>) {
        out.push_str("map[");
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(k);
            out.push(':');
            out.push_str(v);
        }
        out.push(']');
    }
    let mut text = String::from("{annotations:");
    write_map(&mut text, annotations);
    text.push_str(" labels:");
    write_map(&mut text, labels);
    text.push('}');
    sha3_224_hex(text.as_bytes())
}

/// ESO's `syncedResourceVersion`: `"<generation>-<meta_hash>"`.
pub(crate) fn resource_version(
    generation: i64,
    labels: &std::collections::BTreeMap<String, String>,
    annotations: &std::collections::BTreeMap<String, String>,
) -> String {
    format!("{generation}-{}", meta_hash(labels, annotations))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    /// A vector derived here with Go 1.26 from ESO's formula: `fmt.Sprintf("%+v", data)` of a
    /// `map[string][]byte`, hashed with the standard library's `crypto/sha3.Sum224`. It covers
    /// what the shared vectors do not: bytes 0 and 255, non-ASCII keys and values, keys that
    /// sort before letters, and an empty value.
    #[test]
    fn matches_a_vector_computed_with_go() {
        let mut data = SecretMap::new();
        data.insert("tls.key".into(), "-----BEGIN KEY-----\nAA==\n".into());
        data.insert(
            ".dockerconfigjson".into(),
            r#"{"auths":{"r.io":{"auth":"dTpw"}}}"#.into(),
        );
        data.insert("binary".into(), vec![0u8, 1, 127, 128, 255].into());
        data.insert("ünïcode".into(), "välue".into());
        data.insert("empty".into(), Vec::<u8>::new().into());
        assert_eq!(
            data_hash(&data),
            "a1029adafc0b4584f34b4e5d8665fa97b31b22fc52dfc4b77a54eb4e"
        );
    }

    #[test]
    fn meta_hash_of_empty_maps() {
        let none = std::collections::BTreeMap::new();
        assert_eq!(
            meta_hash(&none, &none),
            sha3_224_hex(b"{annotations:map[] labels:map[]}")
        );
    }

    #[test]
    fn matches_eso_test_vectors() {
        let Some(text) = crate::testing::conformance_file("data-hash.json") else {
            return;
        };
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let mut data = SecretMap::new();
            for (k, v) in case["data_base64"].as_object().unwrap() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap())
                    .unwrap();
                data.insert(k.clone(), bytes.into());
            }
            assert_eq!(
                sha3_224_hex(case["go_formatted"].as_str().unwrap().as_bytes()),
                case["data_hash"].as_str().unwrap()
            );
            assert_eq!(
                data_hash(&data),
                case["data_hash"].as_str().unwrap(),
                "{case}"
            );
        }
    }
}
