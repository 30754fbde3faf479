//! Typed provider blocks of a store's `spec.provider`: `vault`, `kubernetes`, `aws`, `gcpsm`,
//! `azurekv`, `infisical`, `onepassword`, `webhook` and `fake`.
//!
//! Every other provider key ESO knows is kept as raw JSON by
//! [`SecretStoreProvider`](super::SecretStoreProvider). Each typed block has a
//! `validate_store` method that applies the rules ESO's provider `ValidateStore` and the CRD
//! schema apply at admission; it needs a [`StoreScope`] because several rules depend on whether
//! the store is a namespaced `SecretStore` or a `ClusterSecretStore`.

mod aws;
mod azurekv;
mod beyondtrust;
mod fake;
mod gcpsm;
mod infisical;
mod kubernetes;
mod onepassword;
mod vault;
mod webhook;

pub use aws::*;
pub use azurekv::*;
pub use beyondtrust::*;
pub use fake::*;
pub use gcpsm::*;
pub use infisical::*;
pub use kubernetes::*;
pub use onepassword::*;
pub use vault::*;
pub use webhook::*;

use super::meta::{CAProvider, SecretKeySelector, SecretStoreKind, ServiceAccountSelector};
use super::validation::{ValidationErrors, is_dns1123_label, is_dns1123_subdomain, is_secret_key};

/// The store a provider block belongs to: its kind and (if known) its namespace.
///
/// Credential references in a namespaced `SecretStore` may only point into the store's own
/// namespace; a `ClusterSecretStore` may point anywhere, and some references must then name a
/// namespace. When `namespace` is `None` (a manifest without `metadata.namespace`), rules that
/// compare against the store's namespace are skipped, because the namespace is only decided
/// when the manifest is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreScope<'a> {
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: SecretStoreKind,
    /// The store's `metadata.namespace`, when known.
    pub namespace: Option<&'a str>,
}

impl<'a> StoreScope<'a> {
    /// A namespaced `SecretStore` in `namespace` (`None` when not known).
    pub fn namespaced(namespace: Option<&'a str>) -> Self {
        Self {
            kind: SecretStoreKind::SecretStore,
            namespace,
        }
    }

    /// A `ClusterSecretStore`.
    pub fn cluster() -> Self {
        Self {
            kind: SecretStoreKind::ClusterSecretStore,
            namespace: None,
        }
    }

    /// True for a `ClusterSecretStore`.
    pub fn is_cluster(&self) -> bool {
        self.kind == SecretStoreKind::ClusterSecretStore
    }

    /// True when a namespaced store names `ns` although it differs from its own namespace.
    fn foreign_namespace(&self, ns: Option<&str>) -> bool {
        match (self.is_cluster(), ns, self.namespace) {
            (false, Some(ns), Some(own)) => ns != own,
            _ => false,
        }
    }
}

const ERR_NAMESPACE_NOT_ALLOWED: &str =
    "namespace must be empty or equal to the namespace of a namespaced SecretStore";
const ERR_NAMESPACE_REQUIRED: &str = "namespace is required in a ClusterSecretStore";

/// A Secret reference that may omit its namespace (resolved later in the consumer's namespace
/// for a `ClusterSecretStore`, "referent" auth): format checks plus "no foreign namespace in a
/// namespaced store".
pub(crate) fn check_referent_secret(
    scope: StoreScope<'_>,
    sel: &SecretKeySelector,
    path: &str,
    errors: &mut ValidationErrors,
) {
    sel.validate_at(path, errors);
    if scope.foreign_namespace(sel.namespace.as_deref()) {
        errors.push(format!("{path}.namespace"), ERR_NAMESPACE_NOT_ALLOWED);
    }
}

/// A Secret reference that must name its namespace in a `ClusterSecretStore`.
pub(crate) fn check_secret(
    scope: StoreScope<'_>,
    sel: &SecretKeySelector,
    path: &str,
    errors: &mut ValidationErrors,
) {
    check_referent_secret(scope, sel, path, errors);
    if scope.is_cluster() && sel.namespace.is_none() {
        errors.push(format!("{path}.namespace"), ERR_NAMESPACE_REQUIRED);
    }
}

/// Format checks of a ServiceAccount reference (name required, DNS names).
pub(crate) fn check_service_account_format(
    sel: &ServiceAccountSelector,
    path: &str,
    errors: &mut ValidationErrors,
) {
    if sel.name.is_empty() {
        errors.push(format!("{path}.name"), "is required");
    } else if !is_dns1123_subdomain(&sel.name) {
        errors.push(format!("{path}.name"), "must be a DNS-1123 subdomain");
    }
    if let Some(ns) = &sel.namespace
        && !is_dns1123_label(ns)
    {
        errors.push(format!("{path}.namespace"), "must be a DNS-1123 label");
    }
}

/// A ServiceAccount reference that may omit its namespace (referent auth).
pub(crate) fn check_referent_service_account(
    scope: StoreScope<'_>,
    sel: &ServiceAccountSelector,
    path: &str,
    errors: &mut ValidationErrors,
) {
    check_service_account_format(sel, path, errors);
    if scope.foreign_namespace(sel.namespace.as_deref()) {
        errors.push(format!("{path}.namespace"), ERR_NAMESPACE_NOT_ALLOWED);
    }
}

/// Format checks of a CA provider (name, key, namespace).
pub(crate) fn check_ca_provider_format(ca: &CAProvider, path: &str, errors: &mut ValidationErrors) {
    if !is_dns1123_subdomain(&ca.name) {
        errors.push(format!("{path}.name"), "must be a DNS-1123 subdomain");
    }
    if let Some(key) = &ca.key
        && !is_secret_key(key)
    {
        errors.push(
            format!("{path}.key"),
            "must match ^[-._a-zA-Z0-9]+$ (at most 253 characters)",
        );
    }
    if let Some(ns) = &ca.namespace
        && !is_dns1123_label(ns)
    {
        errors.push(format!("{path}.namespace"), "must be a DNS-1123 label");
    }
}

/// Records `path: is required` when `value` is empty.
pub(crate) fn require_non_empty(value: &str, path: &str, errors: &mut ValidationErrors) {
    if value.is_empty() {
        errors.push(path, "is required");
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// Paths of all errors, for compact assertions.
    pub(crate) fn paths(errors: &ValidationErrors) -> Vec<String> {
        errors.errors().iter().map(|e| e.path.clone()).collect()
    }

    pub(crate) fn ns(scope_ns: &str) -> StoreScope<'_> {
        StoreScope::namespaced(Some(scope_ns))
    }
}
