//! [`Vault`]: the [`Provider`] implementation over the KV engine.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::{Map, Value, json};

use eso_core::provider::{
    Capabilities, FindRef, MANAGED_BY_TAG, MANAGED_BY_VALUE, MetadataPolicy, Provider, PushRef,
    PushValue, RemoteRef, Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::client::{Call, Http};
use crate::kv::Layout;
use crate::token::{TokenStats, Tokens};

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

/// A v2 secret's metadata.
#[derive(Debug, Default)]
struct Meta {
    custom: BTreeMap<String, String>,
    current_version: Option<u64>,
    system: BTreeMap<String, String>,
}

impl Meta {
    fn managed(&self) -> bool {
        self.custom.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
    }
}

fn marker() -> Value {
    json!({ MANAGED_BY_TAG: MANAGED_BY_VALUE })
}

fn v1_managed(data: &Map<String, Value>) -> bool {
    data.get("custom_metadata")
        .and_then(|m| m.get(MANAGED_BY_TAG))
        .and_then(Value::as_str)
        == Some(MANAGED_BY_VALUE)
}

fn to_json_bytes(v: &Value) -> Result<SecretValue> {
    serde_json::to_vec(v)
        .map(SecretValue::new)
        .map_err(|e| Error::Conversion(e.to_string()))
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

    /// Sends one authenticated request (in the provider's namespace) and returns the JSON
    /// answer. A `403` caused by a token Vault no longer accepts leads to one new login and
    /// one retry.
    pub(crate) async fn call(&self, call: Call<'_>) -> Result<Option<Value>> {
        let call = call.in_namespace(self.inner.namespace.as_deref());
        let token = self.inner.tokens.token().await?;
        match self.inner.http.send(&call, token.as_ref()).await {
            Err(e) if e.status() == Some(403) && token.is_some() => {
                if self.inner.tokens.drop_if_invalid().await {
                    let token = self.inner.tokens.token().await?;
                    return self
                        .inner
                        .http
                        .send(&call, token.as_ref())
                        .await
                        .map_err(Error::from);
                }
                Err(e.into())
            }
            r => r.map_err(Error::from),
        }
    }

    /// The secret's data as stored (KV v1 with its inline `custom_metadata`), `None` if
    /// missing or (v2) deleted.
    async fn read_raw(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<Map<String, Value>>> {
        let path = self.inner.layout.data_path(key);
        let mut call = Call::get(&path);
        if self.inner.layout.v2
            && let Some(v) = version
        {
            call = call.with_query("version", v);
        }
        let resp = match self.call(call).await {
            Err(e) if e.is_not_found() => return Ok(None),
            r => r?,
        };
        let data = resp.as_ref().and_then(|r| r.get("data"));
        let data = if self.inner.layout.v2 {
            data.and_then(|d| d.get("data"))
        } else {
            data
        };
        match data {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(_) => Err(Error::generic(format!(
                "vault {path}: the secret's data is not a JSON object"
            ))),
        }
    }

    /// The secret's data as users see it: KV v1's ownership marker is left out.
    async fn read(&self, key: &str, version: Option<&str>) -> Result<Option<Map<String, Value>>> {
        let mut data = self.read_raw(key, version).await?;
        if !self.inner.layout.v2
            && let Some(d) = &mut data
            && d.get("custom_metadata") == Some(&marker())
        {
            d.remove("custom_metadata");
        }
        Ok(data)
    }

    async fn read_metadata(&self, key: &str) -> Result<Option<Meta>> {
        let path = self.inner.layout.metadata_path(key);
        let resp = match self.call(Call::get(&path)).await {
            Err(e) if e.is_not_found() => return Ok(None),
            r => r?,
        };
        let Some(data) = resp.as_ref().and_then(|r| r.get("data")) else {
            return Ok(None);
        };
        let mut meta = Meta {
            current_version: data.get("current_version").and_then(Value::as_u64),
            ..Meta::default()
        };
        for k in ["created_time", "current_version", "delete_version_after"] {
            match data.get(k) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    meta.system.insert(k.to_owned(), s.clone());
                }
                Some(v) => {
                    meta.system.insert(k.to_owned(), v.to_string());
                }
            }
        }
        if let Some(Value::Object(c)) = data.get("custom_metadata") {
            for (k, v) in c {
                let s = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                meta.custom.insert(k.clone(), s);
            }
        }
        Ok(Some(meta))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut dirs = vec![prefix.trim_matches('/').to_owned()];
        while let Some(dir) = dirs.pop() {
            let path = self.inner.layout.list_path(&dir, "spec.provider.vault")?;
            let resp = match self.call(Call::list(&path)).await {
                Err(e) if e.is_not_found() => continue,
                r => r?,
            };
            let keys = resp
                .as_ref()
                .and_then(|r| r.pointer("/data/keys"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for k in keys.iter().filter_map(Value::as_str) {
                let full = if dir.is_empty() {
                    k.to_owned()
                } else {
                    format!("{dir}/{k}")
                };
                match full.strip_suffix('/') {
                    Some(sub) => dirs.push(sub.to_owned()),
                    None => out.push(full),
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn write_data(
        &self,
        key: &str,
        data: Map<String, Value>,
        cas: Option<u64>,
    ) -> Result<()> {
        let path = self.inner.layout.data_path(key);
        let body = if self.inner.layout.v2 {
            let mut b = json!({ "data": data });
            if let Some(v) = cas {
                b["options"] = json!({ "cas": v });
            }
            b
        } else {
            Value::Object(data)
        };
        self.call(Call::post(&path, &body)).await.map(|_| ())
    }

    fn cas(&self, meta: Option<&Meta>) -> Option<u64> {
        self.inner
            .cas
            .then(|| meta.and_then(|m| m.current_version).unwrap_or(0))
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
        let key = r.remote_key.as_str();
        if key.is_empty() {
            return Err(Error::invalid_config("remoteRef.remoteKey", "is required"));
        }
        let raw = self.read_raw(key, None).await?;
        let meta = if self.inner.layout.v2 {
            self.read_metadata(key).await?
        } else {
            None
        };
        let managed = if self.inner.layout.v2 {
            meta.as_ref().map(Meta::managed)
        } else {
            raw.as_ref().map(v1_managed)
        };
        if managed == Some(false) {
            return Err(r.not_managed());
        }
        // Either a whole JSON object, or one property's new value.
        let incoming: std::result::Result<Map<String, Value>, Value> = match (r.property(), value) {
            (None, _) => {
                let bytes = value.to_bytes()?;
                match serde_json::from_slice::<Value>(bytes.expose()) {
                    Ok(Value::Object(m)) => Ok(m),
                    _ => {
                        return Err(Error::invalid_config(
                            "remoteRef.property",
                            format!(
                                "Vault keeps a JSON object per secret, and the value pushed to {key:?} \
                                 is not one: set remoteRef.property to the key name it should be \
                                 stored under (e.g. property: password), or push the whole Secret \
                                 (leave secretKey empty)"
                            ),
                        ));
                    }
                }
            }
            (Some(_), PushValue::Single(v)) => Err(property::push_value(v)?),
            (Some(_), _) => {
                let bytes = value.to_bytes()?;
                Err(Value::String(
                    String::from_utf8_lossy(bytes.expose()).into_owned(),
                ))
            }
        };
        let exists = raw.is_some();
        let mut current = raw.unwrap_or_default();
        if !self.inner.layout.v2 {
            current.remove("custom_metadata");
        }
        let mut data = match (r.property(), incoming) {
            (None, Ok(whole)) => {
                if exists && current == whole {
                    return Ok(());
                }
                whole
            }
            (Some(p), Err(v)) => {
                if current.get(p) == Some(&v) {
                    return Ok(());
                }
                current.insert(p.to_owned(), v);
                current
            }
            _ => return Err(Error::generic("inconsistent push request")),
        };
        if self.inner.layout.v2 {
            if managed != Some(true) {
                let mut custom: Map<String, Value> = meta
                    .as_ref()
                    .map(|m| {
                        m.custom
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                custom.insert(MANAGED_BY_TAG.to_owned(), Value::from(MANAGED_BY_VALUE));
                let path = self.inner.layout.metadata_path(key);
                let body = json!({ "custom_metadata": custom });
                self.call(Call::post(&path, &body)).await?;
            }
            self.write_data(key, data, self.cas(meta.as_ref())).await
        } else {
            data.insert("custom_metadata".to_owned(), marker());
            self.write_data(key, data, None).await
        }
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        let key = r.remote_key.as_str();
        let raw = self.read_raw(key, None).await?;
        let meta = if self.inner.layout.v2 {
            self.read_metadata(key).await?
        } else {
            None
        };
        let managed = if self.inner.layout.v2 {
            meta.as_ref().map(Meta::managed)
        } else {
            raw.as_ref().map(v1_managed)
        };
        match managed {
            None => return Ok(()),
            Some(false) => return Err(r.not_managed()),
            Some(true) => {}
        }
        if let Some(p) = r.property() {
            let mut data = raw.unwrap_or_default();
            if !self.inner.layout.v2 {
                data.remove("custom_metadata");
            }
            if data.remove(p).is_none() {
                return Ok(());
            }
            if !data.is_empty() {
                if !self.inner.layout.v2 {
                    data.insert("custom_metadata".to_owned(), marker());
                }
                return self.write_data(key, data, self.cas(meta.as_ref())).await;
            }
        }
        let path = self.inner.layout.metadata_path(key);
        match self.call(Call::delete(&path)).await {
            Err(e) if e.is_not_found() => Ok(()),
            r => r.map(|_| ()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_markers() {
        let mut m = Map::new();
        assert!(!v1_managed(&m));
        m.insert("custom_metadata".into(), marker());
        assert!(v1_managed(&m));
        let mut meta = Meta::default();
        assert!(!meta.managed());
        meta.custom
            .insert("managed-by".into(), "external-secrets".into());
        assert!(meta.managed());
    }
}
