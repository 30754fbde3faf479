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

/// ESO's own 1Password documentation manifests (../shared/conformance/manifests), changed only
/// where they must point at this server: the Connect host, the vault names and, so repeated
/// runs do not find two items with one title, the item titles.
#[test]
fn eso_docs_manifests_work_unchanged() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let Some(host) = var("OP_CONNECT_HOST") else {
        return eso_core::testing::backend_unavailable(
            "OP_CONNECT_HOST",
            "scripts/backends/onepassword.sh start",
        );
    };
    let Some(docs) = eso_core::testing::conformance_folder("manifests") else {
        return;
    };
    let need = |n: &str| var(n).unwrap_or_else(|| panic!("{n} not set"));
    let vaults: Vec<String> = need("OP_VAULTS").split(',').map(str::to_owned).collect();
    let id = std::process::id();
    let (env_item, cert_item, pushed) = (
        format!("my-env-config-{id}"),
        format!("my-cert-{id}"),
        format!("1pw-secret-name-{id}"),
    );
    let shared = vault_id(&vaults[1]);
    api(
        "POST",
        &format!("v1/vaults/{shared}/items"),
        Some(&json!({"title": env_item, "category": "SERVER",
            "fields": [{"label": "MY_ENV_VAR1", "value": "one"},
                {"label": "MY_ENV_VAR2", "value": "two"}]})),
    );
    let cert = api(
        "POST",
        &format!("v1/vaults/{shared}/items"),
        Some(&json!({"title": cert_item, "category": "DOCUMENT"})),
    );
    for (name, content) in [("cert.crt", "CERT"), ("cert.key", "KEY")] {
        api(
            "POST",
            "_test/files",
            Some(&json!({"vault": shared, "item": cert["id"], "name": name,
                "content": B64.encode(content)})),
        );
    }
    let read = |f: &str| std::fs::read_to_string(docs.join(f)).unwrap();
    let store = read("1password-secret-store.yaml")
        .replace("https://onepassword-connect-staging:8080", &host)
        .replace("staging: 1", &format!("{}: 1", vaults[0]))
        .replace("shared: 2", &format!("{}: 2", vaults[1]));
    let secrets = format!(
        "{}\n---\n{}\n---\n{}",
        read("1password-external-secret-my-cert.yaml").replace("my-cert", &cert_item),
        read("1password-external-secret-my-env-config.yaml").replace("my-env-config", &env_item),
        read("1password-push-secret.yaml")
            .replace("1pw-secret-name", &pushed)
            .replace("vault: staging", &format!("vault: {}", vaults[1])),
    );
    let yaml = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: onepassword-connect-token-staging, namespace: default}}
stringData: {{token: "{token}"}}
---
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {{name: 1password}}
spec:
  provider:
    onepassword:
      connectHost: "{host}"
      vaults: {{"{v0}": 1, "{v1}": 2}}
      auth:
        secretRef:
          connectTokenSecretRef: {{name: onepassword-connect-token-staging, key: token, namespace: default}}
---
{store}
---
{secrets}
"#,
        token = need("OP_CONNECT_TOKEN"),
        v0 = vaults[0],
        v1 = vaults[1],
    );
    let dir = std::env::temp_dir().join(format!("esoctl-onepassword-docs-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let items = reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    for (kind, name, reason) in [
        ("ExternalSecret", "my-cert", "SecretSynced"),
        ("ExternalSecret", "my-env-config", "SecretSynced"),
        ("PushSecret", "pushsecret-example", "Synced"),
    ] {
        let name = name
            .replace("my-cert", &cert_item)
            .replace("my-env-config", &env_item);
        assert_eq!(
            ready(&items, kind, &name),
            ("True".into(), reason.into()),
            "{kind} {name}"
        );
    }
    let data = |name: &str| {
        let s = items
            .iter()
            .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("Secret {name}"));
        let mut out: Vec<(String, String)> = s["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let v = B64.decode(v.as_str().unwrap()).unwrap();
                (k.clone(), String::from_utf8(v).unwrap())
            })
            .collect();
        out.sort();
        out
    };
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        data(&cert_item),
        [pair("cert.crt", "CERT"), pair("cert.key", "KEY")]
    );
    assert_eq!(
        data(&env_item),
        [pair("MY_ENV_VAR1", "one"), pair("MY_ENV_VAR2", "two")]
    );
    // The pushed item went to the metadata's vault, with its tags.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/backends/onepassword_smoke.py"
    );
    let out = Command::new(need("OP_PYTHON"))
        .args([script, "read-pushed", &pushed, "password"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "my-secret");
    let listed = api(
        "GET",
        &format!("v1/vaults/{shared}/items?filter=title%20eq%20%22{pushed}%22"),
        None,
    );
    assert_eq!(listed[0]["tags"], json!(["tag1", "tag2"]));
    let _ = std::fs::remove_dir_all(&dir);
}
