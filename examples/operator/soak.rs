//! The driver of `benches/soak.sh`: the operator (`examples/operator/operator.rs`, started by this
//! driver) against a real kube-apiserver with thousands of ExternalSecrets and hundreds of
//! PushSecrets over OpenBao and moto, for a fixed time while the backends and the API server
//! flap, sampling the operator's RSS, open file descriptors and live tokio tasks.
//!
//! Every connection of the operator goes through a [`FaultProxy`] owned by this driver (one
//! per backend, one for the API server), so a fault is switched on and off without
//! restarting a server (OpenBao runs in dev mode: a restart would lose its data). The driver
//! itself talks to the servers directly: it seeds and checks the backends through our
//! providers and watches the objects with its own client.
//!
//! Phases: seed the remote secrets; create the stores, ExternalSecrets and PushSecrets;
//! warm-up (until every object is Ready, or `SOAK_WARMUP_MAX_SECS`); soak (`SOAK_SECS`,
//! a fault every `SOAK_CYCLE_SECS` lasting `SOAK_FAULT_SECS`, cycling through the list
//! below, and a tenth of the remote values changed every cycle); then every remote value
//! and PushSecret source changes one last time and the driver measures how long until
//! every target Secret holds the new values, every PushSecret is Synced and each backend
//! holds what was pushed (convergence).
//!
//! `cargo run -p eso-examples-operator --example soak -- <path of the operator binary>`, with the
//! variables of `scripts/backends/{kube,openbao,moto}.sh` loaded. Environment: `SOAK_ES`
//! (default 2000), `SOAK_PS` (200), `SOAK_KEYS` (remote secrets per backend, 200),
//! `SOAK_SECS` (600), `SOAK_CYCLE_SECS` (60), `SOAK_FAULT_SECS` (20), `SOAK_REFRESH` (the
//! objects' `refreshInterval`, `1m`), `SOAK_SAMPLES` (a CSV file for the samples),
//! `SOAK_LOG` (the operator's log file, `/tmp/eso-soak-operator.log`).
//!
//! Prints one JSON object with the figures.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eso_core::SecretValue;
use eso_core::api::{ExternalSecret, PushSecret, SecretStore};
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{DynProvider, PushRef, RemoteRef, StoreIdentity, StoreScope};
use eso_core::testing::{Fault, FaultProxy, provider_for};
use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use support::{Error, percentile, ready};

const NS: &str = "soak";

/// The faults of one soak, in the order they are tried (each for `SOAK_FAULT_SECS`).
fn faults() -> Vec<(&'static str, Target, Fault)> {
    vec![
        ("openbao refuses connections", Target::Vault, Fault::Close),
        (
            "moto answers 503",
            Target::Aws,
            Fault::HttpStatus {
                status: 503,
                retry_after: None,
            },
        ),
        ("kube-apiserver goes away", Target::Kube, Fault::Close),
        ("openbao hangs", Target::Vault, Fault::Blackhole),
        ("moto resets mid-answer", Target::Aws, Fault::ResetAfter(64)),
        (
            "openbao throttles (429)",
            Target::Vault,
            Fault::HttpStatus {
                status: 429,
                retry_after: Some(1),
            },
        ),
        (
            "moto slow (300 ms per chunk)",
            Target::Aws,
            Fault::Latency(Duration::from_millis(300)),
        ),
    ]
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Vault,
    Aws,
    Kube,
}

struct Config {
    es: usize,
    ps: usize,
    keys: usize,
    secs: u64,
    cycle: u64,
    fault: u64,
    refresh: String,
    warmup_max: u64,
    samples: Option<PathBuf>,
    log: PathBuf,
    operator: PathBuf,
}

impl Config {
    fn from_env() -> Result<Self, Error> {
        let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        let operator = std::env::args()
            .nth(1)
            .ok_or("usage: soak <path of the operator binary>")?;
        Ok(Self {
            es: env("SOAK_ES", "2000").parse()?,
            ps: env("SOAK_PS", "200").parse()?,
            keys: env("SOAK_KEYS", "200").parse::<usize>()?.max(1),
            secs: env("SOAK_SECS", "600").parse()?,
            cycle: env("SOAK_CYCLE_SECS", "60").parse::<u64>()?.max(2),
            fault: env("SOAK_FAULT_SECS", "20").parse()?,
            refresh: env("SOAK_REFRESH", "1m"),
            warmup_max: env("SOAK_WARMUP_MAX_SECS", "900").parse()?,
            samples: std::env::var("SOAK_SAMPLES").ok().map(PathBuf::from),
            log: env("SOAK_LOG", "/tmp/eso-soak-operator.log").into(),
            operator: operator.into(),
        })
    }
}

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .map_err(|_| format!("{name} is not set (load the backends' env files)").into())
}

fn host_port(url: &str) -> String {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned()
}

/// The backends, reached directly (not through the proxies) by the driver.
struct Backends {
    vault: DynProvider,
    aws: DynProvider,
}

impl Backends {
    async fn connect(vault_addr: &str, token: &str) -> Result<Self, Error> {
        let cluster: DynCluster = Arc::new(
            MemoryCluster::new()
                .with_secret(KubeSecret::new(NS, "vault-token").with_data("token", token)),
        );
        let id = |n: &str| StoreIdentity::new(StoreScope::Namespaced, NS, n);
        let vault = provider_for(
            Arc::new(eso_provider_vault::VaultFactory::new()),
            &id("vault"),
            &vault_spec(vault_addr),
            NS,
            &cluster,
            None,
        )
        .await?;
        let aws = provider_for(
            Arc::new(eso_provider_aws::AwsFactory::new()),
            &id("aws"),
            &aws_spec(),
            NS,
            &cluster,
            None,
        )
        .await?;
        Ok(Self { vault, aws })
    }

    fn of(&self, i: usize) -> &DynProvider {
        if i.is_multiple_of(2) {
            &self.vault
        } else {
            &self.aws
        }
    }

    /// Writes remote secret `k<i>` (JSON `{"user", "password"}`) on both backends.
    async fn write_key(&self, i: usize, round: u32) -> Result<(), Error> {
        for p in [&self.vault, &self.aws] {
            let body = json!({"user": format!("user-{i}"), "password": password(i, round)});
            let value = SecretValue::from(body.to_string());
            p.push_secret(&value.into(), &PushRef::new(format!("soak/k{i}")))
                .await?;
        }
        Ok(())
    }
}

fn vault_spec(server: &str) -> serde_json::Value {
    json!({"vault": {"server": server, "path": "secret", "version": "v2",
                     "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}})
}

fn aws_spec() -> serde_json::Value {
    json!({"aws": {"service": "SecretsManager", "region": "us-east-1"}})
}

fn password(i: usize, round: u32) -> String {
    format!("pw-{i}-r{round}")
}

fn store_of(i: usize) -> &'static str {
    if i.is_multiple_of(2) { "vault" } else { "aws" }
}

/// What every object should hold at the end: the round of each remote key and source.
#[derive(Default)]
struct Expected {
    key_round: Vec<u32>,
    source_round: Vec<u32>,
}

struct Sample {
    t: f64,
    phase: &'static str,
    rss_kib: u64,
    fds: usize,
    tasks: Option<u64>,
    not_ready: usize,
}

struct Operator {
    child: std::process::Child,
    metrics: String,
}

impl Operator {
    fn sample(&self) -> (u64, usize) {
        let pid = self.child.id();
        let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count);
        (rss, fds)
    }

    async fn tasks(&self, http: &reqwest::Client) -> Option<u64> {
        let text = http
            .get(format!("http://{}/metrics", self.metrics))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("eso_rs_runtime_alive_tasks "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = v as u64;
                n
            })
    }
}

/// A kubeconfig like the driver's whose server is `proxy`, written for the operator (mode
/// 0600, removed at the end).
async fn kubeconfig_through(proxy: &FaultProxy) -> Result<PathBuf, Error> {
    let path = var("KUBECONFIG")?;
    let mut kc = Kubeconfig::read_from(&path)?;
    for c in &mut kc.clusters {
        if let Some(cluster) = c.cluster.as_mut() {
            cluster.server = Some(proxy.url("https"));
        }
    }
    let out = std::env::temp_dir().join(format!("eso-soak-kubeconfig-{}", std::process::id()));
    let text = serde_json::to_string(&kc)?;
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&out)?;
        f.write_all(text.as_bytes())?;
    }
    // Check that it loads before handing it over.
    let _ = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(out)
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn apply<K>(api: &Api<K>, obj: &K) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply("eso-rs-soak").force(),
        &Patch::Apply(obj),
    )
    .await?;
    Ok(())
}

fn source_secret(j: usize, round: u32) -> Result<Secret, Error> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("src-{j}"), "namespace": NS},
        "stringData": {"token": format!("tok-{j}-r{round}")}
    }))?)
}

async fn create_objects(
    client: &kube::Client,
    cfg: &Config,
    vault_proxy: &str,
    token: &str,
) -> Result<(), Error> {
    Api::<Namespace>::all(client.clone())
        .patch(
            NS,
            &PatchParams::apply("eso-rs-soak").force(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            ),
        )
        .await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let token_secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "vault-token", "namespace": NS}, "stringData": {"token": token}
    }))?;
    apply(&secrets, &token_secret).await?;
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), NS);
    for (name, spec) in [("vault", vault_spec(vault_proxy)), ("aws", aws_spec())] {
        let store: SecretStore = serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"provider": spec}
        }))?;
        apply(&stores, &store).await?;
    }
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), NS);
    futures_util::stream::iter(0..cfg.es)
        .map(|i| {
            let es_api = es_api.clone();
            let key = i % cfg.keys;
            let refresh = cfg.refresh.clone();
            async move {
                let es: ExternalSecret = serde_json::from_value(json!({
                    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                    "metadata": {"name": format!("es-{i:05}"), "namespace": NS},
                    "spec": {"refreshInterval": refresh,
                             "secretStoreRef": {"name": store_of(key), "kind": "SecretStore"},
                             "target": {"name": format!("es-{i:05}")},
                             "data": [
                                {"secretKey": "user", "remoteRef": {"key": format!("soak/k{key}"), "property": "user"}},
                                {"secretKey": "password", "remoteRef": {"key": format!("soak/k{key}"), "property": "password"}}]}
                }))?;
                es_api.create(&PostParams::default(), &es).await?;
                Ok::<_, Error>(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    let ps_api: Api<PushSecret> = Api::namespaced(client.clone(), NS);
    futures_util::stream::iter(0..cfg.ps)
        .map(|j| {
            let (ps_api, secrets) = (ps_api.clone(), secrets.clone());
            let refresh = cfg.refresh.clone();
            async move {
                apply(&secrets, &source_secret(j, 0)?).await?;
                let ps: PushSecret = serde_json::from_value(json!({
                    "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
                    "metadata": {"name": format!("ps-{j:04}"), "namespace": NS},
                    "spec": {"refreshInterval": refresh,
                             "secretStoreRefs": [{"name": store_of(j), "kind": "SecretStore"}],
                             "selector": {"secret": {"name": format!("src-{j}")}},
                             "data": [{"match": {"secretKey": "token",
                                                 "remoteRef": {"remoteKey": format!("soak-push/p{j}"), "property": "token"}}}]}
                }))?;
                ps_api.create(&PostParams::default(), &ps).await?;
                Ok::<_, Error>(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// How many objects are not yet where `expected` says (Ready with the expected values;
/// with `check_remote`, also the pushed values read back from the backends).
async fn not_converged(
    client: &kube::Client,
    cfg: &Config,
    expected: &Expected,
    backends: Option<&Backends>,
) -> Result<usize, Error> {
    let lp = ListParams::default();
    let es = Api::<ExternalSecret>::namespaced(client.clone(), NS)
        .list(&lp)
        .await?;
    let secrets = Api::<Secret>::namespaced(client.clone(), NS)
        .list(&lp)
        .await?;
    let ps = Api::<PushSecret>::namespaced(client.clone(), NS)
        .list(&lp)
        .await?;
    let by_name: HashMap<String, &Secret> = secrets
        .items
        .iter()
        .filter_map(|s| Some((s.metadata.name.clone()?, s)))
        .collect();
    let mut missing = cfg.es.saturating_sub(es.items.len()) + cfg.ps.saturating_sub(ps.items.len());
    for e in &es.items {
        let name = e.metadata.name.clone().unwrap_or_default();
        let i: usize = name.trim_start_matches("es-").parse().unwrap_or(0);
        let key = i % cfg.keys;
        let want = password(key, expected.key_round[key]);
        let holds = by_name
            .get(&name)
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.get("password"))
            .is_some_and(|v| v.0 == want.as_bytes());
        if !(holds && ready(e.status.as_ref().and_then(|s| s.conditions.as_ref()))) {
            missing += 1;
        }
    }
    for p in &ps.items {
        if !ready(p.status.as_ref().and_then(|s| s.conditions.as_ref())) {
            missing += 1;
        }
    }
    if let (0, Some(b)) = (missing, backends) {
        for j in 0..cfg.ps {
            let r = RemoteRef::new(format!("soak-push/p{j}")).with_property("token");
            let want = format!("tok-{j}-r{}", expected.source_round[j]);
            let holds = b
                .of(j)
                .get_secret(&r)
                .await
                .is_ok_and(|v| v.expose() == want.as_bytes());
            if !holds {
                missing += 1;
            }
        }
    }
    Ok(missing)
}

/// The running soak: the operator, the proxies it goes through, the backends and the samples.
struct Soak {
    cfg: Config,
    client: kube::Client,
    backends: Backends,
    expected: Expected,
    operator: Operator,
    http: reqwest::Client,
    vault_proxy: FaultProxy,
    aws_proxy: FaultProxy,
    kube_proxy: FaultProxy,
    kubeconfig: PathBuf,
    start: Instant,
    samples: Vec<Sample>,
}

impl Soak {
    /// Installs the CRDs, starts the proxies, seeds the backends and starts the operator.
    async fn start(cfg: Config) -> Result<Self, Error> {
        let client = kube::Client::try_default().await?;
        support::install_crds(&client).await?;
        let vault_addr = var("VAULT_HTTP_ADDR")?;
        let token = var("VAULT_TOKEN")?;
        let aws_endpoint = var("AWS_ENDPOINT_URL")?;

        // The proxies the operator goes through.
        let vault_proxy = FaultProxy::start(&host_port(&vault_addr), 0).await?;
        let aws_proxy = FaultProxy::start(&host_port(&aws_endpoint), 0).await?;
        let kube_url = kube::Config::infer().await?.cluster_url.to_string();
        let kube_proxy = FaultProxy::start(&host_port(&kube_url), 0).await?;
        let kubeconfig = kubeconfig_through(&kube_proxy).await?;

        // Seed the backends.
        let backends = Backends::connect(&vault_addr, &token).await?;
        let expected = Expected {
            key_round: vec![0; cfg.keys],
            source_round: vec![0; cfg.ps],
        };
        futures_util::stream::iter(0..cfg.keys)
            .map(|i| backends.write_key(i, 0))
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;

        // The operator.
        let metrics = format!("127.0.0.1:{}", free_port()?);
        let log = std::fs::File::create(&cfg.log)?;
        let child = std::process::Command::new(&cfg.operator)
            .env("KUBECONFIG", &kubeconfig)
            .env("AWS_ENDPOINT_URL", aws_proxy.url("http"))
            .env("METRICS_ADDR", &metrics)
            .env("POD_NAMESPACE", NS)
            .env("HOSTNAME", "soak")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()?;
        let operator = Operator { child, metrics };
        let vault_url = vault_proxy.url("http");
        let soak = Self {
            cfg,
            client,
            backends,
            expected,
            operator,
            http: reqwest::Client::new(),
            vault_proxy,
            aws_proxy,
            kube_proxy,
            kubeconfig,
            start: Instant::now(),
            samples: Vec::new(),
        };
        create_objects(&soak.client, &soak.cfg, &vault_url, &token).await?;
        Ok(soak)
    }

    /// Records the operator's RSS, file descriptors and live tasks.
    async fn take(&mut self, phase: &'static str, not_ready: usize) {
        let tasks = self.operator.tasks(&self.http).await;
        let (rss_kib, fds) = self.operator.sample();
        self.samples.push(Sample {
            t: self.start.elapsed().as_secs_f64(),
            phase,
            rss_kib,
            fds,
            tasks,
            not_ready,
        });
    }

    async fn not_converged(&self, check_backends: bool) -> Result<usize, Error> {
        let backends = check_backends.then_some(&self.backends);
        not_converged(&self.client, &self.cfg, &self.expected, backends).await
    }

    /// Until every object is Ready with the seeded values; returns when that was (seconds).
    async fn warm_up(&mut self) -> Result<f64, Error> {
        loop {
            let n = self.not_converged(false).await?;
            self.take("warmup", n).await;
            if n == 0 {
                return Ok(self.start.elapsed().as_secs_f64());
            }
            if self.start.elapsed() > Duration::from_secs(self.cfg.warmup_max) {
                return Err(format!("{n} objects not Ready after the warm-up limit").into());
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    fn proxy(&self, t: Target) -> &FaultProxy {
        match t {
            Target::Vault => &self.vault_proxy,
            Target::Aws => &self.aws_proxy,
            Target::Kube => &self.kube_proxy,
        }
    }

    /// One cycle: a tenth of the values change, one fault for `cfg.fault` seconds, then
    /// samples until the cycle's end. Returns the fault's log entry and when the fault ended.
    async fn cycle(
        &mut self,
        cycle: usize,
        fault: &(&'static str, Target, Fault),
    ) -> Result<(serde_json::Value, Instant), Error> {
        let (what, target, fault) = fault.clone();
        #[allow(clippy::cast_possible_truncation)]
        let round = cycle as u32 + 1;
        for i in (cycle % 10..self.cfg.keys).step_by(10) {
            self.backends.write_key(i, round).await?;
            self.expected.key_round[i] = round;
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), NS);
        for j in (cycle % 10..self.cfg.ps).step_by(10) {
            apply(&secrets, &source_secret(j, round)?).await?;
            self.expected.source_round[j] = round;
        }
        self.proxy(target).set_fault(fault);
        let fault_start = Instant::now();
        while fault_start.elapsed() < Duration::from_secs(self.cfg.fault) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            self.take("fault", usize::MAX).await;
        }
        self.proxy(target).set_fault(Fault::Forward);
        let fault_end = Instant::now();
        let entry =
            json!({"fault": what, "at_s": fault_start.duration_since(self.start).as_secs_f64()});
        while fault_start.elapsed() < Duration::from_secs(self.cfg.cycle) {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let n = self.not_converged(false).await.unwrap_or(usize::MAX);
            self.take("soak", n).await;
        }
        Ok((entry, fault_end))
    }

    /// Changes every value once more and waits (15 minutes at most) until every target and
    /// every pushed value holds it; returns how long that took.
    async fn converge(&mut self, cycles: usize) -> Result<Option<f64>, Error> {
        #[allow(clippy::cast_possible_truncation)]
        let last = cycles as u32 + 1;
        futures_util::stream::iter(0..self.cfg.keys)
            .map(|i| self.backends.write_key(i, last))
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        self.expected.key_round.iter_mut().for_each(|r| *r = last);
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), NS);
        for j in 0..self.cfg.ps {
            apply(&secrets, &source_secret(j, last)?).await?;
        }
        self.expected
            .source_round
            .iter_mut()
            .for_each(|r| *r = last);
        let changed = Instant::now();
        loop {
            let n = self.not_converged(true).await.unwrap_or(usize::MAX);
            self.take("converge", n).await;
            if n == 0 {
                return Ok(Some(changed.elapsed().as_secs_f64()));
            }
            if changed.elapsed() > Duration::from_secs(900) {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }

    /// Stops the operator (SIGTERM) and returns its exit code.
    fn stop(&mut self) -> Result<Option<i32>, Error> {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.operator.child.id().to_string()])
            .status();
        let exit = self.operator.child.wait()?;
        let _ = std::fs::remove_file(&self.kubeconfig);
        Ok(exit.code())
    }
}

fn samples_csv(samples: &[Sample]) -> String {
    let mut csv = String::from("t_s,phase,rss_kib,fds,tasks,not_converged\n");
    for s in samples {
        csv.push_str(&format!(
            "{:.1},{},{},{},{},{}\n",
            s.t,
            s.phase,
            s.rss_kib,
            s.fds,
            s.tasks.map_or(String::new(), |t| t.to_string()),
            if s.not_ready == usize::MAX {
                String::new()
            } else {
                s.not_ready.to_string()
            }
        ));
    }
    csv
}

/// What the soak prints: RSS, file descriptors and tasks over the phases, and convergence.
struct Outcome {
    fault_log: Vec<serde_json::Value>,
    created_s: f64,
    warmup_s: f64,
    converged: Option<f64>,
    since_last_fault: f64,
    exit: Option<i32>,
}

fn summary(cfg: &Config, samples: &[Sample], o: &Outcome) -> serde_json::Value {
    let phase = |p: &'static str| samples.iter().filter(move |s| s.phase == p);
    let at_warmup = phase("warmup").next_back();
    let end = samples.last();
    let steady: Vec<f64> = phase("soak").map(|s| s.rss_kib as f64 / 1024.0).collect();
    let mut sorted = steady.clone();
    sorted.sort_by(f64::total_cmp);
    let first_third = steady.len() / 3;
    #[allow(clippy::cast_precision_loss)]
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    json!({
        "external_secrets": cfg.es, "push_secrets": cfg.ps, "remote_keys_per_backend": cfg.keys,
        "refresh": cfg.refresh, "soak_s": cfg.secs, "faults": o.fault_log,
        "created_s": o.created_s, "warmup_s": o.warmup_s,
        "rss_mib": {
            "after_warmup": at_warmup.map(|s| s.rss_kib as f64 / 1024.0),
            "soak_first_third_mean": mean(&steady[..first_third]),
            "soak_last_third_mean": mean(&steady[steady.len() - first_third..]),
            "soak_max": sorted.last(),
            "end": end.map(|s| s.rss_kib as f64 / 1024.0),
        },
        "fds": {"after_warmup": at_warmup.map(|s| s.fds), "max": samples.iter().map(|s| s.fds).max(), "end": end.map(|s| s.fds)},
        "tasks": {"after_warmup": at_warmup.and_then(|s| s.tasks), "max": samples.iter().filter_map(|s| s.tasks).max(), "end": end.and_then(|s| s.tasks)},
        "convergence_after_last_change_s": o.converged,
        "since_last_fault_s": o.since_last_fault,
        "operator_exit": o.exit,
        "p50_rss_soak_mib": percentile(&sorted, 0.5),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut soak = Soak::start(Config::from_env()?).await?;
    let created_s = soak.start.elapsed().as_secs_f64();
    let warmup_s = soak.warm_up().await?;

    // Soak: faults, and a tenth of the values changed each cycle.
    let soak_start = Instant::now();
    let faults = faults();
    let mut cycles = 0usize;
    let mut fault_log = Vec::new();
    let mut last_fault_end = Instant::now();
    while soak_start.elapsed() < Duration::from_secs(soak.cfg.secs) {
        let (entry, fault_end) = soak.cycle(cycles, &faults[cycles % faults.len()]).await?;
        fault_log.push(entry);
        last_fault_end = fault_end;
        cycles += 1;
    }

    // The last change, then convergence.
    let converged = soak.converge(cycles).await?;
    let since_last_fault = last_fault_end.elapsed().as_secs_f64();
    let exit = soak.stop()?;
    if let Some(path) = &soak.cfg.samples {
        std::fs::write(path, samples_csv(&soak.samples))?;
    }
    let outcome = Outcome {
        fault_log,
        created_s,
        warmup_s,
        converged,
        since_last_fault,
        exit,
    };
    println!("{}", summary(&soak.cfg, &soak.samples, &outcome));
    if converged.is_none() {
        return Err("not every object converged within 15 minutes of the last change".into());
    }
    Ok(())
}
