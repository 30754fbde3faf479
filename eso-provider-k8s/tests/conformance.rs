//! The shared provider conformance suite against a real kube-apiserver, once per auth method:
//! bearer token (+ caBundle), client certificate (+ caProvider Secret), ServiceAccount
//! (TokenRequest, + caProvider ConfigMap) and authRef (kubeconfig in a Secret).

mod common;

use eso_core::cluster::{DynCluster, KubeSecret};
use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};
use eso_provider_k8s::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

/// Creates the remote namespace, an unowned Secret in it, and runs the suite.
async fn run(local: &DynCluster, creds_ns: &str, remote_ns: &str, spec: Value) {
    let provider = common::provider(local, creds_ns, &spec).await;
    let unowned = format!("{}-unowned", unique_prefix("k"));
    common::put_secret(local.as_ref(), remote_ns, &unowned, &[("keep", "me")]).await;
    let opts = ConformanceOptions::new(unique_prefix("conf"))
        .with_separator("-")
        .with_flat_values()
        .with_unowned_key(&unowned)
        .with_marker_tag(MANAGED_BY_LABEL, MANAGED_BY_VALUE);
    let report = run_conformance(provider.as_ref(), &opts).await;
    println!("{report:?}");
    report.assert_passed();
    // The unowned Secret is untouched.
    let s = local
        .get_secret(remote_ns, &unowned)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data["keep"].expose(), b"me");
}

async fn setup(env: &common::Env) -> (DynCluster, kube::Client, String, String) {
    let client = env.client().await;
    let local = common::dyn_cluster(env.cluster().await);
    let creds = common::namespace(&client, "creds").await;
    let remote = common::namespace(&client, "remote").await;
    (local, client, creds, remote)
}

#[tokio::test]
async fn token_auth_with_ca_bundle() {
    let env = require_kube!();
    let (local, _, creds, remote) = setup(&env).await;
    common::put_secret(
        local.as_ref(),
        &creds,
        "token",
        &[("token", &env.admin_token)],
    )
    .await;
    let spec = json!({
        "server": {"url": env.server, "caBundle": env.ca_pem},
        "auth": {"token": {"bearerToken": {"name": "token", "key": "token"}}},
        "remoteNamespace": remote,
    });
    run(&local, &creds, &remote, spec).await;
}

#[tokio::test]
async fn cert_auth_with_ca_provider_secret() {
    let env = require_kube!();
    let (local, _, creds, remote) = setup(&env).await;
    let (cert, key) = env.admin_cert();
    common::put_secret(
        local.as_ref(),
        &creds,
        "client",
        &[
            ("tls.crt", &cert),
            ("tls.key", &key),
            ("ca.crt", &env.ca_pem),
        ],
    )
    .await;
    let spec = json!({
        "server": {"url": env.server,
                   "caProvider": {"type": "Secret", "name": "client", "key": "ca.crt"}},
        "auth": {"cert": {"clientCert": {"name": "client", "key": "tls.crt"},
                          "clientKey": {"name": "client", "key": "tls.key"}}},
        "remoteNamespace": remote,
    });
    run(&local, &creds, &remote, spec).await;
}

#[tokio::test]
async fn service_account_auth_with_ca_provider_config_map() {
    let env = require_kube!();
    let (local, client, creds, remote) = setup(&env).await;
    // A ServiceAccount in the credentials namespace, allowed to manage Secrets in `remote`.
    let sas: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), &creds);
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "reader"}})).unwrap(),
    )
    .await
    .unwrap();
    let roles: Api<Role> = Api::namespaced(client.clone(), &remote);
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "secrets"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &remote);
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "secrets"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secrets"},
                "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": creds}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &creds);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": "root-ca"}, "data": {"ca.crt": env.ca_pem}}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let spec = json!({
        "server": {"url": env.server,
                   "caProvider": {"type": "ConfigMap", "name": "root-ca", "key": "ca.crt"}},
        "auth": {"serviceAccount": {"name": "reader"}},
        "remoteNamespace": remote,
    });
    run(&local, &creds, &remote, spec).await;
}

#[tokio::test]
async fn auth_ref_kubeconfig() {
    let env = require_kube!();
    let (local, _, creds, remote) = setup(&env).await;
    local
        .create_secret(
            KubeSecret::new(&creds, "kubeconfig").with_data("value", env.kubeconfig.as_str()),
        )
        .await
        .unwrap();
    let spec =
        json!({"authRef": {"name": "kubeconfig", "key": "value"}, "remoteNamespace": remote});
    run(&local, &creds, &remote, spec).await;
}
