//! What users see of the operator besides statuses, as ESO shows it, on a real
//! kube-apiserver: Kubernetes Events (what `kubectl get events` lists) for a sync and for an
//! error, on ExternalSecrets and PushSecrets, with ESO's reporters and reasons; the
//! PushSecret finalizer only while `deletionPolicy` is `Delete`.

mod common;

use common::wait_for;

use std::time::Duration;

use eso_core::api::{ExternalSecret, PushSecret, SecretStore};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::PUSH_SECRET_FINALIZER;
use eso_kube::operator::{EXTERNAL_SECRET_REPORTER, Operator, PUSH_SECRET_REPORTER, Shutdown};
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

async fn create<K>(api: &Api<K>, v: Value) -> K
where
    K: kube::Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &serde_json::from_value(v).unwrap())
        .await
        .unwrap()
}

/// The core/v1 Events about `kind/name`, as `kubectl get events --field-selector
/// involvedObject.name=<name>` lists them.
async fn events_about(api: &Api<Event>, kind: &str, name: &str) -> Vec<Event> {
    let lp = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name}"
    ));
    api.list(&lp).await.unwrap().items
}

/// `(type, reason, reporting controller, message)` of the Events about `kind/name`.
async fn events(api: &Api<Event>, kind: &str, name: &str) -> Vec<(String, String, String, String)> {
    events_about(api, kind, name)
        .await
        .into_iter()
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.reporting_component.unwrap_or_default(),
                e.message.unwrap_or_default(),
            )
        })
        .collect()
}

/// The count of every UpdateFailed Event about the ExternalSecret `name` (1 for an Event
/// that is not a series).
async fn update_failed_counts(api: &Api<Event>, name: &str) -> Vec<i32> {
    events_about(api, "ExternalSecret", name)
        .await
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("UpdateFailed"))
        .map(|e| e.series.and_then(|s| s.count).unwrap_or(1))
        .collect()
}

fn has(
    events: &[(String, String, String, String)],
    type_: &str,
    reason: &str,
    reporter: &str,
) -> bool {
    events
        .iter()
        .any(|(t, r, c, _)| t == type_ && r == reason && c == reporter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_push_secret_finalizer_as_eso() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = common::namespace(&client, "ev").await;
    let labels = json!({"eso-events-test": ns});

    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
    create(
        &stores,
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "fake", "namespace": ns, "labels": labels},
            "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}
        }),
    )
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    create(
        &secrets,
        json!({"metadata": {"name": "source", "namespace": ns}, "stringData": {"token": "t"}}),
    )
    .await;

    // Only this test's objects: other tests share the API server.
    let wc = watcher::Config::default().labels(&format!("eso-events-test={ns}"));
    let (stop, shutdown) = Shutdown::new();
    let op = tokio::spawn(
        Operator::new(client.clone(), ProviderRegistry::new())
            .with_watcher_config(wc)
            .run(shutdown),
    );

    create_objects(&client, &ns, &labels).await;
    let ev: Api<Event> = Api::namespaced(client.clone(), &ns);
    sync_and_error_events(&ev).await;
    let ps_api: Api<PushSecret> = Api::namespaced(client.clone(), &ns);
    push_secret_finalizer_and_error(&ps_api, &secrets, &ev).await;

    stop.trigger();
    tokio::time::timeout(Duration::from_secs(30), op)
        .await
        .expect("graceful shutdown")
        .unwrap();
}

/// Two ExternalSecrets (one syncs, one names a missing store) and two PushSecrets (one
/// keeps what it pushed, one deletes it), all labelled with `labels`.
async fn create_objects(client: &kube::Client, ns: &str, labels: &Value) {
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), ns);
    for (name, store) in [("synced", "fake"), ("broken", "no-such-store")] {
        create(
            &es_api,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {"refreshInterval": "1h",
                         "secretStoreRef": {"name": store, "kind": "SecretStore"},
                         "target": {"name": format!("{name}-target")},
                         "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}
            }),
        )
        .await;
    }
    let ps_api: Api<PushSecret> = Api::namespaced(client.clone(), ns);
    for (name, policy) in [("keep", "None"), ("clean", "Delete")] {
        create(
            &ps_api,
            json!({
                "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {"refreshInterval": "1h", "deletionPolicy": policy,
                         "secretStoreRefs": [{"name": "fake", "kind": "SecretStore"}],
                         "selector": {"secret": {"name": "source"}},
                         "data": [{"match": {"secretKey": "token",
                                             "remoteRef": {"remoteKey": format!("pushed-{name}")}}}]}
            }),
        )
        .await;
    }
}

/// `Created` on the synced ExternalSecret, `UpdateFailed` on the broken one and `Synced` on
/// both PushSecrets, with ESO's reporters and messages.
async fn sync_and_error_events(ev: &Api<Event>) {
    wait_for("Created on the synced ExternalSecret", || async {
        has(
            &events(ev, "ExternalSecret", "synced").await,
            "Normal",
            "Created",
            EXTERNAL_SECRET_REPORTER,
        )
    })
    .await;
    let synced = events(ev, "ExternalSecret", "synced").await;
    assert!(
        synced
            .iter()
            .any(|(_, r, _, m)| r == "Created" && m == "secret created"),
        "{synced:?}"
    );
    wait_for("UpdateFailed on the broken ExternalSecret", || async {
        has(
            &events(ev, "ExternalSecret", "broken").await,
            "Warning",
            "UpdateFailed",
            EXTERNAL_SECRET_REPORTER,
        )
    })
    .await;
    let broken = events(ev, "ExternalSecret", "broken").await;
    assert!(
        broken
            .iter()
            .any(|(_, r, _, m)| r == "UpdateFailed" && m.contains("no-such-store")),
        "{broken:?}"
    );
    // The retries' failures are counted on that one Event (an event series), not written
    // as new Events.
    wait_for(
        "a series of UpdateFailed on the broken ExternalSecret",
        || async {
            update_failed_counts(ev, "broken")
                .await
                .iter()
                .any(|c| *c >= 2)
        },
    )
    .await;
    let counts = update_failed_counts(ev, "broken").await;
    assert_eq!(counts.len(), 1, "one Event object per series: {counts:?}");
    wait_for("Synced on both PushSecrets", || async {
        has(
            &events(ev, "PushSecret", "keep").await,
            "Normal",
            "Synced",
            PUSH_SECRET_REPORTER,
        ) && has(
            &events(ev, "PushSecret", "clean").await,
            "Normal",
            "Synced",
            PUSH_SECRET_REPORTER,
        )
    })
    .await;
}

/// The PushSecret finalizer only with deletionPolicy Delete (it goes when the policy
/// changes to None); a source that goes missing is an error event.
async fn push_secret_finalizer_and_error(
    ps_api: &Api<PushSecret>,
    secrets: &Api<Secret>,
    ev: &Api<Event>,
) {
    let finalized = |ps: &PushSecret| ps.finalizers().iter().any(|f| f == PUSH_SECRET_FINALIZER);
    assert!(!finalized(&ps_api.get("keep").await.unwrap()));
    assert!(finalized(&ps_api.get("clean").await.unwrap()));
    // The policy changes to None: the finalizer goes.
    ps_api
        .patch(
            "clean",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"deletionPolicy": "None"}})),
        )
        .await
        .unwrap();
    wait_for("the PushSecret finalizer to go", || async {
        !finalized(&ps_api.get("clean").await.unwrap())
    })
    .await;
    // A PushSecret source that goes missing is an error event.
    secrets.delete("source", &Default::default()).await.unwrap();
    ps_api
        .patch(
            "keep",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"force": "1"}}})),
        )
        .await
        .unwrap();
    wait_for("Errored on the PushSecret", || async {
        has(
            &events(ev, "PushSecret", "keep").await,
            "Warning",
            "Errored",
            PUSH_SECRET_REPORTER,
        )
    })
    .await;
}
