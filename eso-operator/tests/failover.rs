//! High availability on a real kube-apiserver: two eso-operator replicas with leader
//! election; the leader is killed with SIGKILL in the middle of a burst of 1,000 new
//! ExternalSecrets, and in the middle of PushSecrets writing to two stores.
//!
//! What must hold: the standby takes over within the lease duration plus a retry period
//! (and a margin for a loaded machine); every object ends Ready with the right data; every
//! target Secret is written exactly once (the new leader rewrites nothing the old one wrote,
//! so no Secret is written by both); ExternalSecrets with a finalizer are still deleted
//! cleanly; and every remote Secret of both push stores holds its own value and the
//! ownership label, none half-written or foreign.
//!
//! The figures (failover time, time to all Ready, objects re-reconciled) are printed; run
//! with `--nocapture` to see them. They are reported in the README, not asserted.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Running, free_port, namespace, wait_for};
use eso_core::api::{ExternalSecret, PushSecret, SecretStore};
use futures_util::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Value, json};

const OBJECTS: usize = 1000;
const PUSHES: usize = 100;
const LEASE: Duration = Duration::from_secs(4);
const RETRY: Duration = Duration::from_secs(1);

/// When each write (a new resourceVersion) of each Secret of a namespace was seen.
#[derive(Clone, Default)]
struct Writes(Arc<Mutex<HashMap<String, Vec<Instant>>>>);

impl Writes {
    /// Records the Secrets of `ns` until the returned task is aborted.
    fn watch(client: &kube::Client, ns: &str) -> (Self, tokio::task::JoinHandle<()>) {
        let writes = Self::default();
        let api: Api<Secret> = Api::namespaced(client.clone(), ns);
        let w = writes.clone();
        let task = tokio::spawn(async move {
            let stream = watcher::watcher(api, watcher::Config::default().any_semantic());
            futures_util::pin_mut!(stream);
            let mut seen: HashMap<String, String> = HashMap::new();
            while let Ok(Some(ev)) = stream.try_next().await {
                if let watcher::Event::Apply(s) | watcher::Event::InitApply(s) = ev {
                    let name = s.metadata.name.clone().unwrap_or_default();
                    let rv = s.metadata.resource_version.clone().unwrap_or_default();
                    if seen.get(&name) != Some(&rv) {
                        seen.insert(name.clone(), rv);
                        w.0.lock()
                            .unwrap()
                            .entry(name)
                            .or_default()
                            .push(Instant::now());
                    }
                }
            }
        });
        (writes, task)
    }

    fn count_targets(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.ends_with("-target"))
            .count()
    }

    /// The first write seen after `t`.
    fn first_after(&self, t: Instant) -> Option<Instant> {
        self.0
            .lock()
            .unwrap()
            .values()
            .flatten()
            .copied()
            .filter(|at| *at > t)
            .min()
    }

    /// Secrets written more than once.
    fn rewritten(&self, suffix: &str) -> Vec<(String, usize)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, v)| k.ends_with(suffix) && v.len() > 1)
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }
}

/// A replica and the address of its `/metrics`.
fn replica(env: &common::Env, ns: &str, class: &str, pod: &str) -> (Running, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let args: Vec<String> = [
        "--enable-leader-election".to_owned(),
        format!("--leader-election-id=eso-ha-{ns}"),
        format!("--leader-election-lease-duration={}s", LEASE.as_secs()),
        "--leader-election-renew-deadline=3s".to_owned(),
        format!("--leader-election-retry-period={}s", RETRY.as_secs()),
        format!("--namespace={ns}"),
        format!("--controller-class={class}"),
        "--concurrent=8".to_owned(),
        format!("--metrics-addr={addr}"),
        format!("--live-addr={addr}"),
        "--log-format=text".to_owned(),
    ]
    .into();
    let running = Running::start(
        &env.kubeconfig_path,
        &args,
        &[("POD_NAMESPACE", ns), ("POD_NAME", pod)],
    );
    (running, addr)
}

async fn holder(client: &kube::Client, ns: &str) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    leases
        .get_opt(&format!("eso-ha-{ns}"))
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

fn ready(conditions: Option<&Vec<eso_core::api::Condition>>) -> bool {
    conditions
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

async fn create<K>(api: &Api<K>, v: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

/// Starts replica `a`, waits until it leads, then starts `b` (with its metrics address).
async fn pair(
    env: &common::Env,
    client: &kube::Client,
    ns: &str,
    class: &str,
) -> (Running, (Running, String)) {
    let (a, _) = replica(env, ns, class, "a");
    wait_for("replica a to lead", || async {
        holder(client, ns).await.as_deref() == Some("a")
    })
    .await;
    let b = replica(env, ns, class, "b");
    (a, b)
}

/// Kills `a` when `trigger` says so; returns when it was killed and when `b` held the Lease.
async fn kill_then_takeover(
    client: &kube::Client,
    ns: &str,
    a: &Running,
    trigger: impl Fn() -> bool,
) -> (Instant, Instant) {
    wait_for("the moment to kill the leader", || async { trigger() }).await;
    a.kill();
    let killed = Instant::now();
    wait_for("replica b to lead", || async {
        holder(client, ns).await.as_deref() == Some("b")
    })
    .await;
    (killed, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_a_burst_without_rewriting_anything() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = namespace(&client, "ha").await;
    let class = format!("class-{ns}");
    let (writes, watch) = Writes::watch(&client, &ns);
    let (a, b) = pair(&env, &client, &ns, &class).await;
    create(
        &Api::<SecretStore>::namespaced(client.clone(), &ns),
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
               "metadata": {"name": "fake", "namespace": ns},
               "spec": {"controller": class, "provider": {"fake": {"data": [
                   {"key": "db", "value": "s3cret"}]}}}}),
    )
    .await;
    let es: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let burst = {
        let es = es.clone();
        let ns = ns.clone();
        tokio::spawn(async move {
            futures_util::stream::iter(0..OBJECTS)
                .for_each_concurrent(16, |i| {
                    let es = es.clone();
                    let ns = ns.clone();
                    async move {
                        create(&es, json!({
                            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                            "metadata": {"name": format!("es-{i}"), "namespace": ns},
                            "spec": {"refreshInterval": "1h",
                                     "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                                     "target": {"name": format!("es-{i}-target"),
                                                "deletionPolicy": "Delete"},
                                     "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}
                        }))
                        .await;
                    }
                })
                .await;
        })
    };
    let (killed, led) = kill_then_takeover(&client, &ns, &a, || {
        writes.count_targets() >= OBJECTS * 3 / 10
    })
    .await;
    let written_before = writes.count_targets();
    burst.await.unwrap();
    wait_for("every ExternalSecret Ready", || async {
        let list = es.list(&Default::default()).await.unwrap().items;
        list.len() == OBJECTS
            && list
                .iter()
                .all(|e| ready(e.status.as_ref().and_then(|s| s.conditions.as_ref())))
    })
    .await;
    let all_ready = Instant::now();
    // The new leader writes nothing before it holds the Lease.
    let first_write = writes.first_after(led).expect("a write by the new leader");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let targets = secrets.list(&Default::default()).await.unwrap().items;
    let targets: Vec<_> = targets
        .iter()
        .filter(|s| {
            s.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with("-target"))
        })
        .collect();
    assert_eq!(targets.len(), OBJECTS);
    for s in &targets {
        let data = s.data.as_ref().unwrap();
        assert_eq!(data["password"].0, b"s3cret", "{:?}", s.metadata.name);
    }
    let rewritten = writes.rewritten("-target");
    assert!(
        rewritten.is_empty(),
        "targets written more than once: {rewritten:?}"
    );
    let metrics = syncs(&b.1).await;
    println!(
        "failover: killed with {written_before} of {OBJECTS} targets written; lease taken after {:.2} s, first write by the new leader after {:.2} s, all Ready {:.2} s after the kill; targets rewritten: 0; reconciles by the new leader: {metrics}",
        (led - killed).as_secs_f64(),
        (first_write - killed).as_secs_f64(),
        (all_ready - killed).as_secs_f64(),
    );
    assert!(
        led - killed <= LEASE + RETRY + Duration::from_secs(10),
        "took over after {:?}",
        led - killed
    );

    // Finalizers the dead leader added are honoured by the new one: deleted objects go,
    // and with them their targets (deletionPolicy Delete).
    for i in 0..50 {
        es.delete(&format!("es-{i}"), &DeleteParams::default())
            .await
            .unwrap();
    }
    wait_for("the deleted ExternalSecrets to go", || async {
        es.list(&Default::default()).await.unwrap().items.len() == OBJECTS - 50
    })
    .await;
    // Leave nothing behind for the other tests of the shared server (the finalizers need
    // the operator, so it goes last).
    es.delete_collection(&DeleteParams::default(), &Default::default())
        .await
        .unwrap();
    wait_for("every ExternalSecret to go", || async {
        es.list(&Default::default()).await.unwrap().items.is_empty()
    })
    .await;
    watch.abort();
    drop(b);
}

/// `externalsecret_sync_calls_total` summed from a replica's `/metrics`.
async fn syncs(addr: &str) -> String {
    let Ok(answer) = reqwest::get(format!("http://{addr}/metrics")).await else {
        return "unknown".into();
    };
    let text = answer.text().await.unwrap_or_default();
    let total: f64 = text
        .lines()
        .filter(|l| l.starts_with("externalsecret_sync_calls_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    format!("{total} syncs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_two_stores_cut_by_the_kill_is_finished_by_the_new_leader() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = namespace(&client, "hapush").await;
    let remote = [
        namespace(&client, "hapush-a").await,
        namespace(&client, "hapush-b").await,
    ];
    let class = format!("class-{ns}");
    let admin_token = std::env::var("KUBE_ADMIN_TOKEN").expect("KUBE_ADMIN_TOKEN");
    let ca = std::fs::read_to_string(&env.ca_path).unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    create(
        &secrets,
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "remote-token", "namespace": ns},
               "stringData": {"token": admin_token}}),
    )
    .await;
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
    for (i, r) in remote.iter().enumerate() {
        create(
            &stores,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": format!("store-{i}"), "namespace": ns},
                "spec": {"controller": class, "provider": {"kubernetes": {
                    "server": {"url": env.server, "caBundle": ca},
                    "auth": {"token": {"bearerToken": {"name": "remote-token", "key": "token"}}},
                    "remoteNamespace": r}}}
            }),
        )
        .await;
    }
    for i in 0..PUSHES {
        create(
            &secrets,
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": format!("src-{i}"), "namespace": ns},
                   "stringData": {"password": format!("value-{i}")}}),
        )
        .await;
    }
    let (remote_writes, watch) = Writes::watch(&client, &remote[1]);
    let (a, b) = pair(&env, &client, &ns, &class).await;
    let ps: Api<PushSecret> = Api::namespaced(client.clone(), &ns);
    for i in 0..PUSHES {
        create(
            &ps,
            json!({
                "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
                "metadata": {"name": format!("push-{i}"), "namespace": ns},
                "spec": {"refreshInterval": "1h",
                         "secretStoreRefs": [{"name": "store-0", "kind": "SecretStore"},
                                             {"name": "store-1", "kind": "SecretStore"}],
                         "selector": {"secret": {"name": format!("src-{i}")}},
                         "data": [{"match": {"secretKey": "password",
                                             "remoteRef": {"remoteKey": format!("pushed-{i}"),
                                                       "property": "password"}}}]}
            }),
        )
        .await;
    }
    let (killed, led) = kill_then_takeover(&client, &ns, &a, || {
        remote_writes.0.lock().unwrap().len() >= PUSHES / 4
    })
    .await;
    wait_for("every PushSecret Ready", || async {
        let list = ps.list(&Default::default()).await.unwrap().items;
        list.len() == PUSHES
            && list
                .iter()
                .all(|p| ready(p.status.as_ref().and_then(|s| s.conditions.as_ref())))
    })
    .await;
    let all_ready = Instant::now();
    for r in &remote {
        let api: Api<Secret> = Api::namespaced(client.clone(), r);
        let list = api.list(&Default::default()).await.unwrap().items;
        let pushed: HashMap<String, &Secret> = list
            .iter()
            .filter_map(|s| Some((s.metadata.name.clone()?, s)))
            .filter(|(n, _)| n.starts_with("pushed-"))
            .collect();
        assert_eq!(pushed.len(), PUSHES, "remote secrets in {r}");
        for i in 0..PUSHES {
            let s = pushed[&format!("pushed-{i}")];
            assert_eq!(
                s.data.as_ref().unwrap()["password"].0,
                format!("value-{i}").into_bytes(),
                "{r}/pushed-{i}"
            );
            let labels = s.metadata.labels.as_ref().unwrap();
            assert_eq!(
                labels
                    .get("external-secrets.io/managed-by")
                    .map(String::as_str),
                Some("external-secrets"),
                "{r}/pushed-{i} is ours"
            );
        }
    }
    println!(
        "push failover: lease taken after {:.2} s, all {PUSHES} PushSecrets Ready on both stores {:.2} s after the kill",
        (led - killed).as_secs_f64(),
        (all_ready - killed).as_secs_f64()
    );
    ps.delete_collection(&DeleteParams::default(), &Default::default())
        .await
        .unwrap();
    watch.abort();
    drop(b);
}
