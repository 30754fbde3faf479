//! `esoctl reconcile` with the `infisical` provider against the Infisical test server
//! (`scripts/backends/infisical.sh start`): an ordinary store spec (universal auth, the
//! per-instance CA as `caBundle`), an ExternalSecret pulling a value and a property, and a
//! PushSecret whose value is read back through the API and with Infisical's two official Python
//! SDKs, `infisicalsdk` and the Rust-core `infisical-python` (the venv `infisical.sh`
//! installs, `INFISICAL_PYTHON`).

use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};

mod common;
use common::*;

/// A call on the test server's API with curl (login first).
fn api(method: &str, path: &str, body: Option<&Value>) -> Value {
    let var = |n: &str| std::env::var(n).unwrap();
    let (url, ca) = (var("INFISICAL_API_URL"), var("INFISICAL_CA_FILE"));
    let curl = |method: &str, path: &str, token: Option<&str>, body: Option<&Value>| {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--cacert",
            &ca,
            "-X",
            method,
            "-H",
            "Content-Type: application/json",
        ])
        .arg(format!("{url}/{path}"));
        if let Some(t) = token {
            cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
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
    };
    let login = json!({"clientId": var("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"),
        "clientSecret": var("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET")});
    let token = curl("POST", "v1/auth/universal-auth/login", None, Some(&login));
    curl(method, path, token["accessToken"].as_str(), body)
}

#[test]
fn pull_and_push_through_an_ordinary_store() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(url), Some(ca_file)) = (var("INFISICAL_API_URL"), var("INFISICAL_CA_FILE")) else {
        return eso_core::testing::backend_unavailable(
            "INFISICAL_API_URL",
            "scripts/backends/infisical.sh start",
        );
    };
    let need = |n: &str| var(n).unwrap_or_else(|| panic!("{n} not set"));
    let (project, project_id, env) = (
        need("INFISICAL_PROJECT_SLUG"),
        need("INFISICAL_PROJECT_ID"),
        need("INFISICAL_ENV_SLUG"),
    );
    let id = format!("ESOCTL_{}", std::process::id());
    let (src, pushed) = (format!("{id}_DB"), format!("{id}_PUSHED"));
    api(
        "POST",
        &format!("v3/secrets/raw/{src}"),
        Some(
            &json!({"workspaceId": project_id, "environment": env, "secretPath": "/",
            "secretValue": r#"{"user": "app", "password": "pw-from-infisical"}"#}),
        ),
    );
    let ca = B64.encode(std::fs::read(&ca_file).unwrap());
    let yaml = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: infisical-auth, namespace: team}}
stringData:
  clientId: "{client_id}"
  clientSecret: "{client_secret}"
---
apiVersion: v1
kind: Secret
metadata: {{name: source, namespace: team}}
stringData: {{token: pushed-from-esoctl}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: infisical, namespace: team}}
spec:
  provider:
    infisical:
      hostAPI: "{url}"
      caBundle: "{ca}"
      auth:
        universalAuthCredentials:
          clientId: {{name: infisical-auth, key: clientId}}
          clientSecret: {{name: infisical-auth, key: clientSecret}}
      secretsScope: {{organizationSlug: "{org}", projectSlug: "{project}", environmentSlug: "{env}"}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db, namespace: team}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: infisical}}
  target: {{name: db}}
  data:
    - secretKey: password
      remoteRef: {{key: {src}, property: password}}
    - secretKey: whole
      remoteRef: {{key: {src}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push, namespace: team}}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{{name: infisical}}]
  selector: {{secret: {{name: source}}}}
  data:
    - match: {{secretKey: token, remoteRef: {{remoteKey: {pushed}}}}}
"#,
        client_id = need("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"),
        client_secret = need("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"),
        org = need("INFISICAL_ORG_SLUG"),
    );
    let dir = std::env::temp_dir().join(format!("esoctl-infisical-{}", std::process::id()));
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
    assert_eq!(value("password"), "pw-from-infisical");
    assert!(value("whole").contains("\"user\": \"app\""));
    let got = api(
        "GET",
        &format!("v3/secrets/raw/{pushed}?workspaceSlug={project}&environment={env}&secretPath=/"),
        None,
    );
    assert_eq!(got["secret"]["secretValue"], "pushed-from-esoctl");
    // Infisical's official Python SDKs (both) read the pushed value back.
    let py = need("INFISICAL_PYTHON");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/backends/infisical_smoke.py"
    );
    let out = Command::new(py)
        .args([script, "read-pushed", &pushed])
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
