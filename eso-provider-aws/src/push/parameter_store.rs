//! Pushes and deletes of [`AwsParameterStore`]: a secret without the ownership tag is never overwritten
//! nor deleted ([`Error::NotManaged`]).

use eso_core::provider::{PushRef, PushValue, property};
use eso_core::{Error, Result, SecretValue};

use crate::error::sdk_error;
use crate::push::{self, ParameterStoreMetadata};

use crate::provider::parameter_store::AwsParameterStore;

impl AwsParameterStore {
    /// Writes `value` (or one property of the JSON document), marking the secret as ours.
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let name = self.key(&r.remote_key);
        let meta: ParameterStoreMetadata = push::parse(r)?;
        let value = value.to_bytes()?;
        let existing = self.raw(&name).await?;
        let tags = match &existing {
            Some(_) => {
                let tags = self.tags(&name).await?;
                if !push::is_managed(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                    return Err(r.not_managed());
                }
                Some(tags)
            }
            None => None,
        };
        let payload = match r.property() {
            None => value,
            Some(p) => {
                let mut doc = property::parse_for_push(existing.as_ref(), &name)?;
                property::set(&mut doc, p, property::push_value(&value)?);
                SecretValue::from(doc.to_string())
            }
        };
        let (Some(existing), Some(tags)) = (existing, tags) else {
            return self.put(&name, &payload, &meta, false).await;
        };
        self.sync_tags(&name, &tags, &meta).await?;
        if existing.expose() == b"sensitive" {
            return Err(Error::PermissionDenied {
                message: format!(
                    "parameter {name:?} reads back as \"sensitive\": the credentials cannot decrypt it"
                ),
            });
        }
        if existing.expose() == payload.expose() {
            return Ok(());
        }
        self.put(&name, &payload, &meta, true).await
    }

    /// Deletes the secret, or one property of its JSON document.
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
        let name = self.key(&r.remote_key);
        let Some(existing) = self.raw(&name).await? else {
            return Ok(());
        };
        let tags = self.tags(&name).await?;
        if !push::is_managed(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            return Err(r.not_managed());
        }
        if let Some(p) = r.property() {
            let mut doc = property::parse_for_push(Some(&existing), &name)?;
            if !property::remove(&mut doc, p) {
                return Ok(());
            }
            if doc.as_object().is_some_and(|m| !m.is_empty()) {
                return self
                    .put(
                        &name,
                        &SecretValue::from(doc.to_string()),
                        &ParameterStoreMetadata::default(),
                        true,
                    )
                    .await;
            }
        }
        match self
            .inner
            .client
            .delete_parameter()
            .name(&name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match sdk_error("DeleteParameter", &name, e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }
}
