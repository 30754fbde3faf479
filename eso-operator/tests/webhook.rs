//! `eso-operator webhook` called by a real kube-apiserver: a ValidatingWebhookConfiguration
//! points at the running binary (a URL on loopback); the webhook makes its certificate in a
//! Secret and patches the configuration's `caBundle`; the API server then denies a bad
//! ExternalSecret and a bad SecretStore with our field-path messages and admits good ones,
//! and keeps calling while the serving certificate is rotated.

mod common;

use std::time::Duration;

use common::{Running, free_port, namespace, wait_for};
use eso_core::api::{ExternalSecret, SecretStore};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

fn hook(name: &str, resource: &str, port: u16, ns: &str) -> Value {
    json!({
        "name": format!("validate.{name}.external-secrets.io"),
        "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
        "timeoutSeconds": 5,
        "clientConfig": {"url": format!("https://localhost:{port}/validate-external-secrets-io-v1-{name}")},
        "rules": [{"apiGroups": ["external-secrets.io"], "apiVersions": ["v1"],
                   "operations": ["CREATE", "UPDATE"], "resources": [resource],
                   "scope": "Namespaced"}],
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}
    })
}

fn external_secret(ns: &str, name: &str, refresh: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"refreshInterval": refresh,
                 "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                 "data": [{"secretKey": "k", "remoteRef": {"key": "db"}}]}
    }))
    .unwrap()
}

/// Creates `obj`; Ok, or the API server's message.
async fn create(api: &Api<DynamicObject>, obj: &DynamicObject) -> Result<(), String> {
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) => Err(s.message),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_server_calls_the_webhook_through_a_rotation() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = namespace(&client, "webhook").await;
    let port = free_port();
    let config_name = format!("eso-rs-webhook-{ns}");
    let configs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let config: ValidatingWebhookConfiguration = serde_json::from_value(json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": config_name},
        "webhooks": [hook("externalsecret", "externalsecrets", port, &ns),
                     hook("secretstore", "secretstores", port, &ns)]
    }))
    .unwrap();
    configs
        .create(&PostParams::default(), &config)
        .await
        .unwrap();
    let health = free_port();
    let args: Vec<String> = [
        "webhook",
        &format!("--port={port}"),
        "--dns-name=localhost",
        "--secret-name=eso-webhook-cert",
        &format!("--secret-namespace={ns}"),
        &format!("--webhook-config-name={config_name}"),
        "--check-interval=1s",
        "--cert-lifetime=30s",
        "--lookahead-interval=20s",
        &format!("--healthz-addr=127.0.0.1:{health}"),
        &format!("--metrics-addr=127.0.0.1:{health}"),
        "--zap-time-encoding=epoch",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let webhook = Running::start(&env.kubeconfig_path, &args, &[]);

    wait_for("the caBundle to be patched", || async {
        assert!(!webhook.exited(), "the webhook exited:\n{}", webhook.log());
        let c = configs.get(&config_name).await.unwrap();
        c.webhooks
            .unwrap_or_default()
            .iter()
            .all(|w| w.client_config.ca_bundle.is_some())
    })
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let cert = |s: Secret| s.data.unwrap_or_default().get("tls.crt").cloned();
    let first = cert(secrets.get("eso-webhook-cert").await.unwrap()).unwrap();

    let es_api = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::erase::<ExternalSecret>(&()),
    );
    let ss_api = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::erase::<SecretStore>(&()),
    );
    // The API server picks the new caBundle up shortly after the patch.
    wait_for("the first admission through the webhook", || async {
        create(&es_api, &external_secret(&ns, "good-0", "1h"))
            .await
            .is_ok()
    })
    .await;
    let denied = create(&es_api, &external_secret(&ns, "bad", "5x"))
        .await
        .unwrap_err();
    assert!(
        denied.contains("denied the request")
            && denied.contains(&format!("ExternalSecret {ns}/bad: spec.refreshInterval")),
        "{denied}"
    );
    let bad_store: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "bad", "namespace": ns},
        "spec": {"provider": {}}
    }))
    .unwrap();
    let denied = create(&ss_api, &bad_store).await.unwrap_err();
    assert!(
        denied.contains(&format!("SecretStore {ns}/bad: spec.provider")),
        "{denied}"
    );
    let good_store: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": ns},
        "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v"}]}}}
    }))
    .unwrap();
    create(&ss_api, &good_store).await.unwrap();

    // Keep the API server calling while the serving certificate is renewed (10 s after it
    // was made): every call is answered, good ones admitted and bad ones denied by us.
    let mut rotated = false;
    for i in 1..300 {
        let good = create(&es_api, &external_secret(&ns, &format!("good-{i}"), "1h")).await;
        assert!(good.is_ok(), "call {i} failed: {good:?}");
        let bad = create(&es_api, &external_secret(&ns, &format!("bad-{i}"), "x")).await;
        assert!(
            bad.as_ref()
                .is_err_and(|m| m.contains("spec.refreshInterval")),
            "call {i}: {bad:?}"
        );
        let now = cert(secrets.get("eso-webhook-cert").await.unwrap()).unwrap();
        if now != first && webhook.log().contains("serving a new webhook certificate") {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        rotated,
        "the certificate was not rotated:\n{}",
        webhook.log()
    );
    // And calls on the new certificate.
    for j in 0..5 {
        let name = format!("after-{j}");
        create(&es_api, &external_secret(&ns, &name, "1h"))
            .await
            .unwrap();
    }
    let log = webhook.log();
    assert!(
        log.contains("\"level\":\"info\"") && log.contains("\"msg\":"),
        "ESO-style JSON log:\n{log}"
    );
    assert!(log.contains("zap"), "zap flags are acknowledged:\n{log}");

    let metrics = reqwest::get(format!("http://127.0.0.1:{health}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("controller_runtime_webhook_requests_total{code=\"200\",webhook=\"/validate-external-secrets-io-v1-externalsecret\"}"),
        "{metrics}"
    );
    configs
        .delete(&config_name, &DeleteParams::default())
        .await
        .unwrap();
}
