//! PushSecret writes and deletes on a KV mount: a property merges into the stored JSON
//! object; the ownership marker is `managed-by: external-secrets` in the v2 secret's
//! `custom_metadata` (v1: a `custom_metadata` entry of the data). A secret without it is never
//! overwritten nor deleted ([`Error::NotManaged`]); adopt one by adding the marker.

use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE, PushRef, PushValue, property};
use eso_core::{Error, Result};
use serde_json::{Map, Value, json};

use crate::client::Call;
use crate::client::secrets::{Meta, marker};
use crate::provider::Vault;

impl Meta {
    pub(crate) fn managed(&self) -> bool {
        self.custom.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
    }
}

fn v1_managed(data: &Map<String, Value>) -> bool {
    data.get("custom_metadata")
        .and_then(|m| m.get(MANAGED_BY_TAG))
        .and_then(Value::as_str)
        == Some(MANAGED_BY_VALUE)
}

impl Vault {
    /// Writes a JSON object (or one property of it), marking the secret as ours.
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
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

    /// Deletes the secret (all versions), or one property of it.
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
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
