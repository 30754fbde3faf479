//! The multi-region push flow with two kinds of store: one PushSecret writes the same key to an
//! OpenBao (Vault) store and to an Infisical store at once, through `esoctl reconcile`; both
//! are read back from the servers themselves.
//!
//! Needs `VAULT_ADDR`/`VAULT_TOKEN` (`scripts/backends/openbao.sh start`) and the Infisical
//! test server (`scripts/backends/infisical.sh start`).
#![cfg(all(feature = "vault", feature = "infisical"))]

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

mod common;
use common::*;

fn var(n: &str) -> Option<String> {
    std::env::var(n).ok().filter(|v| !v.is_empty())
}

/// `secret/data/<key>` of the Vault, `data.value`.
fn vault_value(key: &str) -> Option<String> {
    let (addr, token) = (var("VAULT_ADDR")?, var("VAULT_TOKEN")?);
    let out = Command::new("curl")
        .args(["-sf", "-H"])
        .arg(format!("X-Vault-Token: {token}"))
        .arg(format!("{addr}/v1/secret/data/{key}"))
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["data"]["data"]["value"].as_str().map(str::to_owned)
}

/// The value of `key` in the Infisical root folder, through the official Python SDK.
fn infisical_value(key: &str) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/backends/infisical_smoke.py"
    );
    let out = Command::new(var("INFISICAL_PYTHON").expect("INFISICAL_PYTHON"))
        .args([script, "read-pushed", key])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn one_push_secret_to_vault_and_infisical() {
    let (Some(vault), Some(token)) = (var("VAULT_ADDR"), var("VAULT_TOKEN")) else {
        return eso_core::testing::backend_unavailable(
            "VAULT_ADDR",
            "scripts/backends/openbao.sh start",
        );
    };
    let (Some(api), Some(ca_file)) = (var("INFISICAL_API_URL"), var("INFISICAL_CA_FILE")) else {
        return eso_core::testing::backend_unavailable(
            "INFISICAL_API_URL",
            "scripts/backends/infisical.sh start",
        );
    };
    let need = |n: &str| var(n).unwrap_or_else(|| panic!("{n} not set"));
    let key = format!("eso-multi-{}", std::process::id());
    let api_key = format!("api-key-{}", std::process::id());
    let ca = B64.encode(std::fs::read(&ca_file).unwrap());
    let yaml = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: demo}}
stringData:
  token: "{token}"
  clientId: "{client_id}"
  clientSecret: "{client_secret}"
---
apiVersion: v1
kind: Secret
metadata: {{name: my-app, namespace: demo}}
stringData: {{api-key: "{api_key}"}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: vault, namespace: demo, labels: {{push: everywhere}}}}
spec:
  provider:
    vault:
      server: "{vault}"
      path: secret
      version: v2
      auth: {{tokenSecretRef: {{name: creds, key: token}}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: infisical, namespace: demo, labels: {{push: everywhere}}}}
spec:
  provider:
    infisical:
      hostAPI: "{api}"
      caBundle: "{ca}"
      auth:
        universalAuthCredentials:
          clientId: {{name: creds, key: clientId}}
          clientSecret: {{name: creds, key: clientSecret}}
      secretsScope: {{organizationSlug: "{org}", projectSlug: "{project}", environmentSlug: "{env}"}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: my-app, namespace: demo}}
spec:
  refreshInterval: 1h
  secretStoreRefs:
    - labelSelector: {{matchLabels: {{push: everywhere}}}}
  selector: {{secret: {{name: my-app}}}}
  data:
    - match: {{secretKey: api-key, remoteRef: {{remoteKey: {key}, property: value}}}}
"#,
        client_id = need("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"),
        client_secret = need("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"),
        org = need("INFISICAL_ORG_SLUG"),
        project = need("INFISICAL_PROJECT_SLUG"),
        env = need("INFISICAL_ENV_SLUG"),
    );
    let dir = std::env::temp_dir().join(format!("esoctl-vault-infisical-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let items = reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    assert_eq!(
        ready(&items, "PushSecret", "my-app"),
        ("True".into(), "Synced".into())
    );
    let push = items.iter().find(|i| i["kind"] == "PushSecret").unwrap();
    let synced = &push["status"]["syncedPushSecrets"];
    assert!(
        synced.get("SecretStore/vault").is_some() && synced.get("SecretStore/infisical").is_some(),
        "{synced}"
    );
    assert_eq!(vault_value(&key).as_deref(), Some(api_key.as_str()));
    let pushed: Value = serde_json::from_str(&infisical_value(&key)).unwrap();
    assert_eq!(pushed["value"], api_key.as_str());
    let _ = std::fs::remove_dir_all(&dir);
}
