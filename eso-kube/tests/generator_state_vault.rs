//! Generator state on a real kube-apiserver with OpenBao leases: an ExternalSecret whose
//! `dataFrom` is a VaultDynamicSecret (a PKI certificate with a lease) rotated twice; its
//! states are `GeneratorState` objects as ESO writes them; the first lease is revoked once its
//! grace period is over (checked with `sys/leases/lookup`), the newer ones stay; a state
//! deleted through the API (as a garbage collector does) is cleaned up by the collector; and
//! deleting the ExternalSecret revokes the rest. The operator's collector does the same on
//! its own, in real time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use eso_core::api::{
    ExternalSecret, GENERATOR_STATE_OWNER_KEY_LABEL, GeneratorSpec, GeneratorState, Manifest,
};
use eso_core::cluster::{
    Cluster, DynCluster, GENERATOR_STATE_FINALIZER, KubeGeneratorState, KubeSecret,
};
use eso_core::generator::{Generator, GeneratorContext, GeneratorRegistry};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
use eso_core::testing::conformance::unique_prefix;
use eso_provider_vault::VaultDynamicSecret;
use jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

const GRACE: Duration = Duration::from_secs(30);

/// OpenBao's address and root token, as `openbao.sh start` exports them.
fn openbao() -> Option<(String, String)> {
    let addr = common::var("VAULT_HTTP_ADDR").or_else(|| common::var("VAULT_ADDR"))?;
    Some((
        addr,
        common::var("VAULT_TOKEN").unwrap_or_else(|| "root".into()),
    ))
}

/// Calls OpenBao as root through the VaultDynamicSecret generator (it writes any path).
struct Bao {
    generator: VaultDynamicSecret,
    cluster: DynCluster,
    addr: String,
    ns: String,
}

impl Bao {
    async fn call(&self, method: &str, path: &str, body: Value) -> eso_core::Result<Value> {
        let spec = GeneratorSpec::parse(
            "VaultDynamicSecret",
            json!({"path": path, "method": method, "parameters": body, "allowEmptyResponse": true,
                   "resultType": "Raw", "provider": self.provider()}),
        )?;
        let out = self
            .generator
            .generate(&GeneratorContext::new(&spec, &self.ns, &self.cluster))
            .await?;
        Ok(json!(out.data.keys().collect::<Vec<_>>()))
    }

    fn provider(&self) -> Value {
        json!({"server": self.addr, "auth": {"tokenSecretRef": {"name": "bao-root", "key": "token"}}})
    }

    /// Whether OpenBao still knows the lease.
    async fn lease_alive(&self, lease: &str) -> bool {
        match self
            .call("PUT", "sys/leases/lookup", json!({"lease_id": lease}))
            .await
        {
            Ok(_) => true,
            Err(e) if e.to_string().contains("invalid lease") => false,
            Err(e) => panic!("lease lookup failed: {e}"),
        }
    }
}

/// `(lease id, flagged)` of the GeneratorState objects in `ns`, in creation order.
async fn states(api: &Api<GeneratorState>) -> Vec<(String, bool)> {
    let mut items = api.list(&Default::default()).await.unwrap().items;
    items.sort_by_key(|s| {
        s.metadata.annotations.as_ref().unwrap()[eso_kube::generator_state::ANNOTATION_CREATED_AT]
            .parse::<Timestamp>()
            .unwrap()
    });
    items
        .iter()
        .map(|s| {
            (
                s.spec.state["leaseID"].as_str().unwrap().to_owned(),
                s.spec.garbage_collection_deadline.is_some(),
            )
        })
        .collect()
}

struct Fixture {
    client: kube::Client,
    ns: String,
    cluster: DynCluster,
    bao: Bao,
    mount: String,
}

/// A fresh namespace holding the OpenBao root token Secret `bao-root`, and a PKI engine whose
/// certificates carry leases; `None` (after saying why) without the backends.
async fn fixture() -> Option<Fixture> {
    let Some(env) = common::Env::load() else {
        eso_core::testing::backend_unavailable(
            "KUBECONFIG/KUBE_API_SERVER",
            "eval \"$(scripts/backends/kube.sh start)\"",
        );
        return None;
    };
    let Some((addr, root_token)) = openbao() else {
        eso_core::testing::backend_unavailable("VAULT_ADDR", "scripts/backends/openbao.sh start");
        return None;
    };
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = common::namespace(&client, "gs").await;
    let kube_cluster = env.cluster().await;
    kube_cluster
        .create_secret(KubeSecret::new(&ns, "bao-root").with_data("token", root_token.as_str()))
        .await
        .unwrap();
    let cluster: DynCluster = Arc::new(kube_cluster);
    let bao = Bao {
        generator: VaultDynamicSecret::new(),
        cluster: Arc::clone(&cluster),
        addr,
        ns: ns.clone(),
    };
    let mount = unique_prefix("pki");
    bao.call(
        "POST",
        &format!("sys/mounts/{mount}"),
        json!({"type": "pki", "config": {"max_lease_ttl": "1h"}}),
    )
    .await
    .unwrap();
    bao.call(
        "POST",
        &format!("{mount}/root/generate/internal"),
        json!({"common_name": "eso-rs gs root", "ttl": "1h"}),
    )
    .await
    .unwrap();
    bao.call(
        "POST",
        &format!("{mount}/roles/web"),
        json!({"allowed_domains": "example.com",
        "allow_subdomains": true, "max_ttl": "30m", "generate_lease": true}),
    )
    .await
    .unwrap();
    Some(Fixture {
        client,
        ns,
        cluster,
        bao,
        mount,
    })
}

/// The VaultDynamicSecret spec issuing a certificate of `mount`'s `web` role.
fn issue_spec(bao: &Bao, mount: &str) -> Value {
    json!({"path": format!("{mount}/issue/web"), "method": "POST",
           "parameters": {"common_name": "app.example.com", "ttl": "20m"},
           "provider": bao.provider()})
}

#[tokio::test]
async fn vault_dynamic_secret_leases_follow_rotations() {
    let Some(fx) = fixture().await else { return };
    let (mut es, reconciler, vds) = consumer(&fx).await;
    let Fixture {
        client,
        ns,
        cluster,
        bao,
        mount,
    } = fx;
    // Three generations: the first and two rotations (the flows run at the times given).
    let t0 = Timestamp::now();
    let mut serials = Vec::new();
    for hours in [0, 2, 4] {
        let out = reconciler
            .reconcile_external_secret(&es, &Pass::new(), t0 + SignedDuration::from_hours(hours))
            .await;
        assert!(out.is_ok(), "{:?}", out.errors);
        es.status = Some(out.status);
        let target = cluster.get_secret(&ns, "web-tls").await.unwrap().unwrap();
        serials.push(target.data["serial_number"].expose().to_vec());
    }
    assert_ne!(serials[0], serials[1]);
    assert_ne!(serials[1], serials[2]);

    let gs_api: Api<GeneratorState> = Api::namespaced(client.clone(), &ns);
    let leases = states_as_eso_writes_them(&gs_api, &es, &ns, &mount, &bao).await;
    let flagged_at = t0 + SignedDuration::from_hours(4);
    collect_after_the_grace_period(&reconciler, &gs_api, &bao, &leases, flagged_at).await;
    deleted_state_waits_for_its_cleanup(&reconciler, &gs_api, &bao, &leases, flagged_at).await;

    // Deleting the consumer revokes the rest and removes its states.
    let out = reconciler.delete_external_secret(&es, flagged_at).await;
    assert!(out.is_ok(), "{:?}", out.errors);
    assert!(!bao.lease_alive(&leases[2]).await);
    assert!(states(&gs_api).await.is_empty());

    vds.close().await.unwrap();
    bao.call("DELETE", &format!("sys/mounts/{mount}"), json!({}))
        .await
        .unwrap();
    bao.generator.close().await.unwrap();
}

/// The generator and the consumer of [`vault_dynamic_secret_leases_follow_rotations`], the
/// ExternalSecret created on the API server, and a reconciler with the generator.
async fn consumer(fx: &Fixture) -> (ExternalSecret, Reconciler, Arc<VaultDynamicSecret>) {
    let Fixture {
        client,
        ns,
        cluster,
        bao,
        mount,
    } = fx;
    let generator = Manifest::from_value(json!({
        "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "VaultDynamicSecret",
        "metadata": {"name": "web-cert", "namespace": ns},
        "spec": issue_spec(bao, mount)}))
    .unwrap();
    let mut catalog = MemoryCatalog::new();
    catalog.add(generator);
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), ns);
    let es: ExternalSecret = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"refreshInterval": "1h", "target": {"name": "web-tls"},
                 "dataFrom": [{"sourceRef": {"generatorRef": {
                     "apiVersion": "generators.external-secrets.io/v1alpha1",
                     "kind": "VaultDynamicSecret", "name": "web-cert"}}}]}}))
    .unwrap();
    let es = es_api.create(&PostParams::default(), &es).await.unwrap();
    let vds = Arc::new(VaultDynamicSecret::new());
    let mut generators = GeneratorRegistry::new();
    generators.register(vds.clone());
    let reconciler = Reconciler::new(Arc::clone(cluster), catalog)
        .with_generators(Arc::new(generators))
        .with_generator_gc_grace_period(GRACE);

    (es, reconciler, vds)
}

/// The states as ESO writes them; the first one is flagged, the two newer are not, and
/// their leases are alive. Returns the leases, oldest first.
async fn states_as_eso_writes_them(
    gs_api: &Api<GeneratorState>,
    es: &ExternalSecret,
    ns: &str,
    mount: &str,
    bao: &Bao,
) -> Vec<String> {
    let listed = states(gs_api).await;
    let leases: Vec<String> = listed.iter().map(|(l, _)| l.clone()).collect();
    assert_eq!(
        listed.iter().map(|(_, f)| *f).collect::<Vec<_>>(),
        [true, false, false]
    );
    for l in &leases {
        assert!(l.starts_with(&format!("{mount}/issue/web/")), "{l}");
    }
    let one = gs_api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let name = one.metadata.name.clone().unwrap();
    assert!(name.starts_with("gen-externalsecret-web-"), "{name}");
    assert_eq!(
        one.metadata.labels.as_ref().unwrap()[GENERATOR_STATE_OWNER_KEY_LABEL],
        KubeGeneratorState::owner_key_of("ExternalSecret", ns, "web", "0")
    );
    let owner = &one.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ExternalSecret", "web")
    );
    assert_eq!(Some(&owner.uid), es.metadata.uid.as_ref());
    assert_eq!(
        one.metadata.finalizers.as_deref(),
        Some(&[GENERATOR_STATE_FINALIZER.to_owned()][..])
    );
    assert_eq!(one.spec.resource["kind"], "VaultDynamicSecret");
    assert_eq!(one.spec.resource["metadata"]["name"], "web-cert");
    assert_eq!(
        one.spec.resource["spec"]["path"],
        format!("{mount}/issue/web")
    );
    assert!(!serde_json::to_string(&one).unwrap().contains("PRIVATE KEY"));
    for l in &leases {
        assert!(bao.lease_alive(l).await, "{l} is alive before any cleanup");
    }

    leases
}

/// Within the grace period nothing goes; after it the first lease is revoked. (The
/// collector sees the whole cluster, where other tests keep states too: only this
/// namespace's objects and leases are checked.)
async fn collect_after_the_grace_period(
    reconciler: &Reconciler,
    gs_api: &Api<GeneratorState>,
    bao: &Bao,
    leases: &[String],
    flagged_at: Timestamp,
) {
    let deadline = gs_api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .find_map(|s| s.spec.garbage_collection_deadline.clone())
        .unwrap()
        .parse::<Timestamp>()
        .unwrap();
    // Written with whole seconds, as Kubernetes times are.
    let expected = flagged_at + SignedDuration::try_from(GRACE).unwrap();
    assert_eq!(
        deadline.strftime("%FT%TZ").to_string(),
        expected.strftime("%FT%TZ").to_string()
    );
    let report = reconciler.collect_generator_states(flagged_at).await;
    assert!(report.next_deadline.is_some_and(|d| d <= deadline));
    assert_eq!(states(gs_api).await.len(), 3, "{:?}", report.errors);
    assert!(
        bao.lease_alive(&leases[0]).await,
        "kept within the grace period"
    );
    let report = reconciler.collect_generator_states(deadline).await;
    assert!(report.collected >= 1, "{:?}", report.errors);
    assert!(
        !bao.lease_alive(&leases[0]).await,
        "the first lease is revoked"
    );
    assert!(bao.lease_alive(&leases[1]).await);
    assert!(bao.lease_alive(&leases[2]).await, "the newest lease stays");
    assert_eq!(states(gs_api).await.len(), 2);
}

/// A state deleted through the API (a garbage collector removing it with its owner) waits
/// on its finalizer until the collector revoked its lease.
async fn deleted_state_waits_for_its_cleanup(
    reconciler: &Reconciler,
    gs_api: &Api<GeneratorState>,
    bao: &Bao,
    leases: &[String],
    flagged_at: Timestamp,
) {
    let second = gs_api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|s| s.spec.state["leaseID"] == leases[1].as_str())
        .unwrap();
    let second_name = second.metadata.name.unwrap();
    gs_api
        .delete(&second_name, &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        gs_api
            .get_opt(&second_name)
            .await
            .unwrap()
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    let report = reconciler.collect_generator_states(flagged_at).await;
    assert!(report.collected >= 1, "{:?}", report.errors);
    assert!(!bao.lease_alive(&leases[1]).await);
    assert!(gs_api.get_opt(&second_name).await.unwrap().is_none());
    assert!(bao.lease_alive(&leases[2]).await);
}

/// The operator's collector (real time): a state past its deadline, written as a reconcile
/// would, is cleaned up (its lease revoked) and deleted while the operator runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_collects_due_states() {
    let Some(fx) = fixture().await else { return };
    let Fixture {
        client,
        ns,
        cluster,
        bao,
        mount,
    } = fx;
    let spec = GeneratorSpec::parse("VaultDynamicSecret", issue_spec(&bao, &mount)).unwrap();
    let vds = VaultDynamicSecret::new();
    let out = vds
        .generate(&GeneratorContext::new(&spec, &ns, &cluster))
        .await
        .unwrap();
    let state = out.state.unwrap();
    let lease = state["leaseID"].as_str().unwrap().to_owned();
    assert!(bao.lease_alive(&lease).await);
    let owner = eso_core::cluster::OwnerRef::controller(
        "external-secrets.io/v1",
        "ExternalSecret",
        "gone",
        "",
    );
    let mut record = KubeGeneratorState::new(&ns, owner, "0", spec, state);
    record.generator_name = "web-cert".into();
    let now = Timestamp::now();
    record.created = Some(now);
    record.garbage_collection_deadline = Some(now);
    let created = cluster.create_generator_state(record).await.unwrap();
    assert!(
        created.name.starts_with("gen-externalsecret-gone-"),
        "{}",
        created.name
    );

    let mut generators = GeneratorRegistry::new();
    generators.register(Arc::new(VaultDynamicSecret::new()));
    let (stop, shutdown) = eso_kube::operator::Shutdown::new();
    let op = tokio::spawn(
        eso_kube::operator::Operator::new(
            client.clone(),
            eso_core::provider::ProviderRegistry::new(),
        )
        .with_generators(generators)
        .with_generator_gc_grace_period(GRACE)
        // Its own namespace only: what other tests left on the shared server is not its
        // business (and would only slow it down).
        .with_namespace(&ns)
        .run(shutdown),
    );
    let gs_api: Api<GeneratorState> = Api::namespaced(client.clone(), &ns);
    common::wait_for("the collector to delete the due state", || async {
        gs_api.get_opt(&created.name).await.unwrap().is_none()
    })
    .await;
    assert!(!bao.lease_alive(&lease).await, "its lease is revoked");
    stop.trigger();
    op.await.unwrap();
    vds.close().await.unwrap();
    bao.call("DELETE", &format!("sys/mounts/{mount}"), json!({}))
        .await
        .unwrap();
    bao.generator.close().await.unwrap();
}
