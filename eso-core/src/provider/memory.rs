//! [`InMemory`]: a complete provider held in memory, also serving ESO's `fake` provider kind.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use serde_json::Value;

use super::{
    Capabilities, DynProvider, FindRef, MetadataPolicy, Provider, ProviderFactory, PushRef,
    PushValue, RemoteRef, StoreContext, Validation, property,
};
use crate::api::{FakeProvider, SecretStoreProvider};
use crate::{Error, Result, SecretMap, SecretValue};

/// The tag key pushes set to mark a secret as owned by eso-rs (ESO's marker).
pub const MANAGED_BY_TAG: &str = "managed-by";
/// The tag value pushes set to mark a secret as owned by eso-rs.
pub const MANAGED_BY_VALUE: &str = "external-secrets";

#[derive(Clone, Debug, Default)]
struct Entry {
    /// Versions, oldest first; never empty for a stored entry.
    versions: Vec<(String, SecretValue)>,
    tags: BTreeMap<String, String>,
}

impl Entry {
    fn latest(&self) -> Option<&SecretValue> {
        self.versions.last().map(|(_, v)| v)
    }

    /// A stored value without the ownership marker: someone else's secret.
    fn is_foreign(&self) -> bool {
        !self.versions.is_empty()
            && self.tags.get(MANAGED_BY_TAG).map(String::as_str) != Some(MANAGED_BY_VALUE)
    }
}

#[derive(Debug, Default)]
struct Shared {
    secrets: RwLock<BTreeMap<String, Entry>>,
    reads: AtomicU64,
    writes: AtomicU64,
}

/// One secret of an [`InMemory`] store, as [`InMemory::export`] returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredSecret {
    /// The key.
    pub key: String,
    /// `(version name, value)`, oldest first; the last one is the current value.
    pub versions: Vec<(String, SecretValue)>,
    /// Tags (metadata), e.g. the `managed-by` ownership marker.
    pub tags: BTreeMap<String, String>,
}

impl StoredSecret {
    /// A secret with no versions and no tags.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }
}

/// A provider that keeps secrets in memory and implements every operation: versions, tags,
/// properties inside JSON values, find by name/path/tags, push, delete.
///
/// It is a real provider, suitable for tests, examples and for opting out of a backend; it
/// also serves ESO's `fake` provider kind (seeded from `spec.provider.fake.data`). Clones
/// share state; [`InMemory::fork`] makes an independent copy. Pushes keep values and the
/// ownership tag only: the source Secret's type, labels and annotations
/// ([`PushRef::source`]) are ignored, as ESO's `fake` provider does.
///
/// Ownership works as on every provider: a push tags what it writes
/// [`MANAGED_BY_TAG`]`=`[`MANAGED_BY_VALUE`], and a secret with a value but without that tag
/// (seeded with [`InMemory::with_secret`] or from `spec.provider.fake.data`) is someone
/// else's: pushes over it and deletes of it answer [`Error::NotManaged`] and leave it as it
/// is. Seed a secret as ours by adding the tag with [`InMemory::with_tag`].
///
/// # Example
///
/// ```
/// use eso_core::provider::{InMemory, Provider, PushRef, PushValue, RemoteRef};
/// use eso_core::SecretValue;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use eso_core::provider::{MANAGED_BY_TAG, MANAGED_BY_VALUE};
///
/// let store = InMemory::new()
///     .with_secret("app/config", r#"{"token":"t0"}"#)
///     .with_tag("app/config", MANAGED_BY_TAG, MANAGED_BY_VALUE);
/// store
///     .push_secret(&PushValue::Single(SecretValue::from("t1")), &PushRef::new("app/config").with_property("token"))
///     .await
///     .unwrap();
/// let token = store.get_secret(&RemoteRef::new("app/config").with_property("token")).await.unwrap();
/// assert_eq!(token.expose(), b"t1");
/// // The first version is still there.
/// let v1 = store.get_secret(&RemoteRef::new("app/config").with_version("1")).await.unwrap();
/// assert_eq!(v1.expose(), br#"{"token":"t0"}"#);
///
/// // A secret without the tag is someone else's: left as it is.
/// let theirs = InMemory::new().with_secret("legacy", "v");
/// let e = theirs.delete_secret(&PushRef::new("legacy")).await.unwrap_err();
/// assert!(e.is_not_managed());
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct InMemory {
    shared: Arc<Shared>,
    validation: Option<Validation>,
}

impl InMemory {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a new version of `key` holding `value`. Without the ownership tag (see
    /// [`InMemory::with_tag`]) the secret counts as someone else's.
    #[must_use]
    pub fn with_secret(self, key: impl Into<String>, value: impl Into<SecretValue>) -> Self {
        self.insert(key.into(), None, value.into());
        self
    }

    /// Adds `value` to `key` under an explicit version name.
    #[must_use]
    pub fn with_version(
        self,
        key: impl Into<String>,
        version: impl Into<String>,
        value: impl Into<SecretValue>,
    ) -> Self {
        self.insert(key.into(), Some(version.into()), value.into());
        self
    }

    /// Sets a tag on `key` (which must already exist to be found, but tags may be set first).
    #[must_use]
    pub fn with_tag(
        self,
        key: impl Into<String>,
        tag: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        if let Ok(mut m) = self.shared.secrets.write() {
            m.entry(key.into())
                .or_default()
                .tags
                .insert(tag.into(), value.into());
        }
        self
    }

    /// An independent copy of the current contents.
    #[must_use]
    pub fn fork(&self) -> Self {
        let copy = self
            .shared
            .secrets
            .read()
            .map(|m| m.clone())
            .unwrap_or_default();
        Self {
            shared: Arc::new(Shared {
                secrets: RwLock::new(copy),
                ..Shared::default()
            }),
            validation: self.validation,
        }
    }

    /// The stored keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.shared
            .secrets
            .read()
            .map(|m| {
                m.iter()
                    .filter(|(_, e)| !e.versions.is_empty())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tags of `key`.
    pub fn tags(&self, key: &str) -> BTreeMap<String, String> {
        self.shared
            .secrets
            .read()
            .ok()
            .and_then(|m| m.get(key).map(|e| e.tags.clone()))
            .unwrap_or_default()
    }

    /// A copy of every stored secret (versions oldest first, and tags), sorted by key: what a
    /// tool needs to persist the store between runs ([`InMemory::import`] restores it).
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::provider::InMemory;
    ///
    /// let store = InMemory::new().with_secret("a", "1").with_secret("a", "2").with_tag("a", "team", "x");
    /// let copy = InMemory::import(store.export());
    /// assert_eq!(copy.export(), store.export());
    /// assert_eq!(copy.export()[0].versions.len(), 2);
    /// ```
    pub fn export(&self) -> Vec<StoredSecret> {
        self.shared
            .secrets
            .read()
            .map(|m| {
                m.iter()
                    .map(|(k, e)| StoredSecret {
                        key: k.clone(),
                        versions: e.versions.clone(),
                        tags: e.tags.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A store holding exactly `secrets` (as returned by [`InMemory::export`]).
    pub fn import(secrets: impl IntoIterator<Item = StoredSecret>) -> Self {
        let store = Self::new();
        if let Ok(mut m) = store.shared.secrets.write() {
            for s in secrets {
                m.insert(
                    s.key,
                    Entry {
                        versions: s.versions,
                        tags: s.tags,
                    },
                );
            }
        }
        store
    }

    /// How many read calls (get, get map, find) this store has served.
    pub fn read_count(&self) -> u64 {
        self.shared.reads.load(Ordering::Relaxed)
    }

    /// How many write calls (push, delete) this store has served.
    pub fn write_count(&self) -> u64 {
        self.shared.writes.load(Ordering::Relaxed)
    }

    fn insert(&self, key: String, version: Option<String>, value: SecretValue) {
        if let Ok(mut m) = self.shared.secrets.write() {
            let e = m.entry(key).or_default();
            let version = version.unwrap_or_else(|| (e.versions.len() + 1).to_string());
            e.versions.retain(|(v, _)| *v != version);
            e.versions.push((version, value));
        }
    }

    fn read_map(&self) -> Result<std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>>> {
        self.shared.reads.fetch_add(1, Ordering::Relaxed);
        self.shared
            .secrets
            .read()
            .map_err(|_| Error::generic("in-memory store is poisoned"))
    }

    fn write_map(&self) -> Result<std::sync::RwLockWriteGuard<'_, BTreeMap<String, Entry>>> {
        self.shared.writes.fetch_add(1, Ordering::Relaxed);
        self.shared
            .secrets
            .write()
            .map_err(|_| Error::generic("in-memory store is poisoned"))
    }

    /// The raw value (or metadata document) a ref points at, before the property.
    fn lookup(&self, r: &RemoteRef) -> Result<SecretValue> {
        let map = self.read_map()?;
        let entry = map
            .get(&r.key)
            .filter(|e| !e.versions.is_empty())
            .ok_or_else(|| Error::not_found(r.key.clone()))?;
        if r.metadata_policy == MetadataPolicy::Fetch {
            let tags: serde_json::Map<String, Value> = entry
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            return serde_json::to_vec(&tags)
                .map(SecretValue::new)
                .map_err(|e| Error::Conversion(e.to_string()));
        }
        match r.version() {
            None => entry.latest().cloned(),
            Some(v) => entry
                .versions
                .iter()
                .find(|(name, _)| name == v)
                .map(|(_, val)| val.clone()),
        }
        .ok_or_else(|| Error::not_found(r.to_string()))
    }
}

#[async_trait]
impl Provider for InMemory {
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        property::select(self.lookup(r)?, &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let value = self.get_secret(r).await?;
        property::json_to_map(&value, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let map = self.read_map()?;
        Ok(map
            .iter()
            .filter(|(k, e)| {
                find.matches_path(k) && find.matches_name(k) && find.matches_tags(&e.tags)
            })
            .filter_map(|(k, e)| e.latest().map(|v| (k.clone(), v.clone())))
            .collect())
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let mut map = self.write_map()?;
        let entry = map.entry(r.remote_key.clone()).or_default();
        if entry.is_foreign() {
            return Err(r.not_managed());
        }
        let new_value = match r.property() {
            None => value.to_bytes()?,
            Some(p) => {
                let mut doc = property::parse_for_push(entry.latest(), &r.remote_key)?;
                let v = match value {
                    PushValue::Single(v) => property::push_value(v)?,
                    PushValue::Map(_) => serde_json::from_slice(value.to_bytes()?.expose())
                        .map_err(|e| Error::Conversion(e.to_string()))?,
                };
                property::set(&mut doc, p, v);
                SecretValue::new(
                    serde_json::to_vec(&doc).map_err(|e| Error::Conversion(e.to_string()))?,
                )
            }
        };
        if let Some(tags) = r
            .metadata
            .as_ref()
            .and_then(|m| m.get("tags").or_else(|| m.get("labels")))
            .and_then(Value::as_object)
        {
            for (k, v) in tags {
                if let Some(s) = v.as_str() {
                    entry.tags.insert(k.clone(), s.to_owned());
                }
            }
        }
        entry
            .tags
            .insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY_VALUE.to_owned());
        if entry.latest() != Some(&new_value) {
            let version = (entry.versions.len() + 1).to_string();
            entry.versions.push((version, new_value));
        }
        Ok(())
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        let mut map = self.write_map()?;
        let Some(entry) = map.get_mut(&r.remote_key) else {
            return Ok(());
        };
        if entry.is_foreign() {
            return Err(r.not_managed());
        }
        match r.property() {
            None => {
                map.remove(&r.remote_key);
            }
            Some(p) => {
                let mut doc = property::parse_for_push(entry.latest(), &r.remote_key)?;
                if property::remove(&mut doc, p) {
                    if doc.as_object().is_some_and(serde_json::Map::is_empty) {
                        map.remove(&r.remote_key);
                    } else {
                        let bytes = serde_json::to_vec(&doc)
                            .map_err(|e| Error::Conversion(e.to_string()))?;
                        let version = (entry.versions.len() + 1).to_string();
                        entry.versions.push((version, SecretValue::new(bytes)));
                    }
                }
            }
        }
        Ok(())
    }

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        let map = self.read_map()?;
        let Some(value) = map.get(&r.remote_key).and_then(Entry::latest) else {
            return Ok(false);
        };
        match r.property() {
            None => Ok(true),
            Some(p) => Ok(property::extract(value, &r.remote_key, p).is_ok()),
        }
    }

    async fn validate(&self) -> Result<Validation> {
        Ok(self.validation.unwrap_or(Validation::Ready))
    }
}

/// Builds [`InMemory`] providers for ESO's `fake` provider kind.
///
/// `spec.provider.fake.data[]` entries (`key`, `value`, optional `version`) seed the store;
/// `validationResult: 1` (Unknown) or `2` (Error) makes `validate` answer so.
///
/// There is one [`InMemory`] per store revision, shared by every client of that store
/// (a ClusterSecretStore used from several namespaces sees the same contents), so what a
/// PushSecret writes an ExternalSecret can read. Clones of the factory share these stores;
/// [`InMemoryFactory::stores`] and [`InMemoryFactory::with_store`] give access to them (for
/// inspection, or to persist and restore them between runs).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::provider::{InMemory, InMemoryFactory, ProviderRegistry, StoreIdentity, StoreScope};
///
/// let factory = InMemoryFactory::default();
/// let id = StoreIdentity::new(StoreScope::Cluster, "", "shared");
/// factory.with_store(id.clone(), InMemory::new().with_secret("k", "v"));
/// let mut registry = ProviderRegistry::empty();
/// registry.register(Arc::new(factory.clone()));
/// assert_eq!(factory.store(&id).unwrap().keys(), ["k"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct InMemoryFactory {
    stores: Arc<std::sync::Mutex<BTreeMap<super::StoreIdentity, InMemory>>>,
}

impl InMemoryFactory {
    /// The provider key.
    pub const KIND: &'static str = "fake";

    /// The store of a store revision, if a provider was built for it (or one was set).
    pub fn store(&self, id: &super::StoreIdentity) -> Option<InMemory> {
        self.stores.lock().ok().and_then(|m| m.get(id).cloned())
    }

    /// Every store, by store revision.
    pub fn stores(&self) -> Vec<(super::StoreIdentity, InMemory)> {
        self.stores
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Uses `store` for a store revision instead of seeding a new one from its spec.
    pub fn with_store(&self, id: super::StoreIdentity, store: InMemory) {
        if let Ok(mut m) = self.stores.lock() {
            m.insert(id, store);
        }
    }

    fn build(spec: &FakeProvider) -> InMemory {
        let mut store = InMemory::new();
        if spec.validation_result == Some(1) {
            store.validation = Some(Validation::Unknown);
        }
        for item in &spec.data {
            let version = item.version.clone().filter(|v| !v.is_empty());
            store.insert(
                item.key.clone(),
                version,
                SecretValue::from(item.value.as_str()),
            );
        }
        store
    }
}

#[async_trait]
impl ProviderFactory for InMemoryFactory {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        _store: &super::StoreIdentity,
    ) -> Result<Vec<String>> {
        let fake = super::provider_block(spec, Self::KIND, |p| p.fake.as_ref())?;
        if let Some(v) = fake.validation_result.filter(|v| *v > 2) {
            return Err(Error::invalid_config(
                "spec.provider.fake.validationResult",
                format!("unknown value {v}, expected 0 (Ready), 1 (Unknown) or 2 (Error)"),
            ));
        }
        let mut errors = crate::api::ValidationErrors::new();
        fake.validate_store("spec.provider.fake", &mut errors);
        errors.into_result()?;
        Ok(Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        let fake = ctx.block(Self::KIND, |p| p.fake.as_ref())?;
        let store = match self.store(ctx.store) {
            Some(s) => s,
            None => {
                let built = Self::build(fake);
                let mut m = self
                    .stores
                    .lock()
                    .map_err(|_| Error::generic("in-memory factory is poisoned"))?;
                m.entry(ctx.store.clone()).or_insert(built).clone()
            }
        };
        if fake.validation_result == Some(2) {
            return Ok(Arc::new(FailingValidation(store)));
        }
        Ok(Arc::new(store))
    }
}

/// A fake store configured with `validationResult: Error`.
#[derive(Debug)]
struct FailingValidation(InMemory);

#[async_trait]
impl Provider for FailingValidation {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        self.0.get_secret(r).await
    }
    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        self.0.get_secret_map(r).await
    }
    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        self.0.get_all_secrets(find).await
    }
    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.0.push_secret(value, r).await
    }
    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.0.delete_secret(r).await
    }
    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        self.0.secret_exists(r).await
    }
    async fn validate(&self) -> Result<Validation> {
        Err(Error::generic(
            "fake store is configured to fail validation",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn find_by_name_path_tags() {
        rt().block_on(async {
            let s = InMemory::new()
                .with_secret("team-a/db", "1")
                .with_secret("team-a/web", "2")
                .with_secret("team-b/db", "3")
                .with_tag("team-b/db", "env", "prod");
            let all = s.get_all_secrets(&FindRef::default()).await.unwrap();
            assert_eq!(all.len(), 3);
            let f = FindRef::default()
                .with_path("team-a")
                .with_name_regexp("db$")
                .unwrap();
            assert_eq!(
                s.get_all_secrets(&f)
                    .await
                    .unwrap()
                    .keys()
                    .collect::<Vec<_>>(),
                ["team-a/db"]
            );
            let f = FindRef::default().with_tag("env", "prod");
            assert_eq!(
                s.get_all_secrets(&f)
                    .await
                    .unwrap()
                    .keys()
                    .collect::<Vec<_>>(),
                ["team-b/db"]
            );
        });
    }

    #[test]
    fn push_is_idempotent_and_delete_property() {
        rt().block_on(async {
            let s = InMemory::new();
            let r = PushRef::new("k").with_property("a");
            let v = PushValue::Single(SecretValue::from("1"));
            s.push_secret(&v, &r).await.unwrap();
            s.push_secret(&v, &r).await.unwrap();
            assert!(
                s.get_secret(&RemoteRef::new("k").with_version("2"))
                    .await
                    .unwrap_err()
                    .is_not_found()
            );
            s.push_secret(&v, &PushRef::new("k").with_property("b"))
                .await
                .unwrap();
            assert!(s.secret_exists(&r).await.unwrap());
            s.delete_secret(&r).await.unwrap();
            assert!(!s.secret_exists(&r).await.unwrap());
            assert!(s.secret_exists(&PushRef::new("k")).await.unwrap());
            s.delete_secret(&PushRef::new("k").with_property("b"))
                .await
                .unwrap();
            assert!(!s.secret_exists(&PushRef::new("k")).await.unwrap());
            s.delete_secret(&PushRef::new("k")).await.unwrap();
            assert_eq!(s.tags("k"), BTreeMap::new());
        });
    }

    #[test]
    fn metadata_fetch_and_map() {
        rt().block_on(async {
            let s = InMemory::new()
                .with_secret("k", r#"{"a":"1","b":{"c":2}}"#)
                .with_tag("k", "team", "x");
            let meta = s
                .get_secret(
                    &RemoteRef::new("k")
                        .with_metadata_policy(MetadataPolicy::Fetch)
                        .with_property("team"),
                )
                .await
                .unwrap();
            assert_eq!(meta.expose(), b"x");
            let m = s.get_secret_map(&RemoteRef::new("k")).await.unwrap();
            assert_eq!(m["b"].expose(), br#"{"c":2}"#);
            let m = s
                .get_secret_map(&RemoteRef::new("k").with_property("b"))
                .await
                .unwrap();
            assert_eq!(m["c"].expose(), b"2");
        });
    }

    #[test]
    fn fake_factory_seeds_and_rejects_bad_spec() {
        let spec: SecretStoreProvider =
            serde_json::from_value(serde_json::json!({"fake": {"data": [
                {"key": "a", "value": "1", "version": "v1"},
                {"key": "a", "value": "2", "version": "v2"},
                {"key": "m", "value": "{\"x\":\"y\"}"}
            ]}}))
            .unwrap();
        let s = InMemoryFactory::build(spec.fake.as_ref().unwrap());
        rt().block_on(async {
            assert_eq!(
                s.get_secret(&RemoteRef::new("a")).await.unwrap().expose(),
                b"2"
            );
            assert_eq!(
                s.get_secret(&RemoteRef::new("a").with_version("v1"))
                    .await
                    .unwrap()
                    .expose(),
                b"1"
            );
            assert_eq!(
                s.get_secret(&RemoteRef::new("m").with_property("x"))
                    .await
                    .unwrap()
                    .expose(),
                b"y"
            );
        });
        let bad: SecretStoreProvider = serde_json::from_value(
            serde_json::json!({"fake": {"data": [{"key": "", "value": "v"}]}}),
        )
        .unwrap();
        let id = super::super::StoreIdentity::default();
        let err = InMemoryFactory::default()
            .validate_store(&bad, &id)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.provider.fake.data[0].key: is required"
        );
    }
}
