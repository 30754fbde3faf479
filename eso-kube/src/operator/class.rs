//! Controller classes: which operator reconciles what, as ESO's `--controller-class` has it.
//!
//! A store with an empty `spec.controller` belongs to every operator; a store naming a class
//! belongs only to the operator of that class (ESO's `ShouldProcessStore`). An ExternalSecret
//! or PushSecret is skipped (nothing written, not even a finalizer or a status) when one of
//! the stores it names belongs to another class; a store it names that does not exist does
//! not make it skip (its own pass reports the missing store), as in ESO.

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, GenericStore,
    PushSecret, SecretStore, SecretStoreKind, SecretStoreRef,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kube::ResourceExt as _;
use kube::runtime::reflector::{ObjectRef, Store};

/// The operator's class and the store caches it judges objects by.
#[derive(Clone)]
pub(super) struct ClassFilter {
    pub(super) class: String,
    pub(super) secret_stores: Store<SecretStore>,
    pub(super) cluster_secret_stores: Store<ClusterSecretStore>,
    /// Whether the SecretStore and ClusterSecretStore watches have listed once.
    pub(super) stores_listed: [Arc<AtomicBool>; 2],
}

/// True when a store of controller class `store_class` belongs to an operator of `class`.
pub(super) fn store_belongs(store_class: Option<&str>, class: &str) -> bool {
    store_class.is_none_or(|c| c.is_empty() || c == class)
}

impl ClassFilter {
    /// Whether the store `r` names belongs to this class; `None` while the stores are not
    /// listed yet and `r` is not in the cache.
    fn store_ref_belongs(&self, r: &SecretStoreRef, namespace: &str) -> Option<bool> {
        let class = match r.kind() {
            SecretStoreKind::ClusterSecretStore => self
                .cluster_secret_stores
                .get(&ObjectRef::new(&r.name))
                .map(|s| s.store_spec().controller.clone()),
            _ => self
                .secret_stores
                .get(&ObjectRef::new(&r.name).within(namespace))
                .map(|s| s.store_spec().controller.clone()),
        };
        match class {
            Some(c) => Some(store_belongs(c.as_deref(), &self.class)),
            // A store that does not exist does not make the object skip; one not listed yet
            // cannot be judged.
            None => self
                .stores_listed
                .iter()
                .all(|l| l.load(Ordering::Relaxed))
                .then_some(true),
        }
    }

    /// All of `refs` belong to this class (`None`: cannot tell yet).
    fn all_belong<'a>(
        &self,
        refs: impl Iterator<Item = &'a SecretStoreRef>,
        namespace: &str,
    ) -> Option<bool> {
        let mut out = true;
        for r in refs {
            out &= self.store_ref_belongs(r, namespace)?;
        }
        Some(out)
    }
}

/// An object the class filter judges.
pub(super) trait ClassScoped {
    /// True when the operator of `filter`'s class reconciles this object; `None` while that
    /// cannot be told yet (the stores it names are not listed yet).
    fn belongs(&self, filter: &ClassFilter) -> Option<bool>;
}

impl ClassScoped for ExternalSecret {
    fn belongs(&self, filter: &ClassFilter) -> Option<bool> {
        let ns = self.namespace().unwrap_or_default();
        let spec = &self.spec;
        let own = spec.secret_store_ref.iter();
        let data = spec
            .data
            .iter()
            .flatten()
            .filter_map(|d| d.source_ref.as_ref()?.store_ref.as_ref());
        let data_from = spec
            .data_from
            .iter()
            .flatten()
            .filter_map(|d| d.source_ref.as_ref()?.store_ref.as_ref());
        filter.all_belong(own.chain(data).chain(data_from), &ns)
    }
}

impl ClassScoped for PushSecret {
    fn belongs(&self, filter: &ClassFilter) -> Option<bool> {
        let ns = self.namespace().unwrap_or_default();
        let refs: Vec<SecretStoreRef> = self
            .spec
            .secret_store_refs
            .iter()
            .filter_map(|r| {
                Some(SecretStoreRef {
                    name: r.name.clone()?,
                    kind: Some(r.kind),
                })
            })
            .collect();
        filter.all_belong(refs.iter(), &ns)
    }
}

impl ClassScoped for SecretStore {
    fn belongs(&self, filter: &ClassFilter) -> Option<bool> {
        Some(store_belongs(
            self.store_spec().controller.as_deref(),
            &filter.class,
        ))
    }
}

impl ClassScoped for ClusterSecretStore {
    fn belongs(&self, filter: &ClassFilter) -> Option<bool> {
        Some(store_belongs(
            self.store_spec().controller.as_deref(),
            &filter.class,
        ))
    }
}

/// ClusterExternalSecrets and ClusterPushSecrets stamp out objects that are judged
/// themselves; like ESO, every operator reconciles them.
impl ClassScoped for ClusterExternalSecret {
    fn belongs(&self, _: &ClassFilter) -> Option<bool> {
        Some(true)
    }
}

impl ClassScoped for ClusterPushSecret {
    fn belongs(&self, _: &ClassFilter) -> Option<bool> {
        Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eso_should_process_store() {
        assert!(store_belongs(None, ""));
        assert!(store_belongs(Some(""), "blue"));
        assert!(store_belongs(None, "blue"));
        assert!(store_belongs(Some("blue"), "blue"));
        assert!(!store_belongs(Some("blue"), "green"));
        assert!(!store_belongs(Some("blue"), ""));
    }
}
