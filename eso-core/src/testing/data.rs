//! The ESO-derived test data: where it is, and what a test does when it is not there.
//!
//! The conformance cases (`conformance/`: ESO's documentation manifests, template cases,
//! data-hash vectors, strategy and generator cases) and the benchmark corpus (`bench/`) were
//! extracted from ESO v2.9.0 and live beside the clone, in `../shared`, not in the
//! repository. A test that needs them and does not find them prints one `skipped:` line
//! naming the variable that points at them and returns; with [`REQUIRE_DATA`]`=1` (set by
//! `.ci/run`) it fails instead, so CI never skips them silently.

use std::path::{Path, PathBuf};

/// The environment variable with which a run declares the conformance data present: a test
/// that cannot find it then fails instead of skipping.
pub const REQUIRE_DATA: &str = "ESO_REQUIRE_CONFORMANCE";

/// The variable that points at the conformance cases (default: `../shared/conformance`
/// next to the workspace).
pub const CONFORMANCE_DIR: &str = "ESO_CONFORMANCE_DIR";

/// The variable that points at the benchmark corpus (default: `../shared/bench`).
pub const BENCH_DIR: &str = "ESO_BENCH_DIR";

fn shared(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared")
                .join(default)
        },
        PathBuf::from,
    )
}

/// The conformance cases' folder (`$ESO_CONFORMANCE_DIR`, else `../shared/conformance`).
pub fn conformance_dir() -> PathBuf {
    shared(CONFORMANCE_DIR, "conformance")
}

/// The benchmark corpus' folder (`$ESO_BENCH_DIR`, else `../shared/bench`).
pub fn bench_dir() -> PathBuf {
    shared(BENCH_DIR, "bench")
}

/// Reports missing test data, then lets the test return: prints `skipped: ...` naming the
/// path and the variable, or panics when [`REQUIRE_DATA`]`=1`.
pub fn data_unavailable(path: &Path, var: &str) {
    let why = format!(
        "{} not found (ESO-derived test data, kept beside the clone in ../shared; set {var} to its folder)",
        path.display()
    );
    if std::env::var(REQUIRE_DATA).as_deref() == Ok("1") {
        panic!("{why}, although {REQUIRE_DATA}=1");
    }
    println!("skipped: {why}");
}

/// Reads `relative` (e.g. `data-hash.json`) from the conformance cases, or reports it
/// missing with [`data_unavailable`] and returns `None`.
///
/// ```
/// use eso_core::testing::conformance_file;
///
/// let Some(text) = conformance_file("data-hash.json") else { return };
/// assert!(text.contains("cases"));
/// ```
pub fn conformance_file(relative: &str) -> Option<String> {
    read_or_report(&conformance_dir().join(relative), CONFORMANCE_DIR)
}

/// Reads `relative` from the benchmark corpus, like [`conformance_file`].
pub fn bench_file(relative: &str) -> Option<String> {
    read_or_report(&bench_dir().join(relative), BENCH_DIR)
}

/// The conformance sub-folder `relative` if it exists, else reports it missing and returns
/// `None`.
pub fn conformance_folder(relative: &str) -> Option<PathBuf> {
    let dir = conformance_dir().join(relative);
    if dir.is_dir() {
        Some(dir)
    } else {
        data_unavailable(&dir, CONFORMANCE_DIR);
        None
    }
}

fn read_or_report(path: &Path, var: &str) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(_) => {
            data_unavailable(path, var);
            None
        }
    }
}
