//! PushSecret and delete as ESO's Infisical provider does them: the value (or a property
//! merged into a JSON value) created or updated, nothing written when unchanged; a delete of
//! a property keeps the other properties; a missing secret is already deleted.

use eso_core::provider::{PushRef, PushValue, property};
use eso_core::{Error, Result, SecretValue};

use crate::client::{Api, address};

fn key_required(r: &PushRef) -> Result<()> {
    if r.remote_key.is_empty() {
        return Err(Error::invalid_config("remoteRef.remoteKey", "is required"));
    }
    Ok(())
}

/// Pushes `value` to `r.remote_key`.
pub(crate) async fn push(api: &Api, value: &PushValue, r: &PushRef) -> Result<()> {
    key_required(r)?;
    let payload = value.to_bytes()?;
    let (folder, name) = address(&api.scope.secrets_path, &r.remote_key);
    let existing = api.get(&folder, &name).await?.map(|s| s.secret_value);
    let new = match r.property() {
        Some(prop) => {
            let current = existing.as_deref().map(SecretValue::from);
            let mut doc = property::parse_for_push(current.as_ref(), &r.remote_key)?;
            property::set(&mut doc, prop, property::push_value(&payload)?);
            serde_json::to_string(&doc).map_err(|e| Error::Conversion(e.to_string()))?
        }
        None => payload
            .expose_str()
            .ok_or_else(|| {
                Error::Conversion(
                    "Infisical secrets hold text; the value is not valid UTF-8".into(),
                )
            })?
            .to_owned(),
    };
    match existing {
        Some(old) if old == new => Ok(()),
        Some(_) => api.write(&folder, &name, Some(&new), false).await,
        None => api.write(&folder, &name, Some(&new), true).await,
    }
}

/// Deletes `r.remote_key` (or only its property).
pub(crate) async fn delete(api: &Api, r: &PushRef) -> Result<()> {
    key_required(r)?;
    let (folder, name) = address(&api.scope.secrets_path, &r.remote_key);
    let Some(existing) = api.get(&folder, &name).await?.map(|s| s.secret_value) else {
        return Ok(());
    };
    if let Some(prop) = r.property() {
        let mut doc: serde_json::Value = serde_json::from_str(&existing).map_err(|_| {
            Error::Conversion(format!(
                "secret {:?} is not a JSON object; cannot delete property {prop:?}",
                r.remote_key
            ))
        })?;
        if !doc.is_object() {
            return Err(Error::Conversion(format!(
                "secret {:?} is not a JSON object; cannot delete property {prop:?}",
                r.remote_key
            )));
        }
        if !property::remove(&mut doc, prop) {
            return Ok(());
        }
        if doc.as_object().is_some_and(|o| !o.is_empty()) {
            let text = serde_json::to_string(&doc).map_err(|e| Error::Conversion(e.to_string()))?;
            return api.write(&folder, &name, Some(&text), false).await;
        }
    }
    match api.write(&folder, &name, None, false).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

/// Whether `r.remote_key` (and its property, when given) exists.
pub(crate) async fn exists(api: &Api, r: &PushRef) -> Result<bool> {
    key_required(r)?;
    let Some(v) = api.value(&r.remote_key).await? else {
        return Ok(false);
    };
    match r.property() {
        None => Ok(true),
        Some(prop) => match serde_json::from_str::<serde_json::Value>(&v) {
            Ok(doc) if doc.is_object() => Ok(property::contains(&doc, prop)),
            _ => Err(Error::Conversion(format!(
                "secret {:?} is not a JSON object; cannot check property {prop:?}",
                r.remote_key
            ))),
        },
    }
}
