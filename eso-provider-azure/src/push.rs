//! PushSecret and delete on Key Vault secrets: written with the ownership tag, `contentType`,
//! expiry and tags from the PushSecret metadata; no new version when value, content type and
//! expiry are unchanged; a soft-deleted name is recovered first; never touching a secret
//! without our tag.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use azure_core::time::OffsetDateTime;
use azure_security_keyvault_secrets::models::{Secret, SecretAttributes, SetSecretParameters};
use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE, PushRef, PushValue, property};
use eso_core::{Error, Result, SecretValue};
use serde::Deserialize;

use crate::client::is_managed;
use crate::error;
use crate::provider::{AzureKeyVault, Object, parse_key, unsupported};

/// How long to wait for a recovered secret to become readable.
const RECOVER_WAIT: Duration = Duration::from_secs(30);

/// `spec.data[].metadata` of a PushSecret for this provider, given bare or as
/// `{apiVersion, kind: PushSecretMetadata, spec: {...}}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushMetadata {
    /// RFC 3339 expiry of the secret.
    #[serde(default)]
    expiration_date: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    content_type: Option<String>,
}

/// Parses the metadata of `r` (none: the defaults).
pub(crate) fn parse_metadata(r: &PushRef) -> Result<PushMetadata> {
    let meta: PushMetadata = r.metadata_spec()?.unwrap_or_default();
    if meta.tags.contains_key(MANAGED_BY_TAG) {
        return Err(Error::invalid_config(
            "metadata.spec.tags",
            format!("{MANAGED_BY_TAG:?} is reserved for the ownership marker"),
        ));
    }
    Ok(meta)
}

impl PushMetadata {
    fn expires(&self) -> Result<Option<OffsetDateTime>> {
        self.expiration_date
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(|d| {
                azure_core::time::parse_rfc3339(d).map_err(|e| {
                    Error::invalid_config("metadata.spec.expirationDate", e.to_string())
                })
            })
            .transpose()
    }

    fn tags(&self) -> HashMap<String, String> {
        let mut t: HashMap<String, String> = self.tags.clone().into_iter().collect();
        t.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned());
        t
    }
}

/// The value to store for a property push onto `existing`, `None` when unchanged.
fn property_payload(
    existing: Option<&SecretValue>,
    key: &str,
    prop: &str,
    value: &SecretValue,
) -> Result<Option<String>> {
    let mut doc = property::parse_for_push(existing, key)?;
    let new = property::push_value(value)?;
    if property::get(&doc, prop).as_ref() == Some(&new) {
        return Ok(None);
    }
    property::set(&mut doc, prop, new);
    serde_json::to_string(&doc)
        .map(Some)
        .map_err(|e| Error::Conversion(e.to_string()))
}

fn text(v: &SecretValue) -> Result<String> {
    v.expose_str().map(str::to_owned).ok_or_else(|| {
        Error::Conversion("Key Vault secrets hold text; the value is not valid UTF-8".into())
    })
}

fn value_of(s: &Secret) -> SecretValue {
    SecretValue::from(s.value.as_deref().unwrap_or_default())
}

/// PushSecret and delete of secrets (the `Provider` methods call these).
impl AzureKeyVault {
    /// Pushes `value` to `r.remote_key` (see the module docs).
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let (kind, name) = parse_key(&r.remote_key);
        match kind {
            Object::Secret => {}
            Object::Cert => {
                if r.property().is_some() {
                    return Err(Error::invalid_config(
                        "remoteRef.property",
                        "is not supported for cert/ objects",
                    ));
                }
                return self
                    .push_certificate(name, value.to_bytes()?.expose())
                    .await;
            }
            Object::Key => {
                if r.property().is_some() {
                    return Err(Error::invalid_config(
                        "remoteRef.property",
                        "is not supported for key/ objects",
                    ));
                }
                return self.push_key(name, value.to_bytes()?.expose()).await;
            }
        }
        let meta = parse_metadata(r)?;
        let expires = meta.expires()?;
        let payload = value.to_bytes()?;
        let existing = self.get(name, None).await?;
        if let Some(s) = &existing
            && !is_managed(s.tags.as_ref())
        {
            return Err(r.not_managed());
        }
        let new_value = match r.property() {
            Some(p) => {
                match property_payload(existing.as_ref().map(value_of).as_ref(), name, p, &payload)?
                {
                    Some(v) => v,
                    None => return Ok(()),
                }
            }
            None => text(&payload)?,
        };
        if let Some(s) = &existing {
            let same_value = s.value.as_deref() == Some(new_value.as_str());
            let same_type = meta.content_type.is_none() || s.content_type == meta.content_type;
            let old_exp = s.attributes.as_ref().and_then(|a| a.expires);
            let same_exp = expires.is_none()
                || old_exp.map(OffsetDateTime::unix_timestamp)
                    == expires.map(OffsetDateTime::unix_timestamp);
            let want_tags = meta.tags();
            let same_tags = s.tags.as_ref() == Some(&want_tags)
                || (meta.tags.is_empty() && r.metadata.is_none());
            if same_value && same_type && same_exp && same_tags {
                return Ok(());
            }
        }
        self.set(name, new_value, &meta, expires).await
    }

    async fn set(
        &self,
        name: &str,
        value: String,
        meta: &PushMetadata,
        expires: Option<OffsetDateTime>,
    ) -> Result<()> {
        let params = || -> Result<_> {
            let p = SetSecretParameters {
                value: Some(value.clone()),
                content_type: meta.content_type.clone(),
                tags: Some(meta.tags()),
                secret_attributes: expires.map(|e| SecretAttributes {
                    expires: Some(e),
                    ..Default::default()
                }),
            };
            p.try_into()
                .map_err(|e: azure_core::Error| self.err("SetSecret", name, &e))
        };
        match self.secrets.set_secret(name, params()?, None).await {
            Ok(_) => Ok(()),
            Err(e) if error::is_deleted_conflict(&e) => {
                self.recover(name).await?;
                // A recovered secret that is not ours stays untouched.
                match self.get(name, None).await? {
                    Some(s) if !is_managed(s.tags.as_ref()) => Err(Error::not_managed(name)),
                    _ => self
                        .secrets
                        .set_secret(name, params()?, None)
                        .await
                        .map(|_| ())
                        .map_err(|e| self.err("SetSecret", name, &e)),
                }
            }
            Err(e) => Err(self.err("SetSecret", name, &e)),
        }
    }

    /// Recovers the soft-deleted `name` and waits until it can be read (recovery is asynchronous
    /// in Key Vault).
    async fn recover(&self, name: &str) -> Result<()> {
        tracing::info!(secret = name, store = %self.store, "azurekv: recovering a soft-deleted secret before writing it");
        self.secrets
            .recover_deleted_secret(name, None)
            .await
            .map_err(|e| self.err("RecoverDeletedSecret", name, &e))?;
        let deadline = tokio::time::Instant::now() + RECOVER_WAIT;
        loop {
            if self.get(name, None).await?.is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::Unavailable {
                    message: format!("azurekv {name} (store {}): still recovering", self.store),
                    source: None,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Deletes `r.remote_key` (soft delete), or removes `r.property` from its JSON value; a
    /// missing secret is fine, a secret without our tag is left alone ([`Error::NotManaged`]).
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
        let (kind, name) = parse_key(&r.remote_key);
        if kind != Object::Secret {
            return Err(unsupported(kind, &r.remote_key));
        }
        let Some(s) = self.get(name, None).await? else {
            return Ok(());
        };
        if !is_managed(s.tags.as_ref()) {
            return Err(r.not_managed());
        }
        if let Some(p) = r.property() {
            let mut doc = property::parse_for_push(Some(&value_of(&s)), name)?;
            if !property::remove(&mut doc, p) {
                return Ok(());
            }
            if doc.as_object().is_some_and(|m| !m.is_empty()) {
                let v =
                    serde_json::to_string(&doc).map_err(|e| Error::Conversion(e.to_string()))?;
                let meta = PushMetadata {
                    content_type: s.content_type.clone(),
                    tags: s
                        .tags
                        .clone()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|(k, _)| k != MANAGED_BY_TAG)
                        .collect(),
                    expiration_date: None,
                };
                let exp = s.attributes.as_ref().and_then(|a| a.expires);
                return self.set(name, v, &meta, exp).await;
            }
        }
        match self.secrets.delete_secret(name, None).await {
            Ok(_) => Ok(()),
            Err(e) if error::status(&e) == Some(404) => Ok(()),
            Err(e) => Err(self.err("DeleteSecret", name, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_forms() {
        let r = PushRef::new("k").with_metadata(serde_json::json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1",
            "kind": "PushSecretMetadata", "spec": {"expirationDate": "2030-01-02T03:04:05Z", "tags": {"team": "a"}, "contentType": "text/plain"}}));
        let m = parse_metadata(&r).unwrap();
        assert_eq!(
            m.expires().unwrap().unwrap().unix_timestamp(),
            1_893_553_445
        );
        assert_eq!(m.tags().len(), 2);
        assert_eq!(m.content_type.as_deref(), Some("text/plain"));
        let r = PushRef::new("k").with_metadata(serde_json::json!({"tags": {"managed-by": "me"}}));
        assert!(
            parse_metadata(&r)
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        let r = PushRef::new("k").with_metadata(serde_json::json!({"expirationDate": "tomorrow"}));
        assert!(parse_metadata(&r).unwrap().expires().is_err());
    }
}
