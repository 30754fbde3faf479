//! Leader election on a real kube-apiserver: one holder at a time, take-over after a
//! release, and a lost Lease stops the work.

mod common;

use std::time::Duration;

use eso_kube::operator::{LeaderElection, LeaderExit, Shutdown};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tokio::sync::oneshot;

fn unique(base: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{base}-{n}")
}

async fn holder(client: &kube::Client, name: &str) -> Option<String> {
    Api::<Lease>::namespaced(client.clone(), "default")
        .get_opt(name)
        .await
        .unwrap()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty())
}

/// Spawns candidate `id`: its work signals `started`, then waits for its stop signal.
fn candidate(
    client: &kube::Client,
    lease: &str,
    id: &str,
) -> (
    eso_kube::operator::ShutdownTrigger,
    oneshot::Receiver<()>,
    tokio::task::JoinHandle<Result<LeaderExit, eso_kube::operator::LeaderError>>,
) {
    let (trigger, shutdown) = Shutdown::new();
    let (started_tx, started) = oneshot::channel();
    let election = LeaderElection::new(client.clone(), "default", lease, id)
        .with_timing(Duration::from_secs(4), Duration::from_secs(1));
    let task = tokio::spawn(election.run(shutdown, |stop| async move {
        let _ = started_tx.send(());
        stop.wait().await;
    }));
    (trigger, started, task)
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_holder_at_a_time_and_take_over_after_release() {
    let env = require_kube!();
    let client = env.client().await;
    let lease = unique("lease");

    let (stop_a, started_a, a) = candidate(&client, &lease, "a");
    within("a to lead", started_a).await.unwrap();
    assert_eq!(holder(&client, &lease).await.as_deref(), Some("a"));

    let (stop_b, mut started_b, b) = candidate(&client, &lease, "b");
    // b waits while a renews (several lease durations).
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        started_b.try_recv().is_err(),
        "b must not lead while a does"
    );
    assert_eq!(holder(&client, &lease).await.as_deref(), Some("a"));

    // a shuts down and releases; b takes over.
    stop_a.trigger();
    let exit = within("a to stop", a).await.unwrap().unwrap();
    assert_eq!(exit, LeaderExit::Shutdown);
    within("b to lead", started_b).await.unwrap();
    assert_eq!(holder(&client, &lease).await.as_deref(), Some("b"));
    stop_b.trigger();
    assert_eq!(
        within("b to stop", b).await.unwrap().unwrap(),
        LeaderExit::Shutdown
    );
    assert_eq!(holder(&client, &lease).await, None, "released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_stops_the_work() {
    let env = require_kube!();
    let client = env.client().await;
    let lease = unique("lost");
    let (_stop, started, task) = candidate(&client, &lease, "a");
    within("a to lead", started).await.unwrap();

    // Someone else takes the Lease over by hand.
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    Api::<Lease>::namespaced(client.clone(), "default")
        .patch(
            &lease,
            &PatchParams {
                field_manager: Some("intruder".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"spec": {
                "holderIdentity": "intruder", "renewTime": now, "acquireTime": now,
                "leaseDurationSeconds": 60}})),
        )
        .await
        .unwrap();
    let exit = within("a to notice", task).await.unwrap().unwrap();
    assert_eq!(exit, LeaderExit::LeadershipLost);
    assert_eq!(holder(&client, &lease).await.as_deref(), Some("intruder"));
}

#[tokio::test]
async fn shutdown_before_leadership_and_bad_timing() {
    let env = require_kube!();
    let client = env.client().await;
    let lease = unique("never");
    let (_stop_a, started_a, _a) = candidate(&client, &lease, "a");
    within("a to lead", started_a).await.unwrap();
    // b never leads; its shutdown ends the wait.
    let (trigger, shutdown) = Shutdown::new();
    trigger.trigger();
    let exit = LeaderElection::new(client.clone(), "default", &lease, "b")
        .run(shutdown, |_| async { panic!("b must not run") })
        .await
        .unwrap();
    assert_eq!(exit, LeaderExit::Shutdown);

    let err = LeaderElection::new(client, "default", &lease, "c")
        .with_timing(Duration::from_secs(5), Duration::from_secs(5))
        .run(Shutdown::new().1, |_| async {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("longer than grace"), "{err}");
}
