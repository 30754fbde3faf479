//! AWS Systems Manager Parameter Store (`service: ParameterStore`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use eso_core::provider::{
    BatchRead, BatchValue, Capabilities, FindRef, MetadataPolicy, Provider, PushRef, PushValue,
    RemoteRef, Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::error::{same, sdk_error};
use crate::metadata::{self, ParameterStoreMetadata};

/// The most parameters one `GetParameters` call reads.
pub(crate) const BATCH_SIZE: usize = 10;

/// A configured Parameter Store client: ESO's `aws` provider with `service: ParameterStore`.
///
/// Values are read decrypted; a version is appended as `name:version`; `metadataPolicy:
/// Fetch` reads the tags; `get_secrets` uses `GetParameters` (10 names a call). Pushes and
/// deletes honour ESO's `managed-by: external-secrets` tag.
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
/// let spec = serde_json::json!({"service": "ParameterStore", "region": "eu-west-1"});
/// let spec: eso_core::api::SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"aws": spec})).expect("an aws block");
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "ssm");
/// let ssm = registry.provider(&StoreContext::new(&store, &spec, "apps", &cluster)).await?;
/// let url = ssm.get_secret(&RemoteRef::new("/prod/db/url").with_version("3")).await?;
/// # drop(url);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AwsParameterStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: SdkConfig,
    prefix: String,
}

impl fmt::Debug for AwsParameterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsParameterStore")
            .field("region", &self.inner.config.region())
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AwsParameterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.config.region() {
            Some(r) => write!(f, "aws ParameterStore ({r})"),
            None => f.write_str("aws ParameterStore"),
        }
    }
}

/// Versioned and metadata reads go one by one (`GetParameters` answers versioned names
/// under their plain name).
fn batchable(r: &RemoteRef) -> bool {
    r.metadata_policy == MetadataPolicy::None && r.version().is_none()
}

impl AwsParameterStore {
    pub(crate) fn new(config: SdkConfig, prefix: String) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: Client::new(&config),
                config,
                prefix,
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

    fn name(&self, r: &RemoteRef) -> String {
        match r.version() {
            Some(v) => format!("{}:{v}", self.key(&r.key)),
            None => self.key(&r.key),
        }
    }

    async fn raw(&self, name: &str) -> Result<Option<SecretValue>> {
        match self
            .inner
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .parameter()
                .and_then(|p| p.value())
                .map(SecretValue::from)),
            Err(e) => match sdk_error("GetParameter", name, e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    async fn tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .inner
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(|e| sdk_error("ListTagsForResource", name, e))?;
        Ok(out
            .tag_list()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// `GetParameters` in batches of [`BATCH_SIZE`]; every name gets a result.
    async fn read_many(&self, names: &[String]) -> HashMap<String, Result<SecretValue>> {
        let mut out = HashMap::new();
        for chunk in names.chunks(BATCH_SIZE) {
            match self
                .inner
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
            {
                Ok(res) => {
                    for p in res.parameters() {
                        if let (Some(name), Some(value)) = (p.name(), p.value())
                            && chunk.iter().any(|n| n == name)
                        {
                            out.insert(name.to_owned(), Ok(SecretValue::from(value)));
                        }
                    }
                    for n in chunk {
                        out.entry(n.clone())
                            .or_insert_with(|| Err(Error::not_found(n)));
                    }
                }
                Err(e) => {
                    let e = sdk_error("GetParameters", &chunk.join(","), e);
                    for n in chunk {
                        out.insert(n.clone(), Err(same(&e, n)));
                    }
                }
            }
        }
        out
    }

    /// Names matching `find`, through DescribeParameters (tags and path filters server-side).
    async fn describe_names(&self, find: &FindRef) -> Result<Vec<String>> {
        let mut filters = Vec::new();
        if let Some(p) = find.path.as_deref().filter(|p| p.starts_with('/')) {
            filters.push(
                ParameterStringFilter::builder()
                    .key("Path")
                    .option("Recursive")
                    .values(p)
                    .build()
                    .map_err(|e| Error::generic(e.to_string()))?,
            );
        }
        for (k, v) in &find.tags {
            filters.push(
                ParameterStringFilter::builder()
                    .key(format!("tag:{k}"))
                    .option("Equals")
                    .values(v)
                    .build()
                    .map_err(|e| Error::generic(e.to_string()))?,
            );
        }
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .inner
                .client
                .describe_parameters()
                .set_parameter_filters((!filters.is_empty()).then(|| filters.clone()))
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeParameters", "", e))?;
            for p in out.parameters() {
                if let Some(n) = p.name() {
                    names.push(n.to_owned());
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(names)
    }

    async fn put(
        &self,
        name: &str,
        value: &SecretValue,
        meta: &ParameterStoreMetadata,
        overwrite: bool,
    ) -> Result<()> {
        let s = value
            .expose_str()
            .ok_or_else(|| Error::Conversion("a parameter value must be valid UTF-8".into()))?;
        let type_name = meta.secret_type.as_deref().unwrap_or("String");
        let kind = ParameterType::from(type_name);
        if !matches!(type_name, "String" | "StringList" | "SecureString") {
            return Err(Error::invalid_config(
                "metadata.spec.secretType",
                "must be String, StringList or SecureString",
            ));
        }
        let mut req = self
            .inner
            .client
            .put_parameter()
            .name(name)
            .value(s)
            .overwrite(overwrite)
            .description(
                meta.description
                    .clone()
                    .unwrap_or_else(metadata::default_description),
            );
        if kind == ParameterType::SecureString {
            req = req.key_id(
                meta.kms_key_id
                    .clone()
                    .unwrap_or_else(|| "alias/aws/ssm".to_owned()),
            );
        }
        req = req.r#type(kind);
        if let Some(tier) = &meta.tier {
            if let Some(t) = tier.kind.as_deref() {
                req = req.tier(ParameterTier::from(t));
            }
            if let Some(p) = &tier.policies {
                req = req.policies(match p {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
        }
        if !overwrite {
            let tags = metadata::wanted_tags(&meta.tags)?
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::generic(e.to_string()))?;
            req = req.set_tags(Some(tags));
        }
        req.send()
            .await
            .map_err(|e| sdk_error("PutParameter", name, e))?;
        Ok(())
    }

    async fn sync_tags(
        &self,
        name: &str,
        current: &BTreeMap<String, String>,
        meta: &ParameterStoreMetadata,
    ) -> Result<()> {
        let wanted = metadata::wanted_tags(&meta.tags)?;
        let stale: Vec<String> = current
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.inner
                .client
                .remove_tags_from_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| sdk_error("RemoveTagsFromResource", name, e))?;
        }
        let changed = wanted
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(v))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::generic(e.to_string()))?;
        if !changed.is_empty() {
            self.inner
                .client
                .add_tags_to_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| sdk_error("AddTagsToResource", name, e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for AwsParameterStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        let value = if r.metadata_policy == MetadataPolicy::Fetch {
            let key = self.key(&r.key);
            if self.raw(&key).await?.is_none() {
                return Err(Error::not_found(&r.key));
            }
            let tags: serde_json::Map<String, serde_json::Value> = self
                .tags(&key)
                .await?
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect();
            SecretValue::from(serde_json::Value::Object(tags).to_string())
        } else {
            self.raw(&self.name(r))
                .await?
                .ok_or_else(|| Error::not_found(&r.key))?
        };
        property::select(value, &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let v = self.get_secret(r).await?;
        property::json_to_map(&v, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let mut out = SecretMap::new();
        let path = find.path.as_deref().filter(|p| p.starts_with('/'));
        if let (Some(path), true) = (path, find.tags.is_empty()) {
            let mut token = None;
            loop {
                let res = self
                    .inner
                    .client
                    .get_parameters_by_path()
                    .path(path)
                    .recursive(true)
                    .with_decryption(true)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetParametersByPath", path, e))?;
                for p in res.parameters() {
                    if let (Some(n), Some(v)) = (p.name(), p.value())
                        && find.matches_name(n)
                    {
                        out.insert(n.to_owned(), SecretValue::from(v));
                    }
                }
                token = res.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            return Ok(out);
        }
        let names: Vec<String> = self
            .describe_names(find)
            .await?
            .into_iter()
            .filter(|n| find.matches_name(n) && find.matches_path(n))
            .collect();
        let mut values = self.read_many(&names).await;
        for n in names {
            match values.remove(&n) {
                Some(Ok(v)) => {
                    out.insert(n, v);
                }
                Some(Err(e)) if !e.is_not_found() => return Err(e),
                _ => {}
            }
        }
        Ok(out)
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let name = self.key(&r.remote_key);
        let meta: ParameterStoreMetadata = metadata::parse(r)?;
        let value = value.to_bytes()?;
        let existing = self.raw(&name).await?;
        let tags = match &existing {
            Some(_) => {
                let tags = self.tags(&name).await?;
                if !metadata::is_managed(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
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

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        let name = self.key(&r.remote_key);
        let Some(existing) = self.raw(&name).await? else {
            return Ok(());
        };
        let tags = self.tags(&name).await?;
        if !metadata::is_managed(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
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

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        let name = self.key(&r.remote_key);
        let Some(value) = self.raw(&name).await? else {
            return Ok(false);
        };
        Ok(match r.property() {
            None => true,
            Some(p) => property::extract(&value, &name, p).is_ok(),
        })
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
            let k = self.name(r);
            if !ids.contains(&k) {
                ids.push(k);
            }
        }
        let values = self.read_many(&ids).await;
        let mut out = Vec::with_capacity(reads.len());
        for read in reads {
            let r = read.remote_ref();
            let value = if batchable(r) {
                match values.get(&self.name(r)) {
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
