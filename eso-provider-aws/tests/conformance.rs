//! The shared provider conformance suite against moto: Secrets Manager (with and without a
//! recovery window) and Parameter Store.

mod common;

use eso_core::cluster::MemoryCluster;
use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};
use serde_json::json;

#[tokio::test]
async fn secrets_manager() {
    let env = require_moto!();
    let p = common::provider(
        json!({"service": "SecretsManager", "region": env.region,
               "secretsManager": {"forceDeleteWithoutRecovery": true}}),
        MemoryCluster::new(),
    )
    .await;
    let opts = ConformanceOptions::new(unique_prefix("conformance-sm"));
    let unowned = format!("{}/foreign", opts.prefix());
    env.sm()
        .await
        .create_secret()
        .name(&unowned)
        .secret_string(r#"{"owner":"someone"}"#)
        .send()
        .await
        .expect("seed the unowned secret");
    let report = run_conformance(p.as_ref(), &opts.with_unowned_key(&unowned)).await;
    println!("{p:?}: {report}");
    report.assert_passed();
    // Versions are UUIDs here; they have their own test (tests/secrets_manager.rs).
    assert!(
        report
            .skipped
            .iter()
            .all(|(n, _)| n == "get: older version"),
        "{report}"
    );
}

#[tokio::test]
async fn secrets_manager_with_recovery_window() {
    let env = require_moto!();
    let p = common::provider(
        json!({"service": "SecretsManager", "region": env.region,
               "secretsManager": {"recoveryWindowInDays": 7}}),
        MemoryCluster::new(),
    )
    .await;
    let opts = ConformanceOptions::new(unique_prefix("conformance-sm-rw"));
    let report = run_conformance(p.as_ref(), &opts).await;
    println!("{report}");
    report.assert_passed();
}

#[tokio::test]
async fn parameter_store() {
    let env = require_moto!();
    let p = common::provider(
        json!({"service": "ParameterStore", "region": env.region}),
        MemoryCluster::new(),
    )
    .await;
    // Hierarchical parameter names start with a slash.
    let opts = ConformanceOptions::new(format!("/{}", unique_prefix("conformance-ps")));
    let unowned = format!("{}/foreign", opts.prefix());
    env.ssm()
        .await
        .put_parameter()
        .name(&unowned)
        .value(r#"{"owner":"someone"}"#)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("seed the unowned parameter");
    let report = run_conformance(
        p.as_ref(),
        &opts.with_versions("1", "2").with_unowned_key(&unowned),
    )
    .await;
    println!("{report}");
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
}
