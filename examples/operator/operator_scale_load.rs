//! The load side of `benches/operator-scale.sh`: creates N ExternalSecrets (two data
//! entries each, `fake` provider) at once in a fresh namespace and measures, from the API
//! server's side, how fast they become Ready, with either the operator running elsewhere
//! (`operator` mode) or, as the yardstick, a plain kube-rs client in this process making
//! exactly the writes a sync makes (create the target Secret, patch the status) at the same
//! concurrency (`plain` mode).
//!
//! `cargo run --release -p eso-examples-operator --example operator_scale_load -- <operator|plain> <N>`
//! (`-- crds` installs the CRDs first)
//! against the cluster in `KUBECONFIG` (CRDs installed). Environment: `CONCURRENCY` (the
//! plain client's, default 8 = the operator's default), `REFRESH` (the ExternalSecrets'
//! `refreshInterval`, default `1m`), `NEW_AFTER_SECS` (operator mode: after all are Ready,
//! wait this long, then time one more ExternalSecret; default 65, 0 to skip).
//!
//! Prints one JSON object: `all_ready_s`, `p50_s`, `p99_s` (create -> Ready per object),
//! `requests_per_object` (from `apiserver_request_total`, less this tool's own creates and
//! watches), `secret_lists`, the request breakdown, and `one_more_s`.

#[path = "support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use eso_core::api::{ExternalSecret, SecretStore};
use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Resource as _, ResourceExt as _};
use serde_json::json;

use support::{Error, ReadyAt, api_requests, install_crds, percentile, watch_ready};

fn external_secret(name: &str, ns: &str, refresh: &str) -> Result<ExternalSecret, Error> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"refreshInterval": refresh,
                 "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                 "target": {"name": name},
                 "data": [{"secretKey": "username", "remoteRef": {"key": "user"}},
                          {"secretKey": "password", "remoteRef": {"key": "pass"}}]}
    }))?)
}

/// The plain client: for each new ExternalSecret, create its Secret and patch its status,
/// `concurrency` at a time.
async fn plain_client(client: kube::Client, ns: String, concurrency: usize) {
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    watcher(es_api.clone(), watcher::Config::default())
        .applied_objects()
        .try_filter(|es| std::future::ready(es.status.is_none()))
        .for_each_concurrent(concurrency, |es| {
            let (es_api, secrets) = (es_api.clone(), secrets.clone());
            async move {
                let Ok(es) = es else { return };
                let name = es.name_any();
                let secret: Secret = match serde_json::from_value(json!({
                    "metadata": {"name": name, "ownerReferences": [es.controller_owner_ref(&())],
                                 "labels": {"reconcile.external-secrets.io/managed": "true"}},
                    "stringData": {"username": "app", "password": "hunter2"}
                })) {
                    Ok(s) => s,
                    Err(_) => return,
                };
                let _ = secrets.create(&PostParams::default(), &secret).await;
                let now = jiff::Timestamp::now().to_string();
                let status = json!({"status": {"refreshTime": now, "binding": {"name": name},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                                    "message": "secret synced", "lastTransitionTime": now}]}});
                let _ = es_api
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                    .await;
            }
        })
        .await;
}

/// A fresh namespace for this run with one `fake` SecretStore; returns its name.
async fn namespace_with_store(client: &kube::Client, mode: &str) -> Result<String, Error> {
    let ns = format!("scale-{mode}-{}", jiff::Timestamp::now().as_second());
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "fake", "namespace": ns},
        "spec": {"provider": {"fake": {"data": [{"key": "user", "value": "app"},
                                                {"key": "pass", "value": "hunter2"}]}}}
    }))?;
    Api::<SecretStore>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &store)
        .await?;
    Ok(ns)
}

/// Creates `n` ExternalSecrets, 16 at a time; returns when each create was sent.
async fn create_all(
    es_api: &Api<ExternalSecret>,
    ns: &str,
    refresh: &str,
    n: usize,
) -> Result<HashMap<String, Instant>, Error> {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let name = format!("es-{i:05}");
            let es = external_secret(&name, ns, refresh)?;
            let t = Instant::now();
            es_api.create(&PostParams::default(), &es).await?;
            Ok::<_, Error>((name, t))
        })
        .buffer_unordered(16)
        .try_collect()
        .await
}

/// The API requests made between two readings of the server's metrics, less this tool's own
/// (the `n` creates, watches and the metrics GET).
fn requests_made(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
    n: usize,
) -> BTreeMap<String, f64> {
    let mut delta: BTreeMap<String, f64> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    if let Some(v) = delta.get_mut("POST externalsecrets") {
        #[allow(clippy::cast_precision_loss)]
        let own = n as f64;
        *v -= own;
    }
    delta.retain(|k, v| *v > 0.0 && support::operator_request(k));
    delta
}

/// One more ExternalSecret while all refresh: seconds until it is Ready (None after 10 min).
async fn one_more(
    es_api: &Api<ExternalSecret>,
    ns: &str,
    refresh: &str,
    ready_at: &ReadyAt,
) -> Result<Option<f64>, Error> {
    let es = external_secret("one-more", ns, refresh)?;
    let t = Instant::now();
    es_api.create(&PostParams::default(), &es).await?;
    loop {
        if let Some(r) = ready_at.lock().await.get("one-more") {
            return Ok(Some(r.duration_since(t).as_secs_f64()));
        }
        if t.elapsed() > Duration::from_secs(600) {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_else(|| "operator".into());
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let concurrency: usize = env("CONCURRENCY", "8").parse()?;
    let refresh = env("REFRESH", "1m");
    let new_after: u64 = env("NEW_AFTER_SECS", "65").parse()?;
    let client = kube::Client::try_default().await?;
    if mode == "crds" {
        return install_crds(&client).await;
    }

    let ns = namespace_with_store(&client, &mode).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    if mode == "plain" {
        tokio::spawn(plain_client(client.clone(), ns.clone(), concurrency));
    }

    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let (watch, ready_at) = watch_ready(es_api.clone());
    let before = api_requests(&client).await?;
    let start = Instant::now();
    let created = create_all(&es_api, &ns, &refresh, n).await?;
    while ready_at.lock().await.len() < n {
        if start.elapsed() > Duration::from_secs(3600) {
            return Err("not all Ready within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_ready = start.elapsed();
    let after = api_requests(&client).await?;
    let ready = ready_at.lock().await.clone();
    let mut lat: Vec<f64> = created
        .iter()
        .filter_map(|(k, t)| Some(ready.get(k)?.duration_since(*t).as_secs_f64()))
        .collect();
    lat.sort_by(f64::total_cmp);
    let delta = requests_made(&before, &after, n);
    let total: f64 = delta.values().sum();
    let secret_lists = delta.get("LIST secrets").copied().unwrap_or(0.0);

    let mut one_more_s = None;
    if mode == "operator" && new_after > 0 {
        tokio::time::sleep(Duration::from_secs(new_after)).await;
        one_more_s = one_more(&es_api, &ns, &refresh, &ready_at).await?;
    }
    watch.abort();
    #[allow(clippy::cast_precision_loss)]
    let per_object = total / n as f64;
    println!(
        "{}",
        json!({
            "mode": mode, "n": n, "namespace": ns,
            "all_ready_s": all_ready.as_secs_f64(),
            "p50_s": percentile(&lat, 0.5), "p99_s": percentile(&lat, 0.99),
            "requests_per_object": per_object, "secret_lists": secret_lists,
            "requests": delta, "one_more_s": one_more_s,
        })
    );
    // The plain client's watch task would keep the runtime alive.
    std::process::exit(0)
}
