//! PushSecret and delete on Secret Manager: create with the ownership label, replication,
//! CMEK, topics, labels and annotations from the PushSecret metadata; a new version only when
//! the value changes; never touching a secret without our label.

use std::collections::{BTreeMap, HashMap};

use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE, PushRef, PushValue, property};
use eso_core::{Error, Result, SecretValue};
use google_cloud_secretmanager_v1::model::{
    CustomerManagedEncryption, Replication, Secret, SecretPayload, Topic, replication,
};
use serde::Deserialize;

use crate::error::GcpError;
use crate::provider::GcpSecretManager;

/// `spec.data[].metadata` of a PushSecret for this provider (ESO's `PushSecretMetadata`
/// spec), given bare or as `{apiVersion, kind: PushSecretMetadata, spec: {...}}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushMetadata {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    merge_policy: MergePolicy,
    #[serde(default, rename = "cmekKeyName")]
    cmek_key_name: Option<String>,
    #[serde(default)]
    replication_location: Option<String>,
    #[serde(default)]
    replication_locations: Vec<String>,
}

/// Whether the pushed labels and annotations replace the secret's or are merged into them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub(crate) enum MergePolicy {
    #[default]
    Replace,
    Merge,
}

/// Parses the metadata of `r`, `None` when there is none.
pub(crate) fn parse_metadata(r: &PushRef) -> Result<Option<PushMetadata>> {
    let Some(meta) = r.metadata_spec::<PushMetadata>()? else {
        return Ok(None);
    };
    if meta.labels.contains_key(MANAGED_BY_TAG) {
        return Err(Error::invalid_config(
            "metadata.spec.labels",
            format!("{MANAGED_BY_TAG:?} is reserved for the ownership marker"),
        ));
    }
    Ok(Some(meta))
}

impl PushMetadata {
    /// The replication of a new global secret: user-managed over the listed locations, else
    /// automatic; CMEK on each replica (or on the automatic policy).
    pub(crate) fn replication(&self) -> Replication {
        let cmek = self
            .cmek_key_name
            .as_ref()
            .filter(|k| !k.is_empty())
            .map(|k| CustomerManagedEncryption::new().set_kms_key_name(k));
        let mut locations = self.replication_locations.clone();
        if locations.is_empty()
            && let Some(l) = self.replication_location.as_ref().filter(|l| !l.is_empty())
        {
            locations.push(l.clone());
        }
        if locations.is_empty() {
            let mut a = replication::Automatic::new();
            if let Some(c) = cmek {
                a = a.set_customer_managed_encryption(c);
            }
            return Replication::new().set_automatic(a);
        }
        let replicas = locations.into_iter().map(|l| {
            let r = replication::user_managed::Replica::new().set_location(l);
            match &cmek {
                Some(c) => r.set_customer_managed_encryption(c.clone()),
                None => r,
            }
        });
        Replication::new().set_user_managed(replication::UserManaged::new().set_replicas(replicas))
    }

    /// The labels to set: ours plus, with `mergePolicy: Merge`, the secret's; always the
    /// ownership label.
    fn labels(&self, existing: &HashMap<String, String>) -> HashMap<String, String> {
        merge(&self.labels, existing, self.merge_policy, true)
    }

    fn annotations(&self, existing: &HashMap<String, String>) -> HashMap<String, String> {
        merge(&self.annotations, existing, self.merge_policy, false)
    }
}

fn merge(
    ours: &BTreeMap<String, String>,
    existing: &HashMap<String, String>,
    policy: MergePolicy,
    marker: bool,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if policy == MergePolicy::Merge {
        out.extend(existing.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out.extend(ours.iter().map(|(k, v)| (k.clone(), v.clone())));
    if marker {
        out.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned());
    }
    out
}

/// True when `labels` carry the ownership marker.
pub(crate) fn is_managed<S: std::hash::BuildHasher>(
    labels: &std::collections::HashMap<String, String, S>,
) -> bool {
    labels.get(MANAGED_BY_TAG).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// The bytes to store for a property push onto `existing` (the latest version), or `None`
/// when the property already holds `value`.
fn property_payload(
    existing: Option<&SecretValue>,
    key: &str,
    prop: &str,
    value: &SecretValue,
) -> Result<Option<Vec<u8>>> {
    let mut doc = property::parse_for_push(existing, key)?;
    let new = property::push_value(value)?;
    if property::get(&doc, prop).as_ref() == Some(&new) {
        return Ok(None);
    }
    property::set(&mut doc, prop, new);
    serde_json::to_vec(&doc)
        .map(Some)
        .map_err(|e| Error::Conversion(e.to_string()))
}

/// PushSecret and delete (the `Provider` methods call these).
impl GcpSecretManager {
    /// Pushes `value` to `r.remote_key` (see the module docs).
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let key = r.remote_key.as_str();
        let payload = value.to_bytes()?;
        let meta = parse_metadata(r)?;
        let prop = r.property();
        if prop.is_some() && meta.is_some() {
            return Err(Error::invalid_config(
                "metadata",
                "cannot be combined with a property push (ESO rule)",
            ));
        }
        let Some(secret) = self.get_meta(key).await? else {
            let data = match prop {
                Some(p) => property_payload(None, key, p, &payload)?.unwrap_or_default(),
                None => payload.expose().to_vec(),
            };
            self.create(key, meta.unwrap_or_default()).await?;
            return self.add_version(key, data).await;
        };
        if !is_managed(&secret.labels) {
            return Err(r.not_managed());
        }
        if let Some(meta) = &meta {
            self.update_metadata(&secret, meta).await?;
        }
        let latest = match self.access(key, "latest").await {
            Ok(v) => Some(SecretValue::new(v)),
            Err(e) if e.is_not_found() || e.is_disabled_or_destroyed() => None,
            Err(e) => return Err(e.into()),
        };
        let data = match prop {
            Some(p) => match property_payload(latest.as_ref(), key, p, &payload)? {
                Some(d) => d,
                None => return Ok(()),
            },
            None => {
                if latest
                    .as_ref()
                    .is_some_and(|l| l.expose() == payload.expose())
                {
                    return Ok(());
                }
                payload.expose().to_vec()
            }
        };
        self.add_version(key, data).await
    }

    async fn create(&self, key: &str, meta: PushMetadata) -> Result<()> {
        let empty = HashMap::new();
        let mut secret = Secret::new()
            .set_labels(meta.labels(&empty))
            .set_annotations(meta.annotations(&empty))
            .set_topics(meta.topics.iter().map(|t| Topic::new().set_name(t)));
        if self.s.location.is_none() {
            secret = secret.set_replication(meta.replication());
        } else if let Some(k) = meta.cmek_key_name.as_ref().filter(|k| !k.is_empty()) {
            // Regional secrets have no replication; their key is set on the secret.
            secret = secret.set_customer_managed_encryption(
                CustomerManagedEncryption::new().set_kms_key_name(k),
            );
        }
        let parent = self.parent();
        self.api
            .create_secret()
            .set_parent(&parent)
            .set_secret_id(key)
            .set_secret(secret)
            .send()
            .await
            .map_err(|e| GcpError::sdk("CreateSecret", &self.secret_name(key), e))?;
        Ok(())
    }

    async fn update_metadata(&self, secret: &Secret, meta: &PushMetadata) -> Result<()> {
        let labels = meta.labels(&secret.labels);
        let annotations = meta.annotations(&secret.annotations);
        let topics: Vec<&str> = secret.topics.iter().map(|t| t.name.as_str()).collect();
        let mut paths = Vec::new();
        if labels != secret.labels {
            paths.push("labels");
        }
        if annotations != secret.annotations {
            paths.push("annotations");
        }
        let topics_changed = !meta.topics.is_empty() && topics != meta.topics;
        if topics_changed {
            paths.push("topics");
        }
        if paths.is_empty() {
            return Ok(());
        }
        let mut update = Secret::new()
            .set_name(&secret.name)
            .set_etag(&secret.etag)
            .set_labels(labels)
            .set_annotations(annotations);
        if topics_changed {
            update = update.set_topics(meta.topics.iter().map(|t| Topic::new().set_name(t)));
        }
        self.api
            .update_secret()
            .set_secret(update)
            .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(paths))
            .send()
            .await
            .map_err(|e| GcpError::sdk("UpdateSecret", &secret.name, e))?;
        Ok(())
    }

    async fn add_version(&self, key: &str, data: Vec<u8>) -> Result<()> {
        let parent = self.secret_name(key);
        self.api
            .add_secret_version()
            .set_parent(&parent)
            .set_payload(SecretPayload::new().set_data(data))
            .send()
            .await
            .map_err(|e| GcpError::sdk("AddSecretVersion", &parent, e))?;
        Ok(())
    }

    /// Deletes `r.remote_key` (with its etag), or removes `r.property` from its latest JSON
    /// version; a missing secret is fine, a secret without our label is left alone ([`Error::NotManaged`]).
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
        let key = r.remote_key.as_str();
        let Some(secret) = self.get_meta(key).await? else {
            return Ok(());
        };
        if !is_managed(&secret.labels) {
            return Err(r.not_managed());
        }
        if let Some(p) = r.property() {
            let latest = match self.access(key, "latest").await {
                Ok(v) => SecretValue::new(v),
                Err(e) if e.is_not_found() || e.is_disabled_or_destroyed() => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let mut doc = property::parse_for_push(Some(&latest), key)?;
            if !property::remove(&mut doc, p) {
                return Ok(());
            }
            if doc.as_object().is_some_and(|m| !m.is_empty()) {
                let data =
                    serde_json::to_vec(&doc).map_err(|e| Error::Conversion(e.to_string()))?;
                return self.add_version(key, data).await;
            }
        }
        let res = self
            .api
            .delete_secret()
            .set_name(&secret.name)
            .set_etag(&secret.etag)
            .send()
            .await
            .map_err(|e| GcpError::sdk("DeleteSecret", &secret.name, e));
        match res {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(v: serde_json::Value) -> PushMetadata {
        parse_metadata(&PushRef::new("k").with_metadata(v))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn replication_from_metadata() {
        let r = meta(serde_json::json!({})).replication();
        assert!(r.automatic().is_some());
        let r = meta(serde_json::json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1",
            "kind": "PushSecretMetadata", "spec": {"replicationLocations": ["us-east1", "europe-west1"],
            "cmekKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}}))
        .replication();
        let um = r.user_managed().unwrap();
        assert_eq!(um.replicas.len(), 2);
        assert_eq!(um.replicas[1].location, "europe-west1");
        assert!(um.replicas[0].customer_managed_encryption.is_some());
        let r = meta(serde_json::json!({"replicationLocation": "us-east1"})).replication();
        assert_eq!(r.user_managed().unwrap().replicas.len(), 1);
        let r = meta(serde_json::json!({"cmekKeyName": "k"})).replication();
        assert!(r.automatic().unwrap().customer_managed_encryption.is_some());
    }

    #[test]
    fn labels_follow_the_merge_policy() {
        let existing: HashMap<String, String> =
            [("old".to_owned(), "1".to_owned())].into_iter().collect();
        let m = meta(serde_json::json!({"labels": {"team": "a"}}));
        let l = m.labels(&existing);
        assert_eq!(l.len(), 2);
        assert_eq!(l[MANAGED_BY_TAG], MANAGED_BY_VALUE);
        let m = meta(serde_json::json!({"labels": {"team": "a"}, "mergePolicy": "Merge"}));
        assert_eq!(m.labels(&existing).len(), 3);
        let e = parse_metadata(
            &PushRef::new("k").with_metadata(serde_json::json!({"labels": {"managed-by": "me"}})),
        )
        .unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
    }

    #[test]
    fn property_payloads() {
        let v = SecretValue::from("p2");
        let d = property_payload(None, "k", "pass", &v).unwrap().unwrap();
        assert_eq!(d, br#"{"pass":"p2"}"#);
        let existing = SecretValue::from(r#"{"pass":"p2","user":"u"}"#);
        assert!(
            property_payload(Some(&existing), "k", "pass", &v)
                .unwrap()
                .is_none()
        );
        let not_json = SecretValue::from("plain");
        assert!(property_payload(Some(&not_json), "k", "pass", &v).is_err());
    }
}
