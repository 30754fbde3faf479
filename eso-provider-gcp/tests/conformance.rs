//! The shared provider conformance suite against the Secret Manager emulator
//! (`scripts/backends/gcp.sh start`), through a store authenticated with a service-account
//! key (self-signed JWTs, no token service needed).

mod common;

use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};
use serde_json::json;

#[tokio::test]
async fn conformance() {
    let env = require_gcp!();
    let p = common::provider(&env, json!({})).await;
    // Secret IDs hold letters, digits, `-` and `_` only.
    let opts = ConformanceOptions::new(unique_prefix("conformance")).with_separator("-");
    let unowned = format!("{}-foreign", opts.prefix());
    env.seed(
        &unowned,
        json!({"owner": "someone"}),
        r#"{"owner":"someone"}"#,
    )
    .await;
    let report = run_conformance(
        p.as_ref(),
        &opts.with_versions("1", "2").with_unowned_key(&unowned),
    )
    .await;
    println!("{p:?}: {report}");
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}

#[tokio::test]
async fn conformance_latest_or_fetch() {
    let env = require_gcp!();
    let p = common::provider(
        &env,
        json!({"secretVersionSelectionPolicy": "LatestOrFetch"}),
    )
    .await;
    let opts = ConformanceOptions::new(unique_prefix("conformance-fetch")).with_separator("-");
    let report = run_conformance(p.as_ref(), &opts.with_versions("1", "2")).await;
    println!("{report}");
    report.assert_passed();
}
