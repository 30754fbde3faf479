//! The GitlabDeployToken generator against the test server's GitLab module
//! (`scripts/backends/generators.sh start`), through the flows: an ExternalSecret rotating
//! its deploy token (the replaced token is revoked on the server once the grace period is
//! over; deleting the ExternalSecret revokes the rest) and a PushSecret pushing one (deleting
//! it revokes its token). What the server received and holds is checked at each step.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext, GeneratorRegistry};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
use eso_generators::GitlabDeployToken;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

const GRACE: Duration = Duration::from_secs(600);

/// What `generators.sh start` exports.
struct Env {
    url: String,
    ca: Vec<u8>,
    token: String,
    read_token: String,
    project_path: String,
    group_id: String,
}

impl Env {
    fn load() -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Some(Self {
            url: var("GITLAB_URL")?,
            ca: std::fs::read(var("GENERATORS_CA_FILE")?).ok()?,
            token: var("GITLAB_TOKEN")?,
            read_token: var("GITLAB_READ_TOKEN")?,
            project_path: var("GITLAB_PROJECT_PATH")?,
            group_id: var("GITLAB_GROUP_ID")?,
        })
    }

    fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.ca).unwrap())
            .build()
            .unwrap()
    }

    /// The active deploy tokens of the group, as `(id, name)`.
    async fn group_tokens(&self) -> Vec<(u64, String)> {
        let url = format!("{}/api/v4/groups/{}/deploy_tokens", self.url, self.group_id);
        let r = self.http().get(url).header("PRIVATE-TOKEN", &self.token);
        let list: Value = r.send().await.unwrap().json().await.unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_u64().unwrap(),
                    t["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// The ids of the group's tokens named `name`.
    async fn ids_named(&self, name: &str) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .group_tokens()
            .await
            .into_iter()
            .filter(|(_, n)| n == name)
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Every call the server received.
    async fn requests(&self) -> Vec<Value> {
        let r = self.http().get(format!("{}/_test/requests", self.url));
        r.send().await.unwrap().json().await.unwrap()
    }

    fn generator(&self) -> GitlabDeployToken {
        GitlabDeployToken::new()
            .with_root_certificates(&self.ca)
            .unwrap()
    }

    fn cluster(&self, token: &str) -> MemoryCluster {
        MemoryCluster::new()
            .with_secret(KubeSecret::new("app", "gitlab-api").with_data("token", token.to_owned()))
    }

    /// A group deploy-token generator named `name` (also the token's name).
    fn manifest(&self, name: &str) -> String {
        format!(
            r#"apiVersion: generators.external-secrets.io/v1alpha1
kind: GitlabDeployToken
metadata: {{name: {name}, namespace: app}}
spec:
  url: {url}
  groupID: "{group}"
  name: {name}
  username: {name}-user
  scopes: [read_registry, read_package_registry]
  expiresAt: "2099-01-01T00:00:00Z"
  auth: {{token: {{secretRef: {{name: gitlab-api, key: token}}}}}}
"#,
            url = self.url,
            group = self.group_id,
        )
    }
}

macro_rules! require_generators {
    () => {
        match Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "GITLAB_URL",
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
metadata: {{name: registry-pull, namespace: app, uid: es-uid}}
spec:
  refreshInterval: 1h
  target: {{name: registry-pull}}
  dataFrom:
    - sourceRef: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: GitlabDeployToken, name: {generator}}}}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {{name: push-token, namespace: app, uid: ps-uid, generation: 1}}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{{name: mirror, kind: SecretStore}}]
  selector: {{generatorRef: {{apiVersion: generators.external-secrets.io/v1alpha1, kind: GitlabDeployToken, name: {generator}}}}}
  data: [{{match: {{secretKey: token, remoteRef: {{remoteKey: ci/deploy-token}}}}}}]
"#
    )
}

fn setup(env: &Env, name: &str) -> (Reconciler, ExternalSecret, PushSecret) {
    let mut catalog = MemoryCatalog::new();
    let (mut es, mut ps) = (None, None);
    let text = format!("{}---\n{}", env.manifest(name), consumers(name));
    for (_, doc) in parse_documents(&text) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let mut generators = GeneratorRegistry::new();
    generators.register(Arc::new(env.generator()));
    let reconciler = Reconciler::new(Arc::new(env.cluster(&env.token)), catalog)
        .with_generators(Arc::new(generators))
        .with_generator_gc_grace_period(GRACE);
    (reconciler, es.unwrap(), ps.unwrap())
}

fn hours(start: Timestamp, h: i64) -> Timestamp {
    start + SignedDuration::from_hours(h)
}

async fn rotate(r: &Reconciler, es: &mut ExternalSecret, now: Timestamp) -> String {
    let out = r.reconcile_external_secret(es, &Pass::new(), now).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    es.status = Some(out.status);
    let target = r
        .cluster()
        .get_secret("app", "registry-pull")
        .await
        .unwrap()
        .unwrap();
    let mut keys: Vec<_> = target.data.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["token", "username"]);
    assert_eq!(target.data["username"].expose(), b"es-rotation-user");
    target.data["token"].expose_str().unwrap().to_owned()
}

#[tokio::test]
async fn external_secret_rotates_and_revokes_after_the_grace_period() {
    let env = require_generators!();
    let name = "es-rotation";
    let (r, mut es, _) = setup(&env, name);
    let t0 = Timestamp::now();
    let first = rotate(&r, &mut es, t0).await;
    assert!(first.starts_with("gldt-"));
    let created = env.ids_named(name).await;
    assert_eq!(created.len(), 1);
    // What the server received: the spec's fields, on the group given by ID.
    let req = env
        .requests()
        .await
        .into_iter()
        .rfind(|q| q["method"] == "POST" && q["body"]["name"] == name)
        .unwrap();
    assert_eq!(
        req["path"],
        format!("/api/v4/groups/{}/deploy_tokens", env.group_id)
    );
    assert_eq!(
        req["body"],
        json!({"name": name, "username": "es-rotation-user", "expires_at": "2099-01-01T00:00:00Z",
            "scopes": ["read_registry", "read_package_registry"]})
    );

    // Two rotations: three tokens on the server, the first flagged, none revoked yet.
    let second = rotate(&r, &mut es, hours(t0, 2)).await;
    let third = rotate(&r, &mut es, hours(t0, 4)).await;
    assert!(first != second && second != third);
    let all = env.ids_named(name).await;
    assert_eq!(all.len(), 3);
    let report = r.collect_generator_states(hours(t0, 4)).await;
    assert_eq!((report.collected, report.waiting), (0, 1));
    // After the grace period the first token is deleted on the server.
    let due = report.next_deadline.unwrap();
    let report = r.collect_generator_states(due).await;
    assert_eq!(report.collected, 1, "{:?}", report.errors);
    assert_eq!(env.ids_named(name).await, all[1..]);
    let deleted = format!("/api/v4/groups/{}/deploy_tokens/{}", env.group_id, all[0]);
    assert!(
        env.requests().await.iter().any(|q| q["method"] == "DELETE"
            && q["path"] == deleted.as_str()
            && q["status"] == 204)
    );

    // Deleting the ExternalSecret revokes the two left.
    let out = r.delete_external_secret(&es, hours(t0, 5)).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert!(env.ids_named(name).await.is_empty());
}

#[tokio::test]
async fn push_secret_pushes_a_deploy_token_and_deletion_revokes_it() {
    let env = require_generators!();
    let name = "ps-push";
    let (r, _, ps) = setup(&env, name);
    let out = r.reconcile_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.detail.pushed, 1);
    assert_eq!(env.ids_named(name).await.len(), 1);

    let pushed = common::pushed_to_mirror(&r, "ci/deploy-token").await;
    assert!(pushed.expose_str().unwrap().starts_with("gldt-"));

    let mut ps = ps;
    ps.status = Some(out.status);
    let out = r.delete_push_secret(&ps, Timestamp::now()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(env.ids_named(name).await.is_empty());
}

#[tokio::test]
async fn errors_name_the_field_and_carry_no_token() {
    let env = require_generators!();
    let spec = |v: Value| eso_core::api::GeneratorSpec::parse("GitlabDeployToken", v).unwrap();
    let base = json!({"url": env.url, "projectID": env.project_path, "name": "err",
        "scopes": ["read_registry"],
        "auth": {"token": {"secretRef": {"name": "gitlab-api", "key": "token"}}}});

    // A read_api token: GitLab's 403, as PermissionDenied, without either token.
    let cluster: eso_core::cluster::DynCluster = Arc::new(env.cluster(&env.read_token));
    let s = spec(base.clone());
    let e = env
        .generator()
        .generate(&GeneratorContext::new(&s, "app", &cluster))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::PermissionDenied { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("GitlabDeployToken") && text.contains("insufficient_scope"),
        "{text}"
    );
    assert!(
        !text.contains(&env.read_token) && !text.contains("gldt-"),
        "{text}"
    );

    // A project that does not exist: GitLab's 404 against spec.projectID.
    let cluster: eso_core::cluster::DynCluster = Arc::new(env.cluster(&env.token));
    let mut missing = base.clone();
    missing["projectID"] = json!("eso-rs/nope");
    let s = spec(missing);
    let e = env
        .generator()
        .generate(&GeneratorContext::new(&s, "app", &cluster))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("spec.projectID") && e.contains("404 Project Not Found"),
        "{e}"
    );

    // Cleanup of a token already gone succeeds (idempotent).
    let s = spec(base);
    let ctx = GeneratorContext::new(&s, "app", &cluster);
    let out = env.generator().generate(&ctx).await.unwrap();
    let state = out.state.unwrap();
    env.generator().cleanup(&ctx, &state).await.unwrap();
    env.generator().cleanup(&ctx, &state).await.unwrap();
}
