//! Shared helpers of the kube-apiserver integration tests: environment (exported by
//! `scripts/backends/kube.sh start`), clients, namespaces and CRDs.
#![allow(dead_code, unreachable_pub)]

use eso_core::cluster::{Cluster, KubeSecret};
use eso_kube::KubeCluster;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

/// Returns the environment, or prints why the test is skipped and returns from it.
#[macro_export]
macro_rules! require_kube {
    () => {
        match common::Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "KUBECONFIG/KUBE_API_SERVER",
                    "eval \"$(scripts/backends/kube.sh start)\"",
                );
                return;
            }
        }
    };
}

/// The variables `kube.sh start` exports.
#[derive(Clone, Debug)]
pub struct Env {
    pub kubeconfig: String,
    pub server: String,
    pub ca_pem: String,
    pub admin_token: String,
    pub sa_namespace: String,
    pub sa_name: String,
}

pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub fn load() -> Option<Self> {
        Self::from_vars(&|n| var(n))
    }

    /// Reads an env file written by kube.sh (`KEY=value` lines, values maybe quoted).
    pub fn from_file(path: &std::path::Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let vars: std::collections::HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.trim_start_matches("export ").split_once('='))
            .map(|(k, v)| {
                (
                    k.to_owned(),
                    v.trim_matches('\'').trim_matches('"').to_owned(),
                )
            })
            .collect();
        Self::from_vars(&|n| vars.get(n).cloned().filter(|v| !v.is_empty()))
    }

    fn from_vars(get: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let kubeconfig_path = get("KUBECONFIG")?;
        let server = get("KUBE_API_SERVER")?;
        Some(Self {
            kubeconfig: std::fs::read_to_string(kubeconfig_path).ok()?,
            server,
            ca_pem: get("KUBE_CA_CERT")
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default(),
            admin_token: get("KUBE_ADMIN_TOKEN").unwrap_or_default(),
            sa_namespace: get("KUBE_SA_NAMESPACE").unwrap_or_else(|| "default".into()),
            sa_name: get("KUBE_SA_NAME").unwrap_or_else(|| "eso".into()),
        })
    }

    /// An admin client (the kubeconfig's client certificate).
    pub async fn client(&self) -> kube::Client {
        let kc = Kubeconfig::from_yaml(&self.kubeconfig).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        kube::Client::try_from(cfg).unwrap()
    }

    pub async fn cluster(&self) -> KubeCluster {
        KubeCluster::new(self.client().await)
    }
}

/// A fresh namespace `base-<unique>`.
pub async fn namespace(client: &kube::Client, base: &str) -> String {
    let name = format!(
        "{base}-{}",
        eso_core::testing::conformance::unique_prefix("n")
            .rsplit('-')
            .take(2)
            .collect::<Vec<_>>()
            .join("")
    );
    let name: String = name.chars().take(63).collect::<String>().to_lowercase();
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
    name
}

/// Installs (or updates) the ESO CRDs this crate's tests and the operator use.
pub async fn install_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = [
        eso_core::api::ExternalSecret::crd(),
        eso_core::api::PushSecret::crd(),
        eso_core::api::SecretStore::crd(),
        eso_core::api::ClusterSecretStore::crd(),
        eso_core::api::ClusterExternalSecret::crd(),
        eso_core::api::ClusterPushSecret::crd(),
        eso_core::api::GeneratorState::crd(),
    ];
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap();
        api.patch(
            &name,
            &PatchParams::apply("eso-rs-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    // Wait until they are served.
    for _ in 0..100 {
        let lp = Default::default();
        let served = Api::<eso_core::api::ExternalSecret>::all(client.clone())
            .list(&lp)
            .await
            .is_ok()
            && Api::<eso_core::api::PushSecret>::all(client.clone())
                .list(&lp)
                .await
                .is_ok()
            && Api::<eso_core::api::SecretStore>::all(client.clone())
                .list(&lp)
                .await
                .is_ok()
            && Api::<eso_core::api::ClusterSecretStore>::all(client.clone())
                .list(&lp)
                .await
                .is_ok()
            && Api::<eso_core::api::ClusterExternalSecret>::all(client.clone())
                .list(&lp)
                .await
                .is_ok()
            && Api::<eso_core::api::ClusterPushSecret>::all(client.clone())
                .list(&lp)
                .await
                .is_ok()
            && Api::<eso_core::api::GeneratorState>::all(client.clone())
                .list(&lp)
                .await
                .is_ok();
        if served {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("CRDs were not served in time");
}

/// Puts a Secret with `data` in place (replacing one of the same name).
pub async fn put_secret(cluster: &dyn Cluster, ns: &str, name: &str, data: &[(&str, &str)]) {
    cluster.delete_secret(ns, name).await.unwrap();
    let mut s = KubeSecret::new(ns, name);
    for (k, v) in data {
        s = s.with_data(*k, *v);
    }
    cluster.create_secret(s).await.unwrap();
}

/// Polls `f` every 100 ms until it is true; panics naming `what` after two minutes (a hang
/// guard for the tests, not a timing check).
pub async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1200 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}
