//! `esoctl reconcile` with the `azurekv` provider against the Key Vault test server
//! (`scripts/backends/azure.sh start`): an ordinary store spec (a custom cloud whose authority
//! host is the test server's token endpoint, a service principal with a client secret), an
//! ExternalSecret pulling a JSON property, and a PushSecret whose value arrives with the
//! `managed-by` tag and the content type, once; a certificate pushed to `cert/` and pulled
//! back as DER. Microsoft's Python SDK (the venv `azure.sh`
//! installs, `AZURE_PYTHON`) seeds the source secret and reads the pushed one back.

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

mod common;
use common::*;

/// Seeds (`set NAME VALUE`) or reads (`get NAME`) a secret with the Python SDK.
const PY: &str = r#"
import json, os, sys
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
cred = ClientSecretCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"],
    os.environ["AZURE_CLIENT_SECRET"], authority=os.environ["AZURE_AUTHORITY_HOST"],
    disable_instance_discovery=True)
c = SecretClient(os.environ["AZURE_KEYVAULT_URL"], cred, verify_challenge_resource=False)
if sys.argv[1] == "set":
    c.set_secret(sys.argv[2], sys.argv[3])
else:
    s = c.get_secret(sys.argv[2])
    n = len(list(c.list_properties_of_secret_versions(sys.argv[2])))
    print(json.dumps({"value": s.value, "tags": s.properties.tags,
        "contentType": s.properties.content_type, "versions": n}))
"#;

fn python(args: &[&str]) -> Value {
    let py = std::env::var("AZURE_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(py)
        .arg("-c")
        .arg(PY)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn pull_a_property_and_push_with_tag_and_content_type() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(vault), Some(authority), Some(tenant), Some(client), Some(secret)) = (
        var("AZURE_KEYVAULT_URL"),
        var("AZURE_AUTHORITY_HOST"),
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) else {
        return eso_core::testing::backend_unavailable(
            "AZURE_KEYVAULT_URL",
            "scripts/backends/azure.sh start",
        );
    };
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
    let cert = format!("{id}-tls");
    // A certificate with its key (written by azure.sh start), pushed to cert/ in the first run
    // and pulled back from it in the second.
    let cert_pem = var("AZURE_TEST_CERT_PEM")
        .map(|f| std::fs::read_to_string(f).unwrap())
        .unwrap_or_default();
    let cert_b64 = B64.encode(&cert_pem);
    python(&["set", &src, r#"{"user":"u1","pass":"p1"}"#]);

    let yaml = manifests(&Names {
        vault: &vault,
        authority: &authority,
        tenant: &tenant,
        client: &client,
        secret: &secret,
        src: &src,
        pushed: &pushed,
        cert: &cert,
        cert_b64: &cert_b64,
    });
    let dir = std::env::temp_dir().join(format!("esoctl-azure-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let items = reconcile(&dir, &yaml, "2026-01-01T00:00:00Z");
    let secret = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "db")
        .expect("Secret db in the output");
    let user = B64
        .decode(secret["data"]["user"].as_str().unwrap())
        .unwrap();
    assert_eq!(user, b"u1");
    assert_eq!(
        ready(&items, "PushSecret", "push"),
        ("True".into(), "Synced".into())
    );

    let remote = python(&["get", &pushed]);
    assert_eq!(remote["value"], "t-1", "{remote}");
    assert_eq!(remote["tags"]["managed-by"], "external-secrets", "{remote}");
    assert_eq!(remote["tags"]["team"], "payments", "{remote}");
    assert_eq!(remote["contentType"], "text/plain", "{remote}");

    // An hour later both are due again: the unchanged value adds no version.
    let items = reconcile(&dir, &yaml, "2026-01-01T01:00:00Z");
    assert_eq!(
        ready(&items, "PushSecret", "push"),
        ("True".into(), "Synced".into())
    );
    let remote = python(&["get", &pushed]);
    assert_eq!(remote["versions"], 1, "{remote}");
    assert_eq!(
        ready(&items, "PushSecret", "push-cert"),
        ("True".into(), "Synced".into())
    );
    // The certificate's DER, as ESO gives it.
    let tls = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "tls")
        .expect("Secret tls in the output");
    let der = B64
        .decode(tls["data"]["tls.der"].as_str().unwrap())
        .unwrap();
    assert_eq!(der, certificate_der(&cert_pem));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn managed_identity_through_the_identity_endpoint() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(vault), Some(authority), Some(endpoint), Some(header)) = (
        var("AZURE_KEYVAULT_URL"),
        var("AZURE_AUTHORITY_HOST"),
        var("AZURE_TEST_IDENTITY_ENDPOINT"),
        var("AZURE_TEST_IDENTITY_HEADER"),
    ) else {
        return eso_core::testing::backend_unavailable(
            "AZURE_TEST_IDENTITY_ENDPOINT",
            "scripts/backends/azure.sh start",
        );
    };
    let id = format!(
        "esoctl-mi-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    python(&["set", &id, "from-mi"]);
    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kv-mi, namespace: default}}
spec:
  provider:
    azurekv:
      vaultUrl: '{vault}'
      authType: ManagedIdentity
      identityId: {id}-identity
      environmentType: AzureStackCloud
      useAzureSDK: true
      customCloudConfig: {{activeDirectoryEndpoint: '{authority}'}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: mi, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRef: {{name: kv-mi}}
  data:
  - {{secretKey: value, remoteRef: {{key: {id}}}}}
"#
    );
    let dir = std::env::temp_dir().join(format!("esoctl-azure-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.yaml");
    std::fs::write(&file, yaml).unwrap();
    // The managed-identity endpoint is chosen by the SDK from IDENTITY_ENDPOINT and
    // IDENTITY_HEADER, set on esoctl's process only.
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
        .env("IDENTITY_ENDPOINT", &endpoint)
        .env("IDENTITY_HEADER", &header)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let secret = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "mi")
        .unwrap_or_else(|| panic!("Secret mi in the output: {list}"));
    let v = B64
        .decode(secret["data"]["value"].as_str().unwrap())
        .unwrap();
    assert_eq!(v, b"from-mi");
    // The endpoint saw the user-assigned identity and the vault resource.
    let ca = var("AZURE_KEYVAULT_CA_FILE").unwrap();
    let out = Command::new("curl")
        .args(["-fsS", "--cacert", &ca])
        .arg(format!("{authority}/_test/token-requests"))
        .output()
        .unwrap();
    let reqs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = format!("{id}-identity");
    assert!(
        reqs.as_array()
            .unwrap()
            .iter()
            .any(|r| r["managed_identity"] == true
                && r["client_id"] == want.as_str()
                && r["resource"] == "https://vault.azure.net"),
        "{reqs}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the manifests of [`pull_a_property_and_push_with_tag_and_content_type`] name: the
/// Key Vault and its identity, and the test's secret names.
struct Names<'a> {
    vault: &'a str,
    authority: &'a str,
    tenant: &'a str,
    client: &'a str,
    secret: &'a str,
    src: &'a str,
    pushed: &'a str,
    cert: &'a str,
    cert_b64: &'a str,
}

/// The credentials, the Secrets to push, the store, the ExternalSecrets and PushSecrets.
fn manifests(names: &Names<'_>) -> String {
    let Names {
        vault,
        authority,
        tenant,
        client,
        secret,
        src,
        pushed,
        cert,
        cert_b64,
    } = names;
    format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: azure-sp, namespace: default}}
stringData: {{client-id: '{client}', client-secret: '{secret}'}}
---
apiVersion: v1
kind: Secret
metadata: {{name: app-token, namespace: default}}
stringData: {{token: t-1}}
---
apiVersion: v1
kind: Secret
metadata: {{name: tls-src, namespace: default}}
data: {{bundle.pem: '{cert_b64}'}}
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: kv, namespace: default}}
spec:
  provider:
    azurekv:
      vaultUrl: '{vault}'
      tenantId: '{tenant}'
      environmentType: AzureStackCloud
      useAzureSDK: true
      customCloudConfig: {{activeDirectoryEndpoint: '{authority}'}}
      authSecretRef:
        clientId: {{name: azure-sp, key: client-id}}
        clientSecret: {{name: azure-sp, key: client-secret}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: db, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRef: {{name: kv}}
  data:
  - {{secretKey: user, remoteRef: {{key: secret/{src}, property: user}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: kv}}]
  selector: {{secret: {{name: app-token}}}}
  data:
  - match: {{secretKey: token, remoteRef: {{remoteKey: secret/{pushed}}}}}
    metadata:
      apiVersion: kubernetes.external-secrets.io/v1alpha1
      kind: PushSecretMetadata
      spec: {{contentType: text/plain, tags: {{team: payments}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push-cert, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: kv}}]
  selector: {{secret: {{name: tls-src}}}}
  data:
  - match: {{secretKey: bundle.pem, remoteRef: {{remoteKey: cert/{cert}}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: tls, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRef: {{name: kv}}
  data:
  - {{secretKey: tls.der, remoteRef: {{key: cert/{cert}}}}}
"#
    )
}

/// The DER of the first certificate in `pem`.
fn certificate_der(pem: &str) -> Vec<u8> {
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    B64.decode(body).unwrap()
}
