//! [`Vault`]: the [`Provider`] implementation over the KV engine.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::{Map, Value};

use eso_core::provider::{
    Capabilities, FindRef, MetadataPolicy, Provider, PushRef, PushValue, RemoteRef, Validation,
    property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::auth::token::{TokenStats, Tokens};
use crate::client::Http;
use crate::client::kv::Layout;

/// How many secrets a find reads at once.
const FIND_CONCURRENCY: usize = 8;

/// A Vault (or OpenBao) KV store: reads, finds, pushes and deletes secrets with ESO's
/// semantics, authenticating once and renewing its token as needed.
///
/// Build it through [`VaultFactory`](crate::VaultFactory) (or the registry, after
/// [`register`](crate::register)). Clones share the client and the token. Call
/// [`Vault::close`] on shutdown to revoke the token; dropping the last clone inside a tokio
/// runtime revokes it in the background.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::provider::{Provider, RemoteRef, StoreContext, StoreIdentity, StoreScope};
/// use eso_provider_vault::VaultFactory;
///
/// # async fn run() -> eso_core::Result<()> {
/// let cluster: DynCluster = Arc::new(
///     MemoryCluster::new().with_secret(KubeSecret::new("apps", "vault-token").with_data("token", "s.xyz")),
/// );
/// let spec = serde_json::json!({
///     "server": "https://vault.example:8200",
///     "path": "secret",
///     "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}
/// });
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "vault");
/// let spec: eso_core::api::SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"vault": spec})).expect("a vault block");
/// let vault = VaultFactory::new()
///     .build(&StoreContext::new(&store, &spec, "apps", &cluster))
///     .await?;
/// let password = vault.get_secret(&RemoteRef::new("db").with_property("password")).await?;
/// # drop(password);
/// vault.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: Arc<Http>,
    pub(crate) tokens: Tokens,
    pub(crate) layout: Layout,
    pub(crate) namespace: Option<String>,
    pub(crate) cas: bool,
    pub(crate) server: String,
    /// ClusterSecretStore whose credentials are resolved per consumer namespace.
    pub(crate) referent: bool,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("server", &self.inner.server)
            .field("mount", &self.inner.layout.mount)
            .field("kv_v2", &self.inner.layout.v2)
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vault {} (KV {}",
            self.inner.server,
            if self.inner.layout.v2 { "v2" } else { "v1" }
        )?;
        if let Some(m) = &self.inner.layout.mount {
            write!(f, " at {m}")?;
        }
        if let Some(ns) = &self.inner.namespace {
            write!(f, ", namespace {ns}")?;
        }
        f.write_str(")")
    }
}

impl Vault {
    /// Revokes the token this provider created (logins; a token read from a Secret is left
    /// alone). Later calls log in again.
    pub async fn close(&self) -> Result<()> {
        self.inner.tokens.revoke().await
    }

    /// Counters of logins, renewals and revocations so far.
    pub fn token_stats(&self) -> TokenStats {
        self.inner.tokens.stats()
    }
}

#[async_trait]
impl Provider for Vault {
    fn capabilities(&self) -> Capabilities {
        let v2 = self.inner.layout.v2;
        Capabilities {
            get: true,
            get_map: true,
            find_by_name: true,
            find_by_tags: v2,
            push: true,
            delete: true,
            metadata: v2,
            versions: v2,
        }
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        if r.metadata_policy == MetadataPolicy::Fetch {
            if !self.inner.layout.v2 {
                return Err(Error::not_supported(
                    "metadataPolicy Fetch needs KV version v2 (spec.provider.vault.version)",
                ));
            }
            let meta = self
                .read_metadata(&r.key)
                .await?
                .ok_or_else(|| Error::not_found(r.key.clone()))?;
            let mut doc = Map::new();
            for (k, v) in meta.system.into_iter().chain(meta.custom) {
                doc.insert(k, Value::String(v));
            }
            if doc.is_empty() {
                return Ok(SecretValue::default());
            }
            return property::select_in(&Value::Object(doc), &r.key, r.property());
        }
        let data = self
            .read(&r.key, r.version())
            .await?
            .ok_or_else(|| Error::not_found(r.to_string()))?;
        property::select_in(&Value::Object(data), &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let v = self.get_secret(r).await?;
        if v.is_empty() {
            return Ok(SecretMap::new());
        }
        property::json_to_map(&v, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        if !find.tags.is_empty() && !self.inner.layout.v2 {
            return Err(Error::not_supported(
                "finding secrets by tags needs KV version v2 (spec.provider.vault.version)",
            ));
        }
        let names: Vec<String> = self
            .list(find.path.as_deref().unwrap_or(""))
            .await?
            .into_iter()
            .filter(|n| find.matches_name(n))
            .collect();
        let found: Vec<Option<(String, SecretValue)>> = stream::iter(names)
            .map(|name| async move {
                if !find.tags.is_empty() {
                    let tags = self
                        .read_metadata(&name)
                        .await?
                        .map(|m| m.custom)
                        .unwrap_or_default();
                    if !find.matches_tags(&tags) {
                        return Ok::<_, Error>(None);
                    }
                }
                match self.read(&name, None).await? {
                    Some(d) => Ok(Some((name, to_json_bytes(&Value::Object(d))?))),
                    None => Ok(None),
                }
            })
            .buffer_unordered(FIND_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.push(value, r).await
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.delete(r).await
    }

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        Ok(match self.read(&r.remote_key, None).await? {
            None => false,
            Some(d) => r
                .property()
                .is_none_or(|p| property::contains(&Value::Object(d), p)),
        })
    }

    async fn validate(&self) -> Result<Validation> {
        if self.inner.referent {
            return Ok(Validation::Unknown);
        }
        let Some(token) = self.inner.tokens.token().await? else {
            return Ok(Validation::Ready);
        };
        self.inner.tokens.lookup_self(&token).await?;
        Ok(Validation::Ready)
    }
}

/// A JSON value as bytes.
fn to_json_bytes(v: &Value) -> Result<SecretValue> {
    serde_json::to_vec(v)
        .map(SecretValue::new)
        .map_err(|e| Error::Conversion(e.to_string()))
}
