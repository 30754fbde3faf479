//! The Grafana generator against the test server's Grafana module
//! (`scripts/backends/generators.sh start`), through the flows: an ExternalSecret creating
//! its service account when missing and rotating its token (the replaced token is deleted on
//! the server once the grace period is over; deleting the ExternalSecret deletes the rest),
//! and a PushSecret pushing one (deleting it deletes its token).

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext, GeneratorRegistry};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
use eso_generators::Grafana;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

const GRACE: Duration = Duration::from_secs(600);

/// What `generators.sh start` exports.
struct Env {
    url: String,
    ca: Vec<u8>,
    token: String,
    user: String,
    password: String,
}

impl Env {
    fn load() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Some(Self {
            url: var("GRAFANA_URL")?,
            ca: std::fs::read(var("GENERATORS_CA_FILE")?).ok()?,
            token: var("GRAFANA_TOKEN")?,
            user: var("GRAFANA_USER")?,
            password: var("GRAFANA_PASSWORD")?,
        })
    }

    fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca).unwrap())
            .build()
            .unwrap()
    }

    async fn get(&self, path: &str, bearer: &str) -> (u16, Value) {
        let r = self
            .http()
            .get(format!("{}{path}", self.url))
            .bearer_auth(bearer);
        let resp = r.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// The service account named `name`, if any: `(id, login)`.
    async fn account(&self, name: &str) -> Option<(i64, String)> {
        let (_, found) = self
            .get(
                &format!("/api/serviceaccounts/search?query={name}"),
                &self.token,
            )
            .await;
        found["serviceAccounts"]
            .as_array()?
            .iter()
            .find(|a| a["name"] == name)
            .map(|a| {
                (
                    a["id"].as_i64().unwrap(),
                    a["login"].as_str().unwrap().to_owned(),
                )
            })
    }

    /// The token IDs of service account `id`.
    async fn token_ids(&self, id: i64) -> Vec<i64> {
        let (_, list) = self
            .get(&format!("/api/serviceaccounts/{id}/tokens"), &self.token)
            .await;
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    }

    /// Whether `token` authenticates (`GET /api/user`).
    async fn works(&self, token: &str) -> bool {
        self.get("/api/user", token).await.0 == 200
    }

    async fn requests(&self) -> Vec<Value> {
        self.get("/_test/requests", &self.token)
            .await
            .1
            .as_array()
            .unwrap()
            .clone()
    }

    fn generator(&self) -> Grafana {
        Grafana::new().with_root_certificates(&self.ca).unwrap()
    }

    fn cluster(&self, password: &str) -> MemoryCluster {
        MemoryCluster::new().with_secret(
            KubeSecret::new("app", "grafana-admin")
                .with_data("token", self.token.clone())
                .with_data("password", password.to_owned()),
        )
    }

    /// A generator for service account `name` with basic or token auth.
    fn manifest(&self, name: &str, basic: bool) -> String {
        let auth = if basic {
            format!(
                "{{basic: {{username: {}, password: {{name: grafana-admin, key: password}}}}}}",
                self.user
            )
        } else {
            "{token: {name: grafana-admin, key: token}}".to_owned()
        };
        format!(
            r#"apiVersion: generators.external-secrets.io/v1alpha1
kind: Grafana
metadata: {{name: {name}, namespace: app}}
spec:
  url: {url}
  auth: {auth}
  serviceAccount: {{name: {name}, role: Viewer, secondsToLive: 86400}}
"#,
            url = self.url,
        )
    }
}

macro_rules! require_generators {
    () => {
        match Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "GRAFANA_URL",
                    "scripts/backends/generators.sh start",
                );
                return;
            }
        }
    };
}

fn consumers(generator: &str) -> String {
    format!(
        r#"apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: mirror, namespace: app}}
spec: {{provider: {{fake: {{data: []}}}}}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: dashboards, namespace: app, uid: es-uid}}
spec:
  refreshInterval: 1h
  target: {{name: grafana-token}}
  dataFrom:
    - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: Grafana, name: {generator}}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push-token, namespace: app, uid: ps-uid, generation: 1}}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{{name: mirror, kind: SecretStore}}]
  selector: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: Grafana, name: {generator}}}}}
  data: [{{match: {{secretKey: token, remoteRef: {{remoteKey: ci/grafana-token}}}}}}]
"#
    )
}

fn setup(env: &Env, name: &str, basic: bool) -> (Reconciler, ExternalSecret, PushSecret) {
    let mut catalog = MemoryCatalog::new();
    let (mut es, mut ps) = (None, None);
    let text = format!("{}---\n{}", env.manifest(name, basic), consumers(name));
    for (_, doc) in parse_documents(&text) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let mut generators = GeneratorRegistry::new();
    generators.register(Arc::new(env.generator()));
    let reconciler = Reconciler::new(Arc::new(env.cluster(&env.password)), catalog)
        .with_generators(Arc::new(generators))
        .with_generator_gc_grace_period(GRACE);
    (reconciler, es.unwrap(), ps.unwrap())
}

fn hours(start: Timestamp, h: i64) -> Timestamp {
    start + SignedDuration::from_hours(h)
}

async fn rotate(r: &Reconciler, es: &mut ExternalSecret, now: Timestamp) -> (String, String) {
    let out = r.reconcile_external_secret(es, &Pass::new(), now).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    es.status = Some(out.status);
    let target = r
        .cluster()
        .get_secret("app", "grafana-token")
        .await
        .unwrap()
        .unwrap();
    let mut keys: Vec<_> = target.data.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["login", "token"]);
    (
        target.data["login"].expose_str().unwrap().to_owned(),
        target.data["token"].expose_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn external_secret_creates_the_account_rotates_and_deletes_after_the_grace_period() {
    let env = require_generators!();
    // Service accounts stay on the server: a name of its own per run.
    let name = &format!("es-dashboards-{}", Timestamp::now().as_nanosecond());
    let (r, mut es, _) = setup(&env, name, false);
    assert!(env.account(name).await.is_none());
    let t0 = Timestamp::now();
    let (login, first) = rotate(&r, &mut es, t0).await;
    let (id, server_login) = env
        .account(name)
        .await
        .expect("the service account was created");
    assert_eq!(login, server_login);
    assert!(env.works(&first).await);
    // What the server received: the account with the spec's role, a token with its lifetime.
    let requests = env.requests().await;
    let created = requests
        .iter()
        .find(|q| q["method"] == "POST" && q["body"]["name"] == name.as_str())
        .unwrap();
    assert_eq!(created["body"], json!({"name": name, "role": "Viewer"}));
    assert_eq!(created["auth"], "bearer");
    let token_path = format!("/api/serviceaccounts/{id}/tokens");
    let token_req = requests
        .iter()
        .rfind(|q| q["method"] == "POST" && q["path"] == token_path.as_str())
        .unwrap();
    assert_eq!(token_req["body"]["secondsToLive"], 86400);

    // Two rotations reuse the account: three tokens, none deleted yet.
    let (_, second) = rotate(&r, &mut es, hours(t0, 2)).await;
    let (_, third) = rotate(&r, &mut es, hours(t0, 4)).await;
    assert!(first != second && second != third);
    let all = env.token_ids(id).await;
    assert_eq!(all.len(), 3);
    let report = r.collect_generator_states(hours(t0, 4)).await;
    assert_eq!((report.collected, report.waiting), (0, 1));
    let report = r
        .collect_generator_states(report.next_deadline.unwrap())
        .await;
    assert_eq!(report.collected, 1, "{:?}", report.errors);
    assert_eq!(env.token_ids(id).await, all[1..]);
    assert!(!env.works(&first).await && env.works(&third).await);

    // Deleting the ExternalSecret deletes the two left; the account stays, as with ESO.
    let out = r.delete_external_secret(&es, hours(t0, 5)).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert!(env.token_ids(id).await.is_empty());
    assert!(env.account(name).await.is_some());
}

#[tokio::test]
async fn push_secret_with_basic_auth_pushes_a_token_and_deletion_deletes_it() {
    let env = require_generators!();
    let name = &format!("ps-dashboards-{}", Timestamp::now().as_nanosecond());
    let (r, _, ps) = setup(&env, name, true);
    let out = r.reconcile_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 1);
    let (id, _) = env.account(name).await.unwrap();
    assert_eq!(env.token_ids(id).await.len(), 1);
    let created = env
        .requests()
        .await
        .into_iter()
        .find(|q| q["method"] == "POST" && q["body"]["name"] == name.as_str())
        .unwrap();
    assert_eq!(created["auth"], "basic");

    let pushed = common::pushed_to_mirror(&r, "ci/grafana-token").await;
    assert!(env.works(pushed.expose_str().unwrap()).await);

    let mut ps = ps;
    ps.status = Some(out.status);
    let out = r.delete_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(env.token_ids(id).await.is_empty());
    assert!(!env.works(pushed.expose_str().unwrap()).await);
}

#[tokio::test]
async fn a_wrong_password_is_unauthenticated_and_not_quoted() {
    let env = require_generators!();
    let cluster: eso_core::cluster::DynCluster = Arc::new(env.cluster("not-the-password"));
    let spec = eso_core::api::GeneratorSpec::parse(
        "Grafana",
        json!({"url": env.url, "serviceAccount": {"name": "wrong", "role": "Viewer"},
            "auth": {"basic": {"username": env.user,
                "password": {"name": "grafana-admin", "key": "password"}}}}),
    )
    .unwrap();
    let e = env
        .generator()
        .generate(&GeneratorContext::new(&spec, "app", &cluster))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::Unauthenticated { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("Grafana: GET") && text.contains("HTTP 401: Unauthorized"),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password") && !text.contains(&env.token),
        "{text}"
    );
}
