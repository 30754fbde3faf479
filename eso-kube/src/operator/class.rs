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
use kube::ResourceExt as _;
use kube::runtime::reflector::{ObjectRef, Store};

/// The operator's class and the store caches it judges objects by.
#[derive(Clone)]
pub(super) struct ClassFilter {
    pub(super) class: String,
    pub(super) secret_stores: Store<SecretStore>,
    pub(super) cluster_secret_stores: Store<ClusterSecretStore>,
}

/// True when a store of controller class `store_class` belongs to an operator of `class`.
pub(super) fn store_belongs(store_class: Option<&str>, class: &str) -> bool {
    store_class.is_none_or(|c| c.is_empty() || c == class)
}

impl ClassFilter {
    fn store_ref_belongs(&self, r: &SecretStoreRef, namespace: &str) -> bool {
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
        // A store not (yet) in the cache does not make the object skip.
        class.is_none_or(|c| store_belongs(c.as_deref(), &self.class))
    }
}

/// An object the class filter judges.
pub(super) trait ClassScoped {
    /// True when the operator of `filter`'s class reconciles this object.
    fn belongs(&self, filter: &ClassFilter) -> bool;
}

impl ClassScoped for ExternalSecret {
    fn belongs(&self, filter: &ClassFilter) -> bool {
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
        own.chain(data)
            .chain(data_from)
            .all(|r| filter.store_ref_belongs(r, &ns))
    }
}

impl ClassScoped for PushSecret {
    fn belongs(&self, filter: &ClassFilter) -> bool {
        let ns = self.namespace().unwrap_or_default();
        self.spec
            .secret_store_refs
            .iter()
            .filter_map(|r| {
                Some(SecretStoreRef {
                    name: r.name.clone()?,
                    kind: Some(r.kind),
                })
            })
            .all(|r| filter.store_ref_belongs(&r, &ns))
    }
}

impl ClassScoped for SecretStore {
    fn belongs(&self, filter: &ClassFilter) -> bool {
        store_belongs(self.store_spec().controller.as_deref(), &filter.class)
    }
}

impl ClassScoped for ClusterSecretStore {
    fn belongs(&self, filter: &ClassFilter) -> bool {
        store_belongs(self.store_spec().controller.as_deref(), &filter.class)
    }
}

/// ClusterExternalSecrets and ClusterPushSecrets stamp out objects that are judged
/// themselves; like ESO, every operator reconciles them.
impl ClassScoped for ClusterExternalSecret {
    fn belongs(&self, _: &ClassFilter) -> bool {
        true
    }
}

impl ClassScoped for ClusterPushSecret {
    fn belongs(&self, _: &ClassFilter) -> bool {
        true
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
