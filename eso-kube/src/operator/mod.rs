//! The reusable parts of an External Secrets operator on kube-runtime, and [`Operator`],
//! which puts them together.
//!
//! [`Operator`] runs one kube-runtime controller per ESO kind (ExternalSecret, PushSecret,
//! ClusterExternalSecret, ClusterPushSecret, SecretStore, ClusterSecretStore), each driving
//! eso-core's flows through [`KubeCluster`] and
//! [`KubeWorkloads`]:
//!
//! - **watches**: each kind, plus the Secrets an ExternalSecret owns (a deleted or edited
//!   target is repaired at once); stores are kept in reflector caches;
//! - **requeue**: at the flows' `requeue_after` (refresh interval plus the flows' stable
//!   per-object jitter) plus up to 5 % random jitter ([`with_jitter`]);
//! - **back-off**: failures back off per object, 5 s doubling to 5 min with jitter
//!   ([`Backoff`]); a permanent error never waits longer than the object's refresh interval;
//! - **finalizers**: ESO's: an ExternalSecret always carries ESO's, a PushSecret only while
//!   its `deletionPolicy` is `Delete`, a ClusterExternalSecret ESO's cleanup finalizer;
//!   a ClusterPushSecret carries [`CLUSTER_FINALIZER`] (ESO relies on garbage collection)
//!   so the PushSecrets it stamped out are removed;
//! - **events**: Kubernetes Events on ExternalSecrets and PushSecrets with ESO's reporters,
//!   reasons and messages (`Created`, `Updated`, `Deleted`, `UpdateFailed`; `Synced`,
//!   `SourceDeleted`, `Errored`);
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
mod events;
mod finalizers;
mod flows;
mod leader;
mod shutdown;

use std::sync::Arc;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::Reconciler;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{Config, Controller};
use kube::runtime::watcher;

pub use crate::status::{EsoObject, object_key, patch_status};
pub use backoff::{Backoff, with_jitter};
pub use events::{EXTERNAL_SECRET_REPORTER, PUSH_SECRET_REPORTER};
pub use flows::CLUSTER_FINALIZER;
pub use leader::{LeaderElection, LeaderError, LeaderExit};
pub use shutdown::{Shutdown, ShutdownTrigger};

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
    providers: Arc<ProviderRegistry>,
    generators: Arc<GeneratorRegistry>,
    concurrency: u16,
    backoff: Backoff,
    watcher: watcher::Config,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("cluster", &self.cluster)
            .field("providers", &self.providers.kinds().collect::<Vec<_>>())
            .field("concurrency", &self.concurrency)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Operator {
    /// An operator over `client` with these providers (and no generators).
    pub fn new(client: kube::Client, providers: ProviderRegistry) -> Self {
        Self {
            cluster: KubeCluster::new(client.clone()),
            client,
            providers: Arc::new(providers),
            generators: Arc::new(GeneratorRegistry::new()),
            concurrency: 8,
            backoff: Backoff::default(),
            watcher: watcher::Config::default(),
        }
    }

    /// Uses these generators for `sourceRef.generatorRef` entries and generator pushes.
    #[must_use]
    pub fn with_generators(mut self, generators: GeneratorRegistry) -> Self {
        self.generators = Arc::new(generators);
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

    /// Watches with `config` (e.g. a label selector), for every kind.
    #[must_use]
    pub fn with_watcher_config(mut self, config: watcher::Config) -> Self {
        self.watcher = config;
        self
    }

    /// Runs every controller until `shutdown` fires, then lets in-flight reconciles finish.
    pub async fn run(self, shutdown: Shutdown) {
        let client = self.client;
        let wc = self.watcher;
        let cfg = Config::default().concurrency(self.concurrency);
        let ss = Controller::new(Api::<SecretStore>::all(client.clone()), wc.clone());
        let css = Controller::new(Api::<ClusterSecretStore>::all(client.clone()), wc.clone());
        let catalog = crate::ReflectorCatalog::new(ss.store(), css.store());
        let reconciler = Reconciler::with_shared_catalog(Arc::new(self.cluster), Arc::new(catalog))
            .with_providers(self.providers)
            .with_generators(self.generators)
            .with_workloads(Arc::new(KubeWorkloads::new(client.clone())));
        let ctx = Arc::new(flows::Context {
            events: events::Events::new(&client, None),
            client: client.clone(),
            reconciler,
            backoff: self.backoff,
        });
        let all = |s: BoxStream<'static, ()>| s;
        macro_rules! drive {
            ($ctrl:expr, $reconcile:expr) => {
                all($ctrl
                    .with_config(cfg.clone())
                    .graceful_shutdown_on(shutdown.wait())
                    .run($reconcile, flows::error_policy, Arc::clone(&ctx))
                    .map(|_| ())
                    .boxed())
            };
        }
        let controllers = futures_util::stream::select_all([
            drive!(ss, flows::store::<SecretStore>),
            drive!(css, flows::store::<ClusterSecretStore>),
            drive!(
                Controller::new(Api::<ExternalSecret>::all(client.clone()), wc.clone())
                    .owns(Api::<Secret>::all(client.clone()), wc.clone()),
                flows::external_secret
            ),
            drive!(
                Controller::new(Api::<PushSecret>::all(client.clone()), wc.clone()),
                flows::push_secret
            ),
            drive!(
                Controller::new(
                    Api::<ClusterExternalSecret>::all(client.clone()),
                    wc.clone()
                ),
                flows::cluster_external_secret
            ),
            drive!(
                Controller::new(Api::<ClusterPushSecret>::all(client.clone()), wc),
                flows::cluster_push_secret
            ),
        ]);
        controllers.for_each(|()| async {}).await;
        tracing::info!("controllers stopped");
    }
}
