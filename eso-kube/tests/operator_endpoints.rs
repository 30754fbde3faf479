//! The operator's HTTP side and controller classes on a real kube-apiserver with the `fake`
//! provider: `/metrics` after a sync and an error (ESO's names, labels and values), ESO's
//! `force-sync` annotation, the authenticated `/refresh` endpoint (authorised and not), and
//! two operators of different classes sharing one API server.

mod common;

use common::wait_for;

use std::net::SocketAddr;
use std::time::Duration;

use eso_core::api::{ExternalSecret, SecretStore};
use eso_core::provider::ProviderRegistry;
use eso_kube::operator::{Endpoints, Operator, Shutdown, ShutdownTrigger};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One HTTP/1.1 request to the operator's router: the status code and the body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

/// Serves `endpoints` on a loopback port.
async fn serve(endpoints: &Endpoints) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = endpoints.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn value(s: Option<Secret>, key: &str) -> Option<Vec<u8>> {
    s.and_then(|s| s.data)
        .and_then(|d| d.get(key).cloned())
        .map(|ByteString(b)| b)
}

fn store(name: &str, ns: &str, class: Option<&str>, db: &str) -> SecretStore {
    let mut spec = json!({"provider": {"fake": {"data": [{"key": "db", "value": db}]}}});
    if let Some(c) = class {
        spec["controller"] = c.into();
    }
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": name, "namespace": ns}, "spec": spec
    }))
    .unwrap()
}

fn external_secret(name: &str, ns: &str, store: &str, key: &str) -> ExternalSecret {
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"refreshInterval": "1h",
                 "secretStoreRef": {"name": store, "kind": "SecretStore"},
                 "target": {"name": format!("{name}-target")},
                 "data": [{"secretKey": "password", "remoteRef": {"key": key}}]}
    }))
    .unwrap()
}

/// The value of the sample whose line starts with `series` (labels in Prometheus' sorted
/// order), if any.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn set_store_value(stores: &Api<SecretStore>, name: &str, db: &str) {
    stores
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"provider": {"fake": {"data": [{"key": "db", "value": db}]}}}}),
            ),
        )
        .await
        .unwrap();
}

async fn stop(trigger: ShutdownTrigger, op: tokio::task::JoinHandle<()>) {
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(30), op)
        .await
        .expect("graceful shutdown")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_force_sync_and_the_refresh_endpoint() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = common::namespace(&client, "ep").await;
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
    stores
        .create(
            &PostParams::default(),
            &store("fake", &ns, Some("endpoints"), "v1"),
        )
        .await
        .unwrap();

    // A class of its own: the two operators of the test below run at the same time on the
    // same API server, and one of them would otherwise sync (and count) these objects.
    let token = "refresh-token-for-tests";
    let operator = Operator::new(client.clone(), ProviderRegistry::new())
        .with_controller_class("endpoints")
        .with_refresh_token(token);
    let addr = serve(operator.endpoints()).await;
    assert_eq!(http(addr, "GET", "/healthz", None, "").await.0, 200);
    let (trigger, shutdown) = Shutdown::new();
    let op = tokio::spawn(operator.run(shutdown));
    wait_for("/readyz", || async {
        http(addr, "GET", "/readyz", None, "").await.0 == 200
    })
    .await;

    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    es_api
        .create(
            &PostParams::default(),
            &external_secret("good", &ns, "fake", "db"),
        )
        .await
        .unwrap();
    es_api
        .create(
            &PostParams::default(),
            &external_secret("bad", &ns, "fake", "missing"),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_for("the target", || async {
        value(secrets.get_opt("good-target").await.unwrap(), "password") == Some(b"v1".to_vec())
    })
    .await;

    let text = metrics_after_sync_and_error(addr, &ns).await;
    assert_eso_metrics(&text, &ns);
    force_sync(&stores, &es_api, &secrets).await;
    refresh_endpoint(addr, token, &ns, &stores, &secrets).await;

    stop(trigger, op).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_controller_classes_share_one_api_server() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = common::namespace(&client, "cls").await;
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
    stores
        .create(
            &PostParams::default(),
            &store("blue-store", &ns, Some("blue"), "b"),
        )
        .await
        .unwrap();
    stores
        .create(
            &PostParams::default(),
            &store("green-store", &ns, Some("green"), "g"),
        )
        .await
        .unwrap();

    let mut ops = Vec::new();
    let mut addrs = Vec::new();
    for class in ["blue", "green"] {
        let operator =
            Operator::new(client.clone(), ProviderRegistry::new()).with_controller_class(class);
        addrs.push(serve(operator.endpoints()).await);
        let (trigger, shutdown) = Shutdown::new();
        ops.push((trigger, tokio::spawn(operator.run(shutdown))));
    }
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    es_api
        .create(
            &PostParams::default(),
            &external_secret("a", &ns, "blue-store", "db"),
        )
        .await
        .unwrap();
    es_api
        .create(
            &PostParams::default(),
            &external_secret("b", &ns, "green-store", "db"),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_for("both targets", || async {
        value(secrets.get_opt("a-target").await.unwrap(), "password") == Some(b"b".to_vec())
            && value(secrets.get_opt("b-target").await.unwrap(), "password") == Some(b"g".to_vec())
    })
    .await;

    // Each operator reconciled only its own store and ExternalSecret.
    let series = |kind: &str, name: &str| {
        format!("{kind}_reconcile_duration{{name=\"{name}\",namespace=\"{ns}\"}}")
    };
    for (addr, mine, theirs) in [(addrs[0], "a", "b"), (addrs[1], "b", "a")] {
        // The metrics are recorded when the pass ends, just after the target is written.
        let mut text = String::new();
        for _ in 0..300 {
            text = http(addr, "GET", "/metrics", None, "").await.1;
            if sample(&text, &series("externalsecret", mine)).is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (my_store, their_store) = (
            format!("{}-store", if mine == "a" { "blue" } else { "green" }),
            format!("{}-store", if mine == "a" { "green" } else { "blue" }),
        );
        assert!(
            sample(&text, &series("externalsecret", mine)).is_some(),
            "{mine}:\n{text}"
        );
        assert!(
            sample(&text, &series("externalsecret", theirs)).is_none(),
            "{theirs}:\n{text}"
        );
        assert!(
            sample(&text, &series("secretstore", &my_store)).is_some(),
            "{my_store}:\n{text}"
        );
        assert!(
            sample(&text, &series("secretstore", &their_store)).is_none(),
            "{their_store}:\n{text}"
        );
    }
    for (trigger, op) in ops {
        stop(trigger, op).await;
    }
}

/// The labels of one object's series: `{name="..",namespace=".."}`.
fn object_labels(name: &str, ns: &str) -> String {
    format!("{{name=\"{name}\",namespace=\"{ns}\"}}")
}

/// The series of an ExternalSecret's `Ready` condition with `status`.
fn ready_condition(name: &str, ns: &str, status: &str) -> String {
    format!(
        "externalsecret_status_condition{{condition=\"Ready\",name=\"{name}\",namespace=\"{ns}\",status=\"{status}\"}}"
    )
}

/// The `/metrics` text once the sync of `good` and the error of `bad` show in it.
async fn metrics_after_sync_and_error(addr: SocketAddr, ns: &str) -> String {
    let obj = |name: &str| object_labels(name, ns);
    let cond = |name: &str, status: &str| ready_condition(name, ns, status);
    let mut text = String::new();
    for _ in 0..300 {
        text = http(addr, "GET", "/metrics", None, "").await.1;
        if sample(
            &text,
            &format!("externalsecret_sync_calls_error{}", obj("bad")),
        )
        .is_some_and(|v| v >= 1.0)
            && sample(&text, &cond("bad", "False")) == Some(1.0)
            && sample(&text, &cond("good", "True")) == Some(1.0)
            && sample(
                &text,
                &format!("externalsecret_sync_calls_total{}", obj("good")),
            )
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    text
}

/// ESO's metric names, labels and values after a sync (`good`) and an error (`bad`).
fn assert_eso_metrics(text: &str, ns: &str) {
    let obj = |name: &str| object_labels(name, ns);
    let cond = |name: &str, status: &str| ready_condition(name, ns, status);
    for kind in ["counter"] {
        for m in [
            "externalsecret_sync_calls_total",
            "externalsecret_sync_calls_error",
            "externalsecret_provider_api_calls_count",
        ] {
            assert!(text.contains(&format!("# TYPE {m} {kind}")), "{m}:\n{text}");
        }
    }
    for m in [
        "externalsecret_status_condition",
        "externalsecret_reconcile_duration",
        "secretstore_status_condition",
        "secretstore_reconcile_duration",
    ] {
        assert!(text.contains(&format!("# TYPE {m} gauge")), "{m}:\n{text}");
    }
    assert!(
        sample(
            text,
            &format!("externalsecret_sync_calls_total{}", obj("good"))
        )
        .is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert_eq!(sample(text, &cond("good", "True")), Some(1.0), "{text}");
    assert_eq!(sample(text, &cond("good", "False")), Some(0.0), "{text}");
    assert_eq!(sample(text, &cond("bad", "True")), Some(0.0), "{text}");
    assert!(
        sample(
            text,
            &format!("externalsecret_reconcile_duration{}", obj("good"))
        )
        .is_some_and(|v| v > 0.0),
        "{text}"
    );
    let store_ready = format!(
        "secretstore_status_condition{{condition=\"Ready\",name=\"fake\",namespace=\"{ns}\",status=\"True\"}}"
    );
    assert_eq!(sample(text, &store_ready), Some(1.0), "{text}");
    let calls = |status: &str| {
        text.lines().any(|l| {
            l.starts_with("externalsecret_provider_api_calls_count{")
                && l.contains("provider=\"fake\"")
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(calls("success") && calls("error"), "{text}");
}

/// force-sync: the source changed, the refresh interval (1h) is far; the annotation
/// refreshes at once.
async fn force_sync(
    stores: &Api<SecretStore>,
    es_api: &Api<ExternalSecret>,
    secrets: &Api<Secret>,
) {
    set_store_value(stores, "fake", "v2").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        value(secrets.get_opt("good-target").await.unwrap(), "password"),
        Some(b"v1".to_vec())
    );
    es_api
        .patch(
            "good",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"force-sync": "1"}}})),
        )
        .await
        .unwrap();
    wait_for("force-sync", || async {
        value(secrets.get_opt("good-target").await.unwrap(), "password") == Some(b"v2".to_vec())
    })
    .await;
}

/// The refresh endpoint: 401 without the token or with a wrong one, nothing refreshed;
/// 400 without a namespace; with the token, only the reader of that key refreshes.
async fn refresh_endpoint(
    addr: SocketAddr,
    token: &str,
    ns: &str,
    stores: &Api<SecretStore>,
    secrets: &Api<Secret>,
) {
    set_store_value(stores, "fake", "v3").await;
    let body =
        json!({"store": {"name": "fake", "kind": "SecretStore"}, "namespace": ns, "key": "db"})
            .to_string();
    assert_eq!(http(addr, "POST", "/refresh", None, &body).await.0, 401);
    assert_eq!(
        http(addr, "POST", "/refresh", Some("wrong"), &body).await.0,
        401
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        value(secrets.get_opt("good-target").await.unwrap(), "password"),
        Some(b"v2".to_vec())
    );
    let bad_body =
        json!({"store": {"name": "fake", "kind": "SecretStore"}, "key": "db"}).to_string();
    let (code, answer) = http(addr, "POST", "/refresh", Some(token), &bad_body).await;
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("namespace"), "{answer}");
    let (code, answer) = http(addr, "POST", "/refresh", Some(token), &body).await;
    assert_eq!(code, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer["refreshed"],
        json!([format!("{ns}/good")]),
        "only the reader of that key"
    );
    wait_for("the refresh", || async {
        value(secrets.get_opt("good-target").await.unwrap(), "password") == Some(b"v3".to_vec())
    })
    .await;
}
