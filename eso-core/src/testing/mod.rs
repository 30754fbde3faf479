//! Test support for provider authors (feature `testing`; **not** semver-stable).
//!
//! [`conformance`] is the shared provider conformance suite: every provider crate runs it
//! against its real backend, and `eso-core` runs it against [`InMemory`](crate::provider::InMemory).
//! Out-of-tree providers can run it too. [`FaultProxy`] stands between a provider and its
//! backend and drops the first connections, to test `retrySettings`.
//!
//! ```
//! use eso_core::provider::InMemory;
//! use eso_core::testing::conformance::{ConformanceOptions, run_conformance};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = InMemory::new();
//! let report = run_conformance(&store, &ConformanceOptions::new("doc-test")).await;
//! report.assert_passed();
//! # });
//! ```

#[cfg(feature = "testing")]
pub mod conformance;
#[cfg(feature = "testing")]
mod counting;
mod data;
#[cfg(feature = "testing")]
mod fault_proxy;

#[cfg(feature = "testing")]
pub use counting::Counting;
pub use data::{
    BENCH_DIR, CONFORMANCE_DIR, REQUIRE_DATA, bench_dir, bench_file, conformance_dir,
    conformance_file, conformance_folder, data_unavailable,
};
#[cfg(feature = "testing")]
pub use fault_proxy::{Fault, FaultProxy};

/// The parser of `spec.syncWindows[].schedule` (ESO's cron dialect), for fuzzing and tests.
pub use crate::reconcile::sync_window::cron::CronSchedule;

/// The environment variable with which a test run declares its backends started: a backend
/// test that finds its variables missing then fails instead of skipping.
pub const REQUIRE_BACKENDS: &str = "ESO_REQUIRE_BACKENDS";

/// Reports a backend a test needs but cannot find, then lets the test return.
///
/// With [`REQUIRE_BACKENDS`]`=1` (set by `scripts/test.sh` once it has started every backend)
/// this panics, so the test fails; otherwise it prints `skipped: {missing} not set (run
/// {how_to_start})` and the caller returns. A missing backend is never silent.
///
/// ```
/// fn needs_vault() {
///     let Ok(_addr) = std::env::var("ESO_DOC_EXAMPLE_VAULT_ADDR") else {
///         return eso_core::testing::backend_unavailable(
///             "ESO_DOC_EXAMPLE_VAULT_ADDR",
///             "scripts/backends/openbao.sh start",
///         );
///     };
/// }
/// # if std::env::var(eso_core::testing::REQUIRE_BACKENDS).as_deref() != Ok("1") { needs_vault(); }
/// ```
pub fn backend_unavailable(missing: &str, how_to_start: &str) {
    if std::env::var(REQUIRE_BACKENDS).as_deref() == Ok("1") {
        panic!("{missing} not set although {REQUIRE_BACKENDS}=1 (run {how_to_start})");
    }
    println!("skipped: {missing} not set (run {how_to_start})");
}

/// Builds a provider the way a reconcile does: `spec` (the store's whole `spec.provider`
/// object, e.g. `{"vault": {...}}`) is loaded into the API model, then a registry holding
/// only `factory` validates it, builds the client and puts the [`Retry`](crate::provider::Retry)
/// layer of `retry` around it. `namespace` is where credentials resolve.
///
/// ```
/// use std::sync::Arc;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{InMemoryFactory, RemoteRef, StoreIdentity, StoreScope};
/// use eso_core::testing::provider_for;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "mem");
/// let spec = serde_json::json!({"fake": {"data": [{"key": "k", "value": "v"}]}});
/// let p = provider_for(Arc::new(InMemoryFactory::default()), &store, &spec, "apps", &cluster, None)
///     .await
///     .unwrap();
/// assert_eq!(p.get_secret(&RemoteRef::new("k")).await.unwrap().expose(), b"v");
/// # });
/// ```
pub async fn provider_for(
    factory: std::sync::Arc<dyn crate::provider::ProviderFactory>,
    store: &crate::provider::StoreIdentity,
    spec: &serde_json::Value,
    namespace: &str,
    cluster: &crate::cluster::DynCluster,
    retry: Option<crate::provider::StoreRetry>,
) -> crate::Result<crate::provider::DynProvider> {
    let provider: crate::api::SecretStoreProvider = serde_path_to_error::deserialize(spec)
        .map_err(|e| {
            crate::Error::invalid_config(
                format!("spec.provider.{}", e.path()),
                e.into_inner().to_string(),
            )
        })?;
    let mut registry = crate::provider::ProviderRegistry::empty();
    registry.register(factory);
    let ctx =
        crate::provider::StoreContext::new(store, &provider, namespace, cluster).with_retry(retry);
    registry.provider(&ctx).await
}

/// Runs the test `test` of the current test binary in a child process with `env` added to
/// its environment, and returns what it printed. Panics (failing the calling test) when the
/// child fails or did not run exactly that test.
///
/// For tests that need a process-wide setting the test itself may not change without
/// `unsafe` (an SDK reading its endpoint from `AWS_ENDPOINT_URL`): the parent sets up, the
/// child reads with the variable set. Mark the child half `#[ignore]` (ignored tests are
/// run here): a normal run then skips it instead of passing it with nothing done. Call it from a blocking context
/// (`tokio::task::spawn_blocking`) when the parent serves something the child talks to.
pub fn run_test_in_child(test: &str, env: &[(&str, String)]) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        test,
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the child did not run {test}:\n{text}"
    );
    text
}
