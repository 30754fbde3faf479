//! The shared provider conformance suite against a real OpenBao: KV v2 and v1, over TLS (CA
//! from `caBundle` and from a `caProvider` ConfigMap), and inside a namespace.

mod common;

use eso_core::cluster::KubeConfigMap;
use eso_core::provider::Provider;
use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};
use eso_provider_vault::Vault;
use serde_json::json;

/// Runs the suite with an unowned secret seeded under the prefix (by the root token, without
/// the ownership marker), then removes it.
async fn run(env: &common::Env, vault: &Vault, mount: &str, v2: bool, ns: Option<&str>) {
    let opts = ConformanceOptions::new(unique_prefix("conformance"));
    let unowned = format!("{}/foreign", opts.prefix());
    let root = env.root();
    let (path, body) = if v2 {
        (
            format!("{mount}/data/{unowned}"),
            json!({"data": {"owner": "someone"}}),
        )
    } else {
        (format!("{mount}/{unowned}"), json!({"owner": "someone"}))
    };
    match ns {
        Some(ns) => root.write_ns(ns, &path, body).await,
        None => root.write(&path, body).await,
    };
    let opts = if v2 {
        opts.with_versions("1", "2")
    } else {
        opts
    };
    let report = run_conformance(vault, &opts.with_unowned_key(&unowned)).await;
    println!("{vault}: {report}");
    let cleanup = if v2 {
        format!("{mount}/metadata/{unowned}")
    } else {
        format!("{mount}/{unowned}")
    };
    match ns {
        Some(ns) => {
            root.send(reqwest::Method::DELETE, &cleanup, Some(ns), None)
                .await;
        }
        None => root.delete(&cleanup).await,
    }
    report.assert_passed();
    assert!(report.failed.is_empty());
    let caps = vault.capabilities();
    assert_eq!(caps.versions, v2);
    // With KV v2 nothing is skipped; v1 skips versions, metadata and tags.
    if v2 {
        assert!(report.skipped.is_empty(), "{report}");
    }
}

#[tokio::test]
async fn kv2_over_http() {
    let env = require_vault!();
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "version": "v2", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    run(&env, &v, "secret", true, None).await;
}

#[tokio::test]
async fn kv1_over_http() {
    let env = require_vault!();
    let v = common::vault(
        json!({"server": env.addr, "path": "kv1", "version": "v1", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    run(&env, &v, "kv1", false, None).await;
}

#[tokio::test]
async fn kv2_over_tls_with_ca_bundle() {
    let env = require_vault!();
    assert!(
        !env.ca_pem.is_empty(),
        "VAULT_CACERT must point at the CA PEM"
    );
    let v = common::vault(
        json!({"server": env.tls_addr, "path": "kv2", "caBundle": env.ca_pem,
               "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    run(&env, &v, "kv2", true, None).await;
}

#[tokio::test]
async fn kv1_over_tls_with_ca_provider_config_map() {
    let env = require_vault!();
    let cluster = common::cluster_with_token(&env).with_config_map(
        KubeConfigMap::new("default", "vault-ca").with_data("ca.crt", &env.ca_pem),
    );
    let v = common::vault(
        json!({"server": env.tls_addr, "path": "kv1", "version": "v1",
               "caProvider": {"type": "ConfigMap", "name": "vault-ca", "key": "ca.crt"},
               "auth": common::token_auth()}),
        cluster,
    )
    .await;
    run(&env, &v, "kv1", false, None).await;
}

#[tokio::test]
async fn kv2_inside_a_namespace() {
    let env = require_vault!();
    let ns = require_var!("VAULT_TEST_NAMESPACE", common::START_OPENBAO);
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "namespace": ns, "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    run(&env, &v, "secret", true, Some(&ns)).await;
}
