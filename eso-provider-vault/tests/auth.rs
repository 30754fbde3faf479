//! Every auth method OpenBao offers here, each logging in for real and running a read/write
//! round trip (and the conformance suite for the login-based ones).

mod common;

use std::sync::Arc;

use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{Provider, PushRef, PushValue, RemoteRef, Validation};
use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};
use eso_core::{Error, SecretValue};
use eso_provider_vault::{Vault, VaultFactory};
use serde_json::{Value, json};

/// Validate, then a push and a read through the provider, then the conformance suite.
async fn exercise(v: &Vault) {
    assert_eq!(v.validate().await.unwrap(), Validation::Ready);
    let key = format!("{}/auth", unique_prefix("auth"));
    v.push_secret(
        &PushValue::Single(SecretValue::from("s3cret")),
        &PushRef::new(&key).with_property("password"),
    )
    .await
    .unwrap();
    let got = v
        .get_secret(&RemoteRef::new(&key).with_property("password"))
        .await
        .unwrap();
    assert_eq!(got.expose(), b"s3cret");
    v.delete_secret(&PushRef::new(&key)).await.unwrap();
    let report = run_conformance(
        v,
        &ConformanceOptions::new(unique_prefix("auth-conformance")).with_versions("1", "2"),
    )
    .await;
    report.assert_passed();
    assert_eq!(v.token_stats().logins, 1, "one login serves every call");
    v.close().await.unwrap();
}

fn spec(env: &common::Env, auth: Value) -> Value {
    json!({"server": env.addr, "path": "secret", "auth": auth})
}

#[tokio::test]
async fn token_secret_ref() {
    let env = require_vault!();
    let v = common::vault(
        spec(&env, common::token_auth()),
        common::cluster_with_token(&env),
    )
    .await;
    exercise(&v).await;
    assert_eq!(
        v.token_stats().revocations,
        0,
        "a static token is never revoked"
    );
}

#[tokio::test]
async fn app_role_with_inline_role_id() {
    let env = require_vault!();
    let role = require_var!("VAULT_APPROLE_ROLE_ID", common::START_OPENBAO);
    let secret = require_var!("VAULT_APPROLE_SECRET_ID", common::START_OPENBAO);
    let cluster = MemoryCluster::new()
        .with_secret(KubeSecret::new("default", "approle").with_data("secret-id", secret));
    let v = common::vault(
        spec(&env, json!({"appRole": {"roleId": role, "secretRef": {"name": "approle", "key": "secret-id"}}})),
        cluster,
    )
    .await;
    exercise(&v).await;
    assert_eq!(
        v.token_stats().revocations,
        1,
        "close revokes the login token"
    );
}

#[tokio::test]
async fn app_role_with_role_ref() {
    let env = require_vault!();
    let role = require_var!("VAULT_APPROLE_ROLE_ID", common::START_OPENBAO);
    let secret = require_var!("VAULT_APPROLE_SECRET_ID", common::START_OPENBAO);
    let cluster = MemoryCluster::new().with_secret(
        KubeSecret::new("default", "approle")
            .with_data("role-id", format!("{role}\n"))
            .with_data("secret-id", secret),
    );
    let v = common::vault(
        spec(
            &env,
            json!({"appRole": {"path": "approle", "roleRef": {"name": "approle", "key": "role-id"},
                   "secretRef": {"name": "approle", "key": "secret-id"}}}),
        ),
        cluster,
    )
    .await;
    exercise(&v).await;
}

#[tokio::test]
async fn app_role_with_a_wrong_secret_is_unauthenticated() {
    let env = require_vault!();
    let role = require_var!("VAULT_APPROLE_ROLE_ID", common::START_OPENBAO);
    let cluster = MemoryCluster::new().with_secret(
        KubeSecret::new("default", "approle").with_data("secret-id", "not-the-secret-id"),
    );
    let v = common::vault(
        spec(&env, json!({"appRole": {"roleId": role, "secretRef": {"name": "approle", "key": "secret-id"}}})),
        cluster,
    )
    .await;
    let err = v.get_secret(&RemoteRef::new("x")).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated { .. }), "{err:?}");
    assert!(err.to_string().contains("appRole login failed"), "{err}");
    assert!(!err.to_string().contains("not-the-secret-id"));
}

#[tokio::test]
async fn user_pass() {
    let env = require_vault!();
    let user = require_var!("VAULT_USERPASS_USERNAME", common::START_OPENBAO);
    let pass = require_var!("VAULT_USERPASS_PASSWORD", common::START_OPENBAO);
    let cluster = MemoryCluster::new()
        .with_secret(KubeSecret::new("default", "userpass").with_data("password", pass));
    let v = common::vault(
        spec(&env, json!({"userPass": {"username": user, "secretRef": {"name": "userpass", "key": "password"}}})),
        cluster,
    )
    .await;
    exercise(&v).await;
}

#[tokio::test]
async fn jwt_from_secret() {
    let env = require_vault!();
    let role = require_var!("VAULT_JWT_ROLE", common::START_OPENBAO);
    let jwt = require_var!("VAULT_JWT_TOKEN", common::START_OPENBAO);
    let cluster =
        MemoryCluster::new().with_secret(KubeSecret::new("default", "jwt").with_data("jwt", jwt));
    let v = common::vault(
        spec(
            &env,
            json!({"jwt": {"role": role, "secretRef": {"name": "jwt", "key": "jwt"}}}),
        ),
        cluster,
    )
    .await;
    exercise(&v).await;
}

#[tokio::test]
async fn cert_login_over_mtls() {
    let env = require_vault!();
    let role = require_var!("VAULT_CERT_ROLE", common::START_OPENBAO);
    let cert = require_var!("VAULT_CLIENT_CERT", common::START_OPENBAO);
    let key = require_var!("VAULT_CLIENT_KEY", common::START_OPENBAO);
    let cert = std::fs::read_to_string(&cert).expect("VAULT_CLIENT_CERT names a readable file");
    let key = std::fs::read_to_string(&key).expect("VAULT_CLIENT_KEY names a readable file");
    let cluster = MemoryCluster::new().with_secret(
        KubeSecret::new("default", "client-tls")
            .with_type("kubernetes.io/tls")
            .with_data("tls.crt", cert)
            .with_data("tls.key", key),
    );
    // cert login, and the same certificate presented on every request (mTLS block).
    let v = common::vault(
        json!({"server": env.tls_addr, "path": "secret", "caBundle": env.ca_pem,
               "tls": {"certSecretRef": {"name": "client-tls"}, "keySecretRef": {"name": "client-tls"}},
               "auth": {"cert": {"vaultRole": role,
                                  "clientCert": {"name": "client-tls", "key": "tls.crt"},
                                  "secretRef": {"name": "client-tls", "key": "tls.key"}}}}),
        cluster,
    )
    .await;
    exercise(&v).await;
}

#[tokio::test]
async fn tls_without_the_ca_fails_clearly() {
    let env = require_vault!();
    let v = common::vault(
        json!({"server": env.tls_addr, "path": "secret", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    let err = v.get_secret(&RemoteRef::new("x")).await.unwrap_err();
    assert!(err.is_temporary(), "{err:?}");
    let bad = VaultFactory::new();
    let cluster: DynCluster = Arc::new(common::cluster_with_token(&env));
    let store = eso_core::provider::StoreIdentity::new(
        eso_core::provider::StoreScope::Namespaced,
        "default",
        "s",
    );
    let spec: eso_core::api::SecretStoreProvider = serde_json::from_value(
        json!({"vault": {"server": env.tls_addr, "caBundle": "bm90IGEgY2VydA==", "auth": common::token_auth()}}),
    )
    .unwrap();
    let err = bad
        .build(&eso_core::provider::StoreContext::new(
            &store, &spec, "default", &cluster,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.provider.vault.caBundle: is neither a PEM certificate bundle nor base64 of one"
    );
}

#[tokio::test]
async fn kubernetes_with_secret_ref() {
    let env = require_vault!();
    let role = require_var!("VAULT_KUBERNETES_ROLE", common::START_KUBE);
    let sa_token = require_var!("KUBE_SA_TOKEN", common::START_KUBE);
    let cluster = MemoryCluster::new()
        .with_secret(KubeSecret::new("default", "sa-token").with_data("token", sa_token));
    let v = common::vault(
        spec(
            &env,
            json!({"kubernetes": {"role": role, "secretRef": {"name": "sa-token"}}}),
        ),
        cluster,
    )
    .await;
    exercise(&v).await;
}

#[tokio::test]
async fn kubernetes_with_service_account_ref_token_request() {
    let env = require_vault!();
    let role = require_var!("VAULT_KUBERNETES_ROLE", common::START_KUBE);
    let Some(cluster) = common::KubeTokenCluster::from_env(MemoryCluster::new()) else {
        return eso_core::testing::backend_unavailable(
            "KUBE_API_SERVER, KUBE_ADMIN_TOKEN or KUBE_CA_CERT",
            "scripts/backends/kube.sh start",
        );
    };
    let v = common::vault(
        spec(
            &env,
            json!({"kubernetes": {"role": role, "serviceAccountRef": {"name": "eso"}}}),
        ),
        cluster,
    )
    .await;
    exercise(&v).await;
}

#[tokio::test]
async fn kubernetes_with_the_pod_token_file() {
    let env = require_vault!();
    let role = require_var!("VAULT_KUBERNETES_ROLE", common::START_KUBE);
    let sa_token = require_var!("KUBE_SA_TOKEN", common::START_KUBE);
    let dir = std::env::temp_dir().join(unique_prefix("eso-vault-pod-token"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, format!("{sa_token}\n")).unwrap();
    let v = common::vault_with(
        VaultFactory::new().with_pod_token_path(&file),
        spec(&env, json!({"kubernetes": {"role": role}})),
        Arc::new(MemoryCluster::new()),
    )
    .await;
    exercise(&v).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn service_account_ref_without_token_request_support_is_not_supported() {
    let env = require_vault!();
    let v = common::vault(
        spec(
            &env,
            json!({"kubernetes": {"role": "eso", "serviceAccountRef": {"name": "eso"}}}),
        ),
        MemoryCluster::new(),
    )
    .await;
    let err = v.validate().await.unwrap_err();
    assert!(matches!(err, Error::NotSupported(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("spec.provider.vault.auth.kubernetes.serviceAccountRef"),
        "{err}"
    );
}

/// No LDAP directory runs here, so the ldap method is checked up to the server: it reads its
/// password Secret and posts to `auth/<path>/login/<username>`, which this OpenBao (no ldap
/// mount) refuses; the error names that path, so the request went where an LDAP login goes.
#[tokio::test]
async fn ldap_login_posts_to_the_ldap_mount() {
    let env = require_vault!();
    let cluster = MemoryCluster::new()
        .with_secret(KubeSecret::new("default", "ldap").with_data("password", "ldap-canary-7f3"));
    let v = common::vault(
        spec(
            &env,
            json!({"ldap": {"path": "ldap-missing", "username": "alice",
                            "secretRef": {"name": "ldap", "key": "password"}}}),
        ),
        cluster,
    )
    .await;
    let err = v.validate().await.unwrap_err();
    assert!(
        err.to_string().contains("auth/ldap-missing/login/alice"),
        "{err}"
    );
    assert!(!err.to_string().contains("ldap-canary-7f3"), "{err}");
}

#[tokio::test]
async fn auth_namespace_differs_from_provider_namespace() {
    let env = require_vault!();
    let ns = require_var!("VAULT_TEST_NAMESPACE", common::START_OPENBAO);
    let user = require_var!("VAULT_USERPASS_USERNAME", common::START_OPENBAO);
    let pass = require_var!("VAULT_USERPASS_PASSWORD", common::START_OPENBAO);
    // Log in at the root namespace (where userpass lives), read and write in team-a.
    let cluster = MemoryCluster::new()
        .with_secret(KubeSecret::new("default", "userpass").with_data("password", pass));
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "namespace": ns,
               "auth": {"namespace": "", "userPass": {"username": user, "secretRef": {"name": "userpass", "key": "password"}}}}),
        cluster.clone(),
    )
    .await;
    // An empty auth namespace means "same as the provider": userpass is not mounted in team-a.
    assert!(v.validate().await.is_err());
    let root_ns = json!({"server": env.addr, "path": "secret", "namespace": ns,
        "auth": {"namespace": "root", "userPass": {"username": user, "secretRef": {"name": "userpass", "key": "password"}}}});
    let v = common::vault(root_ns, cluster).await;
    let key = format!("{}/x", unique_prefix("authns"));
    v.push_secret(
        &PushValue::Single(SecretValue::from(r#"{"a":"b"}"#)),
        &PushRef::new(&key),
    )
    .await
    .unwrap();
    let (status, body) = env
        .root()
        .send(
            reqwest::Method::GET,
            &format!("secret/data/{key}"),
            Some(&ns),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["data"]["a"], "b");
    v.delete_secret(&PushRef::new(&key)).await.unwrap();
    v.close().await.unwrap();
}
