//! Generator state on the in-memory cluster: states recorded per consumer entry, the previous
//! state flagged one rotation later, collected after the grace period with the generator's
//! cleanup, rolled back when a reconcile fails after generating, released when the consumer
//! is deleted (ExternalSecret and PushSecret).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::{Cluster, GeneratorStateQuery, KubeGeneratorState, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput, GeneratorRegistry};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler, Sweep};
use eso_core::{Error, Result, SecretMap};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// A stateful generator standing in for a lease-issuing one (kind `Fake`): every generation
/// issues lease `n`, cleanup revokes it; lease numbers listed in `fail_cleanup` cannot be
/// revoked.
#[derive(Debug, Default)]
struct Leases {
    issued: Mutex<u64>,
    revoked: Mutex<Vec<u64>>,
    fail_cleanup: Mutex<Vec<u64>>,
}

impl Leases {
    fn revoked(&self) -> Vec<u64> {
        let mut r = self.revoked.lock().unwrap().clone();
        r.sort_unstable();
        r
    }
}

#[async_trait]
impl Generator for Leases {
    fn kind(&self) -> &'static str {
        "Fake"
    }

    async fn generate(&self, _ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let mut n = self.issued.lock().unwrap();
        *n += 1;
        let mut data = SecretMap::new();
        data.insert("password".into(), format!("secret-{n}").into());
        Ok(GeneratorOutput::new(data).with_state(json!({ "lease": *n })))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, state: &Value) -> Result<()> {
        let n = state["lease"].as_u64().unwrap();
        if self.fail_cleanup.lock().unwrap().contains(&n) {
            return Err(Error::generic(format!("lease {n} cannot be revoked")));
        }
        self.revoked.lock().unwrap().push(n);
        Ok(())
    }
}

const OBJECTS: &str = r#"
apiVersion: generators.external-secrets.io/v1alpha1
kind: Fake
metadata: {name: db, namespace: app}
spec: {data: {}}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app, uid: es-uid}
spec:
  refreshInterval: 1h
  target: {name: db-credentials}
  dataFrom:
    - sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Fake, name: db}}
---
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: push, namespace: app, uid: ps-uid}
spec:
  refreshInterval: 1h
  secretStoreRefs: [{name: missing, kind: SecretStore}]
  selector: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Fake, name: db}}
  data: [{match: {secretKey: password, remoteRef: {remoteKey: pushed}}}]
"#;

const GRACE: Duration = Duration::from_secs(60);

fn setup() -> (
    Reconciler,
    Arc<MemoryCluster>,
    Arc<Leases>,
    ExternalSecret,
    PushSecret,
) {
    let mut catalog = MemoryCatalog::new();
    let (mut es, mut ps) = (None, None);
    for (_, doc) in parse_documents(OBJECTS) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            Manifest::PushSecret(p) => ps = Some(*p),
            other => catalog.add(other),
        }
    }
    let leases = Arc::new(Leases::default());
    let mut generators = GeneratorRegistry::new();
    generators.register(leases.clone());
    let cluster = Arc::new(MemoryCluster::new());
    let reconciler = Reconciler::new(cluster.clone(), catalog)
        .with_generators(Arc::new(generators))
        .with_generator_gc_grace_period(GRACE);
    (reconciler, cluster, leases, es.unwrap(), ps.unwrap())
}

/// `(lease, flagged)` of every state of the namespace, by lease.
async fn states(cluster: &MemoryCluster) -> Vec<(u64, bool)> {
    let mut out: Vec<(u64, bool)> = cluster
        .list_generator_states(GeneratorStateQuery::Namespace("app"))
        .await
        .unwrap()
        .iter()
        .map(|s| {
            (
                s.state["lease"].as_u64().unwrap(),
                s.garbage_collection_deadline.is_some(),
            )
        })
        .collect();
    out.sort_unstable();
    out
}

fn at(hours: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(hours)
}

async fn rotate(r: &Reconciler, es: &mut ExternalSecret, now: Timestamp) -> Vec<u8> {
    let out = r.reconcile_external_secret(es, &Pass::new(), now).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    es.status = Some(out.status);
    let target = r.cluster().get_secret("app", "db-credentials").await;
    target.unwrap().unwrap().data["password"].expose().to_vec()
}

#[tokio::test]
async fn rotations_flag_collect_and_release() {
    let (r, cluster, leases, mut es, _) = setup();
    assert_eq!(rotate(&r, &mut es, at(0)).await, b"secret-1");
    let first = cluster
        .list_generator_states(GeneratorStateQuery::All)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let s = &first[0];
    assert_eq!(s.name, format!("{}00002", s.generate_name()));
    assert!(s.name.starts_with("gen-externalsecret-db-"));
    assert_eq!(
        s.owner_key,
        KubeGeneratorState::owner_key_of("ExternalSecret", "app", "db", "0")
    );
    assert_eq!(
        (s.owner.kind.as_str(), s.owner.uid.as_str()),
        ("ExternalSecret", "es-uid")
    );
    assert!(!s.owner.controller);
    assert_eq!(s.generator_name, "db");

    // First rotation: the state in use until now is kept (ESO flags it one rotation later).
    assert_eq!(rotate(&r, &mut es, at(2)).await, b"secret-2");
    assert_eq!(states(&cluster).await, [(1, false), (2, false)]);
    // Second rotation: the first lease gets its deadline.
    assert_eq!(rotate(&r, &mut es, at(4)).await, b"secret-3");
    assert_eq!(states(&cluster).await, [(1, true), (2, false), (3, false)]);
    let flagged = cluster
        .list_generator_states(GeneratorStateQuery::OwnerKey("app", &s.owner_key))
        .await
        .unwrap();
    let deadline = flagged
        .iter()
        .find_map(|s| s.garbage_collection_deadline)
        .unwrap();
    assert_eq!(deadline, at(4) + SignedDuration::try_from(GRACE).unwrap());

    // Before the deadline nothing goes; after it the first lease is revoked and its state deleted.
    let report = r.collect_generator_states(at(4)).await;
    assert_eq!((report.collected, report.waiting), (0, 1));
    assert_eq!(report.next_deadline, Some(deadline));
    assert!(leases.revoked().is_empty());
    let report = r.collect_generator_states(deadline).await;
    assert_eq!(report.collected, 1);
    assert!(report.errors.is_empty());
    assert_eq!(leases.revoked(), [1]);
    assert_eq!(states(&cluster).await, [(2, false), (3, false)]);

    // Deleting the consumer revokes the rest.
    let out = r.delete_external_secret(&es, at(5)).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert_eq!(leases.revoked(), [1, 2, 3]);
    assert!(states(&cluster).await.is_empty());
}

#[tokio::test]
async fn failed_reconcile_rolls_back() {
    let (r, cluster, leases, mut es, ps) = setup();
    rotate(&r, &mut es, at(0)).await;
    // A template source that does not exist fails the reconcile after generating.
    let mut broken = es.clone();
    broken.spec.target.template = Some(
        serde_json::from_value(
            json!({"templateFrom": [{"configMap": {"name": "gone", "items": [{"key": "k"}]}}]}),
        )
        .unwrap(),
    );
    let out = r
        .reconcile_external_secret(&broken, &Pass::new(), at(2))
        .await;
    assert!(!out.is_ok());
    assert_eq!(leases.revoked(), [2], "the new lease is revoked at once");
    assert_eq!(states(&cluster).await, [(1, false)], "nothing else changed");
    let target = cluster
        .get_secret("app", "db-credentials")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(target.data["password"].expose(), b"secret-1");

    // A rollback whose cleanup fails keeps the state, due at once, for the collector.
    leases.fail_cleanup.lock().unwrap().push(3);
    let out = r
        .reconcile_external_secret(&broken, &Pass::new(), at(3))
        .await;
    assert!(!out.is_ok());
    assert_eq!(states(&cluster).await, [(1, false), (3, true)]);
    let report = r.collect_generator_states(at(3)).await;
    assert_eq!(report.collected, 0);
    assert_eq!(report.errors.len(), 1);
    let msg = report.errors[0].to_string();
    assert!(msg.contains("cleanup") && msg.contains("lease 3"), "{msg}");
    leases.fail_cleanup.lock().unwrap().clear();
    assert_eq!(r.collect_generator_states(at(3)).await.collected, 1);
    assert_eq!(leases.revoked(), [2, 3]);

    // A PushSecret whose only store fails pushes nothing: its generated value is rolled back.
    let out = r.reconcile_push_secret(&ps, at(4)).await;
    assert!(!out.is_ok());
    assert_eq!(leases.revoked(), [2, 3, 4]);
    assert_eq!(states(&cluster).await, [(1, false)]);

    // A failing cleanup keeps the consumer's deletion from finishing (the finalizer stays).
    leases.fail_cleanup.lock().unwrap().push(1);
    assert!(!r.delete_external_secret(&es, at(5)).await.is_ok());
    leases.fail_cleanup.lock().unwrap().clear();
    assert!(r.delete_external_secret(&es, at(5)).await.is_ok());
    assert!(states(&cluster).await.is_empty());
}

#[tokio::test]
async fn deletion_requested_by_a_garbage_collector_runs_cleanup() {
    let (r, cluster, leases, mut es, _) = setup();
    rotate(&r, &mut es, at(0)).await;
    let s = cluster
        .list_generator_states(GeneratorStateQuery::All)
        .await
        .unwrap()
        .remove(0);
    assert!(!s.is_due(at(100)));
    cluster.request_generator_state_deletion("app", &s.name);
    assert_eq!(r.collect_generator_states(at(0)).await.collected, 1);
    assert_eq!(leases.revoked(), [1]);
    assert!(states(&cluster).await.is_empty());
}

#[tokio::test]
async fn clusters_without_state_keep_none() {
    /// A cluster that keeps Secrets but no generator states (the trait's defaults).
    #[derive(Debug, Default)]
    struct Plain(MemoryCluster);
    #[async_trait]
    impl Cluster for Plain {
        async fn get_secret(
            &self,
            ns: &str,
            n: &str,
        ) -> Result<Option<eso_core::cluster::KubeSecret>> {
            self.0.get_secret(ns, n).await
        }
        async fn list_secrets(
            &self,
            ns: &str,
            q: &eso_core::cluster::LabelQuery,
        ) -> Result<Vec<eso_core::cluster::KubeSecret>> {
            self.0.list_secrets(ns, q).await
        }
        async fn create_secret(
            &self,
            s: eso_core::cluster::KubeSecret,
        ) -> Result<eso_core::cluster::KubeSecret> {
            self.0.create_secret(s).await
        }
        async fn update_secret(
            &self,
            s: eso_core::cluster::KubeSecret,
        ) -> Result<eso_core::cluster::KubeSecret> {
            self.0.update_secret(s).await
        }
        async fn delete_secret(&self, ns: &str, n: &str) -> Result<()> {
            self.0.delete_secret(ns, n).await
        }
        async fn get_config_map(
            &self,
            ns: &str,
            n: &str,
        ) -> Result<Option<eso_core::cluster::KubeConfigMap>> {
            self.0.get_config_map(ns, n).await
        }
        async fn list_namespaces(
            &self,
            q: &eso_core::cluster::LabelQuery,
        ) -> Result<Vec<eso_core::cluster::KubeNamespace>> {
            self.0.list_namespaces(q).await
        }
    }
    let (r, _, leases, mut es, _) = setup();
    let mut generators = GeneratorRegistry::new();
    generators.register(leases.clone());
    let mut catalog = MemoryCatalog::new();
    for (_, doc) in parse_documents(OBJECTS) {
        if let m @ Manifest::Fake(_) = Manifest::from_value(doc.unwrap().value).unwrap() {
            catalog.add(m);
        }
    }
    drop(r);
    let r =
        Reconciler::new(Arc::new(Plain::default()), catalog).with_generators(Arc::new(generators));
    assert_eq!(rotate(&r, &mut es, at(0)).await, b"secret-1");
    assert_eq!(rotate(&r, &mut es, at(2)).await, b"secret-2");
    let report = r.collect_generator_states(at(10)).await;
    assert_eq!((report.collected, report.errors.len()), (0, 0));
    assert!(r.delete_external_secret(&es, at(11)).await.is_ok());
    assert!(leases.revoked().is_empty(), "no state, nothing to clean up");
}

#[tokio::test]
async fn a_sweep_collects_due_states() {
    let (r, cluster, leases, mut es, _) = setup();
    for hours in [0, 2, 4] {
        rotate(&r, &mut es, at(hours)).await;
    }
    let report = r.sweep(Sweep::default(), at(4)).await;
    assert_eq!(report.generator_states.waiting, 1);
    let due = report.generator_states.next_deadline.unwrap();
    let report = r.sweep(Sweep::default(), due).await;
    assert_eq!(report.generator_states.collected, 1);
    assert_eq!(leases.revoked(), [1]);
    assert_eq!(states(&cluster).await, [(2, false), (3, false)]);
}
