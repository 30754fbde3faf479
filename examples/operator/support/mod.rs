//! Pieces shared by the bench drivers (`operator_scale_load`, `operator_steady`, `soak`):
//! installing ESO's CRDs on a fresh API server, reading its request counters, watching
//! ExternalSecrets become Ready, sampling a process.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eso_core::api::ExternalSecret;
use futures_util::StreamExt as _;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::sync::Mutex;

/// The drivers' error type.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// `apiserver_request_total`, summed by `verb resource`.
pub(crate) async fn api_requests(client: &kube::Client) -> Result<BTreeMap<String, f64>, Error> {
    let req = http::Request::get("/metrics").body(Vec::new())?;
    let text = client.request_text(req).await?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |k: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let v: f64 = value.trim().parse().unwrap_or(0.0);
        *out.entry(format!("{} {}", label("verb"), label("resource")))
            .or_insert(0.0) += v;
    }
    Ok(out)
}

/// Whether a `verb resource` key of [`api_requests`] is a request the operator made: not a
/// watch (long-lived, counted once) and not one without a resource (the drivers' own
/// `/metrics` reads).
pub(crate) fn operator_request(key: &str) -> bool {
    !key.starts_with("WATCH") && !key.ends_with(' ')
}

/// Installs the ESO CRDs (server-side apply) and waits until they are served.
pub(crate) async fn install_crds(client: &kube::Client) -> Result<(), Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::CustomResourceExt as _;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [
        ExternalSecret::crd(),
        eso_core::api::SecretStore::crd(),
        eso_core::api::ClusterSecretStore::crd(),
        eso_core::api::PushSecret::crd(),
        eso_core::api::ClusterExternalSecret::crd(),
        eso_core::api::ClusterPushSecret::crd(),
    ] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply("eso-rs-bench").force(),
            &Patch::Apply(&crd),
        )
        .await?;
    }
    for _ in 0..100 {
        let served = Api::<ExternalSecret>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
            && Api::<eso_core::api::ClusterPushSecret>::all(client.clone())
                .list(&Default::default())
                .await
                .is_ok();
        if served {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the CRDs were not served in time".into())
}

/// Whether a list of conditions holds `Ready=True`.
pub(crate) fn ready(conditions: Option<&Vec<eso_core::api::Condition>>) -> bool {
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The `p` quantile (0..=1) of sorted values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// When each ExternalSecret (by name) was first seen Ready.
pub(crate) type ReadyAt = Arc<Mutex<HashMap<String, Instant>>>;

/// Watches the namespace's ExternalSecrets and records when each first was Ready.
pub(crate) fn watch_ready(es_api: Api<ExternalSecret>) -> (tokio::task::JoinHandle<()>, ReadyAt) {
    let ready_at: ReadyAt = Arc::default();
    let task = tokio::spawn({
        let ready_at = Arc::clone(&ready_at);
        async move {
            let mut s = watcher(es_api, watcher::Config::default())
                .applied_objects()
                .boxed();
            while let Some(Ok(es)) = s.next().await {
                if ready(es.status.as_ref().and_then(|s| s.conditions.as_ref())) {
                    ready_at
                        .lock()
                        .await
                        .entry(es.name_any())
                        .or_insert_with(Instant::now);
                }
            }
        }
    });
    (task, ready_at)
}

/// A process's resident set (`VmRSS`) and peak (`VmHWM`) in KiB, and its CPU time
/// (user + system) in clock ticks (1/100 s), from `/proc`; zeros when it is gone.
pub(crate) fn process_sample(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of /proc/PID/stat, counted after the command name (which may hold
    // spaces, so split after its closing parenthesis).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    (kib("VmRSS:"), kib("VmHWM:"), ticks)
}
