//! [`AzureKeyVault`]: the [`Provider`] implementation over Key Vault secrets, keys and
//! certificates.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_security_keyvault_certificates::CertificateClient;
use azure_security_keyvault_keys::KeyClient;
use azure_security_keyvault_secrets::SecretClient;
use eso_core::provider::{
    Capabilities, FindRef, MetadataPolicy, Provider, PushRef, PushValue, RemoteRef, Validation,
    property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};
use futures_util::StreamExt as _;

/// How many secrets `get_all_secrets` reads at once.
pub(crate) const FIND_CONCURRENCY: usize = 8;

/// The kind of Key Vault object a remote key names (`secret/`, `cert/`, `key/` prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Object {
    Secret,
    Cert,
    Key,
}

/// Splits `secret/NAME`, `cert/NAME` or `key/NAME` (a bare name is a secret).
pub(crate) fn parse_key(key: &str) -> (Object, &str) {
    if let Some(n) = key.strip_prefix("secret/") {
        (Object::Secret, n)
    } else if let Some(n) = key.strip_prefix("cert/") {
        (Object::Cert, n)
    } else if let Some(n) = key.strip_prefix("key/") {
        (Object::Key, n)
    } else {
        (Object::Secret, key)
    }
}

/// An error for object kinds this crate does not serve yet.
pub(crate) fn unsupported(kind: Object, key: &str) -> Error {
    Error::NotSupported(
        format!("azurekv {key}: this operation is not implemented for {kind:?} objects yet").into(),
    )
}

/// A Key Vault provider for one store: one SDK client (connection pool and token cache),
/// built once per store revision and shared by every reconcile.
///
/// Remote keys name secrets (`db` or `secret/db`), certificates (`cert/NAME`: the DER bytes)
/// and keys (`key/NAME`: the public JSON Web Key). Pushes tag what they write
/// `managed-by: external-secrets` and never touch a secret without that tag
/// ([`Error::NotManaged`]).
///
/// Built by [`AzureFactory::build`](crate::AzureFactory::build) (or a registry holding
/// [`register`](crate::register)).
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::provider::{Provider, RemoteRef, StoreContext, StoreIdentity, StoreScope};
/// use eso_provider_azure::AzureFactory;
///
/// # async fn run() -> eso_core::Result<()> {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new().with_secret(
///     KubeSecret::new("apps", "azure").with_data("id", "app-id").with_data("secret", "s3cr3t"),
/// ));
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({"azurekv": {
///     "vaultUrl": "https://my-vault.vault.azure.net", "tenantId": "my-tenant",
///     "authSecretRef": {"clientId": {"name": "azure", "key": "id"},
///                       "clientSecret": {"name": "azure", "key": "secret"}}}}))
/// .expect("an azurekv block");
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "kv");
/// let kv = AzureFactory::new()
///     .build(&StoreContext::new(&store, &spec, "apps", &cluster))
///     .await?;
/// let password = kv.get_secret(&RemoteRef::new("db-password")).await?;
/// # drop(password);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AzureKeyVault {
    pub(crate) secrets: Arc<SecretClient>,
    pub(crate) certs: Arc<CertificateClient>,
    pub(crate) keys: Arc<KeyClient>,
    pub(crate) credential: Arc<dyn TokenCredential>,
    pub(crate) store: String,
    pub(crate) vault_url: String,
    pub(crate) scope: String,
    pub(crate) referent: bool,
}

impl fmt::Debug for AzureKeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureKeyVault")
            .field("store", &self.store)
            .field("vault_url", &self.vault_url)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AzureKeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "azurekv({})", self.vault_url)
    }
}

#[async_trait]
impl Provider for AzureKeyVault {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        let (kind, name) = parse_key(&r.key);
        let fetch = r.metadata_policy == MetadataPolicy::Fetch;
        match kind {
            Object::Secret => {}
            Object::Cert if fetch => {
                let tags = self.certificate_tags(name).await?;
                return Self::tags_value(&r.key, tags, r.property());
            }
            Object::Key if fetch => {
                let tags = self.key_tags(name).await?;
                return Self::tags_value(&r.key, tags, r.property());
            }
            Object::Cert => return self.get_certificate_der(name, r.version()).await,
            Object::Key => {
                let jwk = self.get_key_jwk(name, r.version()).await?;
                return property::select(jwk, &r.key, r.property());
            }
        }
        let s = self.read(name, r.version()).await?;
        if r.metadata_policy == MetadataPolicy::Fetch {
            return Self::metadata(&r.key, &s, r.property());
        }
        let v = SecretValue::from(s.value.unwrap_or_default().as_str());
        property::select(v, &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let v = self.get_secret(r).await?;
        property::json_to_map(&v, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let names: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .filter(|(n, tags)| {
                find.matches_name(n) && find.matches_path(n) && find.matches_tags(tags)
            })
            .map(|(n, _)| n)
            .collect();
        let reads = futures_util::stream::iter(names)
            .map(|n| async move {
                let v = self.get(&n, None).await;
                (n, v)
            })
            .buffer_unordered(FIND_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut out = SecretMap::new();
        for (n, v) in reads {
            match v {
                Ok(Some(s)) => {
                    out.insert(n, SecretValue::from(s.value.unwrap_or_default().as_str()));
                }
                // Deleted between the list and the read.
                Ok(None) => {}
                // A disabled secret is not a match.
                Err(Error::PermissionDenied { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.push(value, r).await
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.delete(r).await
    }

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        let (kind, name) = parse_key(&r.remote_key);
        match kind {
            Object::Secret => {}
            Object::Cert => return self.certificate_exists(name).await,
            Object::Key => {
                return match self.get_key_jwk(name, None).await {
                    Ok(_) => Ok(true),
                    Err(e) if e.is_not_found() => Ok(false),
                    Err(e) => Err(e),
                };
            }
        }
        let Some(s) = self.get(name, None).await? else {
            return Ok(false);
        };
        match r.property() {
            None => Ok(true),
            Some(p) => {
                let v = SecretValue::from(s.value.unwrap_or_default().as_str());
                match property::extract(&v, &r.remote_key, p) {
                    Ok(_) => Ok(true),
                    Err(Error::NotFound { .. } | Error::Conversion(_)) => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn validate(&self) -> Result<Validation> {
        if self.referent {
            return Ok(Validation::Unknown);
        }
        self.credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| self.err("GetToken", &self.scope, &e))?;
        Ok(Validation::Ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefixes() {
        assert_eq!(parse_key("db"), (Object::Secret, "db"));
        assert_eq!(parse_key("secret/db"), (Object::Secret, "db"));
        assert_eq!(parse_key("cert/tls"), (Object::Cert, "tls"));
        assert_eq!(parse_key("key/signing"), (Object::Key, "signing"));
    }
}
