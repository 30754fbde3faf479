//! Shared helpers of the moto integration tests: environment (exported by
//! `scripts/backends/moto.sh start`), provider construction, raw SDK clients to prepare the
//! server, and moto's request recorder.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use base64::Engine as _;
use eso_core::cluster::{DynCluster, MemoryCluster};
use eso_core::provider::{DynProvider, StoreIdentity, StoreScope};
use eso_provider_aws::AwsFactory;
use serde_json::Value;

/// Returns the environment, or prints why the test is skipped and returns from it.
#[macro_export]
macro_rules! require_moto {
    () => {
        match common::Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "AWS_ENDPOINT_URL",
                    "scripts/backends/moto.sh start",
                );
                return;
            }
        }
    };
}

/// The variables `moto.sh start` exports.
#[derive(Clone, Debug)]
pub struct Env {
    pub endpoint: String,
    pub region: String,
    pub account: String,
}

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub fn load() -> Option<Self> {
        Some(Self {
            endpoint: var("AWS_ENDPOINT_URL")?,
            region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
            account: var("MOTO_ACCOUNT_ID").unwrap_or_else(|| "123456789012".into()),
        })
    }

    /// An SDK config with the environment's credentials and endpoint.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            .load()
            .await
    }

    pub async fn sm(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk().await)
    }

    pub async fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.sdk().await)
    }

    pub async fn iam_role(&self, name: &str) -> String {
        format!("arn:aws:iam::{}:role/{name}", self.account)
    }

    async fn moto(&self, path: &str) -> String {
        reqwest::Client::new()
            .post(format!("{}/moto-api/recorder/{path}", self.endpoint))
            .send()
            .await
            .expect("moto recorder")
            .text()
            .await
            .unwrap_or_default()
    }

    /// Clears moto's request log and starts recording.
    pub async fn start_recording(&self) {
        self.moto("reset-recording").await;
        self.moto("start-recording").await;
    }

    /// Stops recording and returns `(X-Amz-Target, body)` of every recorded request.
    pub async fn stop_recording(&self) -> Vec<(String, String)> {
        self.moto("stop-recording").await;
        let log = reqwest::Client::new()
            .get(format!(
                "{}/moto-api/recorder/download-recording",
                self.endpoint
            ))
            .send()
            .await
            .expect("moto recorder")
            .text()
            .await
            .unwrap_or_default();
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|e| {
                let target = e["headers"]
                    .as_object()
                    .and_then(|h| {
                        h.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                            .and_then(|(_, v)| v.as_str())
                    })
                    .unwrap_or_default()
                    .to_owned();
                let body = e["body"].as_str().unwrap_or_default();
                let body = if e["body_encoded"] == Value::Bool(true) {
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .unwrap_or_default()
                } else {
                    body.to_owned()
                };
                (target, body)
            })
            .collect()
    }
}

/// Builds an `aws` provider for a namespaced store `default/aws-test`.
pub async fn provider(spec: Value, cluster: MemoryCluster) -> DynProvider {
    try_provider(spec, cluster)
        .await
        .expect("build the provider")
}

pub async fn try_provider(spec: Value, cluster: MemoryCluster) -> eso_core::Result<DynProvider> {
    let cluster: DynCluster = Arc::new(cluster);
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "aws-test");
    eso_core::testing::provider_for(
        Arc::new(AwsFactory::new()),
        &store,
        &serde_json::json!({ "aws": spec }),
        "default",
        &cluster,
        None,
    )
    .await
}
