//! Fault injection against a real OpenBao: the flows (ExternalSecret and PushSecret) reach the
//! server through a [`FaultProxy`] that adds latency, resets connections in the middle of an
//! answer, answers 503 and 429 itself, goes down and comes back, or accepts and never answers.
//! For each fault: what the status says, whether the error is temporary (requeued at
//! `TEMPORARY_REQUEUE`, retried per `retrySettings`), and, read straight from OpenBao and
//! from the cluster, that nothing is lost or half-written: every remote secret holds the old
//! or the new value, every target Secret is whole, and `syncedPushSecrets` matches what the
//! servers hold.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::{Cluster, KubeSecret, MemoryCluster};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler, TEMPORARY_REQUEUE};
use eso_core::testing::{Fault, FaultProxy};
use eso_provider_vault::VaultFactory;
use serde_json::json;

/// The request timeout of the stores under test: a hung server is given up on after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// A guard against a hang (a flow that never returns fails the test; not a timing check).
const HANG_GUARD: Duration = Duration::from_secs(60);

fn host_port(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

fn store_yaml(name: &str, server: &str, retries: u32) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: {name}, namespace: default}}\n\
         spec:\n  retrySettings: {{maxRetries: {retries}, retryInterval: 100ms}}\n  provider:\n    vault:\n      \
         server: {server}\n      path: secret\n      version: v2\n      auth: {{tokenSecretRef: {{name: vault-root, key: token}}}}\n"
    )
}

struct Setup {
    reconciler: Reconciler,
    /// The flows' clock: each pass is two hours after the previous one, so the 1 h refresh
    /// interval is always due.
    now: jiff::Timestamp,
    cluster: Arc<MemoryCluster>,
    es: Option<ExternalSecret>,
    ps: Option<PushSecret>,
}

/// A Reconciler over a MemoryCluster (the root token Secret and `default/src`) whose catalog
/// holds `docs` (stores, an ExternalSecret and/or a PushSecret).
fn setup(env: &common::Env, docs: &str) -> Setup {
    let mut catalog = MemoryCatalog::new();
    let (mut es, mut ps) = (None, None);
    for (_, doc) in parse_documents(docs) {
        match Manifest::from_value(doc.expect("test YAML").value).expect("test manifest") {
            Manifest::ExternalSecret(e) => es = Some(*e),
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let cluster =
        Arc::new(common::cluster_with_token(env).with_secret(
            KubeSecret::new("default", "src").with_data("password", "v1-old-password"),
        ));
    let mut registry = ProviderRegistry::empty();
    registry.register(Arc::new(
        VaultFactory::new().with_request_timeout(REQUEST_TIMEOUT),
    ));
    let reconciler = Reconciler::new(cluster.clone(), catalog).with_providers(Arc::new(registry));
    Setup {
        reconciler,
        now: jiff::Timestamp::now(),
        cluster,
        es,
        ps,
    }
}

fn external_secret(store: &str, key: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: es, namespace: default, generation: 1}}\n\
         spec:\n  refreshInterval: 1h\n  secretStoreRef: {{name: {store}, kind: SecretStore}}\n  target: {{name: target}}\n  \
         data:\n    - {{secretKey: password, remoteRef: {{key: {key}, property: password}}}}\n    \
         - {{secretKey: user, remoteRef: {{key: {key}, property: user}}}}\n"
    )
}

impl Setup {
    fn tick(&mut self) -> jiff::Timestamp {
        self.now += jiff::SignedDuration::from_hours(2);
        self.now
    }

    async fn pull(&mut self) -> eso_core::reconcile::ExternalSecretOutcome {
        let now = self.tick();
        let es = self.es.as_ref().expect("an ExternalSecret");
        let out = tokio::time::timeout(
            HANG_GUARD,
            self.reconciler
                .reconcile_external_secret(es, &Pass::new(), now),
        )
        .await
        .expect("the ExternalSecret flow hung");
        if let Some(es) = self.es.as_mut() {
            es.status = Some(out.status.clone());
        }
        out
    }

    async fn push(&mut self) -> eso_core::reconcile::PushSecretOutcome {
        let now = self.tick();
        let ps = self.ps.as_ref().expect("a PushSecret");
        let out = tokio::time::timeout(HANG_GUARD, self.reconciler.reconcile_push_secret(ps, now))
            .await
            .expect("the PushSecret flow hung");
        if let Some(ps) = self.ps.as_mut() {
            ps.status = Some(out.status.clone());
        }
        out
    }

    /// The target Secret's `(password, user)`.
    async fn target(&self) -> Option<(String, String)> {
        let s = self.cluster.get_secret("default", "target").await.ok()??;
        let get = |k: &str| {
            s.data
                .get(k)
                .map(|v| String::from_utf8_lossy(v.expose()).into_owned())
        };
        Some((get("password")?, get("user")?))
    }
}

fn ready_condition(status: &eso_core::api::ExternalSecretStatus) -> (String, String) {
    let c = &status.conditions.as_ref().expect("conditions")[0];
    (c.status.clone(), c.message.clone().unwrap_or_default())
}

async fn write_pair(env: &common::Env, key: &str, password: &str, user: &str) {
    env.root()
        .write(
            &format!("secret/data/{key}"),
            json!({"data": {"password": password, "user": user}}),
        )
        .await;
}

/// The `password` property OpenBao holds at the API path `path` (None when absent).
async fn held(env: &common::Env, path: &str) -> Option<String> {
    let (code, v) = env.root().read(path).await;
    (code == 200).then(|| v["data"]["data"]["password"].as_str().map(str::to_owned))?
}

#[tokio::test]
async fn pull_through_latency_a_reset_answer_and_error_answers() {
    let env = require_vault!();
    let key = eso_core::testing::conformance::unique_prefix("fault-pull");
    write_pair(&env, &key, "p1", "u1").await;
    let proxy = FaultProxy::start(host_port(&env.addr), 0).await.unwrap();
    proxy.set_fault(Fault::Latency(Duration::from_millis(150)));
    let docs = format!(
        "{}---\n{}",
        // One retry: a fault switch closes the client's pooled connection, as a restarting
        // server would, and the first request after it may meet that closed connection.
        store_yaml("flaky", &proxy.url("http"), 1),
        external_secret("flaky", &key)
    );
    let mut s = setup(&env, &docs);

    // Latency: slower, same result.
    let out = s.pull().await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert_eq!(s.target().await, Some(("p1".into(), "u1".into())));

    // The server changes, then every answer is cut after 40 bytes (headers half sent).
    write_pair(&env, &key, "p2", "u2").await;
    proxy.set_fault(Fault::ResetAfter(40));
    let out = s.pull().await;
    let err = out.error().expect("a cut answer is an error");
    assert!(out.is_temporary(), "{err}");
    assert_eq!(out.requeue_after, Some(TEMPORARY_REQUEUE));
    let (ready, message) = ready_condition(&out.status);
    assert_eq!(ready, "False");
    assert!(
        message.starts_with("could not get secret data from provider"),
        "{message}"
    );
    // The target keeps the last good data, whole.
    assert_eq!(s.target().await, Some(("p1".into(), "u1".into())));

    // 503 from the server: temporary, the status says what the server answered.
    proxy.set_fault(Fault::HttpStatus {
        status: 503,
        retry_after: None,
    });
    let out = s.pull().await;
    let err = out.error().expect("503 is an error").to_string();
    assert!(out.is_temporary(), "{err}");
    assert!(err.contains("503"), "{err}");
    assert_eq!(s.target().await, Some(("p1".into(), "u1".into())));

    // 429 (throttling): a rate-limit error, temporary.
    proxy.set_fault(Fault::HttpStatus {
        status: 429,
        retry_after: Some(1),
    });
    let out = s.pull().await;
    let err = out.error().expect("429 is an error");
    assert!(
        matches!(err, eso_core::Error::RateLimited { .. }),
        "429 should be a rate limit: {err}"
    );
    assert!(out.is_temporary());
    assert_eq!(s.target().await, Some(("p1".into(), "u1".into())));

    // The server is back: the next pass brings the new data, both keys at once.
    proxy.set_fault(Fault::Forward);
    let out = s.pull().await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert_eq!(s.target().await, Some(("p2".into(), "u2".into())));
    let (ready, _) = ready_condition(&out.status);
    assert_eq!(ready, "True");
}

#[tokio::test]
async fn a_hung_server_times_out_and_is_retried() {
    let env = require_vault!();
    let key = eso_core::testing::conformance::unique_prefix("fault-hang");
    write_pair(&env, &key, "p1", "u1").await;
    let proxy = FaultProxy::start(host_port(&env.addr), 0).await.unwrap();
    proxy.set_fault(Fault::Blackhole);
    let docs = format!(
        "{}---\n{}",
        store_yaml("hung", &proxy.url("http"), 1),
        external_secret("hung", &key)
    );
    let mut s = setup(&env, &docs);
    let out = s.pull().await;
    let err = out.error().expect("a hung server is an error").to_string();
    assert!(out.is_temporary(), "{err}");
    assert!(
        err.to_lowercase().contains("time"),
        "names the timeout: {err}"
    );
    // maxRetries 1: the first attempt and one retry, each a new connection after a timeout
    // (token lookup and read go through the same client).
    assert!(proxy.connections() >= 2, "{}", proxy.connections());
    assert_eq!(s.target().await, None, "nothing written");

    proxy.set_fault(Fault::Forward);
    let out = s.pull().await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert_eq!(s.target().await, Some(("p1".into(), "u1".into())));
}

#[tokio::test]
async fn a_multi_store_push_with_one_server_down_and_back() {
    let env = require_vault!();
    let key = "app/db";
    let run = eso_core::testing::conformance::unique_prefix("fault-push");
    let proxy = FaultProxy::start(host_port(&env.addr), 0).await.unwrap();
    // Three "regions": one KV v2 mount each; region-b is reached through the proxy.
    let regions = [
        ("region-a", format!("{run}-a"), env.addr.clone()),
        ("region-b", format!("{run}-b"), proxy.url("http")),
        ("region-c", format!("{run}-c"), env.addr.clone()),
    ];
    let mut docs = String::new();
    for (name, mount, server) in &regions {
        env.root()
            .write(
                &format!("sys/mounts/{mount}"),
                json!({"type": "kv", "options": {"version": "2"}}),
            )
            .await;
        docs.push_str(
            &store_yaml(name, server, 1).replace("path: secret", &format!("path: {mount}")),
        );
        docs.push_str("---\n");
    }
    docs.push_str(&format!(
        "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: push, namespace: default, generation: 1}}\n\
         spec:\n  refreshInterval: 1h\n  secretStoreRefs: [{{name: region-a}}, {{name: region-b}}, {{name: region-c}}]\n  \
         selector: {{secret: {{name: src}}}}\n  data:\n    - match: {{secretKey: password, remoteRef: {{remoteKey: {key}, property: password}}}}\n"
    ));
    let mut s = setup(&env, &docs);
    let holdings = |env: common::Env| {
        let mounts: Vec<String> = regions.iter().map(|r| r.1.clone()).collect();
        async move {
            let mut out = Vec::new();
            for m in mounts {
                out.push(held(&env, &format!("{m}/data/{key}")).await);
            }
            out
        }
    };
    let old = Some("v1-old-password".to_owned());
    let new = Some("v2-new-password".to_owned());

    let out = s.push().await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        holdings(env.clone()).await,
        [old.clone(), old.clone(), old.clone()]
    );

    // The source rotates while region-b's server is down.
    let mut src = s
        .cluster
        .get_secret("default", "src")
        .await
        .unwrap()
        .unwrap();
    src.data.insert("password".into(), "v2-new-password".into());
    s.cluster.update_secret(src).await.unwrap();
    proxy.set_fault(Fault::Close);
    let out = s.push().await;
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    let failed = &out.errors[0];
    let store = failed.store.as_ref().expect("the error names its store");
    assert_eq!(store.name, "region-b");
    assert!(failed.error.is_temporary(), "{}", failed.error);
    // The other regions moved on; region-b holds the old value, whole.
    assert_eq!(
        holdings(env.clone()).await,
        [new.clone(), old.clone(), new.clone()]
    );
    let cond = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(cond.status, "False");
    assert!(
        cond.message
            .as_deref()
            .unwrap_or_default()
            .contains("region-b"),
        "{cond:?}"
    );
    // syncedPushSecrets still lists region-b (its last push holds there).
    let synced = out.status.synced_push_secrets.clone().unwrap_or_default();
    assert!(
        synced.keys().any(|k| k.contains("region-b")),
        "{:?}",
        synced.keys().collect::<Vec<_>>()
    );

    // region-b restarts in the middle of a slow push: cut, then up again.
    proxy.set_fault(Fault::Latency(Duration::from_millis(300)));
    let cutter = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        proxy.set_fault(Fault::Close);
        tokio::time::sleep(Duration::from_millis(200)).await;
        proxy.set_fault(Fault::Forward);
    };
    let (out, ()) = tokio::join!(s.push(), cutter);
    // Whether the retry landed or the pass reports the failure, region-b holds a whole
    // value: the old or the new one.
    let b = holdings(env.clone()).await[1].clone();
    assert!(b == old || b == new, "{b:?} {:?}", out.errors);

    // The next pass converges with no error: every region holds the new value, and
    // syncedPushSecrets lists the three.
    let out = s.push().await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(holdings(env.clone()).await, [new.clone(), new.clone(), new]);
    let cond = &out.status.conditions.as_ref().unwrap()[0];
    assert_eq!(cond.status, "True", "{cond:?}");
    let synced = out.status.synced_push_secrets.clone().unwrap_or_default();
    for (name, _, _) in &regions {
        assert!(synced.keys().any(|k| k.contains(name)), "{name}");
    }
}
