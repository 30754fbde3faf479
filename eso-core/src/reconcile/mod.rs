//! The reconcile flows: ExternalSecret (pull) and PushSecret (push), as plain async functions.
//!
//! A [`Reconciler`] holds what every pass needs: the [`Cluster`](crate::cluster::Cluster), the
//! [`ProviderRegistry`] (which caches provider clients across passes, keyed by store revision),
//! the [`GeneratorRegistry`] and a [`Catalog`] of stores and generators. A [`Pass`] groups the
//! reconciles of one sweep so identical remote reads are made once.
//!
//! The functions compute the new status and the writes to the target Secret; persisting the
//! ESO object's status is the host's job (an operator patches `/status`, `esoctl` prints it).
//!
//! ClusterExternalSecret and ClusterPushSecret stamp ExternalSecrets and PushSecrets into the
//! selected namespaces through a [`WorkloadStore`] ([`MemoryWorkloads`] in memory); the host
//! then reconciles those objects with the two flows above. `spec.syncWindows` gates the
//! periodic refreshes of ExternalSecrets (ESO's cron dialect, in UTC).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use eso_core::api::{Manifest, parse_documents};
//! use eso_core::cluster::{Cluster, MemoryCluster};
//! use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let yaml = r#"
//! apiVersion: external-secrets.io/v1
//! kind: SecretStore
//! metadata: {name: fake, namespace: default}
//! spec:
//!   provider:
//!     fake:
//!       data: [{key: db, value: '{"user":"app","pass":"hunter2"}'}]
//! ---
//! apiVersion: external-secrets.io/v1
//! kind: ExternalSecret
//! metadata: {name: db, namespace: default}
//! spec:
//!   secretStoreRef: {name: fake}
//!   target: {name: db-credentials}
//!   dataFrom: [{extract: {key: db}}]
//! "#;
//! let mut catalog = MemoryCatalog::default();
//! let mut external_secrets = Vec::new();
//! for (_, doc) in parse_documents(yaml) {
//!     match Manifest::from_value(doc.unwrap().value).unwrap() {
//!         Manifest::ExternalSecret(es) => external_secrets.push(*es),
//!         other => catalog.add(other),
//!     }
//! }
//! let cluster = Arc::new(MemoryCluster::new());
//! let reconciler = Reconciler::new(cluster.clone(), catalog);
//! let pass = Pass::new();
//! let now = jiff::Timestamp::UNIX_EPOCH;
//! let outcome = reconciler.reconcile_external_secret(&external_secrets[0], &pass, now).await;
//! assert!(outcome.is_ok());
//! let secret = cluster.get_secret("default", "db-credentials").await.unwrap().unwrap();
//! assert_eq!(secret.data["pass"].expose(), b"hunter2");
//! assert_eq!(secret.labels["reconcile.external-secrets.io/managed"], "true");
//! # });
//! ```

mod catalog;
mod cluster_external_secret;
mod cluster_push_secret;
mod conditions;
mod external_secret;
mod fan_out;
mod gather;
mod generator_state;
pub(crate) mod hash;
mod outcome;
mod pass;
mod prefetch;
mod push_secret;
mod store;
mod sweep;
pub(crate) mod sync_window;
mod workloads;

use std::sync::Arc;

pub use catalog::{Catalog, DynCatalog, MemoryCatalog};
pub use cluster_external_secret::{
    ANNOTATION_FORCE_SYNC, CLUSTER_EXTERNAL_SECRET_FINALIZER, ClusterExternalSecretOutcome,
    DEFAULT_CLUSTER_REFRESH, cluster_external_secret_namespace_finalizer,
};
pub use cluster_push_secret::ClusterPushSecretOutcome;
pub use external_secret::{ExternalSecretOutcome, TEMPORARY_REQUEUE, TargetAction};
pub use fan_out::{WorkloadAction, WorkloadChange};
pub use generator_state::{
    DEFAULT_GENERATOR_GC_GRACE_PERIOD, GeneratorStateReport, PUSH_SECRET_STATE_KEY,
};
pub use hash::{data_hash, string_hash};
pub use outcome::{ClusterChanges, FlowError, Outcome, PushCounts, StoreKey};
pub use pass::Pass;
pub use push_secret::PushSecretOutcome;
pub use store::{DEFAULT_STORE_REQUEUE, StoreOutcome};
pub use sweep::{ObjectKey, Sweep, SweepReport};
pub use workloads::{DynWorkloadStore, MemoryWorkloads, WorkloadStore};

use crate::cluster::DynCluster;
use crate::generator::GeneratorRegistry;
use crate::provider::ProviderRegistry;

/// Label ESO puts on every Secret an ExternalSecret manages.
pub const LABEL_MANAGED: &str = "reconcile.external-secrets.io/managed";
/// Annotation holding the hash of a managed Secret's data.
pub const ANNOTATION_DATA_HASH: &str = "reconcile.external-secrets.io/data-hash";
/// Label holding the hash of `<namespace>/<name>` of the owning ExternalSecret (creationPolicy Owner).
pub const LABEL_CREATED_BY: &str = "reconcile.external-secrets.io/created-by";
/// Finalizer ESO sets on ExternalSecrets (the operator in `eso-kube` only on those whose
/// deletion has work to do: `deletionPolicy: Delete`, or a generator in `dataFrom`).
pub const EXTERNAL_SECRET_FINALIZER: &str =
    "externalsecrets.external-secrets.io/externalsecret-cleanup";
/// Finalizer ESO sets on PushSecrets with `deletionPolicy: Delete`.
pub const PUSH_SECRET_FINALIZER: &str = "pushsecret.externalsecrets.io/finalizer";

/// The field manager ESO uses for an ExternalSecret's writes: `externalsecrets.external-secrets.io/<name>`,
/// or its SHA3 form when that is longer than 63 characters.
pub fn field_manager(es_name: &str) -> String {
    let plain = format!("externalsecrets.external-secrets.io/{es_name}");
    if plain.len() > 63 {
        format!(
            "externalsecrets.external-secrets.io/sha3/{}",
            hash::string_hash(es_name)
        )
    } else {
        plain
    }
}

/// Everything the flows need, shared across passes.
#[derive(Debug)]
pub struct Reconciler {
    cluster: DynCluster,
    providers: Arc<ProviderRegistry>,
    generators: Arc<GeneratorRegistry>,
    catalog: DynCatalog,
    workloads: DynWorkloadStore,
    push_concurrency: usize,
    generator_gc_grace: std::time::Duration,
    generator_states: bool,
    store_requeue: std::time::Duration,
}

impl Reconciler {
    /// A reconciler with the default provider registry (the in-memory `fake` provider) and
    /// no generators.
    pub fn new(cluster: DynCluster, catalog: impl Catalog) -> Self {
        Self::with_shared_catalog(cluster, Arc::new(catalog))
    }

    /// Like [`Reconciler::new`], with a catalog shared with the host (an operator's watch
    /// caches), so the reconciler always sees the current stores and generators.
    pub fn with_shared_catalog(cluster: DynCluster, catalog: DynCatalog) -> Self {
        Self {
            cluster,
            providers: Arc::new(ProviderRegistry::new()),
            generators: Arc::new(GeneratorRegistry::new()),
            catalog,
            workloads: Arc::new(MemoryWorkloads::new()),
            push_concurrency: 16,
            generator_gc_grace: DEFAULT_GENERATOR_GC_GRACE_PERIOD,
            generator_states: true,
            store_requeue: DEFAULT_STORE_REQUEUE,
        }
    }

    /// Where ClusterExternalSecret and ClusterPushSecret write the ExternalSecrets and
    /// PushSecrets they stamp (default: an in-memory [`MemoryWorkloads`]).
    #[must_use]
    pub fn with_workloads(mut self, workloads: DynWorkloadStore) -> Self {
        self.workloads = workloads;
        self
    }

    /// The workload store of the cluster kinds.
    pub fn workloads(&self) -> &DynWorkloadStore {
        &self.workloads
    }

    /// Uses `providers` (with the provider crates the host links).
    #[must_use]
    pub fn with_providers(mut self, providers: Arc<ProviderRegistry>) -> Self {
        self.providers = providers;
        self
    }

    /// Uses `generators` for `sourceRef.generatorRef` entries and generator pushes: a
    /// [`GeneratorRegistry`], or an `Arc` of one shared with the host (the same parameter
    /// as `eso_kube`'s `Operator::with_generators`).
    #[must_use]
    pub fn with_generators(mut self, generators: impl Into<Arc<GeneratorRegistry>>) -> Self {
        self.generators = generators.into();
        self
    }

    /// How many stores one PushSecret writes to at once (default 16).
    #[must_use]
    pub fn with_push_concurrency(mut self, n: usize) -> Self {
        self.push_concurrency = n.max(1);
        self
    }

    /// How long a generator state the consumer moved away from is kept before its
    /// generator's cleanup runs (default [`DEFAULT_GENERATOR_GC_GRACE_PERIOD`], two minutes,
    /// ESO's `--generator-gc-grace-period`).
    #[must_use]
    pub fn with_generator_gc_grace_period(mut self, grace: std::time::Duration) -> Self {
        self.generator_gc_grace = grace;
        self
    }

    /// Whether what stateful generators produce is recorded as generator states (default
    /// true; ESO's `--enable-generator-state`). Off, nothing is recorded: values a failed
    /// reconcile generated are still cleaned up at once, but values a consumer moves away
    /// from are never cleaned up by this library.
    #[must_use]
    pub fn with_generator_states(mut self, enabled: bool) -> Self {
        self.generator_states = enabled;
        self
    }

    /// How often a store whose spec sets no `refreshInterval` is checked again (default
    /// [`DEFAULT_STORE_REQUEUE`], five minutes; ESO's `--store-requeue-interval`).
    #[must_use]
    pub fn with_store_requeue_interval(mut self, interval: std::time::Duration) -> Self {
        self.store_requeue = interval;
        self
    }

    /// The catalog of stores and generators.
    pub fn catalog(&self) -> &dyn Catalog {
        self.catalog.as_ref()
    }

    /// The cluster.
    pub fn cluster(&self) -> &DynCluster {
        &self.cluster
    }

    /// The provider registry.
    pub fn providers(&self) -> &Arc<ProviderRegistry> {
        &self.providers
    }
}

/// A requeue delay of `interval` plus up to 10 % jitter derived from `seed` (stable per object).
pub(crate) fn with_jitter(interval: std::time::Duration, seed: &str) -> std::time::Duration {
    let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |acc, b| {
        (acc ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let permille = h % 100;
    interval + interval.mul_f64(permille as f64 / 1000.0)
}
