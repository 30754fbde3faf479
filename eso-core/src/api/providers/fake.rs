//! `spec.provider.fake`: static key/value data (ESO's test provider).

use serde::{Deserialize, Serialize};

use crate::api::validation::ValidationErrors;

/// Fake provider configuration: a fixed list of secrets.
///
/// ESO v1 has no `valueMap` any more (v1beta1 had it, deprecated): a map is written as a JSON
/// object in `value`. The v1beta1 conversion does that rewrite.
///
/// # Example
///
/// ```
/// use eso_core::api::FakeProvider;
///
/// let f: FakeProvider = serde_json::from_str(
///     r#"{"data":[{"key":"/foo/bar","value":"HELLO1","version":"v1"},{"key":"/foo/baz","value":"{\"john\":\"doe\"}"}]}"#,
/// ).unwrap();
/// assert_eq!(f.data.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FakeProvider {
    /// The secrets.
    pub data: Vec<FakeProviderData>,
    /// Result the store's validation reports: 0 ready, 1 unknown, 2 error (test hook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_result: Option<u8>,
}

/// One fake secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct FakeProviderData {
    /// Remote key.
    pub key: String,
    /// The value (a JSON object string for map reads).
    pub value: String,
    /// Version; a ref with this version reads this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl FakeProvider {
    /// Applies ESO's admission rules for a fake block at `path`: every entry needs a key and
    /// a value.
    pub fn validate_store(&self, path: &str, errors: &mut ValidationErrors) {
        for (i, d) in self.data.iter().enumerate() {
            if d.key.is_empty() {
                errors.push(format!("{path}.data[{i}].key"), "is required");
            }
            if d.value.is_empty() {
                errors.push(format!("{path}.data[{i}].value"), "is required");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::paths;
    use super::*;

    #[test]
    fn key_and_value_required() {
        let f: FakeProvider = serde_json::from_value(
            serde_json::json!({"data": [{"key": "", "value": ""}, {"key": "a", "value": "b"}]}),
        )
        .unwrap();
        let mut e = ValidationErrors::new();
        f.validate_store("spec.provider.fake", &mut e);
        assert_eq!(
            paths(&e),
            [
                "spec.provider.fake.data[0].key",
                "spec.provider.fake.data[0].value"
            ]
        );
    }

    #[test]
    fn data_and_value_required_by_schema() {
        assert!(serde_json::from_value::<FakeProvider>(serde_json::json!({})).is_err());
        assert!(
            serde_json::from_value::<FakeProvider>(serde_json::json!({"data": [{"key": "a"}]}))
                .is_err()
        );
    }
}
