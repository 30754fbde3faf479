//! [`GcpSecretManager`]: the [`Provider`] implementation over Secret Manager.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::GcpSecretVersionSelectionPolicy;
use eso_core::provider::{
    Capabilities, FindRef, MetadataPolicy, Provider, PushRef, PushValue, RemoteRef, Validation,
    property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};
use futures_util::StreamExt as _;
use google_cloud_auth::credentials::Credentials as GoogleCredentials;
use google_cloud_secretmanager_v1::client::SecretManagerService;

/// How many secrets `get_all_secrets` reads at once.
pub(crate) const FIND_CONCURRENCY: usize = 8;

/// What a client is built for (one store revision).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) project: String,
    pub(crate) location: Option<String>,
    pub(crate) policy: GcpSecretVersionSelectionPolicy,
    /// A cluster store whose credentials resolve per consumer namespace (validate: Unknown).
    pub(crate) referent: bool,
}

/// A Secret Manager provider for one store: one SDK client (with its connection pool and
/// token cache), built once per store revision and shared by every reconcile.
///
/// Secrets are addressed by their short name (`remoteRef.key`); with `location` set they are
/// regional secrets (`projects/P/locations/L/secrets/NAME`) on the regional endpoint.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{Provider, RemoteRef, StoreContext, StoreIdentity, StoreScope};
///
/// # async fn run() -> eso_core::Result<()> {
/// // No auth block: Application Default Credentials.
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "gcp");
/// let spec: SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"gcpsm": {"projectID": "my-project"}})).unwrap();
/// let p = eso_provider_gcp::GcpFactory::new()
///     .build(&StoreContext::new(&store, &spec, "apps", &cluster))
///     .await?;
/// let password = p.get_secret(&RemoteRef::new("db").with_property("password")).await?;
/// # drop(password);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GcpSecretManager {
    pub(crate) api: SecretManagerService,
    pub(crate) creds: Option<GoogleCredentials>,
    pub(crate) s: Arc<Settings>,
}

impl fmt::Debug for GcpSecretManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpSecretManager")
            .field("project", &self.s.project)
            .field("location", &self.s.location)
            .field("policy", &self.s.policy)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Provider for GcpSecretManager {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        if r.metadata_policy == MetadataPolicy::Fetch {
            return self.metadata(r).await;
        }
        let raw = self.read_value(&r.key, r.version(), false).await?;
        property::select(SecretValue::new(raw), &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let v = self.get_secret(r).await?;
        property::json_to_map(&v, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let secrets = self.list(&Self::filter(find)).await?;
        let keys: Vec<String> = secrets
            .into_iter()
            .filter_map(|s| {
                let key = Self::key_of(&s.name).to_owned();
                let labels: BTreeMap<String, String> = s.labels.into_iter().collect();
                (find.matches_name(&key) && find.matches_path(&key) && find.matches_tags(&labels))
                    .then_some(key)
            })
            .collect();
        let reads = futures_util::stream::iter(keys)
            .map(|key| async move {
                let v = self.read_value(&key, None, false).await;
                (key, v)
            })
            .buffer_unordered(FIND_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut out = SecretMap::new();
        for (key, v) in reads {
            match v {
                Ok(v) => {
                    out.insert(key, SecretValue::new(v));
                }
                // A secret without a readable version yet (just created) is not a match.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
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
        let v = match self.read_value(&r.remote_key, None, true).await {
            Ok(v) => SecretValue::new(v),
            Err(e) if e.is_not_found() || e.is_disabled_or_destroyed() => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        match r.property() {
            None => Ok(true),
            Some(p) => match property::extract(&v, &r.remote_key, p) {
                Ok(_) => Ok(true),
                Err(Error::NotFound { .. } | Error::Conversion(_)) => Ok(false),
                Err(e) => Err(e),
            },
        }
    }

    async fn validate(&self) -> Result<Validation> {
        if self.s.referent {
            return Ok(Validation::Unknown);
        }
        // Obtaining request headers checks the credentials (a token exchange where there is
        // one) without needing any Secret Manager permission.
        if let Some(c) = &self.creds {
            c.headers(Default::default())
                .await
                .map_err(|e| Error::Unauthenticated {
                    message: format!("gcpsm: cannot obtain credentials: {e}"),
                })?;
        }
        Ok(Validation::Ready)
    }
}

#[cfg(test)]
mod tests;
