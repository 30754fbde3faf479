//! Runs the operator example against the kube-apiserver of `scripts/backends/kube.sh`:
//! an ExternalSecret is created, its target Secret appears; the source changes, the target
//! follows; the operator shuts down gracefully and releases its Lease.

#[allow(dead_code, unreachable_pub)]
#[path = "../operator.rs"]
mod operator;

use std::time::Duration;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use eso_kube::operator::{LeaderElection, LeaderExit, Shutdown};
use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResourceExt, ResourceExt};
use serde_json::json;

async fn install_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [
        ExternalSecret::crd(),
        PushSecret::crd(),
        SecretStore::crd(),
        ClusterSecretStore::crd(),
        ClusterExternalSecret::crd(),
        ClusterPushSecret::crd(),
    ] {
        let name = crd.metadata.name.clone().unwrap();
        api.patch(
            &name,
            &PatchParams::apply("eso-rs-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    for _ in 0..100 {
        let ok = Api::<ExternalSecret>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
            && Api::<ClusterPushSecret>::all(client.clone())
                .list(&Default::default())
                .await
                .is_ok()
            && Api::<ClusterSecretStore>::all(client.clone())
                .list(&Default::default())
                .await
                .is_ok();
        if ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("CRDs not served");
}

async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_syncs_and_follows_the_source() {
    let (Ok(_), Ok(server), Ok(token), Ok(ca)) = (
        std::env::var("KUBECONFIG"),
        std::env::var("KUBE_API_SERVER"),
        std::env::var("KUBE_ADMIN_TOKEN"),
        std::env::var("KUBE_CA_CERT"),
    ) else {
        return eso_core::testing::backend_unavailable(
            "KUBECONFIG",
            "eval \"$(scripts/backends/kube.sh start)\"",
        );
    };
    let ca = std::fs::read_to_string(ca).unwrap();
    let client = kube::Client::try_default().await.unwrap();
    install_crds(&client).await;
    let (ns, es) = set_up(&client, &server, &token, &ca).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);

    let (stop, shutdown) = Shutdown::new();
    let election = LeaderElection::new(client.clone(), &ns, operator::LEASE_NAME, "test");
    let op = tokio::spawn(operator::run_with_leader_election(
        client.clone(),
        election,
        shutdown,
    ));
    let es_api = Api::<ExternalSecret>::namespaced(client.clone(), &ns);
    es_api.create(&PostParams::default(), &es).await.unwrap();

    let value = |s: Option<Secret>| {
        s.and_then(|s| s.data)
            .and_then(|d| d.get("password").cloned())
            .map(|ByteString(b)| b)
    };
    wait_for("the target Secret", || async {
        value(secrets.get_opt("app-target").await.unwrap()) == Some(b"v1".to_vec())
    })
    .await;
    // The status was written right after the target.
    wait_for("the Ready status", || async {
        let es = es_api.get("app").await.unwrap();
        serde_json::to_value(&es.status).unwrap()["conditions"][0]["status"] == "True"
    })
    .await;
    // No finalizer: deleting this ExternalSecret has nothing to clean up (`deletionPolicy`
    // is `Retain`, no generator).
    let stored = es_api.get("app").await.unwrap();
    assert!(
        !stored
            .finalizers()
            .iter()
            .any(|f| f == eso_core::reconcile::EXTERNAL_SECRET_FINALIZER)
    );
    let ready = serde_json::to_value(&stored.status).unwrap();
    assert_eq!(ready["conditions"][0]["status"], "True", "{ready}");

    // The source changes; the target follows at the next refresh.
    secrets
        .replace("source", &PostParams::default(), &{
            let mut s = secrets.get("source").await.unwrap();
            s.data = Some([("password".to_owned(), ByteString(b"v2".to_vec()))].into());
            s
        })
        .await
        .unwrap();
    wait_for("the target to follow the source", || async {
        value(secrets.get_opt("app-target").await.unwrap()) == Some(b"v2".to_vec())
    })
    .await;

    // A deleted ExternalSecret goes away.
    es_api.delete("app", &Default::default()).await.unwrap();
    wait_for("the ExternalSecret to be gone", || async {
        es_api.get_opt("app").await.unwrap().is_none()
    })
    .await;

    stop.trigger();
    let exit = tokio::time::timeout(Duration::from_secs(30), op)
        .await
        .expect("graceful shutdown")
        .unwrap()
        .unwrap();
    assert_eq!(exit, LeaderExit::Shutdown);
    // The Lease was released on the way out.
    let lease = Api::<Lease>::namespaced(client.clone(), &ns)
        .get(operator::LEASE_NAME)
        .await
        .unwrap();
    let holder = lease.spec.and_then(|s| s.holder_identity);
    assert!(holder.as_deref().is_none_or(str::is_empty), "{holder:?}");
}

/// A fresh namespace with the store's token Secret, the source Secret, a `kubernetes` store
/// reading the same cluster, and the ExternalSecret (not created yet) that reads the source.
async fn set_up(
    client: &kube::Client,
    server: &str,
    token: &str,
    ca: &str,
) -> (String, ExternalSecret) {
    let ns = format!(
        "op-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let mk = |name: &str, data: serde_json::Value| -> Secret {
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap()
    };
    secrets
        .create(
            &PostParams::default(),
            &mk("token", json!({"token": token})),
        )
        .await
        .unwrap();
    secrets
        .create(
            &PostParams::default(),
            &mk("source", json!({"password": "v1"})),
        )
        .await
        .unwrap();
    let store: SecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "same-cluster", "namespace": ns},
        "spec": {"provider": {"kubernetes": {
            "remoteNamespace": ns,
            "server": {"url": server, "caBundle": ca},
            "auth": {"token": {"bearerToken": {"name": "token", "key": "token"}}}}}}
    }))
    .unwrap();
    Api::<SecretStore>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &store)
        .await
        .unwrap();
    let es: ExternalSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": ns},
        "spec": {"refreshInterval": "1s",
                 "secretStoreRef": {"name": "same-cluster", "kind": "SecretStore"},
                 "target": {"name": "app-target"},
                 "data": [{"secretKey": "password", "remoteRef": {"key": "source", "property": "password"}}]}
    }))
    .unwrap();
    (ns, es)
}
