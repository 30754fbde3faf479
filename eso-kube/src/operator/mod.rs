//! The reusable parts of an External Secrets operator on kube-runtime, and [`Operator`],
//! which puts them together.
//!
//! [`Operator`] runs one kube-runtime controller per ESO kind (ExternalSecret, PushSecret,
//! ClusterExternalSecret, ClusterPushSecret, SecretStore, ClusterSecretStore), each driving
//! eso-core's flows through [`KubeCluster`] and
//! [`KubeWorkloads`](crate::KubeWorkloads):
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
mod object_metrics;
mod queue;
mod recorder;
mod shared_reads;
mod shutdown;
mod watch;
mod wiring;

use std::sync::Arc;

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use kube::runtime::watcher;

pub use crate::status::{EsoObject, object_key, patch_status};
pub use backoff::{Backoff, with_jitter};
pub use events::{EXTERNAL_SECRET_REPORTER, PUSH_SECRET_REPORTER};
pub use flows::CLUSTER_FINALIZER;
pub use http::{Endpoints, FORCE_SYNC_ANNOTATION};
pub use leader::{LeaderElection, LeaderError, LeaderExit};
pub use metrics::Metrics;
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use wiring::Controllers;

use crate::KubeCluster;

/// How long provider reads are shared between reconciles by default
/// ([`Operator::with_read_window`]).
pub const DEFAULT_READ_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);
/// How long single reads of batching providers are gathered by default
/// ([`Operator::with_batch_gathering`]).
pub const DEFAULT_BATCH_GATHER: std::time::Duration = std::time::Duration::from_millis(5);

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
    namespace: Option<String>,
    controllers: Controllers,
    generator_states: bool,
    store_requeue: std::time::Duration,
    read_window: std::time::Duration,
    batch_gather: std::time::Duration,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("cluster", &self.cluster)
            .field("providers", &self.providers.kinds().collect::<Vec<_>>())
            .field("class", &self.class)
            .field("concurrency", &self.concurrency)
            .field("backoff", &self.backoff)
            .field("namespace", &self.namespace)
            .field("controllers", &self.controllers)
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
            namespace: None,
            controllers: Controllers::default(),
            generator_states: true,
            store_requeue: eso_core::reconcile::DEFAULT_STORE_REQUEUE,
            read_window: DEFAULT_READ_WINDOW,
            batch_gather: DEFAULT_BATCH_GATHER,
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
    /// [`Reconciler::with_generators`](eso_core::reconcile::Reconciler::with_generators)).
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

    /// Watches ExternalSecrets, PushSecrets, SecretStores, target Secrets and generator
    /// states in `namespace` only (ESO's `--namespace`). ClusterSecretStores stay readable
    /// (as in ESO, they work when they reference nothing outside `namespace`) unless the
    /// ClusterSecretStore controller is off too, which is what a namespaced RBAC needs:
    /// then nothing cluster-wide is watched.
    #[must_use]
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        let ns = namespace.into();
        self.namespace = (!ns.is_empty()).then_some(ns);
        self
    }

    /// Runs only the controllers `controllers` enables (ESO's `--enable-*-reconciler`
    /// flags). The ExternalSecret controller always runs.
    #[must_use]
    pub fn with_controllers(mut self, controllers: Controllers) -> Self {
        self.controllers = controllers;
        self
    }

    /// Whether stateful generators' output is recorded as `GeneratorState` objects and
    /// collected (default true; ESO's `--enable-generator-state`); see
    /// [`Reconciler::with_generator_states`](eso_core::reconcile::Reconciler::with_generator_states).
    #[must_use]
    pub fn with_generator_states(mut self, enabled: bool) -> Self {
        self.generator_states = enabled;
        self
    }

    /// How often a store without its own `refreshInterval` is checked again (default five
    /// minutes; ESO's `--store-requeue-interval`).
    #[must_use]
    pub fn with_store_requeue_interval(mut self, interval: std::time::Duration) -> Self {
        self.store_requeue = interval;
        self
    }

    /// Shares provider reads between ExternalSecret reconciles for `window` (default
    /// [`DEFAULT_READ_WINDOW`]): the same remote read made within `window` of another goes
    /// to the provider once, and no reconcile takes a value older than `window` or than its
    /// own `refreshInterval`. The periodic refreshes of the ExternalSecrets of one store are
    /// then grouped on the store's beat (every `refreshInterval`, at a per-store offset; a
    /// refresh is made early rather than late), so one interval costs about one read per
    /// distinct remote secret instead of one per ExternalSecret. Zero turns both off: each
    /// reconcile reads for itself and refreshes keep their per-object jitter.
    #[must_use]
    pub fn with_read_window(mut self, window: std::time::Duration) -> Self {
        self.read_window = window;
        self
    }

    /// Gathers single reads of providers that batch (AWS Secrets Manager's
    /// `BatchGetSecretValue`) for `delay` (default [`DEFAULT_BATCH_GATHER`]) and sends them
    /// as one batch call; zero turns gathering off. Only with a read window.
    #[must_use]
    pub fn with_batch_gathering(mut self, delay: std::time::Duration) -> Self {
        self.batch_gather = delay;
        self
    }

    /// Watches with `config` (e.g. a label selector), for every kind.
    #[must_use]
    pub fn with_watcher_config(mut self, config: watcher::Config) -> Self {
        self.watcher = config;
        self
    }

    /// Runs every enabled controller until `shutdown` fires, then lets in-flight reconciles
    /// finish.
    pub async fn run(self, shutdown: Shutdown) {
        wiring::run(self, shutdown).await;
    }
}
