//! Shared helpers of the kube-apiserver integration tests: environment (exported by
//! `scripts/backends/kube.sh start`), clients, namespaces, CRDs and store specs.
#![allow(dead_code, unreachable_pub)]

pub mod child;

use std::sync::Arc;

use eso_core::cluster::{Cluster, DynCluster, KubeSecret};
use eso_core::provider::{DynProvider, StoreIdentity, StoreScope};
use eso_kube::KubeCluster;
use eso_provider_k8s::KubernetesFactory;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

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

    /// The admin client certificate and key (PEM) from the kubeconfig.
    pub fn admin_cert(&self) -> (String, String) {
        use base64::Engine as _;
        let v: Value = serde_saphyr::from_str(&self.kubeconfig).unwrap();
        let user = &v["users"][0]["user"];
        let dec = |k: &str| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(user[k].as_str().unwrap())
                    .unwrap(),
            )
            .unwrap()
        };
        (dec("client-certificate-data"), dec("client-key-data"))
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
        let es: Api<eso_core::api::ExternalSecret> = Api::all(client.clone());
        let ps: Api<eso_core::api::PushSecret> = Api::all(client.clone());
        if es.list(&Default::default()).await.is_ok() && ps.list(&Default::default()).await.is_ok()
        {
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

/// Builds a provider for `spec` as a SecretStore in `ns` of `local`.
pub async fn provider(local: &DynCluster, ns: &str, spec: &Value) -> DynProvider {
    provider_scoped(local, ns, spec, StoreScope::Namespaced).await
}

pub async fn provider_scoped(
    local: &DynCluster,
    ns: &str,
    spec: &Value,
    scope: StoreScope,
) -> DynProvider {
    let store = StoreIdentity::new(
        scope,
        if scope == StoreScope::Cluster { "" } else { ns },
        "kube",
    );
    eso_core::testing::provider_for(
        Arc::new(KubernetesFactory::new()),
        &store,
        &serde_json::json!({ "kubernetes": spec }),
        ns,
        local,
        None,
    )
    .await
    .unwrap()
}

pub fn dyn_cluster(c: KubeCluster) -> DynCluster {
    Arc::new(c)
}
