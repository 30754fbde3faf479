//! `retrySettings` against moto: the provider reaches it through a [`FaultProxy`] that drops
//! the first connection; with retries the read succeeds on the next connection, without them
//! it fails with a temporary error.
//!
//! The AWS SDK takes its endpoint from the process environment (`AWS_ENDPOINT_URL`), which a
//! test cannot change without `unsafe`, so this binary runs its own reader test as a child
//! process whose `AWS_ENDPOINT_URL` is the proxy, and counts the connections here.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::cluster::{DynCluster, MemoryCluster};
use eso_core::provider::{RemoteRef, StoreIdentity, StoreRetry, StoreScope};
use eso_core::testing::{FaultProxy, provider_for, run_test_in_child};
use eso_provider_aws::AwsFactory;
use serde_json::json;

/// Set in the child process: the secret to read and the `maxRetries` to read it with.
const CHILD_KEY: &str = "ESO_AWS_RETRY_TEST_KEY";
const CHILD_RETRIES: &str = "ESO_AWS_RETRY_TEST_MAX_RETRIES";

/// `host:port` of a URL such as `http://127.0.0.1:5000`.
fn host_port(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// Runs [`read_in_child`] in a child process whose endpoint is `proxy`; returns its output.
async fn child(proxy: &FaultProxy, key: &str, retries: u32) -> String {
    let env = [
        ("AWS_ENDPOINT_URL", proxy.url("http")),
        (CHILD_KEY, key.to_owned()),
        (CHILD_RETRIES, retries.to_string()),
    ];
    // The proxy serves on this runtime while the child runs.
    tokio::task::spawn_blocking(move || run_test_in_child("read_in_child", &env))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_settings_hide_a_dropped_connection() {
    let env = require_moto!();
    let key = eso_core::testing::conformance::unique_prefix("retry");
    env.sm()
        .await
        .create_secret()
        .name(&key)
        .secret_string("ok")
        .send()
        .await
        .unwrap();

    let proxy = FaultProxy::start(host_port(&env.endpoint), 1)
        .await
        .unwrap();
    let out = child(&proxy, &key, 2).await;
    assert!(out.contains("read: ok"), "{out}");
    assert!(proxy.connections() >= 2, "{}", proxy.connections());

    // maxRetries 0: the dropped connection is the answer, as a temporary error.
    let proxy = FaultProxy::start(host_port(&env.endpoint), 1)
        .await
        .unwrap();
    let out = child(&proxy, &key, 0).await;
    assert!(out.contains("read: temporary error"), "{out}");
    assert_eq!(proxy.connections(), 1);

    env.sm()
        .await
        .delete_secret()
        .secret_id(&key)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
}

/// The reader half of [`retry_settings_hide_a_dropped_connection`], run only by that test in
/// a child process (ignored in a normal run, where it would have nothing to do).
#[tokio::test]
#[ignore = "run by retry_settings_hide_a_dropped_connection as a child process"]
async fn read_in_child() {
    let (Some(key), Some(retries)) = (common::var(CHILD_KEY), common::var(CHILD_RETRIES)) else {
        return;
    };
    let env = require_moto!();
    let retries: u32 = retries.parse().unwrap();
    let cluster: DynCluster = Arc::new(MemoryCluster::new());
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "aws-retry");
    let p = provider_for(
        Arc::new(AwsFactory::new()),
        &store,
        &json!({"aws": {"service": "SecretsManager", "region": env.region}}),
        "default",
        &cluster,
        Some(StoreRetry::new(retries, Some(Duration::from_millis(10)))),
    )
    .await
    .unwrap();
    match p.get_secret(&RemoteRef::new(&key)).await {
        Ok(v) => println!("read: {}", String::from_utf8_lossy(v.expose())),
        Err(e) if e.is_temporary() => println!("read: temporary error: {e}"),
        Err(e) => panic!("read: unexpected error: {e}"),
    }
}
