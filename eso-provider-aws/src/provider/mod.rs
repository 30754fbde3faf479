//! The two services of the `aws` kind, [`AwsSecretsManager`] and [`AwsParameterStore`], and
//! [`Aws`], the one a store's `service` selects.

use async_trait::async_trait;
use eso_core::provider::{
    BatchRead, BatchValue, Capabilities, FindRef, Provider, PushRef, PushValue, RemoteRef,
    Validation,
};
use eso_core::{Result, SecretMap, SecretValue};

pub(crate) mod parameter_store;
pub(crate) mod secrets_manager;

pub use parameter_store::AwsParameterStore;
pub use secrets_manager::AwsSecretsManager;

/// The provider of one `aws` store: Secrets Manager or Parameter Store, as its `service`
/// says. [`AwsFactory::build`](crate::AwsFactory::build) returns it; match on it to reach the
/// service's own API (its SDK client).
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::provider::{StoreContext, StoreIdentity, StoreScope};
/// use eso_provider_aws::{Aws, AwsFactory};
///
/// # async fn run() -> eso_core::Result<()> {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "aws");
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!(
///     {"aws": {"service": "SecretsManager", "region": "eu-west-1"}})).expect("an aws block");
/// match AwsFactory::new().build(&StoreContext::new(&store, &spec, "apps", &cluster)).await? {
///     Aws::SecretsManager(sm) => println!("{:?}", sm.client().config().region()),
///     other => println!("{other}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Aws {
    /// `service: ParameterStore`.
    ParameterStore(AwsParameterStore),
    /// `service: SecretsManager`.
    SecretsManager(AwsSecretsManager),
}

impl std::fmt::Display for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ParameterStore(p) => p.fmt(f),
            Self::SecretsManager(p) => p.fmt(f),
        }
    }
}

/// Calls `$call` on whichever service `$self` holds.
macro_rules! on_service {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            Aws::ParameterStore($p) => $call,
            Aws::SecretsManager($p) => $call,
        }
    };
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Provider for Aws {
    fn capabilities(&self) -> Capabilities {
        on_service!(self, p => p.capabilities())
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        on_service!(self, p => p.get_secret(r).await)
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        on_service!(self, p => p.get_secret_map(r).await)
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        on_service!(self, p => p.get_all_secrets(find).await)
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        on_service!(self, p => p.push_secret(value, r).await)
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        on_service!(self, p => p.delete_secret(r).await)
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        on_service!(self, p => p.secret_exists(r).await)
    }
    async fn validate(&self) -> Result<Validation> {
        on_service!(self, p => p.validate().await)
    }
    fn supports_batch_reads(&self) -> bool {
        on_service!(self, p => p.supports_batch_reads())
    }
    fn batch_size(&self) -> usize {
        on_service!(self, p => p.batch_size())
    }
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        on_service!(self, p => p.get_batch(reads).await)
    }
}
