//! [`ManagedKeys`]: which data keys, labels and annotations one field manager of a Secret set.

use std::collections::BTreeSet;

/// The data keys, labels and annotations one field manager set on a Secret, as the API
/// server records it in `metadata.managedFields`.
///
/// ESO writes an ExternalSecret's target as that ExternalSecret's own field manager
/// ([`field_manager`](crate::reconcile::field_manager)) and, before rendering again, removes
/// what that manager set last time: a key a template no longer renders leaves the Secret,
/// while keys other writers set stay. The flows do the same with [`KubeSecret::managed_fields`](super::KubeSecret::managed_fields).
///
/// # Example
///
/// ```
/// use eso_core::cluster::ManagedKeys;
///
/// let mut keys = ManagedKeys::default();
/// keys.data.insert("password".into());
/// assert!(keys.data.contains("password") && keys.labels.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagedKeys {
    /// Keys of `data`.
    pub data: BTreeSet<String>,
    /// Keys of `metadata.labels`.
    pub labels: BTreeSet<String>,
    /// Keys of `metadata.annotations`.
    pub annotations: BTreeSet<String>,
}

impl ManagedKeys {
    /// Adds everything `other` holds.
    pub fn extend(&mut self, other: Self) {
        self.data.extend(other.data);
        self.labels.extend(other.labels);
        self.annotations.extend(other.annotations);
    }
}
