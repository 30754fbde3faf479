//! Vaults, items (fields, sections, tags, files) and the Connect API's operations on them.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::ApiError;

/// Item categories Connect accepts.
const CATEGORIES: [&str; 22] = [
    "LOGIN",
    "PASSWORD",
    "API_CREDENTIAL",
    "SERVER",
    "DATABASE",
    "CREDIT_CARD",
    "MEMBERSHIP",
    "PASSPORT",
    "SOFTWARE_LICENSE",
    "OUTDOOR_LICENSE",
    "SECURE_NOTE",
    "WIRELESS_ROUTER",
    "BANK_ACCOUNT",
    "DRIVER_LICENSE",
    "IDENTITY",
    "REWARD_PROGRAM",
    "DOCUMENT",
    "EMAIL_ACCOUNT",
    "SOCIAL_SECURITY_NUMBER",
    "MEDICAL_RECORD",
    "SSH_KEY",
    "CUSTOM",
];

/// The current time as Connect writes it (`2026-01-02T03:04:05Z`).
fn now_iso() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A file attached to an item.
#[derive(Debug, Clone)]
struct File {
    id: String,
    name: String,
    content: Vec<u8>,
    section: Option<Value>,
}

/// One stored item: its JSON document (without files) and its files.
#[derive(Debug, Clone)]
struct Item {
    doc: Map<String, Value>,
    files: Vec<File>,
}

/// A vault and its items.
#[derive(Debug)]
struct Vault {
    id: String,
    name: String,
    created: String,
    content_version: u64,
    items: BTreeMap<String, Item>,
}

/// Every vault of the server.
#[derive(Debug, Default)]
pub(crate) struct Store {
    vaults: Vec<Vault>,
    next_id: u64,
}

/// A SCIM filter of the forms Connect supports, `attr eq "value"` and `attr co "value"`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) attr: String,
    /// `co` (contains) rather than `eq`.
    pub(crate) contains: bool,
    pub(crate) value: String,
}

impl Filter {
    fn matches(&self, s: &str) -> bool {
        if self.contains {
            s.contains(&self.value)
        } else {
            s == self.value
        }
    }
}

/// Parses a filter query.
pub(crate) fn parse_filter(f: &str) -> Result<Filter, ApiError> {
    let bad = || ApiError::new(400, &format!("Invalid filter query: {f}"));
    let (attr, rest) = f.trim().split_once(' ').ok_or_else(bad)?;
    let rest = rest.trim_start();
    let (contains, value) = match rest.split_at_checked(2) {
        Some(("eq", v)) => (false, v),
        Some(("co", v)) => (true, v),
        _ => return Err(bad()),
    };
    let value = value
        .trim()
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .ok_or_else(bad)?;
    Ok(Filter {
        attr: attr.to_owned(),
        contains,
        value: value.replace("\\\"", "\""),
    })
}

impl Store {
    /// A new 26-character lower-case ID, as Connect's (two rounds of splitmix64 over a
    /// counter).
    fn new_id(&mut self) -> String {
        fn mix(mut z: u64) -> u64 {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        self.next_id += 1;
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(26);
        for half in 0..2u64 {
            let mut n = mix(self.next_id.wrapping_mul(2).wrapping_add(half));
            for _ in 0..13 {
                s.push(char::from(alphabet[(n % 36) as usize]));
                n /= 36;
            }
        }
        s
    }

    /// Adds a vault named `name`.
    pub(crate) fn add_vault(&mut self, name: &str) -> String {
        let id = self.new_id();
        self.vaults.push(Vault {
            id: id.clone(),
            name: name.to_owned(),
            created: now_iso(),
            content_version: 1,
            items: BTreeMap::new(),
        });
        id
    }

    /// The ID of the vault named `name`.
    pub(crate) fn vault_id(&self, name: &str) -> Option<String> {
        self.vaults
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.id.clone())
    }

    fn vault_json(v: &Vault) -> Value {
        json!({"id": v.id, "name": v.name, "description": "", "attributeVersion": 1,
            "contentVersion": v.content_version, "items": v.items.len(), "type": "USER_CREATED",
            "createdAt": v.created, "updatedAt": v.created})
    }

    /// The vaults `allowed` admits, filtered by `filter` (`name eq` / `title eq`).
    pub(crate) fn list_vaults(
        &self,
        allowed: &dyn Fn(&str) -> bool,
        filter: Option<&str>,
    ) -> Result<Value, ApiError> {
        let f = filter.map(parse_filter).transpose()?;
        let out: Vec<Value> = self
            .vaults
            .iter()
            .filter(|v| allowed(&v.id))
            .filter(|v| {
                f.as_ref().is_none_or(|f| {
                    matches!(f.attr.as_str(), "name" | "title") && f.matches(&v.name)
                })
            })
            .map(Self::vault_json)
            .collect();
        Ok(Value::Array(out))
    }

    fn vault(&self, id: &str) -> Result<&Vault, ApiError> {
        self.vaults
            .iter()
            .find(|v| v.id == id)
            .ok_or_else(|| ApiError::new(404, &format!("vault {id} not found")))
    }

    fn vault_mut(&mut self, id: &str) -> Result<&mut Vault, ApiError> {
        self.vaults
            .iter_mut()
            .find(|v| v.id == id)
            .ok_or_else(|| ApiError::new(404, &format!("vault {id} not found")))
    }

    /// `GET /v1/vaults/{id}`.
    pub(crate) fn get_vault(&self, id: &str) -> Result<Value, ApiError> {
        self.vault(id).map(Self::vault_json)
    }

    fn item<'a>(v: &'a Vault, id: &str) -> Result<&'a Item, ApiError> {
        v.items
            .get(id)
            .ok_or_else(|| ApiError::new(404, &format!("item {id} not found")))
    }

    fn file_json(vault: &str, item: &str, f: &File, inline: bool) -> Value {
        let mut v = json!({"id": f.id, "name": f.name, "size": f.content.len(),
            "content_path": format!("/v1/vaults/{vault}/items/{item}/files/{}/content", f.id)});
        if let Some(s) = &f.section {
            v["section"] = s.clone();
        }
        if inline {
            v["content"] = json!(base64::engine::general_purpose::STANDARD.encode(&f.content));
        }
        v
    }

    /// The full item (fields, sections, files).
    fn full(vault: &str, id: &str, i: &Item) -> Value {
        let mut doc = i.doc.clone();
        if !i.files.is_empty() {
            let files: Vec<Value> = i
                .files
                .iter()
                .map(|f| Self::file_json(vault, id, f, false))
                .collect();
            doc.insert("files".into(), Value::Array(files));
        }
        Value::Object(doc)
    }

    /// The item as lists show it: no fields, sections or files.
    fn summary(i: &Item) -> Value {
        let mut doc = i.doc.clone();
        for k in ["fields", "sections", "files"] {
            doc.remove(k);
        }
        Value::Object(doc)
    }

    /// `GET /v1/vaults/{v}/items` (optionally `title eq "..."` / `tag eq "..."`).
    pub(crate) fn list_items(&self, vault: &str, filter: Option<&str>) -> Result<Value, ApiError> {
        let v = self.vault(vault)?;
        let f = filter.map(parse_filter).transpose()?;
        let out: Vec<Value> = v
            .items
            .values()
            .filter(|i| match &f {
                None => true,
                Some(f) if f.attr == "title" => {
                    f.matches(i.doc["title"].as_str().unwrap_or_default())
                }
                Some(f) if f.attr == "tag" => i.doc["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| f.matches(x.as_str().unwrap_or_default()))),
                Some(_) => false,
            })
            .map(Self::summary)
            .collect();
        Ok(Value::Array(out))
    }

    /// `GET /v1/vaults/{v}/items/{i}`.
    pub(crate) fn get_item(&self, vault: &str, id: &str) -> Result<Value, ApiError> {
        let v = self.vault(vault)?;
        Ok(Self::full(&v.id, id, Self::item(v, id)?))
    }

    /// Checks an item document and gives IDs to its fields and sections.
    fn normalize(&mut self, doc: &mut Map<String, Value>) -> Result<(), ApiError> {
        match doc.get("category").and_then(Value::as_str) {
            Some(c) if CATEGORIES.contains(&c) => {}
            _ => return Err(ApiError::new(400, "Invalid item category")),
        }
        doc.remove("files");
        for key in ["fields", "sections"] {
            let Some(list) = doc.get_mut(key) else {
                continue;
            };
            let Some(list) = list.as_array_mut() else {
                return Err(ApiError::new(400, &format!("{key} must be an array")));
            };
            for f in list.iter_mut() {
                let Some(o) = f.as_object_mut() else {
                    return Err(ApiError::new(
                        400,
                        &format!("{key} entries must be objects"),
                    ));
                };
                if o.get("id")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    o.insert("id".into(), json!(self.next_field_id()));
                }
                if key == "fields" {
                    o.entry("type").or_insert(json!("STRING"));
                    if o.get("generate") == Some(&json!(true)) && !o.contains_key("value") {
                        o.insert("value".into(), json!(self.new_id()));
                    }
                }
            }
        }
        Ok(())
    }

    fn next_field_id(&mut self) -> String {
        self.new_id()
    }

    /// `POST /v1/vaults/{v}/items`.
    pub(crate) fn create_item(&mut self, vault: &str, body: &Value) -> Result<Value, ApiError> {
        self.vault(vault)?;
        let mut doc = body
            .as_object()
            .cloned()
            .ok_or_else(|| ApiError::new(400, "Invalid item: not a JSON object"))?;
        self.normalize(&mut doc)?;
        let id = self.new_id();
        let now = now_iso();
        doc.insert("id".into(), json!(id));
        doc.insert("vault".into(), json!({"id": vault}));
        doc.insert("version".into(), json!(1));
        doc.insert("createdAt".into(), json!(now));
        doc.insert("updatedAt".into(), json!(now));
        doc.insert("lastEditedBy".into(), json!("eso-test-server"));
        doc.entry("title").or_insert(json!(""));
        let v = self.vault_mut(vault)?;
        v.content_version += 1;
        let item = Item {
            doc,
            files: Vec::new(),
        };
        let out = Self::full(vault, &id, &item);
        v.items.insert(id, item);
        Ok(out)
    }

    /// `PUT /v1/vaults/{v}/items/{i}`: replaces the item (files are kept: the API cannot
    /// change them).
    pub(crate) fn replace_item(
        &mut self,
        vault: &str,
        id: &str,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let old = Self::item(self.vault(vault)?, id)?.doc.clone();
        let mut doc = body
            .as_object()
            .cloned()
            .ok_or_else(|| ApiError::new(400, "Invalid item: not a JSON object"))?;
        self.normalize(&mut doc)?;
        for k in ["id", "createdAt"] {
            if let Some(v) = old.get(k) {
                doc.insert(k.into(), v.clone());
            }
        }
        let version = old.get("version").and_then(Value::as_u64).unwrap_or(1) + 1;
        doc.insert("vault".into(), json!({"id": vault}));
        doc.insert("version".into(), json!(version));
        doc.insert("updatedAt".into(), json!(now_iso()));
        doc.entry("title").or_insert(json!(""));
        let v = self.vault_mut(vault)?;
        v.content_version += 1;
        let item = v
            .items
            .get_mut(id)
            .ok_or_else(|| ApiError::new(404, &format!("item {id} not found")))?;
        item.doc = doc;
        Ok(Self::full(vault, id, item))
    }

    /// `PATCH /v1/vaults/{v}/items/{i}`: RFC 6902 `add` / `remove` / `replace`, with fields
    /// addressed by ID (`/fields/{fieldId}`).
    pub(crate) fn patch_item(
        &mut self,
        vault: &str,
        id: &str,
        ops: &Value,
    ) -> Result<Value, ApiError> {
        let mut doc = Value::Object(Self::item(self.vault(vault)?, id)?.doc.clone());
        let ops = ops
            .as_array()
            .ok_or_else(|| ApiError::new(400, "Invalid patch: not an array"))?;
        for op in ops {
            crate::patch::apply(&mut doc, op)?;
        }
        self.replace_item(vault, id, &doc)
    }

    /// `DELETE /v1/vaults/{v}/items/{i}`.
    pub(crate) fn delete_item(&mut self, vault: &str, id: &str) -> Result<(), ApiError> {
        let v = self.vault_mut(vault)?;
        v.items
            .remove(id)
            .map(|_| v.content_version += 1)
            .ok_or_else(|| ApiError::new(404, &format!("item {id} not found")))
    }

    /// `GET /v1/vaults/{v}/items/{i}/files`.
    pub(crate) fn list_files(
        &self,
        vault: &str,
        id: &str,
        inline: bool,
    ) -> Result<Value, ApiError> {
        let i = Self::item(self.vault(vault)?, id)?;
        Ok(Value::Array(
            i.files
                .iter()
                .map(|f| Self::file_json(vault, id, f, inline))
                .collect(),
        ))
    }

    fn file<'a>(&'a self, vault: &str, id: &str, file: &str) -> Result<&'a File, ApiError> {
        Self::item(self.vault(vault)?, id)?
            .files
            .iter()
            .find(|f| f.id == file)
            .ok_or_else(|| ApiError::new(404, &format!("file {file} not found")))
    }

    /// `GET /v1/vaults/{v}/items/{i}/files/{f}`.
    pub(crate) fn get_file(
        &self,
        vault: &str,
        id: &str,
        file: &str,
        inline: bool,
    ) -> Result<Value, ApiError> {
        Ok(Self::file_json(
            vault,
            id,
            self.file(vault, id, file)?,
            inline,
        ))
    }

    /// `GET .../files/{f}/content`: the name and the bytes.
    pub(crate) fn file_content(
        &self,
        vault: &str,
        id: &str,
        file: &str,
    ) -> Result<(String, Vec<u8>), ApiError> {
        let f = self.file(vault, id, file)?;
        Ok((f.name.clone(), f.content.clone()))
    }

    /// Test control: attaches a file `name` with `content` to an item (Connect's API cannot
    /// upload files; 1Password's apps do).
    pub(crate) fn attach_file(
        &mut self,
        vault: &str,
        id: &str,
        name: &str,
        content: Vec<u8>,
        section: Option<Value>,
    ) -> Result<Value, ApiError> {
        let file_id = self.new_id();
        let v = self.vault_mut(vault)?;
        let item = v
            .items
            .get_mut(id)
            .ok_or_else(|| ApiError::new(404, &format!("item {id} not found")))?;
        let f = File {
            id: file_id,
            name: name.to_owned(),
            content,
            section,
        };
        let out = Self::file_json(vault, id, &f, false);
        item.files.push(f);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_filters_and_items() {
        let mut s = Store::default();
        let v = s.add_vault("prod");
        assert_eq!(v.len(), 26);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_ne!(s.add_vault("other"), v);
        let f = parse_filter(r#"title eq "a b""#).unwrap();
        assert_eq!(
            (f.attr.as_str(), f.contains, f.value.as_str()),
            ("title", false, "a b")
        );
        assert!(parse_filter(r#"title co "a""#).unwrap().matches("xay"));
        assert!(parse_filter("title = x").is_err());
        let item = s
            .create_item(
                &v,
                &json!({"title": "db", "category": "LOGIN",
                "fields": [{"label": "password", "value": "pw"}]}),
            )
            .unwrap();
        let id = item["id"].as_str().unwrap();
        assert_eq!(item["fields"][0]["type"], "STRING");
        assert_eq!(
            s.list_items(&v, Some(r#"title eq "db""#)).unwrap()[0]["id"],
            id
        );
        assert!(s.list_items(&v, None).unwrap()[0].get("fields").is_none());
        assert_eq!(
            s.create_item(&v, &json!({"title": "x"}))
                .unwrap_err()
                .message,
            "Invalid item category"
        );
        s.attach_file(&v, id, "a.txt", b"hello".to_vec(), None)
            .unwrap();
        let full = s.get_item(&v, id).unwrap();
        assert_eq!(full["files"][0]["size"], 5);
    }
}
