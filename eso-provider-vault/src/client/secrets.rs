//! The KV API calls of a [`Vault`]: read a secret (data or raw), its v2 metadata, list a
//! folder, write data (with check-and-set), and the authenticated call under them all.

use std::collections::BTreeMap;

use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE};
use eso_core::{Error, Result};
use serde_json::{Map, Value, json};

use crate::client::Call;
use crate::provider::Vault;

/// A v2 secret's metadata.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub(crate) custom: BTreeMap<String, String>,
    pub(crate) current_version: Option<u64>,
    pub(crate) system: BTreeMap<String, String>,
}

/// The v1 ownership marker (the `custom_metadata` entry of the data).
pub(crate) fn marker() -> Value {
    json!({ MANAGED_BY_TAG: MANAGED_BY_VALUE })
}

impl Vault {
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
    pub(crate) async fn read_raw(
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
    pub(crate) async fn read(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Option<Map<String, Value>>> {
        let mut data = self.read_raw(key, version).await?;
        if !self.inner.layout.v2
            && let Some(d) = &mut data
            && d.get("custom_metadata") == Some(&marker())
        {
            d.remove("custom_metadata");
        }
        Ok(data)
    }

    pub(crate) async fn read_metadata(&self, key: &str) -> Result<Option<Meta>> {
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

    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<String>> {
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

    pub(crate) async fn write_data(
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

    pub(crate) fn cas(&self, meta: Option<&Meta>) -> Option<u64> {
        self.inner
            .cas
            .then(|| meta.and_then(|m| m.current_version).unwrap_or(0))
    }
}
