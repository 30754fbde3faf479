//! The steady-state side of `benches/operator-scale.sh` (`MODES=steady`): N ExternalSecrets
//! spread over K distinct remote secrets of a real backend (moto's Secrets Manager or
//! OpenBao's KV v2), all refreshing every `REFRESH`, observed for `INTERVALS` refresh
//! intervals once all are Ready, while an operator runs elsewhere (its PID in `OPERATOR_PID`).
//!
//! What it counts, per interval:
//! - provider calls, on the backend's side: moto's request recorder (by `X-Amz-Target`) or
//!   OpenBao's file audit log (`VAULT_AUDIT_LOG`, requests under the bench's KV prefix);
//! - API requests, from the API server's `apiserver_request_total` (watches and this tool's
//!   own metric reads left out);
//! - the operator's CPU seconds and RSS (sampled every 10 s).
//!
//! Then it changes every remote value once and measures how long until every target Secret
//! holds the new one (freshness: within one refresh interval and the read window), and times
//! one more ExternalSecret while all refresh.
//!
//! `cargo run --release -p eso-examples-operator --no-default-features --example operator_steady -- <N>`
//! against the cluster in `KUBECONFIG` (CRDs installed). Environment: `BACKEND` (`moto`, the
//! default, or `openbao`), `KEYS` (default 100), `REFRESH` (default `1m`), `INTERVALS`
//! (default 10), `OPERATOR_PID`, and the backend's variables (`AWS_ENDPOINT_URL`, or
//! `VAULT_HTTP_ADDR`, `VAULT_TOKEN`, `VAULT_AUDIT_LOG`). Prints one JSON object.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use eso_core::api::{ExternalSecret, SecretStore};
use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

use support::{Error, api_requests, process_sample, watch_ready};

/// Where the remote secrets live in the backend.
const PREFIX: &str = "steady";

/// The bench's settings, from the command line and the environment.
struct Config {
    n: usize,
    keys: usize,
    refresh: String,
    refresh_d: Duration,
    intervals: u32,
    operator_pid: Option<u32>,
}

impl Config {
    fn from_env() -> Result<Self, Error> {
        let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        let n = std::env::args()
            .nth(1)
            .ok_or("usage: operator_steady <N>")?
            .parse()?;
        let refresh = env("REFRESH", "1m");
        let refresh_d = eso_core::GoDuration::parse(&refresh)
            .map_err(|e| format!("REFRESH {refresh:?}: {e}"))?
            .to_std()
            .ok_or_else(|| format!("REFRESH {refresh:?}: a positive duration"))?;
        Ok(Self {
            n,
            keys: env("KEYS", "100").parse()?,
            refresh_d,
            refresh,
            intervals: env("INTERVALS", "10").parse()?,
            operator_pid: std::env::var("OPERATOR_PID")
                .ok()
                .and_then(|p| p.parse().ok()),
        })
    }
}

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .map_err(|_| format!("{name} is not set (load the backend's env file)").into())
}

/// The backend the ExternalSecrets read, reached directly over HTTP by this tool (to write
/// the remote values and to count what the operator asked of it).
enum Backend {
    Moto {
        endpoint: String,
    },
    OpenBao {
        addr: String,
        token: String,
        audit_log: String,
        audit_offset: u64,
    },
}

/// The value of remote secret `i` in `round`.
fn value(i: usize, round: u32) -> String {
    format!("value-{i}-r{round}")
}

impl Backend {
    fn from_env() -> Result<Self, Error> {
        match std::env::var("BACKEND").as_deref().unwrap_or("moto") {
            "moto" => Ok(Self::Moto {
                endpoint: var("AWS_ENDPOINT_URL")?,
            }),
            "openbao" => Ok(Self::OpenBao {
                addr: var("VAULT_HTTP_ADDR")?,
                token: var("VAULT_TOKEN")?,
                audit_log: var("VAULT_AUDIT_LOG")?,
                audit_offset: 0,
            }),
            other => Err(format!("BACKEND {other:?}: moto or openbao").into()),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Moto { .. } => "moto",
            Self::OpenBao { .. } => "openbao",
        }
    }

    /// The SecretStore's provider block (moto: the operator's ambient AWS environment).
    fn store_provider(&self) -> Value {
        match self {
            Self::Moto { .. } => {
                json!({"aws": {"service": "SecretsManager", "region": "us-east-1"}})
            }
            Self::OpenBao { addr, .. } => json!({"vault": {
                "server": addr, "path": "secret", "version": "v2",
                "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}),
        }
    }

    /// The `remoteRef` of remote secret `i`.
    fn remote_ref(&self, i: usize) -> Value {
        match self {
            Self::Moto { .. } => json!({"key": format!("{PREFIX}/k-{i}")}),
            Self::OpenBao { .. } => json!({"key": format!("{PREFIX}/k-{i}"), "property": "value"}),
        }
    }

    /// Creates (round 0) or overwrites remote secret `i`.
    async fn write(&self, http: &reqwest::Client, i: usize, round: u32) -> Result<(), Error> {
        let name = format!("{PREFIX}/k-{i}");
        let resp = match self {
            Self::Moto { endpoint } => {
                let (target, body) = if round == 0 {
                    (
                        "CreateSecret",
                        json!({"Name": name, "SecretString": value(i, round)}),
                    )
                } else {
                    (
                        "PutSecretValue",
                        json!({"SecretId": name, "SecretString": value(i, round)}),
                    )
                };
                http.post(endpoint)
                    .header("X-Amz-Target", format!("secretsmanager.{target}"))
                    .header("Content-Type", "application/x-amz-json-1.1")
                    // moto routes by the credential scope; it checks no signature.
                    .header(
                        "Authorization",
                        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
                    )
                    .body(body.to_string())
                    .send()
                    .await?
            }
            Self::OpenBao { addr, token, .. } => {
                http.post(format!("{addr}/v1/secret/data/{name}"))
                    .header("X-Vault-Token", token)
                    .json(&json!({"data": {"value": value(i, round)}}))
                    .send()
                    .await?
            }
        };
        if !resp.status().is_success() {
            let status = resp.status();
            return Err(format!("writing {name}: {status}: {}", resp.text().await?).into());
        }
        Ok(())
    }

    /// Starts counting the operator's calls from now on.
    async fn start_counting(&mut self, http: &reqwest::Client) -> Result<(), Error> {
        match self {
            Self::Moto { endpoint } => {
                for step in ["stop-recording", "reset-recording", "start-recording"] {
                    http.post(format!("{endpoint}/moto-api/recorder/{step}"))
                        .send()
                        .await?;
                }
            }
            Self::OpenBao {
                audit_log,
                audit_offset,
                ..
            } => {
                *audit_offset = std::fs::metadata(&*audit_log)?.len();
            }
        }
        Ok(())
    }

    /// The calls made since `start_counting`, by kind (cumulative).
    async fn calls(&self, http: &reqwest::Client) -> Result<BTreeMap<String, u64>, Error> {
        let mut out = BTreeMap::new();
        match self {
            Self::Moto { endpoint } => {
                let log = http
                    .get(format!("{endpoint}/moto-api/recorder/download-recording"))
                    .send()
                    .await?
                    .text()
                    .await?;
                for entry in log
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                {
                    let target = entry["headers"].as_object().and_then(|h| {
                        h.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                            .and_then(|(_, v)| v.as_str())
                    });
                    if let Some(t) = target.and_then(|t| t.strip_prefix("secretsmanager.")) {
                        *out.entry(t.to_owned()).or_insert(0) += 1;
                    }
                }
            }
            Self::OpenBao {
                audit_log,
                audit_offset,
                ..
            } => {
                use std::io::{Read as _, Seek as _};
                let mut f = std::fs::File::open(audit_log)?;
                f.seek(std::io::SeekFrom::Start(*audit_offset))?;
                let mut text = String::new();
                f.read_to_string(&mut text)?;
                let prefix = format!("secret/data/{PREFIX}/");
                for entry in text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                {
                    let request = &entry["request"];
                    let on_bench = request["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with(&prefix));
                    if entry["type"] == "request" && on_bench {
                        let op = request["operation"].as_str().unwrap_or("other");
                        *out.entry(format!("kv {op}")).or_insert(0) += 1;
                    }
                }
            }
        }
        Ok(out)
    }
}

fn external_secret(
    i: usize,
    ns: &str,
    cfg: &Config,
    backend: &Backend,
) -> Result<ExternalSecret, Error> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": format!("es-{i:05}"), "namespace": ns},
        "spec": {"refreshInterval": cfg.refresh,
                 "secretStoreRef": {"name": "backend", "kind": "SecretStore"},
                 "target": {"name": format!("es-{i:05}")},
                 "data": [{"secretKey": "value", "remoteRef": backend.remote_ref(i % cfg.keys)}]}
    }))?)
}

/// A fresh namespace with the backend's SecretStore (and the Vault token's Secret).
async fn namespace_with_store(client: &kube::Client, backend: &Backend) -> Result<String, Error> {
    let ns = format!(
        "steady-{}-{}",
        backend.name(),
        jiff::Timestamp::now().as_second()
    );
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}}))?,
        )
        .await?;
    if let Backend::OpenBao { token, .. } = backend {
        let secret: Secret = serde_json::from_value(
            json!({"metadata": {"name": "vault-token"}, "stringData": {"token": token}}),
        )?;
        Api::<Secret>::namespaced(client.clone(), &ns)
            .create(&PostParams::default(), &secret)
            .await?;
    }
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "backend", "namespace": ns},
        "spec": {"provider": backend.store_provider()}
    }))?;
    Api::<SecretStore>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &store)
        .await?;
    Ok(ns)
}

/// Writes every remote secret's `round`, 16 at a time.
async fn write_all(
    backend: &Backend,
    http: &reqwest::Client,
    keys: usize,
    round: u32,
) -> Result<(), Error> {
    futures_util::stream::iter(0..keys)
        .map(|i| backend.write(http, i, round))
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// How many target Secrets do not hold their remote secret's `round` yet.
async fn stale_targets(secrets: &Api<Secret>, cfg: &Config, round: u32) -> Result<usize, Error> {
    let list = secrets.list(&ListParams::default()).await?;
    let fresh = list
        .items
        .iter()
        .filter(|s| {
            let Some(i) = s
                .metadata
                .name
                .as_deref()
                .and_then(|n| n.strip_prefix("es-"))
            else {
                return false;
            };
            let Ok(i) = i.parse::<usize>() else {
                return false;
            };
            let held = s
                .data
                .as_ref()
                .and_then(|d| d.get("value"))
                .map(|v| v.0.as_slice());
            held == Some(value(i % cfg.keys, round).as_bytes())
        })
        .count();
    Ok(cfg.n.saturating_sub(fresh))
}

/// One steady interval's readings.
struct Interval {
    provider_calls: u64,
    api_requests: f64,
}

/// Sum of `apiserver_request_total` over the operator's requests ([`support::operator_request`]).
fn counted_requests(m: &BTreeMap<String, f64>) -> f64 {
    m.iter()
        .filter(|(k, _)| support::operator_request(k))
        .map(|(_, v)| v)
        .sum()
}

fn mib(kib: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let m = kib as f64 / 1024.0;
    (m * 10.0).round() / 10.0
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cfg = Config::from_env()?;
    let mut backend = Backend::from_env()?;
    let http = reqwest::Client::new();
    let client = kube::Client::try_default().await?;
    write_all(&backend, &http, cfg.keys, 0).await?;
    let ns = namespace_with_store(&client, &backend).await?;
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let (watch, ready_at) = watch_ready(es_api.clone());

    let start = Instant::now();
    futures_util::stream::iter(0..cfg.n)
        .map(|i| {
            let (es_api, es) = (es_api.clone(), external_secret(i, &ns, &cfg, &backend));
            async move {
                es_api
                    .create(&PostParams::default(), &es?)
                    .await
                    .map_err(Error::from)
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    while ready_at.lock().await.len() < cfg.n {
        if start.elapsed() > Duration::from_secs(3600) {
            return Err("not all Ready within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let all_ready_s = start.elapsed().as_secs_f64();

    // The steady state: every object has synced once and now refreshes on its own.
    let pid = cfg.operator_pid.unwrap_or(0);
    let mut rss_kib = Vec::new();
    let mut intervals: Vec<Interval> = Vec::new();
    backend.start_counting(&http).await?;
    let mut calls_before = 0;
    let mut api_before = counted_requests(&api_requests(&client).await?);
    let breakdown_start = api_requests(&client).await?;
    let (_, _, ticks_start) = process_sample(pid);
    let steady_start = Instant::now();
    for k in 1..=cfg.intervals {
        let end = cfg.refresh_d * k;
        while steady_start.elapsed() < end {
            rss_kib.push(process_sample(pid).0);
            let left = end.saturating_sub(steady_start.elapsed());
            tokio::time::sleep(left.min(Duration::from_secs(10))).await;
        }
        let calls: u64 = backend.calls(&http).await?.values().sum();
        let api = counted_requests(&api_requests(&client).await?);
        intervals.push(Interval {
            provider_calls: calls - calls_before,
            api_requests: api - api_before,
        });
        (calls_before, api_before) = (calls, api);
    }
    let (_, hwm_kib, ticks_end) = process_sample(pid);
    let steady_s = steady_start.elapsed().as_secs_f64();
    let calls_by_kind = backend.calls(&http).await?;
    let api_after = api_requests(&client).await?;
    let api_breakdown: BTreeMap<&String, f64> = api_after
        .iter()
        .map(|(k, v)| (k, v - breakdown_start.get(k).copied().unwrap_or(0.0)))
        .filter(|(k, v)| *v > 0.0 && support::operator_request(k))
        .collect();

    // Freshness: change every remote value once; every target must follow.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    write_all(&backend, &http, cfg.keys, 1).await?;
    let changed = Instant::now();
    let mut converged_s = None;
    while changed.elapsed() < cfg.refresh_d * 3 {
        if stale_targets(&secrets, &cfg, 1).await? == 0 {
            converged_s = Some(changed.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let stale_at_end = stale_targets(&secrets, &cfg, 1).await?;

    // One more ExternalSecret while all refresh.
    let one = external_secret(cfg.n, &ns, &cfg, &backend)?;
    let t = Instant::now();
    es_api.create(&PostParams::default(), &one).await?;
    let one_name = format!("es-{:05}", cfg.n);
    let mut one_more_s = None;
    while t.elapsed() < Duration::from_secs(120) {
        if let Some(r) = ready_at.lock().await.get(&one_name) {
            one_more_s = Some(r.duration_since(t).as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    watch.abort();

    #[allow(clippy::cast_precision_loss)]
    let cpu_s_per_minute = (ticks_end - ticks_start) as f64 / 100.0 / (steady_s / 60.0);
    println!(
        "{}",
        json!({
            "mode": "steady", "backend": backend.name(), "n": cfg.n, "keys": cfg.keys,
            "refresh": cfg.refresh, "intervals": cfg.intervals, "namespace": ns,
            "all_ready_s": all_ready_s,
            "provider_calls_per_interval": intervals.iter().map(|i| i.provider_calls).collect::<Vec<_>>(),
            "provider_calls_by_kind": calls_by_kind,
            "provider_calls_per_interval_eso_model": cfg.n,
            "api_requests_per_interval": intervals.iter().map(|i| i.api_requests).collect::<Vec<_>>(),
            "api_requests_by_kind": api_breakdown,
            "cpu_s_per_minute": (cpu_s_per_minute * 100.0).round() / 100.0,
            "rss_mib_samples": rss_kib.iter().map(|k| mib(*k)).collect::<Vec<_>>(),
            "operator_peak_rss_mib": mib(hwm_kib),
            "converged_after_change_s": converged_s,
            "stale_targets_at_end": stale_at_end,
            "one_more_s": one_more_s,
        })
    );
    // The watch's connection would keep the runtime alive.
    std::process::exit(0)
}
