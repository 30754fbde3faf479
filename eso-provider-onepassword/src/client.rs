//! The Connect REST API: vaults, items and files, with the bearer token on every call and
//! the short retry of Connect's spurious "403 Authorization" answers that ESO makes too.

use std::collections::HashMap;
use std::time::Duration;

use eso_core::{Result, SecretValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::error::Error;

/// How often a "403 Authorization" answer is retried, and the first pause (doubled each time).
const AUTH_RETRIES: u32 = 3;
const AUTH_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One field of an item. Attributes this crate does not use are kept as they came, so an
/// update writes them back unchanged.
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct Field {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) label: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) value: String,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub(crate) kind: String,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// A file attached to an item.
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct File {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) content_path: String,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// The vault an item is in.
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct ItemVault {
    #[serde(default)]
    pub(crate) id: String,
}

/// An item (a full one from `GET .../items/{id}`; lists leave out fields, sections and files).
#[derive(Clone, Default, Deserialize, Serialize)]
pub(crate) struct Item {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) vault: ItemVault,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) category: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sections: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) files: Vec<File>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

#[derive(Deserialize)]
struct VaultAnswer {
    id: String,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

/// Whether `s` has the shape of a Connect ID (26 lower-case letters and digits).
pub(crate) fn is_connect_id(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A SCIM `attr eq "value"` filter, as Connect's clients write it.
fn eq_filter(attr: &str, value: &str) -> String {
    format!("{attr} eq \"{}\"", value.replace('"', "\\\""))
}

/// An authenticated Connect client for one store.
pub(crate) struct Api {
    pub(crate) client: reqwest::Client,
    pub(crate) host: String,
    pub(crate) token: SecretValue,
    /// Vault name (or ID) -> ID, resolved once per store revision.
    vault_ids: Mutex<HashMap<String, String>>,
}

/// One request: method, path below the host, query and body.
struct Req<'a> {
    op: &'a str,
    key: &'a str,
    method: reqwest::Method,
    path: String,
    query: Vec<(&'a str, String)>,
    body: Option<&'a Item>,
}

impl Api {
    pub(crate) fn new(client: reqwest::Client, host: &str, token: SecretValue) -> Self {
        Self {
            client,
            host: host.trim_end_matches('/').to_owned(),
            token,
            vault_ids: Mutex::new(HashMap::new()),
        }
    }

    /// Sends `r`; a "403 Authorization" answer is retried (Connect gives it for a moment
    /// after a token starts being used). Returns the successful response.
    async fn send(&self, r: &Req<'_>) -> Result<reqwest::Response> {
        let mut pause = AUTH_RETRY_PAUSE;
        let mut attempt = 0;
        loop {
            let mut req = self
                .client
                .request(r.method.clone(), format!("{}/{}", self.host, r.path))
                .bearer_auth(self.token.expose_str().unwrap_or_default())
                .query(&r.query);
            if let Some(b) = r.body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|source| Error::Transport {
                op: r.op.to_owned(),
                source,
            })?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            let bytes = resp.bytes().await.unwrap_or_default();
            let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
            let message = if body.message.is_empty() {
                status.canonical_reason().unwrap_or("error").to_owned()
            } else {
                body.message
            };
            if status == reqwest::StatusCode::FORBIDDEN
                && message.starts_with("Authorization")
                && attempt < AUTH_RETRIES
            {
                attempt += 1;
                tokio::time::sleep(pause).await;
                pause *= 2;
                continue;
            }
            return Err(Error::Status {
                op: r.op.to_owned(),
                key: r.key.to_owned(),
                status: status.as_u16(),
                message,
            }
            .into());
        }
    }

    async fn json<T: DeserializeOwned>(&self, r: Req<'_>) -> Result<T> {
        let resp = self.send(&r).await?;
        let bytes = resp.bytes().await.map_err(|source| Error::Transport {
            op: r.op.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::Decode {
                op: r.op.to_owned(),
                why: e.to_string(),
            }
            .into()
        })
    }

    fn get<'a>(op: &'a str, key: &'a str, path: String) -> Req<'a> {
        Req {
            op,
            key,
            method: reqwest::Method::GET,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    /// The ID of the vault `name` (a vault title, or an ID), looked up once (`fresh`: asked
    /// again, to check the token and the server).
    pub(crate) async fn vault_id(&self, name: &str, fresh: bool) -> Result<String> {
        if !fresh && let Some(id) = self.vault_ids.lock().await.get(name) {
            return Ok(id.clone());
        }
        let id = if is_connect_id(name) {
            let v: VaultAnswer = self
                .json(Self::get("get vault", name, format!("v1/vaults/{name}")))
                .await?;
            v.id
        } else {
            let mut r = Self::get("find vault", name, "v1/vaults".to_owned());
            r.query.push(("filter", eq_filter("title", name)));
            let found: Vec<VaultAnswer> = self.json(r).await?;
            match found.as_slice() {
                [one] => one.id.clone(),
                [] => return Err(eso_core::Error::not_found(format!("vault {name:?}"))),
                many => {
                    return Err(eso_core::Error::generic(format!(
                        "1password: {} vaults are titled {name:?}; name the vault by its ID",
                        many.len()
                    )));
                }
            }
        };
        self.vault_ids
            .lock()
            .await
            .insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// Items of a vault (summaries), all of them or those titled `title`.
    pub(crate) async fn items(&self, vault: &str, title: Option<&str>) -> Result<Vec<Item>> {
        let mut r = Self::get(
            "list items",
            title.unwrap_or(vault),
            format!("v1/vaults/{vault}/items"),
        );
        if let Some(t) = title {
            r.query.push(("filter", eq_filter("title", t)));
        }
        self.json(r).await
    }

    /// The full item `id` of `vault`.
    pub(crate) async fn item(&self, vault: &str, id: &str) -> Result<Item> {
        self.json(Self::get(
            "get item",
            id,
            format!("v1/vaults/{vault}/items/{id}"),
        ))
        .await
    }

    /// The content of a file (its `content_path`, or the files endpoint of the item).
    pub(crate) async fn file_content(&self, item: &Item, file: &File) -> Result<SecretValue> {
        let path = if file.content_path.is_empty() {
            format!(
                "v1/vaults/{}/items/{}/files/{}/content",
                item.vault.id, item.id, file.id
            )
        } else {
            file.content_path.trim_start_matches('/').to_owned()
        };
        let key = format!("{}/{}", item.title, file.name);
        let r = Self::get("get file content", &key, path);
        let resp = self.send(&r).await?;
        let bytes = resp.bytes().await.map_err(|source| Error::Transport {
            op: "get file content".to_owned(),
            source,
        })?;
        Ok(SecretValue::new(bytes.to_vec()))
    }

    /// Creates `item` in `vault`.
    pub(crate) async fn create(&self, vault: &str, item: &Item) -> Result<Item> {
        self.json(Req {
            op: "create item",
            key: &item.title,
            method: reqwest::Method::POST,
            path: format!("v1/vaults/{vault}/items"),
            query: Vec::new(),
            body: Some(item),
        })
        .await
    }

    /// Replaces `item` (in its vault) with this version of it.
    pub(crate) async fn update(&self, item: &Item) -> Result<Item> {
        self.json(Req {
            op: "update item",
            key: &item.title,
            method: reqwest::Method::PUT,
            path: format!("v1/vaults/{}/items/{}", item.vault.id, item.id),
            query: Vec::new(),
            body: Some(item),
        })
        .await
    }

    /// Deletes `item`.
    pub(crate) async fn delete(&self, item: &Item) -> Result<()> {
        let r = Req {
            op: "delete item",
            key: &item.title,
            method: reqwest::Method::DELETE,
            path: format!("v1/vaults/{}/items/{}", item.vault.id, item.id),
            query: Vec::new(),
            body: None,
        };
        self.send(&r).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_filters_and_round_trips() {
        assert!(is_connect_id("wwohvtlig24kcjz8fnnz7po6pa"));
        assert!(!is_connect_id("db-password"));
        assert_eq!(eq_filter("title", r#"a "b""#), r#"title eq "a \"b\"""#);
        let raw = serde_json::json!({"id": "i", "title": "t", "vault": {"id": "v"},
            "category": "LOGIN", "favorite": true, "urls": [{"href": "https://x"}],
            "fields": [{"id": "f", "label": "password", "value": "pw", "type": "CONCEALED",
                "purpose": "PASSWORD", "section": {"id": "s"}}],
            "files": [{"id": "x", "name": "a.txt", "content_path": "/v1/x"}]});
        let item: Item = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(item.files[0].content_path, "/v1/x");
        let back = serde_json::to_value(&item).unwrap();
        // Attributes this crate does not use survive an update.
        assert_eq!(back, raw);
    }
}
