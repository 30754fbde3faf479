//! Where ClusterExternalSecret and ClusterPushSecret put the objects they stamp out.
//!
//! [`Cluster`](crate::cluster::Cluster) covers what the ExternalSecret and PushSecret flows
//! touch (Secrets, ConfigMaps, namespaces). The cluster-scoped kinds also read and write
//! ExternalSecret and PushSecret objects; they do that through [`WorkloadStore`], a separate
//! small trait so existing `Cluster` implementations keep compiling. An operator implements
//! it over the API server (create or update with the object's `resourceVersion`); tools and
//! tests use [`MemoryWorkloads`], from which the host takes the objects to reconcile next.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::api::{ExternalSecret, ExternalSecretStatus, PushSecret, PushSecretStatus};
use crate::{Error, Result};

/// A shared workload store handle.
pub type DynWorkloadStore = Arc<dyn WorkloadStore>;

/// Storage of ExternalSecret and PushSecret objects.
///
/// # Contract
///
/// `get_*` return `Ok(None)` for a missing object. `apply_*` creates the object when it does
/// not exist, otherwise replaces its labels, annotations, owner references and spec and
/// keeps its status; when `metadata.resourceVersion` is set and stale it fails with
/// [`Error::Conflict`]. It returns the stored object (with `uid`, `resourceVersion` and a
/// `generation` that grows whenever the spec changes). `delete_*` of a missing object
/// succeeds.
#[async_trait]
pub trait WorkloadStore: fmt::Debug + Send + Sync + 'static {
    /// Reads an ExternalSecret.
    async fn get_external_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ExternalSecret>>;
    /// Creates or updates an ExternalSecret.
    async fn apply_external_secret(&self, es: ExternalSecret) -> Result<ExternalSecret>;
    /// Deletes an ExternalSecret.
    async fn delete_external_secret(&self, namespace: &str, name: &str) -> Result<()>;
    /// Reads a PushSecret.
    async fn get_push_secret(&self, namespace: &str, name: &str) -> Result<Option<PushSecret>>;
    /// Creates or updates a PushSecret.
    async fn apply_push_secret(&self, ps: PushSecret) -> Result<PushSecret>;
    /// Deletes a PushSecret.
    async fn delete_push_secret(&self, namespace: &str, name: &str) -> Result<()>;
}

type Key = (String, String);

#[derive(Debug, Default)]
struct State {
    external_secrets: BTreeMap<Key, ExternalSecret>,
    push_secrets: BTreeMap<Key, PushSecret>,
    next_version: u64,
}

/// An in-memory [`WorkloadStore`] with resource versions, generations and conflicts. Clones
/// share state.
///
/// # Example
///
/// ```
/// use eso_core::api::{ExternalSecret, ExternalSecretSpec};
/// use eso_core::reconcile::{MemoryWorkloads, WorkloadStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryWorkloads::new();
/// let mut es = ExternalSecret::new("db", ExternalSecretSpec::default());
/// es.metadata.namespace = Some("team-a".into());
/// let stored = store.apply_external_secret(es.clone()).await.unwrap();
/// assert_eq!(stored.metadata.generation, Some(1));
/// // Same spec again: the generation stays.
/// let again = store.apply_external_secret(stored.clone()).await.unwrap();
/// assert_eq!(again.metadata.generation, Some(1));
/// // A stale resourceVersion is a conflict.
/// assert!(store.apply_external_secret(stored).await.is_err());
/// assert_eq!(store.external_secrets().len(), 1);
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryWorkloads {
    state: Arc<RwLock<State>>,
}

fn key(namespace: Option<&str>, name: Option<&str>) -> Result<Key> {
    match (namespace, name) {
        (Some(ns), Some(n)) if !ns.is_empty() && !n.is_empty() => Ok((ns.to_owned(), n.to_owned())),
        _ => Err(Error::invalid_config(
            "metadata",
            "namespace and name are required",
        )),
    }
}

/// The create-or-update step shared by both kinds; `same_spec` compares the specs.
fn upsert<T: Clone>(
    map: &mut BTreeMap<Key, T>,
    next_version: &mut u64,
    key: Key,
    mut obj: T,
    meta: fn(&mut T) -> &mut crate::api::ObjectMeta,
    keep_status: fn(&mut T, &T),
    same_spec: fn(&T, &T) -> bool,
) -> Result<T> {
    *next_version += 1;
    let version = next_version.to_string();
    match map.get(&key) {
        None => {
            let m = meta(&mut obj);
            m.uid = Some(format!("uid-{version}"));
            m.resource_version = Some(version);
            m.generation = Some(1);
        }
        Some(current) => {
            let mut current = current.clone();
            let cur_meta = meta(&mut current).clone();
            let m = meta(&mut obj);
            if m.resource_version.is_some() && m.resource_version != cur_meta.resource_version {
                return Err(Error::Conflict(format!(
                    "{}/{} was modified concurrently",
                    key.0, key.1
                )));
            }
            let generation = cur_meta.generation.unwrap_or(1);
            m.uid = cur_meta.uid;
            m.resource_version = Some(version);
            m.generation = Some(generation);
            if !same_spec(&current, &obj) {
                meta(&mut obj).generation = Some(generation.saturating_add(1));
            }
            keep_status(&mut obj, &current);
        }
    }
    map.insert(key, obj.clone());
    Ok(obj)
}

impl MemoryWorkloads {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, State>> {
        self.state
            .write()
            .map_err(|_| Error::generic("memory workload state is poisoned"))
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, State>> {
        self.state
            .read()
            .map_err(|_| Error::generic("memory workload state is poisoned"))
    }

    /// Adds (or replaces) an ExternalSecret as is, status included (for seeding tests and
    /// tools; objects without a namespace or name are ignored).
    #[must_use]
    pub fn with_external_secret(self, es: ExternalSecret) -> Self {
        if let Ok(k) = key(
            es.metadata.namespace.as_deref(),
            es.metadata.name.as_deref(),
        ) && let Ok(mut st) = self.state.write()
        {
            st.external_secrets.insert(k, es);
        }
        self
    }

    /// Adds (or replaces) a PushSecret as is, status included.
    #[must_use]
    pub fn with_push_secret(self, ps: PushSecret) -> Self {
        if let Ok(k) = key(
            ps.metadata.namespace.as_deref(),
            ps.metadata.name.as_deref(),
        ) && let Ok(mut st) = self.state.write()
        {
            st.push_secrets.insert(k, ps);
        }
        self
    }

    /// Every ExternalSecret, sorted by namespace and name.
    pub fn external_secrets(&self) -> Vec<ExternalSecret> {
        self.read()
            .map(|st| st.external_secrets.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every PushSecret, sorted by namespace and name.
    pub fn push_secrets(&self) -> Vec<PushSecret> {
        self.read()
            .map(|st| st.push_secrets.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Stores the status of an ExternalSecret (what an operator writes to `/status`).
    pub fn set_external_secret_status(
        &self,
        namespace: &str,
        name: &str,
        status: ExternalSecretStatus,
    ) -> Result<()> {
        let mut st = self.write()?;
        let es = st
            .external_secrets
            .get_mut(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| Error::not_found(format!("ExternalSecret {namespace}/{name}")))?;
        es.status = Some(status);
        Ok(())
    }

    /// Stores the status of a PushSecret.
    pub fn set_push_secret_status(
        &self,
        namespace: &str,
        name: &str,
        status: PushSecretStatus,
    ) -> Result<()> {
        let mut st = self.write()?;
        let ps = st
            .push_secrets
            .get_mut(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| Error::not_found(format!("PushSecret {namespace}/{name}")))?;
        ps.status = Some(status);
        Ok(())
    }
}

#[async_trait]
impl WorkloadStore for MemoryWorkloads {
    async fn get_external_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ExternalSecret>> {
        Ok(self
            .read()?
            .external_secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned())
    }

    async fn apply_external_secret(&self, es: ExternalSecret) -> Result<ExternalSecret> {
        let k = key(
            es.metadata.namespace.as_deref(),
            es.metadata.name.as_deref(),
        )?;
        let mut guard = self.write()?;
        let st = &mut *guard;
        upsert(
            &mut st.external_secrets,
            &mut st.next_version,
            k,
            es,
            |o| &mut o.metadata,
            |o, cur| o.status.clone_from(&cur.status),
            |a, b| a.spec == b.spec,
        )
    }

    async fn delete_external_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.write()?
            .external_secrets
            .remove(&(namespace.to_owned(), name.to_owned()));
        Ok(())
    }

    async fn get_push_secret(&self, namespace: &str, name: &str) -> Result<Option<PushSecret>> {
        Ok(self
            .read()?
            .push_secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned())
    }

    async fn apply_push_secret(&self, ps: PushSecret) -> Result<PushSecret> {
        let k = key(
            ps.metadata.namespace.as_deref(),
            ps.metadata.name.as_deref(),
        )?;
        let mut guard = self.write()?;
        let st = &mut *guard;
        upsert(
            &mut st.push_secrets,
            &mut st.next_version,
            k,
            ps,
            |o| &mut o.metadata,
            |o, cur| o.status.clone_from(&cur.status),
            |a, b| a.spec == b.spec,
        )
    }

    async fn delete_push_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.write()?
            .push_secrets
            .remove(&(namespace.to_owned(), name.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ExternalSecretSpec;

    #[tokio::test]
    async fn generation_status_and_conflicts() {
        let store = MemoryWorkloads::new();
        let mut es = ExternalSecret::new("db", ExternalSecretSpec::default());
        es.metadata.namespace = Some("ns".into());
        assert!(
            store
                .apply_external_secret(ExternalSecret::new("x", ExternalSecretSpec::default()))
                .await
                .is_err()
        );
        let v1 = store.apply_external_secret(es.clone()).await.unwrap();
        assert_eq!(v1.metadata.generation, Some(1));
        store
            .set_external_secret_status("ns", "db", ExternalSecretStatus::default())
            .unwrap();
        // Labels only: generation stays, status is kept.
        let mut labelled = v1.clone();
        labelled.metadata.labels = Some([("a".to_owned(), "b".to_owned())].into());
        let v2 = store.apply_external_secret(labelled).await.unwrap();
        assert_eq!(v2.metadata.generation, Some(1));
        assert!(v2.status.is_some());
        assert_eq!(v2.metadata.uid, v1.metadata.uid);
        // Spec change bumps the generation.
        let mut changed = v2.clone();
        changed.spec.refresh_interval = crate::GoDuration::from_secs(5);
        let v3 = store.apply_external_secret(changed).await.unwrap();
        assert_eq!(v3.metadata.generation, Some(2));
        // Stale version.
        assert!(matches!(
            store.apply_external_secret(v2).await,
            Err(Error::Conflict(_))
        ));
        store.delete_external_secret("ns", "db").await.unwrap();
        store.delete_external_secret("ns", "db").await.unwrap();
        assert!(
            store
                .get_external_secret("ns", "db")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .set_external_secret_status("ns", "db", ExternalSecretStatus::default())
                .is_err()
        );
    }
}
