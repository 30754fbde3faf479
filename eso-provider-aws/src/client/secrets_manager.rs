//! The AWS Secrets Manager API calls of [`AwsSecretsManager`].

use std::collections::{BTreeMap, HashMap};

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use eso_core::{Error, Result, SecretValue};

use crate::error::{same, sdk_error};
use crate::push::{self, SecretsManagerMetadata};

use crate::provider::secrets_manager::{AwsSecretsManager, BATCH_SIZE};

/// ESO's `ClientRequestToken` for the first version of a secret it creates.
const INITIAL_VERSION: &str = "00000000-0000-0000-0000-000000000001";
/// ESO's default KMS key for new secrets.
const DEFAULT_KMS_KEY: &str = "alias/aws/secretsmanager";

/// The value of a secret version: its string, else its binary.
pub(crate) fn value_of(string: Option<&str>, binary: Option<&Blob>) -> Option<SecretValue> {
    match (string, binary) {
        (Some(s), _) => Some(SecretValue::from(s)),
        (None, Some(b)) => Some(SecretValue::new(b.as_ref().to_vec())),
        (None, None) => None,
    }
}

impl AwsSecretsManager {
    pub(crate) async fn describe(&self, key: &str) -> Result<Option<DescribeSecretOutput>> {
        match self
            .inner
            .client
            .describe_secret()
            .secret_id(key)
            .send()
            .await
        {
            Ok(d) => Ok(Some(d)),
            Err(e) => match sdk_error("DescribeSecret", key, e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The stored value of `key` at `version` (`uuid/<id>` or a stage).
    pub(crate) async fn raw(&self, key: &str, version: Option<&str>) -> Result<SecretValue> {
        let mut req = self.inner.client.get_secret_value().secret_id(key);
        match version {
            Some(v) if v.starts_with("uuid/") => req = req.version_id(&v["uuid/".len()..]),
            Some(v) => req = req.version_stage(v),
            None => {}
        }
        let out = req
            .send()
            .await
            .map_err(|e| sdk_error("GetSecretValue", key, e))?;
        value_of(out.secret_string(), out.secret_binary()).ok_or_else(|| Error::not_found(key))
    }

    pub(crate) async fn tags_json(&self, key: &str) -> Result<SecretValue> {
        let d = self
            .describe(key)
            .await?
            .ok_or_else(|| Error::not_found(key))?;
        let tags: serde_json::Map<String, serde_json::Value> = d
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().into())))
            .collect();
        Ok(SecretValue::from(
            serde_json::Value::Object(tags).to_string(),
        ))
    }

    /// One `BatchGetSecretValue` call for up to [`BATCH_SIZE`] ids; every id gets a result.
    pub(crate) async fn batch(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Result<SecretValue>>> {
        let mut found: Vec<(String, String, SecretValue)> = Vec::new();
        let mut failed: HashMap<String, Error> = HashMap::new();
        let mut token = None;
        loop {
            let out = self
                .inner
                .client
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.to_vec()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("BatchGetSecretValue", &ids.join(","), e))?;
            for v in out.secret_values() {
                if let Some(value) = value_of(v.secret_string(), v.secret_binary()) {
                    found.push((
                        v.name().unwrap_or_default().to_owned(),
                        v.arn().unwrap_or_default().to_owned(),
                        value,
                    ));
                }
            }
            for e in out.errors() {
                let id = e.secret_id().unwrap_or_default().to_owned();
                let code = e.error_code().unwrap_or_default();
                let msg = e.message().unwrap_or_default();
                let err =
                    if code == "ResourceNotFoundException" || crate::error::marked_deleted(msg) {
                        Error::not_found(&id)
                    } else {
                        Error::generic(format!("aws BatchGetSecretValue {id:?}: {code}: {msg}"))
                    };
                failed.insert(id, err);
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(ids
            .iter()
            .map(|id| {
                let res = found
                    .iter()
                    .find(|(name, arn, _)| name == id || arn == id)
                    .map(|(_, _, v)| Ok(v.clone()))
                    .or_else(|| failed.remove(id).map(Err))
                    .unwrap_or_else(|| Err(Error::not_found(id)));
                (id.clone(), res)
            })
            .collect())
    }

    /// Current values of `ids` (full names), in batches; NotFound and failures per id.
    pub(crate) async fn read_many(&self, ids: &[String]) -> HashMap<String, Result<SecretValue>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(BATCH_SIZE) {
            match self.batch(chunk).await {
                Ok(m) => out.extend(m),
                // Without `secretsmanager:BatchGetSecretValue`, read one by one.
                Err(Error::PermissionDenied { .. }) => {
                    for id in chunk {
                        out.insert(id.clone(), self.raw(id, None).await);
                    }
                }
                Err(e) => {
                    for id in chunk {
                        out.insert(id.clone(), Err(same(&e, id)));
                    }
                }
            }
        }
        out
    }

    pub(crate) async fn put_value(
        &self,
        key: &str,
        payload: &SecretValue,
        as_string: bool,
    ) -> Result<()> {
        let mut req = self
            .inner
            .client
            .put_secret_value()
            .secret_id(key)
            .client_request_token(uuid::Uuid::new_v4().to_string());
        req = if as_string {
            req.secret_string(utf8(payload)?)
        } else {
            req.secret_binary(Blob::new(payload.expose().to_vec()))
        };
        req.send()
            .await
            .map_err(|e| sdk_error("PutSecretValue", key, e))?;
        Ok(())
    }

    pub(crate) async fn create(
        &self,
        key: &str,
        payload: &SecretValue,
        meta: &SecretsManagerMetadata,
        as_string: bool,
    ) -> Result<()> {
        let tags = push::wanted_tags(&meta.tags)?
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let mut req = self
            .inner
            .client
            .create_secret()
            .name(key)
            .client_request_token(INITIAL_VERSION)
            .set_tags(Some(tags))
            .description(
                meta.description
                    .clone()
                    .unwrap_or_else(push::default_description),
            )
            .kms_key_id(
                meta.kms_key_id
                    .clone()
                    .unwrap_or_else(|| DEFAULT_KMS_KEY.to_owned()),
            );
        req = if as_string {
            req.secret_string(utf8(payload)?)
        } else {
            req.secret_binary(Blob::new(payload.expose().to_vec()))
        };
        req.send()
            .await
            .map_err(|e| sdk_error("CreateSecret", key, e))?;
        Ok(())
    }

    pub(crate) async fn sync_tags(
        &self,
        key: &str,
        d: &DescribeSecretOutput,
        meta: &SecretsManagerMetadata,
    ) -> Result<()> {
        if meta.tags.is_empty() {
            return Ok(());
        }
        let wanted = push::wanted_tags(&meta.tags)?;
        let current: BTreeMap<&str, &str> = d
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
            .collect();
        let stale: Vec<String> = current
            .keys()
            .filter(|k| !wanted.contains_key(**k))
            .map(|k| (*k).to_owned())
            .collect();
        if !stale.is_empty() {
            self.inner
                .client
                .untag_resource()
                .secret_id(key)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| sdk_error("UntagResource", key, e))?;
        }
        let changed: Vec<Tag> = wanted
            .iter()
            .filter(|(k, v)| current.get(k.as_str()) != Some(&v.as_str()))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        if !changed.is_empty() {
            self.inner
                .client
                .tag_resource()
                .secret_id(key)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| sdk_error("TagResource", key, e))?;
        }
        Ok(())
    }

    pub(crate) async fn sync_policy(&self, key: &str, meta: &SecretsManagerMetadata) -> Result<()> {
        let Some(policy) = &meta.resource_policy else {
            return Ok(());
        };
        let Some(src) = &policy.policy_source_ref else {
            return Err(Error::invalid_config(
                "metadata.spec.resourcePolicy.policySourceRef",
                "is required",
            ));
        };
        let ns = self.inner.creds.namespace();
        let cluster = self.inner.creds.cluster();
        let doc = match src.kind.as_str() {
            "ConfigMap" => cluster
                .get_config_map(ns, &src.name)
                .await?
                .and_then(|cm| cm.data.get(&src.key).cloned()),
            "Secret" => cluster.get_secret(ns, &src.name).await?.and_then(|s| {
                s.data
                    .get(&src.key)
                    .and_then(|v| v.expose_str().map(str::to_owned))
            }),
            other => {
                return Err(Error::invalid_config(
                    "metadata.spec.resourcePolicy.policySourceRef.kind",
                    format!("{other:?}: must be ConfigMap or Secret"),
                ));
            }
        }
        .ok_or_else(|| {
            Error::invalid_config(
                "metadata.spec.resourcePolicy.policySourceRef",
                format!("{} {ns}/{} has no key {:?}", src.kind, src.name, src.key),
            )
        })?;
        self.inner
            .client
            .put_resource_policy()
            .secret_id(key)
            .resource_policy(doc)
            .set_block_public_policy(policy.block_public_policy)
            .send()
            .await
            .map_err(|e| sdk_error("PutResourcePolicy", key, e))?;
        Ok(())
    }

    pub(crate) async fn delete_whole(&self, key: &str, d: &DescribeSecretOutput) -> Result<()> {
        // A secret with replicas cannot be deleted before they are removed (ESO #6686).
        let regions: Vec<String> = d
            .replication_status()
            .iter()
            .filter_map(|r| r.region().map(str::to_owned))
            .collect();
        if !regions.is_empty() {
            self.inner
                .client
                .remove_regions_from_replication()
                .secret_id(key)
                .set_remove_replica_regions(Some(regions))
                .send()
                .await
                .map_err(|e| sdk_error("RemoveRegionsFromReplication", key, e))?;
        }
        let id = d.arn().unwrap_or(key);
        let opts = self.inner.delete;
        let mut req = self.inner.client.delete_secret().secret_id(id);
        if opts.force_without_recovery {
            req = req.force_delete_without_recovery(true);
        } else if let Some(days) = opts.recovery_window_days.filter(|d| *d > 0) {
            req = req.recovery_window_in_days(days);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) => match sdk_error("DeleteSecret", key, e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }
}

/// The value as a string, for `secretPushFormat: string`.
fn utf8(payload: &SecretValue) -> Result<&str> {
    payload
        .expose_str()
        .ok_or_else(|| Error::Conversion("secretPushFormat string needs a UTF-8 value".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_prefer_the_string() {
        let b = Blob::new(b"bin".to_vec());
        assert_eq!(value_of(Some("s"), Some(&b)).unwrap().expose(), b"s");
        assert_eq!(value_of(None, Some(&b)).unwrap().expose(), b"bin");
        assert!(value_of(None, None).is_none());
    }
}
