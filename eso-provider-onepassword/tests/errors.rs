//! Errors against the Connect test server: they name the store and the field and never
//! carry the token.

mod common;

use eso_core::api::SecretStoreProvider;
use eso_core::cluster::{DynCluster, MemoryCluster};
use eso_core::provider::{
    Provider, ProviderRegistry, RemoteRef, StoreContext, StoreIdentity, StoreScope,
};
use eso_core::testing::conformance::unique_prefix;
use serde_json::json;

#[tokio::test]
async fn errors_name_store_and_field_without_the_token() {
    let Some(env) = common::env() else { return };
    let (primary, secondary) = (&env.vaults[0], &env.vaults[1]);

    // A wrong token: Unauthenticated, naming the store, without the token.
    let spec = env.spec(json!({primary: 1}), "wrong");
    let p = env.build(&spec).await.unwrap();
    let e = p.validate().await.unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, eso_core::Error::Unauthenticated { .. }),
        "{msg}"
    );
    assert!(msg.contains("SecretStore apps/op"), "{msg}");
    assert!(msg.contains("Invalid token signature"), "{msg}");
    assert!(!msg.contains("not-a-connect-token"), "{msg}");

    // A vault the token cannot see is a configuration error at its field, not a missing
    // secret (deletion policies must not act on it).
    let spec = env.spec(json!({primary: 1, secondary: 2}), "limited");
    let p = env.build(&spec).await.unwrap();
    let e = p
        .get_secret(&RemoteRef::new(unique_prefix("absent")))
        .await
        .unwrap_err();
    assert!(!e.is_not_found(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("spec.provider.onepassword.vaults.{secondary}")),
        "{msg}"
    );
    assert!(!msg.contains(&env.limited_token), "{msg}");
    let e = p.validate().await.unwrap_err();
    assert!(e.to_string().contains(secondary.as_str()), "{e}");

    // A missing token Secret key names the reference.
    let e = env
        .build(&env.spec(json!({primary: 1}), "absent-key"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("spec.provider.onepassword.auth.secretRef.connectTokenSecretRef"),
        "{e}"
    );
}

#[tokio::test]
async fn store_validation_and_the_sdk_kind() {
    let Some(env) = common::env() else { return };
    let mut registry = ProviderRegistry::new();
    eso_provider_onepassword::register(&mut registry);
    let cluster: DynCluster = std::sync::Arc::new(MemoryCluster::new());
    let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "op");
    // Duplicate order numbers are refused before anything is built.
    let spec = env.spec(json!({"a": 1, "b": 1}), "token");
    let e = registry
        .provider(&StoreContext::new(&store, &spec, "apps", &cluster))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("spec.provider.onepassword.vaults.b"),
        "{e}"
    );
    // onepasswordSDK needs 1Password's own service: refused, naming the kind.
    let spec: SecretStoreProvider = serde_json::from_value(json!({"onepasswordSDK": {
        "vault": "prod", "auth": {"serviceAccountSecretRef": {"name": "op", "key": "token"}}}}))
    .unwrap();
    let e = registry
        .provider(&StoreContext::new(&store, &spec, "apps", &cluster))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::NotSupported { .. }), "{e}");
    assert!(e.to_string().contains("onepasswordSDK"), "{e}");
}
