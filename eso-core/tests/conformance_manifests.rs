//! Every manifest in ../shared/conformance/manifests loads, validates and round-trips.

#![cfg(feature = "testing")]

use eso_core::api::{Manifest, parse_documents};

/// Documents of ESO's docs that ESO itself rejects: they hold placeholders (`...`,
/// `[PROJECT_ID]`) or break a CRD or webhook rule. Each must fail with this field path.
/// Everything else must load, validate and round-trip.
pub const ESO_REJECTS: &[(&str, &str)] = &[
    ("full-cluster-secret-store.yaml", "spec.provider"),
    ("full-secret-store.yaml", "spec.provider"),
    (
        "gcpsm-sa-secret-store.yaml",
        "spec.provider.gcpsm.projectID",
    ),
    (
        "gcpsm-wif-core-controller-secret-store.yaml",
        "spec.provider.gcpsm.projectID",
    ),
    (
        "gcpsm-wif-iam-secret-store.yaml",
        "spec.provider.gcpsm.projectID",
    ),
    (
        "gcpsm-wif-non-native-iam-secret-store.yaml",
        "spec.provider.gcpsm.projectID",
    ),
    (
        "gcpsm-wif-sa-secret-store-with-explicit-name-and-location.yaml",
        "spec.provider.gcpsm.auth.workloadIdentity.clusterLocation",
    ),
    (
        "gcpsm-wif-sa-secret-store.yaml",
        "spec.provider.gcpsm.projectID",
    ),
    (
        "generator-gcr.yaml",
        "spec.auth.workloadIdentity.serviceAccountRef.name",
    ),
    ("github-push-secret.yaml", "spec.selector.secret.name"),
    (
        "ngrok-push-secret-with-metadata.yaml",
        "spec.selector.secret.name",
    ),
    ("ngrok-push-secret.yaml", "spec.selector.secret.name"),
    ("vault-mtls-store.yaml", "spec.provider.vault.auth"),
    ("volcengine-external-secrets.yaml", "spec.data[1].secretKey"),
];

/// Documents ESO's YAML reader (sigs.k8s.io/yaml on yaml.v2, as `kubectl` and `esoctl` read
/// manifests) refuses before any schema check, with the reason each must fail with.
pub const ESO_YAML_REJECTS: &[(&str, &str)] = &[(
    // `regexp: "^app1\/.+$"`: `\/` is not an escape in YAML 1.1
    "conjur-external-secret-find.yaml",
    "found unknown escape character",
)];

#[test]
fn all_conformance_manifests_load_validate_and_round_trip() {
    let Some(dir) = eso_core::testing::conformance_folder("manifests") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 192, "expected the 192 ESO manifests");
    let mut eso_docs = 0;
    let mut failures = Vec::new();
    let mut rejected = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (index, doc) in parse_documents(&text) {
            let where_ = format!("{}#{index}", file.file_name().unwrap().to_string_lossy());
            let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
            let yaml_rejection = ESO_YAML_REJECTS.iter().find(|(f, _)| *f == file_name);
            let doc = match (doc, yaml_rejection) {
                (Ok(d), None) => d,
                (Err(e), Some((_, want))) => {
                    assert!(e.to_string().contains(want), "{where_}: {e}");
                    eso_docs += 1;
                    continue;
                }
                (Ok(_), Some(_)) => {
                    failures.push(format!(
                        "{where_}: ESO's YAML reader refuses it but it loaded"
                    ));
                    continue;
                }
                (Err(e), None) => {
                    failures.push(format!("{where_}: {e}"));
                    continue;
                }
            };
            let expected_rejection = ESO_REJECTS.iter().find(|(f, _)| *f == file_name);
            let outcome = Manifest::from_value(doc.value.clone())
                .map_err(|e| (e.path.clone(), e.to_string()))
                .and_then(|m| match m.validate() {
                    Ok(()) => Ok(m),
                    Err(e) => Err((e.errors()[0].path.clone(), e.to_string())),
                });
            let manifest = match (outcome, expected_rejection) {
                (Ok(m), None) => m,
                (Err((path, msg)), Some((_, want))) => {
                    assert_eq!(path, *want, "{where_}: rejected at another path: {msg}");
                    rejected.push(file_name);
                    eso_docs += 1;
                    continue;
                }
                (Ok(_), Some(_)) => {
                    failures.push(format!("{where_}: ESO rejects this document but it passed"));
                    continue;
                }
                (Err((_, msg)), None) => {
                    failures.push(format!("{where_}: {msg}"));
                    continue;
                }
            };
            if !manifest.is_eso() {
                continue;
            }
            eso_docs += 1;
            let first = manifest.to_value().unwrap();
            let again = Manifest::from_value(first.clone()).unwrap();
            assert_eq!(again, manifest, "{where_}: typed round trip");
            assert_eq!(
                again.to_value().unwrap(),
                first,
                "{where_}: JSON round trip"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(eso_docs >= 192, "only {eso_docs} ESO documents found");
}
