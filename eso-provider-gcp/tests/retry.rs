//! `retrySettings` against the Secret Manager emulator: the provider reaches it through a
//! [`FaultProxy`] that drops the first connection; with retries the read succeeds on the next
//! connection, without them it fails with a temporary error.
//!
//! The provider takes its endpoint from the process environment
//! (`GCP_SECRET_MANAGER_REST_ENDPOINT`), which a test cannot change without `unsafe`, so this
//! binary runs its own reader test as a child process whose endpoint is the proxy, and counts
//! the connections here.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::cluster::DynCluster;
use eso_core::provider::{RemoteRef, StoreIdentity, StoreRetry, StoreScope};
use eso_core::testing::{FaultProxy, provider_for, run_test_in_child};
use eso_provider_gcp::{ENDPOINT_ENV, GcpFactory};
use serde_json::json;

/// Set in the child process: the secret to read and the `maxRetries` to read it with.
const CHILD_KEY: &str = "ESO_GCP_RETRY_TEST_KEY";
const CHILD_RETRIES: &str = "ESO_GCP_RETRY_TEST_MAX_RETRIES";

/// `host:port` of a URL such as `http://127.0.0.1:5000`.
fn host_port(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// Runs [`read_in_child`] in a child process whose endpoint is `proxy`; returns its output.
async fn child(proxy: &FaultProxy, key: &str, retries: u32) -> String {
    let env = [
        (ENDPOINT_ENV, proxy.url("http")),
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
    let env = require_gcp!();
    let key = common::unique("retry");
    env.seed(&key, json!({}), "ok").await;

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
}

/// The reader half of [`retry_settings_hide_a_dropped_connection`], run only by that test in
/// a child process (ignored in a normal run, where it would have nothing to do).
#[tokio::test]
#[ignore = "run by retry_settings_hide_a_dropped_connection as a child process"]
async fn read_in_child() {
    let (Ok(key), Ok(retries)) = (std::env::var(CHILD_KEY), std::env::var(CHILD_RETRIES)) else {
        return;
    };
    let env = require_gcp!();
    let retries: u32 = retries.parse().unwrap();
    let cluster = common::cluster_with_key(&common::sa_key("http://127.0.0.1:9/token")).await;
    let cluster: DynCluster = Arc::new(cluster);
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "gcp-retry");
    let p = provider_for(
        Arc::new(GcpFactory::new()),
        &store,
        &json!({"gcpsm": {"projectID": env.project, "auth": common::secret_ref_auth()}}),
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
