//! Conversion of `external-secrets.io/v1beta1` ExternalSecret and ClusterExternalSecret
//! manifests to `v1`.
//!
//! ESO v2.9.0 keeps the v1beta1 schema of both kinds in its CRDs but no longer serves it.
//! When it still did, the CRDs used conversion strategy `None`: the API server only rewrote
//! `apiVersion`, because no field was renamed, moved or retyped between the two versions. v1 is
//! a superset of v1beta1 (it adds `CreateOrMerge`, `nullBytePolicy`, `syncWindows`,
//! `target.manifest`, template finalizers, `valuesDecodingStrategy` and the `merge` rewrite),
//! so a v1beta1 document is a valid v1 document once `apiVersion` changes. The differences
//! that remain:
//!
//! - the v1beta1 schema defaulted `conversionStrategy: Default`, `decodingStrategy: None` and
//!   `metadataPolicy: None`; v1 has no such defaults but reads an unset value the same way, so
//!   nothing is filled in (the manifest keeps exactly what its author wrote);
//! - `templateFrom[].target` was an enum (`Data`, `Annotations`, `Labels`) and is a string in
//!   v1: every v1beta1 value stays valid;
//! - older v1beta1 manifests may still ask for `engineVersion: v1`; that engine is gone from
//!   ESO, so such a manifest is reported as an error instead of silently changing meaning.

use serde_json::Value;

use super::FieldError;

const V1BETA1: &str = "external-secrets.io/v1beta1";
const V1: &str = "external-secrets.io/v1";

fn check_header(doc: &mut Value, kind: &str) -> Result<(), FieldError> {
    let Some(obj) = doc.as_object_mut() else {
        return Err(FieldError::new("", "document must be an object"));
    };
    let api_version = obj.get("apiVersion").and_then(Value::as_str).map(str::trim);
    if api_version != Some(V1BETA1) {
        return Err(FieldError::new("apiVersion", format!("expected {V1BETA1}")));
    }
    if obj.get("kind").and_then(Value::as_str) != Some(kind) {
        return Err(FieldError::new("kind", format!("expected {kind}")));
    }
    obj.insert("apiVersion".to_owned(), Value::String(V1.to_owned()));
    Ok(())
}

/// Rejects the removed template engine in an ExternalSecret spec found at `path`.
fn convert_spec(spec: Option<&Value>, path: &str) -> Result<(), FieldError> {
    let engine = spec
        .and_then(|s| s.get("target"))
        .and_then(|t| t.get("template"))
        .and_then(|t| t.get("engineVersion"))
        .and_then(Value::as_str);
    if engine == Some("v1") {
        return Err(FieldError::new(
            format!("{path}.target.template.engineVersion"),
            "template engine v1 was removed from ESO; rewrite the templates for engine v2",
        ));
    }
    Ok(())
}

/// Converts one v1beta1 `ExternalSecret` document (as JSON) to v1.
///
/// Only `apiVersion` changes (see the module docs for why no field needs mapping). Errors
/// name the offending field: a document that is not a v1beta1 ExternalSecret, or one using
/// the removed template engine v1.
// Called by the manifest loader; until that lands only the tests use it.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn external_secret_v1beta1_to_v1(mut doc: Value) -> Result<Value, FieldError> {
    check_header(&mut doc, "ExternalSecret")?;
    convert_spec(doc.get("spec"), "spec")?;
    Ok(doc)
}

/// Converts one v1beta1 `ClusterExternalSecret` document (as JSON) to v1; like
/// [`external_secret_v1beta1_to_v1`], applied to `spec.externalSecretSpec`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn cluster_external_secret_v1beta1_to_v1(mut doc: Value) -> Result<Value, FieldError> {
    check_header(&mut doc, "ClusterExternalSecret")?;
    convert_spec(
        doc.get("spec").and_then(|s| s.get("externalSecretSpec")),
        "spec.externalSecretSpec",
    )?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::{ClusterExternalSecret, ExternalSecret, Validate};

    fn es_v1beta1() -> Value {
        json!({
            "apiVersion": "external-secrets.io/v1beta1",
            "kind": "ExternalSecret",
            "metadata": {"name": "find-by-tags", "namespace": "app"},
            "spec": {
                "refreshInterval": "1h0m0s",
                "secretStoreRef": {"name": "store", "kind": "SecretStore"},
                "target": {
                    "name": "out",
                    "template": {
                        "engineVersion": "v2",
                        "templateFrom": [{"target": "Annotations", "literal": "a: b"}]
                    }
                },
                "data": [{
                    "secretKey": "k",
                    "remoteRef": {
                        "key": "path",
                        "conversionStrategy": "Default",
                        "decodingStrategy": "None",
                        "metadataPolicy": "None"
                    }
                }],
                "dataFrom": [{"find": {"tags": {"env": "prod"}}}]
            }
        })
    }

    #[test]
    fn only_api_version_changes() {
        let orig = es_v1beta1();
        let v1 = external_secret_v1beta1_to_v1(orig.clone()).unwrap();
        assert_eq!(v1["apiVersion"], "external-secrets.io/v1");
        let mut expected = orig;
        expected["apiVersion"] = json!("external-secrets.io/v1");
        assert_eq!(v1, expected);
        let es: ExternalSecret = serde_json::from_value(v1).unwrap();
        assert!(es.validate().is_ok());
        assert_eq!(es.spec.data.unwrap()[0].remote_ref.key, "path");
    }

    #[test]
    fn api_version_with_stray_whitespace_is_accepted() {
        let mut doc = es_v1beta1();
        doc["apiVersion"] = json!("external-secrets.io/v1beta1 ");
        let v1 = external_secret_v1beta1_to_v1(doc).unwrap();
        assert_eq!(v1["apiVersion"], "external-secrets.io/v1");
    }

    #[test]
    fn rejects_other_documents() {
        let mut v1 = es_v1beta1();
        v1["apiVersion"] = json!("external-secrets.io/v1");
        assert_eq!(
            external_secret_v1beta1_to_v1(v1).unwrap_err().path,
            "apiVersion"
        );
        let mut store = es_v1beta1();
        store["kind"] = json!("SecretStore");
        assert_eq!(
            external_secret_v1beta1_to_v1(store).unwrap_err().path,
            "kind"
        );
        assert_eq!(
            external_secret_v1beta1_to_v1(json!([1])).unwrap_err().path,
            ""
        );
    }

    #[test]
    fn removed_template_engine_is_an_error() {
        let mut doc = es_v1beta1();
        doc["spec"]["target"]["template"]["engineVersion"] = json!("v1");
        let e = external_secret_v1beta1_to_v1(doc).unwrap_err();
        assert_eq!(e.path, "spec.target.template.engineVersion");
    }

    #[test]
    fn cluster_external_secret() {
        let doc = json!({
            "apiVersion": "external-secrets.io/v1beta1",
            "kind": "ClusterExternalSecret",
            "metadata": {"name": "shared"},
            "spec": {
                "namespaceSelector": {"matchLabels": {"a": "b"}},
                "refreshTime": "1m",
                "externalSecretSpec": es_v1beta1()["spec"].clone()
            }
        });
        let v1 = cluster_external_secret_v1beta1_to_v1(doc.clone()).unwrap();
        assert_eq!(v1["apiVersion"], "external-secrets.io/v1");
        assert_eq!(v1["spec"], doc["spec"]);
        let ces: ClusterExternalSecret = serde_json::from_value(v1).unwrap();
        assert!(ces.validate().is_ok());

        let mut old = doc;
        old["spec"]["externalSecretSpec"]["target"]["template"]["engineVersion"] = json!("v1");
        assert_eq!(
            cluster_external_secret_v1beta1_to_v1(old).unwrap_err().path,
            "spec.externalSecretSpec.target.template.engineVersion"
        );
        assert_eq!(
            cluster_external_secret_v1beta1_to_v1(es_v1beta1())
                .unwrap_err()
                .path,
            "kind"
        );
    }
}

/// The conformance corpus's v1beta1 ExternalSecret (the integration tests cannot reach this
/// crate-private conversion, so it is checked here).
#[cfg(test)]
mod conformance {
    use serde_json::Value;

    use super::external_secret_v1beta1_to_v1;
    use crate::api::{ExternalSecret, Validate};

    const FILE: &str = "manifests/getallsecrets-find-by-tags.yaml";

    #[test]
    fn v1beta1_manifest_converts_validates_and_round_trips() {
        let Some(text) = crate::testing::conformance_file(FILE) else {
            return;
        };
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        assert_eq!(docs.len(), 1);
        let v1 = external_secret_v1beta1_to_v1(docs[0].clone()).unwrap();
        let es: ExternalSecret = serde_json::from_value(v1.clone()).unwrap();
        es.validate().unwrap();
        let first = serde_json::to_value(&es).unwrap();
        let again: ExternalSecret = serde_json::from_value(first.clone()).unwrap();
        assert_eq!(again, es);
        assert_eq!(serde_json::to_value(&again).unwrap(), first);
        assert_eq!(first["spec"]["dataFrom"], v1["spec"]["dataFrom"]);
        assert_eq!(first["spec"]["target"]["name"], "secret-to-be-created");
    }
}
