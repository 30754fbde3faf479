//! PushSecret `metadata` blocks of the AWS services (ESO's `PushSecretMetadata`), shared
//! helpers for tags and the ownership marker.

pub(crate) mod parameter_store;
pub(crate) mod secrets_manager;

use std::collections::BTreeMap;

use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE, PushRef};
use eso_core::{Error, Result};
use serde::Deserialize;

/// Where a resource policy document comes from.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicySourceRef {
    /// `ConfigMap` or `Secret`.
    pub(crate) kind: String,
    /// Object name (in the store's credential namespace).
    pub(crate) name: String,
    /// Key holding the JSON policy.
    pub(crate) key: String,
}

/// `resourcePolicy` of a Secrets Manager push.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourcePolicy {
    /// `BlockPublicPolicy` of `PutResourcePolicy`.
    pub(crate) block_public_policy: Option<bool>,
    /// The policy document's source.
    pub(crate) policy_source_ref: Option<PolicySourceRef>,
}

/// Push metadata of Secrets Manager.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretsManagerMetadata {
    /// Tags to set (besides the ownership tag).
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    /// Description of a new secret.
    pub(crate) description: Option<String>,
    /// `binary` (default) or `string`.
    pub(crate) secret_push_format: Option<String>,
    /// KMS key of a new secret.
    pub(crate) kms_key_id: Option<String>,
    /// Resource policy to attach.
    pub(crate) resource_policy: Option<ResourcePolicy>,
}

/// `tier` of a Parameter Store push.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tier {
    /// `Standard` (default), `Advanced` or `Intelligent-Tiering`.
    #[serde(rename = "type")]
    pub(crate) kind: Option<String>,
    /// Parameter policies (JSON), Advanced tier only.
    pub(crate) policies: Option<serde_json::Value>,
}

/// Push metadata of Parameter Store. ESO's `encodeAsDecoded` is accepted and ignored, like
/// any other unknown field: whole-Secret pushes always keep values decoded here.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ParameterStoreMetadata {
    /// `String` (default), `StringList` or `SecureString`.
    pub(crate) secret_type: Option<String>,
    /// KMS key for `SecureString` (default `alias/aws/ssm`).
    #[serde(rename = "kmsKeyID")]
    pub(crate) kms_key_id: Option<String>,
    /// Tier and policies.
    pub(crate) tier: Option<Tier>,
    /// Tags to set (besides the ownership tag).
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    /// Description.
    pub(crate) description: Option<String>,
}

/// Parses `r.metadata`: ESO's `{apiVersion, kind: PushSecretMetadata, spec: {...}}` or the
/// bare spec.
pub(crate) fn parse<T: serde::de::DeserializeOwned + Default>(r: &PushRef) -> Result<T> {
    Ok(r.metadata_spec()?.unwrap_or_default())
}

/// The tags a push sets: the user's plus the ownership tag (which users may not set).
pub(crate) fn wanted_tags(user: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    if user.contains_key(MANAGED_BY_TAG) {
        return Err(Error::invalid_config(
            "metadata.spec.tags",
            format!("{MANAGED_BY_TAG:?} is reserved for the ownership marker"),
        ));
    }
    let mut tags = user.clone();
    tags.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned());
    Ok(tags)
}

/// True when `tags` carry the ownership marker.
pub(crate) fn is_managed<'a>(mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
    tags.any(|(k, v)| k == MANAGED_BY_TAG && v == MANAGED_BY_VALUE)
}

/// The default description ESO gives new secrets.
pub(crate) fn default_description() -> String {
    format!("secret '{MANAGED_BY_TAG}:{MANAGED_BY_VALUE}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_with_and_without_wrapper() {
        let r = PushRef::new("k").with_metadata(serde_json::json!({
            "apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
            "spec": {"secretPushFormat": "string", "tags": {"team": "a"}, "kmsKeyId": "k1"}}));
        let m: SecretsManagerMetadata = parse(&r).unwrap();
        assert_eq!(m.secret_push_format.as_deref(), Some("string"));
        assert_eq!(m.kms_key_id.as_deref(), Some("k1"));
        let r = PushRef::new("k").with_metadata(serde_json::json!({"secretType": "SecureString"}));
        let m: ParameterStoreMetadata = parse(&r).unwrap();
        assert_eq!(m.secret_type.as_deref(), Some("SecureString"));
        let bad = PushRef::new("k").with_metadata(serde_json::json!({"spec": {"tags": 3}}));
        assert!(parse::<SecretsManagerMetadata>(&bad).is_err());
    }

    #[test]
    fn ownership_tag_is_reserved() {
        let mut user = BTreeMap::new();
        user.insert("team".to_owned(), "a".to_owned());
        assert_eq!(wanted_tags(&user).unwrap().len(), 2);
        user.insert(MANAGED_BY_TAG.to_owned(), "me".to_owned());
        assert!(wanted_tags(&user).is_err());
    }
}
