//! The `onepassword` provider: [`OnePassword`], and its reads.

use std::fmt;

use async_trait::async_trait;
use eso_core::provider::{
    Capabilities, FindRef, Provider, PushRef, PushValue, RemoteRef, Validation,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::client::{Api, Field, Item, is_connect_id};

/// The field a remote ref without `property` reads and a push without `property` writes.
pub(crate) const DEFAULT_LABEL: &str = "password";

/// What the provider supports: reads (fields and files), find by name and tags, push and
/// delete; no metadata, no versions.
pub(crate) const CAPABILITIES: Capabilities = {
    let mut c = Capabilities::ALL;
    c.metadata = false;
    c.versions = false;
    c
};

/// A configured `onepassword` store: one Connect server, its token, and the vaults to search
/// in order.
pub struct OnePassword {
    pub(crate) api: Api,
    /// Vault names (or IDs), in search order.
    pub(crate) vaults: Vec<String>,
    /// `SecretStore ns/name` or `ClusterSecretStore name`.
    pub(crate) store: String,
    /// Held by every push and delete: two writes to one new title must not both create an
    /// item (ESO serialises its calls the same way).
    pub(crate) writes: tokio::sync::Mutex<()>,
}

impl fmt::Debug for OnePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnePassword")
            .field("store", &self.store)
            .field("connect_host", &self.api.host)
            .field("vaults", &self.vaults)
            .finish_non_exhaustive()
    }
}

/// What a property addresses: a field (by label) or a file (by name).
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Field(&'a str),
    File(&'a str),
}

/// ESO's rule: `field/NAME` and `file/NAME` say it; otherwise a `DOCUMENT` item's property
/// names a file and any other item's a field.
fn target<'a>(category: &str, property: &'a str) -> Target<'a> {
    if let Some(f) = property.strip_prefix("field/") {
        Target::Field(f)
    } else if let Some(f) = property.strip_prefix("file/") {
        Target::File(f)
    } else if category == "DOCUMENT" {
        Target::File(property)
    } else {
        Target::Field(property)
    }
}

/// How many fields carry `label`.
pub(crate) fn count_label(fields: &[Field], label: &str) -> usize {
    fields.iter().filter(|f| f.label == label).count()
}

fn one_field_error(item: &Item, label: &str, n: usize) -> Error {
    Error::generic(format!(
        "1password: item {:?} has {n} fields labelled {label:?}; expected one",
        item.title
    ))
}

fn not_supported_version() -> Error {
    Error::not_supported(
        "remoteRef.version: 1Password items are read at their current version (ESO refuses a \
         version too)",
    )
}

impl OnePassword {
    /// The ID of the vault `name` (`fresh`: not from the cache); a vault the token cannot
    /// find is a store error naming the field, never a missing secret.
    pub(crate) async fn vault_checked(&self, name: &str, fresh: bool) -> Result<String> {
        self.api.vault_id(name, fresh).await.map_err(|e| {
            if e.is_not_found() {
                Error::invalid_config(
                    format!("spec.provider.{}.vaults.{name}", crate::KIND),
                    format!(
                        "{}: no vault with this title or ID is visible to the Connect token",
                        self.store
                    ),
                )
            } else {
                e.context(format_args!("{}: vault {name:?}", self.store))
            }
        })
    }

    /// The ID of the vault `name`, looked up once per store revision.
    pub(crate) async fn vault(&self, name: &str) -> Result<String> {
        self.vault_checked(name, false).await
    }

    /// The item titled (or with the ID) `key` in the first vault, in search order, that has
    /// it; `None` when none has. Two items with that title in one vault are an error.
    pub(crate) async fn find_item(&self, key: &str) -> Result<Option<Item>> {
        for name in &self.vaults {
            let vault = self.vault(name).await?;
            if is_connect_id(key) {
                match self.api.item(&vault, key).await {
                    Ok(i) => return Ok(Some(i)),
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            }
            let items = self.api.items(&vault, Some(key)).await?;
            match items.as_slice() {
                [] => {}
                [one] => return self.api.item(&vault, &one.id).await.map(Some),
                many => {
                    return Err(Error::generic(format!(
                        "{}: {} items are titled {key:?} in vault {name:?}; expected one",
                        self.store,
                        many.len()
                    )));
                }
            }
        }
        Ok(None)
    }

    async fn item(&self, key: &str) -> Result<Item> {
        self.find_item(key)
            .await?
            .ok_or_else(|| Error::not_found(key.to_owned()))
    }

    /// Adds the files and fields of `item` matching `find` to `out` (what is already there
    /// stays: the first vault and item win).
    async fn collect(&self, item: &Item, find: &FindRef, out: &mut SecretMap) -> Result<()> {
        for f in &item.files {
            if find.matches_name(&f.name) && !out.contains_key(&f.name) {
                let v = self.api.file_content(item, f).await?;
                out.insert(f.name.clone(), v);
            }
        }
        for f in &item.fields {
            if f.label.is_empty() || !find.matches_name(&f.label) {
                continue;
            }
            match count_label(&item.fields, &f.label) {
                1 => {
                    out.entry(f.label.clone())
                        .or_insert_with(|| SecretValue::from(f.value.as_str()));
                }
                n => return Err(one_field_error(item, &f.label, n)),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for OnePassword {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        if r.version().is_some() {
            return Err(not_supported_version());
        }
        let item = self.item(&r.key).await?;
        match target(&item.category, r.property().unwrap_or_default()) {
            Target::File(name) => {
                let file = item
                    .files
                    .iter()
                    .find(|f| name.is_empty() || f.name == name)
                    .ok_or_else(|| Error::not_found(format!("{}#file/{name}", r.key)))?;
                self.api.file_content(&item, file).await
            }
            Target::Field(label) => {
                let label = if label.is_empty() {
                    DEFAULT_LABEL
                } else {
                    label
                };
                match count_label(&item.fields, label) {
                    0 => Err(Error::not_found(format!("{}#{label}", r.key))),
                    1 => Ok(item
                        .fields
                        .iter()
                        .find(|f| f.label == label)
                        .map(|f| SecretValue::from(f.value.as_str()))
                        .unwrap_or_default()),
                    n => Err(one_field_error(&item, label, n)),
                }
            }
        }
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        if r.version().is_some() {
            return Err(not_supported_version());
        }
        let item = self.item(&r.key).await?;
        let property = r.property().unwrap_or_default();
        let mut out = SecretMap::new();
        match target(&item.category, property) {
            Target::File(name) => {
                for f in item
                    .files
                    .iter()
                    .filter(|f| name.is_empty() || f.name == name)
                {
                    out.insert(f.name.clone(), self.api.file_content(&item, f).await?);
                }
            }
            Target::Field(label) => {
                for f in &item.fields {
                    if f.label.is_empty() || (!label.is_empty() && f.label != label) {
                        continue;
                    }
                    match count_label(&item.fields, &f.label) {
                        1 => out.insert(f.label.clone(), SecretValue::from(f.value.as_str())),
                        n => return Err(one_field_error(&item, &f.label, n)),
                    };
                }
            }
        }
        if out.is_empty() && !property.is_empty() {
            return Err(Error::not_found(format!("{}#{property}", r.key)));
        }
        Ok(out)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let mut out = SecretMap::new();
        for name in &self.vaults {
            let vault = self.vault(name).await?;
            for summary in self.api.items(&vault, None).await? {
                if find.path.as_deref().is_some_and(|p| p != summary.title) {
                    continue;
                }
                if !find.tags.keys().all(|t| summary.tags.contains(t)) {
                    continue;
                }
                let item = self.api.item(&vault, &summary.id).await?;
                self.collect(&item, find, &mut out).await?;
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
        self.exists(r).await
    }

    async fn validate(&self) -> Result<Validation> {
        for name in &self.vaults {
            self.vault_checked(name, true).await?;
        }
        Ok(Validation::Ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_as_eso() {
        assert_eq!(target("LOGIN", "user"), Target::Field("user"));
        assert_eq!(target("LOGIN", "file/a.pem"), Target::File("a.pem"));
        assert_eq!(target("DOCUMENT", "a.pem"), Target::File("a.pem"));
        assert_eq!(target("DOCUMENT", "field/notes"), Target::Field("notes"));
        assert_eq!(target("DOCUMENT", ""), Target::File(""));
        assert_eq!(target("SERVER", ""), Target::Field(""));
    }
}
