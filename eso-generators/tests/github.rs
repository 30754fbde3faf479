//! The GithubAccessToken generator against the test server's GitHub module
//! (`scripts/backends/generators.sh start`), through the flows that use generators: an
//! ExternalSecret's `dataFrom[].sourceRef.generatorRef` and a PushSecret's generator source.
//! Each test checks what the server received (the App JWT's header, claims and verified
//! signature, the body) and what came out (the Secret's keys; the token works and is scoped).

mod common;

use std::sync::Arc;

use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext, GeneratorRegistry};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
use eso_generators::GithubAccessToken;
use serde_json::{Value, json};

/// What `generators.sh start` exports.
struct Env {
    api: String,
    ca: Vec<u8>,
    app_id: String,
    key: Vec<u8>,
    install: String,
    other_install: String,
}

impl Env {
    fn load() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Some(Self {
            api: var("GITHUB_API_URL")?,
            ca: std::fs::read(var("GENERATORS_CA_FILE")?).ok()?,
            app_id: var("GITHUB_APP_ID")?,
            key: std::fs::read(var("GITHUB_APP_PRIVATE_KEY_FILE")?).ok()?,
            install: var("GITHUB_INSTALLATION_ID")?,
            other_install: var("GITHUB_OTHER_INSTALLATION_ID")?,
        })
    }

    fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca).unwrap())
            .build()
            .unwrap()
    }

    /// Everything the token endpoint received so far.
    async fn requests(&self) -> Vec<Value> {
        let r = self.http().get(format!("{}/_test/requests", self.api));
        r.send().await.unwrap().json().await.unwrap()
    }

    /// The repositories `token` may access, as the server answers GitHub's
    /// `GET /installation/repositories`.
    async fn repositories(&self, token: &str) -> Vec<String> {
        let r = self
            .http()
            .get(format!("{}/installation/repositories", self.api));
        let body: Value = r
            .header("Authorization", format!("token {token}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["repositories"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn generator(&self) -> GithubAccessToken {
        GithubAccessToken::new()
            .with_root_certificates(&self.ca)
            .unwrap()
    }

    fn cluster(&self) -> MemoryCluster {
        MemoryCluster::new().with_secret(
            KubeSecret::new("app", "github-app").with_data("private-key", self.key.clone()),
        )
    }

    /// The generator manifest for installation `install`, asking for repository `repo`.
    fn manifest(&self, install: &str, repo: &str) -> String {
        format!(
            r#"apiVersion: generators.external-secrets.io/v1alpha1
kind: GithubAccessToken
metadata: {{name: gh, namespace: app}}
spec:
  url: {api}
  appID: "{app}"
  installID: "{install}"
  repositories: [{repo}]
  permissions: {{contents: read}}
  auth: {{privateKey: {{secretRef: {{name: github-app, key: private-key}}}}}}
"#,
            api = self.api,
            app = self.app_id,
        )
    }
}

macro_rules! require_generators {
    () => {
        match Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "GITHUB_API_URL",
                    "scripts/backends/generators.sh start",
                );
                return;
            }
        }
    };
}

const CONSUMERS: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: mirror, namespace: app}
spec: {provider: {fake: {data: []}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: flux-git, namespace: app, uid: es-uid}
spec:
  refreshInterval: 30m
  target: {name: flux-git-auth}
  dataFrom:
    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: GithubAccessToken, name: gh}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push-token, namespace: app, uid: ps-uid, generation: 1}
spec:
  refreshInterval: 30m
  secretStoreRefs: [{name: mirror, kind: SecretStore}]
  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: GithubAccessToken, name: gh}}
  data: [{match: {secretKey: token, remoteRef: {remoteKey: ci/github-token}}}]
"#;

/// The flows of `CONSUMERS` over the generator manifest; each test asks for its own
/// repository, so it finds its requests among those of the tests running beside it.
fn setup(env: &Env, install: &str, repo: &str) -> (Reconciler, ExternalSecret, PushSecret) {
    let mut catalog = MemoryCatalog::new();
    let (mut es, mut ps) = (None, None);
    for (_, doc) in parse_documents(&format!("{}---\n{CONSUMERS}", env.manifest(install, repo))) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let mut generators = GeneratorRegistry::new();
    generators.register(Arc::new(env.generator()));
    let reconciler =
        Reconciler::new(Arc::new(env.cluster()), catalog).with_generators(Arc::new(generators));
    (reconciler, es.unwrap(), ps.unwrap())
}

/// Checks the last request the token endpoint received for `repo`: installation, a verified
/// RS256 App JWT with `iss` = the App ID and a valid window, GitHub's headers, the spec's body.
async fn check_last_request(env: &Env, repo: &str) {
    let requests = env.requests().await;
    let last = requests
        .iter()
        .rfind(|r| r["body"]["repositories"] == json!([repo]))
        .expect("the server received the request");
    assert_eq!(last["installation"], env.install.as_str());
    assert_eq!(last["status"], 201, "{last}");
    let jwt = &last["jwt"];
    assert_eq!(jwt["header"]["alg"], "RS256");
    assert_eq!(jwt["signature_valid"], true, "{jwt}");
    assert_eq!(jwt["claims"]["iss"], env.app_id.as_str());
    let (iat, exp) = (
        jwt["claims"]["iat"].as_i64().unwrap(),
        jwt["claims"]["exp"].as_i64().unwrap(),
    );
    let now = jiff::Timestamp::now().as_second();
    assert!(
        iat <= now && exp > now && exp - iat <= 600,
        "iat {iat} exp {exp} now {now}"
    );
    assert_eq!(
        last["body"],
        json!({"repositories": [repo], "permissions": {"contents": "read"}})
    );
    assert_eq!(last["accept"], "application/vnd.github+json");
    assert_eq!(last["api_version"], "2022-11-28");
}

#[tokio::test]
async fn external_secret_gets_a_scoped_installation_token() {
    let env = require_generators!();
    let (r, es, _) = setup(&env, &env.install, "infra");
    let now = jiff::Timestamp::now();
    let out = r.reconcile_external_secret(&es, &Pass::new(), now).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    check_last_request(&env, "infra").await;

    let secret = r
        .cluster()
        .get_secret("app", "flux-git-auth")
        .await
        .unwrap()
        .expect("the target Secret");
    assert_eq!(secret.data.keys().collect::<Vec<_>>(), ["token"]);
    let token = secret.data["token"].expose_str().unwrap().to_owned();
    assert!(token.starts_with("ghs_") && token.len() == 40);
    // The token works, for the one repository asked for.
    assert_eq!(env.repositories(&token).await, ["infra"]);
}

#[tokio::test]
async fn push_secret_pushes_a_fresh_installation_token() {
    let env = require_generators!();
    let (r, _, ps) = setup(&env, &env.install, "app");
    let out = r.reconcile_push_secret(&ps, jiff::Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 1);
    check_last_request(&env, "app").await;

    let pushed = common::pushed_to_mirror(&r, "ci/github-token").await;
    let token = pushed.expose_str().unwrap();
    assert!(token.starts_with("ghs_"));
    assert_eq!(env.repositories(token).await, ["app"]);
}

#[tokio::test]
async fn github_errors_name_the_generator_and_carry_no_secret() {
    let env = require_generators!();
    // Another App's installation: GitHub's 404, reported against spec.installID.
    let (r, es, _) = setup(&env, &env.other_install, "docs");
    let out = r
        .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
        .await;
    let e = format!("{:?}", out.errors);
    assert!(
        e.contains("GithubAccessToken") && e.contains("spec.installID") && e.contains("404"),
        "{e}"
    );
    assert!(!e.contains("PRIVATE KEY") && !e.contains("eyJ"), "{e}");

    // A permission the installation lacks: GitHub's 422 message.
    let cluster: eso_core::cluster::DynCluster = Arc::new(env.cluster());
    let spec = eso_core::api::GeneratorSpec::parse(
        "GithubAccessToken",
        json!({"url": env.api, "appID": env.app_id, "installID": env.install,
            "permissions": {"administration": "write"},
            "auth": {"privateKey": {"secretRef": {"name": "github-app", "key": "private-key"}}}}),
    )
    .unwrap();
    let e = env
        .generator()
        .generate(&GeneratorContext::new(&spec, "app", &cluster))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("GithubAccessToken") && e.contains("HTTP 422") && e.contains("not granted"),
        "{e}"
    );

    // A key that is not the App's: GitHub's 401, not retried into anything else.
    let other = MemoryCluster::new()
        .with_secret(KubeSecret::new("app", "github-app").with_data("private-key", other_key()));
    let other: eso_core::cluster::DynCluster = Arc::new(other);
    let e = env
        .generator()
        .generate(&GeneratorContext::new(&spec, "app", &other))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::Unauthenticated { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("A JSON web token could not be decoded"),
        "{e}"
    );
    let requests = env.requests().await;
    let last = requests
        .iter()
        .rfind(|r| r["body"]["permissions"]["administration"] == "write" && r["status"] == 401)
        .expect("the request with the foreign key");
    assert_eq!(last["jwt"]["signature_valid"], false);
}

/// A fresh RSA key in PKCS#8 PEM, not registered with the server.
fn other_key() -> String {
    use aws_lc_rs::encoding::AsDer as _;
    let pair =
        aws_lc_rs::signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    eso_core::pem::encode("PRIVATE KEY", pair.as_der().unwrap().as_ref())
}
