//! The VaultDynamicSecret generator against OpenBao's PKI engine (a certificate with a real
//! lease) and token engine.

mod common;

/// The generator spec a `VaultDynamicSecret` manifest would hold.
fn typed(spec: &serde_json::Value) -> eso_core::api::GeneratorSpec {
    serde_json::from_value(serde_json::json!({ "vaultDynamicSecretSpec": spec }))
        .expect("a VaultDynamicSecret spec")
}

use std::sync::Arc;

use eso_core::cluster::DynCluster;
use eso_core::generator::{Generator, GeneratorContext};
use eso_core::testing::conformance::unique_prefix;
use eso_provider_vault::VaultDynamicSecret;
use serde_json::json;

#[tokio::test]
async fn pki_issue_with_a_lease() {
    let env = require_vault!();
    let root = env.root();
    let mount = unique_prefix("pki");
    root.write(
        &format!("sys/mounts/{mount}"),
        json!({"type": "pki", "config": {"max_lease_ttl": "1h"}}),
    )
    .await;
    root.write(
        &format!("{mount}/root/generate/internal"),
        json!({"common_name": "eso-rs test root", "ttl": "1h"}),
    )
    .await;
    root.write(
        &format!("{mount}/roles/web"),
        json!({"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "10m", "generate_lease": true}),
    )
    .await;
    let cluster: DynCluster = Arc::new(common::cluster_with_token(&env));
    let generator = VaultDynamicSecret::new();
    let spec = json!({
        "path": format!("{mount}/issue/web"),
        "method": "POST",
        "parameters": {"common_name": "app.example.com", "ttl": "5m"},
        "provider": {"server": env.addr, "auth": common::token_auth()}
    });
    let out = generator
        .generate(&GeneratorContext::new(&typed(&spec), "default", &cluster))
        .await
        .unwrap();
    let cert = out.data["certificate"].expose_str().unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        out.data["private_key"]
            .expose_str()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    assert!(out.data.contains_key("serial_number"));
    assert!(
        out.data["ca_chain"].expose_str().unwrap().starts_with('['),
        "arrays are JSON"
    );
    let first_lease = out.state.clone().expect("a PKI lease is the state")["leaseID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first_lease.starts_with(&format!("{mount}/issue/web/")));

    // Raw: the whole answer, with the lease PKI created.
    let mut raw = spec.clone();
    raw["resultType"] = json!("Raw");
    let out = generator
        .generate(&GeneratorContext::new(&typed(&raw), "default", &cluster))
        .await
        .unwrap();
    let lease = out.data["lease_id"].expose_str().unwrap();
    assert!(lease.starts_with(&format!("{mount}/issue/web/")), "{lease}");
    assert_eq!(out.data["renewable"].expose(), b"false");
    let (status, body) = root
        .send(
            reqwest::Method::PUT,
            "sys/leases/lookup",
            None,
            Some(json!({"lease_id": lease})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(out.state, Some(json!({ "leaseID": lease })));
    // Cleanup revokes the lease the state names; again, and without a lease, it is done.
    let typed_spec = typed(&spec);
    let ctx = GeneratorContext::new(&typed_spec, "default", &cluster);
    for state in [out.state.clone().unwrap(), json!({"leaseID": first_lease})] {
        generator.cleanup(&ctx, &state).await.unwrap();
        generator.cleanup(&ctx, &state).await.unwrap();
        let (status, body) = root
            .send(
                reqwest::Method::PUT,
                "sys/leases/lookup",
                None,
                Some(json!({"lease_id": state["leaseID"]})),
            )
            .await;
        assert_eq!(status, 400, "revoked: {body}");
    }
    generator.cleanup(&ctx, &json!(null)).await.unwrap();
    let err = generator
        .cleanup(&ctx, &json!({"leaseID": 5}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.state.leaseID: must be a non-empty string"
    );
    generator.close().await.unwrap();
    root.delete(&format!("sys/mounts/{mount}")).await;
}

#[tokio::test]
async fn token_create_auth_result_and_get_parameters() {
    let env = require_vault!();
    let cluster: DynCluster = Arc::new(common::cluster_with_token(&env));
    let generator = VaultDynamicSecret::new();
    let spec = json!({
        "path": "auth/token/create",
        "method": "POST",
        "parameters": {"policies": ["eso"], "ttl": "10m", "meta": {"by": "eso-rs"}},
        "resultType": "Auth",
        "provider": {"server": env.addr, "auth": common::token_auth()}
    });
    let out = generator
        .generate(&GeneratorContext::new(&typed(&spec), "default", &cluster))
        .await
        .unwrap();
    let token = out.data["client_token"].expose_str().unwrap().to_owned();
    assert!(!token.is_empty());
    assert_eq!(out.data["lease_duration"].expose(), b"600");
    assert!(out.data["policies"].expose_str().unwrap().contains("eso"));
    assert!(
        !format!("{out:?}").contains(&token),
        "values are redacted in Debug"
    );

    // A GET with parameters: look the new token's accessor up through the Data section.
    let accessor = out.data["accessor"].expose_str().unwrap().to_owned();
    let spec = json!({
        "path": "auth/token/lookup-accessor",
        "method": "PUT",
        "parameters": {"accessor": accessor},
        "provider": {"server": env.addr, "auth": common::token_auth()}
    });
    let out = generator
        .generate(&GeneratorContext::new(&typed(&spec), "default", &cluster))
        .await
        .unwrap();
    assert_eq!(out.data["meta"].expose(), br#"{"by":"eso-rs"}"#);

    let spec = json!({
        "path": "sys/policies/acl",
        "method": "LIST",
        "provider": {"server": env.addr, "auth": common::token_auth()}
    });
    let out = generator
        .generate(&GeneratorContext::new(&typed(&spec), "default", &cluster))
        .await
        .unwrap();
    assert!(out.data["keys"].expose_str().unwrap().contains("eso"));

    let spec = json!({
        "path": "sys/wrapping/lookup",
        "getParameters": {"token": ["nope"]},
        "provider": {"server": env.addr, "auth": common::token_auth()}
    });
    assert!(
        generator
            .generate(&GeneratorContext::new(&typed(&spec), "default", &cluster))
            .await
            .is_err()
    );

    // An empty answer is an error unless allowed.
    let key = unique_prefix("gen");
    let spec = json!({
        "path": format!("secret/data/{key}"),
        "provider": {"server": env.addr, "auth": common::token_auth()}
    });
    let err = generator
        .generate(&GeneratorContext::new(&typed(&spec), "default", &cluster))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("allowEmptyResponse"), "{err}");
    let mut allowed = spec.clone();
    allowed["allowEmptyResponse"] = json!(true);
    let out = generator
        .generate(&GeneratorContext::new(
            &typed(&allowed),
            "default",
            &cluster,
        ))
        .await
        .unwrap();
    assert!(out.data.is_empty());
    generator.close().await.unwrap();
}
