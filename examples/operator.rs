//! An embeddable External Secrets operator on kube-runtime: controllers for ExternalSecret,
//! PushSecret, ClusterExternalSecret, ClusterPushSecret, SecretStore and ClusterSecretStore,
//! all driving eso-core's reconcile flows through `KubeCluster` / `KubeWorkloads`.
//!
//! - watches: each kind, plus the Secrets an ExternalSecret owns (a deleted or edited target
//!   is repaired at once);
//! - requeue: at the flows' `requeue_after` (refreshInterval plus the flows' stable jitter);
//!   failures back off exponentially per object (5 s doubling to 5 min, with jitter);
//! - finalizers: ExternalSecret and PushSecret (ESO's names) so `deletionPolicy` runs on
//!   delete; ClusterExternalSecret/ClusterPushSecret so stamped objects are removed;
//! - status: patched on the status subresource after every pass;
//! - concurrency: up to 8 objects per kind at once; graceful shutdown on Ctrl-C.
//!
//! - leader election: `run_with_leader_election` holds a `coordination.k8s.io` Lease and runs
//!   the controllers only while it does (several replicas, one active).
//!
//! An operator author copies this file and adds one provider crate: the line
//! `eso_provider_k8s::register(&mut providers)` is the only provider-specific one.
//!
//! Run against the cluster in `KUBECONFIG` (CRDs must be installed):
//! `cargo run -p eso-examples --example operator`

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, Manifest,
    PushSecret, SecretStore, SecretStoreKind,
};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{
    EXTERNAL_SECRET_FINALIZER, MemoryCatalog, PUSH_SECRET_FINALIZER, Pass, Reconciler,
};
use eso_provider_k8s::{KubeCluster, KubeWorkloads};
use futures_util::StreamExt as _;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Finalizer of ClusterExternalSecret / ClusterPushSecret objects in this operator.
const CLUSTER_FINALIZER: &str = "external-secrets.io/cluster-cleanup";

/// What every reconcile needs.
struct Ctx {
    client: kube::Client,
    cluster: Arc<KubeCluster>,
    workloads: KubeWorkloads,
    providers: Arc<ProviderRegistry>,
    stores: Store<SecretStore>,
    cluster_stores: Store<ClusterSecretStore>,
    failures: Mutex<HashMap<String, u32>>,
}

/// A reconcile error: any flow error, kept as text (the flows already wrote the status).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(String);

impl Ctx {
    /// A reconciler over the stores currently known (the provider cache is shared).
    fn reconciler(&self) -> Reconciler {
        let mut catalog = MemoryCatalog::default();
        for s in self.stores.state() {
            catalog.add(Manifest::SecretStore((*s).clone().into()));
        }
        for s in self.cluster_stores.state() {
            catalog.add(Manifest::ClusterSecretStore((*s).clone().into()));
        }
        Reconciler::new(self.cluster.clone(), catalog).with_providers(Arc::clone(&self.providers))
    }

    /// Records the result of a pass: clears or bumps the failure count of `key`.
    fn outcome(
        &self,
        key: String,
        ok: bool,
        requeue: Option<Duration>,
    ) -> Result<Action, ReconcileError> {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            f.remove(&key);
            return Ok(Action::requeue(
                requeue.unwrap_or(Duration::from_secs(3600)),
            ));
        }
        let n = f.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        Err(ReconcileError(format!("failed {n} time(s)")))
    }

    /// Back-off after `n` failures: 5 s doubling, at most 5 min, plus up to 20 % jitter.
    fn backoff(&self, key: &str) -> Duration {
        let n = self
            .failures
            .lock()
            .map(|f| f.get(key).copied().unwrap_or(1))
            .unwrap_or(1);
        let base = Duration::from_secs(5).saturating_mul(1 << n.min(6).saturating_sub(1));
        let base = base.min(Duration::from_secs(300));
        let jitter = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs() % 200;
        base + base.mul_f64(f64::from(jitter) / 1000.0)
    }
}

fn key<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// Patches `status` onto `obj` (status subresource, merge patch).
async fn patch_status<K: ApiOf, S: Serialize>(
    client: &kube::Client,
    obj: &K,
    status: &S,
) -> Result<(), ReconcileError> {
    let patch = serde_json::json!({ "status": status });
    api_for(client, obj)
        .patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|e| ReconcileError(format!("patch status: {e}")))
}

/// The `Api` an object lives in (namespaced or cluster-wide kind).
trait ApiOf: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug {
    fn api(client: &kube::Client, obj: &Self) -> Api<Self>;
}

macro_rules! api_of {
    (namespaced: $($k:ty),*; cluster: $($c:ty),*) => {
        $(impl ApiOf for $k {
            fn api(client: &kube::Client, obj: &Self) -> Api<Self> {
                Api::namespaced(client.clone(), &obj.namespace().unwrap_or_default())
            }
        })*
        $(impl ApiOf for $c {
            fn api(client: &kube::Client, _: &Self) -> Api<Self> {
                Api::all(client.clone())
            }
        })*
    };
}

api_of!(namespaced: ExternalSecret, PushSecret, SecretStore;
        cluster: ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore);

fn api_for<K: ApiOf>(client: &kube::Client, obj: &K) -> Api<K> {
    K::api(client, obj)
}

async fn reconcile_es(es: Arc<ExternalSecret>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let api = api_for(&ctx.client, es.as_ref());
    finalizer(&api, EXTERNAL_SECRET_FINALIZER, es, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(es) => {
                let out = r
                    .reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
                    .await;
                patch_status(&ctx.client, es.as_ref(), &out.status).await?;
                ctx.outcome(key(es.as_ref()), out.error.is_none(), out.requeue_after)
            }
            Event::Cleanup(es) => r
                .delete_external_secret(&es)
                .await
                .map(|_| Action::await_change())
                .map_err(|e| ReconcileError(e.to_string())),
        }
    })
    .await
    .map_err(|e| ReconcileError(e.to_string()))
}

/// The push flow as a boxed `Send` future (pins down its lifetimes for the controller).
fn push_pass(
    r: Reconciler,
    ps: Arc<PushSecret>,
) -> futures_util::future::BoxFuture<'static, eso_core::reconcile::PushSecretOutcome> {
    Box::pin(async move { r.reconcile_push_secret(&ps, jiff::Timestamp::now()).await })
}

/// The push deletion flow as a boxed `Send` future.
fn push_delete(
    r: Reconciler,
    ps: Arc<PushSecret>,
) -> futures_util::future::BoxFuture<'static, Vec<(String, eso_core::Error)>> {
    Box::pin(async move { r.delete_push_secret(&ps).await })
}

async fn reconcile_ps(ps: Arc<PushSecret>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let api = api_for(&ctx.client, ps.as_ref());
    finalizer(&api, PUSH_SECRET_FINALIZER, ps, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(ps) => {
                let out = push_pass(r, Arc::clone(&ps)).await;
                patch_status(&ctx.client, ps.as_ref(), &out.status).await?;
                ctx.outcome(key(ps.as_ref()), out.errors.is_empty(), out.requeue_after)
            }
            Event::Cleanup(ps) => {
                let errors = push_delete(r, Arc::clone(&ps)).await;
                match errors.first() {
                    None => Ok(Action::await_change()),
                    Some((store, e)) => Err(ReconcileError(format!("{store}: {e}"))),
                }
            }
        }
    })
    .await
    .map_err(|e| ReconcileError(e.to_string()))
}

async fn reconcile_ces(
    ces: Arc<ClusterExternalSecret>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    let api = api_for(&ctx.client, ces.as_ref());
    finalizer(&api, CLUSTER_FINALIZER, ces, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(ces) => {
                let out = r
                    .reconcile_cluster_external_secret(&ces, &ctx.workloads)
                    .await;
                patch_status(&ctx.client, ces.as_ref(), &out.status).await?;
                ctx.outcome(key(ces.as_ref()), out.error.is_none(), out.requeue_after)
            }
            Event::Cleanup(ces) => {
                let out = r.delete_cluster_external_secret(&ces, &ctx.workloads).await;
                match out.error {
                    None => Ok(Action::await_change()),
                    Some(e) => Err(ReconcileError(e.to_string())),
                }
            }
        }
    })
    .await
    .map_err(|e| ReconcileError(e.to_string()))
}

async fn reconcile_cps(
    cps: Arc<ClusterPushSecret>,
    ctx: Arc<Ctx>,
) -> Result<Action, ReconcileError> {
    let api = api_for(&ctx.client, cps.as_ref());
    finalizer(&api, CLUSTER_FINALIZER, cps, |event| async {
        let r = ctx.reconciler();
        let now = jiff::Timestamp::now();
        match event {
            Event::Apply(cps) => {
                let out = r
                    .reconcile_cluster_push_secret(&cps, &ctx.workloads, now)
                    .await;
                patch_status(&ctx.client, cps.as_ref(), &out.status).await?;
                ctx.outcome(key(cps.as_ref()), out.error.is_none(), out.requeue_after)
            }
            Event::Cleanup(cps) => {
                let out = r
                    .delete_cluster_push_secret(&cps, &ctx.workloads, now)
                    .await;
                match out.error {
                    None => Ok(Action::await_change()),
                    Some(e) => Err(ReconcileError(e.to_string())),
                }
            }
        }
    })
    .await
    .map_err(|e| ReconcileError(e.to_string()))
}

async fn reconcile_store<K>(store: Arc<K>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError>
where
    K: ApiOf + StoreStatus,
{
    let kind = if store.namespace().is_some() {
        SecretStoreKind::SecretStore
    } else {
        SecretStoreKind::ClusterSecretStore
    };
    let ns = store.namespace().unwrap_or_default();
    let out = ctx
        .reconciler()
        .reconcile_store(
            kind,
            &ns,
            &store.name_any(),
            store.previous(),
            jiff::Timestamp::now(),
        )
        .await;
    patch_status(&ctx.client, store.as_ref(), &out.status).await?;
    ctx.outcome(
        key(store.as_ref()),
        out.error.is_none(),
        Some(out.requeue_after),
    )
}

/// The previous status of a store kind.
trait StoreStatus {
    fn previous(&self) -> Option<&eso_core::api::SecretStoreStatus>;
}

impl StoreStatus for SecretStore {
    fn previous(&self) -> Option<&eso_core::api::SecretStoreStatus> {
        self.status.as_ref()
    }
}

impl StoreStatus for ClusterSecretStore {
    fn previous(&self) -> Option<&eso_core::api::SecretStoreStatus> {
        self.status.as_ref()
    }
}

fn error_policy<K: Resource<DynamicType = ()>>(
    obj: Arc<K>,
    err: &ReconcileError,
    ctx: Arc<Ctx>,
) -> Action {
    let k = key(obj.as_ref());
    tracing::warn!(object = %k, error = %err, "reconcile failed");
    Action::requeue(ctx.backoff(&k))
}

/// Runs every controller until `shutdown` resolves, then lets in-flight reconciles finish.
pub async fn run(client: kube::Client, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let mut providers = ProviderRegistry::new();
    eso_provider_k8s::register(&mut providers);

    let wc = watcher::Config::default;
    let ss_ctrl = Controller::new(Api::<SecretStore>::all(client.clone()), wc());
    let css_ctrl = Controller::new(Api::<ClusterSecretStore>::all(client.clone()), wc());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        cluster: Arc::new(KubeCluster::new(client.clone())),
        workloads: KubeWorkloads::new(client.clone()),
        providers: Arc::new(providers),
        stores: ss_ctrl.store(),
        cluster_stores: css_ctrl.store(),
        failures: Mutex::new(HashMap::new()),
    });
    let cfg = Config::default().concurrency(8);
    let (tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let stop = {
        let tx = tx.clone();
        async move {
            shutdown.await;
            let _ = tx.send(());
        }
    };
    let signal = move || {
        let mut rx = tx.subscribe();
        async move {
            let _ = rx.recv().await;
        }
    };
    let drain = |s: futures_util::stream::BoxStream<'static, ()>| s;

    let ss = ss_ctrl
        .with_config(cfg.clone())
        .graceful_shutdown_on(signal())
        .run(
            reconcile_store::<SecretStore>,
            error_policy,
            Arc::clone(&ctx),
        )
        .map(|_| ())
        .boxed();
    let css = css_ctrl
        .with_config(cfg.clone())
        .graceful_shutdown_on(signal())
        .run(
            reconcile_store::<ClusterSecretStore>,
            error_policy,
            Arc::clone(&ctx),
        )
        .map(|_| ())
        .boxed();
    let es = Controller::new(Api::<ExternalSecret>::all(client.clone()), wc())
        .owns(Api::<Secret>::all(client.clone()), wc())
        .with_config(cfg.clone())
        .graceful_shutdown_on(signal())
        .run(reconcile_es, error_policy, Arc::clone(&ctx))
        .map(|_| ())
        .boxed();
    let ps = Controller::new(Api::<PushSecret>::all(client.clone()), wc())
        .with_config(cfg.clone())
        .graceful_shutdown_on(signal())
        .run(reconcile_ps, error_policy, Arc::clone(&ctx))
        .map(|_| ())
        .boxed();
    let ces = Controller::new(Api::<ClusterExternalSecret>::all(client.clone()), wc())
        .with_config(cfg.clone())
        .graceful_shutdown_on(signal())
        .run(reconcile_ces, error_policy, Arc::clone(&ctx))
        .map(|_| ())
        .boxed();
    let cps = Controller::new(Api::<ClusterPushSecret>::all(client.clone()), wc())
        .with_config(cfg)
        .graceful_shutdown_on(signal())
        .run(reconcile_cps, error_policy, Arc::clone(&ctx))
        .map(|_| ())
        .boxed();
    let all = futures_util::stream::select_all([
        drain(ss),
        drain(css),
        drain(es),
        drain(ps),
        drain(ces),
        drain(cps),
    ]);
    tokio::join!(stop, all.for_each(|()| async {}));
}

/// Leader election over a `coordination.k8s.io/v1` Lease: one holder at a time, taken over
/// when the holder stops renewing for `duration`.
#[derive(Debug)]
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

impl LeaseLock {
    /// A lock on Lease `namespace/name` for candidate `identity` (15 s lease).
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration: Duration::from_secs(15),
        }
    }

    /// Takes or renews the lease once; `Ok(true)` while this candidate holds it.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let secs = i32::try_from(self.duration.as_secs()).unwrap_or(15);
        let pp = PostParams::default();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let mut lease = Lease::default();
            lease.metadata.name = Some(self.name.clone());
            lease.spec = Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(secs),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            });
            return match self.api.create(&pp, &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let ours = spec.holder_identity.as_deref() == Some(self.identity.as_str());
        let held_for = i64::from(spec.lease_duration_seconds.unwrap_or(secs));
        let expired = spec.renew_time.as_ref().is_none_or(|t| {
            now.0.duration_since(t.0) > k8s_openapi::jiff::SignedDuration::from_secs(held_for)
        });
        if !ours && !expired && spec.holder_identity.is_some() {
            return Ok(false);
        }
        if !ours {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(secs);
        // Optimistic concurrency: the replace fails if another candidate got there first.
        match self.api.replace(&self.name, &pp, &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up (if held) so a successor need not wait for it to expire.
    pub async fn release(&self) {
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await
            && let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(self.identity.as_str())
        {
            spec.holder_identity = None;
            let _ = self
                .api
                .replace(&self.name, &PostParams::default(), &lease)
                .await;
        }
    }
}

/// Waits for leadership, runs the controllers while it lasts, and releases the lease on
/// shutdown. Losing the lease stops the controllers (the process should then exit or retry).
pub async fn run_with_leader_election(
    client: kube::Client,
    lock: LeaseLock,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let retry = lock.duration / 3;
    loop {
        if matches!(lock.try_acquire().await, Ok(true)) {
            break;
        }
        tokio::select! {
            () = stopped(stop_rx.clone()) => return,
            () = tokio::time::sleep(retry) => {}
        }
    }
    tracing::info!(identity = %lock.identity, "acquired leadership");
    let lock = Arc::new(lock);
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let renewer = {
        let lock = Arc::clone(&lock);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(retry).await;
                if !matches!(lock.try_acquire().await, Ok(true)) {
                    tracing::warn!("lost leadership");
                    let _ = lost_tx.send(());
                    return;
                }
            }
        })
    };
    let rx = stop_rx.clone();
    run(client, async move {
        tokio::select! {
            () = stopped(rx) => {}
            _ = lost_rx => {}
        }
    })
    .await;
    renewer.abort();
    lock.release().await;
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = kube::Client::try_default().await?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "default".to_owned());
    let identity = std::env::var("HOSTNAME")
        .unwrap_or_else(|_| format!("eso-operator-{}", std::process::id()));
    let lock = LeaseLock::new(client.clone(), &namespace, "eso-rs-operator", &identity);
    run_with_leader_election(client, lock, shutdown).await;
    Ok(())
}
