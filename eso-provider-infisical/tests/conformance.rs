//! The shared provider conformance suite against the Infisical test server
//! (`scripts/backends/infisical.sh start`), through universal auth.

mod common;

use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};
use serde_json::json;

#[tokio::test]
async fn conformance() {
    let Some(env) = common::env() else { return };
    let p = env.store(json!({})).await;
    // Secret names are flat in the store's folder.
    let opts = ConformanceOptions::new(unique_prefix("conformance")).with_separator("-");
    let report = run_conformance(&p, &opts).await;
    println!("{p:?}: {report}");
    report.assert_passed();
    assert_eq!(p.token_stats().logins, 1, "one login for the whole run");
}
