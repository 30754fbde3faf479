//! The per-object metrics (`<kind>_reconcile_duration`, `externalsecret_sync_calls_total`,
//! `externalsecret_sync_calls_error`, `<kind>_status_condition`) as one Prometheus
//! collector that keeps a few numbers per object and builds the series at scrape time.
//!
//! A `GaugeVec` or `IntCounterVec` keeps a whole metric per label set (its own copy of the
//! descriptor, help text and label pairs: about 900 bytes), and nothing ever removed them:
//! three per ExternalSecret, two more per condition once scraped, and a deleted object's
//! series stayed for the life of the process. Here an object costs one map entry (its name
//! and three numbers), its conditions are read from the reflector caches at scrape time, and
//! an object gone from its cache leaves the map at the next scrape.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, Condition, ExternalSecret,
    PushSecret, SecretStore,
};
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

use super::metrics::{Conditions, KINDS, Kind, Sources};

const SYNC_CALLS: &str = "externalsecret_sync_calls_total";
const SYNC_ERRORS: &str = "externalsecret_sync_calls_error";

/// What is kept of one reconciled object.
#[derive(Clone, Copy, Debug, Default)]
struct Sample {
    /// The last reconcile's duration, in nanoseconds.
    duration_ns: f64,
    sync_calls: u64,
    sync_errors: u64,
}

/// An object: its kind, namespace (empty for the cluster kinds) and name.
type ObjectKey = (Kind, Box<str>, Box<str>);

/// The per-object metrics (see the module docs); registered in the registry through
/// [`ObjectMetrics::collector`].
pub(super) struct ObjectMetrics {
    samples: Mutex<HashMap<ObjectKey, Sample>>,
    sources: Mutex<Option<Sources>>,
    descs: Vec<Desc>,
}

impl ObjectMetrics {
    /// Empty metrics, or `None` when a descriptor is refused (it never is: the names are
    /// fixed and valid).
    pub(super) fn new() -> Option<Arc<Self>> {
        let object = || vec!["name".to_owned(), "namespace".to_owned()];
        let mut descs = vec![
            desc(
                SYNC_CALLS,
                "Total number of the External Secret sync calls",
                object(),
            )?,
            desc(
                SYNC_ERRORS,
                "Total number of the External Secret sync errors",
                object(),
            )?,
        ];
        for k in KINDS {
            descs.push(desc(
                &duration_name(k),
                &format!("The duration time to reconcile the {}", k.words()),
                object(),
            )?);
            descs.push(desc(
                &condition_name(k),
                &format!("The status condition of a specific {}", k.words()),
                ["name", "namespace", "condition", "status"]
                    .map(str::to_owned)
                    .to_vec(),
            )?);
        }
        Some(Arc::new(Self {
            samples: Mutex::new(HashMap::new()),
            sources: Mutex::new(None),
            descs,
        }))
    }

    /// The collector to register (it shares this object's state).
    pub(super) fn collector(self: &Arc<Self>) -> Box<dyn Collector> {
        Box::new(Registered(Arc::clone(self)))
    }

    /// The caches the condition gauges are read from, and that say which objects still exist.
    pub(super) fn set_sources(&self, sources: Sources) {
        *self.sources.lock().unwrap_or_else(PoisonError::into_inner) = Some(sources);
    }

    /// Records one reconcile of `namespace/name` of `kind`.
    pub(super) fn reconciled(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        duration_ns: f64,
        failed: bool,
    ) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (kind, Box::from(namespace), Box::from(name));
        let s = samples.entry(key).or_default();
        s.duration_ns = duration_ns;
        if kind == Kind::ExternalSecret {
            s.sync_calls += 1;
            s.sync_errors += u64::from(failed);
        }
    }

    /// Every family, built now: objects no longer in their cache are dropped first.
    fn families(&self) -> Vec<MetricFamily> {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut families: HashMap<String, Vec<Metric>> = HashMap::new();
        let states = sources.as_ref().map(States::of);
        {
            let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(st) = &states {
                let live = st.live();
                samples.retain(|(kind, ns, name), _| {
                    live.contains(&(*kind, ns.as_ref(), name.as_ref()))
                });
            }
            for ((kind, ns, name), s) in samples.iter() {
                let object = || labels(&[("name", name), ("namespace", ns)]);
                push(
                    &mut families,
                    duration_name(*kind),
                    gauge(object(), s.duration_ns),
                );
                if *kind == Kind::ExternalSecret {
                    #[allow(clippy::cast_precision_loss)]
                    let calls = s.sync_calls as f64;
                    push(&mut families, SYNC_CALLS.into(), counter(object(), calls));
                    if s.sync_errors > 0 {
                        #[allow(clippy::cast_precision_loss)]
                        let errors = s.sync_errors as f64;
                        push(&mut families, SYNC_ERRORS.into(), counter(object(), errors));
                    }
                }
            }
        }
        if let Some(st) = &states {
            st.condition_series(&mut families);
        }
        self.descs
            .iter()
            .filter_map(|d| {
                let metrics = families.remove(&d.fq_name)?;
                let mut mf = MetricFamily::default();
                mf.set_name(d.fq_name.clone());
                mf.set_help(d.help.clone());
                let counter = d.fq_name == SYNC_CALLS || d.fq_name == SYNC_ERRORS;
                mf.set_field_type(if counter {
                    MetricType::COUNTER
                } else {
                    MetricType::GAUGE
                });
                mf.set_metric(metrics);
                Some(mf)
            })
            .collect()
    }

    /// Objects with samples now.
    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The collector registered in the registry.
struct Registered(Arc<ObjectMetrics>);

impl Collector for Registered {
    fn desc(&self) -> Vec<&Desc> {
        self.0.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.0.families()
    }
}

fn desc(name: &str, help: &str, labels: Vec<String>) -> Option<Desc> {
    Desc::new(name.to_owned(), help.to_owned(), labels, HashMap::new()).ok()
}

fn duration_name(k: Kind) -> String {
    format!("{}_reconcile_duration", k.subsystem())
}

fn condition_name(k: Kind) -> String {
    format!("{}_status_condition", k.subsystem())
}

/// Label pairs, given in name order (the order Prometheus' encoder expects).
fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(n, v)| {
            let mut l = LabelPair::default();
            l.set_name((*n).to_owned());
            l.set_value((*v).to_owned());
            l
        })
        .collect()
}

fn gauge(labels: Vec<LabelPair>, value: f64) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::default();
    m.set_label(labels);
    m.set_gauge(g);
    m
}

fn counter(labels: Vec<LabelPair>, value: f64) -> Metric {
    let mut c = Counter::default();
    c.set_value(value);
    let mut m = Metric::default();
    m.set_label(labels);
    m.set_counter(c);
    m
}

fn push(families: &mut HashMap<String, Vec<Metric>>, name: String, m: Metric) {
    families.entry(name).or_default().push(m);
}

/// What the caches hold at one scrape.
struct States {
    external_secrets: Vec<Arc<ExternalSecret>>,
    push_secrets: Vec<Arc<PushSecret>>,
    secret_stores: Vec<Arc<SecretStore>>,
    cluster_secret_stores: Vec<Arc<ClusterSecretStore>>,
    cluster_external_secrets: Vec<Arc<ClusterExternalSecret>>,
    cluster_push_secrets: Vec<Arc<ClusterPushSecret>>,
}

impl States {
    fn of(s: &Sources) -> Self {
        Self {
            external_secrets: s.external_secrets.state(),
            push_secrets: s.push_secrets.state(),
            secret_stores: s.secret_stores.state(),
            cluster_secret_stores: s.cluster_secret_stores.state(),
            cluster_external_secrets: s.cluster_external_secrets.state(),
            cluster_push_secrets: s.cluster_push_secrets.state(),
        }
    }

    /// Calls `f` with each kind and its objects.
    fn each<'a>(&'a self, mut f: impl FnMut(Kind, &mut dyn Iterator<Item = &'a dyn Object>)) {
        fn objects<K: Object>(v: &[Arc<K>]) -> impl Iterator<Item = &dyn Object> {
            v.iter().map(|o| o.as_ref() as &dyn Object)
        }
        f(Kind::ExternalSecret, &mut objects(&self.external_secrets));
        f(Kind::PushSecret, &mut objects(&self.push_secrets));
        f(Kind::SecretStore, &mut objects(&self.secret_stores));
        f(
            Kind::ClusterSecretStore,
            &mut objects(&self.cluster_secret_stores),
        );
        f(
            Kind::ClusterExternalSecret,
            &mut objects(&self.cluster_external_secrets),
        );
        f(
            Kind::ClusterPushSecret,
            &mut objects(&self.cluster_push_secrets),
        );
    }

    /// The objects in the caches, by kind, namespace and name.
    fn live(&self) -> HashSet<(Kind, &str, &str)> {
        let mut live = HashSet::new();
        self.each(|kind, objects| {
            for o in objects {
                live.insert((kind, o.namespace(), o.name()));
            }
        });
        live
    }

    /// The `<kind>_status_condition` series: each condition of an object's status is 1, and
    /// for `Ready` the opposite status is 0 (as ESO sets them).
    fn condition_series(&self, families: &mut HashMap<String, Vec<Metric>>) {
        self.each(|kind, objects| {
            let name = condition_name(kind);
            for o in objects {
                let (ns, obj) = (o.namespace(), o.name());
                for c in o.conditions() {
                    let opposite = match (c.type_.as_str(), c.status.as_str()) {
                        ("Ready", "True") => Some("False"),
                        ("Ready", "False") => Some("True"),
                        _ => None,
                    };
                    let series = |status: &str| {
                        labels(&[
                            ("condition", &c.type_),
                            ("name", obj),
                            ("namespace", ns),
                            ("status", status),
                        ])
                    };
                    if let Some(o) = opposite {
                        push(families, name.clone(), gauge(series(o), 0.0));
                    }
                    push(families, name.clone(), gauge(series(&c.status), 1.0));
                }
            }
        });
    }
}

/// An ESO object as the metrics read it.
trait Object {
    fn namespace(&self) -> &str;
    fn name(&self) -> &str;
    fn conditions(&self) -> &[Condition];
}

impl<K: Conditions> Object for K {
    fn namespace(&self) -> &str {
        self.meta().namespace.as_deref().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    fn conditions(&self) -> &[Condition] {
        Conditions::conditions(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::metrics::Metrics;
    use super::*;
    use kube::runtime::reflector::{self, store::Writer};
    use kube::runtime::watcher;

    fn external_secret(name: &str, ready: &str) -> ExternalSecret {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"secretStoreRef": {"name": "s"}},
            "status": {"conditions": [{"type": "Ready", "status": ready}]},
        }))
        .expect("an ExternalSecret")
    }

    fn sources(es: reflector::Store<ExternalSecret>) -> Sources {
        Sources {
            external_secrets: es,
            push_secrets: reflector::store().0,
            secret_stores: reflector::store().0,
            cluster_secret_stores: reflector::store().0,
            cluster_external_secrets: reflector::store().0,
            cluster_push_secrets: reflector::store().0,
        }
    }

    fn apply(w: &mut Writer<ExternalSecret>, ev: watcher::Event<ExternalSecret>) {
        w.apply_watcher_event(&ev);
    }

    #[test]
    fn series_as_eso_names_them_and_deleted_objects_leave() {
        let (reader, mut writer) = reflector::store::<ExternalSecret>();
        let (a, b) = (external_secret("a", "True"), external_secret("b", "False"));
        apply(&mut writer, watcher::Event::Apply(a.clone()));
        apply(&mut writer, watcher::Event::Apply(b.clone()));
        let metrics = Metrics::new();
        metrics.set_sources(sources(reader));
        let took = std::time::Duration::from_millis(3);
        metrics.reconciled(Kind::ExternalSecret, &a, took, false);
        metrics.reconciled(Kind::ExternalSecret, &a, took, false);
        metrics.reconciled(Kind::ExternalSecret, &b, took, true);
        let text = metrics.encode();
        for line in [
            r#"externalsecret_sync_calls_total{name="a",namespace="apps"} 2"#,
            r#"externalsecret_sync_calls_total{name="b",namespace="apps"} 1"#,
            r#"externalsecret_sync_calls_error{name="b",namespace="apps"} 1"#,
            r#"externalsecret_reconcile_duration{name="a",namespace="apps"} 3000000"#,
            r#"externalsecret_status_condition{condition="Ready",name="a",namespace="apps",status="True"} 1"#,
            r#"externalsecret_status_condition{condition="Ready",name="a",namespace="apps",status="False"} 0"#,
            r#"externalsecret_status_condition{condition="Ready",name="b",namespace="apps",status="False"} 1"#,
            "# TYPE externalsecret_sync_calls_total counter",
            "# TYPE externalsecret_reconcile_duration gauge",
            "# HELP externalsecret_sync_calls_error Total number of the External Secret sync errors",
        ] {
            assert!(text.contains(line), "{line} not in:\n{text}");
        }
        // No error series for an object that never failed.
        assert!(
            !text.contains(r#"externalsecret_sync_calls_error{name="a""#),
            "{text}"
        );
        // `b` deleted: its series go at the next scrape, and so does its sample.
        apply(&mut writer, watcher::Event::Delete(b));
        let text = metrics.encode();
        assert!(!text.contains(r#"name="b""#), "{text}");
        assert!(text.contains(r#"externalsecret_sync_calls_total{name="a",namespace="apps"} 2"#));
        let objects = metrics.objects.as_ref().expect("registered");
        assert_eq!(objects.tracked(), 1);
    }
}
