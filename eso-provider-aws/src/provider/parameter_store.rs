//! AWS Systems Manager Parameter Store (`service: ParameterStore`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ssm::Client;
use eso_core::provider::{
    BatchRead, BatchValue, Capabilities, FindRef, MetadataPolicy, Provider, PushRef, PushValue,
    RemoteRef, Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::error::{same, sdk_error};

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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) config: SdkConfig,
    pub(crate) prefix: String,
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

    pub(crate) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.prefix)
    }

    pub(crate) fn name(&self, r: &RemoteRef) -> String {
        match r.version() {
            Some(v) => format!("{}:{v}", self.key(&r.key)),
            None => self.key(&r.key),
        }
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
        self.push(value, r).await
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.delete(r).await
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
