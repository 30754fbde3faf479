//! Shared helpers of the OpenBao integration tests: environment (exported by
//! `scripts/backends/openbao.sh start`), provider construction, and a root client to prepare
//! the server (unowned secrets, mounts, roles).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::cluster::{
    Cluster, DynCluster, KubeConfigMap, KubeNamespace, KubeSecret, LabelQuery, MemoryCluster,
};
use eso_core::provider::{StoreContext, StoreIdentity, StoreScope};
use eso_core::{Error, Result, SecretValue};
use eso_provider_vault::{Vault, VaultFactory};
use serde_json::{Value, json};

/// Returns the environment, or prints why the test is skipped and returns from it.
#[macro_export]
macro_rules! require_vault {
    () => {
        match common::Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "VAULT_ADDR",
                    "scripts/backends/openbao.sh start",
                );
                return;
            }
        }
    };
}

/// The value of a variable a backend script exports, or the test reports it missing through
/// [`eso_core::testing::backend_unavailable`] (a failure under `ESO_REQUIRE_BACKENDS=1`) and
/// returns.
#[macro_export]
macro_rules! require_var {
    ($name:expr, $how:expr) => {
        match common::var($name) {
            Some(v) => v,
            None => {
                eso_core::testing::backend_unavailable($name, $how);
                return;
            }
        }
    };
}

/// How to start OpenBao with everything the tests use.
pub const START_OPENBAO: &str = "scripts/backends/openbao.sh start";
/// How to get the kube backend for kubernetes auth (OpenBao configured against it).
pub const START_KUBE: &str =
    "scripts/backends/kube.sh start, then scripts/backends/openbao.sh start";

/// The variables `openbao.sh start` exports.
#[derive(Clone, Debug)]
pub struct Env {
    pub addr: String,
    pub tls_addr: String,
    pub root_token: String,
    pub ca_pem: String,
}

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub fn load() -> Option<Self> {
        let addr = var("VAULT_HTTP_ADDR").or_else(|| var("VAULT_ADDR"))?;
        let ca_pem = var("VAULT_CACERT")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        Some(Self {
            tls_addr: var("VAULT_TLS_ADDR").unwrap_or_else(|| addr.clone()),
            addr,
            root_token: var("VAULT_TOKEN").unwrap_or_else(|| "root".into()),
            ca_pem,
        })
    }

    /// A raw client with the root token, for preparing the server.
    pub fn root(&self) -> Root {
        Root {
            http: reqwest::Client::new(),
            addr: self.addr.clone(),
            token: self.root_token.clone(),
        }
    }
}

/// A cluster holding the root token Secret `default/vault-root` (key `token`).
pub fn cluster_with_token(env: &Env) -> MemoryCluster {
    MemoryCluster::new().with_secret(
        KubeSecret::new("default", "vault-root").with_data("token", env.root_token.as_str()),
    )
}

/// Builds a Vault provider for a namespaced store in `default`.
pub async fn vault(spec: Value, cluster: impl Cluster) -> Vault {
    vault_with(VaultFactory::new(), spec, Arc::new(cluster)).await
}

pub async fn vault_with(factory: VaultFactory, spec: Value, cluster: DynCluster) -> Vault {
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "vault-test");
    let provider: eso_core::api::SecretStoreProvider =
        serde_json::from_value(json!({ "vault": spec })).expect("a vault provider block");
    factory
        .build(&StoreContext::new(&store, &provider, "default", &cluster))
        .await
        .expect("build the provider")
}

pub fn token_auth() -> Value {
    json!({"tokenSecretRef": {"name": "vault-root", "key": "token"}})
}

/// Root access to the OpenBao server.
#[derive(Clone, Debug)]
pub struct Root {
    http: reqwest::Client,
    addr: String,
    token: String,
}

impl Root {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        ns: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.token);
        if let Some(ns) = ns {
            req = req.header("X-Vault-Namespace", ns);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("root request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn write(&self, path: &str, body: Value) -> Value {
        let (s, v) = self
            .send(reqwest::Method::POST, path, None, Some(body))
            .await;
        assert!(s < 300, "root write {path}: HTTP {s}: {v}");
        v
    }

    pub async fn write_ns(&self, ns: &str, path: &str, body: Value) -> Value {
        let (s, v) = self
            .send(reqwest::Method::POST, path, Some(ns), Some(body))
            .await;
        assert!(s < 300, "root write {ns}/{path}: HTTP {s}: {v}");
        v
    }

    pub async fn read(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None, None).await
    }

    pub async fn delete(&self, path: &str) {
        let _ = self.send(reqwest::Method::DELETE, path, None, None).await;
    }
}

/// A [`MemoryCluster`] that also requests ServiceAccount tokens from the real kube-apiserver
/// started by `scripts/backends/kube.sh` (TokenRequest API, admin bearer token).
#[derive(Debug, Clone)]
pub struct KubeTokenCluster {
    pub inner: MemoryCluster,
    pub api: String,
    pub admin_token: String,
    pub ca_pem: Vec<u8>,
}

impl KubeTokenCluster {
    pub fn from_env(inner: MemoryCluster) -> Option<Self> {
        Some(Self {
            inner,
            api: var("KUBE_API_SERVER")?,
            admin_token: var("KUBE_ADMIN_TOKEN")?,
            ca_pem: std::fs::read(var("KUBE_CA_CERT")?).ok()?,
        })
    }
}

#[async_trait]
impl Cluster for KubeTokenCluster {
    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        self.inner.get_secret(namespace, name).await
    }
    async fn list_secrets(&self, namespace: &str, labels: &LabelQuery) -> Result<Vec<KubeSecret>> {
        self.inner.list_secrets(namespace, labels).await
    }
    async fn create_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        self.inner.create_secret(secret).await
    }
    async fn update_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        self.inner.update_secret(secret).await
    }
    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.inner.delete_secret(namespace, name).await
    }
    async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<KubeConfigMap>> {
        self.inner.get_config_map(namespace, name).await
    }
    async fn list_namespaces(&self, labels: &LabelQuery) -> Result<Vec<KubeNamespace>> {
        self.inner.list_namespaces(labels).await
    }
    async fn create_service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<SecretValue> {
        let certs = reqwest::Certificate::from_pem_bundle(&self.ca_pem)
            .map_err(|e| Error::generic(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_certs_only(certs)
            .build()
            .map_err(|e| Error::generic(e.to_string()))?;
        let mut spec = json!({"expirationSeconds": expiration_seconds});
        if !audiences.is_empty() {
            spec["audiences"] = json!(audiences);
        }
        let resp = http
            .post(format!(
                "{}/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                self.api
            ))
            .bearer_auth(&self.admin_token)
            .json(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}))
            .send()
            .await
            .map_err(|e| Error::generic(e.to_string()))?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .map_err(|e| Error::generic(e.to_string()))?;
        let token = v
            .pointer("/status/token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::generic(format!("TokenRequest failed: HTTP {status}")))?;
        Ok(SecretValue::from(token))
    }
}
