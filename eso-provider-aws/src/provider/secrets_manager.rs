//! AWS Secrets Manager (`service: SecretsManager`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use eso_core::provider::{
    BatchRead, BatchValue, Capabilities, Credentials, FindRef, MetadataPolicy, Provider, PushRef,
    PushValue, RemoteRef, Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::error::{same, sdk_error};

/// The most secrets one `BatchGetSecretValue` call with a `SecretIdList` returns.
pub(crate) const BATCH_SIZE: usize = 20;

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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) config: SdkConfig,
    pub(crate) prefix: String,
    pub(crate) delete: DeleteOptions,
    /// Where `resourcePolicy` ConfigMaps and Secrets are read.
    pub(crate) creds: Credentials,
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

    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
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
        self.push(value, r).await
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.delete(r).await
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
        crate::auth::check_credentials(&self.inner.config).await?;
        Ok(Validation::Ready)
    }

    fn supports_batch_reads(&self) -> bool {
        true
    }
    fn batch_size(&self) -> usize {
        BATCH_SIZE
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
}
