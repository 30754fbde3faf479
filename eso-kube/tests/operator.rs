//! `Operator` on a real kube-apiserver with the `fake` provider: every controller writes its
//! status, an ExternalSecret syncs and releases its finalizer on delete, a
//! ClusterExternalSecret stamps an ExternalSecret into a selected namespace and removes it
//! on delete, a PushSecret pushes, a failing ExternalSecret reports it, and the operator
//! shuts down gracefully.

mod common;

use common::wait_for;

use std::time::Duration;

use eso_core::api::{
    ClusterExternalSecret, ClusterSecretStore, ExternalSecret, PushSecret, SecretStore,
};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::EXTERNAL_SECRET_FINALIZER;
use eso_kube::operator::{Operator, Shutdown};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

async fn create<K>(api: &Api<K>, v: Value) -> K
where
    K: Resource + Clone + DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &serde_json::from_value(v).unwrap())
        .await
        .unwrap()
}

/// The `Ready` condition's status of an object's `.status`, if any.
fn ready(status: &Value) -> Option<String> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .and_then(|c| c["status"].as_str().map(str::to_owned))
}

fn value(s: Option<Secret>, key: &str) -> Option<Vec<u8>> {
    s.and_then(|s| s.data)
        .and_then(|d| d.get(key).cloned())
        .map(|ByteString(b)| b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_runs_every_kind() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = common::namespace(&client, "op").await;
    let team = ns.clone();
    Api::<Namespace>::all(client.clone())
        .patch(
            &ns,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"eso-test": team}}})),
        )
        .await
        .unwrap();

    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
    create(
        &stores,
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "fake", "namespace": ns},
            "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}
        }),
    )
    .await;
    let cluster_store_name = format!("fake-{ns}");
    let cluster_stores: Api<ClusterSecretStore> = Api::all(client.clone());
    create(
        &cluster_stores,
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
            "metadata": {"name": cluster_store_name},
            "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}
        }),
    )
    .await;

    let (stop, shutdown) = Shutdown::new();
    let op = tokio::spawn(Operator::new(client.clone(), ProviderRegistry::new()).run(shutdown));

    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    create(
        &es_api,
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "app", "namespace": ns},
            "spec": {"refreshInterval": "1h",
                     "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                     "target": {"name": "app-target", "deletionPolicy": "Delete"},
                     "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}
        }),
    )
    .await;
    let ces_name = format!("ces-{ns}");
    let ces_api: Api<ClusterExternalSecret> = Api::all(client.clone());
    create(&ces_api, json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
        "metadata": {"name": ces_name},
        "spec": {"namespaceSelectors": [{"matchLabels": {"eso-test": ns}}],
                 "externalSecretName": "stamped",
                 "externalSecretSpec": {
                     "secretStoreRef": {"name": cluster_store_name, "kind": "ClusterSecretStore"},
                     "target": {"name": "stamped-target"},
                     "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}}
    }))
    .await;

    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_for("the target Secret", || async {
        value(secrets.get_opt("app-target").await.unwrap(), "password") == Some(b"v1".to_vec())
    })
    .await;
    wait_for("the stamped ExternalSecret's target", || async {
        value(secrets.get_opt("stamped-target").await.unwrap(), "password") == Some(b"v1".to_vec())
    })
    .await;

    let ps_api: Api<PushSecret> = Api::namespaced(client.clone(), &ns);
    create(&ps_api, json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": "push", "namespace": ns},
        "spec": {"refreshInterval": "1h",
                 "secretStoreRefs": [{"name": "fake", "kind": "SecretStore"}],
                 "selector": {"secret": {"name": "app-target"}},
                 "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "pushed"}}}]}
    }))
    .await;

    // A failing ExternalSecret gets a status saying so (and is retried with back-off).
    create(
        &es_api,
        json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "broken", "namespace": ns},
            "spec": {"secretStoreRef": {"name": "no-such-store", "kind": "SecretStore"},
                     "target": {"name": "broken-target"},
                     "data": [{"secretKey": "k", "remoteRef": {"key": "db"}}]}
        }),
    )
    .await;
    wait_for("the failing ExternalSecret's status", || async {
        let es = es_api.get("broken").await.unwrap();
        ready(&serde_json::to_value(&es.status).unwrap()).as_deref() == Some("False")
    })
    .await;
    assert!(secrets.get_opt("broken-target").await.unwrap().is_none());

    // Every kind got a Ready status.
    wait_for("Ready statuses", || async {
        let s = stores.get("fake").await.unwrap();
        let cs = cluster_stores.get(&cluster_store_name).await.unwrap();
        let es = es_api.get("app").await.unwrap();
        let ces = ces_api.get(&ces_name).await.unwrap();
        let ps = ps_api.get("push").await.unwrap();
        let j = |v: &dyn erased::Status| ready(&v.status_json());
        [j(&s), j(&cs), j(&es), j(&ces), j(&ps)]
            .iter()
            .all(|r| r.as_deref() == Some("True"))
    })
    .await;
    // ESO's finalizer only where deletion has work to do: `app` deletes its target.
    let finalized = |es: &ExternalSecret| {
        es.finalizers()
            .iter()
            .any(|f| f == EXTERNAL_SECRET_FINALIZER)
    };
    assert!(finalized(&es_api.get("app").await.unwrap()));
    assert!(!finalized(&es_api.get("stamped").await.unwrap()));

    // Deleting the ClusterExternalSecret removes what it stamped out; deleting the
    // ExternalSecret releases its finalizer.
    ces_api
        .delete(&ces_name, &Default::default())
        .await
        .unwrap();
    wait_for("the stamped ExternalSecret to go", || async {
        es_api.get_opt("stamped").await.unwrap().is_none()
            && ces_api.get_opt(&ces_name).await.unwrap().is_none()
    })
    .await;
    es_api.delete("app", &Default::default()).await.unwrap();
    wait_for("the ExternalSecret to go", || async {
        es_api.get_opt("app").await.unwrap().is_none()
    })
    .await;
    // Its cleanup deleted the target it controlled (this API server runs no garbage
    // collector, so nothing else would have).
    assert!(secrets.get_opt("app-target").await.unwrap().is_none());

    stop.trigger();
    tokio::time::timeout(Duration::from_secs(30), op)
        .await
        .expect("graceful shutdown")
        .unwrap();
    cluster_stores
        .delete(&cluster_store_name, &Default::default())
        .await
        .unwrap();
}

/// Each kind's `.status` as JSON.
mod erased {
    use serde_json::Value;

    pub(crate) trait Status {
        fn status_json(&self) -> Value;
    }

    macro_rules! status {
        ($($k:ty),*) => {$(
            impl Status for $k {
                fn status_json(&self) -> Value {
                    serde_json::to_value(&self.status).unwrap_or_default()
                }
            }
        )*};
    }

    status!(
        eso_core::api::SecretStore,
        eso_core::api::ClusterSecretStore,
        eso_core::api::ExternalSecret,
        eso_core::api::ClusterExternalSecret,
        eso_core::api::PushSecret
    );
}
