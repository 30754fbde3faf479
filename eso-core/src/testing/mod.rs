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
