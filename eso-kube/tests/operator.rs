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
    let apis = Apis::new(&client, &ns);
    apis.create_stores().await;

    let (stop, shutdown) = Shutdown::new();
    let op = tokio::spawn(Operator::new(client.clone(), ProviderRegistry::new()).run(shutdown));

    apis.sync_an_external_secret_and_a_stamped_one().await;
    apis.push_and_fail().await;
    apis.every_kind_is_ready().await;
    apis.deletions_clean_up().await;

    stop.trigger();
    tokio::time::timeout(Duration::from_secs(30), op)
        .await
        .expect("graceful shutdown")
        .unwrap();
    apis.cluster_stores
        .delete(&apis.cluster_store_name, &Default::default())
        .await
        .unwrap();
}

/// The objects of [`operator_runs_every_kind`], in the test namespace `ns`.
struct Apis {
    ns: String,
    stores: Api<SecretStore>,
    cluster_stores: Api<ClusterSecretStore>,
    cluster_store_name: String,
    es_api: Api<ExternalSecret>,
    ces_api: Api<ClusterExternalSecret>,
    ces_name: String,
    ps_api: Api<PushSecret>,
    secrets: Api<Secret>,
}

impl Apis {
    fn new(client: &kube::Client, ns: &str) -> Self {
        Self {
            ns: ns.to_owned(),
            stores: Api::namespaced(client.clone(), ns),
            cluster_stores: Api::all(client.clone()),
            cluster_store_name: format!("fake-{ns}"),
            es_api: Api::namespaced(client.clone(), ns),
            ces_api: Api::all(client.clone()),
            ces_name: format!("ces-{ns}"),
            ps_api: Api::namespaced(client.clone(), ns),
            secrets: Api::namespaced(client.clone(), ns),
        }
    }

    async fn create_stores(&self) {
        let ns = &self.ns;
        create(
            &self.stores,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                "metadata": {"name": "fake", "namespace": ns},
                "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}
            }),
        )
        .await;
        create(
            &self.cluster_stores,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                "metadata": {"name": self.cluster_store_name},
                "spec": {"provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}
            }),
        )
        .await;
    }

    /// An ExternalSecret syncs its target; a ClusterExternalSecret stamps one into the
    /// namespace, which syncs too.
    async fn sync_an_external_secret_and_a_stamped_one(&self) {
        let ns = &self.ns;
        create(
            &self.es_api,
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
        create(&self.ces_api, json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": self.ces_name},
            "spec": {"namespaceSelectors": [{"matchLabels": {"eso-test": ns}}],
                     "externalSecretName": "stamped",
                     "externalSecretSpec": {
                         "secretStoreRef": {"name": self.cluster_store_name, "kind": "ClusterSecretStore"},
                         "target": {"name": "stamped-target"},
                         "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}}
        }))
        .await;
        let secrets = &self.secrets;
        wait_for("the target Secret", || async {
            value(secrets.get_opt("app-target").await.unwrap(), "password") == Some(b"v1".to_vec())
        })
        .await;
        wait_for("the stamped ExternalSecret's target", || async {
            value(secrets.get_opt("stamped-target").await.unwrap(), "password")
                == Some(b"v1".to_vec())
        })
        .await;
    }

    /// A PushSecret pushes the target; a failing ExternalSecret gets a status saying so
    /// (and is retried with back-off).
    async fn push_and_fail(&self) {
        let ns = &self.ns;
        create(&self.ps_api, json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": "push", "namespace": ns},
            "spec": {"refreshInterval": "1h",
                     "secretStoreRefs": [{"name": "fake", "kind": "SecretStore"}],
                     "selector": {"secret": {"name": "app-target"}},
                     "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "pushed"}}}]}
        }))
        .await;
        create(
            &self.es_api,
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "broken", "namespace": ns},
                "spec": {"secretStoreRef": {"name": "no-such-store", "kind": "SecretStore"},
                         "target": {"name": "broken-target"},
                         "data": [{"secretKey": "k", "remoteRef": {"key": "db"}}]}
            }),
        )
        .await;
        let es_api = &self.es_api;
        wait_for("the failing ExternalSecret's status", || async {
            let es = es_api.get("broken").await.unwrap();
            ready(&serde_json::to_value(&es.status).unwrap()).as_deref() == Some("False")
        })
        .await;
        assert!(
            self.secrets
                .get_opt("broken-target")
                .await
                .unwrap()
                .is_none()
        );
    }

    /// Every kind got a Ready status; ESO's finalizer only where deletion has work to do
    /// (`app` deletes its target).
    async fn every_kind_is_ready(&self) {
        wait_for("Ready statuses", || async {
            let s = self.stores.get("fake").await.unwrap();
            let cs = self
                .cluster_stores
                .get(&self.cluster_store_name)
                .await
                .unwrap();
            let es = self.es_api.get("app").await.unwrap();
            let ces = self.ces_api.get(&self.ces_name).await.unwrap();
            let ps = self.ps_api.get("push").await.unwrap();
            let j = |v: &dyn erased::Status| ready(&v.status_json());
            [j(&s), j(&cs), j(&es), j(&ces), j(&ps)]
                .iter()
                .all(|r| r.as_deref() == Some("True"))
        })
        .await;
        let finalized = |es: &ExternalSecret| {
            es.finalizers()
                .iter()
                .any(|f| f == EXTERNAL_SECRET_FINALIZER)
        };
        assert!(finalized(&self.es_api.get("app").await.unwrap()));
        assert!(!finalized(&self.es_api.get("stamped").await.unwrap()));
    }

    /// Deleting the ClusterExternalSecret removes what it stamped out; deleting the
    /// ExternalSecret releases its finalizer, and its cleanup deletes the target it
    /// controlled (this API server runs no garbage collector, so nothing else would have).
    async fn deletions_clean_up(&self) {
        let (es_api, ces_api, ces_name) = (&self.es_api, &self.ces_api, &self.ces_name);
        ces_api.delete(ces_name, &Default::default()).await.unwrap();
        wait_for("the stamped ExternalSecret to go", || async {
            es_api.get_opt("stamped").await.unwrap().is_none()
                && ces_api.get_opt(ces_name).await.unwrap().is_none()
        })
        .await;
        es_api.delete("app", &Default::default()).await.unwrap();
        wait_for("the ExternalSecret to go", || async {
            es_api.get_opt("app").await.unwrap().is_none()
        })
        .await;
        assert!(self.secrets.get_opt("app-target").await.unwrap().is_none());
    }
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
