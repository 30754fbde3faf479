//! `retrySettings` against a real kube-apiserver: the provider reaches it through a
//! [`FaultProxy`] (TLS passes through untouched) that drops the first connection; with retries
//! the read succeeds on the next connection, without them it fails with a temporary error.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::cluster::DynCluster;
use eso_core::provider::{RemoteRef, StoreIdentity, StoreRetry, StoreScope};
use eso_core::testing::{FaultProxy, provider_for};
use eso_provider_k8s::KubernetesFactory;
use serde_json::json;

/// `host:port` of a URL such as `https://127.0.0.1:6443`.
fn host_port(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

async fn read_through(
    env: &common::Env,
    local: &DynCluster,
    creds: &str,
    remote: &str,
    proxy: &FaultProxy,
    retry: StoreRetry,
) -> eso_core::Result<Vec<u8>> {
    let spec = json!({"kubernetes": {
        "server": {"url": proxy.url("https"), "caBundle": env.ca_pem},
        "auth": {"token": {"bearerToken": {"name": "token", "key": "token"}}},
        "remoteNamespace": remote,
    }});
    let store = StoreIdentity::new(StoreScope::Namespaced, creds, "kube-retry");
    let p = provider_for(
        Arc::new(KubernetesFactory::new()),
        &store,
        &spec,
        creds,
        local,
        Some(retry),
    )
    .await?;
    let v = p
        .get_secret(&RemoteRef::new("db").with_property("password"))
        .await?;
    Ok(v.expose().to_vec())
}

#[tokio::test]
async fn retry_settings_hide_a_dropped_connection() {
    let env = require_kube!();
    let client = env.client().await;
    let local = common::dyn_cluster(env.cluster().await);
    let creds = common::namespace(&client, "creds").await;
    let remote = common::namespace(&client, "remote").await;
    common::put_secret(
        local.as_ref(),
        &creds,
        "token",
        &[("token", &env.admin_token)],
    )
    .await;
    common::put_secret(local.as_ref(), &remote, "db", &[("password", "s3cr3t")]).await;

    let proxy = FaultProxy::start(host_port(&env.server), 1).await.unwrap();
    let retry = StoreRetry::new(2, Some(Duration::from_millis(10)));
    let v = read_through(&env, &local, &creds, &remote, &proxy, retry)
        .await
        .unwrap();
    assert_eq!(v, b"s3cr3t");
    assert!(proxy.connections() >= 2, "{}", proxy.connections());

    // maxRetries 0: the dropped connection is the answer, as a temporary error.
    let proxy = FaultProxy::start(host_port(&env.server), 1).await.unwrap();
    let err = read_through(&env, &local, &creds, &remote, &proxy, StoreRetry::none())
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert_eq!(proxy.connections(), 1);
}
