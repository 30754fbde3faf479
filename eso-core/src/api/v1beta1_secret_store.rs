//! Conversion of `external-secrets.io/v1beta1` SecretStore / ClusterSecretStore manifests to
//! `v1`.
//!
//! ESO v2.9.0 no longer serves v1beta1, but GitOps repositories still hold such manifests. The
//! two versions share almost every field (ESO converted between them without any field
//! mapping); the differences that matter for a manifest are:
//!
//! - `apiVersion` changes to `external-secrets.io/v1`;
//! - `spec.refreshInterval` was an integer (seconds) and is int-or-string in v1: unchanged;
//! - the fake provider's deprecated `data[].valueMap` (a string map) is gone in v1; a map is
//!   written as a JSON object string in `value`, which is what the rewrite produces;
//! - the `alibaba` and `device42` providers were removed in v1: such a manifest cannot be
//!   converted and is reported as an error.

use serde_json::Value;

use super::FieldError;

const V1BETA1: &str = "external-secrets.io/v1beta1";
const V1: &str = "external-secrets.io/v1";

/// Providers that v1beta1 had and v1 dropped.
const REMOVED_PROVIDERS: [&str; 2] = ["alibaba", "device42"];

/// Converts one v1beta1 `SecretStore` or `ClusterSecretStore` document (as JSON) to v1.
///
/// Errors name the offending field: a document that is not a v1beta1 store, a removed provider,
/// or a fake entry that sets both `value` and `valueMap`.
// Called by the manifest loader; until that lands only the tests use it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn secret_store_v1beta1_to_v1(mut doc: Value) -> Result<Value, FieldError> {
    let Some(obj) = doc.as_object_mut() else {
        return Err(FieldError::new("", "document must be an object"));
    };
    let api_version = obj.get("apiVersion").and_then(Value::as_str).map(str::trim);
    if api_version != Some(V1BETA1) {
        return Err(FieldError::new("apiVersion", format!("expected {V1BETA1}")));
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some("SecretStore" | "ClusterSecretStore") => {}
        _ => {
            return Err(FieldError::new(
                "kind",
                "expected SecretStore or ClusterSecretStore",
            ));
        }
    }
    obj.insert("apiVersion".to_owned(), Value::String(V1.to_owned()));

    let Some(provider) = obj
        .get_mut("spec")
        .and_then(|s| s.get_mut("provider"))
        .and_then(Value::as_object_mut)
    else {
        return Ok(doc);
    };
    for removed in REMOVED_PROVIDERS {
        if provider.contains_key(removed) {
            return Err(FieldError::new(
                format!("spec.provider.{removed}"),
                format!("the {removed} provider was removed in {V1}"),
            ));
        }
    }
    let entries = provider
        .get_mut("fake")
        .and_then(|f| f.get_mut("data"))
        .and_then(Value::as_array_mut);
    for (i, entry) in entries.into_iter().flatten().enumerate() {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        let Some(map) = entry.remove("valueMap") else {
            continue;
        };
        let has_value = entry
            .get("value")
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty());
        if has_value {
            return Err(FieldError::new(
                format!("spec.provider.fake.data[{i}]"),
                "value and valueMap are both set; v1 only has value",
            ));
        }
        if !map.is_null() {
            if !map.is_object() {
                return Err(FieldError::new(
                    format!("spec.provider.fake.data[{i}].valueMap"),
                    "must be a map of strings",
                ));
            }
            let json = serde_json::to_string(&map).map_err(|e| {
                FieldError::new(
                    format!("spec.provider.fake.data[{i}].valueMap"),
                    e.to_string(),
                )
            })?;
            entry.insert("value".to_owned(), Value::String(json));
        }
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::{ClusterSecretStore, SecretStore, Validate};

    #[test]
    fn converts_api_version_and_parses() {
        let doc = json!({
            "apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore",
            "metadata": {"name": "vault", "namespace": "a"},
            "spec": {"refreshInterval": 60, "provider": {"vault": {"server": "https://v", "path": "secret",
                "version": "v2", "auth": {"tokenSecretRef": {"name": "t", "key": "token"}}}}}
        });
        let v1 = secret_store_v1beta1_to_v1(doc.clone()).unwrap();
        assert_eq!(v1["apiVersion"], "external-secrets.io/v1");
        let mut expected = doc;
        expected["apiVersion"] = json!("external-secrets.io/v1");
        assert_eq!(v1, expected);
        let store: SecretStore = serde_json::from_value(v1).unwrap();
        store.validate().unwrap();
    }

    #[test]
    fn value_map_becomes_json_value() {
        let doc = json!({
            "apiVersion": "external-secrets.io/v1beta1 ", "kind": "ClusterSecretStore", "metadata": {"name": "f"},
            "spec": {"provider": {"fake": {"data": [
                {"key": "/a", "value": "plain"},
                {"key": "/b", "valueMap": {"user": "u", "pass": "p"}, "version": "v1"}
            ]}}}
        });
        let v1 = secret_store_v1beta1_to_v1(doc).unwrap();
        let data = &v1["spec"]["provider"]["fake"]["data"];
        assert_eq!(data[0], json!({"key": "/a", "value": "plain"}));
        assert_eq!(
            data[1],
            json!({"key": "/b", "value": r#"{"pass":"p","user":"u"}"#, "version": "v1"})
        );
        let store: ClusterSecretStore = serde_json::from_value(v1).unwrap();
        store.validate().unwrap();
    }

    #[test]
    fn value_and_value_map_conflict() {
        let doc = json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore",
            "spec": {"provider": {"fake": {"data": [{"key": "k", "value": "v", "valueMap": {"a": "b"}}]}}}});
        let e = secret_store_v1beta1_to_v1(doc).unwrap_err();
        assert_eq!(e.path, "spec.provider.fake.data[0]");
    }

    #[test]
    fn removed_providers_rejected() {
        let doc = json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore",
            "spec": {"provider": {"alibaba": {"regionID": "cn"}}}});
        assert_eq!(
            secret_store_v1beta1_to_v1(doc).unwrap_err().path,
            "spec.provider.alibaba"
        );
    }

    #[test]
    fn wrong_documents_rejected() {
        assert_eq!(secret_store_v1beta1_to_v1(json!("x")).unwrap_err().path, "");
        let v1 = json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore"});
        assert_eq!(
            secret_store_v1beta1_to_v1(v1).unwrap_err().path,
            "apiVersion"
        );
        let es = json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "ExternalSecret"});
        assert_eq!(secret_store_v1beta1_to_v1(es).unwrap_err().path, "kind");
    }

    #[test]
    fn no_provider_is_left_to_validation() {
        let doc = json!({"apiVersion": "external-secrets.io/v1beta1", "kind": "SecretStore",
            "metadata": {"name": "x"}, "spec": {"provider": {}}});
        let v1 = secret_store_v1beta1_to_v1(doc).unwrap();
        let store: SecretStore = serde_json::from_value(v1).unwrap();
        assert!(store.validate().is_err());
    }
}
