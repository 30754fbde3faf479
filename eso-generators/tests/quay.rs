//! The QuayAccessToken generator against the test server's Quay module
//! (`scripts/backends/generators.sh start`), through the flows: an ExternalSecret and a
//! PushSecret federating a ServiceAccount token (issued by a MemoryCluster the test
//! inspects) for a robot token that then works at the registry's `/v2/auth`.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use eso_core::cluster::MemoryCluster;
use eso_core::generator::{Generator, GeneratorContext};
use eso_generators::QuayAccessToken;
use jiff::Timestamp;
use serde_json::{Value, json};

/// What `generators.sh start` exports.
struct Env {
    url: String,
    ca: Vec<u8>,
    issuer: String,
    robot: String,
    audience: String,
    sa: String,
}

impl Env {
    fn load() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Some(Self {
            url: var("QUAY_URL")?,
            ca: std::fs::read(var("GENERATORS_CA_FILE")?).ok()?,
            issuer: var("GENERATORS_OIDC_ISSUER")?,
            robot: var("QUAY_ROBOT")?,
            audience: var("QUAY_AUDIENCE")?,
            sa: var("QUAY_SERVICE_ACCOUNT")?,
        })
    }

    fn generator(&self) -> QuayAccessToken {
        QuayAccessToken::new()
            .with_root_certificates(&self.ca)
            .unwrap()
    }

    fn cluster(&self) -> MemoryCluster {
        MemoryCluster::new().with_service_account_tokens(&self.issuer)
    }

    fn manifest(&self, robot: &str, audience: &str) -> String {
        format!(
            r#"apiVersion: generators.external-secrets.io/v1alpha1
kind: QuayAccessToken
metadata: {{name: quay, namespace: app}}
spec:
  url: {url}
  robotAccount: "{robot}"
  serviceAccountRef: {{name: {sa}, audiences: ["{audience}"]}}
"#,
            url = self.url,
            sa = self.sa,
        )
    }

    async fn requests(&self) -> Vec<Value> {
        let (_, log) =
            common::get_json(&format!("{}/_test/requests", self.url), &self.ca, None).await;
        log.as_array().unwrap().clone()
    }

    /// Whether `auth` (base64 of `robot:token`) logs in at the registry.
    async fn logs_in(&self, auth: &str) -> bool {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let (user, token) = text.split_once(':').unwrap();
        assert_eq!(user, self.robot);
        let url = format!(
            "{}/v2/auth?service=quay&scope=repository:eso-rs/app:pull",
            self.url
        );
        common::get_json(&url, &self.ca, Some((user, token)))
            .await
            .0
            == 200
    }
}

macro_rules! require_generators {
    () => {
        match Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "QUAY_URL",
                    "scripts/backends/generators.sh start",
                );
                return;
            }
        }
    };
}

#[tokio::test]
async fn external_secret_federates_the_service_account_and_gets_a_working_robot_token() {
    let env = require_generators!();
    let cluster = env.cluster();
    let (r, es, _) = common::setup(
        cluster.clone(),
        Arc::new(env.generator()),
        &env.manifest(&env.robot, &env.audience),
        &common::consumers("QuayAccessToken", "quay", "quay-pull", "auth", "ci/quay"),
    );
    let out = r
        .reconcile_external_secret(&es, &eso_core::reconcile::Pass::new(), Timestamp::now())
        .await;
    assert!(out.is_ok(), "{:?}", out.errors);
    let data = common::secret_data(&r, "quay-pull").await;
    let keys: Vec<&str> = data.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["auth", "expiry", "registry"]);
    let registry = env.url.strip_prefix("https://").unwrap();
    assert_eq!(data[2].1, registry);
    assert!(env.logs_in(&data[0].1).await);
    let expiry: i64 = data[1].1.parse().unwrap();
    let left = expiry - Timestamp::now().as_second();
    assert!((3500..=3600).contains(&left), "{left}");

    // The cluster issued one token for the ServiceAccount, with the spec's audience ...
    let issued = cluster.token_requests();
    assert_eq!(issued.len(), 1);
    assert_eq!(
        (issued[0].namespace.as_str(), issued[0].name.as_str()),
        ("app", env.sa.as_str())
    );
    assert_eq!(issued[0].audiences, std::slice::from_ref(&env.audience));
    // ... and that is what Quay received, as the robot's password.
    let log = env.requests().await;
    let fed = log
        .iter()
        .rfind(|q| q["path"] == "/oauth2/federation/robot/token" && q["status"] == 200)
        .unwrap();
    assert_eq!(fed["robot"], env.robot.as_str());
    assert_eq!(fed["oidc"]["aud"], json!([env.audience]));
    assert_eq!(fed["oidc"]["sub"], common::subject("app", &env.sa));
    assert_eq!(fed["oidc"]["iss"], env.issuer.as_str());
}

#[tokio::test]
async fn push_secret_pushes_the_docker_auth() {
    let env = require_generators!();
    let (r, _, ps) = common::setup(
        env.cluster(),
        Arc::new(env.generator()),
        &env.manifest(&env.robot, &env.audience),
        &common::consumers("QuayAccessToken", "quay", "quay-pull", "auth", "ci/quay"),
    );
    let out = r.reconcile_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 1);
    let pushed = common::pushed_to_mirror(&r, "ci/quay").await;
    assert!(env.logs_in(pushed.expose_str().unwrap()).await);
}

/// Runs the generator on a spec for `robot` with `audience` against a fresh cluster.
async fn generate(env: &Env, robot: &str, audience: &str) -> eso_core::Error {
    let cluster: eso_core::cluster::DynCluster = Arc::new(env.cluster());
    let spec = eso_core::api::GeneratorSpec::parse(
        "QuayAccessToken",
        json!({"url": env.url, "robotAccount": robot,
            "serviceAccountRef": {"name": env.sa, "audiences": [audience]}}),
    )
    .unwrap();
    env.generator()
        .generate(&GeneratorContext::new(&spec, "app", &cluster))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_wrong_audience_is_unauthenticated_and_an_unknown_robot_names_the_field() {
    let env = require_generators!();
    let e = generate(&env, &env.robot, "some-other-audience").await;
    assert!(matches!(e, eso_core::Error::Unauthenticated { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("QuayAccessToken: GET") && text.contains("HTTP 401: "),
        "{text}"
    );
    assert!(text.contains("audience does not match"), "{text}");
    assert!(!text.contains("eyJ"), "a token leaked: {text}");

    let e = generate(&env, "eso-rs+nobody", &env.audience).await;
    assert!(
        matches!(&e, eso_core::Error::InvalidConfig { path, .. } if path == "spec.robotAccount"),
        "{e}"
    );
    assert!(e.to_string().contains("HTTP 404"), "{e}");

    // Without a TokenRequest-capable cluster the error names the ServiceAccount field.
    let cluster: eso_core::cluster::DynCluster = Arc::new(MemoryCluster::new());
    let spec = eso_core::api::GeneratorSpec::parse(
        "QuayAccessToken",
        json!({"url": env.url, "robotAccount": env.robot, "serviceAccountRef": {"name": env.sa}}),
    )
    .unwrap();
    let e = env
        .generator()
        .generate(&GeneratorContext::new(&spec, "app", &cluster))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::NotSupported(_)), "{e}");
    assert!(
        e.to_string()
            .contains("QuayAccessToken: spec.serviceAccountRef"),
        "{e}"
    );
}
