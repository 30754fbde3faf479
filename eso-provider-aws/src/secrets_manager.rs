//! AWS Secrets Manager (`service: SecretsManager`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use eso_core::provider::{
    BatchRead, BatchValue, Capabilities, Credentials, FindRef, MetadataPolicy, Provider, PushRef,
    PushValue, RemoteRef, Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::error::{same, sdk_error};
use crate::metadata::{self, SecretsManagerMetadata};

/// The most secrets one `BatchGetSecretValue` call with a `SecretIdList` returns.
pub(crate) const BATCH_SIZE: usize = 20;
/// ESO's `ClientRequestToken` for the first version of a secret it creates.
const INITIAL_VERSION: &str = "00000000-0000-0000-0000-000000000001";
/// ESO's default KMS key for new secrets.
const DEFAULT_KMS_KEY: &str = "alias/aws/secretsmanager";

/// How `delete_secret` deletes (`spec.provider.aws.secretsManager`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DeleteOptions {
    pub(crate) force_without_recovery: bool,
    pub(crate) recovery_window_days: Option<i64>,
}

/// A configured AWS Secrets Manager client: ESO's `aws` provider with
/// `service: SecretsManager`.
///
/// Reads use `BatchGetSecretValue` wherever the API allows (batched reads of a pass, `find`),
/// versions are `uuid/<VersionId>` or a staging label, properties are an exact key first and
/// then a dotted JSON path, `metadataPolicy: Fetch` reads the tags. Pushes and deletes honour
/// ESO's `managed-by: external-secrets` tag.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{Provider, ProviderRegistry, RemoteRef, StoreContext, StoreIdentity, StoreScope};
///
/// # async fn run() -> eso_core::Result<()> {
/// let mut registry = ProviderRegistry::new();
/// eso_provider_aws::register(&mut registry);
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let spec = serde_json::json!({"service": "SecretsManager", "region": "eu-west-1"});
/// let spec: eso_core::api::SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"aws": spec})).expect("an aws block");
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "aws");
/// let sm = registry.provider(&StoreContext::new(&store, &spec, "apps", &cluster)).await?;
/// let password = sm.get_secret(&RemoteRef::new("prod/db").with_property("password")).await?;
/// # drop(password);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AwsSecretsManager {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: SdkConfig,
    prefix: String,
    delete: DeleteOptions,
    /// Where `resourcePolicy` ConfigMaps and Secrets are read.
    creds: Credentials,
}

impl fmt::Debug for AwsSecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSecretsManager")
            .field("region", &self.inner.config.region())
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AwsSecretsManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.config.region() {
            Some(r) => write!(f, "aws SecretsManager ({r})"),
            None => f.write_str("aws SecretsManager"),
        }
    }
}

fn value_of(string: Option<&str>, binary: Option<&Blob>) -> Option<SecretValue> {
    match (string, binary) {
        (Some(s), _) => Some(SecretValue::from(s)),
        (None, Some(b)) => Some(SecretValue::new(b.as_ref().to_vec())),
        (None, None) => None,
    }
}

fn batchable(r: &RemoteRef) -> bool {
    r.metadata_policy == MetadataPolicy::None && r.version().is_none_or(|v| v == "AWSCURRENT")
}

impl AwsSecretsManager {
    pub(crate) fn new(
        config: SdkConfig,
        prefix: String,
        delete: DeleteOptions,
        creds: Credentials,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: Client::new(&config),
                config,
                prefix,
                delete,
                creds,
            }),
        }
    }

    /// The SDK client, for calls this provider does not wrap.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    async fn describe(&self, key: &str) -> Result<Option<DescribeSecretOutput>> {
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
    async fn raw(&self, key: &str, version: Option<&str>) -> Result<SecretValue> {
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

    async fn tags_json(&self, key: &str) -> Result<SecretValue> {
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
    async fn batch(&self, ids: &[String]) -> Result<HashMap<String, Result<SecretValue>>> {
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
    async fn read_many(&self, ids: &[String]) -> HashMap<String, Result<SecretValue>> {
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

    async fn put_value(&self, key: &str, payload: &SecretValue, as_string: bool) -> Result<()> {
        let mut req = self
            .inner
            .client
            .put_secret_value()
            .secret_id(key)
            .client_request_token(uuid::Uuid::new_v4().to_string());
        req = if as_string {
            let s = payload.expose_str().ok_or_else(|| {
                Error::Conversion("secretPushFormat string needs a UTF-8 value".into())
            })?;
            req.secret_string(s)
        } else {
            req.secret_binary(Blob::new(payload.expose().to_vec()))
        };
        req.send()
            .await
            .map_err(|e| sdk_error("PutSecretValue", key, e))?;
        Ok(())
    }

    async fn create(
        &self,
        key: &str,
        payload: &SecretValue,
        meta: &SecretsManagerMetadata,
        as_string: bool,
    ) -> Result<()> {
        let tags = metadata::wanted_tags(&meta.tags)?
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
                    .unwrap_or_else(metadata::default_description),
            )
            .kms_key_id(
                meta.kms_key_id
                    .clone()
                    .unwrap_or_else(|| DEFAULT_KMS_KEY.to_owned()),
            );
        req = if as_string {
            let s = payload.expose_str().ok_or_else(|| {
                Error::Conversion("secretPushFormat string needs a UTF-8 value".into())
            })?;
            req.secret_string(s)
        } else {
            req.secret_binary(Blob::new(payload.expose().to_vec()))
        };
        req.send()
            .await
            .map_err(|e| sdk_error("CreateSecret", key, e))?;
        Ok(())
    }

    async fn sync_tags(
        &self,
        key: &str,
        d: &DescribeSecretOutput,
        meta: &SecretsManagerMetadata,
    ) -> Result<()> {
        if meta.tags.is_empty() {
            return Ok(());
        }
        let wanted = metadata::wanted_tags(&meta.tags)?;
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

    async fn sync_policy(&self, key: &str, meta: &SecretsManagerMetadata) -> Result<()> {
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

    async fn delete_whole(&self, key: &str, d: &DescribeSecretOutput) -> Result<()> {
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

#[async_trait]
impl Provider for AwsSecretsManager {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        let key = self.key(&r.key);
        let value = match r.metadata_policy {
            MetadataPolicy::Fetch => self.tags_json(&key).await?,
            _ => self.raw(&key, r.version()).await?,
        };
        property::select(value, &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let v = self.get_secret(r).await?;
        property::json_to_map(&v, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let mut filters = Vec::new();
        if let Some(p) = find.path.as_deref().filter(|p| !p.is_empty()) {
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(p)
                    .build(),
            );
        }
        for (k, v) in &find.tags {
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::TagKey)
                    .values(k)
                    .build(),
            );
            filters.push(
                Filter::builder()
                    .key(FilterNameStringType::TagValue)
                    .values(v)
                    .build(),
            );
        }
        // ListSecrets gives names and tags: filter exactly here, then read in batches.
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .inner
                .client
                .list_secrets()
                .set_filters((!filters.is_empty()).then(|| filters.clone()))
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("ListSecrets", find.path.as_deref().unwrap_or(""), e))?;
            for s in out.secret_list() {
                let Some(name) = s.name() else { continue };
                if s.deleted_date().is_some() {
                    continue;
                }
                let tags: BTreeMap<String, String> = s
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect();
                if find.matches_name(name) && find.matches_path(name) && find.matches_tags(&tags) {
                    names.push(name.to_owned());
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        // Names come back complete: they are read as they are, without the store prefix
        // (ESO prefixes them a second time on its ListSecrets path).
        let mut values = self.read_many(&names).await;
        let mut out = SecretMap::new();
        for name in names {
            match values.remove(&name) {
                Some(Ok(v)) => {
                    out.insert(name, v);
                }
                Some(Err(e)) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(out)
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let key = self.key(&r.remote_key);
        let meta: SecretsManagerMetadata = metadata::parse(r)?;
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
        if !metadata::is_managed(d.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))) {
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

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        let key = self.key(&r.remote_key);
        let Some(d) = self.describe(&key).await? else {
            return Ok(());
        };
        if !metadata::is_managed(d.tags().iter().filter_map(|t| Some((t.key()?, t.value()?)))) {
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

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        let key = self.key(&r.remote_key);
        let value = match self.raw(&key, None).await {
            Ok(v) => v,
            Err(e) if e.is_not_found() => return Ok(false),
            Err(e) => return Err(e),
        };
        match r.property() {
            None => Ok(true),
            Some(p) => match property::extract(&value, &key, p) {
                Ok(_) => Ok(true),
                Err(e) if e.is_not_found() => Ok(false),
                Err(_) => Ok(false),
            },
        }
    }

    async fn validate(&self) -> Result<Validation> {
        crate::credential::check_credentials(&self.inner.config).await?;
        Ok(Validation::Ready)
    }

    fn supports_batch_reads(&self) -> bool {
        true
    }

    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        let mut ids: Vec<String> = Vec::new();
        for r in reads
            .iter()
            .map(BatchRead::remote_ref)
            .filter(|r| batchable(r))
        {
            let k = self.key(&r.key);
            if !ids.contains(&k) {
                ids.push(k);
            }
        }
        let values = self.read_many(&ids).await;
        let mut out = Vec::with_capacity(reads.len());
        for read in reads {
            let r = read.remote_ref();
            let value = if batchable(r) {
                match values.get(&self.key(&r.key)) {
                    Some(Ok(v)) => property::select(v.clone(), &r.key, r.property()),
                    Some(Err(e)) => Err(same(e, &r.key)),
                    None => Err(Error::not_found(&r.key)),
                }
            } else {
                self.get_secret(r).await
            };
            out.push(match read {
                BatchRead::Map(_) => value
                    .and_then(|v| property::json_to_map(&v, &r.key))
                    .map(BatchValue::Map),
                _ => value.map(BatchValue::Value),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batchable_refs() {
        assert!(batchable(&RemoteRef::new("a").with_property("p")));
        assert!(batchable(&RemoteRef::new("a").with_version("AWSCURRENT")));
        assert!(!batchable(&RemoteRef::new("a").with_version("AWSPREVIOUS")));
        assert!(!batchable(
            &RemoteRef::new("a").with_metadata_policy(MetadataPolicy::Fetch)
        ));
    }

    #[test]
    fn values_prefer_the_string() {
        let b = Blob::new(b"bin".to_vec());
        assert_eq!(value_of(Some("s"), Some(&b)).unwrap().expose(), b"s");
        assert_eq!(value_of(None, Some(&b)).unwrap().expose(), b"bin");
        assert!(value_of(None, None).is_none());
    }
}
