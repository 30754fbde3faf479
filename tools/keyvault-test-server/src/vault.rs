//! The secrets part of the Key Vault data plane, in memory.

use std::collections::{BTreeMap, HashMap};

use hyper::StatusCode;
use serde_json::{Map, Value, json};

use crate::{Resp, json_response, kv_error, now, random_hex};

/// Default and maximum page size of list operations (Key Vault's `maxresults`).
const DEFAULT_PAGE: usize = 25;
const MAX_PAGE: usize = 25;
/// Days a deleted secret stays recoverable.
const RECOVERABLE_DAYS: u64 = 90;

/// The request parts a vault operation needs.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) base: &'a str,
    pub(crate) api_version: &'a str,
    pub(crate) query: &'a HashMap<String, String>,
    pub(crate) body: &'a Value,
}

#[derive(Clone, Debug)]
struct Version {
    id: String,
    value: String,
    content_type: Option<String>,
    tags: Map<String, Value>,
    enabled: bool,
    nbf: Option<u64>,
    exp: Option<u64>,
    created: u64,
    updated: u64,
}

#[derive(Clone, Debug, Default)]
struct Secret {
    /// Oldest first; the last one is the current version.
    versions: Vec<Version>,
    /// `(deletedDate, scheduledPurgeDate)` while soft-deleted.
    deleted: Option<(u64, u64)>,
}

/// All secrets of the vault by name.
#[derive(Debug, Default)]
pub(crate) struct Vault {
    secrets: BTreeMap<String, Secret>,
}

fn not_found(name: &str) -> Resp {
    kv_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!(
            "A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn deleted_not_found(name: &str) -> Resp {
    kv_error(
        StatusCode::NOT_FOUND,
        "SecretNotFound",
        &format!("Deleted Secret not found: {name}"),
    )
}

fn conflict_deleted(name: &str) -> Resp {
    kv_error(
        StatusCode::CONFLICT,
        "Conflict",
        &format!(
            "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged."
        ),
    )
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn bad_name(name: &str) -> Resp {
    kv_error(
        StatusCode::BAD_REQUEST,
        "BadParameter",
        &format!(
            "The request URI contains an invalid name: {name}. Secret names can only contain alphanumeric characters and dashes."
        ),
    )
}

impl Version {
    fn attributes(&self) -> Value {
        let mut a = json!({
            "enabled": self.enabled,
            "created": self.created,
            "updated": self.updated,
            "recoveryLevel": "Recoverable+Purgeable",
            "recoverableDays": RECOVERABLE_DAYS,
        });
        if let Some(n) = self.nbf {
            a["nbf"] = n.into();
        }
        if let Some(e) = self.exp {
            a["exp"] = e.into();
        }
        a
    }

    /// The common fields of bundles and items; `id` is the identifier to show.
    fn fields(&self, id: String) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), id.into());
        m.insert("attributes".into(), self.attributes());
        if !self.tags.is_empty() {
            m.insert("tags".into(), Value::Object(self.tags.clone()));
        }
        if let Some(ct) = &self.content_type {
            m.insert("contentType".into(), ct.clone().into());
        }
        m
    }

    /// Applies `attributes`, `tags` and `contentType` of a request body.
    fn apply(&mut self, body: &Value) -> Result<(), Box<Resp>> {
        if let Some(ct) = body.get("contentType").and_then(Value::as_str) {
            self.content_type = Some(ct.to_owned());
        }
        match body.get("tags") {
            Some(Value::Object(t)) => {
                if t.len() > 15 {
                    return Err(Box::new(kv_error(
                        StatusCode::BAD_REQUEST,
                        "BadParameter",
                        "The number of tags exceeds the maximum of 15.",
                    )));
                }
                if let Some((k, _)) = t.iter().find(|(_, v)| !v.is_string()) {
                    return Err(Box::new(kv_error(
                        StatusCode::BAD_REQUEST,
                        "BadParameter",
                        &format!("The value of tag {k} must be a string."),
                    )));
                }
                self.tags = t.clone();
            }
            Some(Value::Null) | None => {}
            Some(_) => {
                return Err(Box::new(kv_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    "tags must be an object",
                )));
            }
        }
        if let Some(a) = body.get("attributes").filter(|a| a.is_object()) {
            if let Some(e) = a.get("enabled").and_then(Value::as_bool) {
                self.enabled = e;
            }
            match a.get("exp") {
                Some(Value::Null) => self.exp = None,
                Some(v) => self.exp = v.as_u64().or(self.exp),
                None => {}
            }
            match a.get("nbf") {
                Some(Value::Null) => self.nbf = None,
                Some(v) => self.nbf = v.as_u64().or(self.nbf),
                None => {}
            }
        }
        Ok(())
    }
}

impl Vault {
    /// Dispatches a vault request (already authenticated).
    pub(crate) fn route(&mut self, method: &str, seg: &[&str], c: &Call<'_>) -> Resp {
        match (method, seg) {
            ("GET", ["secrets"]) => self.list(c),
            ("GET", ["secrets", name, "versions"]) => self.list_versions(name, c),
            ("PUT", ["secrets", name]) => self.set(name, c),
            ("GET", ["secrets", name]) => self.get(name, None, c),
            ("GET", ["secrets", name, version]) => self.get(name, Some(version), c),
            ("PATCH", ["secrets", name]) => self.update(name, None, c),
            ("PATCH", ["secrets", name, version]) => self.update(name, Some(version), c),
            ("DELETE", ["secrets", name]) => self.delete(name, c),
            ("GET", ["deletedsecrets"]) => self.list_deleted(c),
            ("GET", ["deletedsecrets", name]) => self.get_deleted(name, c),
            ("DELETE", ["deletedsecrets", name]) => self.purge(name),
            ("POST", ["deletedsecrets", name, "recover"]) => self.recover(name, c),
            _ => kv_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The requested operation is not supported by this test server.",
            ),
        }
    }

    fn live(&self, name: &str) -> Option<&Secret> {
        self.secrets
            .get(name)
            .filter(|s| s.deleted.is_none() && !s.versions.is_empty())
    }

    fn bundle(c: &Call<'_>, name: &str, v: &Version) -> Value {
        let mut m = v.fields(format!("{}/secrets/{name}/{}", c.base, v.id));
        m.insert("value".into(), v.value.clone().into());
        Value::Object(m)
    }

    fn set(&mut self, name: &str, c: &Call<'_>) -> Resp {
        if !valid_name(name) {
            return bad_name(name);
        }
        let Some(value) = c.body.get("value").and_then(Value::as_str) else {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                "Property 'value' is required.",
            );
        };
        if self.secrets.get(name).is_some_and(|s| s.deleted.is_some()) {
            return conflict_deleted(name);
        }
        let t = now();
        let mut v = Version {
            id: random_hex(),
            value: value.to_owned(),
            content_type: None,
            tags: Map::new(),
            enabled: true,
            nbf: None,
            exp: None,
            created: t,
            updated: t,
        };
        if let Err(r) = v.apply(c.body) {
            return *r;
        }
        let body = Self::bundle(c, name, &v);
        self.secrets
            .entry(name.to_owned())
            .or_default()
            .versions
            .push(v);
        json_response(StatusCode::OK, &body)
    }

    fn find_version<'a>(s: &'a Secret, version: Option<&str>) -> Option<&'a Version> {
        match version.filter(|v| !v.is_empty()) {
            None => s.versions.last(),
            Some(id) => s.versions.iter().find(|v| v.id == id),
        }
    }

    fn get(&self, name: &str, version: Option<&str>, c: &Call<'_>) -> Resp {
        let Some(s) = self.live(name) else {
            return not_found(name);
        };
        let Some(v) = Self::find_version(s, version) else {
            return not_found(&format!("{name}/{}", version.unwrap_or_default()));
        };
        if !v.enabled {
            return json_response(
                StatusCode::FORBIDDEN,
                &json!({"error": {"code": "Forbidden", "message": "Operation get is not allowed on a disabled secret.",
                    "innererror": {"code": "SecretDisabled"}}}),
            );
        }
        json_response(StatusCode::OK, &Self::bundle(c, name, v))
    }

    fn update(&mut self, name: &str, version: Option<&str>, c: &Call<'_>) -> Resp {
        let base = c.base;
        let Some(s) = self
            .secrets
            .get_mut(name)
            .filter(|s| s.deleted.is_none() && !s.versions.is_empty())
        else {
            return not_found(name);
        };
        let idx = match version.filter(|v| !v.is_empty()) {
            None => s.versions.len() - 1,
            Some(id) => match s.versions.iter().position(|v| v.id == id) {
                Some(i) => i,
                None => return not_found(&format!("{name}/{id}")),
            },
        };
        let v = &mut s.versions[idx];
        if let Err(r) = v.apply(c.body) {
            return *r;
        }
        v.updated = now();
        // Key Vault answers an update without the value.
        let m = v.fields(format!("{base}/secrets/{name}/{}", v.id));
        json_response(StatusCode::OK, &Value::Object(m))
    }

    /// One page of `items`, with a `nextLink` back to `path` when more remain.
    fn page(c: &Call<'_>, path: &str, items: Vec<Value>) -> Resp {
        let size = c
            .query
            .get("maxresults")
            .and_then(|m| m.parse::<usize>().ok())
            .filter(|m| (1..=MAX_PAGE).contains(m));
        if c.query.contains_key("maxresults") && size.is_none() {
            return kv_error(
                StatusCode::BAD_REQUEST,
                "BadParameter",
                &format!("maxresults must be between 1 and {MAX_PAGE}."),
            );
        }
        let size = size.unwrap_or(DEFAULT_PAGE);
        let skip = c
            .query
            .get("$skiptoken")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        let end = (skip + size).min(items.len());
        let page: Vec<Value> = items
            .get(skip..end)
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        let next = if end < items.len() {
            let mut link = format!(
                "{}{path}?api-version={}&$skiptoken={end}",
                c.base, c.api_version
            );
            if c.query.contains_key("maxresults") {
                link.push_str(&format!("&maxresults={size}"));
            }
            Value::String(link)
        } else {
            Value::Null
        };
        json_response(StatusCode::OK, &json!({"value": page, "nextLink": next}))
    }

    fn list(&self, c: &Call<'_>) -> Resp {
        let items = self
            .secrets
            .iter()
            .filter(|(_, s)| s.deleted.is_none())
            .filter_map(|(name, s)| {
                let v = s.versions.last()?;
                Some(Value::Object(
                    v.fields(format!("{}/secrets/{name}", c.base)),
                ))
            })
            .collect();
        Self::page(c, "/secrets", items)
    }

    fn list_versions(&self, name: &str, c: &Call<'_>) -> Resp {
        let Some(s) = self.live(name) else {
            return not_found(name);
        };
        let items = s
            .versions
            .iter()
            .map(|v| Value::Object(v.fields(format!("{}/secrets/{name}/{}", c.base, v.id))))
            .collect();
        Self::page(c, &format!("/secrets/{name}/versions"), items)
    }

    fn deleted_fields(c: &Call<'_>, name: &str, s: &Secret, with_value: bool) -> Value {
        let v = s.versions.last().expect("a secret has a version");
        let (deleted, purge) = s.deleted.unwrap_or_default();
        let mut m = v.fields(if with_value {
            format!("{}/secrets/{name}/{}", c.base, v.id)
        } else {
            format!("{}/secrets/{name}", c.base)
        });
        m.insert(
            "recoveryId".into(),
            format!("{}/deletedsecrets/{name}", c.base).into(),
        );
        m.insert("deletedDate".into(), deleted.into());
        m.insert("scheduledPurgeDate".into(), purge.into());
        Value::Object(m)
    }

    fn delete(&mut self, name: &str, c: &Call<'_>) -> Resp {
        let Some(s) = self
            .secrets
            .get_mut(name)
            .filter(|s| s.deleted.is_none() && !s.versions.is_empty())
        else {
            return not_found(name);
        };
        let t = now();
        s.deleted = Some((t, t + RECOVERABLE_DAYS * 86_400));
        let s = s.clone();
        json_response(StatusCode::OK, &Self::deleted_fields(c, name, &s, true))
    }

    fn deleted(&self, name: &str) -> Option<&Secret> {
        self.secrets.get(name).filter(|s| s.deleted.is_some())
    }

    fn get_deleted(&self, name: &str, c: &Call<'_>) -> Resp {
        match self.deleted(name) {
            Some(s) => json_response(StatusCode::OK, &Self::deleted_fields(c, name, s, true)),
            None => deleted_not_found(name),
        }
    }

    fn list_deleted(&self, c: &Call<'_>) -> Resp {
        let items = self
            .secrets
            .iter()
            .filter(|(_, s)| s.deleted.is_some())
            .map(|(name, s)| Self::deleted_fields(c, name, s, false))
            .collect();
        Self::page(c, "/deletedsecrets", items)
    }

    fn purge(&mut self, name: &str) -> Resp {
        if self.deleted(name).is_none() {
            return deleted_not_found(name);
        }
        self.secrets.remove(name);
        let mut r = json_response(StatusCode::NO_CONTENT, &Value::Null);
        *r.body_mut() = http_body_util::Full::default();
        r.headers_mut().remove("content-type");
        r
    }

    fn recover(&mut self, name: &str, c: &Call<'_>) -> Resp {
        let Some(s) = self.secrets.get_mut(name).filter(|s| s.deleted.is_some()) else {
            return deleted_not_found(name);
        };
        s.deleted = None;
        let v = s.versions.last().expect("a secret has a version").clone();
        let m = v.fields(format!("{}/secrets/{name}/{}", c.base, v.id));
        json_response(StatusCode::OK, &Value::Object(m))
    }
}
