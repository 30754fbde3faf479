//! Putting the controllers together: which watches run (one namespace or all, the
//! controllers switched on), the context every reconcile shares, and driving them all until
//! the shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use eso_core::reconcile::Reconciler;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Config, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;

use super::drive::{Drivers, ignore_gone};
use super::object_metrics::{self, Kind};
use super::{Operator, Shutdown, class, events, flows, gc, queue, watch};
use crate::known_secrets::KnownSecrets;
use crate::{KubeCluster, KubeWorkloads};

/// Which of the operator's controllers run: ESO's `--enable-secret-store-reconciler`,
/// `--enable-cluster-store-reconciler`, `--enable-push-secret-reconciler`,
/// `--enable-cluster-external-secret-reconciler` and
/// `--enable-cluster-push-secret-reconciler`. All are on by default; the ExternalSecret
/// controller always runs.
///
/// A store controller switched off still keeps its stores cached for the other flows (their
/// status is just not checked), as ESO's store reconcilers do.
///
/// # Example
///
/// ```
/// use eso_kube::operator::Controllers;
///
/// // What ESO's chart runs with `scopedRBAC: true`: nothing cluster-scoped.
/// let mut on = Controllers::default();
/// on.cluster_secret_store = false;
/// on.cluster_external_secret = false;
/// on.cluster_push_secret = false;
/// assert!(on.secret_store && on.push_secret);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Controllers {
    /// SecretStore status (the `Ready` condition).
    pub secret_store: bool,
    /// ClusterSecretStore status.
    pub cluster_secret_store: bool,
    /// PushSecrets.
    pub push_secret: bool,
    /// ClusterExternalSecrets (the ExternalSecrets they stamp out are reconciled anyway).
    pub cluster_external_secret: bool,
    /// ClusterPushSecrets.
    pub cluster_push_secret: bool,
}

impl Default for Controllers {
    fn default() -> Self {
        Self {
            secret_store: true,
            cluster_secret_store: true,
            push_secret: true,
            cluster_external_secret: true,
            cluster_push_secret: true,
        }
    }
}

/// An API over all namespaces, or over `namespace` when the operator is scoped to one.
fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// An empty cache, for a kind nothing watches.
fn empty_store<K>() -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    reflector::store().0
}

/// A controller for the objects of `api`, over a cache without their `managedFields`.
fn cached<K>(api: Api<K>, config: &watcher::Config) -> Controller<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let listed = Arc::new(AtomicBool::new(false));
    let (store, stream) = watch::stores(api, config.clone(), listed);
    Controller::for_stream(stream, store)
}

/// Runs `op`'s controllers until `shutdown` fires (see [`Operator::run`]).
pub(super) async fn run(op: Operator, shutdown: Shutdown) {
    let client = op.client.clone();
    let ns = op.namespace.clone();
    let ns = ns.as_deref();
    let wc = op.watcher.clone();
    let on = op.controllers;
    let listed = [
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    ];
    let (ss_store, ss_stream) =
        watch::stores::<SecretStore>(scoped(&client, ns), wc.clone(), Arc::clone(&listed[0]));
    // Scoped to a namespace with the ClusterSecretStore controller off (a namespaced RBAC):
    // nothing cluster-wide is watched, and no ClusterSecretStore is known.
    let (css_store, css_stream) = if ns.is_none() || on.cluster_secret_store {
        let (store, stream) = watch::stores::<ClusterSecretStore>(
            Api::all(client.clone()),
            wc.clone(),
            Arc::clone(&listed[1]),
        );
        (store, stream.boxed())
    } else {
        listed[1].store(true, Ordering::Relaxed);
        (empty_store(), futures_util::stream::empty().boxed())
    };
    let known_secrets = KnownSecrets::default();
    let refresh = Arc::new(queue::RefreshQueue::new(op.concurrency));
    let (es_store, es_stream) =
        watch::external_secrets(scoped(&client, ns), wc.clone(), &op.endpoints);
    let ps = on
        .push_secret
        .then(|| cached(scoped::<PushSecret>(&client, ns), &wc));
    let ces = on
        .cluster_external_secret
        .then(|| cached(Api::<ClusterExternalSecret>::all(client.clone()), &wc));
    let cps = on
        .cluster_push_secret
        .then(|| cached(Api::<ClusterPushSecret>::all(client.clone()), &wc));
    op.endpoints.set_external_secrets(es_store.clone());
    op.endpoints.metrics().set_sources(object_metrics::Sources {
        external_secrets: es_store.clone(),
        push_secrets: ps.as_ref().map_or_else(empty_store, Controller::store),
        secret_stores: ss_store.clone(),
        cluster_secret_stores: css_store.clone(),
        cluster_external_secrets: ces.as_ref().map_or_else(empty_store, Controller::store),
        cluster_push_secrets: cps.as_ref().map_or_else(empty_store, Controller::store),
    });
    let filter = class::ClassFilter {
        class: op.class.clone(),
        secret_stores: ss_store.clone(),
        cluster_secret_stores: css_store.clone(),
        stores_listed: listed,
    };
    let endpoints = op.endpoints.clone();
    let gc_namespace = ns.map(str::to_owned);
    let generator_states = op.generator_states;
    let concurrency = op.concurrency;
    let ctx = context(
        op,
        (&ss_store, &css_store),
        es_store.clone(),
        known_secrets.clone(),
        &refresh,
    );
    let drivers = Drivers {
        config: Config::default().concurrency(concurrency),
        shutdown: shutdown.clone(),
        metrics: Arc::clone(endpoints.metrics()),
        filter: Arc::new(filter),
        ctx: Arc::clone(&ctx),
    };
    // ExternalSecrets are triggered through the work queue only (see `queue`): their watch
    // feeds it, in order; the controller itself watches nothing but its targets.
    let es = Controller::for_stream(
        futures_util::stream::pending::<Result<ExternalSecret, watcher::Error>>(),
        es_store,
    )
    .owns_stream(watch::target_secrets(scoped(&client, ns), known_secrets))
    .reconcile_on(Arc::clone(&refresh).stream());
    let gone = {
        let refresh = Arc::clone(&refresh);
        move |r: &ObjectRef<DynamicObject>| refresh.gone(r)
    };
    let mut streams: Vec<BoxStream<'static, ()>> = vec![
        drivers.drive(es, Kind::ExternalSecret, flows::external_secret, gone),
        store_controller(
            &drivers,
            on.secret_store,
            ss_stream.boxed(),
            ss_store,
            Kind::SecretStore,
        ),
        store_controller(
            &drivers,
            on.cluster_secret_store,
            css_stream,
            css_store,
            Kind::ClusterSecretStore,
        ),
    ];
    if let Some(ps) = ps {
        streams.push(drivers.drive(ps, Kind::PushSecret, flows::push_secret, ignore_gone));
    }
    if let Some(ces) = ces {
        let reconcile = flows::cluster_external_secret;
        streams.push(drivers.drive(ces, Kind::ClusterExternalSecret, reconcile, ignore_gone));
    }
    if let Some(cps) = cps {
        let reconcile = flows::cluster_push_secret;
        streams.push(drivers.drive(cps, Kind::ClusterPushSecret, reconcile, ignore_gone));
    }
    tracing::info!(namespace = ns.unwrap_or("(all)"), controllers = ?on, "controllers started");
    let collector = async move {
        if generator_states {
            gc::collect_generator_states(ctx, shutdown, gc_namespace).await;
        }
    };
    let feed = feed_queue(es_stream, refresh);
    until_shutdown(streams, feed, collector).await;
    endpoints.set_ready(false);
    tracing::info!("controllers stopped");
}

/// Drives the controllers, the watch feeding the work queue and the generator-state
/// collector until they end (the controllers on shutdown; the feed with them).
async fn until_shutdown(
    streams: Vec<BoxStream<'static, ()>>,
    feed: impl std::future::Future<Output = ()>,
    collector: impl std::future::Future<Output = ()>,
) {
    let run = futures_util::stream::select_all(streams).for_each(|()| async {});
    let controllers = async move {
        tokio::pin!(run);
        tokio::select! {
            () = &mut run => {}
            () = feed => run.await,
        }
    };
    futures_util::future::join(controllers, collector).await;
}

/// A store kind's controller when it is on; when it is off, only its watch, which keeps the
/// cache the other flows read filled (until the shutdown).
fn store_controller<K>(
    drivers: &Drivers,
    enabled: bool,
    stream: BoxStream<'static, Result<K, watcher::Error>>,
    store: Store<K>,
    kind: Kind,
) -> BoxStream<'static, ()>
where
    K: super::EsoObject + class::ClassScoped + queue::Tracked + eso_core::api::GenericStore,
{
    if enabled {
        drivers.drive(
            Controller::for_stream(stream, store),
            kind,
            flows::store::<K>,
            ignore_gone,
        )
    } else {
        stream
            .take_until(drivers.shutdown.wait())
            .map(|_| ())
            .boxed()
    }
}

/// What every reconcile shares: one reconciler for the operator's lifetime, whose catalog
/// reads the store controllers' caches and the generators fetched per object.
fn context(
    op: Operator,
    (ss, css): (&Store<SecretStore>, &Store<ClusterSecretStore>),
    external_secrets: Store<ExternalSecret>,
    known_secrets: KnownSecrets,
    refresh: &Arc<queue::RefreshQueue>,
) -> Arc<flows::Context> {
    let generators = Arc::new(crate::FetchedGenerators::new());
    let catalog = crate::ReflectorCatalog::new(ss.clone(), css.clone())
        .with_fetched_generators(Arc::clone(&generators));
    let cluster: KubeCluster = op.cluster.with_known_secrets(known_secrets);
    let reconciler = Reconciler::with_shared_catalog(Arc::new(cluster), Arc::new(catalog))
        .with_providers(Arc::new(op.providers))
        .with_generators(op.generators)
        .with_generator_gc_grace_period(op.generator_gc_grace)
        .with_generator_states(op.generator_states)
        .with_store_requeue_interval(op.store_requeue)
        .with_workloads(Arc::new(KubeWorkloads::new(op.client.clone())));
    Arc::new(flows::Context {
        events: events::Events::new(&op.client, None),
        client: op.client,
        reconciler,
        backoff: op.backoff,
        refresh: Some(Arc::clone(refresh)),
        generators,
        shared: super::shared_reads::SharedReads::new(op.read_window, op.batch_gather),
        external_secrets,
        foreign: std::sync::Mutex::default(),
    })
}

/// Feeds the ExternalSecret watch (after its predicate filter) into the work queue.
async fn feed_queue(
    events: impl futures_util::Stream<Item = Result<ExternalSecret, watcher::Error>>,
    refresh: Arc<queue::RefreshQueue>,
) {
    events
        .for_each(|event| {
            match event {
                Ok(es) => refresh.changed(ObjectRef::from_obj(&es)),
                Err(e) => tracing::warn!(error = %e, "ExternalSecret watch"),
            }
            async {}
        })
        .await;
}
