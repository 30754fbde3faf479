//! `esoctl reconcile --kubeconfig`: one pass of every flow against a real cluster.
//!
//! Reads SecretStores, ClusterSecretStores, ClusterExternalSecrets, ClusterPushSecrets,
//! ExternalSecrets and PushSecrets from the API server, runs the flows once through
//! `KubeCluster` / `KubeWorkloads` (target Secrets and stamped objects are written there),
//! patches each object's status and prints `kind`, `namespace`, `name` and `status` of each.
//! Objects being deleted are left to the operator (finalizers are not handled here).

use std::path::Path;
use std::sync::Arc;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, Manifest,
    PushSecret, SecretStore, SecretStoreKind,
};
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{Catalog, Pass, Reconciler};
use eso_kube::status::{EsoObject, patch_status};
use eso_kube::{KubeCluster, KubeWorkloads};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::reconcile::{Fatal, Format, print_items};

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
    let mut catalog = Catalog::new();
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
    let reconciler = Reconciler::new(Arc::new(KubeCluster::new(client.clone())), catalog)
        .with_providers(Arc::new(providers))
        .with_generators(Arc::new(generators));
    let workloads = KubeWorkloads::new(client.clone());

    let mut failures = 0usize;
    let mut items = Vec::new();
    let mut report = |what: String, e: Option<String>| {
        if let Some(e) = e {
            failures += 1;
            eprintln!("{what}: {e}");
        }
    };
    let live = |m: &kube::api::ObjectMeta| m.deletion_timestamp.is_none();

    for s in stores.iter().filter(|s| live(&s.metadata)) {
        let ns = s.namespace().unwrap_or_default();
        let out = reconciler
            .reconcile_store(
                SecretStoreKind::SecretStore,
                &ns,
                &s.name_any(),
                s.status.as_ref(),
                now,
            )
            .await;
        let what = format!("SecretStore {ns}/{}", s.name_any());
        report(what.clone(), out.error.as_ref().map(ToString::to_string));
        report(what, patch(&client, s, &out.status).await.err());
        items.push(item(s, &out.status));
    }
    for s in cluster_stores.iter().filter(|s| live(&s.metadata)) {
        let out = reconciler
            .reconcile_store(
                SecretStoreKind::ClusterSecretStore,
                "",
                &s.name_any(),
                s.status.as_ref(),
                now,
            )
            .await;
        let what = format!("ClusterSecretStore {}", s.name_any());
        report(what.clone(), out.error.as_ref().map(ToString::to_string));
        report(what, patch(&client, s, &out.status).await.err());
        items.push(item(s, &out.status));
    }
    for c in list::<ClusterExternalSecret>(&client).await? {
        if !live(&c.metadata) {
            continue;
        }
        let out = reconciler
            .reconcile_cluster_external_secret(&c, &workloads)
            .await;
        let what = format!("ClusterExternalSecret {}", c.name_any());
        report(what.clone(), out.error.as_ref().map(ToString::to_string));
        report(what, patch(&client, &c, &out.status).await.err());
        items.push(item(&c, &out.status));
    }
    for c in list::<ClusterPushSecret>(&client).await? {
        if !live(&c.metadata) {
            continue;
        }
        let out = reconciler
            .reconcile_cluster_push_secret(&c, &workloads, now)
            .await;
        let what = format!("ClusterPushSecret {}", c.name_any());
        report(what.clone(), out.error.as_ref().map(ToString::to_string));
        report(what, patch(&client, &c, &out.status).await.err());
        items.push(item(&c, &out.status));
    }
    // Listed after the cluster kinds, so the objects they stamped out join this pass.
    for ps in list::<PushSecret>(&client).await? {
        if !live(&ps.metadata) {
            continue;
        }
        let out = reconciler.reconcile_push_secret(&ps, now).await;
        let what = format!(
            "PushSecret {}/{}",
            ps.namespace().unwrap_or_default(),
            ps.name_any()
        );
        let errors: Vec<String> = out
            .errors
            .iter()
            .map(|(s, e)| format!("{s}: {e}"))
            .collect();
        report(
            what.clone(),
            (!errors.is_empty()).then(|| errors.join("; ")),
        );
        report(what, patch(&client, &ps, &out.status).await.err());
        items.push(item(&ps, &out.status));
    }
    let pass = Pass::new();
    for es in list::<ExternalSecret>(&client).await? {
        if !live(&es.metadata) {
            continue;
        }
        let out = reconciler.reconcile_external_secret(&es, &pass, now).await;
        let what = format!(
            "ExternalSecret {}/{}",
            es.namespace().unwrap_or_default(),
            es.name_any()
        );
        report(what.clone(), out.error.as_ref().map(ToString::to_string));
        report(what, patch(&client, &es, &out.status).await.err());
        items.push(item(&es, &out.status));
    }
    print_items(&items, output)?;
    Ok(failures)
}
