//! Every ExternalSecret, ClusterExternalSecret, PushSecret and ClusterPushSecret document of the
//! conformance manifests parses, validates and round-trips.

#![cfg(feature = "testing")]

use std::collections::BTreeMap;

use eso_core::api::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Documentation snippets that ESO itself rejects, with the path of our first error.
const ESO_REJECTS: [(&str, &str); 4] = [
    // `selector.secret.name` is an upper-case placeholder; the CRD pattern wants a DNS-1123
    // subdomain.
    ("github-push-secret.yaml", "spec.selector.secret.name"),
    (
        "ngrok-push-secret-with-metadata.yaml",
        "spec.selector.secret.name",
    ),
    ("ngrok-push-secret.yaml", "spec.selector.secret.name"),
    // Two `data[]` entries with `secretKey: password` under the default deletionPolicy
    // Retain: ESO's webhook refuses duplicate keys.
    ("volcengine-external-secrets.yaml", "spec.data[1].secretKey"),
];

fn expected_rejection(file: &str) -> Option<&'static str> {
    ESO_REJECTS
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, how)| *how)
}

/// `new` contains everything `orig` has (it may add CRD defaults); `null` in `orig` matches
/// an absent field. Go durations are compared by value (`1h` and `1h0m0s` are the same).
fn contained(orig: &Value, new: &Value, path: &str) -> Result<(), String> {
    match (orig, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                match n.get(k) {
                    Some(nv) => contained(v, nv, &format!("{path}.{k}"))?,
                    None if v.is_null() => {}
                    None => return Err(format!("{path}.{k} was dropped")),
                }
            }
            Ok(())
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => o
            .iter()
            .zip(n)
            .enumerate()
            .try_for_each(|(i, (a, b))| contained(a, b, &format!("{path}[{i}]"))),
        (a, b) if a == b => Ok(()),
        (Value::String(a), Value::String(b))
            if is_duration_field(path)
                && a.parse::<eso_core::GoDuration>().ok() == b.parse().ok() =>
        {
            Ok(())
        }
        (a, b) => Err(format!("{path}: {a} became {b}")),
    }
}

fn is_duration_field(path: &str) -> bool {
    path.ends_with(".refreshInterval")
        || path.ends_with(".refreshTime")
        || path.ends_with(".duration")
}

fn check<T>(file: &str, doc: &Value) -> Result<(), ValidationErrors>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug + Validate,
{
    let typed: T =
        serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{file}: parse: {e}"));
    let first = serde_json::to_value(&typed).unwrap();
    let again: T =
        serde_json::from_value(first.clone()).unwrap_or_else(|e| panic!("{file}: reparse: {e}"));
    assert_eq!(again, typed, "{file}: typed round-trip");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        first,
        "{file}: JSON round-trip"
    );
    if let Err(e) = contained(doc, &first, "") {
        panic!("{file}: {e}");
    }
    typed.validate()
}

#[test]
fn conformance_manifests_of_workload_kinds() {
    let Some(dir) = eso_core::testing::conformance_folder("manifests") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut counts = BTreeMap::<String, usize>::new();
    let mut v1beta1 = Vec::new();
    let mut invalid = Vec::new();
    let mut unserved = Vec::new();
    let mut rejected = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for doc in docs.into_iter().filter(Value::is_object) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let api_version = doc["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned();
            let result = match (api_version.as_str(), kind.as_str()) {
                ("external-secrets.io/v1", "ExternalSecret") => {
                    check::<ExternalSecret>(&file, &doc)
                }
                ("external-secrets.io/v1", "ClusterExternalSecret") => {
                    check::<ClusterExternalSecret>(&file, &doc)
                }
                ("external-secrets.io/v1alpha1", "PushSecret") => check::<PushSecret>(&file, &doc),
                ("external-secrets.io/v1alpha1", "ClusterPushSecret") => {
                    check::<ClusterPushSecret>(&file, &doc)
                }
                // The conversion is crate-private; the crate's own tests convert and check
                // this corpus's v1beta1 documents (api::v1beta1_external_secret::conformance).
                ("external-secrets.io/v1beta1", "ExternalSecret" | "ClusterExternalSecret") => {
                    v1beta1.push(file.clone());
                    continue;
                }
                // ESO v2.9.0 no longer has these versions at all (v1alpha1 ExternalSecrets were
                // removed before v1beta1 stopped being served).
                (
                    _,
                    "ExternalSecret" | "ClusterExternalSecret" | "PushSecret" | "ClusterPushSecret",
                ) => {
                    unserved.push(format!("{file}: {api_version} {kind}"));
                    continue;
                }
                _ => continue,
            };
            match (expected_rejection(&file), result) {
                (None, Ok(())) => {}
                (None, Err(e)) => invalid.push(format!("{file}: {kind} invalid: {e}")),
                (Some(how), Err(e)) => {
                    assert_eq!(e.errors()[0].path, how, "{file}: {e}");
                    rejected.push(file.clone());
                }
                (Some(_), Ok(())) => {
                    invalid.push(format!("{file}: ESO rejects it, but it validated"))
                }
            }
            *counts.entry(kind).or_default() += 1;
        }
    }
    eprintln!("checked: {counts:?}");
    assert!(invalid.is_empty(), "{}", invalid.join("\n"));
    assert_eq!(rejected.len(), ESO_REJECTS.len(), "{rejected:?}");
    assert_eq!(
        unserved,
        [
            "passworddepot-external-secret-json.yaml: external-secrets.io/v1alpha1 ExternalSecret",
            "passworddepot-external-secret.yaml: external-secrets.io/v1alpha1 ExternalSecret",
        ]
    );
    assert_eq!(v1beta1, ["getallsecrets-find-by-tags.yaml"]);
    assert_eq!(counts.get("ExternalSecret"), Some(&73), "{counts:?}");
    assert_eq!(counts.get("PushSecret"), Some(&28), "{counts:?}");
}
