//! The chart's least-privilege RBAC proven by running eso-operator as the chart's
//! ServiceAccounts (a TokenRequest token, not the admin) on a real kube-apiserver, with the
//! arguments the chart's Deployments pass:
//!
//! - every flow works with no 403: SecretStore, ClusterSecretStore, ExternalSecret,
//!   ClusterExternalSecret, PushSecret, ClusterPushSecret, a VaultDynamicSecret generator
//!   with its GeneratorState (OpenBao), Events, the leader Lease, and the webhook (its
//!   certificate Secret and caBundle patched with its own ServiceAccount);
//! - with one rule removed (`create` on Secrets), the ExternalSecret's status and the log
//!   name the missing permission;
//! - with `scopedRBAC`, the operator syncs its namespace and leaves others alone.
//!
//! Each test uses its own controller class, so the operators of the two tests (and leftovers
//! of other tests) do not reconcile each other's objects.

mod chart;
mod common;

use std::time::Duration;

use common::{Running, free_port, namespace, wait_for};
use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};

/// Reports a missing HELM and returns from the test.
macro_rules! require_helm {
    ($rendered:expr) => {
        match $rendered {
            Some(r) => r,
            None => {
                eso_core::testing::backend_unavailable(
                    "HELM",
                    "eval \"$(scripts/backends/helm.sh start)\"",
                );
                return;
            }
        }
    };
}

async fn create<K>(api: &Api<K>, v: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

/// The `Ready` condition of an ESO object: `(status, message)`.
fn ready(conditions: Option<&Vec<eso_core::api::Condition>>) -> Option<(String, String)> {
    conditions?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.message.clone().unwrap_or_default()))
}

fn is_ready(conditions: Option<&Vec<eso_core::api::Condition>>) -> bool {
    ready(conditions).is_some_and(|(s, _)| s == "True")
}

fn value(secret: Option<Secret>, key: &str) -> Option<Vec<u8>> {
    secret?.data?.get(key).map(|b| b.0.clone())
}

/// Lines of `log` that report a 403 to a ServiceAccount of `ns` (the API server's message
/// names the user, `system:serviceaccount:<ns>:<name>`).
fn forbidden(log: &str, ns: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("forbidden") && l.contains(ns))
        .map(str::to_owned)
        .collect()
}

/// The controller's and webhook's arguments from the chart, pointed at loopback ports.
fn controller_args(r: &chart::Rendered) -> Vec<String> {
    let args = r.args(|n| !n.ends_with("-webhook"));
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    chart::with_args(
        &args,
        &[("--metrics-addr", addr.clone()), ("--live-addr", addr)],
    )
}

/// OpenBao (VAULT_ADDR, VAULT_TOKEN) with a fresh PKI mount whose role issues leased
/// certificates: returns the mount path.
async fn pki_mount(addr: &str, token: &str, name: &str) -> String {
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, body: Value| {
        http.request(method, format!("{addr}/v1/{path}"))
            .header("X-Vault-Token", token)
            .json(&body)
            .send()
    };
    let mount = format!("pki-{name}");
    for (path, body) in [
        (
            format!("sys/mounts/{mount}"),
            json!({"type": "pki", "config": {"max_lease_ttl": "1h"}}),
        ),
        (
            format!("{mount}/root/generate/internal"),
            json!({"common_name": "eso-rs rbac root", "ttl": "1h"}),
        ),
        (
            format!("{mount}/roles/web"),
            json!({"allowed_domains": "example.com", "allow_subdomains": true,
                   "max_ttl": "30m", "generate_lease": true}),
        ),
    ] {
        let r = call(reqwest::Method::POST, path.clone(), body)
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{path}: {}",
            r.text().await.unwrap()
        );
    }
    mount
}

/// The objects of the whole-cluster test, all in `ns` (and one ClusterSecretStore).
struct Objects {
    ns: String,
    class: String,
    client: kube::Client,
}

impl Objects {
    async fn stores(&self) {
        let (ns, class) = (&self.ns, &self.class);
        let store = json!({"fake": {"data": [{"key": "db", "value": "v1"}]}});
        create(
            &Api::<SecretStore>::namespaced(self.client.clone(), ns),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "fake", "namespace": ns},
                   "spec": {"controller": class, "provider": store}}),
        )
        .await;
        create(
            &Api::<ClusterSecretStore>::all(self.client.clone()),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                   "metadata": {"name": format!("fake-{ns}")},
                   "spec": {"controller": class, "provider": store}}),
        )
        .await;
    }

    fn external_secret(&self, name: &str) -> Value {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
               "metadata": {"name": name, "namespace": self.ns},
               "spec": {"refreshInterval": "1h",
                        "secretStoreRef": {"name": "fake", "kind": "SecretStore"},
                        "target": {"name": format!("{name}-target"), "deletionPolicy": "Delete"},
                        "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}})
    }

    async fn external_secrets(&self) {
        let ns = &self.ns;
        create(
            &Api::<ExternalSecret>::namespaced(self.client.clone(), ns),
            self.external_secret("app"),
        )
        .await;
        create(&Api::<ClusterExternalSecret>::all(self.client.clone()), json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
            "metadata": {"name": format!("ces-{ns}")},
            "spec": {"namespaceSelectors": [{"matchLabels": {"kubernetes.io/metadata.name": ns}}],
                     "externalSecretName": "stamped",
                     "externalSecretSpec": {
                         "secretStoreRef": {"name": format!("fake-{ns}"), "kind": "ClusterSecretStore"},
                         "target": {"name": "stamped-target"},
                         "data": [{"secretKey": "password", "remoteRef": {"key": "db"}}]}}
        }))
        .await;
    }

    async fn push_secrets(&self) {
        let ns = &self.ns;
        let spec = |key: &str| {
            json!({"refreshInterval": "1h", "deletionPolicy": "Delete",
                   "secretStoreRefs": [{"name": "fake", "kind": "SecretStore"}],
                   "selector": {"secret": {"name": "app-target"}},
                   "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": key}}}]})
        };
        create(
            &Api::<PushSecret>::namespaced(self.client.clone(), ns),
            json!({"apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
                   "metadata": {"name": "push", "namespace": ns}, "spec": spec("pushed")}),
        )
        .await;
        create(&Api::<ClusterPushSecret>::all(self.client.clone()), json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "ClusterPushSecret",
            "metadata": {"name": format!("cps-{ns}")},
            "spec": {"namespaceSelectors": [{"matchLabels": {"kubernetes.io/metadata.name": ns}}],
                     "pushSecretName": "stamped-push", "pushSecretSpec": spec("pushed-by-cluster")}
        }))
        .await;
    }

    /// A VaultDynamicSecret (a leased PKI certificate) read by an ExternalSecret.
    async fn generator(&self, vault_addr: &str, vault_token: &str) {
        let ns = &self.ns;
        let mount = pki_mount(vault_addr, vault_token, ns).await;
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        create(
            &secrets,
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "bao-root", "namespace": ns},
                   "stringData": {"token": vault_token}}),
        )
        .await;
        let gvk = kube::api::GroupVersionKind::gvk(
            "generators.external-secrets.io",
            "v1alpha1",
            "VaultDynamicSecret",
        );
        let generators = Api::<DynamicObject>::namespaced_with(
            self.client.clone(),
            ns,
            &ApiResource::from_gvk(&gvk),
        );
        create(&generators, json!({
            "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "VaultDynamicSecret",
            "metadata": {"name": "pki", "namespace": ns},
            "spec": {"path": format!("{mount}/issue/web"), "method": "POST",
                     "parameters": {"common_name": "a.example.com", "ttl": "10m"},
                     "resultType": "Data",
                     "provider": {"server": vault_addr,
                                  "auth": {"tokenSecretRef": {"name": "bao-root", "key": "token"}}}}
        }))
        .await;
        create(
            &Api::<ExternalSecret>::namespaced(self.client.clone(), ns),
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": "cert", "namespace": ns},
                "spec": {"refreshInterval": "1h", "target": {"name": "cert-target"},
                         "dataFrom": [{"sourceRef": {"generatorRef": {
                             "apiVersion": "generators.external-secrets.io/v1alpha1",
                             "kind": "VaultDynamicSecret", "name": "pki"}}}]}
            }),
        )
        .await;
    }
}

/// Waits until ExternalSecret `name` is Ready and its target holds `password`.
async fn synced(client: &kube::Client, ns: &str, name: &str, target: &str) {
    let es: Api<ExternalSecret> = Api::namespaced(client.clone(), ns);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    wait_for(&format!("ExternalSecret {ns}/{name} to sync"), || async {
        let ok = es
            .get_opt(name)
            .await
            .unwrap()
            .is_some_and(|e| is_ready(e.status.as_ref().and_then(|s| s.conditions.as_ref())));
        ok && value(secrets.get_opt(target).await.unwrap(), "password").is_some()
    })
    .await;
}

/// Applies the chart's RBAC, ServiceAccounts and webhook Secret; the webhook configuration
/// is pointed at `webhook_port` on loopback and narrowed to `ns` (other tests on the server
/// are never validated by it).
async fn install(client: &kube::Client, r: &chart::Rendered, ns: &str, webhook_port: u16) {
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Secret",
    ] {
        for doc in r.of(kind) {
            chart::apply(client, doc).await;
        }
    }
    for doc in r.of("ValidatingWebhookConfiguration") {
        let mut doc = doc.clone();
        let hooks = doc["webhooks"].as_array_mut().unwrap();
        hooks.retain(|h| h["rules"][0]["scope"] == "Namespaced");
        for h in hooks {
            let path = h["clientConfig"]["service"]["path"]
                .as_str()
                .unwrap()
                .to_owned();
            h["clientConfig"] = json!({"url": format!("https://localhost:{webhook_port}{path}")});
            h["namespaceSelector"] = json!({"matchLabels": {"kubernetes.io/metadata.name": ns}});
        }
        chart::apply(client, &doc).await;
    }
}

/// Removes the cluster-scoped objects of `r` (namespaced ones go with the namespace).
async fn uninstall(client: &kube::Client, r: &chart::Rendered) {
    for kind in [
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
    ] {
        for doc in r.of(kind) {
            chart::delete(client, doc).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_runs_as_the_charts_service_account() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = namespace(&client, "rbac").await;
    let class = format!("class-{ns}");
    let rendered = require_helm!(chart::render(
        &ns,
        &[
            "installCRDs=false",
            "leaderElect=true",
            &format!("controllerClass={class}"),
            "webhook.create=true",
        ],
    ));
    let webhook_port = free_port();
    install(&client, &rendered, &ns, webhook_port).await;
    let dir = std::env::temp_dir().join(format!("eso-rbac-{ns}"));
    std::fs::create_dir_all(&dir).unwrap();
    let sa = |webhook: bool| {
        rendered
            .one("ServiceAccount", |n| n.ends_with("-webhook") == webhook)
            .clone()
    };
    let controller_sa = sa(false)["metadata"]["name"].as_str().unwrap().to_owned();
    let webhook_sa = sa(true)["metadata"]["name"].as_str().unwrap().to_owned();
    let kubeconfig = env.token_kubeconfig(&dir, &chart::token(&client, &ns, &controller_sa).await);
    let pod = [("POD_NAMESPACE", ns.as_str()), ("POD_NAME", "rbac-pod")];
    let controller = Running::start(&kubeconfig, &controller_args(&rendered), &pod);
    let webhook_dir = dir.join("webhook");
    std::fs::create_dir_all(&webhook_dir).unwrap();
    let webhook_kubeconfig =
        env.token_kubeconfig(&webhook_dir, &chart::token(&client, &ns, &webhook_sa).await);
    let health = free_port();
    let webhook_args = chart::with_args(
        &rendered.args(|n| n.ends_with("-webhook")),
        &[
            ("--port", webhook_port.to_string()),
            ("--dns-name", "localhost".to_owned()),
            ("--healthz-addr", format!("127.0.0.1:{health}")),
            ("--metrics-addr", format!("127.0.0.1:{health}")),
        ],
    );
    let webhook = Running::start(&webhook_kubeconfig, &webhook_args, &pod);

    let objects = Objects {
        ns: ns.clone(),
        class: class.clone(),
        client: client.clone(),
    };
    // The webhook, as its own ServiceAccount, patched the caBundle; a bad ExternalSecret
    // is now denied by it.
    let es_api = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::erase::<ExternalSecret>(&()),
    );
    let mut bad = objects.external_secret("bad");
    bad["spec"]["refreshInterval"] = json!("soon");
    let bad: DynamicObject = serde_json::from_value(bad).unwrap();
    wait_for("the webhook to deny a bad ExternalSecret", || async {
        assert!(!webhook.exited(), "the webhook exited:\n{}", webhook.log());
        match es_api.create(&PostParams::default(), &bad).await {
            Err(kube::Error::Api(s)) => s.message.contains("spec.refreshInterval"),
            _ => false,
        }
    })
    .await;

    objects.stores().await;
    objects.external_secrets().await;
    synced(&client, &ns, "app", "app-target").await;
    synced(&client, &ns, "stamped", "stamped-target").await;
    objects.push_secrets().await;
    let ps: Api<PushSecret> = Api::namespaced(client.clone(), &ns);
    for name in ["push", "stamped-push"] {
        wait_for(&format!("PushSecret {name} to be Ready"), || async {
            ps.get_opt(name)
                .await
                .unwrap()
                .is_some_and(|p| is_ready(p.status.as_ref().and_then(|s| s.conditions.as_ref())))
        })
        .await;
    }
    for (kind, ready_now) in [
        ("SecretStore", {
            let api: Api<SecretStore> = Api::namespaced(client.clone(), &ns);
            let s = api.get("fake").await.unwrap();
            is_ready(s.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }),
        ("ClusterSecretStore", {
            let api: Api<ClusterSecretStore> = Api::all(client.clone());
            let s = api.get(&format!("fake-{ns}")).await.unwrap();
            is_ready(s.status.as_ref().and_then(|s| s.conditions.as_ref()))
        }),
    ] {
        assert!(ready_now, "{kind} is not Ready");
    }
    match (
        std::env::var("VAULT_ADDR").ok(),
        std::env::var("VAULT_TOKEN").ok(),
    ) {
        (Some(addr), Some(token)) => {
            objects.generator(&addr, &token).await;
            let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
            wait_for("the generated certificate", || async {
                value(secrets.get_opt("cert-target").await.unwrap(), "certificate").is_some()
            })
            .await;
            let states: Api<eso_core::api::GeneratorState> = Api::namespaced(client.clone(), &ns);
            wait_for("its GeneratorState", || async {
                !states
                    .list(&Default::default())
                    .await
                    .unwrap()
                    .items
                    .is_empty()
            })
            .await;
        }
        _ => eso_core::testing::backend_unavailable(
            "VAULT_ADDR/VAULT_TOKEN",
            "eval \"$(scripts/backends/openbao.sh start)\"",
        ),
    }
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    wait_for("an Event about the ExternalSecret", || async {
        events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .any(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("app"))
    })
    .await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let lease = leases.get("external-secrets-controller").await.unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("rbac-pod")
    );
    let log = format!("{}\n{}", controller.log(), webhook.log());
    assert!(forbidden(&log, &ns).is_empty(), "403s:\n{log}");

    // One rule removed: no `create` on Secrets. A new ExternalSecret fails, and its status
    // and the log name the missing permission.
    let role = rendered.one("ClusterRole", |n| n.contains("-controller"));
    let mut narrowed = role.clone();
    for rule in narrowed["rules"].as_array_mut().unwrap() {
        if rule["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == "secrets"))
        {
            rule["verbs"]
                .as_array_mut()
                .unwrap()
                .retain(|v| v != "create");
        }
    }
    chart::apply(&client, &narrowed).await;
    let es: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let created = async {
        // RBAC changes reach the authorizer within moments; retry under a fresh name.
        for i in 0.. {
            let name = format!("denied-{i}");
            create(&es, objects.external_secret(&name)).await;
            for _ in 0..100 {
                let e = es.get(&name).await.unwrap();
                if let Some((status, message)) =
                    ready(e.status.as_ref().and_then(|s| s.conditions.as_ref()))
                {
                    if status == "False" {
                        return message;
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        unreachable!()
    };
    let message = tokio::time::timeout(Duration::from_secs(120), created)
        .await
        .expect("a status naming the missing permission");
    assert!(
        message.contains("cannot create resource \"secrets\""),
        "{message}"
    );
    wait_for("the log to name the missing permission", || async {
        controller.log().contains("cannot create resource")
    })
    .await;
    drop(controller);
    drop(webhook);
    uninstall(&client, &rendered).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_rbac_syncs_one_namespace_and_leaves_the_others_alone() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = namespace(&client, "scoped").await;
    let other = namespace(&client, "other").await;
    let class = format!("class-{ns}");
    let rendered = require_helm!(chart::render(
        &ns,
        &[
            "installCRDs=false",
            "scopedRBAC=true",
            &format!("scopedNamespace={ns}"),
            &format!("controllerClass={class}"),
            "webhook.create=false",
        ],
    ));
    assert!(
        rendered.of("ClusterRole").is_empty() && rendered.of("ClusterRoleBinding").is_empty(),
        "scopedRBAC grants nothing cluster-wide"
    );
    install(&client, &rendered, &ns, 0).await;
    let dir = std::env::temp_dir().join(format!("eso-rbac-{ns}"));
    std::fs::create_dir_all(&dir).unwrap();
    let sa = rendered.one("ServiceAccount", |_| true)["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let kubeconfig = env.token_kubeconfig(&dir, &chart::token(&client, &ns, &sa).await);
    let pod = [("POD_NAMESPACE", ns.as_str()), ("POD_NAME", "scoped-pod")];
    let controller = Running::start(&kubeconfig, &controller_args(&rendered), &pod);
    for namespace in [&ns, &other] {
        let objects = Objects {
            ns: namespace.clone(),
            class: class.clone(),
            client: client.clone(),
        };
        create(
            &Api::<SecretStore>::namespaced(client.clone(), namespace),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": "fake", "namespace": namespace},
                   "spec": {"controller": class,
                            "provider": {"fake": {"data": [{"key": "db", "value": "v1"}]}}}}),
        )
        .await;
        create(
            &Api::<ExternalSecret>::namespaced(client.clone(), namespace),
            objects.external_secret("app"),
        )
        .await;
    }
    synced(&client, &ns, "app", "app-target").await;
    // The other namespace's objects, of the same class, were never touched: no status, no
    // target (its ExternalSecret was created before this one synced).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let es: Api<ExternalSecret> = Api::namespaced(client.clone(), &other);
    assert!(es.get("app").await.unwrap().status.is_none());
    let store: Api<SecretStore> = Api::namespaced(client.clone(), &other);
    assert!(store.get("fake").await.unwrap().status.is_none());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &other);
    assert!(secrets.get_opt("app-target").await.unwrap().is_none());
    let log = controller.log();
    assert!(forbidden(&log, &ns).is_empty(), "403s:\n{log}");
}
