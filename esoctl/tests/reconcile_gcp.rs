//! `esoctl reconcile` with the `gcpsm` provider against the Secret Manager emulator
//! (`scripts/backends/gcp.sh start`, which exports `GCP_SECRET_MANAGER_REST_ENDPOINT`): an
//! ordinary store spec authenticated with a service-account key (self-signed JWTs, no token
//! service), an ExternalSecret pulling a JSON property and a numbered version, and a
//! PushSecret whose value arrives with the `managed-by` label, once.

use base64::Engine as _;

mod common;
use common::*;

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
    seed_source(endpoint, &project, &src);
    let yaml = manifests(&project, &src, &pushed);
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

    check_pushed_once(endpoint, &project, &pushed);

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
    let versions = gcp_rest(
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

/// The source secret `src` with two versions of a JSON document.
fn seed_source(endpoint: &str, project: &str, src: &str) {
    gcp_rest(
        endpoint,
        project,
        "POST",
        &format!("secrets?secretId={src}"),
        Some(r#"{"replication":{"automatic":{}}}"#),
    );
    for v in [
        r#"{"user":"u1","pass":"p1"}"#,
        r#"{"user":"u2","pass":"p2"}"#,
    ] {
        let body = format!(r#"{{"payload":{{"data":"{}"}}}}"#, B64.encode(v));
        gcp_rest(
            endpoint,
            project,
            "POST",
            &format!("secrets/{src}:addVersion"),
            Some(&body),
        );
    }
}

/// The manifests of the test: the service-account key, the Secret to push, the store, an
/// ExternalSecret reading `src` and a PushSecret writing `pushed`.
fn manifests(project: &str, src: &str, pushed: &str) -> String {
    format!(
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
    )
}

/// The pushed secret carries ESO's `managed-by` label and the value.
fn check_pushed_once(endpoint: &str, project: &str, pushed: &str) {
    let remote = gcp_rest(endpoint, project, "GET", &format!("secrets/{pushed}"), None);
    assert_eq!(remote["labels"]["managed-by"], "external-secrets");
    let value = gcp_rest(
        endpoint,
        project,
        "GET",
        &format!("secrets/{pushed}/versions/latest:access"),
        None,
    );
    assert_eq!(
        B64.decode(value["payload"]["data"].as_str().unwrap())
            .unwrap(),
        b"t-1"
    );
}
