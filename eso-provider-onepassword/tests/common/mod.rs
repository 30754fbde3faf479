//! The Connect test server's environment (`scripts/backends/onepassword.sh start`), stores
//! built against it, and direct API calls to seed and inspect it.
#![allow(dead_code)] // each test binary uses its own subset

use std::sync::Arc;

use base64::Engine as _;
use eso_core::api::SecretStoreProvider;
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{StoreContext, StoreIdentity, StoreScope};
use eso_provider_onepassword::{OnePassword, OnePasswordFactory};
use serde_json::{Value, json};

/// The variables `onepassword.sh start` exports.
pub(crate) struct Env {
    pub(crate) host: String,
    pub(crate) token: String,
    pub(crate) limited_token: String,
    /// Vault names: primary, secondary, other.
    pub(crate) vaults: Vec<String>,
    pub(crate) ca_pem: Vec<u8>,
}

/// The environment, or `None` after reporting how to start the backend.
pub(crate) fn env() -> Option<Env> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let Some(host) = var("OP_CONNECT_HOST") else {
        eso_core::testing::backend_unavailable(
            "OP_CONNECT_HOST",
            "scripts/backends/onepassword.sh start",
        );
        return None;
    };
    let need = |n: &str| {
        var(n).unwrap_or_else(|| panic!("{n} is not set (scripts/backends/onepassword.sh start)"))
    };
    Some(Env {
        host,
        token: need("OP_CONNECT_TOKEN"),
        limited_token: need("OP_CONNECT_LIMITED_TOKEN"),
        vaults: need("OP_VAULTS").split(',').map(str::to_owned).collect(),
        ca_pem: std::fs::read(need("OP_CONNECT_CA_FILE")).expect("CA file"),
    })
}

impl Env {
    /// A store spec searching `vaults` (name -> order), with the token at key `token_key`.
    pub(crate) fn spec(&self, vaults: Value, token_key: &str) -> SecretStoreProvider {
        serde_json::from_value(json!({"onepassword": {"connectHost": self.host,
            "vaults": vaults,
            "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op-connect", "key": token_key}}}}}))
        .expect("spec")
    }

    /// A cluster holding the tokens the specs refer to (Secret `op-connect` in `apps`).
    pub(crate) fn cluster(&self) -> DynCluster {
        Arc::new(
            MemoryCluster::new().with_secret(
                KubeSecret::new("apps", "op-connect")
                    .with_data("token", format!("{}\n", self.token))
                    .with_data("limited", self.limited_token.as_str())
                    .with_data("wrong", "not-a-connect-token"),
            ),
        )
    }

    /// The factory, trusting the test server's CA.
    pub(crate) fn factory(&self) -> OnePasswordFactory {
        OnePasswordFactory::new()
            .with_root_certificates(&self.ca_pem)
            .expect("CA")
    }

    /// Builds a store from `spec`.
    pub(crate) async fn build(&self, spec: &SecretStoreProvider) -> eso_core::Result<OnePassword> {
        let cluster = self.cluster();
        let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "op");
        self.factory()
            .build(&StoreContext::new(&store, spec, "apps", &cluster))
            .await
    }

    /// A store searching primary, then secondary, with the full token.
    pub(crate) async fn store(&self) -> OnePassword {
        let spec = self.spec(json!({&self.vaults[0]: 1, &self.vaults[1]: 2}), "token");
        self.build(&spec).await.expect("store")
    }

    fn http(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(&self.ca_pem).expect("CA");
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .expect("client")
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http()
            .request(method, format!("{}/{path}", self.host))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("call");
        let status = r.status();
        let text = r.text().await.expect("body");
        assert!(status.is_success(), "{path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// The ID of vault `name`.
    pub(crate) async fn vault_id(&self, name: &str) -> String {
        let v = self.call(reqwest::Method::GET, "v1/vaults", None).await;
        v.as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == name))
            .and_then(|x| x["id"].as_str())
            .expect("vault")
            .to_owned()
    }

    /// Creates an item in vault `vault` (name) from `doc`; returns its ID.
    pub(crate) async fn seed(&self, vault: &str, doc: Value) -> String {
        let v = self.vault_id(vault).await;
        let item = self
            .call(
                reqwest::Method::POST,
                &format!("v1/vaults/{v}/items"),
                Some(doc),
            )
            .await;
        item["id"].as_str().expect("id").to_owned()
    }

    /// Attaches a file to an item.
    pub(crate) async fn attach(&self, vault: &str, item: &str, name: &str, content: &[u8]) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(content);
        self.call(
            reqwest::Method::POST,
            "_test/files",
            Some(json!({"vault": vault, "item": item, "name": name, "content": b64})),
        )
        .await;
    }

    /// The full items titled `title` in vault `vault` (name).
    pub(crate) async fn items(&self, vault: &str, title: &str) -> Vec<Value> {
        let v = self.vault_id(vault).await;
        let list = self
            .http()
            .get(format!("{}/v1/vaults/{v}/items", self.host))
            .bearer_auth(&self.token)
            .query(&[("filter", format!("title eq \"{title}\""))])
            .send()
            .await
            .expect("list")
            .json::<Value>()
            .await
            .expect("list");
        let mut out = Vec::new();
        for i in list.as_array().into_iter().flatten() {
            let id = i["id"].as_str().expect("id");
            out.push(
                self.call(
                    reqwest::Method::GET,
                    &format!("v1/vaults/{v}/items/{id}"),
                    None,
                )
                .await,
            );
        }
        out
    }

    /// The server's request counts.
    pub(crate) async fn stats(&self) -> Value {
        self.call(reqwest::Method::GET, "_test/stats", None).await
    }

    /// Makes the next `count` API calls answer Connect's passing "403 Authorization".
    pub(crate) async fn flaky_403(&self, count: u64) {
        self.call(
            reqwest::Method::POST,
            "_test/flaky-403",
            Some(json!({"count": count})),
        )
        .await;
    }
}

/// The value of the field labelled `label` of a full item.
pub(crate) fn field<'a>(item: &'a Value, label: &str) -> Option<&'a Value> {
    item["fields"]
        .as_array()?
        .iter()
        .find(|f| f["label"] == label)
}
