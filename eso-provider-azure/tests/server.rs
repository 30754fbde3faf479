//! Behaviour against the Key Vault test server (`scripts/backends/azure.sh start`) beyond the
//! conformance suite: versions, tags metadata, find over several pages, ownership with whole
//! values, soft-deleted names, and each auth kind checked at the token endpoint.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::cluster::{
    Cluster, DynCluster, KubeConfigMap, KubeNamespace, KubeSecret, LabelQuery, MemoryCluster,
};
use eso_core::provider::{
    FindRef, MetadataPolicy, PushRef, PushValue, RemoteRef, StoreIdentity, StoreScope, Validation,
};
use eso_core::{Error, Result, SecretValue};
use eso_provider_azure::AzureFactory;
use futures_util::TryStreamExt as _;
use serde_json::{Value, json};

fn push(v: &str) -> PushValue {
    PushValue::Single(SecretValue::from(v))
}

/// The token requests the server received (form fields, secrets masked).
async fn token_requests(env: &common::Env) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!("{}/_test/token-requests", env.authority))
        .send()
        .await
        .expect("test server reachable (SSL_CERT_FILE must hold its CA)");
    r.json().await.unwrap()
}

#[tokio::test]
async fn versions_and_tags_metadata() {
    let env = require_azure!();
    let p = env.provider().await;
    let name = common::unique("versions");
    let meta = json!({"spec": {"tags": {"team": "a"}, "contentType": "application/json"}});
    for v in [r#"{"k":"1"}"#, r#"{"k":"2"}"#] {
        p.push_secret(
            &push(v),
            &PushRef::new(format!("secret/{name}")).with_metadata(meta.clone()),
        )
        .await
        .unwrap();
    }
    let versions: Vec<_> = env
        .sdk()
        .list_secret_properties_versions(&name, None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    let first = env.read(&name).await.unwrap();
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    // The oldest version, by its ID.
    let ids: Vec<String> = versions
        .iter()
        .map(|v| v.id.clone().unwrap().rsplit('/').next().unwrap().to_owned())
        .collect();
    let latest_id = first.id.unwrap().rsplit('/').next().unwrap().to_owned();
    let old = ids.iter().find(|i| **i != latest_id).unwrap();
    let got = p
        .get_secret(&RemoteRef::new(&name).with_version(old).with_property("k"))
        .await
        .unwrap();
    assert_eq!(got.expose(), b"1");
    let got = p
        .get_secret(&RemoteRef::new(format!("secret/{name}")).with_property("k"))
        .await
        .unwrap();
    assert_eq!(got.expose(), b"2");
    let tags = p
        .get_secret(&RemoteRef::new(&name).with_metadata_policy(MetadataPolicy::Fetch))
        .await
        .unwrap();
    let tags: Value = serde_json::from_slice(tags.expose()).unwrap();
    assert_eq!(tags, json!({"managed-by": "external-secrets", "team": "a"}));
    let team = p
        .get_secret(
            &RemoteRef::new(&name)
                .with_metadata_policy(MetadataPolicy::Fetch)
                .with_property("team"),
        )
        .await
        .unwrap();
    assert_eq!(team.expose(), b"a");
    // Unchanged value and metadata: no third version.
    p.push_secret(
        &push(r#"{"k":"2"}"#),
        &PushRef::new(&name).with_metadata(meta),
    )
    .await
    .unwrap();
    let n = env
        .sdk()
        .list_secret_properties_versions(&name, None)
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn find_over_several_pages() {
    let env = require_azure!();
    let p = env.provider().await;
    let prefix = common::unique("paged");
    // 30 matches: more than one page of 25.
    for i in 0..30 {
        env.seed(
            &format!("{prefix}-{i}"),
            &format!("v{i}"),
            &[("batch", &prefix)],
        )
        .await;
    }
    let by_tag = p
        .get_all_secrets(&FindRef::default().with_tag("batch", &prefix))
        .await
        .unwrap();
    assert_eq!(by_tag.len(), 30);
    assert_eq!(by_tag[&format!("{prefix}-7")].expose(), b"v7");
    let by_name = p
        .get_all_secrets(
            &FindRef::default()
                .with_name_regexp(&format!("^{prefix}-1[0-9]$"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(by_name.len(), 10);
}

#[tokio::test]
async fn foreign_secret_is_neither_overwritten_nor_deleted() {
    let env = require_azure!();
    let p = env.provider().await;
    let name = common::unique("foreign");
    env.seed(&name, "theirs", &[]).await;
    let e = p
        .push_secret(&push("ours"), &PushRef::new(&name))
        .await
        .unwrap_err();
    assert!(e.is_not_managed(), "{e}");
    assert!(
        e.to_string().contains("not managed by external-secrets"),
        "{e}"
    );
    let e = p.delete_secret(&PushRef::new(&name)).await.unwrap_err();
    assert!(e.is_not_managed(), "{e}");
    assert_eq!(
        env.read(&name).await.unwrap().value.as_deref(),
        Some("theirs")
    );
}

#[tokio::test]
async fn soft_deleted_name_is_recovered_then_written() {
    let env = require_azure!();
    let p = env.provider().await;
    let name = common::unique("softdel");
    p.push_secret(&push("v1"), &PushRef::new(&name))
        .await
        .unwrap();
    p.delete_secret(&PushRef::new(&name)).await.unwrap();
    assert!(env.read(&name).await.is_none());
    // Setting a soft-deleted name is a 409 in Key Vault: the provider recovers it first.
    p.push_secret(&push("v2"), &PushRef::new(&name))
        .await
        .unwrap();
    let s = env.read(&name).await.unwrap();
    assert_eq!(s.value.as_deref(), Some("v2"));
    let versions: Vec<_> = env
        .sdk()
        .list_secret_properties_versions(&name, None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 2, "the recovered history is kept");
}

#[tokio::test]
async fn client_secret_token_request_and_expired_secret() {
    let env = require_azure!();
    let p = env.provider().await;
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let reqs = token_requests(&env).await;
    assert!(reqs.iter().any(|r| {
        r["client_id"] == env.client_id
            && r["grant_type"] == "client_credentials"
            && r["tenant"] == env.tenant.as_str()
            && r["client_secret"]
                .as_str()
                .is_some_and(|s| s.starts_with('<'))
    }));

    let p = env
        .try_provider_as(
            &env.expired_client_id,
            &env.expired_client_secret,
            json!({}),
        )
        .await
        .unwrap();
    let e = p.get_secret(&RemoteRef::new("anything")).await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("store default/azure-test"), "{msg}");
    assert!(msg.contains("AADSTS7000222"), "{msg}");
    let e = p.validate().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
}

/// A MemoryCluster that answers TokenRequests with an unsigned JWT for the ServiceAccount.
#[derive(Debug)]
struct TokenCluster(MemoryCluster);

#[async_trait]
impl Cluster for TokenCluster {
    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        self.0.get_secret(namespace, name).await
    }
    async fn list_secrets(&self, namespace: &str, labels: &LabelQuery) -> Result<Vec<KubeSecret>> {
        self.0.list_secrets(namespace, labels).await
    }
    async fn create_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        self.0.create_secret(secret).await
    }
    async fn update_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        self.0.update_secret(secret).await
    }
    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.0.delete_secret(namespace, name).await
    }
    async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<KubeConfigMap>> {
        self.0.get_config_map(namespace, name).await
    }
    async fn list_namespaces(&self, labels: &LabelQuery) -> Result<Vec<KubeNamespace>> {
        self.0.list_namespaces(labels).await
    }
    async fn create_service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<SecretValue> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let exp = jiff::Timestamp::now().as_second() + expiration_seconds;
        let claims = json!({"iss": "https://kubernetes.default.svc", "aud": audiences,
            "sub": format!("system:serviceaccount:{namespace}:{name}"), "exp": exp});
        Ok(SecretValue::from(format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"RS256"}"#),
            b64.encode(claims.to_string())
        )))
    }
}

#[tokio::test]
async fn workload_identity_exchanges_a_service_account_token() {
    let env = require_azure!();
    let Ok(client) = std::env::var("AZURE_FEDERATED_CLIENT_ID") else {
        return eso_core::testing::backend_unavailable(
            "AZURE_FEDERATED_CLIENT_ID",
            "scripts/backends/azure.sh start",
        );
    };
    let mem = MemoryCluster::new();
    mem.create_secret(KubeSecret::new("default", "wi").with_data("client-id", client.as_str()))
        .await
        .unwrap();
    let cluster: DynCluster = Arc::new(TokenCluster(mem));
    let mut spec = env.spec();
    spec["authType"] = json!("WorkloadIdentity");
    spec["serviceAccountRef"] = json!({"name": "eso"});
    spec["authSecretRef"] = json!({"clientId": {"name": "wi", "key": "client-id"}});
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "azure-wi");
    let p = eso_core::testing::provider_for(
        Arc::new(AzureFactory::new()),
        &store,
        &json!({ "azurekv": spec }),
        "default",
        &cluster,
        None,
    )
    .await
    .unwrap();
    let name = common::unique("wi");
    env.seed(&name, "from-wi", &[]).await;
    assert_eq!(
        p.get_secret(&RemoteRef::new(&name)).await.unwrap().expose(),
        b"from-wi"
    );
    let reqs = token_requests(&env).await;
    assert!(
        reqs.iter().any(|r| r["client_id"] == client.as_str()
            && r["client_assertion_type"]
                == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        "{reqs:?}"
    );

    // Another ServiceAccount is not federated with the client.
    let mut spec = env.spec();
    spec["authType"] = json!("WorkloadIdentity");
    spec["serviceAccountRef"] = json!({"name": "intruder"});
    spec["authSecretRef"] = json!({"clientId": {"name": "wi", "key": "client-id"}});
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "azure-wi2");
    let p = eso_core::testing::provider_for(
        Arc::new(AzureFactory::new()),
        &store,
        &json!({ "azurekv": spec }),
        "default",
        &cluster,
        None,
    )
    .await
    .unwrap();
    let e = p.get_secret(&RemoteRef::new(&name)).await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    assert!(e.to_string().contains("AADSTS70021"), "{e}");
}

#[tokio::test]
async fn client_certificate_signs_an_assertion_the_token_endpoint_verifies() {
    let env = require_azure!();
    let (Ok(client), Ok(pem_file)) = (
        std::env::var("AZURE_CERT_CLIENT_ID"),
        std::env::var("AZURE_TEST_CERT_PEM"),
    ) else {
        return eso_core::testing::backend_unavailable(
            "AZURE_CERT_CLIENT_ID",
            "scripts/backends/azure.sh start",
        );
    };
    let pem = std::fs::read(pem_file).unwrap();
    let mem = MemoryCluster::new();
    mem.create_secret(
        KubeSecret::new("default", "cert-sp")
            .with_data("client-id", client.as_str())
            .with_data("tls.pem", SecretValue::new(pem)),
    )
    .await
    .unwrap();
    let cluster: DynCluster = Arc::new(mem);
    let mut spec = env.spec();
    spec["authSecretRef"] = json!({"clientId": {"name": "cert-sp", "key": "client-id"},
        "clientCertificate": {"name": "cert-sp", "key": "tls.pem"}});
    let store = StoreIdentity::new(StoreScope::Namespaced, "default", "azure-cert");
    let p = eso_core::testing::provider_for(
        Arc::new(AzureFactory::new()),
        &store,
        &json!({ "azurekv": spec }),
        "default",
        &cluster,
        None,
    )
    .await
    .unwrap();
    let name = common::unique("certauth");
    env.seed(&name, "via-cert", &[]).await;
    assert_eq!(
        p.get_secret(&RemoteRef::new(&name)).await.unwrap().expose(),
        b"via-cert"
    );
    let reqs = token_requests(&env).await;
    assert!(
        reqs.iter().any(|r| r["client_id"] == client.as_str()
            && r["client_assertion_type"]
                == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            && r.get("client_secret").is_none()),
        "{reqs:?}"
    );
}
