//! The operator resolving generators on a real kube-apiserver: an ExternalSecret reading a
//! namespaced `Password` generator and one reading a `ClusterGenerator` (UUID) are synced by
//! `Operator` itself; a reference to a
//! generator that does not exist fails with a status naming it, and succeeds once the
//! generator is created (it is read at each reconcile, not cached from a watch).

mod common;

use common::wait_for;

use eso_core::api::ExternalSecret;
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_kube::operator::{Operator, Shutdown};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

async fn install_generator_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [
        eso_core::api::Password::crd(),
        eso_core::api::ClusterGenerator::crd(),
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
    wait_for("the generator kinds to be served", || async {
        Api::<eso_core::api::ClusterGenerator>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
            && passwords(client, "default")
                .list(&Default::default())
                .await
                .is_ok()
    })
    .await;
}

fn passwords(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("generators.external-secrets.io", "v1alpha1", "Password");
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

fn external_secret(ns: &str, name: &str, kind: &str, generator: &str) -> ExternalSecret {
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"refreshInterval": "1h",
                 "target": {"name": name},
                 "dataFrom": [{"sourceRef": {"generatorRef": {
                     "apiVersion": "generators.external-secrets.io/v1alpha1",
                     "kind": kind, "name": generator}}}]}
    }))
    .unwrap()
}

fn ready(es: &ExternalSecret) -> Option<(String, String)> {
    let status = serde_json::to_value(&es.status).unwrap_or(Value::Null);
    status["conditions"].as_array()?.iter().find_map(|c| {
        (c["type"] == "Ready").then(|| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
    })
}

async fn key_of(secrets: &Api<Secret>, name: &str, key: &str) -> Option<Vec<u8>> {
    secrets
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|s| s.data)
        .and_then(|d| d.get(key).cloned())
        .map(|b| b.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_reads_the_generators_objects_reference() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    install_generator_crds(&client).await;
    let ns = common::namespace(&client, "gen").await;

    let cluster_generator = format!("{ns}-uuid");
    Api::<eso_core::api::ClusterGenerator>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1",
                "kind": "ClusterGenerator",
                "metadata": {"name": cluster_generator},
                "spec": {"kind": "UUID", "generator": {"uuidSpec": {}}}
            }))
            .unwrap(),
        )
        .await
        .unwrap();

    let mut generators = GeneratorRegistry::new();
    eso_generators::register_generators(&mut generators);
    let (stop, shutdown) = Shutdown::new();
    let op = tokio::spawn(
        Operator::new(client.clone(), ProviderRegistry::new())
            .with_generators(generators)
            .run(shutdown),
    );

    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    // The Password generator does not exist yet: the status names it.
    es_api
        .create(
            &PostParams::default(),
            &external_secret(&ns, "db", "Password", "db-password"),
        )
        .await
        .unwrap();
    es_api
        .create(
            &PostParams::default(),
            &external_secret(&ns, "id", "ClusterGenerator", &cluster_generator),
        )
        .await
        .unwrap();
    wait_for("the missing generator to be reported", || async {
        let es = es_api.get("db").await.unwrap();
        ready(&es).is_some_and(|(status, _)| status == "False")
    })
    .await;
    let message = ready(&es_api.get("db").await.unwrap()).unwrap().1;
    assert!(
        message.contains("Password") && message.contains("db-password"),
        "{message}"
    );

    // The ClusterGenerator one synced meanwhile.
    wait_for("the UUID to be written", || async {
        key_of(&secrets, "id", "uuid").await.is_some()
    })
    .await;
    let uuid = key_of(&secrets, "id", "uuid").await.unwrap();
    assert_eq!(uuid.len(), 36, "{}", String::from_utf8_lossy(&uuid));

    // Created now, the Password generator is read at the next attempt.
    passwords(&client, &ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
                "metadata": {"name": "db-password", "namespace": ns},
                "spec": {"length": 24, "digits": 4, "symbols": 0}
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    wait_for("the password to be written", || async {
        key_of(&secrets, "db", "password").await.is_some()
    })
    .await;
    let password = key_of(&secrets, "db", "password").await.unwrap();
    assert_eq!(password.len(), 24);
    assert_eq!(password.iter().filter(|b| b.is_ascii_digit()).count(), 4);
    // The status is patched right after the target is written: wait for it rather than race it.
    wait_for("the Ready status", || async {
        let es = es_api.get("db").await.unwrap();
        ready(&es).map(|r| r.0).as_deref() == Some("True")
    })
    .await;
    stop.trigger();
    op.await.unwrap();
    Api::<eso_core::api::ClusterGenerator>::all(client.clone())
        .delete(&cluster_generator, &Default::default())
        .await
        .unwrap();
}
