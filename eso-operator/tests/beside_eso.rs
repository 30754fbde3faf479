//! Beside ESO: ESO's own controller (the Go binary `scripts/backends/eso.sh` builds, `ESO_BIN`)
//! and eso-operator run on one kube-apiserver, each with its controller class and scoped to
//! the test's namespace. Each syncs only the ExternalSecrets of its own store; then one store's
//! `spec.controller` moves from ESO's class to eso-operator's and eso-operator takes its
//! ExternalSecrets over. A watch on the namespace's Secrets counts the target Secrets written
//! during the hand-over (the goal: none, the data did not change), and the time until every
//! moved ExternalSecret was reconciled by eso-operator and is Ready is printed. The same
//! the other way back (a roll back); last, with ESO gone, eso-operator finalizes an
//! ExternalSecret that carries ESO's finalizer.
//!
//! The classes are unique per run (they stand for ESO's `default` and eso-operator's
//! `eso-rs`), so an operator another test runs with a default class never takes a store of
//! this test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Running, free_port, namespace, wait_for};
use eso_core::api::{ExternalSecret, SecretStore};
use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

/// ExternalSecrets per store.
const PER_STORE: usize = 10;

/// The ExternalSecret `name` on store `store`, with a label and an annotation of its own (ESO
/// copies them into a target without a template); odd ones render a template (labels,
/// annotations and a templated key) so the hand-over also covers rendered targets.
fn external_secret(ns: &str, name: &str, store: &str, templated: bool) -> Value {
    let mut target = json!({"name": name});
    if templated {
        target["template"] = json!({
            "engineVersion": "v2",
            "metadata": {"labels": {"team": "beside"}, "annotations": {"owner": "ops"}},
            "data": {"dsn": "user:{{ .password }}@db", "password": "{{ .password }}"}
        });
    }
    json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
           "metadata": {"name": name, "namespace": ns,
                        "labels": {"app.kubernetes.io/part-of": "shop"},
                        "annotations": {"example.com/contact": "ops"}},
           "spec": {"refreshInterval": "1h",
                    "secretStoreRef": {"name": store, "kind": "SecretStore"},
                    "target": target,
                    "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}})
}

fn store(ns: &str, name: &str, class: &str, value: &str) -> Value {
    json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"controller": class,
                    "provider": {"fake": {"data": [{"key": "db", "value": value}]}}}})
}

async fn create<K>(api: &Api<K>, v: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

fn names(prefix: &str) -> Vec<String> {
    (0..PER_STORE).map(|i| format!("{prefix}-{i}")).collect()
}

/// The ExternalSecrets of `ns` named in `names` that are Ready.
async fn ready(api: &Api<ExternalSecret>, names: &[String]) -> usize {
    let list = api.list(&ListParams::default()).await.unwrap();
    list.items
        .iter()
        .filter(|es| names.iter().any(|n| Some(n) == es.metadata.name.as_ref()))
        .filter(|es| {
            es.status.as_ref().is_some_and(|s| {
                s.conditions
                    .iter()
                    .flatten()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
            })
        })
        .count()
}

/// The `name` labels of `externalsecret_sync_calls_total` for namespace `ns` on the metrics
/// endpoint at `addr`: the ExternalSecrets that operator reconciled (eso-operator counts only
/// what its class owns; ESO counts every reconcile, skipped ones too).
async fn synced_names(addr: &str, ns: &str) -> BTreeSet<String> {
    let Ok(resp) = reqwest::get(format!("http://{addr}/metrics")).await else {
        return BTreeSet::new();
    };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("externalsecret_sync_calls_total{"))
        .filter(|l| l.contains(&format!("namespace=\"{ns}\"")))
        .filter_map(|l| {
            let rest = &l[l.find("name=\"")? + 6..];
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

/// How often ESO's log (at debug level) says it reconciled each ExternalSecret of `ns`
/// ("reconciled secret", logged after a successful sync; an ExternalSecret of another class's
/// store is skipped without it).
fn eso_reconciled(log: &str, ns: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let es = &v["ExternalSecret"];
        if v["msg"] == "reconciled secret"
            && es["namespace"] == ns
            && let Some(name) = es["name"].as_str()
        {
            *out.entry(name.to_owned()).or_default() += 1;
        }
    }
    out
}

/// The managers of `obj`'s managedFields entries on `subresource` ("" for the main resource).
fn managers(obj: &impl kube::Resource, subresource: &str) -> BTreeSet<String> {
    obj.meta()
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.subresource.as_deref().unwrap_or("") == subresource)
        .filter_map(|m| m.manager.clone())
        .collect()
}

/// What differs between two versions of a target Secret, without values: keys of data,
/// labels, annotations, owner references, type, immutability, managedFields entries.
fn difference(before: &Secret, after: &Secret) -> Vec<String> {
    let mut out = Vec::new();
    let keys = |s: &Secret| -> BTreeMap<String, Vec<u8>> {
        s.data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect()
    };
    let (b, a) = (keys(before), keys(after));
    for k in b.keys().chain(a.keys()).collect::<BTreeSet<_>>() {
        if b.get(k) != a.get(k) {
            out.push(format!("data[{k}] differs (value not shown)"));
        }
    }
    let (bm, am) = (&before.metadata, &after.metadata);
    if bm.labels != am.labels {
        out.push(format!("labels: {:?} -> {:?}", bm.labels, am.labels));
    }
    if bm.annotations != am.annotations {
        out.push(format!(
            "annotations: {:?} -> {:?}",
            bm.annotations, am.annotations
        ));
    }
    if bm.owner_references != am.owner_references {
        out.push(format!(
            "ownerReferences: {:?} -> {:?}",
            bm.owner_references, am.owner_references
        ));
    }
    if bm.finalizers != am.finalizers {
        out.push(format!(
            "finalizers: {:?} -> {:?}",
            bm.finalizers, am.finalizers
        ));
    }
    if before.type_ != after.type_ || before.immutable != after.immutable {
        out.push(format!(
            "type/immutable: {:?}/{:?} -> {:?}/{:?}",
            before.type_, before.immutable, after.type_, after.immutable
        ));
    }
    let fields = |s: &Secret| -> Vec<String> {
        s.metadata
            .managed_fields
            .iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} {} {}",
                    m.manager.as_deref().unwrap_or("?"),
                    m.operation.as_deref().unwrap_or("?"),
                    m.fields_v1.as_ref().map_or(Value::Null, |f| f.0.clone())
                )
            })
            .collect()
    };
    if fields(before) != fields(after) {
        out.push(format!(
            "managedFields: {:?} -> {:?}",
            fields(before),
            fields(after)
        ));
    }
    out
}

/// Records every version of the namespace's Secrets written (added, modified, deleted) after
/// `from` (a list's resourceVersion).
fn watch_secrets(
    secrets: Api<Secret>,
    from: String,
) -> (Arc<Mutex<Vec<Secret>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        let params = WatchParams::default().timeout(290);
        let mut stream = secrets.watch(&params, &from).await.unwrap().boxed();
        while let Some(event) = stream.next().await {
            match event.unwrap() {
                WatchEvent::Added(s) | WatchEvent::Modified(s) | WatchEvent::Deleted(s) => {
                    sink.lock().unwrap().push(s);
                }
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(e) => panic!("watch of Secrets: {e}"),
            }
        }
    });
    (seen, task)
}

/// Both controllers running on the test's namespace, and the objects of both stores.
struct Beside {
    ns: String,
    eso: Running,
    operator: Running,
    go_class: String,
    rs_class: String,
    rs_metrics: String,
    stores: Api<SecretStore>,
    es_api: Api<ExternalSecret>,
    secrets: Api<Secret>,
    go_names: Vec<String>,
    rs_names: Vec<String>,
}

impl Beside {
    /// Starts ESO (class `go-<ns>`) and eso-operator (class `rs-<ns>`), both scoped to a new
    /// namespace, with the cluster-wide controllers and PushSecrets off; creates one store of
    /// each class and `PER_STORE` ExternalSecrets on each; waits until all are Ready.
    async fn start(env: &common::Env, client: &kube::Client, eso_bin: &str) -> Self {
        let ns = namespace(client, "beside").await;
        let go_class = format!("go-{ns}");
        let rs_class = format!("rs-{ns}");
        let args = |class: &str, metrics: &str| -> Vec<String> {
            let mut a = vec![
                format!("--controller-class={class}"),
                format!("--namespace={ns}"),
                format!("--metrics-addr={metrics}"),
                format!("--live-addr=127.0.0.1:{}", free_port()),
                "--enable-leader-election=false".to_owned(),
                "--concurrent=4".to_owned(),
            ];
            for off in [
                "cluster-store",
                "cluster-external-secret",
                "cluster-push-secret",
                "push-secret",
            ] {
                a.push(format!("--enable-{off}-reconciler=false"));
            }
            a
        };
        let go_metrics = format!("127.0.0.1:{}", free_port());
        let rs_metrics = format!("127.0.0.1:{}", free_port());
        // At debug level ESO logs every sync ("reconciled secret"), not only those that
        // change the Ready condition.
        let mut eso_args = args(&go_class, &go_metrics);
        eso_args.push("--loglevel=debug".to_owned());
        let eso = Running::start_program(
            std::path::Path::new(eso_bin),
            &env.kubeconfig_path,
            &eso_args,
            &[],
        );
        let operator = Running::start(
            &env.kubeconfig_path,
            &args(&rs_class, &rs_metrics),
            &[("POD_NAMESPACE", ns.as_str())],
        );
        let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
        create(&stores, store(&ns, "go-store", &go_class, "s3cret")).await;
        create(&stores, store(&ns, "rs-store", &rs_class, "s3cret")).await;
        let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
        let (go_names, rs_names) = (names("go"), names("rs"));
        for (i, (g, r)) in go_names.iter().zip(&rs_names).enumerate() {
            create(&es_api, external_secret(&ns, g, "go-store", i % 2 == 1)).await;
            create(&es_api, external_secret(&ns, r, "rs-store", i % 2 == 1)).await;
        }
        let b = Self {
            secrets: Api::namespaced(client.clone(), &ns),
            ns,
            eso,
            operator,
            go_class,
            rs_class,
            rs_metrics,
            stores,
            es_api,
            go_names,
            rs_names,
        };
        let all: Vec<String> = b.go_names.iter().chain(&b.rs_names).cloned().collect();
        wait_for("every ExternalSecret Ready", || async {
            b.alive();
            ready(&b.es_api, &all).await == all.len()
        })
        .await;
        b
    }

    fn dump(&self) -> String {
        format!(
            "--- ESO log ---\n{}\n--- eso-operator log ---\n{}",
            self.eso.log(),
            self.operator.log()
        )
    }

    fn alive(&self) {
        assert!(!self.eso.exited(), "ESO exited\n{}", self.dump());
        assert!(
            !self.operator.exited(),
            "eso-operator exited\n{}",
            self.dump()
        );
    }

    /// The managers that wrote the status of the ExternalSecrets `names`.
    async fn status_managers(&self, names: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for n in names {
            out.extend(managers(&self.es_api.get(n).await.unwrap(), "status"));
        }
        out
    }

    /// Each synced only its own store's objects: eso-operator's metrics count only what its
    /// class owns, and ESO logged a sync of its own ExternalSecrets only.
    async fn check_each_syncs_its_own(&self) {
        let rs_synced = synced_names(&self.rs_metrics, &self.ns).await;
        let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        assert_eq!(rs_synced, set(&self.rs_names), "{}", self.dump());
        let go_synced = eso_reconciled(&self.eso.log(), &self.ns);
        let go_keys: BTreeSet<String> = go_synced.keys().cloned().collect();
        assert_eq!(go_keys, set(&self.go_names), "{}", self.dump());
        println!(
            "status written by ESO as {:?}, by eso-operator as {:?}",
            self.status_managers(&self.go_names).await,
            self.status_managers(&self.rs_names).await
        );
        for n in [
            &self.go_names[0],
            &self.go_names[1],
            &self.rs_names[0],
            &self.rs_names[1],
        ] {
            let es = self.es_api.get(n).await.unwrap();
            let s = self.secrets.get(n).await.unwrap();
            println!(
                "{n}: ExternalSecret finalizers {:?}; target managers {:?}, labels {:?}, \
                 annotations {:?}",
                es.metadata.finalizers,
                managers(&s, ""),
                s.metadata.labels,
                s.metadata.annotations
            );
        }
    }

    /// Whether `to` reconciled every ExternalSecret of `names` since `baseline` (ESO's log
    /// counts before the move) and all are Ready.
    async fn taken_over(
        &self,
        to: Side,
        names: &[String],
        baseline: &BTreeMap<String, usize>,
    ) -> bool {
        let done = match to {
            Side::EsoOperator => {
                let synced = synced_names(&self.rs_metrics, &self.ns).await;
                names.iter().all(|n| synced.contains(n))
            }
            Side::Eso => {
                let now = eso_reconciled(&self.eso.log(), &self.ns);
                names.iter().all(|n| {
                    now.get(n).copied().unwrap_or(0) > baseline.get(n).copied().unwrap_or(0)
                })
            }
        };
        done && ready(&self.es_api, names).await == names.len()
    }

    /// Moves store `store` (used by the ExternalSecrets `names`) to `to`'s class while a watch
    /// records the namespace's Secret writes; waits up to 10 s for a take-over on its own,
    /// then changes the ExternalSecrets and waits until `to` reconciled all of them.
    ///
    /// The change is to `spec.refreshInterval` (1h to 59m). ESO's docs' `force-sync`
    /// annotation would do too, but ESO copies an ExternalSecret's annotations into a target
    /// without a template, so the nudge itself would rewrite those targets.
    async fn move_store(&self, store: &str, names: &[String], to: Side) -> HandOver {
        let baseline = eso_reconciled(&self.eso.log(), &self.ns);
        // The targets as of the list the watch starts from: no write falls in between.
        let list = self.secrets.list(&ListParams::default()).await.unwrap();
        let before: BTreeMap<String, Secret> = list
            .items
            .iter()
            .filter_map(|s| Some((s.metadata.name.clone()?, s.clone())))
            .filter(|(n, _)| names.contains(n))
            .collect();
        assert_eq!(before.len(), names.len(), "every target exists");
        let (seen, watch) = watch_secrets(
            self.secrets.clone(),
            list.metadata.resource_version.unwrap(),
        );
        let moved_at = Instant::now();
        let class = match to {
            Side::Eso => &self.go_class,
            Side::EsoOperator => &self.rs_class,
        };
        let patch = json!({"spec": {"controller": class}});
        self.stores
            .patch(store, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        // Neither ESO nor eso-operator watches stores for the ExternalSecrets that use them:
        // a moved store's ExternalSecrets are taken over on their next change.
        let mut nudged_at = None;
        for _ in 0..100 {
            if self.taken_over(to, names, &baseline).await {
                nudged_at = Some(Instant::now());
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let on_its_own = nudged_at.is_some();
        let nudged_at = nudged_at.unwrap_or_else(Instant::now);
        if !on_its_own {
            let patch = json!({"spec": {"refreshInterval": "59m"}});
            for n in names {
                self.es_api
                    .patch(n, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .unwrap();
            }
        }
        wait_for("the moved ExternalSecrets to be taken over", || async {
            self.alive();
            self.taken_over(to, names, &baseline).await
        })
        .await;
        let (took, after_nudge) = (moved_at.elapsed(), nudged_at.elapsed());
        // Late writes of the hand-over would show up within this.
        tokio::time::sleep(Duration::from_secs(3)).await;
        watch.abort();
        let writes: Vec<Secret> = seen.lock().unwrap().clone();
        let mut rewritten = BTreeSet::new();
        for s in &writes {
            let name = s.metadata.name.clone().unwrap_or_default();
            if let Some(old) = before.get(&name) {
                println!("rewritten {name}: {:?}", difference(old, s));
                rewritten.insert(name);
            }
        }
        let out = HandOver {
            rewritten,
            took,
            after_nudge: (!on_its_own).then_some(after_nudge),
        };
        println!(
            "beside ESO: store {store} moved to {to:?}: {} of {} target Secrets rewritten; all \
             {} taken over and Ready {} ms after the move{}",
            out.rewritten.len(),
            names.len(),
            names.len(),
            out.took.as_millis(),
            out.after_nudge.map_or_else(
                || " (on their own)".to_owned(),
                |d| format!(
                    " ({} ms after a spec change; none on their own within 10 s)",
                    d.as_millis()
                )
            )
        );
        out
    }
}

/// Which controller a store moves to.
#[derive(Clone, Copy, Debug)]
enum Side {
    Eso,
    EsoOperator,
}

/// What a store move did.
struct HandOver {
    rewritten: BTreeSet<String>,
    took: Duration,
    after_nudge: Option<Duration>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eso_and_eso_operator_side_by_side_then_stores_move_without_rewrites() {
    let env = require_kube!();
    let Some(eso_bin) = std::env::var("ESO_BIN").ok().filter(|v| !v.is_empty()) else {
        // ESO is not among scripts/test.sh's default backends (its cold build is long: see
        // scripts/backends/README.md); it is required only where ESO_BACKENDS names it.
        let selected = std::env::var("ESO_BACKENDS").unwrap_or_default();
        if selected.split_whitespace().any(|b| b == "eso") {
            eso_core::testing::backend_unavailable(
                "ESO_BIN",
                "eval \"$(scripts/backends/eso.sh start)\"",
            );
        } else {
            println!(
                "skipped: ESO_BIN not set and ESO_BACKENDS has no eso (run scripts/beside-eso.sh)"
            );
        }
        return;
    };
    let client = env.client().await;
    common::install_crds(&client).await;
    let b = Beside::start(&env, &client, &eso_bin).await;
    b.check_each_syncs_its_own().await;

    // Migration: ESO's store moves to eso-operator, which takes its ExternalSecrets over.
    let eso_count = eso_reconciled(&b.eso.log(), &b.ns);
    let forward = b
        .move_store("go-store", &b.go_names, Side::EsoOperator)
        .await;
    // ESO synced none of them after the move.
    assert_eq!(
        eso_reconciled(&b.eso.log(), &b.ns),
        eso_count,
        "{}",
        b.dump()
    );
    println!(
        "moved ExternalSecrets' status now written as {:?}",
        b.status_managers(&b.go_names).await
    );
    // Roll back the other way: eso-operator's store moves to ESO, which takes over targets
    // eso-operator wrote.
    let back = b.move_store("rs-store", &b.rs_names, Side::Eso).await;
    b.alive();
    // ESO goes (as after the migration); its finalizer stays on every ExternalSecret it
    // watched. eso-operator removes it from its own when they are deleted.
    b.eso.kill();
    b.es_api
        .delete(&b.go_names[0], &Default::default())
        .await
        .unwrap();
    wait_for(
        "eso-operator to finalize an ExternalSecret ESO had marked",
        || async { b.es_api.get_opt(&b.go_names[0]).await.unwrap().is_none() },
    )
    .await;
    assert!(
        forward.rewritten.is_empty(),
        "rewritten when eso-operator took over: {:?}",
        forward.rewritten
    );
    assert!(
        back.rewritten.is_empty(),
        "rewritten when ESO took over: {:?}",
        back.rewritten
    );
}
