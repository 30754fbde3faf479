//! `esoctl reconcile` with the `gcpsm` provider against the Secret Manager emulator
//! (`scripts/backends/gcp.sh start`, which exports `GCP_SECRET_MANAGER_REST_ENDPOINT`): an
//! ordinary store spec authenticated with a service-account key (self-signed JWTs, no token
//! service), an ExternalSecret pulling a JSON property and a numbered version, and a
//! PushSecret whose value arrives with the `managed-by` label, once.

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A service-account key with a freshly generated RSA key.
fn sa_key() -> String {
    use aws_lc_rs::encoding::AsDer;
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
    let b64 = B64.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    serde_json::json!({"type": "service_account", "project_id": "eso-test",
        "private_key_id": "k1", "private_key": pem,
        "client_email": "eso@eso-test.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token"})
    .to_string()
}

/// A REST call on the emulator, `path` below `/v1/projects/PROJECT/`.
fn rest(endpoint: &str, project: &str, method: &str, path: &str, body: Option<&str>) -> Value {
    let mut cmd = Command::new("curl");
    cmd.args(["-fsS", "-X", method])
        .arg(format!("{endpoint}/v1/projects/{project}/{path}"));
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "-d", b]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// `(status, reason)` of the Ready condition of `kind/name`.
fn ready(items: &[Value], kind: &str, name: &str) -> (String, String) {
    let obj = items
        .iter()
        .find(|i| i["kind"] == kind && i["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the output"));
    let c = &obj["status"]["conditions"][0];
    (
        c["status"].as_str().unwrap_or_default().to_owned(),
        c["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

fn reconcile(dir: &std::path::Path, yaml: &str, now: &str) -> Vec<Value> {
    let file = dir.join("m.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(["reconcile", "-o", "json", "--now", now, "-f"])
        .arg(&file)
        .arg("--state")
        .arg(dir.join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list["items"].as_array().unwrap().clone()
}

#[test]
fn pull_a_property_and_a_version_and_push_once() {
    let Some(endpoint) = std::env::var("GCP_SECRET_MANAGER_REST_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return eso_core::testing::backend_unavailable(
            "GCP_SECRET_MANAGER_REST_ENDPOINT",
            "scripts/backends/gcp.sh start",
        );
    };
    let endpoint = endpoint.trim_end_matches('/');
    let project = std::env::var("GCP_PROJECT_ID").unwrap_or_else(|_| "eso-test".into());
    let id = format!(
        "esoctl-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let src = format!("{id}-db");
    let pushed = format!("{id}-pushed");
    rest(
        endpoint,
        &project,
        "POST",
        &format!("secrets?secretId={src}"),
        Some(r#"{"replication":{"automatic":{}}}"#),
    );
    for v in [
        r#"{"user":"u1","pass":"p1"}"#,
        r#"{"user":"u2","pass":"p2"}"#,
    ] {
        let body = format!(r#"{{"payload":{{"data":"{}"}}}}"#, B64.encode(v));
        rest(
            endpoint,
            &project,
            "POST",
            &format!("secrets/{src}:addVersion"),
            Some(&body),
        );
    }

    let yaml = format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: gcp-sa, namespace: default}}
stringData: {{key.json: '{key}'}}
---
apiVersion: v1
kind: Secret
metadata: {{name: app-token, namespace: default}}
stringData: {{token: t-1}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: gcp, namespace: default}}
spec:
  provider:
    gcpsm:
      projectID: {project}
      auth: {{secretRef: {{secretAccessKeySecretRef: {{name: gcp-sa, key: key.json}}}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRef: {{name: gcp}}
  data:
  - {{secretKey: user, remoteRef: {{key: {src}, property: user}}}}
  - {{secretKey: old-pass, remoteRef: {{key: {src}, property: pass, version: "1"}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: gcp}}]
  selector: {{secret: {{name: app-token}}}}
  data:
  - match: {{secretKey: token, remoteRef: {{remoteKey: {pushed}}}}}
"#,
        key = sa_key()
    );
    let dir = std::env::temp_dir().join(format!("esoctl-gcp-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let items = reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    let secret = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "db")
        .expect("Secret db in the output");
    let get = |k: &str| {
        String::from_utf8(B64.decode(secret["data"][k].as_str().unwrap()).unwrap()).unwrap()
    };
    assert_eq!(get("user"), "u2");
    assert_eq!(get("old-pass"), "p1");
    assert_eq!(
        ready(&items, "PushSecret", "push"),
        ("True".into(), "Synced".into())
    );

    let remote = rest(
        endpoint,
        &project,
        "GET",
        &format!("secrets/{pushed}"),
        None,
    );
    assert_eq!(remote["labels"]["managed-by"], "external-secrets");
    let value = rest(
        endpoint,
        &project,
        "GET",
        &format!("secrets/{pushed}/versions/latest:access"),
        None,
    );
    assert_eq!(
        B64.decode(value["payload"]["data"].as_str().unwrap())
            .unwrap(),
        b"t-1"
    );

    // An hour later both are due again: the same value pushed again adds no version.
    let items = reconcile(&dir, &yaml, "2026-01-01T01:00:00Z");
    assert_eq!(
        ready(&items, "PushSecret", "push"),
        ("True".into(), "Synced".into())
    );
    let status = &items.iter().find(|i| i["kind"] == "PushSecret").unwrap()["status"];
    assert!(
        status["refreshTime"]
            .as_str()
            .unwrap_or_default()
            .starts_with("2026-01-01T01:00"),
        "the second run pushed again: {status}"
    );
    let versions = rest(
        endpoint,
        &project,
        "GET",
        &format!("secrets/{pushed}/versions"),
        None,
    );
    assert_eq!(
        versions["versions"].as_array().unwrap().len(),
        1,
        "{versions}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
