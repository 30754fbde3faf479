//! `esoctl reconcile` with a `webhook` store against a small HTTP server started by the test:
//! a templated URL, an auth header from a labelled Secret, a JSONPath result, `dataFrom.extract`
//! of a JSON object, and a bad answer reported with the store named.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

mod common;
use common::*;

/// Serves on 127.0.0.1 until the test process ends: `/api/secrets/<key>` with the bearer token
/// `tok-123`; `db%2Fcreds` has data, `broken` answers something that is not JSON, anything else
/// is 404. Returns the base URL.
fn start_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut authorized = false;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
                authorized |= h.to_lowercase().trim() == "authorization: bearer tok-123";
            }
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let (status, body) = match (authorized, path.as_str()) {
                (false, _) => (401, r#"{"error": "unauthorized"}"#),
                (true, "/api/secrets/db%2Fcreds") => (
                    200,
                    r#"{"data": {"password": "pw-from-webhook", "user": "admin", "port": 5432}}"#,
                ),
                (true, "/api/secrets/broken") => (200, "<html>oops</html>"),
                _ => (404, r#"{"error": "not found"}"#),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn manifests(base: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Secret
metadata:
  name: webhook-auth
  namespace: team
  labels: {{external-secrets.io/type: webhook}}
stringData: {{token: tok-123}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: http, namespace: team}}
spec:
  provider:
    webhook:
      url: "{base}/api/secrets/{{{{ .remoteRef.key }}}}"
      headers: {{Authorization: "Bearer {{{{ .auth.token }}}}"}}
      secrets: [{{name: auth, secretRef: {{name: webhook-auth}}}}]
      result: {{jsonPath: "$.data{{{{ with .remoteRef.property }}}}.{{{{ . }}}}{{{{ end }}}}"}}
      timeout: 5s
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db, namespace: team}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: http}}
  target: {{name: db}}
  data:
    - secretKey: password
      remoteRef: {{key: db/creds, property: password}}
  dataFrom:
    - extract: {{key: db/creds}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: broken, namespace: team}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: http}}
  target: {{name: broken}}
  data:
    - secretKey: v
      remoteRef: {{key: broken, property: value}}
"#
    )
}

#[test]
fn webhook_store_reads_a_json_path_from_a_templated_url() {
    let base = start_server();
    let dir = std::env::temp_dir().join(format!("esoctl-webhook-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.yaml");
    std::fs::write(&file, manifests(&base)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args([
            "reconcile",
            "-o",
            "json",
            "--now",
            "2026-01-01T00:00:00Z",
            "-f",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let list: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let items = list["items"].as_array().unwrap();

    let secret = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "db")
        .unwrap_or_else(|| panic!("Secret db in the output; stderr: {stderr}"));
    let value = |k: &str| {
        String::from_utf8(B64.decode(secret["data"][k].as_str().unwrap()).unwrap()).unwrap()
    };
    assert_eq!(value("password"), "pw-from-webhook");
    assert_eq!(value("user"), "admin");
    assert_eq!(value("port"), "5432");
    assert_eq!(
        ready(items, "ExternalSecret", "db"),
        ("True".into(), "SecretSynced".into())
    );

    // The answer that is not JSON: a clear error naming the store, the ExternalSecret not ready.
    let (status, _) = ready(items, "ExternalSecret", "broken");
    assert_eq!(status, "False");
    let broken = items
        .iter()
        .find(|i| i["kind"] == "ExternalSecret" && i["metadata"]["name"] == "broken")
        .unwrap();
    let message = broken["status"]["conditions"][0]["message"]
        .as_str()
        .unwrap_or_default();
    let all = format!("{message}\n{stderr}");
    assert!(all.contains("webhook SecretStore team/http"), "{all}");
    assert!(all.contains("not JSON"), "{all}");
    assert!(!all.contains("tok-123"), "{all}");
    let _ = std::fs::remove_dir_all(&dir);
}
