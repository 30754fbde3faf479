//! Helpers shared by the esoctl tests against the GCP emulator and the Key Vault test server.
#![allow(dead_code)] // each test binary uses its own subset

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A service-account key with a freshly generated RSA key.
pub(crate) fn sa_key() -> String {
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
pub(crate) fn gcp_rest(
    endpoint: &str,
    project: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Value {
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

/// Status and reason of the `Ready` condition of `kind`/`name` in `esoctl reconcile -o json` output.
pub(crate) fn ready(items: &[Value], kind: &str, name: &str) -> (String, String) {
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

/// Runs `esoctl reconcile -f` on `yaml` with state kept in `dir`; returns the printed items.
pub(crate) fn reconcile(dir: &std::path::Path, yaml: &str, now: &str) -> Vec<Value> {
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
