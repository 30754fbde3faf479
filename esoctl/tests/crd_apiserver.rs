//! `esoctl crd` against the kube-apiserver of `scripts/backends/kube.sh`: every CRD it prints
//! is accepted by the API server as is (a schema the server rejects, such as an untyped
//! object field without `x-kubernetes-preserve-unknown-fields`, fails here, naming the CRD
//! and the server's reason), and every kind is then served.
#![cfg(feature = "kubernetes")]

use std::process::Command;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};

#[tokio::test]
async fn every_crd_is_accepted_and_served() {
    if std::env::var("KUBECONFIG").is_err() {
        return eso_core::testing::backend_unavailable(
            "KUBECONFIG",
            "eval \"$(scripts/backends/kube.sh start)\"",
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_esoctl"))
        .args(["crd", "-o", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crds: Vec<CustomResourceDefinition> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(crds.len() >= 25, "{} CRDs", crds.len());

    let client = kube::Client::try_default().await.unwrap();
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut rejected = Vec::new();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap();
        if let Err(e) = api
            .patch(
                &name,
                &PatchParams::apply("eso-rs-tests").force(),
                &Patch::Apply(crd),
            )
            .await
        {
            rejected.push(format!("{name}: {e}"));
        }
    }
    assert!(rejected.is_empty(), "rejected:\n{}", rejected.join("\n"));

    for crd in &crds {
        let version = &crd.spec.versions.iter().find(|v| v.storage).unwrap().name;
        let gvk = GroupVersionKind::gvk(&crd.spec.group, version, &crd.spec.names.kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, &crd.spec.names.plural);
        let kinds: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let mut served = false;
        for _ in 0..100 {
            if kinds.list(&Default::default()).await.is_ok() {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(served, "{} is not served", crd.spec.names.kind);
    }
}
