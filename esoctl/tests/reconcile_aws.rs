//! `esoctl reconcile` with the AWS provider and generators against moto
//! (`scripts/backends/moto.sh start`): an ExternalSecret built from the ECRAuthorizationToken
//! and STSSessionToken generators, and one reading Secrets Manager.

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

const DOCKER: &str = r#"{"auths":{"{{ .proxy_endpoint }}":{"username":"{{ .username }}","password":"{{ .password }}"}}}"#;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[test]
fn ecr_and_sts_generators_and_secrets_manager_through_reconcile() {
    let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return eso_core::testing::backend_unavailable(
            "AWS_ENDPOINT_URL",
            "scripts/backends/moto.sh start",
        );
    };
    let dir = std::env::temp_dir().join(format!("esoctl-aws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("esoctl-aws-{}", std::process::id());
    seed_secret(&endpoint, &name);
    let yaml = manifests(&name).replace("{DOCKER}", DOCKER);
    let file = dir.join("m.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(["reconcile", "-f"])
        .arg(&file)
        .arg("--state")
        .arg(dir.join("state"))
        .args(["-o", "json"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let secret = |n: &str| {
        items
            .iter()
            .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == n)
            .unwrap_or_else(|| panic!("Secret {n} in the output"))
            .clone()
    };
    let get = |s: &Value, k: &str| {
        String::from_utf8(B64.decode(s["data"][k].as_str().unwrap()).unwrap()).unwrap()
    };

    let reg = secret("registry");
    assert_eq!(reg["type"], "kubernetes.io/dockerconfigjson");
    let cfg: Value = serde_json::from_str(&get(&reg, ".dockerconfigjson")).unwrap();
    let auths = cfg["auths"].as_object().unwrap();
    let (endpoint, login) = auths.iter().next().unwrap();
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    assert_eq!(login["username"], "AWS");
    assert!(!login["password"].as_str().unwrap().is_empty());

    let session = secret("session");
    for k in [
        "access_key_id",
        "secret_access_key",
        "session_token",
        "expiration",
    ] {
        assert!(!get(&session, k).is_empty(), "{k}");
    }
    assert!(get(&session, "expiration").parse::<i64>().is_ok());
    assert_eq!(get(&secret("app"), "user"), "app");
}

/// A Secrets Manager secret `name` holding `{"user":"app"}`, created through moto's JSON API.
fn seed_secret(endpoint: &str, name: &str) {
    let seed = Command::new("curl")
        .args(["-fsS", "-X", "POST", endpoint])
        .args(["-H", "X-Amz-Target: secretsmanager.CreateSecret"])
        .args(["-H", "Content-Type: application/x-amz-json-1.1"])
        .args([
            "-H",
            "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x",
        ])
        .args(["-d", &format!(r#"{{"Name":"{name}","SecretString":"{{\"user\":\"app\"}}"}}"#)])
        .output()
        .unwrap();
    assert!(
        seed.status.success(),
        "{}",
        String::from_utf8_lossy(&seed.stderr)
    );
}

/// Two generators, a store, and ExternalSecrets reading each (the `{DOCKER}` template is
/// filled in by the caller).
fn manifests(name: &str) -> String {
    format!(
        r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: ECRAuthorizationToken
metadata: {{name: ecr, namespace: default}}
spec: {{region: us-east-1}}
---
apiVersion: generators.external-secrets.io/v1alpha1
kind: STSSessionToken
metadata: {{name: sts, namespace: default}}
spec: {{region: us-east-1, requestParameters: {{sessionDuration: 900}}}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: aws, namespace: default}}
spec: {{provider: {{aws: {{service: SecretsManager, region: us-east-1}}}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: registry, namespace: default}}
spec:
  refreshInterval: 1h
  target:
    name: registry
    template:
      type: kubernetes.io/dockerconfigjson
      data:
        .dockerconfigjson: '{DOCKER}'
  dataFrom:
  - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: ECRAuthorizationToken, name: ecr}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: session, namespace: default}}
spec:
  refreshInterval: 1h
  dataFrom:
  - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: STSSessionToken, name: sts}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, namespace: default}}
spec:
  secretStoreRef: {{name: aws}}
  data: [{{secretKey: user, remoteRef: {{key: {name}, property: user}}}}]
"#
    )
}
