//! The backup use case of ESO's PushSecret guide through `esoctl reconcile`: an ExternalSecret
//! reads every secret of a prefix from GCP Secret Manager (the emulator, `find` by name), and a
//! PushSecret copies the resulting Secret into Azure Key Vault (the test server). Both stores'
//! contents are checked. Needs `scripts/backends/gcp.sh start` and `azure.sh start`.
#![cfg(all(feature = "gcp", feature = "azure"))]

use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

mod common;
use common::*;

/// Reads a Key Vault secret with Microsoft's Python SDK (`AZURE_PYTHON`).
fn azure_get(name: &str) -> Value {
    const PY: &str = r#"
import json, os, sys
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
cred = ClientSecretCredential(os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"],
    os.environ["AZURE_CLIENT_SECRET"], authority=os.environ["AZURE_AUTHORITY_HOST"],
    disable_instance_discovery=True)
c = SecretClient(os.environ["AZURE_KEYVAULT_URL"], cred, verify_challenge_resource=False)
s = c.get_secret(sys.argv[1])
print(json.dumps({"value": s.value, "tags": s.properties.tags}))
"#;
    let py = std::env::var("AZURE_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(py)
        .arg("-c")
        .arg(PY)
        .arg(name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn backup_gcp_secrets_into_key_vault() {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let (Some(gcp), Some(vault), Some(authority), Some(tenant), Some(client), Some(secret)) = (
        var("GCP_SECRET_MANAGER_REST_ENDPOINT"),
        var("AZURE_KEYVAULT_URL"),
        var("AZURE_AUTHORITY_HOST"),
        var("AZURE_TENANT_ID"),
        var("AZURE_CLIENT_ID"),
        var("AZURE_CLIENT_SECRET"),
    ) else {
        return eso_core::testing::backend_unavailable(
            "GCP_SECRET_MANAGER_REST_ENDPOINT and AZURE_KEYVAULT_URL",
            "scripts/backends/gcp.sh start; scripts/backends/azure.sh start",
        );
    };
    let gcp = gcp.trim_end_matches('/');
    let project = var("GCP_PROJECT_ID").unwrap_or_else(|| "eso-test".into());
    let prefix = format!(
        "backup-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let names = [format!("{prefix}-db"), format!("{prefix}-api")];
    seed_sources(gcp, &project, &names);
    let yaml = manifests(&Names {
        vault: &vault,
        authority: &authority,
        tenant: &tenant,
        client: &client,
        secret: &secret,
        project: &project,
        prefix: &prefix,
        sources: &names,
    });
    let dir = std::env::temp_dir().join(format!("esoctl-{prefix}"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.yaml");
    std::fs::write(&file, yaml).unwrap();
    // Two runs an hour apart: the PushSecret sees the ExternalSecret's Secret at the latest in
    // the second.
    let mut items = Vec::new();
    for now in ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"] {
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
        items = list["items"].as_array().unwrap().clone();
    }
    let pulled = items
        .iter()
        .find(|i| i["kind"] == "Secret" && i["metadata"]["name"] == "app-secrets")
        .expect("Secret app-secrets in the output");
    for (n, v) in names.iter().zip(["db-pass", "api-key"]) {
        let got = B64.decode(pulled["data"][n].as_str().unwrap()).unwrap();
        assert_eq!(got, v.as_bytes(), "{n} in the Secret");
        // The copy in Key Vault, read with the Python SDK.
        let copy = azure_get(n);
        assert_eq!(copy["value"], v, "{n} in Key Vault: {copy}");
        assert_eq!(copy["tags"]["managed-by"], "external-secrets");
        // The source is untouched.
        let src = gcp_rest(
            gcp,
            &project,
            "GET",
            &format!("secrets/{n}/versions/latest:access"),
            None,
        );
        assert_eq!(
            B64.decode(src["payload"]["data"].as_str().unwrap())
                .unwrap(),
            v.as_bytes()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One GCP secret per name, holding `db-pass` and `api-key`.
fn seed_sources(gcp: &str, project: &str, names: &[String]) {
    for (n, v) in names.iter().zip(["db-pass", "api-key"]) {
        gcp_rest(
            gcp,
            project,
            "POST",
            &format!("secrets?secretId={n}"),
            Some(r#"{"replication":{"automatic":{}}}"#),
        );
        let body = format!(r#"{{"payload":{{"data":"{}"}}}}"#, B64.encode(v));
        gcp_rest(
            gcp,
            project,
            "POST",
            &format!("secrets/{n}:addVersion"),
            Some(&body),
        );
    }
}

/// What the manifests of [`backup_gcp_secrets_into_key_vault`] name: the Key Vault and its
/// identity, the GCP project, and the source secrets (all starting with `prefix`).
struct Names<'a> {
    vault: &'a str,
    authority: &'a str,
    tenant: &'a str,
    client: &'a str,
    secret: &'a str,
    project: &'a str,
    prefix: &'a str,
    sources: &'a [String],
}

/// Both stores with their credentials, an ExternalSecret finding every source in GCP and a
/// PushSecret copying each into Key Vault.
fn manifests(names: &Names<'_>) -> String {
    let Names {
        vault,
        authority,
        tenant,
        client,
        secret,
        project,
        prefix,
        sources,
    } = names;
    let push_data: String = sources
        .iter()
        .map(|n| format!("  - match: {{secretKey: {n}, remoteRef: {{remoteKey: {n}}}}}\n"))
        .collect();
    format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: gcp-sa, namespace: default}}
stringData: {{key.json: '{key}'}}
---
apiVersion: v1
kind: Secret
metadata: {{name: azure-sp, namespace: default}}
stringData: {{client-id: '{client}', client-secret: '{secret}'}}
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
kind: SecretStore
metadata: {{name: backup, namespace: default}}
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
metadata: {{name: from-gcp, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRef: {{name: gcp}}
  target: {{name: app-secrets}}
  dataFrom:
  - find: {{name: {{regexp: '^{prefix}-'}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: to-azure, namespace: default}}
spec:
  refreshInterval: 1m
  secretStoreRefs: [{{name: backup}}]
  selector: {{secret: {{name: app-secrets}}}}
  data:
{push_data}"#,
        key = sa_key()
    )
}
