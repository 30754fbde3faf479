//! `esoctl validate` end to end: the conformance manifests pass; crafted bad input fails with
//! the field path, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn esoctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(args)
        .output()
        .expect("run esoctl")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("esoctl-validate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const ES_HEAD: &str = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: bad\nspec:\n  secretStoreRef:\n    name: s\n";

fn check_rejected(dir: &Path, file: &str, content: &[u8], expect: &[&str]) {
    let path = dir.join(file);
    std::fs::write(&path, content).unwrap();
    let out = esoctl(&["validate", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{file}: stdout={stdout} stderr={stderr}"
    );
    assert!(!stderr.contains("panicked"), "{file} panicked: {stderr}");
    assert_eq!(
        stdout.lines().count(),
        1,
        "{file}: one line per invalid document: {stdout}"
    );
    for e in expect {
        assert!(stdout.contains(e), "{file}: expected {e:?} in {stdout}");
    }
}

/// The documents of ESO's docs that ESO itself rejects (placeholders such as `...` or
/// `[PROJECT_ID]`, several providers in one store, a `\/` escape its YAML reader refuses, ...);
/// see eso-core's conformance test.
const ESO_REJECTS: usize = 15;

#[test]
fn accepts_the_conformance_manifests_that_eso_accepts() {
    let Some(dir) = eso_core::testing::conformance_folder("manifests") else {
        return;
    };
    let out = esoctl(&["validate", "-o", "json", dir.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"], 192);
    assert_eq!(report["invalid"], ESO_REJECTS, "{report:#}");
    assert!(report["eso_documents"].as_u64().unwrap() >= 192);
    assert_eq!(out.status.code(), Some(1));
    // Every other file passes on its own: copy them and validate the copy.
    let copy = scratch("accepted");
    let invalid: Vec<String> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["valid"] == false)
        .map(|r| r["file"].as_str().unwrap().to_owned())
        .collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !invalid.contains(&path.display().to_string()) {
            std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
    }
    let out = esoctl(&["validate", copy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "stdout={} stderr={}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = esoctl(&["validate", dir.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&text.stdout).lines().count(),
        ESO_REJECTS
    );
    let _ = std::fs::remove_dir_all(&copy);
}

#[test]
fn rejects_crafted_bad_input_with_field_paths() {
    let dir = scratch("bad");
    check_rejected(
        &dir,
        "enum.yaml",
        format!("{ES_HEAD}  target:\n    creationPolicy: Sometimes\n").as_bytes(),
        &[
            "document 0",
            "ExternalSecret/bad",
            "spec.target.creationPolicy",
            "Sometimes",
        ],
    );
    check_rejected(
        &dir,
        "missing.yaml",
        format!("{ES_HEAD}  data:\n    - remoteRef:\n        key: k\n").as_bytes(),
        &["spec.data[0]", "secretKey"],
    );
    check_rejected(
        &dir,
        "type.yaml",
        format!("{ES_HEAD}  data: \"not a list\"\n").as_bytes(),
        &["spec.data", "invalid type"],
    );
    check_rejected(
        &dir,
        "exclusive.yaml",
        format!(
            "{ES_HEAD}  dataFrom:\n    - extract:\n        key: a\n    - extract:\n        key: b\n      find:\n        name:\n          regexp: x\n"
        )
        .as_bytes(),
        &["spec.dataFrom[1]", "exclusive"],
    );
    check_rejected(
        &dir,
        "duration.yaml",
        format!("{ES_HEAD}  refreshInterval: 1d\n").as_bytes(),
        &["spec.refreshInterval", "1d"],
    );
    check_rejected(
        &dir,
        "regexp.yaml",
        format!("{ES_HEAD}  dataFrom:\n    - find:\n        name:\n          regexp: \"([a-z\"\n")
            .as_bytes(),
        &["spec.dataFrom[0].find.name.regexp", "regular expression"],
    );
    check_rejected(
        &dir,
        "garbage.yaml",
        b"key: [unclosed\n  - : :\n\t{",
        &["document 0", "invalid YAML"],
    );
    check_rejected(
        &dir,
        "binary.yaml",
        &[0xff, 0xfe, 0x00, 0x12, 0x80],
        &["UTF-8"],
    );
    let big = format!(
        "{ES_HEAD}  target:\n    name: \"{}\"\n",
        "x".repeat(10 * 1024 * 1024)
    );
    check_rejected(&dir, "big.yaml", big.as_bytes(), &["bytes"]);
    let deep = format!(
        "{ES_HEAD}  target: {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    check_rejected(&dir, "deep.yaml", deep.as_bytes(), &["document 0"]);
    let mut deep_block = String::from(ES_HEAD);
    for i in 0..5000 {
        deep_block.push_str(&format!("{}k{i}:\n", " ".repeat(i + 2)));
    }
    check_rejected(
        &dir,
        "deep-block.yaml",
        deep_block.as_bytes(),
        &["document 0"],
    );
    check_rejected(
        &dir,
        "version.yaml",
        b"apiVersion: external-secrets.io/v7\nkind: ExternalSecret\nmetadata: {name: x}\nspec: {}\n",
        &["apiVersion"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn multi_document_files_report_the_bad_document_only() {
    let dir = scratch("multi");
    let good = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: fake}\nspec:\n  provider:\n    fake:\n      data: [{key: k, value: v}]\n";
    let other =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n";
    let bad = format!("{ES_HEAD}  refreshInterval: forever\n");
    let path = dir.join("multi.yaml");
    std::fs::write(&path, format!("{good}---\n{other}---\n{bad}")).unwrap();
    let out = esoctl(&["validate", "-o", "json", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["documents"], 3);
    assert_eq!(report["eso_documents"], 2);
    assert_eq!(report["invalid"], 1);
    let bad = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["valid"] == false)
        .unwrap();
    assert_eq!(bad["document"], 2);
    assert_eq!(bad["kind"], "ExternalSecret");
    assert_eq!(bad["errors"][0]["path"], "spec.refreshInterval");
    // Only the valid part: exit 0.
    std::fs::write(&path, format!("{good}---\n{other}")).unwrap();
    assert!(
        esoctl(&["validate", path.to_str().unwrap()])
            .status
            .success()
    );
    // A missing path is an error, not a panic.
    let out = esoctl(&["validate", dir.join("nope.yaml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn crd_prints_every_kind() {
    let out = esoctl(&["crd", "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crds: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = crds
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    for want in [
        "externalsecrets.external-secrets.io",
        "clusterexternalsecrets.external-secrets.io",
        "pushsecrets.external-secrets.io",
        "clusterpushsecrets.external-secrets.io",
        "secretstores.external-secrets.io",
        "clustersecretstores.external-secrets.io",
        "passwords.generators.external-secrets.io",
        "clustergenerators.generators.external-secrets.io",
        "generatorstates.generators.external-secrets.io",
    ] {
        assert!(names.contains(&want), "missing CRD {want}: {names:?}");
    }
    let out = esoctl(&["crd"]);
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(yaml.contains("kind: CustomResourceDefinition"));
}
