//! [`Metrics`]: ESO's Prometheus metrics, with ESO's names, label names and types, so
//! existing ESO dashboards and alerts work unchanged.

use std::time::Duration;

use eso_core::provider::CallObserver;
use prometheus::{Encoder as _, IntCounterVec, Opts, Registry, TextEncoder};

use super::object_metrics::{Kind, ObjectMetrics, Sources};

/// ESO's metrics (ESO v2.9.0, default label set, i.e. without
/// `--enable-extended-metric-labels`):
///
/// | metric | type | labels |
/// |---|---|---|
/// | `externalsecret_sync_calls_total` | counter | `name`, `namespace` |
/// | `externalsecret_sync_calls_error` | counter | `name`, `namespace` |
/// | `externalsecret_provider_api_calls_count` | counter | `provider`, `call`, `status` (`success`/`error`) |
/// | `<kind>_status_condition` | gauge (0/1) | `name`, `namespace`, `condition`, `status` |
/// | `<kind>_reconcile_duration` | gauge (nanoseconds of the last reconcile) | `name`, `namespace` |
///
/// `<kind>` is each of `externalsecret`, `pushsecret`, `secretstore`, `clustersecretstore`,
/// `clusterexternalsecret`, `clusterpushsecret`. The condition gauges are read from the
/// operator's caches at scrape time: each condition of an object's status is 1, and for
/// `Ready` the opposite status is 0 (as ESO sets them); a deleted object's series go with it.
/// The provider counter's `provider` label is the store's provider kind (`vault`, `aws`,
/// `fake`...) and `call` the provider method (`GetSecret`, `GetSecretMap`...), counted for
/// every provider by eso-core's [`Observed`](eso_core::provider::Observed) layer.
///
/// One more, ours: `eso_rs_runtime_alive_tasks` (gauge), the tokio tasks alive in the
/// runtime that serves the scrape, to watch for task leaks over a long run.
///
/// The per-object families (`sync_calls`, `reconcile_duration`, `status_condition`) are
/// kept as a few numbers per object and written by [`encode`](Self::encode) straight into
/// the text, not held in the [`registry`](Self::registry) (a registry metric per label
/// set costs about 900 bytes, and building them at each scrape about 2 KiB per object). A
/// host serving its own endpoint serves what `encode` returns; it includes the registry's
/// families, the host's own among them.
///
/// # Example
///
/// ```
/// use eso_core::provider::CallObserver;
/// use eso_kube::operator::Metrics;
///
/// let metrics = Metrics::new();
/// metrics.observe("fake", "GetSecret", true);
/// let text = metrics.encode();
/// assert!(text.contains(
///     r#"externalsecret_provider_api_calls_count{call="GetSecret",provider="fake",status="success"} 1"#
/// ));
/// ```
pub struct Metrics {
    registry: Registry,
    pub(super) objects: ObjectMetrics,
    provider_calls: Option<IntCounterVec>,
    alive_tasks: Option<prometheus::IntGauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics in their own registry.
    pub fn new() -> Self {
        Self::with_registry(Registry::new())
    }

    /// Metrics with their registry-held families (the provider call counter and the task
    /// gauge) registered in `registry`, to export them next to a host's own. A name the
    /// registry already holds is logged and left out.
    pub fn with_registry(registry: Registry) -> Self {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).ok()?;
            match registry.register(Box::new(c.clone())) {
                Ok(()) => Some(c),
                Err(e) => {
                    tracing::warn!(metric = name, error = %e, "metric left out");
                    None
                }
            }
        };
        let provider_calls = counter(
            "externalsecret_provider_api_calls_count",
            "Number of API calls towards the secret provider",
            &["provider", "call", "status"],
        );
        let alive_tasks = prometheus::IntGauge::new(
            "eso_rs_runtime_alive_tasks",
            "Tokio tasks alive in the runtime serving the scrape",
        )
        .ok()
        .filter(|g| registry.register(Box::new(g.clone())).is_ok());
        Self {
            alive_tasks,
            registry,
            objects: ObjectMetrics::default(),
            provider_calls,
        }
    }

    /// The registry of the provider call counter and the task gauge (the per-object
    /// families are not in it: see the type's docs).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric in Prometheus' text format (what `/metrics` answers).
    pub fn encode(&self) -> String {
        if let (Some(g), Ok(rt)) = (&self.alive_tasks, tokio::runtime::Handle::try_current()) {
            g.set(i64::try_from(rt.metrics().num_alive_tasks()).unwrap_or(i64::MAX));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "could not encode the metrics");
        }
        let mut out = String::from_utf8(out).unwrap_or_default();
        self.objects.write(&mut out);
        out
    }

    pub(super) fn set_sources(&self, sources: Sources) {
        self.objects.set_sources(sources);
    }

    /// Records one reconcile of `obj` of `kind`: its duration and, for an ExternalSecret,
    /// ESO's sync call and error counters.
    pub(super) fn reconciled<K: kube::Resource>(
        &self,
        kind: Kind,
        obj: &K,
        took: Duration,
        failed: bool,
    ) {
        let meta = obj.meta();
        #[allow(clippy::cast_precision_loss)]
        let nanos = took.as_nanos() as f64;
        self.objects.reconciled(
            kind,
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
            nanos,
            failed,
        );
    }
}

impl CallObserver for Metrics {
    fn observe(&self, provider: &str, call: &str, ok: bool) {
        let status = if ok { "success" } else { "error" };
        if let Some(c) = &self.provider_calls {
            c.with_label_values(&[provider, call, status]).inc();
        }
    }
}
