//! One result shape for every flow: [`Outcome`].

use std::fmt;
use std::time::Duration;

use crate::Error;
use crate::api::SecretStoreKind;

/// Which store an error is about: `SecretStore/name` or `ClusterSecretStore/name` (the keys
/// of a PushSecret's `status.syncedPushSecrets`).
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreKind;
/// use eso_core::reconcile::StoreKey;
///
/// let k = StoreKey::new(SecretStoreKind::ClusterSecretStore, "vault-eu");
/// assert_eq!(k.to_string(), "ClusterSecretStore/vault-eu");
/// assert_eq!(StoreKey::parse("ClusterSecretStore/vault-eu"), Some(k));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StoreKey {
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: SecretStoreKind,
    /// The store's name.
    pub name: String,
}

impl StoreKey {
    /// A store key.
    pub fn new(kind: SecretStoreKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }

    /// Reads `Kind/name`.
    pub fn parse(key: &str) -> Option<Self> {
        let (kind, name) = key.split_once('/')?;
        let kind = match kind {
            "SecretStore" => SecretStoreKind::SecretStore,
            "ClusterSecretStore" => SecretStoreKind::ClusterSecretStore,
            _ => return None,
        };
        (!name.is_empty()).then(|| Self::new(kind, name))
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.as_str(), self.name)
    }
}

/// An error of a flow: the error itself (its kind intact, so [`Error::is_temporary`] and
/// [`Error::is_not_found`] still answer), and the store it concerns, if it concerns one.
#[derive(Debug)]
#[non_exhaustive]
pub struct FlowError {
    /// The store the error is about; `None` when it is about the object as a whole.
    pub store: Option<StoreKey>,
    /// The error.
    pub error: Error,
}

impl FlowError {
    /// An error about the whole object.
    pub fn object(error: Error) -> Self {
        Self { store: None, error }
    }

    /// An error about one store.
    pub fn store(store: StoreKey, error: Error) -> Self {
        Self {
            store: Some(store),
            error,
        }
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.store {
            Some(s) => write!(f, "{s}: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

/// What reconciling (or deleting) one object produced, for every flow alike: the new status
/// to persist, when to come back, the errors (each with the store it concerns), and what the
/// flow did (`detail`: the target action of an ExternalSecret, the counts of a PushSecret,
/// the objects a cluster kind stamped).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eso_core::Error;
/// use eso_core::reconcile::{FlowError, Outcome};
///
/// let mut out: Outcome<(), ()> = Outcome::new((), Some(Duration::from_secs(60)), ());
/// out.errors.push(FlowError::object(Error::RateLimited { message: "slow down".into() }));
/// assert!(!out.is_ok());
/// assert!(out.is_temporary());
/// assert_eq!(out.error().unwrap().to_string(), "rate limited: slow down");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome<S, D = ()> {
    /// The new status to store on the object (unchanged for a deletion).
    pub status: S,
    /// When to reconcile again (`None`: only when the object changes).
    pub requeue_after: Option<Duration>,
    /// What failed, in the order it failed; empty when everything worked.
    pub errors: Vec<FlowError>,
    /// What the flow did.
    pub detail: D,
}

impl<S, D> Outcome<S, D> {
    /// An outcome without errors.
    pub fn new(status: S, requeue_after: Option<Duration>, detail: D) -> Self {
        Self {
            status,
            requeue_after,
            errors: Vec::new(),
            detail,
        }
    }

    /// True when nothing failed.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The first error, if any.
    pub fn error(&self) -> Option<&Error> {
        self.errors.first().map(|e| &e.error)
    }

    /// True when something failed and every failure is temporary (retrying soon may help).
    pub fn is_temporary(&self) -> bool {
        !self.errors.is_empty() && self.errors.iter().all(|e| e.error.is_temporary())
    }

    /// Every error on one line, each prefixed with its store: `SecretStore/a: ...; ...`.
    pub fn error_message(&self) -> String {
        self.errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a PushSecret reconcile did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushCounts {
    /// Entries written.
    pub pushed: usize,
    /// Entries left alone by `updatePolicy: IfNotExists`.
    pub skipped: usize,
    /// Remote entries deleted (entries or stores that left the spec, `deletionPolicy: Delete`).
    pub deleted: usize,
    /// True when the object did not need a refresh and nothing was done.
    pub up_to_date: bool,
}

/// What a ClusterExternalSecret / ClusterPushSecret reconcile did to the objects it stamps.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClusterChanges<T> {
    /// Every object created, updated, left alone or deleted.
    pub changes: Vec<super::WorkloadChange>,
    /// Objects deleted (the host runs their own deletion logic, e.g. finalizers).
    pub deleted: Vec<T>,
}

impl<T> Default for ClusterChanges<T> {
    fn default() -> Self {
        Self {
            changes: Vec::new(),
            deleted: Vec::new(),
        }
    }
}
