//! `esoctl reconcile --state`: several runs over changing manifests, checking rotation,
//! `updatePolicy: IfNotExists`, deletion policies and error reporting across runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("esoctl-reconcile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn manifests(&self) -> PathBuf {
        self.0.join("manifests.yaml")
    }
    fn state(&self) -> PathBuf {
        self.0.join("state")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn esoctl_reconcile(dir: &Dir, yaml: &str, now: &str) -> Output {
    std::fs::write(dir.manifests(), yaml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(["reconcile", "-f"])
        .arg(dir.manifests())
        .arg("--state")
        .arg(dir.state())
        .args(["--now", now, "-o", "json"])
        .output()
        .unwrap()
}

/// Runs and expects success; returns the printed list items.
fn ok(dir: &Dir, yaml: &str, now: &str) -> Vec<Value> {
    let out = esoctl_reconcile(dir, yaml, now);
    assert!(
        out.status.success(),
        "esoctl reconcile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    list["items"].as_array().unwrap().clone()
}

fn item<'a>(items: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
}

fn secret_value(items: &[Value], name: &str, key: &str) -> Option<String> {
    let s = item(items, "Secret", name)?;
    let b = B64.decode(s["data"][key].as_str()?).unwrap();
    Some(String::from_utf8(b).unwrap())
}

/// The current value of `key` in an in-memory store, from the state file.
fn remote(dir: &Dir, store: &str, key: &str) -> Option<String> {
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.state().join("state.json")).unwrap())
            .unwrap();
    let secrets = state["stores"][store]["secrets"].as_array()?;
    let s = secrets.iter().find(|s| s["key"] == key)?;
    let last = s["versions"].as_array()?.last()?;
    let b = B64.decode(last["value"].as_str()?).unwrap();
    Some(String::from_utf8(b).unwrap())
}

fn ready(items: &[Value], kind: &str, name: &str) -> (String, String) {
    let c = &item(items, kind, name).unwrap()["status"]["conditions"][0];
    (
        c["status"].as_str().unwrap_or_default().to_owned(),
        c["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

const ROTATION: &str = r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Password
metadata: {name: pw, namespace: team}
spec: {length: 24, digits: 4, symbols: 0, noUpper: false, allowRepeat: true}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: team}
spec: {provider: {fake: {data: []}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: rotate, namespace: team}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: vault}]
  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}
  data:
    - match: {secretKey: password, remoteRef: {remoteKey: app/db, property: password}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app-db, namespace: team}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault}
  target: {name: app-db}
  data:
    - secretKey: password
      remoteRef: {key: app/db, property: password}
"#;

#[test]
fn rotation_happens_when_the_refresh_interval_elapses() {
    let dir = Dir::new("rotation");
    let items = ok(&dir, ROTATION, "2026-01-01T00:00:00Z");
    let p1 = secret_value(&items, "app-db", "password").unwrap();
    assert_eq!(p1.len(), 24);
    assert_eq!(
        remote(&dir, "SecretStore/team/vault", "app/db").unwrap(),
        format!(r#"{{"password":"{p1}"}}"#)
    );
    assert_eq!(
        ready(&items, "PushSecret", "rotate"),
        ("True".into(), "Synced".into())
    );
    assert_eq!(
        ready(&items, "ExternalSecret", "app-db"),
        ("True".into(), "SecretSynced".into())
    );

    // Ten minutes later nothing is due: same password everywhere.
    let items = ok(&dir, ROTATION, "2026-01-01T00:10:00Z");
    assert_eq!(secret_value(&items, "app-db", "password").unwrap(), p1);

    // Two hours later the PushSecret generates and pushes a new password, and the
    // ExternalSecret (also due) pulls it in the same run.
    let items = ok(&dir, ROTATION, "2026-01-01T02:00:00Z");
    let p2 = secret_value(&items, "app-db", "password").unwrap();
    assert_ne!(p1, p2);
    assert_eq!(
        remote(&dir, "SecretStore/team/vault", "app/db").unwrap(),
        format!(r#"{{"password":"{p2}"}}"#)
    );
}

fn push_manifests(source_b: &str, with_b_entry: bool, with_push: bool) -> String {
    let mut y = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: src, namespace: team}}
stringData: {{a: "mine-a", b: "{source_b}"}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: vault, namespace: team}}
spec:
  provider:
    fake:
      data:
        - {{key: preexisting, value: theirs}}
"#
    );
    if with_push {
        y.push_str(
            r#"---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push, namespace: team}
spec:
  refreshInterval: 1m
  updatePolicy: IfNotExists
  deletionPolicy: Delete
  secretStoreRefs: [{name: vault}]
  selector: {secret: {name: src}}
  data:
    - match: {secretKey: a, remoteRef: {remoteKey: preexisting}}
"#,
        );
        if with_b_entry {
            y.push_str("    - match: {secretKey: b, remoteRef: {remoteKey: mine-b}}\n");
        }
    }
    y
}

#[test]
fn if_not_exists_and_deletion_policy_across_runs() {
    let dir = Dir::new("ifnotexists");
    let store = "SecretStore/team/vault";

    // Run 1: `preexisting` belongs to someone else and is left alone; `mine-b` is written.
    let items = ok(
        &dir,
        &push_manifests("b1", true, true),
        "2026-01-01T00:00:00Z",
    );
    assert_eq!(
        remote(&dir, store, "preexisting").as_deref(),
        Some("theirs")
    );
    assert_eq!(remote(&dir, store, "mine-b").as_deref(), Some("b1"));
    let synced = &item(&items, "PushSecret", "push").unwrap()["status"]["syncedPushSecrets"]["SecretStore/vault"];
    assert!(synced.get("mine-b").is_some());
    assert!(
        synced.get("preexisting").is_none(),
        "an entry skipped by IfNotExists must not be recorded as ours"
    );

    // Run 2: the source changes, but IfNotExists keeps the existing remote value.
    ok(
        &dir,
        &push_manifests("b2", true, true),
        "2026-01-01T00:05:00Z",
    );
    assert_eq!(remote(&dir, store, "mine-b").as_deref(), Some("b1"));
    assert_eq!(
        remote(&dir, store, "preexisting").as_deref(),
        Some("theirs")
    );

    // Run 3: entry `b` leaves the spec: with deletionPolicy Delete its remote secret goes.
    let items = ok(
        &dir,
        &push_manifests("b2", false, true),
        "2026-01-01T00:10:00Z",
    );
    assert_eq!(remote(&dir, store, "mine-b"), None);
    assert_eq!(
        remote(&dir, store, "preexisting").as_deref(),
        Some("theirs")
    );
    assert_eq!(
        ready(&items, "PushSecret", "push"),
        ("True".into(), "Synced".into())
    );

    // Run 4: the PushSecret is deleted: what it never wrote survives (ESO would delete it).
    let items = ok(
        &dir,
        &push_manifests("b2", false, false),
        "2026-01-01T00:15:00Z",
    );
    assert!(item(&items, "PushSecret", "push").is_none());
    assert_eq!(
        remote(&dir, store, "preexisting").as_deref(),
        Some("theirs")
    );
    // The source Secret is still applied from the manifests.
    assert_eq!(secret_value(&items, "src", "a").as_deref(), Some("mine-a"));
}

const PULL: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: vault, namespace: team}
spec:
  provider:
    fake:
      data:
        - {key: db, value: '{"user":"app","pass":"p1"}'}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: team}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault}
  target: {name: db-creds, deletionPolicy: Delete}
  dataFrom:
    - extract: {key: db}
"#;

#[test]
fn deleting_an_external_secret_removes_its_secret_and_spec_changes_refresh() {
    let dir = Dir::new("es-delete");
    let items = ok(&dir, PULL, "2026-01-01T00:00:00Z");
    assert_eq!(
        secret_value(&items, "db-creds", "pass").as_deref(),
        Some("p1")
    );
    let es = item(&items, "ExternalSecret", "db").unwrap();
    assert_eq!(es["metadata"]["generation"], 1);

    // A spec change bumps the generation and refreshes at once, interval or not.
    let changed = PULL
        .replace(
            "extract: {key: db}",
            "extract: {key: db, conversionStrategy: Default}",
        )
        .replace("refreshInterval: 1h", "refreshInterval: 2h");
    let items = ok(&dir, &changed, "2026-01-01T00:01:00Z");
    let es = item(&items, "ExternalSecret", "db").unwrap();
    assert_eq!(es["metadata"]["generation"], 2);
    assert_eq!(
        es["status"]["syncedResourceVersion"]
            .as_str()
            .unwrap()
            .split('-')
            .next(),
        Some("2")
    );

    // The ExternalSecret leaves the manifests: its Secret is garbage-collected.
    let store_only = PULL.split("---").next().unwrap().to_owned();
    let items = ok(&dir, &store_only, "2026-01-01T00:02:00Z");
    assert!(item(&items, "ExternalSecret", "db").is_none());
    assert!(item(&items, "Secret", "db-creds").is_none());
}

#[test]
fn a_failing_object_is_reported_by_name_and_the_others_still_run() {
    let dir = Dir::new("failing");
    let yaml = format!(
        "{PULL}---\n{}",
        r#"apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: broken, namespace: team}
spec:
  secretStoreRef: {name: missing-store}
  target: {name: broken}
  data:
    - secretKey: x
      remoteRef: {key: db, property: user}
"#
    );
    let out = esoctl_reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ExternalSecret team/broken"), "{stderr}");
    assert!(stderr.contains("missing-store"), "{stderr}");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(
        secret_value(items, "db-creds", "user").as_deref(),
        Some("app")
    );
    assert_eq!(ready(items, "ExternalSecret", "broken").0, "False");
}

#[test]
fn bad_manifests_stop_the_run_before_anything_is_written() {
    let dir = Dir::new("bad");
    ok(&dir, PULL, "2026-01-01T00:00:00Z");
    let before = std::fs::read(dir.state().join("state.json")).unwrap();

    let bad = PULL.replace("refreshInterval: 1h", "refreshInterval: soon");
    let out = esoctl_reconcile(&dir, &bad, "2026-01-01T01:00:00Z");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ExternalSecret/db"), "{stderr}");
    assert!(stderr.contains("spec.refreshInterval"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read(dir.state().join("state.json")).unwrap(),
        before
    );

    // Not YAML at all.
    let out = esoctl_reconcile(&dir, "kind: [unclosed", "2026-01-01T01:00:00Z");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("document 0"));
    assert_eq!(
        std::fs::read(dir.state().join("state.json")).unwrap(),
        before
    );
}

#[test]
fn secret_values_never_reach_stderr() {
    let dir = Dir::new("redaction");
    let yaml = PULL.replace(
        "secretStoreRef: {name: vault}",
        "secretStoreRef: {name: nowhere}",
    );
    let out = esoctl_reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("p1"));
    assert!(state_is_private(&dir.state().join("state.json")));
}

#[cfg(unix)]
fn state_is_private(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
fn state_is_private(_: &Path) -> bool {
    true
}

fn fan_out_manifests(b_label: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: team-a, labels: {{env: prod}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: team-b, labels: {{env: {b_label}}}}}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: shared}}
spec:
  provider:
    fake:
      data:
        - {{key: registry, value: '{{"token":"t0"}}'}}
---
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: {{name: registry}}
spec:
  externalSecretName: registry-token
  namespaceSelectors: [{{matchLabels: {{env: prod}}}}]
  externalSecretSpec:
    refreshInterval: 1h
    secretStoreRef: {{name: shared, kind: ClusterSecretStore}}
    target: {{name: registry-token}}
    dataFrom: [{{extract: {{key: registry}}}}]
"#
    )
}

fn in_namespace<'a>(items: &'a [Value], kind: &str, ns: &str) -> Vec<&'a Value> {
    items
        .iter()
        .filter(|i| i["kind"] == kind && i["metadata"]["namespace"] == ns)
        .collect()
}

#[test]
fn cluster_external_secret_follows_namespace_labels_across_runs() {
    let dir = Dir::new("ces");
    let items = ok(&dir, &fan_out_manifests("prod"), "2026-01-01T00:00:00Z");
    for ns in ["team-a", "team-b"] {
        let es = in_namespace(&items, "ExternalSecret", ns);
        assert_eq!(es.len(), 1, "{ns}");
        assert_eq!(es[0]["metadata"]["name"], "registry-token");
        assert_eq!(es[0]["status"]["conditions"][0]["reason"], "SecretSynced");
        let s = in_namespace(&items, "Secret", ns);
        assert_eq!(s.len(), 1, "{ns}");
        assert_eq!(s[0]["data"]["token"], B64.encode("t0"));
    }
    let ces = item(&items, "ClusterExternalSecret", "registry").unwrap();
    assert_eq!(
        ces["status"]["provisionedNamespaces"],
        serde_json::json!(["team-a", "team-b"])
    );

    // team-b leaves the selection: its ExternalSecret goes, and with it the owned Secret.
    let items = ok(&dir, &fan_out_manifests("dev"), "2026-01-01T00:05:00Z");
    assert_eq!(in_namespace(&items, "ExternalSecret", "team-a").len(), 1);
    assert!(in_namespace(&items, "ExternalSecret", "team-b").is_empty());
    assert!(in_namespace(&items, "Secret", "team-b").is_empty());
    let ces = item(&items, "ClusterExternalSecret", "registry").unwrap();
    assert_eq!(
        ces["status"]["provisionedNamespaces"],
        serde_json::json!(["team-a"])
    );

    // The ClusterExternalSecret is deleted: everything it made goes.
    let store_only = fan_out_manifests("dev")
        .split("---")
        .take(3)
        .collect::<Vec<_>>()
        .join("---");
    let items = ok(&dir, &store_only, "2026-01-01T00:10:00Z");
    assert!(items.iter().all(|i| i["kind"] != "ExternalSecret"));
    assert!(items.iter().all(|i| i["kind"] != "Secret"));
}
