//! The CloudsmithAccessToken generator against the test server's Cloudsmith module
//! (`scripts/backends/generators.sh start`), through the flows: an ExternalSecret and a
//! PushSecret exchanging a ServiceAccount token (issued by a MemoryCluster the test
//! inspects) for a Cloudsmith token that then authenticates at `/user/self/`.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use eso_core::cluster::MemoryCluster;
use eso_core::generator::{Generator, GeneratorContext};
use eso_generators::CloudsmithAccessToken;
use jiff::Timestamp;
use serde_json::{Value, json};

/// What `generators.sh start` exports.
struct Env {
    url: String,
    ca: Vec<u8>,
    issuer: String,
    org: String,
    service: String,
    audience: String,
    sa: String,
}

impl Env {
    fn load() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Some(Self {
            url: var("CLOUDSMITH_API_URL")?,
            ca: std::fs::read(var("GENERATORS_CA_FILE")?).ok()?,
            issuer: var("GENERATORS_OIDC_ISSUER")?,
            org: var("CLOUDSMITH_ORG")?,
            service: var("CLOUDSMITH_SERVICE")?,
            audience: var("CLOUDSMITH_AUDIENCE")?,
            sa: var("CLOUDSMITH_SERVICE_ACCOUNT")?,
        })
    }

    fn generator(&self) -> CloudsmithAccessToken {
        CloudsmithAccessToken::new()
            .with_root_certificates(&self.ca)
            .unwrap()
    }

    fn cluster(&self) -> MemoryCluster {
        MemoryCluster::new().with_service_account_tokens(&self.issuer)
    }

    fn spec(&self, org: &str, service: &str, audience: &str) -> Value {
        json!({"apiUrl": self.url, "orgSlug": org, "serviceSlug": service,
            "serviceAccountRef": {"name": self.sa, "audiences": [audience]}})
    }

    fn manifest(&self) -> String {
        format!(
            r#"apiVersion: generators.external-secrets.io/v1alpha1
kind: CloudsmithAccessToken
metadata: {{name: cloudsmith, namespace: app}}
spec: {spec}
"#,
            spec = self.spec(&self.org, &self.service, &self.audience)
        )
    }

    async fn requests(&self) -> Vec<Value> {
        let (_, log) =
            common::get_json(&format!("{}/_test/requests", self.url), &self.ca, None).await;
        log.as_array().unwrap().clone()
    }

    /// Who `auth` (base64 of `token:TOKEN`) is at `/user/self/`: the service's slug.
    async fn whoami(&self, auth: &str) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap();
        let text = String::from_utf8(raw).unwrap();
        let token = text.strip_prefix("token:").unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca).unwrap())
            .build()
            .unwrap();
        let resp = http
            .get(format!("{}/user/self/", self.url))
            .header("X-Api-Key", token)
            .send()
            .await
            .unwrap();
        let me: Value = resp.json().await.unwrap();
        (me["authenticated"] == true).then(|| me["slug"].as_str().unwrap().to_owned())
    }

    async fn generate(
        &self,
        spec: Value,
    ) -> eso_core::Result<eso_core::generator::GeneratorOutput> {
        let cluster: eso_core::cluster::DynCluster = Arc::new(self.cluster());
        let spec = eso_core::api::GeneratorSpec::parse("CloudsmithAccessToken", spec).unwrap();
        self.generator()
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
                    "CLOUDSMITH_API_URL",
                    "scripts/backends/generators.sh start",
                );
                return;
            }
        }
    };
}

#[tokio::test]
async fn external_secret_exchanges_the_service_account_token() {
    let env = require_generators!();
    let cluster = env.cluster();
    let (r, es, _) = common::setup(
        cluster.clone(),
        Arc::new(env.generator()),
        &env.manifest(),
        &common::consumers(
            "CloudsmithAccessToken",
            "cloudsmith",
            "cs-pull",
            "auth",
            "ci/cs",
        ),
    );
    let out = r
        .reconcile_external_secret(&es, &eso_core::reconcile::Pass::new(), Timestamp::now())
        .await;
    assert!(out.is_ok(), "{:?}", out.errors);
    let data = common::secret_data(&r, "cs-pull").await;
    let keys: Vec<&str> = data.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["auth", "expiry"]);
    assert_eq!(
        env.whoami(&data[0].1).await.as_deref(),
        Some(env.service.as_str())
    );
    let left = data[1].1.parse::<i64>().unwrap() - Timestamp::now().as_second();
    assert!((3500..=3600).contains(&left), "{left}");

    let issued = cluster.token_requests();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].name, env.sa);
    assert_eq!(issued[0].audiences, std::slice::from_ref(&env.audience));
    let log = env.requests().await;
    let exchange = log
        .iter()
        .rfind(|q| q["method"] == "POST" && q["status"] == 201)
        .unwrap();
    assert_eq!(exchange["path"], format!("/openid/{}/", env.org));
    assert_eq!(exchange["service_slug"], env.service.as_str());
    assert_eq!(exchange["oidc"]["aud"], json!([env.audience]));
    assert_eq!(exchange["oidc"]["sub"], common::subject("app", &env.sa));
}

#[tokio::test]
async fn push_secret_pushes_the_auth() {
    let env = require_generators!();
    let (r, _, ps) = common::setup(
        env.cluster(),
        Arc::new(env.generator()),
        &env.manifest(),
        &common::consumers(
            "CloudsmithAccessToken",
            "cloudsmith",
            "cs-pull",
            "auth",
            "ci/cs",
        ),
    );
    let out = r.reconcile_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 1);
    let pushed = common::pushed_to_mirror(&r, "ci/cs").await;
    assert_eq!(
        env.whoami(pushed.expose_str().unwrap()).await.as_deref(),
        Some(env.service.as_str())
    );
}

#[tokio::test]
async fn errors_map_to_kinds_and_name_the_field() {
    let env = require_generators!();
    let e = env
        .generate(env.spec(&env.org, &env.service, "not-cloudsmiths"))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::Unauthenticated { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("CloudsmithAccessToken: POST")
            && text.contains("HTTP 401: Invalid OIDC token: audience does not match"),
        "{text}"
    );
    assert!(!text.contains("eyJ"), "a token leaked: {text}");

    let e = env
        .generate(env.spec("no-such-org", &env.service, &env.audience))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, eso_core::Error::InvalidConfig { path, .. } if path == "spec.orgSlug"),
        "{e}"
    );
    assert!(e.to_string().contains("HTTP 404: Not found."), "{e}");
}
