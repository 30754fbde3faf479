//! The ACRAccessToken generator against the test server's registry token endpoints
//! (`scripts/backends/azure.sh start`): an Entra ID token (service principal, authority host
//! from `AZURE_AUTHORITY_HOST`) exchanged for a refresh token, then for a scoped access token.

mod common;

use std::sync::Arc;

use eso_core::api::GeneratorSpec;
use eso_core::cluster::DynCluster;
use eso_core::generator::{Generator, GeneratorContext};
use eso_provider_azure::{ACR_USERNAME, AcrAccessToken};
use serde_json::json;

#[tokio::test]
async fn refresh_token_and_scoped_access_token() {
    let env = require_azure!();
    let registry = env.authority.trim_start_matches("https://").to_owned();
    let cluster: DynCluster = Arc::new(env.cluster(&env.client_id, &env.client_secret).await);
    let spec = |scope: Option<&str>| -> GeneratorSpec {
        let mut s = json!({"registry": registry, "tenantId": env.tenant,
            "auth": {"servicePrincipal": {"secretRef": {
                "clientId": {"name": "azure-sp", "key": "client-id"},
                "clientSecret": {"name": "azure-sp", "key": "client-secret"}}}}});
        if let Some(sc) = scope {
            s["scope"] = json!(sc);
        }
        GeneratorSpec {
            acr_access_token_spec: Some(serde_json::from_value(s).unwrap()),
            ..Default::default()
        }
    };
    let s = spec(None);
    let out = AcrAccessToken::new()
        .generate(&GeneratorContext::new(&s, "default", &cluster))
        .await
        .unwrap();
    assert_eq!(out.data["username"].expose(), ACR_USERNAME.as_bytes());
    assert!(
        out.data["password"]
            .expose_str()
            .unwrap()
            .starts_with("acr-refresh.")
    );

    let s = spec(Some("repository:app:pull"));
    let out = AcrAccessToken::new()
        .generate(&GeneratorContext::new(&s, "default", &cluster))
        .await
        .unwrap();
    assert!(
        out.data["password"]
            .expose_str()
            .unwrap()
            .starts_with("acr-access.repository_app_pull."),
        "{:?}",
        out.data["password"].expose_str()
    );

    // A wrong client secret is an authentication error.
    let cluster: DynCluster = Arc::new(env.cluster(&env.client_id, "wrong").await);
    let s = spec(None);
    let e = AcrAccessToken::new()
        .generate(&GeneratorContext::new(&s, "default", &cluster))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::Unauthenticated { .. }), "{e}");
}
