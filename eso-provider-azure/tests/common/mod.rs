//! Shared helpers of the test-server tests: environment (exported by `scripts/backends/azure.sh
//! start`), provider construction, and a direct SDK client to prepare the vault.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::http::ClientOptions;
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use azure_security_keyvault_secrets::models::SetSecretParameters;
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use eso_core::cluster::{Cluster, DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{DynProvider, StoreIdentity, StoreScope};
use eso_provider_azure::AzureFactory;
use serde_json::{Value, json};

/// Returns the environment, or reports the missing backend and returns from the test.
#[macro_export]
macro_rules! require_azure {
    () => {
        match common::Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "AZURE_KEYVAULT_URL",
                    "scripts/backends/azure.sh start",
                );
                return;
            }
        }
    };
}

/// The variables `azure.sh start` exports.
#[derive(Clone, Debug)]
pub struct Env {
    pub vault_url: String,
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub expired_client_id: String,
    pub expired_client_secret: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub fn load() -> Option<Self> {
        Some(Self {
            vault_url: var("AZURE_KEYVAULT_URL")?,
            authority: var("AZURE_AUTHORITY_HOST")?,
            tenant: var("AZURE_TENANT_ID")?,
            client_id: var("AZURE_CLIENT_ID")?,
            client_secret: var("AZURE_CLIENT_SECRET")?,
            expired_client_id: var("AZURE_EXPIRED_CLIENT_ID").unwrap_or_default(),
            expired_client_secret: var("AZURE_EXPIRED_CLIENT_SECRET").unwrap_or_default(),
        })
    }

    /// The store block for the test server (a custom cloud whose authority is the server).
    pub fn spec(&self) -> Value {
        json!({
            "vaultUrl": self.vault_url,
            "tenantId": self.tenant,
            "environmentType": "AzureStackCloud",
            "useAzureSDK": true,
            "customCloudConfig": {"activeDirectoryEndpoint": self.authority},
            "authSecretRef": {
                "clientId": {"name": "azure-sp", "key": "client-id"},
                "clientSecret": {"name": "azure-sp", "key": "client-secret"},
            },
        })
    }

    /// A cluster holding Secret `default/azure-sp` with the client's ID and secret.
    pub async fn cluster(&self, client_id: &str, secret: &str) -> MemoryCluster {
        let c = MemoryCluster::new();
        c.create_secret(
            KubeSecret::new("default", "azure-sp")
                .with_data("client-id", client_id)
                .with_data("client-secret", secret),
        )
        .await
        .unwrap();
        c
    }

    /// Builds a provider for store `default/azure-test`; `extra` overrides block fields.
    pub async fn try_provider_as(
        &self,
        client_id: &str,
        secret: &str,
        extra: Value,
    ) -> eso_core::Result<DynProvider> {
        let mut spec = self.spec();
        if let (Value::Object(s), Value::Object(e)) = (&mut spec, extra) {
            s.extend(e);
        }
        let cluster: DynCluster = Arc::new(self.cluster(client_id, secret).await);
        let store = StoreIdentity::new(StoreScope::Namespaced, "default", "azure-test");
        eso_core::testing::provider_for(
            Arc::new(AzureFactory::new()),
            &store,
            &json!({ "azurekv": spec }),
            "default",
            &cluster,
            None,
        )
        .await
    }

    pub async fn provider(&self) -> DynProvider {
        self.try_provider_as(&self.client_id, &self.client_secret, json!({}))
            .await
            .expect("build the provider")
    }

    /// A direct SDK client on the vault (to seed and inspect without the provider).
    pub fn sdk(&self) -> SecretClient {
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = self.authority.clone();
        let client_options = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
            ..ClientOptions::default()
        };
        let cred = ClientSecretCredential::new(
            &self.tenant,
            self.client_id.clone(),
            self.client_secret.clone().into(),
            Some(ClientSecretCredentialOptions {
                client_options: client_options.clone(),
            }),
        )
        .unwrap();
        SecretClient::new(
            &self.vault_url,
            cred,
            Some(SecretClientOptions {
                client_options,
                verify_challenge_resource: Some(false),
                ..SecretClientOptions::default()
            }),
        )
        .unwrap()
    }

    /// Writes `name` directly, with `tags`.
    pub async fn seed(&self, name: &str, value: &str, tags: &[(&str, &str)]) {
        let tags: HashMap<String, String> = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let p = SetSecretParameters {
            value: Some(value.to_owned()),
            tags: Some(tags),
            ..Default::default()
        };
        self.sdk()
            .set_secret(name, p.try_into().unwrap(), None)
            .await
            .expect("seed a secret");
    }

    /// The latest version of `name` as the SDK sees it.
    pub async fn read(
        &self,
        name: &str,
    ) -> Option<azure_security_keyvault_secrets::models::Secret> {
        match self.sdk().get_secret(name, None).await {
            Ok(r) => Some(r.into_model().unwrap()),
            Err(e) if e.http_status().map(u16::from) == Some(404) => None,
            Err(e) => panic!("get {name}: {e}"),
        }
    }
}

/// A unique secret name (letters, digits and `-`).
pub fn unique(base: &str) -> String {
    eso_core::testing::conformance::unique_prefix(base)
}

impl Env {
    /// A direct certificates client on the vault.
    pub fn certs(&self) -> azure_security_keyvault_certificates::CertificateClient {
        use azure_security_keyvault_certificates::{CertificateClient, CertificateClientOptions};
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = self.authority.clone();
        let client_options = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
            ..ClientOptions::default()
        };
        let cred = ClientSecretCredential::new(
            &self.tenant,
            self.client_id.clone(),
            self.client_secret.clone().into(),
            Some(ClientSecretCredentialOptions {
                client_options: client_options.clone(),
            }),
        )
        .unwrap();
        CertificateClient::new(
            &self.vault_url,
            cred,
            Some(CertificateClientOptions {
                client_options,
                verify_challenge_resource: Some(false),
                ..CertificateClientOptions::default()
            }),
        )
        .unwrap()
    }

    /// A direct keys client on the vault.
    pub fn keys(&self) -> azure_security_keyvault_keys::KeyClient {
        use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host = self.authority.clone();
        let client_options = ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
            ..ClientOptions::default()
        };
        let cred = ClientSecretCredential::new(
            &self.tenant,
            self.client_id.clone(),
            self.client_secret.clone().into(),
            Some(ClientSecretCredentialOptions {
                client_options: client_options.clone(),
            }),
        )
        .unwrap();
        KeyClient::new(
            &self.vault_url,
            cred,
            Some(KeyClientOptions {
                client_options,
                verify_challenge_resource: Some(false),
                ..KeyClientOptions::default()
            }),
        )
        .unwrap()
    }
}
