//! Shared helpers of the emulator tests: environment (exported by `scripts/backends/gcp.sh
//! start`), a service-account key generated here, provider construction, raw REST calls to
//! prepare the emulator, and a one-shot local token endpoint.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use eso_core::cluster::{Cluster, DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{DynProvider, StoreIdentity, StoreScope};
use eso_provider_gcp::GcpFactory;
use serde_json::{Value, json};

/// Returns the environment, or reports the missing backend and returns from the test.
#[macro_export]
macro_rules! require_gcp {
    () => {
        match common::Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "GCP_SECRET_MANAGER_REST_ENDPOINT",
                    "scripts/backends/gcp.sh start",
                );
                return;
            }
        }
    };
}

/// The variables `gcp.sh start` exports.
#[derive(Clone, Debug)]
pub struct Env {
    pub endpoint: String,
    pub project: String,
}

impl Env {
    pub fn load() -> Option<Self> {
        let endpoint = std::env::var("GCP_SECRET_MANAGER_REST_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty())?;
        Some(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            project: std::env::var("GCP_PROJECT_ID").unwrap_or_else(|_| "eso-test".into()),
        })
    }

    /// A raw REST call on the emulator: `path` below `/v1/projects/PROJECT/`.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/v1/projects/{}/{path}", self.endpoint, self.project);
        let client = reqwest::Client::new();
        let mut req = client.request(method.parse().unwrap(), url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("emulator reachable");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Creates a secret with `labels` and one version holding `value`, bypassing the provider.
    pub async fn seed(&self, name: &str, labels: Value, value: &str) {
        let (s, b) = self
            .call(
                "POST",
                &format!("secrets?secretId={name}"),
                Some(json!({"replication": {"automatic": {}}, "labels": labels})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        self.add_version(name, value).await;
    }

    pub async fn add_version(&self, name: &str, value: &str) {
        let data = base64::engine::general_purpose::STANDARD.encode(value);
        let (s, b) = self
            .call(
                "POST",
                &format!("secrets/{name}:addVersion"),
                Some(json!({"payload": {"data": data}})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    /// The versions of a secret as `(number, state)`.
    pub async fn versions(&self, name: &str) -> Vec<(String, String)> {
        let (_, b) = self
            .call("GET", &format!("secrets/{name}/versions"), None)
            .await;
        b["versions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| {
                (
                    v["name"]
                        .as_str()
                        .unwrap_or_default()
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    v["state"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    pub async fn labels(&self, name: &str) -> Value {
        self.call("GET", &format!("secrets/{name}"), None).await.1["labels"].clone()
    }
}

/// A PKCS#8 PEM RSA key generated once per test process.
pub fn private_key_pem() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        use aws_lc_rs::encoding::AsDer;
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    })
}

/// A service-account JSON key (the key generated here) whose tokens are requested at
/// `token_uri`.
pub fn sa_key(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "eso-test",
        "private_key_id": "kid-1",
        "private_key": private_key_pem(),
        "client_email": "eso@eso-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A cluster holding Secret `default/gcp-sa` with key `key.json` = `key`.
pub async fn cluster_with_key(key: &str) -> MemoryCluster {
    let c = MemoryCluster::new();
    c.create_secret(KubeSecret::new("default", "gcp-sa").with_data("key.json", key))
        .await
        .unwrap();
    c
}

/// The store spec fields for the key Secret.
pub fn secret_ref_auth() -> Value {
    json!({"secretRef": {"secretAccessKeySecretRef": {"name": "gcp-sa", "key": "key.json"}}})
}

/// Builds a `gcpsm` provider for store `default/gcp-test` with the generated key; `extra`
/// adds or overrides fields of the block.
pub async fn try_provider(env: &Env, extra: Value) -> eso_core::Result<DynProvider> {
    let cluster = cluster_with_key(&sa_key("http://127.0.0.1:9/token")).await;
    try_provider_in(env, extra, cluster).await
}

pub async fn try_provider_in(
    env: &Env,
    extra: Value,
    cluster: MemoryCluster,
) -> eso_core::Result<DynProvider> {
    let mut spec = json!({"projectID": env.project, "auth": secret_ref_auth()});
    if let (Value::Object(s), Value::Object(e)) = (&mut spec, extra) {
        s.extend(e);
    }
    let cluster: DynCluster = Arc::new(cluster);
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "gcp-test");
    eso_core::testing::provider_for(
        Arc::new(GcpFactory::new()),
        &store,
        &json!({ "gcpsm": spec }),
        "default",
        &cluster,
        None,
    )
    .await
}

pub async fn provider(env: &Env, extra: Value) -> DynProvider {
    try_provider(env, extra).await.expect("build the provider")
}

/// A unique secret name (secret IDs allow letters, digits, `-` and `_`).
pub fn unique(base: &str) -> String {
    eso_core::testing::conformance::unique_prefix(base)
}
