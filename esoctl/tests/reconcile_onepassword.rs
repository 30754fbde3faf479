//! `esoctl reconcile` with the `onepassword` provider against the 1Password Connect test
//! server (`scripts/backends/onepassword.sh start`): an ordinary store spec (two vaults in
//! order, the token from a Secret; the server's CA trusted through `SSL_CERT_FILE`, as the
//! spec has no CA field), an ExternalSecret reading fields and extracting an item, and a
//! PushSecret with metadata tags whose field is read back with 1Password's official Python
//! Connect SDK (the venv `onepassword.sh` installs, `OP_PYTHON`).

use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};

mod common;
use common::*;

/// A call on the Connect test server's API with curl.
fn api(method: &str, path: &str, body: Option<&Value>) -> Value {
    let var = |n: &str| std::env::var(n).unwrap();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert", &var("OP_CONNECT_CA_FILE"), "-X", method])
        .args(["-H", "Content-Type: application/json"])
        .args([
            "-H",
            &format!("Authorization: Bearer {}", var("OP_CONNECT_TOKEN")),
        ])
        .arg(format!("{}/{path}", var("OP_CONNECT_HOST")));
    if let Some(b) = body {
        cmd.args(["-d", &b.to_string()]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
}

/// The ID of the vault titled `name`.
fn vault_id(name: &str) -> String {
    let v = api("GET", "v1/vaults", None);
    v.as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .and_then(|x| x["id"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn pull_and_push_through_an_ordinary_store() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let Some(host) = var("OP_CONNECT_HOST") else {
        return eso_core::testing::backend_unavailable(
            "OP_CONNECT_HOST",
            "scripts/backends/onepassword.sh start",
        );
    };
    let need = |n: &str| var(n).unwrap_or_else(|| panic!("{n} not set"));
    let vaults: Vec<String> = need("OP_VAULTS").split(',').map(str::to_owned).collect();
    let id = format!("esoctl-{}", std::process::id());
    let (src, pushed) = (format!("{id}-db"), format!("{id}-pushed"));
    // The item is in the second vault only: the search goes on past the first.
    api(
        "POST",
        &format!("v1/vaults/{}/items", vault_id(&vaults[1])),
        Some(&json!({"title": src, "category": "DATABASE",
            "fields": [{"label": "username", "value": "app"},
                {"label": "password", "value": "pw-from-1password", "type": "CONCEALED"}]})),
    );
    let yaml = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: op-connect, namespace: team}}
stringData: {{token: "{token}"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: source, namespace: team}}
stringData: {{token: pushed-from-esoctl}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: onepassword, namespace: team}}
spec:
  provider:
    onepassword:
      connectHost: "{host}"
      vaults: {{"{v0}": 1, "{v1}": 2}}
      auth:
        secretRef:
          connectTokenSecretRef: {{name: op-connect, key: token}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db, namespace: team}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: onepassword}}
  target: {{name: db}}
  data:
    - secretKey: password
      remoteRef: {{key: {src}}}
    - secretKey: user
      remoteRef: {{key: {src}, property: username}}
  dataFrom:
    - extract: {{key: {src}}}
      rewrite: [{{regexp: {{source: "(.*)", target: "all-$1"}}}}]
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push, namespace: team}}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{{name: onepassword}}]
  selector: {{secret: {{name: source}}}}
  data:
    - match: {{secretKey: token, remoteRef: {{remoteKey: {pushed}, property: api-token}}}}
      metadata:
        apiVersion: kubernetes.external-secrets.io/v1alpha1
        kind: PushSecretMetadata
        spec: {{tags: [esoctl]}}
"#,
        token = need("OP_CONNECT_TOKEN"),
        v0 = vaults[0],
        v1 = vaults[1],
    );
    let dir = std::env::temp_dir().join(format!("esoctl-onepassword-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let items = reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    assert_eq!(
        ready(&items, "ExternalSecret", "db"),
        ("True".into(), "SecretSynced".into())
    );
    assert_eq!(
        ready(&items, "PushSecret", "push"),
        ("True".into(), "Synced".into())
    );
    let secret = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "db")
        .unwrap();
    let value = |k: &str| {
        String::from_utf8(B64.decode(secret["data"][k].as_str().unwrap()).unwrap()).unwrap()
    };
    assert_eq!(value("password"), "pw-from-1password");
    assert_eq!(value("user"), "app");
    assert_eq!(value("all-username"), "app");
    assert_eq!(value("all-password"), "pw-from-1password");
    // 1Password's official Python SDK reads the pushed field back.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/backends/onepassword_smoke.py"
    );
    let out = Command::new(need("OP_PYTHON"))
        .args([script, "read-pushed", &pushed, "api-token"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pushed-from-esoctl"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
