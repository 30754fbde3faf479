//! `esoctl reconcile --kubeconfig`: one pass of every flow against a real cluster.
//!
//! Reads SecretStores, ClusterSecretStores, ClusterExternalSecrets, ClusterPushSecrets,
//! ExternalSecrets and PushSecrets from the API server, runs the flows once through
//! `KubeCluster` / `KubeWorkloads` (target Secrets and stamped objects are written there),
//! patches each object's status and prints `kind`, `namespace`, `name` and `status` of each.
//! Objects being deleted are left to the operator (finalizers are not handled here).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, Manifest,
    PushSecret, SecretStore,
};
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{MemoryCatalog, ObjectKey, Reconciler, Sweep};
use eso_kube::status::{EsoObject, patch_status};
use eso_kube::{KubeCluster, KubeWorkloads};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::output::{Fatal, Format, print_items};

/// Lists every object of a kind (all namespaces).
async fn list<K>(client: &kube::Client) -> Result<Vec<K>, Fatal>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    Api::<K>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .map_err(|e| Fatal(format!("list {}: {e}", K::plural(&()))))
}

/// The objects of a kind that are not being deleted (those are the operator's: their
/// finalizers are not handled here).
fn alive<K: Resource>(objects: Vec<K>) -> Vec<K> {
    objects
        .into_iter()
        .filter(|o| o.meta().deletion_timestamp.is_none())
        .collect()
}

/// For kinds the pass never adds to: every object was listed.
async fn not_listed<K>(key: &ObjectKey) -> Result<K, String> {
    Err(format!("{key} was not listed"))
}

/// Reads one object by its sweep key.
async fn get<K>(client: &kube::Client, key: &ObjectKey) -> Result<K, String>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::namespaced(client.clone(), &key.namespace)
        .get(&key.name)
        .await
        .map_err(|e| e.to_string())
}

/// The listed objects by sweep key, to patch their statuses after the pass.
#[derive(Default)]
struct Objects {
    secret_stores: BTreeMap<ObjectKey, SecretStore>,
    cluster_secret_stores: BTreeMap<ObjectKey, ClusterSecretStore>,
    cluster_external_secrets: BTreeMap<ObjectKey, ClusterExternalSecret>,
    cluster_push_secrets: BTreeMap<ObjectKey, ClusterPushSecret>,
    push_secrets: BTreeMap<ObjectKey, PushSecret>,
    external_secrets: BTreeMap<ObjectKey, ExternalSecret>,
}

impl Objects {
    fn of(sweep: &Sweep) -> Self {
        fn by_key<K: Resource + Clone>(objects: &[K]) -> BTreeMap<ObjectKey, K> {
            objects
                .iter()
                .map(|o| {
                    let key = ObjectKey::new(
                        o.meta().namespace.clone().unwrap_or_default(),
                        o.meta().name.clone().unwrap_or_default(),
                    );
                    (key, o.clone())
                })
                .collect()
        }
        Self {
            secret_stores: by_key(&sweep.secret_stores),
            cluster_secret_stores: by_key(&sweep.cluster_secret_stores),
            cluster_external_secrets: by_key(&sweep.cluster_external_secrets),
            cluster_push_secrets: by_key(&sweep.cluster_push_secrets),
            push_secrets: by_key(&sweep.push_secrets),
            external_secrets: by_key(&sweep.external_secrets),
        }
    }
}

/// Patches an object's status; the error as text.
async fn patch<K: EsoObject, S: Serialize + Sync>(
    client: &kube::Client,
    obj: &K,
    status: &S,
) -> Result<(), String> {
    patch_status(client, obj, status)
        .await
        .map_err(|e| e.to_string())
}

fn item<K: Resource<DynamicType = ()>>(obj: &K, status: &impl Serialize) -> Value {
    json!({
        "kind": K::kind(&()),
        "namespace": obj.namespace(),
        "name": obj.name_any(),
        "status": status,
    })
}

/// Runs the pass; returns how many objects failed.
pub(crate) async fn run(
    kubeconfig: &Path,
    context: Option<&str>,
    output: Format,
    now: jiff::Timestamp,
) -> Result<usize, Fatal> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .map_err(|e| Fatal(format!("--kubeconfig {}: {e}", kubeconfig.display())))?;
    let opts = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| Fatal(format!("--kubeconfig {}: {e}", kubeconfig.display())))?;
    let client = kube::Client::try_from(config).map_err(|e| Fatal(e.to_string()))?;

    let stores: Vec<SecretStore> = list(&client).await?;
    let cluster_stores: Vec<ClusterSecretStore> = list(&client).await?;
    let mut catalog = MemoryCatalog::new();
    for s in &stores {
        catalog.add(Manifest::SecretStore(Box::new(s.clone())));
    }
    for s in &cluster_stores {
        catalog.add(Manifest::ClusterSecretStore(Box::new(s.clone())));
    }
    let mut providers = ProviderRegistry::new();
    crate::providers::register_providers(&mut providers);
    let mut generators = GeneratorRegistry::new();
    crate::providers::register_generators(&mut generators);
    let mut sweep = Sweep::default();
    sweep.secret_stores = alive(stores);
    sweep.cluster_secret_stores = alive(cluster_stores);
    sweep.cluster_external_secrets = alive(list(&client).await?);
    sweep.cluster_push_secrets = alive(list(&client).await?);
    sweep.push_secrets = alive(list(&client).await?);
    sweep.external_secrets = alive(list(&client).await?);
    let reconciler = Reconciler::new(Arc::new(KubeCluster::new(client.clone())), catalog)
        .with_providers(Arc::new(providers))
        .with_generators(Arc::new(generators))
        .with_workloads(Arc::new(KubeWorkloads::new(client.clone())));
    let objects = Objects::of(&sweep);
    let report = reconciler.sweep(sweep, now).await;

    let mut failures = 0usize;
    let mut items = Vec::new();
    macro_rules! settle {
        ($field:ident, $kind:ty, $missing:expr) => {
            for (key, out) in &report.$field {
                let found = match objects.$field.get(key) {
                    Some(o) => Ok(o.clone()),
                    None => $missing(key).await,
                };
                let obj: $kind = match found {
                    Ok(o) => o,
                    Err(e) => {
                        failures += 1;
                        eprintln!("{} {key}: {e}", <$kind>::kind(&()));
                        continue;
                    }
                };
                let what = format!("{} {key}", <$kind>::kind(&()));
                for e in &out.errors {
                    failures += 1;
                    eprintln!("{what}: {e}");
                }
                if let Err(e) = patch(&client, &obj, &out.status).await {
                    failures += 1;
                    eprintln!("{what}: {e}");
                }
                items.push(item(&obj, &out.status));
            }
        };
    }
    // Every store and cluster kind was listed; ExternalSecrets and PushSecrets a cluster kind
    // stamped out during the pass are read back to patch them.
    settle!(secret_stores, SecretStore, not_listed);
    settle!(cluster_secret_stores, ClusterSecretStore, not_listed);
    settle!(cluster_external_secrets, ClusterExternalSecret, not_listed);
    settle!(cluster_push_secrets, ClusterPushSecret, not_listed);
    settle!(push_secrets, PushSecret, |k| get::<PushSecret>(&client, k));
    settle!(external_secrets, ExternalSecret, |k| get::<ExternalSecret>(
        &client, k
    ));
    print_items(&items, output)?;
    Ok(failures)
}
