//! `retrySettings` against a real OpenBao: the provider reaches the server through a
//! [`FaultProxy`] that drops the first connection; with retries the read succeeds on the next
//! connection, without them it fails with a temporary error.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::cluster::DynCluster;
use eso_core::provider::{RemoteRef, StoreIdentity, StoreRetry, StoreScope};
use eso_core::testing::{FaultProxy, provider_for};
use eso_provider_vault::VaultFactory;
use serde_json::json;

/// `host:port` of a URL such as `http://127.0.0.1:8200`.
fn host_port(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

async fn read_through(
    env: &common::Env,
    proxy: &FaultProxy,
    key: &str,
    retry: StoreRetry,
) -> eso_core::Result<Vec<u8>> {
    let cluster: DynCluster = Arc::new(common::cluster_with_token(env));
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "vault-retry");
    let spec = json!({"vault": {"server": proxy.url("http"), "path": "secret",
                                "auth": common::token_auth()}});
    let p = provider_for(
        Arc::new(VaultFactory::new()),
        &store,
        &spec,
        "default",
        &cluster,
        Some(retry),
    )
    .await?;
    let v = p
        .get_secret(&RemoteRef::new(key).with_property("v"))
        .await?;
    Ok(v.expose().to_vec())
}

#[tokio::test]
async fn retry_settings_hide_a_dropped_connection() {
    let env = require_vault!();
    let key = eso_core::testing::conformance::unique_prefix("retry");
    env.root()
        .write(&format!("secret/data/{key}"), json!({"data": {"v": "ok"}}))
        .await;

    let proxy = FaultProxy::start(host_port(&env.addr), 1).await.unwrap();
    let retry = StoreRetry::new(2, Some(Duration::from_millis(10)));
    let v = read_through(&env, &proxy, &key, retry).await.unwrap();
    assert_eq!(v, b"ok");
    assert!(proxy.connections() >= 2, "{}", proxy.connections());

    // maxRetries 0: the dropped connection is the answer, as a temporary error.
    let proxy = FaultProxy::start(host_port(&env.addr), 1).await.unwrap();
    let err = read_through(&env, &proxy, &key, StoreRetry::none())
        .await
        .unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert_eq!(proxy.connections(), 1);

    env.root().delete(&format!("secret/metadata/{key}")).await;
}
