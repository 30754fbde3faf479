//! The per-object metrics (`<kind>_reconcile_duration`, `externalsecret_sync_calls_total`,
//! `externalsecret_sync_calls_error`, `<kind>_status_condition`): a few numbers kept per
//! object, written straight into the scrape's text.
//!
//! A `GaugeVec` or `IntCounterVec` keeps a whole metric per label set (its own copy of the
//! descriptor, help text and label pairs: about 900 bytes), and nothing ever removed them:
//! three per ExternalSecret, two more per condition once scraped, and a deleted object's
//! series stayed for the life of the process. Building the families as Prometheus protocol
//! objects at scrape time instead costs about 2 KiB per object per scrape. Here an object
//! costs one map entry (its name and three numbers) and nothing more at a scrape than its
//! lines of text; its conditions are read from the reflector caches, and an object gone
//! from its cache leaves the map at the next scrape.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, Condition, ExternalSecret,
    PushSecret, SecretStore,
};
use kube::runtime::reflector::Store;

/// The six ESO kinds, as the subsystems of their metrics (`externalsecret_...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    ExternalSecret,
    PushSecret,
    SecretStore,
    ClusterSecretStore,
    ClusterExternalSecret,
    ClusterPushSecret,
}

pub(super) const KINDS: [Kind; 6] = [
    Kind::ExternalSecret,
    Kind::PushSecret,
    Kind::SecretStore,
    Kind::ClusterSecretStore,
    Kind::ClusterExternalSecret,
    Kind::ClusterPushSecret,
];

impl Kind {
    pub(super) fn subsystem(self) -> &'static str {
        match self {
            Self::ExternalSecret => "externalsecret",
            Self::PushSecret => "pushsecret",
            Self::SecretStore => "secretstore",
            Self::ClusterSecretStore => "clustersecretstore",
            Self::ClusterExternalSecret => "clusterexternalsecret",
            Self::ClusterPushSecret => "clusterpushsecret",
        }
    }

    /// ESO's help texts name the kind in words.
    pub(super) fn words(self) -> &'static str {
        match self {
            Self::ExternalSecret => "External Secret",
            Self::PushSecret => "Push Secret",
            Self::SecretStore => "Secret Store",
            Self::ClusterSecretStore => "Cluster Secret Store",
            Self::ClusterExternalSecret => "Cluster External Secret",
            Self::ClusterPushSecret => "Cluster Push Secret",
        }
    }
}

/// The reflector caches the condition gauges are read from at scrape time.
#[derive(Clone)]
pub(super) struct Sources {
    pub(super) external_secrets: Store<ExternalSecret>,
    pub(super) push_secrets: Store<PushSecret>,
    pub(super) secret_stores: Store<SecretStore>,
    pub(super) cluster_secret_stores: Store<ClusterSecretStore>,
    pub(super) cluster_external_secrets: Store<ClusterExternalSecret>,
    pub(super) cluster_push_secrets: Store<ClusterPushSecret>,
}

/// The `status.conditions` of an ESO object.
pub(super) trait Conditions: kube::Resource<DynamicType = ()> + Clone + 'static {
    fn conditions(&self) -> &[Condition];
}

macro_rules! conditions {
    ($($k:ty),*) => {$(
        impl Conditions for $k {
            fn conditions(&self) -> &[Condition] {
                self.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or(&[])
            }
        }
    )*};
}
conditions!(
    ExternalSecret,
    PushSecret,
    SecretStore,
    ClusterExternalSecret,
    ClusterPushSecret
);

impl Conditions for ClusterSecretStore {
    fn conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or(&[])
    }
}

const SYNC_CALLS: &str = "externalsecret_sync_calls_total";
const SYNC_CALLS_HELP: &str = "Total number of the External Secret sync calls";
const SYNC_ERRORS: &str = "externalsecret_sync_calls_error";
const SYNC_ERRORS_HELP: &str = "Total number of the External Secret sync errors";

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

/// The per-object metrics (see the module docs).
#[derive(Default)]
pub(super) struct ObjectMetrics {
    samples: Mutex<HashMap<ObjectKey, Sample>>,
    sources: Mutex<Option<Sources>>,
}

impl ObjectMetrics {
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

    /// Writes every family in Prometheus' text format (as its encoder writes them), after
    /// dropping the objects no longer in their cache.
    pub(super) fn write(&self, out: &mut String) {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let states = sources.as_ref().map(States::of);
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(st) = &states {
            let live = st.live();
            samples
                .retain(|(kind, ns, name), _| live.contains(&(*kind, ns.as_ref(), name.as_ref())));
        }
        let mut sorted: Vec<(&ObjectKey, &Sample)> = samples.iter().collect();
        sorted.sort_unstable_by(|a, b| {
            (a.0.0 as u8, &a.0.2, &a.0.1).cmp(&(b.0.0 as u8, &b.0.2, &b.0.1))
        });
        let of = |kind: Kind| sorted.iter().filter(move |(k, _)| k.0 == kind);
        let es = || of(Kind::ExternalSecret);
        family(
            out,
            SYNC_CALLS,
            SYNC_CALLS_HELP,
            "counter",
            es().map(|(k, s)| {
                #[allow(clippy::cast_precision_loss)]
                (object_labels(k), s.sync_calls as f64)
            }),
        );
        family(
            out,
            SYNC_ERRORS,
            SYNC_ERRORS_HELP,
            "counter",
            es().filter(|(_, s)| s.sync_errors > 0).map(|(k, s)| {
                #[allow(clippy::cast_precision_loss)]
                (object_labels(k), s.sync_errors as f64)
            }),
        );
        for kind in KINDS {
            family(
                out,
                &format!("{}_reconcile_duration", kind.subsystem()),
                &format!("The duration time to reconcile the {}", kind.words()),
                "gauge",
                of(kind).map(|(k, s)| (object_labels(k), s.duration_ns)),
            );
        }
        drop(samples);
        if let Some(st) = &states {
            st.write_conditions(out);
        }
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

/// The labels of an object's series, in name order.
fn object_labels(k: &ObjectKey) -> [(&'static str, &str); 2] {
    [("name", &k.2), ("namespace", &k.1)]
}

/// Writes one family: its HELP and TYPE lines and a line per sample (nothing for a family
/// without samples, as Prometheus' registry leaves those out).
fn family<'a, const N: usize>(
    out: &mut String,
    name: &str,
    help: &str,
    type_: &str,
    samples: impl Iterator<Item = ([(&'static str, &'a str); N], f64)>,
) {
    let mut samples = samples.peekable();
    if samples.peek().is_none() {
        return;
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {type_}");
    for (labels, value) in samples {
        sample(out, name, &labels, value);
    }
}

/// One sample line: `name{label="value",...} value`.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    for (i, (label, v)) in labels.iter().enumerate() {
        out.push(if i == 0 { '{' } else { ',' });
        out.push_str(label);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '"' => out.push_str("\\\""),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if !labels.is_empty() {
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
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
    /// The caches' objects now, each kind sorted by name and namespace (once per scrape).
    fn of(s: &Sources) -> Self {
        fn sorted<K: Object>(mut v: Vec<Arc<K>>) -> Vec<Arc<K>> {
            v.sort_unstable_by(|a, b| (a.name(), a.namespace()).cmp(&(b.name(), b.namespace())));
            v
        }
        Self {
            external_secrets: sorted(s.external_secrets.state()),
            push_secrets: sorted(s.push_secrets.state()),
            secret_stores: sorted(s.secret_stores.state()),
            cluster_secret_stores: sorted(s.cluster_secret_stores.state()),
            cluster_external_secrets: sorted(s.cluster_external_secrets.state()),
            cluster_push_secrets: sorted(s.cluster_push_secrets.state()),
        }
    }

    /// Calls `f` with each kind and its objects (in [`States::of`]'s order).
    fn each<'a>(&'a self, mut f: impl FnMut(Kind, &[&'a dyn Object])) {
        fn objects<K: Object>(v: &[Arc<K>]) -> Vec<&dyn Object> {
            v.iter().map(|o| o.as_ref() as &dyn Object).collect()
        }
        f(Kind::ExternalSecret, &objects(&self.external_secrets));
        f(Kind::PushSecret, &objects(&self.push_secrets));
        f(Kind::SecretStore, &objects(&self.secret_stores));
        f(
            Kind::ClusterSecretStore,
            &objects(&self.cluster_secret_stores),
        );
        f(
            Kind::ClusterExternalSecret,
            &objects(&self.cluster_external_secrets),
        );
        f(
            Kind::ClusterPushSecret,
            &objects(&self.cluster_push_secrets),
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

    /// The `<kind>_status_condition` families: each condition of an object's status is 1,
    /// and for `Ready` the opposite status is 0 (as ESO sets them).
    fn write_conditions(&self, out: &mut String) {
        self.each(|kind, objects| {
            let name = format!("{}_status_condition", kind.subsystem());
            let help = format!("The status condition of a specific {}", kind.words());
            let series = objects.iter().flat_map(|o| {
                o.conditions().iter().flat_map(move |c| {
                    let opposite = match (c.type_.as_str(), c.status.as_str()) {
                        ("Ready", "True") => Some("False"),
                        ("Ready", "False") => Some("True"),
                        _ => None,
                    };
                    let labels = move |status| {
                        [
                            ("condition", c.type_.as_str()),
                            ("name", o.name()),
                            ("namespace", o.namespace()),
                            ("status", status),
                        ]
                    };
                    opposite
                        .map(|s| (labels(s), 0.0))
                        .into_iter()
                        .chain(std::iter::once((labels(c.status.as_str()), 1.0)))
                })
            });
            family(out, &name, &help, "gauge", series);
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
        // Each family once, its samples together (Prometheus' text format).
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let unique: HashSet<&&str> = types.iter().collect();
        assert_eq!(types.len(), unique.len(), "{text}");
        let mut seen = Vec::new();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let family = l.split(['{', ' ']).next().unwrap_or_default();
            if seen.last() != Some(&family) {
                assert!(!seen.contains(&family), "{family} split:\n{text}");
                seen.push(family);
            }
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
        assert_eq!(metrics.objects.tracked(), 1);
    }
}
