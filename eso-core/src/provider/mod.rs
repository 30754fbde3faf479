//! Secret backends: the [`Provider`] trait, how providers are built ([`ProviderFactory`],
//! [`ProviderRegistry`]), and the always-available [`InMemory`] provider.
//!
//! # The provider kit
//!
//! What every provider crate needs and none writes again:
//!
//! - typed store specs: a factory receives the store's parsed `spec.provider` block in its
//!   [`StoreContext`] ([`StoreContext::block`] picks its own), validated once per store
//!   revision by the registry ([`ProviderFactory::validate_store`]);
//! - [`Credentials`]: Secret, ConfigMap and ServiceAccount-token references resolved with
//!   ESO's `SecretStore` / `ClusterSecretStore` namespace rules;
//! - [`error_for_status`] / [`transport_error`]: the one HTTP-status to [`Error`] mapping;
//! - [`Retry`]: the retry layer built from a store's `retrySettings`, which the registry puts
//!   around every provider it builds;
//! - [`property::select`]: "the value, or one property of it" for JSON secrets.
//!
//! The per-pass read deduplication is a layer too: see
//! [`Pass::provider`](crate::reconcile::Pass::provider).

mod capability;
mod credentials;
mod factory;
#[cfg(any(test, feature = "testing"))]
mod layers;
mod memory;
mod observe;
pub mod property;
mod refs;
mod registry;
mod retry;
mod status;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

pub use capability::Capabilities;
pub use credentials::{Credentials, pem_bundle};
pub use factory::{
    Origin, ProviderFactory, StoreContext, StoreIdentity, StoreRetry, StoreScope, provider_block,
};
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub use layers::{Flaky, Latency};
pub use memory::{InMemory, InMemoryFactory, MANAGED_BY_TAG, MANAGED_BY_VALUE, StoredSecret};
pub use observe::{CallObserver, Observed};
pub use refs::{
    BatchRead, BatchValue, FindRef, MetadataPolicy, PushRef, PushValue, RemoteRef, SourceMetadata,
};
pub use registry::ProviderRegistry;
pub use retry::Retry;
pub use status::{error_chain, error_for_status, transport_error};

use crate::{Error, Result, SecretMap, SecretValue};

/// A shared, configured provider.
pub type DynProvider = Arc<dyn Provider>;

/// The outcome of [`Provider::validate`] (ESO's `Ready` / `Unknown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validation {
    /// The store is usable.
    Ready,
    /// The store cannot be checked up front (e.g. credentials resolved per consumer namespace).
    Unknown,
}

/// One configured secret backend client.
///
/// # Contract
///
/// - A missing secret, or a missing property inside one, is [`Error::NotFound`]; ESO's
///   deletion policies depend on it. Other failures map to the semantic [`Error`] variants.
/// - `push_secret` is idempotent: pushing the same value twice leaves one value. With a
///   property it changes only that property of the remote JSON document.
/// - `delete_secret` of a missing secret succeeds. With a property it removes only that
///   property (and the secret when nothing is left, where the backend allows it).
/// - Foreign secrets are never changed. Every push marks what it writes as ours (ESO's
///   `managed-by: external-secrets` tag, label or custom metadata). A push over an existing
///   remote secret without that marker, and a delete of one (whole or a property), leave it
///   exactly as it is and return [`Error::NotManaged`] (build it with
///   [`PushRef::not_managed`]); the PushSecret flow then drops the entry from its status and
///   says the secret was left in place. [`Error::PermissionDenied`] is kept for the
///   backend's own authorisation failures. The conformance suite
///   (`eso_core::testing::conformance`, feature `testing`) checks both answers.
/// - All methods may be called concurrently from many tasks.
/// - Unsupported operations return [`Error::NotSupported`]; [`Provider::capabilities`] says
///   which are supported up front.
///
/// # Example
///
/// ```
/// use eso_core::provider::{InMemory, Provider, RemoteRef};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = InMemory::new().with_secret("db", r#"{"user":"app","pass":"hunter2"}"#);
/// let user = store.get_secret(&RemoteRef::new("db").with_property("user")).await.unwrap();
/// assert_eq!(user.expose(), b"app");
/// # });
/// ```
#[async_trait]
pub trait Provider: fmt::Debug + Send + Sync + 'static {
    /// What this provider supports.
    fn capabilities(&self) -> Capabilities;

    /// Reads one value (a property of it, a version of it, or its metadata).
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue>;

    /// Reads a secret holding a JSON object as a map of its keys.
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap>;

    /// Lists and reads every secret matching `find`, keyed by secret name.
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap>;

    /// Writes `value` to the remote secret. `r.source` carries the source Secret's type,
    /// labels and annotations ([`SourceMetadata`]); each provider documents what it keeps of
    /// them.
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()>;

    /// Deletes the remote secret (or the property of it).
    async fn delete_secret(&self, r: &PushRef) -> Result<()>;

    /// Whether the remote secret (and the property, where the backend checks it) exists.
    async fn secret_exists(&self, r: &PushRef) -> Result<bool>;

    /// Checks that the store is usable (credentials, connectivity).
    async fn validate(&self) -> Result<Validation>;

    /// Whether [`Provider::get_batch`] reads many secrets in fewer backend calls than one
    /// per secret (AWS `BatchGetSecretValue`). Reconcilers prefetch in batches only from
    /// providers that say so ([`Reconciler::prefetch`](crate::reconcile::Reconciler::prefetch)).
    /// Default: `false`.
    fn supports_batch_reads(&self) -> bool {
        false
    }

    /// How many reads one backend call of [`Provider::get_batch`] holds (AWS Secrets
    /// Manager: 20, Parameter Store: 10). A shared pass
    /// ([`Pass::shared`](crate::reconcile::Pass::shared)) fills a batch call it sends anyway
    /// up to this many reads with secrets it expects to be asked for soon. Default: 1.
    fn batch_size(&self) -> usize {
        1
    }

    /// Performs several reads, values and maps mixed; the results are in the order of
    /// `reads`, each as [`Provider::get_secret`] or [`Provider::get_secret_map`] would return
    /// it. Providers with a batch API read each distinct secret once and split the reads into
    /// as few backend calls as the API allows. The default reads one by one.
    async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
        let mut out = Vec::with_capacity(reads.len());
        for r in reads {
            out.push(match r {
                BatchRead::Value(r) => self.get_secret(r).await.map(BatchValue::Value),
                BatchRead::Map(r) => self.get_secret_map(r).await.map(BatchValue::Map),
            });
        }
        out
    }
}

macro_rules! forward_provider {
    ($ty:ty) => {
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<P: Provider + ?Sized> Provider for $ty {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
                (**self).get_secret(r).await
            }
            async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
                (**self).get_secret_map(r).await
            }
            async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
                (**self).get_all_secrets(find).await
            }
            async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
                (**self).push_secret(value, r).await
            }
            async fn delete_secret(&self, r: &PushRef) -> Result<()> {
                (**self).delete_secret(r).await
            }
            async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
                (**self).secret_exists(r).await
            }
            async fn validate(&self) -> Result<Validation> {
                (**self).validate().await
            }
            fn supports_batch_reads(&self) -> bool {
                (**self).supports_batch_reads()
            }
            fn batch_size(&self) -> usize {
                (**self).batch_size()
            }
            async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
                (**self).get_batch(reads).await
            }
        }
    };
}

forward_provider!(Arc<P>);
forward_provider!(Box<P>);

/// Conveniences on top of [`Provider`], for every provider.
///
/// # Example
///
/// ```
/// use eso_core::provider::{InMemory, ProviderExt, RemoteRef};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = InMemory::new().with_secret("greeting", "hello");
/// assert_eq!(store.get_string(&RemoteRef::new("greeting")).await.unwrap(), "hello");
/// assert!(store.get_secret_opt(&RemoteRef::new("missing")).await.unwrap().is_none());
/// # });
/// ```
#[async_trait]
pub trait ProviderExt: Provider {
    /// Like `get_secret`, with `NotFound` as `None`.
    async fn get_secret_opt(&self, r: &RemoteRef) -> Result<Option<SecretValue>> {
        match self.get_secret(r).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads a UTF-8 value as a `String`.
    async fn get_string(&self, r: &RemoteRef) -> Result<String> {
        let v = self.get_secret(r).await?;
        v.expose_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Conversion(format!("secret {r} is not valid UTF-8")))
    }

    /// Reads several values through [`Provider::get_batch`] (one batch call where the
    /// provider batches), in the order of `refs`.
    async fn get_secrets(&self, refs: &[RemoteRef]) -> Vec<Result<SecretValue>> {
        let reads: Vec<BatchRead> = refs.iter().cloned().map(BatchRead::Value).collect();
        self.get_batch(&reads)
            .await
            .into_iter()
            .map(|r| match r {
                Ok(BatchValue::Value(v)) => Ok(v),
                Ok(BatchValue::Map(_)) => {
                    Err(Error::generic("a batch read returned a map for a value"))
                }
                Err(e) => Err(e),
            })
            .collect()
    }

    /// Reads a JSON value and deserializes it.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, r: &RemoteRef) -> Result<T> {
        let v = self.get_secret(r).await?;
        serde_json::from_slice(v.expose())
            .map_err(|e| Error::Conversion(format!("secret {r} is not the expected JSON: {e}")))
    }
}

impl<P: Provider + ?Sized> ProviderExt for P {}

/// The error a provider returns for an operation it does not support.
pub fn not_supported(operation: &str, provider: &str) -> Error {
    Error::not_supported(format!(
        "{operation} is not supported by the {provider} provider"
    ))
}
