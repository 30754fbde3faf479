//! Writes `events.k8s.io/v1` Events as kube-runtime's `Recorder` writes them (the same
//! names, fields and event series), with a series cache of bounded size.
//!
//! kube-runtime's recorder keeps every Event it wrote, whole, for six minutes, and walks all
//! of them on every write: after a burst of 5,000 new ExternalSecrets that was 8.4 MiB of
//! cached Events (a quarter of the operator's heap) and a quadratic walk. This one keeps
//! what a series needs (the Event's name, its count, when it was last seen) for at most
//! [`CACHE_MAX`] distinct events, as client-go's event correlator bounds its cache for ESO,
//! and sweeps expired entries only once a minute or when full.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};

/// A repeat within this long of the last one is counted on the same Event (kube-runtime's
/// series window).
const SERIES_TTL: Duration = Duration::from_secs(6 * 60);

/// Distinct events remembered at most (client-go's correlator keeps 4,096).
pub(super) const CACHE_MAX: usize = 4096;

/// How often expired series are dropped when the cache is not full.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// What makes two events one series: the event and the object it is about (the reporter is
/// the recorder's own).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Key {
    type_: EventType,
    action: String,
    reason: String,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
}

impl Key {
    fn new(ev: &Event, regarding: &ObjectReference) -> Self {
        Self {
            type_: ev.type_,
            action: ev.action.clone(),
            reason: ev.reason.clone(),
            kind: regarding.kind.clone(),
            namespace: regarding.namespace.clone(),
            name: regarding.name.clone(),
            uid: regarding.uid.clone(),
        }
    }
}

/// An Event written, that a repeat counts on.
#[derive(Debug)]
struct Series {
    name: String,
    namespace: String,
    count: i32,
    last_seen: Instant,
}

/// Writes one reporter's Events (see the module docs).
pub(super) struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    series: HashMap<Key, Series>,
    swept: Instant,
}

impl Recorder {
    /// A recorder writing as `reporter` through `client`.
    pub(super) fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            series: HashMap::new(),
            swept: Instant::now(),
        }
    }

    /// Writes `ev` about `regarding`: a new Event, or a repeat counted on the Event of the
    /// same series (a PATCH of its `series`). Cluster-scoped objects get their Events in
    /// `default`, as with kube-runtime.
    pub(super) async fn publish(
        &mut self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Instant::now();
        self.sweep(now);
        let key = Key::new(ev, regarding);
        if let Some(s) = self.series.get(&key)
            && now.duration_since(s.last_seen) < SERIES_TTL
        {
            let (name, namespace, count) = (s.name.clone(), s.namespace.clone(), s.count + 1);
            match self.repeat(&name, &namespace, count).await {
                Ok(()) => {
                    if let Some(s) = self.series.get_mut(&key) {
                        s.count = count;
                        s.last_seen = now;
                    }
                    return Ok(());
                }
                // The Event expired on the API server (its TTL is an hour by default): the
                // repeat starts a new one.
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    self.series.remove(&key);
                }
                Err(e) => return Err(e),
            }
        }
        let event = self.new_event(ev, regarding);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let name = event.metadata.name.clone().unwrap_or_default();
        Api::<K8sEvent>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await?;
        self.series.insert(
            key,
            Series {
                name,
                namespace,
                count: 1,
                last_seen: now,
            },
        );
        Ok(())
    }

    /// Counts a repeat on the series' Event.
    async fn repeat(&self, name: &str, namespace: &str, count: i32) -> Result<(), kube::Error> {
        let patch = serde_json::json!({"series": {
            "count": count,
            "lastObservedTime": MicroTime(k8s_openapi::jiff::Timestamp::now()),
        }});
        Api::<K8sEvent>::namespaced(self.client.clone(), namespace)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
    }

    /// The Event kube-runtime's recorder would write for `ev`.
    fn new_event(&self, ev: &Event, regarding: &ObjectReference) -> K8sEvent {
        let now = k8s_openapi::jiff::Timestamp::now();
        let object = regarding
            .name
            .as_deref()
            .unwrap_or(&self.reporter.controller);
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: ev.note.clone(),
            metadata: ObjectMeta {
                namespace: Some(
                    regarding
                        .namespace
                        .clone()
                        .unwrap_or_else(|| "default".to_owned()),
                ),
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            related: ev.secondary.clone(),
            ..K8sEvent::default()
        }
    }

    /// Drops expired series (once a minute, or when the cache is full), and when still
    /// full, the older half.
    fn sweep(&mut self, now: Instant) {
        let full = self.series.len() >= CACHE_MAX;
        if !full && now.duration_since(self.swept) < SWEEP_EVERY {
            return;
        }
        self.swept = now;
        self.series
            .retain(|_, s| now.duration_since(s.last_seen) < SERIES_TTL);
        if self.series.len() >= CACHE_MAX {
            let mut seen: Vec<Instant> = self.series.values().map(|s| s.last_seen).collect();
            let mid = seen.len() / 2;
            let (_, median, _) = seen.select_nth_unstable(mid);
            let median = *median;
            self.series.retain(|_, s| s.last_seen > median);
        }
    }

    /// Distinct events remembered now.
    #[cfg(test)]
    fn cached(&self) -> usize {
        self.series.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("ExternalSecret".into()),
            namespace: Some("apps".into()),
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    fn recorder() -> Recorder {
        // A client that is never called: the tests below only build Events and sweep.
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("a URL"));
        let client = kube::Client::try_from(config).expect("a client");
        Recorder::new(
            client,
            Reporter {
                controller: "external-secrets".into(),
                instance: None,
            },
        )
    }

    fn created() -> Event {
        Event {
            type_: EventType::Normal,
            reason: "Created".into(),
            note: Some("secret created".into()),
            action: "Reconcile".into(),
            secondary: None,
        }
    }

    #[tokio::test]
    async fn events_are_written_as_kube_runtime_writes_them() {
        let r = recorder();
        let e = r.new_event(&created(), &reference("db"));
        assert_eq!(e.metadata.namespace.as_deref(), Some("apps"));
        let name = e.metadata.name.unwrap();
        assert!(name.starts_with("db.") && name.len() > 10, "{name}");
        assert_eq!(e.reporting_controller.as_deref(), Some("external-secrets"));
        assert_eq!(e.reporting_instance.as_deref(), Some("external-secrets"));
        assert_eq!(e.type_.as_deref(), Some("Normal"));
        assert_eq!(e.note.as_deref(), Some("secret created"));
        assert!(e.event_time.is_some() && e.series.is_none());
        // Cluster-scoped objects get their Events in `default`.
        let mut cluster = reference("all");
        cluster.namespace = None;
        let e = r.new_event(&created(), &cluster);
        assert_eq!(e.metadata.namespace.as_deref(), Some("default"));
    }

    #[tokio::test]
    async fn the_cache_stays_bounded() {
        let mut r = recorder();
        let start = Instant::now();
        for i in 0..CACHE_MAX + 10 {
            let key = Key::new(&created(), &reference(&format!("es-{i}")));
            let series = Series {
                name: format!("es-{i}.1"),
                namespace: "apps".into(),
                count: 1,
                last_seen: start + Duration::from_millis(i as u64),
            };
            r.series.insert(key, series);
            r.sweep(start + Duration::from_millis(i as u64));
            assert!(r.cached() <= CACHE_MAX);
        }
        // The newest entries are the ones kept.
        let newest = Key::new(&created(), &reference(&format!("es-{}", CACHE_MAX + 9)));
        assert!(r.series.contains_key(&newest));
        // Expired series go at the next sweep.
        r.sweep(start + SERIES_TTL + Duration::from_secs(120));
        assert_eq!(r.cached(), 0);
    }
}
