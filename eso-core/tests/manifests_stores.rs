//! Every SecretStore, ClusterSecretStore, generator, ClusterGenerator and GeneratorState
//! document of the conformance manifests parses, validates and round-trips.

#![cfg(feature = "testing")]

use eso_core::api::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Documentation snippets that ESO's own CRD schema rejects, with how we reject them:
/// `(file, "parse" | error path)`.
const ESO_REJECTS: [(&str, &str); 10] = [
    // Skeletons listing several providers at once (`spec.provider` has maxProperties 1).
    ("full-cluster-secret-store.yaml", "spec.provider"),
    ("full-secret-store.yaml", "spec.provider"),
    // `projectID: [PROJECT_ID]` is a YAML list where the CRD wants a string.
    ("gcpsm-sa-secret-store.yaml", "parse"),
    ("gcpsm-wif-core-controller-secret-store.yaml", "parse"),
    ("gcpsm-wif-iam-secret-store.yaml", "parse"),
    ("gcpsm-wif-non-native-iam-secret-store.yaml", "parse"),
    (
        "gcpsm-wif-sa-secret-store-with-explicit-name-and-location.yaml",
        "parse",
    ),
    ("gcpsm-wif-sa-secret-store.yaml", "parse"),
    // `auth: ...` is a string where the CRD wants an object.
    ("vault-mtls-store.yaml", "parse"),
    // `serviceAccountRef.name: ""` (the CRD has minLength 1).
    (
        "generator-gcr.yaml",
        "spec.auth.workloadIdentity.serviceAccountRef.name",
    ),
];

/// Snippets carrying a field that ESO v2.9.0 does not have (the API server prunes it).
const STALE_FIELDS: [(&str, &str); 1] =
    [("generator-cloudsmith.yaml", ".spec.apiHost was dropped")];

fn expected_rejection(file: &str) -> Option<&'static str> {
    ESO_REJECTS
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, how)| *how)
}

/// `new` contains everything `orig` has (it may add CRD defaults); `null` in `orig` matches
/// an absent field.
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
        (a, b) => Err(format!("{path}: {a} became {b}")),
    }
}

fn check<T>(file: &str, doc: &Value) -> Result<(), ValidationErrors>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug + Validate,
{
    let typed: T = match serde_json::from_value(doc.clone()) {
        Ok(t) => t,
        Err(e) => {
            assert_eq!(
                expected_rejection(file),
                Some("parse"),
                "{file}: parse: {e}"
            );
            let mut errors = ValidationErrors::new();
            errors.push("parse", e.to_string());
            return Err(errors);
        }
    };
    let first = serde_json::to_value(&typed).unwrap();
    let again: T =
        serde_json::from_value(first.clone()).unwrap_or_else(|e| panic!("{file}: reparse: {e}"));
    assert_eq!(again, typed, "{file}: typed round-trip");
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        first,
        "{file}: JSON round-trip"
    );
    match contained(doc, &first, "") {
        Ok(()) => {}
        Err(e) if STALE_FIELDS.contains(&(file, e.as_str())) => {}
        Err(e) => panic!("{file}: {e}"),
    }
    typed.validate()
}

#[test]
fn conformance_manifests_of_store_and_generator_kinds() {
    let Some(dir) = eso_core::testing::conformance_folder("manifests") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut rejected = Vec::new();
    let mut unserved = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for doc in docs.into_iter().filter(|d| d.is_object()) {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let api_version = doc["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned();
            let is_store = kind == "SecretStore" || kind == "ClusterSecretStore";
            if is_store && api_version == "external-secrets.io/v1beta1" {
                panic!(
                    "{file}: v1beta1 store found; convert it with secret_store_v1beta1_to_v1 in this test"
                );
            }
            if is_store && api_version == "external-secrets.io/v1alpha1" {
                // ESO v2.9.0 serves stores only as v1 (v1alpha1 stores were removed).
                unserved.push(file.clone());
                continue;
            }
            let result = match (api_version.as_str(), kind.as_str()) {
                ("external-secrets.io/v1", "SecretStore") => check::<SecretStore>(&file, &doc),
                ("external-secrets.io/v1", "ClusterSecretStore") => {
                    check::<ClusterSecretStore>(&file, &doc)
                }
                (GENERATORS_API_VERSION, k) => match k {
                    "ACRAccessToken" => check::<ACRAccessToken>(&file, &doc),
                    "BeyondtrustWorkloadCredentialsDynamicSecret" => {
                        check::<BeyondtrustWorkloadCredentialsDynamicSecret>(&file, &doc)
                    }
                    "CloudsmithAccessToken" => check::<CloudsmithAccessToken>(&file, &doc),
                    "ClusterGenerator" => check::<ClusterGenerator>(&file, &doc),
                    "ECRAuthorizationToken" => check::<ECRAuthorizationToken>(&file, &doc),
                    "Fake" => check::<Fake>(&file, &doc),
                    "GCRAccessToken" => check::<GCRAccessToken>(&file, &doc),
                    "GeneratorState" => check::<GeneratorState>(&file, &doc),
                    "GithubAccessToken" => check::<GithubAccessToken>(&file, &doc),
                    "GitlabDeployToken" => check::<GitlabDeployToken>(&file, &doc),
                    "Grafana" => check::<Grafana>(&file, &doc),
                    "MFA" => check::<MFA>(&file, &doc),
                    "Password" => check::<Password>(&file, &doc),
                    "QuayAccessToken" => check::<QuayAccessToken>(&file, &doc),
                    "SSHKey" => check::<SSHKey>(&file, &doc),
                    "STSSessionToken" => check::<STSSessionToken>(&file, &doc),
                    "UUID" => check::<UUID>(&file, &doc),
                    "VaultDynamicSecret" => check::<VaultDynamicSecret>(&file, &doc),
                    "Webhook" => check::<Webhook>(&file, &doc),
                    other => panic!("{file}: unexpected generator kind {other}"),
                },
                _ => continue,
            };
            *counts.entry(kind.clone()).or_default() += 1;
            match (expected_rejection(&file), result) {
                (None, Ok(())) => {}
                (None, Err(e)) => panic!("{file}: {kind} invalid: {e}"),
                (Some(how), Err(e)) => {
                    rejected.push(file.clone());
                    assert_eq!(e.errors()[0].path, how, "{file}: {e}");
                }
                (Some(_), Ok(())) => panic!("{file}: expected ESO to reject it, but it validated"),
            }
        }
    }
    eprintln!("checked: {counts:?}");
    rejected.sort();
    rejected.dedup();
    assert_eq!(rejected.len(), ESO_REJECTS.len(), "{rejected:?}");
    assert_eq!(counts.get("SecretStore"), Some(&63));
    assert_eq!(counts.get("ClusterSecretStore"), Some(&6));
    assert_eq!(unserved, ["passworddepot-secret-store.yaml"]);
    assert_eq!(counts.get("Password"), Some(&6));
    assert_eq!(counts.values().sum::<usize>(), 93, "{counts:?}");
}
