//! Secrets Manager details against moto: versions, metadata, push formats and tags, pushing
//! to a secret without versions, prefix with find, and auth (secretRef, role assumption,
//! web identity).

mod common;

use async_trait::async_trait;
use eso_core::cluster::{
    Cluster, KubeConfigMap, KubeNamespace, KubeSecret, LabelQuery, MemoryCluster,
};
use eso_core::provider::{
    FindRef, MetadataPolicy, ProviderExt as _, PushRef, PushValue, RemoteRef,
};
use eso_core::testing::conformance::unique_prefix;
use eso_core::{Result, SecretValue};
use serde_json::json;

#[tokio::test]
async fn versions_metadata_formats_and_unversioned_secrets() {
    let env = require_moto!();
    let p = common::provider(
        json!({"service": "SecretsManager", "region": env.region}),
        MemoryCluster::new(),
    )
    .await;
    let key = format!("{}/v", unique_prefix("sm"));
    let meta = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
        "spec": {"secretPushFormat": "string", "tags": {"team": "a"}, "description": "d"}});
    let r = PushRef::new(&key).with_metadata(meta);
    p.push_secret(&PushValue::Single("one".into()), &r)
        .await
        .unwrap();
    p.push_secret(&PushValue::Single("two".into()), &r)
        .await
        .unwrap();
    let sm = env.sm().await;
    let d = sm.describe_secret().secret_id(&key).send().await.unwrap();
    assert_eq!(d.description(), Some("d"));
    let first = d
        .version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, s)| s.iter().any(|s| s == "AWSPREVIOUS"))
        .map(|(id, _)| id.clone())
        .unwrap();
    let got = |r: RemoteRef| {
        let p = p.clone();
        async move { p.get_secret(&r).await.map(|v| v.expose().to_vec()) }
    };
    assert_eq!(got(RemoteRef::new(&key)).await.unwrap(), b"two");
    assert_eq!(
        got(RemoteRef::new(&key).with_version("AWSPREVIOUS"))
            .await
            .unwrap(),
        b"one"
    );
    assert_eq!(
        got(RemoteRef::new(&key).with_version(format!("uuid/{first}")))
            .await
            .unwrap(),
        b"one"
    );
    let v = sm.get_secret_value().secret_id(&key).send().await.unwrap();
    assert_eq!(v.secret_string(), Some("two"), "secretPushFormat string");
    let tags = got(RemoteRef::new(&key).with_metadata_policy(MetadataPolicy::Fetch))
        .await
        .unwrap();
    let tags: serde_json::Value = serde_json::from_slice(&tags).unwrap();
    assert_eq!(tags, json!({"team": "a", "managed-by": "external-secrets"}));

    // A managed secret without any version takes the first one (ESO #4833).
    let empty = format!("{}/empty", unique_prefix("sm"));
    sm.create_secret()
        .name(&empty)
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("managed-by")
                .value("external-secrets")
                .build(),
        )
        .send()
        .await
        .unwrap();
    p.push_secret(
        &PushValue::Single("first".into()),
        &PushRef::new(&empty).with_property("a"),
    )
    .await
    .unwrap();
    assert_eq!(
        got(RemoteRef::new(&empty).with_property("a"))
            .await
            .unwrap(),
        b"first"
    );
}

#[tokio::test]
async fn prefix_applies_once_and_find_reads_in_batches() {
    let env = require_moto!();
    let base = unique_prefix("pfx");
    let p = common::provider(
        json!({"service": "SecretsManager", "region": env.region, "prefix": format!("{base}/"),
               "secretsManager": {"forceDeleteWithoutRecovery": true}}),
        MemoryCluster::new(),
    )
    .await;
    for i in 0..3 {
        p.push_secret(
            &PushValue::Single(format!("v{i}").into()),
            &PushRef::new(format!("app/k{i}")),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        p.get_secret(&RemoteRef::new("app/k1"))
            .await
            .unwrap()
            .expose(),
        b"v1"
    );
    // Found names are complete: no second prefix (ESO's ListSecrets path adds one).
    let find = FindRef::default()
        .with_name_regexp(&format!("^{base}/app/"))
        .unwrap();
    let all = p.get_all_secrets(&find).await.unwrap();
    assert_eq!(all.len(), 3, "{:?}", all.keys());
    assert_eq!(all[&format!("{base}/app/k2")].expose(), b"v2");
    let batch = p
        .get_secrets(&[
            RemoteRef::new("app/k0"),
            RemoteRef::new("app/nope"),
            RemoteRef::new("app/k0"),
        ])
        .await;
    assert_eq!(batch[0].as_ref().unwrap().expose(), b"v0");
    assert!(batch[1].as_ref().unwrap_err().is_not_found());
    assert_eq!(batch[2].as_ref().unwrap().expose(), b"v0");
}

/// A MemoryCluster whose TokenRequest returns a fixed JWT (moto does not verify it).
#[derive(Debug, Clone)]
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
        _namespace: &str,
        _name: &str,
        audiences: &[String],
        _expiration_seconds: i64,
    ) -> Result<SecretValue> {
        assert_eq!(audiences, ["sts.amazonaws.com"]);
        Ok(SecretValue::from(
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDplc28ifQ.c2ln",
        ))
    }
}

#[tokio::test]
async fn auth_secret_ref_role_chain_and_web_identity() {
    let env = require_moto!();
    let cluster = MemoryCluster::new().with_secret(
        KubeSecret::new("default", "aws")
            .with_data("id", "AKIDEXAMPLE")
            .with_data("secret", "shh"),
    );
    let role = env.iam_role("eso").await;
    let chained = env.iam_role("eso-first").await;
    let spec = json!({"service": "SecretsManager", "region": env.region,
        "role": role, "additionalRoles": [chained], "externalID": "ext-1",
        "sessionTags": [{"key": "team", "value": "a"}], "transitiveTagKeys": ["team"],
        "sessionTagsPolicy": "Custom", "customSessionTags": {"env": "test"},
        "auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "aws", "key": "id"},
                               "secretAccessKeySecretRef": {"name": "aws", "key": "secret"}}}});
    let p = common::provider(spec, cluster.clone()).await;
    env.start_recording().await;
    assert!(p.validate().await.is_ok());
    let log = env.stop_recording().await;
    let assumed: Vec<_> = log
        .iter()
        .filter(|(_, b)| b.contains("Action=AssumeRole&"))
        .collect();
    assert_eq!(assumed.len(), 2, "{log:?}");
    let last = &assumed[1].1;
    for part in [
        "ExternalId=ext-1",
        "esoStoreName",
        "Tags.member",
        "TransitiveTagKeys",
    ] {
        assert!(last.contains(part), "{part} in {last}");
    }
    // A missing credential Secret names the field.
    let e = common::try_provider(
        json!({"service": "SecretsManager", "region": env.region,
               "auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "nope", "key": "id"},
                                      "secretAccessKeySecretRef": {"name": "aws", "key": "secret"}}}}),
        cluster.clone(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("accessKeyIDSecretRef"), "{e}");

    // Web identity: the ServiceAccount token is exchanged for `role`.
    let spec = json!({"service": "ParameterStore", "region": env.region, "role": role,
        "auth": {"jwt": {"serviceAccountRef": {"name": "eso"}}}});
    let cluster: eso_core::cluster::DynCluster = std::sync::Arc::new(TokenCluster(cluster));
    let store = eso_core::provider::StoreIdentity::new(
        eso_core::provider::StoreScope::Namespaced,
        "default",
        "jwt",
    );
    let p = eso_core::testing::provider_for(
        std::sync::Arc::new(eso_provider_aws::AwsFactory::new()),
        &store,
        &json!({ "aws": spec }),
        "default",
        &cluster,
        None,
    )
    .await
    .unwrap();
    env.start_recording().await;
    assert!(p.validate().await.is_ok());
    let log = env.stop_recording().await;
    assert!(
        log.iter()
            .any(|(_, b)| b.contains("AssumeRoleWithWebIdentity")),
        "{log:?}"
    );
}
