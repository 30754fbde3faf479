//! PushSecret, delete and SecretExists as ESO's 1Password provider does them: a value is a
//! field of the item titled by the remote key (label `property`, default `password`); a new
//! item is a `SERVER` item in the metadata's vault or the first one; nothing is written when
//! the field and tags already hold what is pushed; a delete removes the field, and the item
//! once nothing is left in it.

use std::time::Duration;

use eso_core::provider::{PushRef, PushValue};
use eso_core::{Error, Result};
use serde::Deserialize;

use crate::client::{Field, Item, ItemVault};
use crate::provider::{DEFAULT_LABEL, OnePassword, count_label};

/// How long a push waits for a new item to be listed (Connect syncs in the background), and
/// how often it looks.
const CREATE_WAIT: Duration = Duration::from_secs(5);
const CREATE_POLL: Duration = Duration::from_millis(250);

/// `PushSecretMetadata` spec for 1Password.
#[derive(Debug, Default, Deserialize)]
struct Metadata {
    /// The item's tags (replace the existing ones when set).
    #[serde(default)]
    tags: Option<Vec<String>>,
    /// The vault a new item goes to (one of the store's vaults).
    #[serde(default)]
    vault: String,
}

fn key_required(r: &PushRef) -> Result<()> {
    if r.remote_key.is_empty() {
        return Err(Error::invalid_config("remoteRef.remoteKey", "is required"));
    }
    Ok(())
}

/// Sets the field `label` to `value` (appending it when missing); whether anything changed.
fn set_field(item: &mut Item, label: &str, value: &str) -> Result<bool> {
    match count_label(&item.fields, label) {
        0 => {
            item.fields.push(Field {
                label: label.to_owned(),
                value: value.to_owned(),
                kind: "CONCEALED".to_owned(),
                ..Field::default()
            });
            Ok(true)
        }
        1 => {
            let f = item
                .fields
                .iter_mut()
                .find(|f| f.label == label)
                .ok_or_else(|| Error::generic("1password: field vanished"))?;
            let changed = f.value != value;
            if changed {
                value.clone_into(&mut f.value);
            }
            Ok(changed)
        }
        n => Err(Error::generic(format!(
            "1password: item {:?} has {n} fields labelled {label:?}; expected one",
            item.title
        ))),
    }
}

/// PushSecret, delete and `SecretExists` (the `Provider` methods call these).
impl OnePassword {
    /// Pushes `value` to the field `r.property` (default `password`) of the item `r.remote_key`.
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        key_required(r)?;
        let PushValue::Single(v) = value else {
            return Err(Error::not_supported(
                "1password: a push writes one Secret key to one item field \
                 (spec.data[].match.secretKey); whole-Secret pushes are not supported (ESO refuses \
                 them too)",
            ));
        };
        let text = v.expose_str().ok_or_else(|| {
            Error::Conversion(format!(
                "1Password fields hold text; the value pushed to {:?} is not valid UTF-8",
                r.remote_key
            ))
        })?;
        let label = r.property().unwrap_or(DEFAULT_LABEL);
        let meta: Metadata = r.metadata_spec()?.unwrap_or_default();
        let _write = self.writes.lock().await;
        match self.find_item(&r.remote_key).await? {
            Some(mut item) => {
                let mut changed = false;
                if let Some(tags) = meta.tags
                    && tags != item.tags
                {
                    item.tags = tags;
                    changed = true;
                }
                changed |= set_field(&mut item, label, text)?;
                if changed {
                    self.api.update(&item).await?;
                }
                Ok(())
            }
            None => self.create(meta, &r.remote_key, label, text).await,
        }
    }

    async fn create(&self, meta: Metadata, title: &str, label: &str, text: &str) -> Result<()> {
        let vault_name = if meta.vault.is_empty() {
            self.vaults.first().cloned().ok_or_else(|| {
                Error::invalid_config("spec.provider.onepassword.vaults", "is empty")
            })?
        } else if self.vaults.contains(&meta.vault) {
            meta.vault
        } else {
            return Err(Error::invalid_config(
                "spec.data[].metadata.spec.vault",
                format!(
                    "vault {:?} is not one of the store's vaults ({})",
                    meta.vault,
                    self.vaults.join(", ")
                ),
            ));
        };
        let vault = self.vault(&vault_name).await?;
        let mut item = Item {
            title: title.to_owned(),
            category: "SERVER".to_owned(),
            vault: ItemVault { id: vault.clone() },
            tags: meta.tags.unwrap_or_default(),
            ..Item::default()
        };
        set_field(&mut item, label, text)?;
        self.api.create(&vault, &item).await?;
        // Connect answers before the item is searchable; a push right after must not create a
        // second item with the same title (ESO waits the same way).
        let deadline = tokio::time::Instant::now() + CREATE_WAIT;
        loop {
            if self.find_item(title).await?.is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::unavailable(
                    format!("1password: item {title:?} was created but is not listed yet"),
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                ));
            }
            tokio::time::sleep(CREATE_POLL).await;
        }
    }

    /// Removes the field `r.property` (default `password`) of the item `r.remote_key`; the item
    /// goes when no field, file or section is left. A missing item or field is already deleted.
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
        key_required(r)?;
        let _write = self.writes.lock().await;
        let Some(mut item) = self.find_item(&r.remote_key).await? else {
            return Ok(());
        };
        let label = r.property().unwrap_or(DEFAULT_LABEL);
        match count_label(&item.fields, label) {
            0 => return Ok(()),
            1 => item.fields.retain(|f| f.label != label),
            n => {
                return Err(Error::generic(format!(
                    "1password: item {:?} has {n} fields labelled {label:?}; expected one",
                    item.title
                )));
            }
        }
        // A lone section without ID or label is what 1Password adds by itself: not content.
        if let [only] = item.sections.as_slice()
            && only
                .get("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .is_empty()
            && only
                .get("label")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .is_empty()
        {
            item.sections.clear();
        }
        if item.fields.is_empty() && item.files.is_empty() && item.sections.is_empty() {
            return match self.api.delete(&item).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            };
        }
        self.api.update(&item).await.map(drop)
    }

    /// Whether the item `r.remote_key` exists (and has a field labelled `r.property`, when set).
    pub(crate) async fn exists(&self, r: &PushRef) -> Result<bool> {
        key_required(r)?;
        Ok(match self.find_item(&r.remote_key).await? {
            None => false,
            Some(item) => r
                .property()
                .is_none_or(|prop| item.fields.iter().any(|f| f.label == prop)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_set_once() {
        let mut item = Item::default();
        assert!(set_field(&mut item, "password", "a").unwrap());
        assert!(!set_field(&mut item, "password", "a").unwrap());
        assert!(set_field(&mut item, "password", "b").unwrap());
        assert_eq!(item.fields.len(), 1);
        assert_eq!(item.fields[0].kind, "CONCEALED");
        item.fields.push(item.fields[0].clone());
        let e = set_field(&mut item, "password", "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 fields labelled \"password\""), "{e}");
    }
}
