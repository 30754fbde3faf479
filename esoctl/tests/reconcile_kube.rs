//! `esoctl reconcile --kubeconfig` against the kube-apiserver of `scripts/backends/kube.sh`.
#![cfg(feature = "kubernetes")]

use std::process::Command;
use std::time::Duration;

use eso_core::api::{ExternalSecret, PushSecret, SecretStore};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn one_pass_against_the_api_server() {
    let (Ok(kubeconfig), Ok(server), Ok(token), Ok(ca)) = (
        std::env::var("KUBECONFIG"),
        std::env::var("KUBE_API_SERVER"),
        std::env::var("KUBE_ADMIN_TOKEN"),
        std::env::var("KUBE_CA_CERT"),
    ) else {
        return eso_core::testing::backend_unavailable(
            "KUBECONFIG",
            "eval \"$(scripts/backends/kube.sh start)\"",
        );
    };
    let ca = std::fs::read_to_string(ca).unwrap();
    let client = kube::Client::try_default().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [ExternalSecret::crd(), PushSecret::crd(), SecretStore::crd()] {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("eso-rs-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    for _ in 0..100 {
        if Api::<SecretStore>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ns = format!(
        "esoctl-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for (name, data) in [
        ("token", json!({"token": token})),
        ("source", json!({"password": "p1"})),
    ] {
        secrets
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
                    .unwrap(),
            )
            .await
            .unwrap();
    }
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "here", "namespace": ns},
        "spec": {"provider": {"kubernetes": {"remoteNamespace": ns,
            "server": {"url": server, "caBundle": ca},
            "auth": {"token": {"bearerToken": {"name": "token", "key": "token"}}}}}}
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
    let es: ExternalSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": ns},
        "spec": {"secretStoreRef": {"name": "here"}, "target": {"name": "app"},
                 "data": [{"secretKey": "pw", "remoteRef": {"key": "source", "property": "password"}}]}
    }))
    .unwrap();
    let es_api = Api::<ExternalSecret>::namespaced(client.clone(), &ns);
    es_api.create(&PostParams::default(), &es).await.unwrap();

    // Two passes: the first validates the store (ESO's flood gate wants it Ready first).
    let mut out = None;
    for _ in 0..2 {
        out = Some(
            Command::new(env!("CARGO_BIN_EXE_esoctl"))
                .args(["reconcile", "--kubeconfig", &kubeconfig, "-o", "json"])
                .output()
                .unwrap(),
        );
    }
    let out = out.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"kind\": \"ExternalSecret\""), "{stdout}");
    let target = secrets.get("app").await.unwrap();
    assert_eq!(target.data.unwrap()["pw"], ByteString(b"p1".to_vec()));
    let status = serde_json::to_value(es_api.get("app").await.unwrap().status).unwrap();
    assert_eq!(status["conditions"][0]["status"], "True", "{status}");
    // No secret value on the terminal.
    assert!(!stdout.contains("p1\"") && !String::from_utf8_lossy(&out.stderr).contains(&token));
}
