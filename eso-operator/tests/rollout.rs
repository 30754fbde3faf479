//! eso-rs's `eso-rs.io/rollout-restart` annotation on a real kube-apiserver, with the
//! operator running as the chart's ServiceAccount (`rolloutRestart.enabled`): a Deployment's
//! and a StatefulSet's pod template annotation `kubectl.kubernetes.io/restartedAt` changes
//! exactly when the target Secret's data changes, never on the creation of the Secret or on
//! a refresh that changed nothing.

mod chart;
mod common;

use std::time::Duration;

use common::{Running, free_port, namespace, wait_for};
use eso_core::api::{ExternalSecret, SecretStore};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn create<K>(api: &Api<K>, v: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

fn workload(kind: &str, ns: &str, name: &str) -> Value {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "c", "image": "registry.invalid/app:1"}]}}
    });
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(name);
    }
    json!({"apiVersion": "apps/v1", "kind": kind,
           "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// The pod template's `restartedAt` annotations of the Deployment and the StatefulSet.
async fn restarted_at(client: &kube::Client, ns: &str) -> (Option<String>, Option<String>) {
    let key = eso_kube::RESTARTED_AT_ANNOTATION;
    let d = Api::<Deployment>::namespaced(client.clone(), ns)
        .get("api")
        .await
        .unwrap();
    let s = Api::<StatefulSet>::namespaced(client.clone(), ns)
        .get("db")
        .await
        .unwrap();
    let of =
        |t: Option<std::collections::BTreeMap<String, String>>| t.and_then(|a| a.get(key).cloned());
    (
        of(d.spec.unwrap().template.metadata.unwrap().annotations),
        of(s.spec.unwrap().template.metadata.unwrap().annotations),
    )
}

async fn target_value(secrets: &Api<Secret>) -> Option<Vec<u8>> {
    secrets
        .get_opt("app-target")
        .await
        .unwrap()?
        .data?
        .get("password")
        .map(|b| b.0.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workloads_restart_exactly_when_the_data_changes() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = namespace(&client, "rollout").await;
    let class = format!("class-{ns}");
    let Some(rendered) = chart::render(
        &ns,
        &[
            "installCRDs=false",
            &format!("controllerClass={class}"),
            "webhook.create=false",
            "rolloutRestart.enabled=true",
            &format!("scopedNamespace={ns}"),
        ],
    ) else {
        eso_core::testing::backend_unavailable(
            "HELM",
            "eval \"$(scripts/backends/helm.sh start)\"",
        );
        return;
    };
    for kind in ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"] {
        for doc in rendered.of(kind) {
            chart::apply(&client, doc).await;
        }
    }
    let sa = rendered.one("ServiceAccount", |_| true)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = std::env::temp_dir().join(format!("eso-rollout-{ns}"));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = env.token_kubeconfig(&dir, &chart::token(&client, &ns, &sa).await);
    let addr = format!("127.0.0.1:{}", free_port());
    let args = chart::with_args(
        &rendered.args(|_| true),
        &[("--metrics-addr", addr.clone()), ("--live-addr", addr)],
    );
    let operator = Running::start(&kubeconfig, &args, &[("POD_NAMESPACE", ns.as_str())]);

    create(
        &Api::<Deployment>::namespaced(client.clone(), &ns),
        workload("Deployment", &ns, "api"),
    )
    .await;
    create(
        &Api::<StatefulSet>::namespaced(client.clone(), &ns),
        workload("StatefulSet", &ns, "db"),
    )
    .await;
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
    let store = |v: &str| {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
               "metadata": {"name": "fake", "namespace": ns},
               "spec": {"controller": class,
                        "provider": {"fake": {"data": [{"key": "db", "value": v}]}}}})
    };
    create(&stores, store("v1")).await;
    create(&Api::<ExternalSecret>::namespaced(client.clone(), &ns), json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "app", "namespace": ns,
                     "annotations": {"eso-rs.io/rollout-restart": "deployment/api, statefulset/db"}},
        "spec": {"refreshInterval": "1s",
                 "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                 "target": {"name": "app-target"},
                 "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}
    }))
    .await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    wait_for("the target with v1", || async {
        target_value(&secrets).await == Some(b"v1".to_vec())
    })
    .await;
    // Created, then refreshed every second with nothing new: no restart.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        restarted_at(&client, &ns).await,
        (None, None),
        "{}",
        operator.log()
    );

    // The remote value changes: both restart, once.
    stores
        .patch("fake", &PatchParams::default(), &Patch::Merge(&store("v2")))
        .await
        .unwrap();
    wait_for("the target with v2", || async {
        target_value(&secrets).await == Some(b"v2".to_vec())
    })
    .await;
    wait_for("both workloads restarted", || async {
        let (d, s) = restarted_at(&client, &ns).await;
        d.is_some() && s.is_some()
    })
    .await;
    let first = restarted_at(&client, &ns).await;
    // More refreshes with nothing new (across a second boundary): the same annotation.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        restarted_at(&client, &ns).await,
        first,
        "{}",
        operator.log()
    );
    assert!(operator.log().contains("rollout restarted"));
    for kind in ["ClusterRole", "ClusterRoleBinding"] {
        for doc in rendered.of(kind) {
            chart::delete(&client, doc).await;
        }
    }
}
