//! Test support for provider authors (feature `testing`; **not** semver-stable).
//!
//! [`conformance`] is the shared provider conformance suite: every provider crate runs it
//! against its real backend, and `eso-core` runs it against [`InMemory`](crate::provider::InMemory).
//! Out-of-tree providers can run it too.
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

pub mod conformance;

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
