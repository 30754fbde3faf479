//! The reusable parts of an External Secrets operator on kube-runtime, and [`Operator`],
//! which puts them together.
//!
//! [`Operator`] runs one kube-runtime controller per ESO kind (ExternalSecret, PushSecret,
//! ClusterExternalSecret, ClusterPushSecret, SecretStore, ClusterSecretStore), each driving
//! eso-core's flows through [`KubeCluster`] and
//! [`KubeWorkloads`]:
//!
//! - **watches**: each kind; ExternalSecrets wake the controller only on a spec, label,
//!   annotation (ESO's `force-sync`) or deletion change, never on the echo of the operator's
//!   own status or finalizer writes; Secrets are watched as metadata only: target Secrets
//!   wake their owner when deleted or edited by someone else (not on the operator's own
//!   writes), and the names of all of them let a new target be created without a read
//!   first. Stores are kept in reflector caches;
//! - **new objects first**: ExternalSecrets reach the controller through one work queue
//!   that hands an object over only when the controller has a free slot: changes (a new
//!   object, a spec change, `force-sync`) first, in the order they arrived; a synced
//!   ExternalSecret's next refresh (the flows' interval with their stable per-object jitter,
//!   plus up to 5 % random jitter, [`with_jitter`]) after them, so new and changed objects
//!   never queue behind a backlog of refreshes, and a burst of new objects syncs in order;
//! - **HTTP**: [`Endpoints`] serves ESO's [`Metrics`] on `/metrics`, `/healthz`, `/readyz`
//!   and an authenticated `/refresh`;
//! - **controller classes**: [`Operator::with_controller_class`] (ESO's `--controller-class`);
//! - **back-off**: failures back off per object, 5 s doubling to 5 min with jitter
//!   ([`Backoff`]); a permanent error never waits longer than the object's refresh interval;
//! - **finalizers**: ESO's, where deletion has work to do: an ExternalSecret while its
//!   `deletionPolicy` is `Delete` or it reads a generator (ESO: always), a PushSecret while
//!   its `deletionPolicy` is `Delete`, a ClusterExternalSecret ESO's cleanup finalizer;
//!   a ClusterPushSecret carries [`CLUSTER_FINALIZER`] (ESO relies on garbage collection)
//!   so the PushSecrets it stamped out are removed;
//! - **events**: Kubernetes Events on ExternalSecrets and PushSecrets with ESO's reporters,
//!   reasons and messages (`Created`, `Updated`, `Deleted`, `UpdateFailed`; `Synced`,
//!   `SourceDeleted`, `Errored`), written by one task from a bounded queue so they never
//!   hold up a sync (best-effort, as client-go's broadcaster makes them in ESO);
//! - **generator states**: a collector cleans up and deletes `GeneratorState` objects past
//!   their garbage-collection deadline or whose deletion was requested (ESO's generatorstate
//!   controller), [`Operator::with_generator_gc_grace_period`];
//! - **status**: patched on the status subresource after every pass ([`patch_status`]);
//! - **concurrency**: up to 8 objects per kind at once ([`Operator::with_concurrency`]);
//! - **graceful shutdown**: on a [`Shutdown`] signal the controllers stop taking work and
//!   finish the reconciles in flight;
//! - **leader election**: [`LeaderElection`] runs the operator only while it holds a
//!   `coordination.k8s.io` Lease (several replicas, one active).
//!
//! # Example
//!
//! ```no_run
//! use eso_core::provider::ProviderRegistry;
//! use eso_kube::operator::{LeaderElection, Operator, Shutdown};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = kube::Client::try_default().await?;
//! let mut providers = ProviderRegistry::new();
//! // eso_provider_vault::register(&mut providers); // one line per provider crate
//! let operator = Operator::new(client.clone(), providers);
//! LeaderElection::new(client, "eso-system", "eso-rs-operator", "pod-a")
//!     .run(Shutdown::on_signals(), |stop| operator.run(stop))
//!     .await?;
//! # Ok(()) }
//! ```

mod backoff;
mod class;
mod drive;
mod events;
mod finalizers;
mod flows;
mod gc;
mod http;
mod leader;
mod metrics;
mod queue;
mod shutdown;
mod watch;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::Reconciler;
use futures_util::StreamExt as _;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Config, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

pub use crate::status::{EsoObject, object_key, patch_status};
pub use backoff::{Backoff, with_jitter};
pub use events::{EXTERNAL_SECRET_REPORTER, PUSH_SECRET_REPORTER};
pub use flows::CLUSTER_FINALIZER;
pub use http::{Endpoints, FORCE_SYNC_ANNOTATION};
pub use leader::{LeaderElection, LeaderError, LeaderExit};
pub use metrics::Metrics;
pub use shutdown::{Shutdown, ShutdownTrigger};

use self::drive::ignore_gone;
use self::metrics::Kind;
use crate::{KubeCluster, KubeWorkloads};

/// An External Secrets operator: the six ESO controllers on one kube client.
///
/// Build it with the provider registry (one `register` line per provider crate), then
/// [`run`](Self::run) it until a [`Shutdown`] fires, usually inside
/// [`LeaderElection::run`]. The CRDs must be installed (`esoctl crd` prints them).
///
/// # Example
///
/// ```no_run
/// use eso_core::generator::GeneratorRegistry;
/// use eso_core::provider::ProviderRegistry;
/// use eso_kube::operator::{Operator, Shutdown};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = kube::Client::try_default().await?;
/// let operator = Operator::new(client, ProviderRegistry::new())
///     .with_generators(GeneratorRegistry::new())
///     .with_concurrency(4);
/// operator.run(Shutdown::on_signals()).await;
/// # Ok(()) }
/// ```
pub struct Operator {
    client: kube::Client,
    cluster: KubeCluster,
    providers: ProviderRegistry,
    endpoints: Endpoints,
    class: String,
    generators: Arc<GeneratorRegistry>,
    concurrency: u16,
    backoff: Backoff,
    watcher: watcher::Config,
    generator_gc_grace: std::time::Duration,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("cluster", &self.cluster)
            .field("providers", &self.providers.kinds().collect::<Vec<_>>())
            .field("class", &self.class)
            .field("concurrency", &self.concurrency)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Operator {
    /// An operator over `client` with these providers (and no generators). Every provider
    /// call is counted in the operator's [`Metrics`].
    pub fn new(client: kube::Client, providers: ProviderRegistry) -> Self {
        let endpoints = Endpoints::new(client.clone(), Arc::new(Metrics::new()));
        Self {
            cluster: KubeCluster::new(client.clone()),
            client,
            providers: providers.with_call_observer(endpoints.observer()),
            endpoints,
            class: String::new(),
            generators: Arc::new(GeneratorRegistry::new()),
            concurrency: 8,
            backoff: Backoff::default(),
            watcher: watcher::Config::default(),
            generator_gc_grace: eso_core::reconcile::DEFAULT_GENERATOR_GC_GRACE_PERIOD,
        }
    }

    /// Keeps generator states the consumers moved away from for `grace` before their
    /// generator's cleanup runs (ESO's `--generator-gc-grace-period`, default two minutes).
    #[must_use]
    pub fn with_generator_gc_grace_period(mut self, grace: std::time::Duration) -> Self {
        self.generator_gc_grace = grace;
        self
    }

    /// Uses these generators for `sourceRef.generatorRef` entries and generator pushes: a
    /// [`GeneratorRegistry`], or an `Arc` of one shared with the host (the same parameter as
    /// [`Reconciler::with_generators`]).
    #[must_use]
    pub fn with_generators(mut self, generators: impl Into<Arc<GeneratorRegistry>>) -> Self {
        self.generators = generators.into();
        self
    }

    /// Writes target Secrets through this cluster (e.g. with another field manager).
    #[must_use]
    pub fn with_cluster(mut self, cluster: KubeCluster) -> Self {
        self.cluster = cluster;
        self
    }

    /// Reconciles up to `n` objects of each kind at once (default 8; 0 means unbounded).
    #[must_use]
    pub fn with_concurrency(mut self, n: u16) -> Self {
        self.concurrency = n;
        self
    }

    /// Backs failed objects off with `backoff` (default: 5 s doubling to 5 min, 20 % jitter).
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Reconciles only what belongs to controller class `class` (ESO's
    /// `--controller-class`; default empty): stores whose `spec.controller` is empty or
    /// `class`, and the ExternalSecrets and PushSecrets whose stores all are.
    #[must_use]
    pub fn with_controller_class(mut self, class: impl Into<String>) -> Self {
        self.class = class.into();
        self
    }

    /// Serves `POST /refresh` on [`Endpoints::router`] to callers that send
    /// `Authorization: Bearer <token>` (without a token the endpoint answers 401 to all).
    #[must_use]
    pub fn with_refresh_token(self, token: impl Into<String>) -> Self {
        self.endpoints.set_refresh_token(token.into());
        self
    }

    /// The operator's HTTP side (`/metrics`, `/healthz`, `/readyz`, `/refresh`) and its
    /// [`Metrics`]; serve [`Endpoints::router`] next to [`run`](Self::run).
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Watches with `config` (e.g. a label selector), for every kind.
    #[must_use]
    pub fn with_watcher_config(mut self, config: watcher::Config) -> Self {
        self.watcher = config;
        self
    }

    /// Runs every controller until `shutdown` fires, then lets in-flight reconciles finish.
    pub async fn run(self, shutdown: Shutdown) {
        let client = self.client.clone();
        let wc = self.watcher.clone();
        let stores_listed = [
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        ];
        let (ss_store, ss_stream) =
            watch::stores::<SecretStore>(&client, wc.clone(), Arc::clone(&stores_listed[0]));
        let (css_store, css_stream) =
            watch::stores::<ClusterSecretStore>(&client, wc.clone(), Arc::clone(&stores_listed[1]));
        let ss = Controller::for_stream(ss_stream, ss_store);
        let css = Controller::for_stream(css_stream, css_store);
        let known_secrets = crate::known_secrets::KnownSecrets::default();
        let refresh = Arc::new(queue::RefreshQueue::new(self.concurrency));
        let (es_store, es_stream) = watch::external_secrets(&client, wc.clone(), &self.endpoints);
        let ps = Controller::new(Api::<PushSecret>::all(client.clone()), wc.clone());
        let ces = Controller::new(
            Api::<ClusterExternalSecret>::all(client.clone()),
            wc.clone(),
        );
        let cps = Controller::new(Api::<ClusterPushSecret>::all(client.clone()), wc);
        self.endpoints.set_external_secrets(es_store.clone());
        self.endpoints.metrics().set_sources(metrics::Sources {
            external_secrets: es_store.clone(),
            push_secrets: ps.store(),
            secret_stores: ss.store(),
            cluster_secret_stores: css.store(),
            cluster_external_secrets: ces.store(),
            cluster_push_secrets: cps.store(),
        });
        let filter = class::ClassFilter {
            class: self.class.clone(),
            secret_stores: ss.store(),
            cluster_secret_stores: css.store(),
            stores_listed,
        };
        let config = Config::default().concurrency(self.concurrency);
        let endpoints = self.endpoints.clone();
        let ctx = self.context(&ss, &css, known_secrets.clone(), Arc::clone(&refresh));
        let drivers = drive::Drivers {
            config,
            shutdown: shutdown.clone(),
            metrics: Arc::clone(endpoints.metrics()),
            filter: Arc::new(filter),
            ctx: Arc::clone(&ctx),
        };
        // ExternalSecrets are triggered through the work queue only (see `queue`): their
        // watch feeds it, in order; the controller itself watches nothing but its targets.
        let es = Controller::for_stream(
            futures_util::stream::pending::<Result<ExternalSecret, watcher::Error>>(),
            es_store,
        )
        .owns_stream(watch::target_secrets(&client, known_secrets))
        .reconcile_on(Arc::clone(&refresh).stream());
        let gone = {
            let refresh = Arc::clone(&refresh);
            move |r: &ObjectRef<DynamicObject>| refresh.gone(r)
        };
        let controllers = futures_util::stream::select_all([
            drivers.drive(
                ss,
                Kind::SecretStore,
                flows::store::<SecretStore>,
                ignore_gone,
            ),
            drivers.drive(
                css,
                Kind::ClusterSecretStore,
                flows::store::<ClusterSecretStore>,
                ignore_gone,
            ),
            drivers.drive(es, Kind::ExternalSecret, flows::external_secret, gone),
            drivers.drive(ps, Kind::PushSecret, flows::push_secret, ignore_gone),
            drivers.drive(
                ces,
                Kind::ClusterExternalSecret,
                flows::cluster_external_secret,
                ignore_gone,
            ),
            drivers.drive(
                cps,
                Kind::ClusterPushSecret,
                flows::cluster_push_secret,
                ignore_gone,
            ),
        ]);
        tracing::info!("controllers started");
        let collector = gc::collect_generator_states(ctx, shutdown);
        let feed = feed_queue(es_stream, refresh);
        // The controllers end on shutdown; the watch feeding the queue ends with them.
        let controllers = async move {
            let run = controllers.for_each(|()| async {});
            tokio::pin!(run);
            tokio::select! {
                () = &mut run => {}
                () = feed => run.await,
            }
        };
        futures_util::future::join(controllers, collector).await;
        endpoints.set_ready(false);
        tracing::info!("controllers stopped");
    }

    /// What every reconcile shares: one reconciler for the operator's lifetime, whose
    /// catalog reads the store controllers' caches and the generators fetched per object.
    fn context(
        self,
        ss: &Controller<SecretStore>,
        css: &Controller<ClusterSecretStore>,
        known_secrets: crate::known_secrets::KnownSecrets,
        refresh: Arc<queue::RefreshQueue>,
    ) -> Arc<flows::Context> {
        let generators = Arc::new(crate::FetchedGenerators::new());
        let catalog = crate::ReflectorCatalog::new(ss.store(), css.store())
            .with_fetched_generators(Arc::clone(&generators));
        let cluster = self.cluster.with_known_secrets(known_secrets);
        let reconciler = Reconciler::with_shared_catalog(Arc::new(cluster), Arc::new(catalog))
            .with_providers(Arc::new(self.providers))
            .with_generators(self.generators)
            .with_generator_gc_grace_period(self.generator_gc_grace)
            .with_workloads(Arc::new(KubeWorkloads::new(self.client.clone())));
        Arc::new(flows::Context {
            events: events::Events::new(&self.client, None),
            client: self.client,
            reconciler,
            backoff: self.backoff,
            refresh: Some(refresh),
            generators,
        })
    }
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
