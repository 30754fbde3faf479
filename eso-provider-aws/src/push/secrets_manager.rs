//! Pushes and deletes of [`AwsSecretsManager`]: a secret without the ownership tag is never overwritten
//! nor deleted ([`Error::NotManaged`]).

use eso_core::provider::{PushRef, PushValue, property};
use eso_core::{Error, Result, SecretValue};

use crate::push::{self, SecretsManagerMetadata};

use crate::provider::secrets_manager::AwsSecretsManager;

impl AwsSecretsManager {
    /// Writes `value` (or one property of the JSON document), marking the secret as ours.
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let key = self.key(&r.remote_key);
        let meta: SecretsManagerMetadata = push::parse(r)?;
        let as_string = match meta.secret_push_format.as_deref() {
            None | Some("" | "binary") => false,
            Some("string") => true,
            Some(other) => {
                return Err(Error::invalid_config(
                    "metadata.spec.secretPushFormat",
                    format!("{other:?}: must be string or binary"),
                ));
            }
        };
        let value = value.to_bytes()?;
        let Some(d) = self.describe(&key).await? else {
            let payload = match r.property() {
                None => value,
                Some(p) => {
                    let mut doc = serde_json::json!({});
                    property::set(&mut doc, p, property::push_value(&value)?);
                    SecretValue::from(doc.to_string())
                }
            };
            self.create(&key, &payload, &meta, as_string).await?;
            return self.sync_policy(&key, &meta).await;
        };
        if !push::is_managed(d.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))) {
            return Err(r.not_managed());
        }
        self.sync_tags(&key, &d, &meta).await?;
        self.sync_policy(&key, &meta).await?;
        // A secret without any version (created elsewhere without a value) takes the first
        // one directly (ESO #4833).
        let existing = if d.version_ids_to_stages().is_none_or(|v| v.is_empty()) {
            None
        } else {
            match self.raw(&key, None).await {
                Ok(v) => Some(v),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            }
        };
        let payload = match r.property() {
            None => value,
            Some(p) => {
                let mut doc = property::parse_for_push(existing.as_ref(), &key)?;
                property::set(&mut doc, p, property::push_value(&value)?);
                SecretValue::from(doc.to_string())
            }
        };
        if existing
            .as_ref()
            .is_some_and(|e| e.expose() == payload.expose())
        {
            return Ok(());
        }
        self.put_value(&key, &payload, as_string).await
    }

    /// Deletes the secret, or one property of its JSON document.
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
        let key = self.key(&r.remote_key);
        let Some(d) = self.describe(&key).await? else {
            return Ok(());
        };
        if !push::is_managed(d.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))) {
            return Err(r.not_managed());
        }
        if d.deleted_date().is_some() {
            // Already scheduled for deletion.
            return Ok(());
        }
        if let Some(p) = r.property() {
            let existing = match self.raw(&key, None).await {
                Ok(v) => v,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            let mut doc = property::parse_for_push(Some(&existing), &key)?;
            if !property::remove(&mut doc, p) {
                return Ok(());
            }
            if doc.as_object().is_some_and(|m| !m.is_empty()) {
                return self
                    .put_value(&key, &SecretValue::from(doc.to_string()), false)
                    .await;
            }
        }
        self.delete_whole(&key, &d).await
    }
}
