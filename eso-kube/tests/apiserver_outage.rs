//! The operator while its API server goes away and comes back: the operator's client
//! reaches the kube-apiserver through a [`FaultProxy`]; the proxy drops every connection
//! (watches included) and refuses new ones for a while, as a restarting API server does. An
//! ExternalSecret created during the outage (by a client that does not go through the proxy)
//! is synced once the server answers again, the one synced before stays synced, and the
//! operator still shuts down gracefully.

mod common;

use common::wait_for;

use std::time::Duration;

use eso_core::api::{ExternalSecret, SecretStore};
use eso_core::provider::ProviderRegistry;
use eso_core::testing::{Fault, FaultProxy};
use eso_kube::operator::{Operator, Shutdown};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

/// A client for the same API server, through `proxy`.
async fn client_through(env: &common::Env, proxy: &FaultProxy) -> kube::Client {
    let mut kc = Kubeconfig::from_yaml(&env.kubeconfig).unwrap();
    for c in &mut kc.clusters {
        if let Some(cluster) = c.cluster.as_mut() {
            cluster.server = Some(proxy.url("https"));
        }
    }
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

fn host_port(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned()
}

fn external_secret(ns: &str, name: &str) -> ExternalSecret {
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"refreshInterval": "1h",
                 "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                 "target": {"name": format!("{name}-target")},
                 "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}
    }))
    .unwrap()
}

async fn synced(client: &kube::Client, ns: &str, name: &str) -> bool {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let value = secrets
        .get_opt(&format!("{name}-target"))
        .await
        .ok()
        .flatten()
        .and_then(|s| s.data)
        .and_then(|d| d.get("password").cloned());
    let es: Api<ExternalSecret> = Api::namespaced(client.clone(), ns);
    let ready = es.get_opt(name).await.ok().flatten().is_some_and(|e| {
        let status = serde_json::to_value(&e.status).unwrap_or(Value::Null);
        status["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    });
    ready && value == Some(ByteString(b"v1".to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_rides_out_an_api_server_outage() {
    let env = require_kube!();
    let admin = env.client().await;
    common::install_crds(&admin).await;
    let ns = common::namespace(&admin, "outage").await;
    let stores: Api<SecretStore> = Api::namespaced(admin.clone(), &ns);
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": ns},
        "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}
    }))
    .unwrap();
    stores.create(&PostParams::default(), &store).await.unwrap();

    let proxy = FaultProxy::start(&host_port(&env.server), 0).await.unwrap();
    let through_proxy = client_through(&env, &proxy).await;
    let (stop, shutdown) = Shutdown::new();
    let op = tokio::spawn(Operator::new(through_proxy, ProviderRegistry::new()).run(shutdown));

    let es: Api<ExternalSecret> = Api::namespaced(admin.clone(), &ns);
    es.create(&PostParams::default(), &external_secret(&ns, "before"))
        .await
        .unwrap();
    wait_for("the first ExternalSecret to sync", || {
        synced(&admin, &ns, "before")
    })
    .await;

    // The API server "restarts": every connection of the operator drops, new ones are
    // refused for a few seconds. Meanwhile a user creates an ExternalSecret.
    proxy.set_fault(Fault::Close);
    es.create(&PostParams::default(), &external_secret(&ns, "during"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !synced(&admin, &ns, "during").await,
        "nothing can sync while the operator cannot reach its API server"
    );
    proxy.set_fault(Fault::Forward);

    wait_for(
        "the ExternalSecret created during the outage to sync",
        || synced(&admin, &ns, "during"),
    )
    .await;
    assert!(synced(&admin, &ns, "before").await);

    stop.trigger();
    tokio::time::timeout(Duration::from_secs(60), op)
        .await
        .expect("the operator shuts down after the outage")
        .expect("the operator task ends without a panic");
}
