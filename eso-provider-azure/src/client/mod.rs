//! The Key Vault API calls of an [`AzureKeyVault`] through the official SDK clients:
//! connecting, reading and listing secrets (`objects.rs`: keys and certificates, with the
//! key material conversions of `jwk.rs`). The `Provider` methods are in `provider.rs`, pushes
//! and deletes of secrets in `push.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_security_keyvault_certificates::{CertificateClient, CertificateClientOptions};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use azure_security_keyvault_secrets::models::{Secret, SecretClientGetSecretOptions};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use eso_core::api::{AzureEnvironmentType, AzureKvProvider};
use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE};
use eso_core::{Error, Result, SecretValue};
use futures_util::TryStreamExt as _;

use crate::error;
use crate::provider::AzureKeyVault;

pub(crate) mod jwk;
pub(crate) mod objects;

/// True when `tags` carry the ownership marker.
pub(crate) fn is_managed(tags: Option<&HashMap<String, String>>) -> bool {
    tags.and_then(|t| t.get(MANAGED_BY_TAG))
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

/// The Key Vault resource (token audience) of a store's cloud.
fn vault_resource(p: &AzureKvProvider) -> String {
    match p.environment_type {
        AzureEnvironmentType::PublicCloud => "https://vault.azure.net".to_owned(),
        AzureEnvironmentType::USGovernmentCloud => "https://vault.usgovcloudapi.net".to_owned(),
        AzureEnvironmentType::ChinaCloud => "https://vault.azure.cn".to_owned(),
        AzureEnvironmentType::GermanCloud => "https://vault.microsoftazure.de".to_owned(),
        AzureEnvironmentType::AzureStackCloud => p
            .custom_cloud_config
            .as_ref()
            .and_then(|c| c.key_vault_endpoint.clone())
            .unwrap_or_else(|| "https://vault.azure.net".to_owned())
            .trim_end_matches('/')
            .to_owned(),
    }
}

impl AzureKeyVault {
    /// Builds the SDK client for `p`.
    pub(crate) fn connect(
        p: &AzureKvProvider,
        credential: Arc<dyn TokenCredential>,
        store: String,
        referent: bool,
        verify_challenge: bool,
    ) -> Result<Self> {
        let bad_url = |e: azure_core::Error| {
            Error::invalid_config(format!("{}.vaultUrl", crate::FIELD), e.to_string())
        };
        let opts = SecretClientOptions {
            client_options: crate::auth::client_options(p),
            verify_challenge_resource: Some(verify_challenge),
            ..SecretClientOptions::default()
        };
        let secrets =
            SecretClient::new(&p.vault_url, credential.clone(), Some(opts)).map_err(bad_url)?;
        let opts = CertificateClientOptions {
            client_options: crate::auth::client_options(p),
            verify_challenge_resource: Some(verify_challenge),
            ..CertificateClientOptions::default()
        };
        let certs = CertificateClient::new(&p.vault_url, credential.clone(), Some(opts))
            .map_err(bad_url)?;
        let opts = KeyClientOptions {
            client_options: crate::auth::client_options(p),
            verify_challenge_resource: Some(verify_challenge),
            ..KeyClientOptions::default()
        };
        let keys = KeyClient::new(&p.vault_url, credential.clone(), Some(opts)).map_err(bad_url)?;
        Ok(Self {
            secrets: Arc::new(secrets),
            certs: Arc::new(certs),
            keys: Arc::new(keys),
            credential,
            store,
            vault_url: p.vault_url.clone(),
            scope: format!("{}/.default", vault_resource(p)),
            referent,
        })
    }

    pub(crate) fn err(&self, op: &str, name: &str, e: &azure_core::Error) -> Error {
        error::map(&self.store, op, name, e)
    }

    /// The secret `name` at `version` (latest when `None`), `None` when it does not exist.
    pub(crate) async fn get(&self, name: &str, version: Option<&str>) -> Result<Option<Secret>> {
        let opts = SecretClientGetSecretOptions {
            secret_version: version.map(str::to_owned),
            ..Default::default()
        };
        match self.secrets.get_secret(name, Some(opts)).await {
            Ok(r) => r
                .into_model()
                .map(Some)
                .map_err(|e| self.err("GetSecret", name, &e)),
            Err(e) if error::status(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.err("GetSecret", name, &e)),
        }
    }

    pub(crate) async fn read(&self, name: &str, version: Option<&str>) -> Result<Secret> {
        self.get(name, version)
            .await?
            .ok_or_else(|| Error::not_found(name))
    }

    /// Tags as ESO shows them for `metadataPolicy: Fetch`: all as a JSON object, or one tag.
    pub(crate) fn metadata(key: &str, s: &Secret, prop: Option<&str>) -> Result<SecretValue> {
        Self::tags_value(key, s.tags.clone().unwrap_or_default(), prop)
    }

    pub(crate) fn tags_value(
        key: &str,
        tags: HashMap<String, String>,
        prop: Option<&str>,
    ) -> Result<SecretValue> {
        let tags: BTreeMap<String, String> = tags.into_iter().collect();
        match prop {
            None => serde_json::to_vec(&tags)
                .map(SecretValue::new)
                .map_err(|e| Error::Conversion(e.to_string())),
            Some(p) => tags
                .get(p.strip_prefix("tags.").unwrap_or(p))
                .map(|v| SecretValue::from(v.as_str()))
                .ok_or_else(|| Error::not_found(format!("{key}#{p}"))),
        }
    }

    /// Names (and tags) of every secret in the vault, paged.
    pub(crate) async fn list(&self) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let pager = self
            .secrets
            .list_secret_properties(None)
            .map_err(|e| self.err("ListSecrets", "", &e))?;
        let items: Vec<_> = pager
            .try_collect()
            .await
            .map_err(|e| self.err("ListSecrets", "", &e))?;
        Ok(items
            .into_iter()
            .filter(|i| i.attributes.as_ref().and_then(|a| a.enabled) != Some(false))
            .filter_map(|i| {
                let id = i.id?;
                let name = id.rsplit_once("/secrets/")?.1.split('/').next()?.to_owned();
                Some((name, i.tags.unwrap_or_default().into_iter().collect()))
            })
            .collect())
    }
}
