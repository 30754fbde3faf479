//! The seed scenario through `esoctl reconcile` against two real OpenBao servers: one
//! PushSecret writes `my-app/api-key` to `vault-region1` and `vault-region2`, an
//! ExternalSecret pulls it back through a template; then region 2 is stopped, and the next run
//! still updates region 1 while the status names the failing store.
//!
//! Needs `VAULT_ADDR`/`VAULT_TOKEN` (region 1, `scripts/backends/openbao.sh start`) and a second
//! instance `region2` (`scripts/backends/openbao.sh start region2`); scripts/test.sh starts
//! both. Without them the test prints why and passes, unless `ESO_REQUIRE_BACKENDS=1`.
#![cfg(feature = "vault")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `VAR=value` lines of a backend env file (values may be single-quoted).
fn env_file(path: &Path) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('\'').to_owned()))
            .collect(),
    )
}

fn openbao(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo().join("scripts/backends/openbao.sh"))
        .args(args)
        .output()
        .unwrap()
}

fn manifests(region1: &str, region2: &str, token: &str, api_key: &str) -> String {
    let store = |name: &str, addr: &str| {
        format!(
            r#"---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: {name}, namespace: demo, labels: {{tier: regional-vault}}}}
spec:
  provider:
    vault:
      server: "{addr}"
      path: secret
      version: v2
      auth:
        tokenSecretRef: {{name: vault-token, key: token}}
"#
        )
    };
    format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: vault-token, namespace: demo}}
stringData: {{token: "{token}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: my-app, namespace: demo}}
stringData: {{api-key: "{api_key}"}}
{}{}---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: my-app-api-key, namespace: demo}}
spec:
  refreshInterval: 1h
  secretStoreRefs:
    - labelSelector: {{matchLabels: {{tier: regional-vault}}}}
  selector: {{secret: {{name: my-app}}}}
  data:
    - match: {{secretKey: api-key, remoteRef: {{remoteKey: my-app/api-key, property: value}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: my-app-config, namespace: demo}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: vault-region1}}
  target:
    name: my-app-config
    template:
      data:
        config.yaml: "apiKey: {{{{ .key }}}}"
  data:
    - secretKey: key
      remoteRef: {{key: my-app/api-key, property: value}}
"#,
        store("vault-region1", region1),
        store("vault-region2", region2),
    )
}

fn run(state: &Path, file: &Path, yaml: &str, now: &str) -> (Option<i32>, Vec<Value>, String) {
    std::fs::write(file, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(["reconcile", "-o", "json", "--now", now, "-f"])
        .arg(file)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let list: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON on stdout ({e}); stderr: {stderr}"));
    (
        out.status.code(),
        list["items"].as_array().unwrap().clone(),
        stderr,
    )
}

fn find<'a>(items: &'a [Value], kind: &str, name: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} not in the output"))
}

/// Reads `secret/data/my-app/api-key` straight from a server.
fn remote_value(addr: &str, token: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-sf", "-H"])
        .arg(format!("X-Vault-Token: {token}"))
        .arg(format!("{addr}/v1/secret/data/my-app/api-key"))
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["data"]["data"]["value"].as_str().map(str::to_owned)
}

#[test]
fn push_to_two_regions_and_survive_one_going_down() {
    let (Ok(addr1), Ok(token1)) = (std::env::var("VAULT_ADDR"), std::env::var("VAULT_TOKEN"))
    else {
        return eso_core::testing::backend_unavailable(
            "VAULT_ADDR",
            "scripts/backends/openbao.sh start",
        );
    };
    let env_dir = std::env::var("ESO_BACKENDS_ENV_DIR").map_or_else(|_| repo(), PathBuf::from);
    let Some(region2) = env_file(&env_dir.join(".env.backends.openbao.region2")) else {
        return eso_core::testing::backend_unavailable(
            "the OpenBao instance region2",
            "scripts/backends/openbao.sh start region2",
        );
    };
    let addr2 = region2["VAULT_ADDR"].clone();
    let token2 = region2["VAULT_TOKEN"].clone();
    assert_eq!(token1, token2, "both dev servers use the same root token");

    let dir = std::env::temp_dir().join(format!("esoctl-vault-regions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (state, file) = (dir.join("state"), dir.join("manifests.yaml"));

    // Run 1: both regions get the key; the ExternalSecret renders it from region 1.
    let (code, items, stderr) = run(
        &state,
        &file,
        &manifests(&addr1, &addr2, &token1, "k-1"),
        "2026-01-01T00:00:00Z",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(remote_value(&addr1, &token1).as_deref(), Some("k-1"));
    assert_eq!(remote_value(&addr2, &token2).as_deref(), Some("k-1"));
    let ps = find(&items, "PushSecret", "my-app-api-key");
    assert_eq!(ps["status"]["conditions"][0]["reason"], "Synced");
    let synced = ps["status"]["syncedPushSecrets"].as_object().unwrap();
    assert!(synced.contains_key("SecretStore/vault-region1"));
    assert!(synced.contains_key("SecretStore/vault-region2"));
    let target = find(&items, "Secret", "my-app-config");
    assert_eq!(
        B64.decode(target["data"]["config.yaml"].as_str().unwrap())
            .unwrap(),
        b"apiKey: k-1"
    );
    for store in ["vault-region1", "vault-region2"] {
        let s = find(&items, "SecretStore", store);
        assert_eq!(s["status"]["conditions"][0]["reason"], "Valid", "{store}");
    }

    // Region 2 goes down; the key rotates.
    let stopped = openbao(&["stop", "region2"]);
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let (code, items, stderr) = run(
        &state,
        &file,
        &manifests(&addr1, &addr2, &token1, "k-2"),
        "2026-01-01T02:00:00Z",
    );
    // Bring region 2 back for whatever runs next (a fresh, empty dev server).
    let restarted = openbao(&["start", "region2"]);

    assert_eq!(
        code,
        Some(1),
        "a failing store makes the run fail: {stderr}"
    );
    assert!(stderr.contains("vault-region2"), "{stderr}");
    assert!(
        !stderr.contains("k-2"),
        "no secret value in messages: {stderr}"
    );
    assert_eq!(remote_value(&addr1, &token1).as_deref(), Some("k-2"));
    let ps = find(&items, "PushSecret", "my-app-api-key");
    let ready = &ps["status"]["conditions"][0];
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "Errored");
    let message = ready["message"].as_str().unwrap();
    assert!(message.contains("SecretStore/vault-region2"), "{message}");
    assert!(!message.contains("vault-region1"), "{message}");
    let synced = ps["status"]["syncedPushSecrets"].as_object().unwrap();
    assert!(synced.contains_key("SecretStore/vault-region1"));
    assert!(
        synced.contains_key("SecretStore/vault-region2"),
        "the failing store keeps its previous entries"
    );
    let target = find(&items, "Secret", "my-app-config");
    assert_eq!(
        B64.decode(target["data"]["config.yaml"].as_str().unwrap())
            .unwrap(),
        b"apiKey: k-2"
    );
    let s2 = find(&items, "SecretStore", "vault-region2");
    assert_eq!(s2["status"]["conditions"][0]["status"], "False");

    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
}
