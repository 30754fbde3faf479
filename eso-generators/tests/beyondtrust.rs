//! The BeyondtrustWorkloadCredentialsDynamicSecret generator against the test server's
//! BeyondTrust module (`scripts/backends/generators.sh start`), through the flows: an
//! ExternalSecret (its GeneratorState is ESO's and cleaned up without error on deletion) and a
//! PushSecret, plus the 401/403/404 mapping.

mod common;

use std::sync::Arc;

use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext};
use eso_generators::{BEYONDTRUST_API_VERSION, BeyondtrustWorkloadCredentialsDynamicSecret};
use jiff::Timestamp;
use serde_json::{Value, json};

/// What `generators.sh start` exports.
struct Env {
    url: String,
    ca: Vec<u8>,
    ca_pem: String,
    site: String,
    token: String,
    read_token: String,
}

/// A definition declared with a session token, in a folder.
const STS_PATH: &str = "production/aws/aws-temp";
/// A definition at the root, without a session token.
const ROOT_PATH: &str = "iam-user";

impl Env {
    fn load() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let ca = std::fs::read(var("GENERATORS_CA_FILE")?).ok()?;
        Some(Self {
            url: var("BEYONDTRUST_API_URL")?,
            ca_pem: String::from_utf8(ca.clone()).ok()?,
            ca,
            site: var("BEYONDTRUST_SITE_ID")?,
            token: var("BEYONDTRUST_TOKEN")?,
            read_token: var("BEYONDTRUST_READ_TOKEN")?,
        })
    }

    fn cluster(&self, token: &str) -> MemoryCluster {
        MemoryCluster::new()
            .with_secret(KubeSecret::new("app", "bt-api").with_data("token", token.to_owned()))
    }

    /// The provider block; the CA comes from the spec's `caBundle` (the generator itself
    /// trusts no extra root).
    fn spec(&self, path: &str) -> Value {
        json!({"provider": {
            "auth": {"apikey": {"token": {"name": "bt-api", "key": "token"}}},
            "server": {"apiUrl": self.url, "siteId": self.site},
            "folderPath": path,
            "caBundle": self.ca_pem,
        }})
    }

    fn manifest(&self, path: &str) -> String {
        format!(
            "apiVersion: generators.external-secrets.io/v1alpha1\nkind: BeyondtrustWorkloadCredentialsDynamicSecret\nmetadata: {{name: bt, namespace: app}}\nspec: {}\n",
            self.spec(path)
        )
    }

    async fn get(&self, what: &str) -> Vec<Value> {
        let (_, v) = common::get_json(&format!("{}/_test/{what}", self.url), &self.ca, None).await;
        v.as_array().unwrap().clone()
    }

    async fn generate(
        &self,
        token: &str,
        path: &str,
    ) -> eso_core::Result<eso_core::generator::GeneratorOutput> {
        let cluster: eso_core::cluster::DynCluster = Arc::new(self.cluster(token));
        let spec = eso_core::api::GeneratorSpec::parse(
            "BeyondtrustWorkloadCredentialsDynamicSecret",
            self.spec(path),
        )
        .unwrap();
        BeyondtrustWorkloadCredentialsDynamicSecret::new()
            .generate(&GeneratorContext::new(&spec, "app", &cluster))
            .await
    }
}

macro_rules! require_generators {
    () => {
        match Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "BEYONDTRUST_API_URL",
                    "scripts/backends/generators.sh start",
                );
                return;
            }
        }
    };
}

#[tokio::test]
async fn external_secret_gets_temporary_keys_and_keeps_esos_state() {
    let env = require_generators!();
    let (r, es, _) = common::setup(
        env.cluster(&env.token),
        Arc::new(BeyondtrustWorkloadCredentialsDynamicSecret::new()),
        &env.manifest(STS_PATH),
        &common::consumers(
            "BeyondtrustWorkloadCredentialsDynamicSecret",
            "bt",
            "aws-temp",
            "secretAccessKey",
            "ci/aws",
        ),
    );
    let out = r
        .reconcile_external_secret(&es, &eso_core::reconcile::Pass::new(), Timestamp::now())
        .await;
    assert!(out.is_ok(), "{:?}", out.errors);
    let data = common::secret_data(&r, "aws-temp").await;
    let keys: Vec<&str> = data.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "accessKeyId",
            "expiration",
            "leaseId",
            "secretAccessKey",
            "sessionToken"
        ]
    );
    assert!(data[0].1.starts_with("ASIA"));
    // The lease the Secret names is the one the server issued, for the definition's path.
    let leases = env.get("leases").await;
    let lease = leases
        .iter()
        .find(|l| l["leaseId"] == data[2].1.as_str())
        .unwrap();
    assert_eq!(lease["path"], STS_PATH);
    assert_eq!(lease["expiration"], data[1].1.as_str());
    // What the server received: folder and name split, the token and the API version.
    let log = env.get("requests").await;
    // The other tests of this file share the server: take this test's call by its path.
    let path = format!("/{}/secrets/dynamic/aws-temp/generate", env.site);
    let call = log
        .iter()
        .rfind(|q| q["status"] == 201 && q["path"] == path.as_str())
        .unwrap();
    assert_eq!(call["query"], "folder=production%2Faws");
    assert_eq!(call["auth"], "token");
    assert_eq!(call["api_version"], BEYONDTRUST_API_VERSION);

    // ESO's state, and deleting the ExternalSecret cleans it up without error.
    let states = r
        .cluster()
        .list_generator_states(eso_core::cluster::GeneratorStateQuery::default())
        .await
        .unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].state, json!({"path": STS_PATH}));
    let mut es = es;
    es.status = Some(out.status);
    let out = r.delete_external_secret(&es, Timestamp::now()).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    let left = r
        .cluster()
        .list_generator_states(eso_core::cluster::GeneratorStateQuery::default())
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn push_secret_pushes_a_key_of_a_root_definition() {
    let env = require_generators!();
    let (r, _, ps) = common::setup(
        env.cluster(&env.token),
        Arc::new(BeyondtrustWorkloadCredentialsDynamicSecret::new()),
        &env.manifest(ROOT_PATH),
        &common::consumers(
            "BeyondtrustWorkloadCredentialsDynamicSecret",
            "bt",
            "aws-temp",
            "accessKeyId",
            "ci/aws",
        ),
    );
    let out = r.reconcile_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 1);
    let pushed = common::pushed_to_mirror(&r, "ci/aws").await;
    assert!(pushed.expose_str().unwrap().starts_with("ASIA"));
    let log = env.get("requests").await;
    let call = log
        .iter()
        .rfind(|q| q["path"] == format!("/{}/secrets/dynamic/{ROOT_PATH}/generate", env.site))
        .unwrap();
    assert_eq!(
        call["query"],
        Value::Null,
        "a root definition has no folder"
    );
}

#[tokio::test]
async fn a_root_definition_has_no_session_token_and_errors_map_to_kinds() {
    let env = require_generators!();
    let out = env.generate(&env.token, ROOT_PATH).await.unwrap();
    assert!(!out.data.contains_key("sessionToken"));

    let e = env.generate("bt-not-a-token", STS_PATH).await.unwrap_err();
    assert!(matches!(e, eso_core::Error::Unauthenticated { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("BeyondtrustWorkloadCredentialsDynamicSecret: POST")
            && text.contains("HTTP 401: unauthorized: invalid or expired API token"),
        "{text}"
    );
    assert!(!text.contains("bt-not-a-token"), "{text}");

    let e = env.generate(&env.read_token, STS_PATH).await.unwrap_err();
    assert!(matches!(e, eso_core::Error::PermissionDenied { .. }), "{e}");
    assert!(!e.to_string().contains(&env.read_token), "{e}");

    let e = env
        .generate(&env.token, "production/nothing-here")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, eso_core::Error::InvalidConfig { path, .. } if path == "spec.provider.folderPath"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("dynamic secret definition not found"),
        "{e}"
    );
}
