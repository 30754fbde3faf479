//! The Kubernetes side of a reconcile: the [`Cluster`] trait and [`MemoryCluster`].
//!
//! The reconcile flows read source Secrets and ConfigMaps and write target Secrets through
//! this trait, so they run the same against a real API server (`KubeCluster` in
//! `eso-kube`) and against [`MemoryCluster`] in tests, examples and tools.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::{Error, Result, SecretMap};

mod generator_state;
mod k8s;
mod managed;
mod token;

pub use generator_state::{GENERATOR_STATE_FINALIZER, GeneratorStateQuery, KubeGeneratorState};
pub use k8s::{secret_from_kube, secret_to_kube};
pub use managed::ManagedKeys;
pub use token::TokenRequestRecord;

/// A shared cluster handle.
pub type DynCluster = Arc<dyn Cluster>;

/// An owner reference, as written to `metadata.ownerReferences`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnerRef {
    /// API version of the owner.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
    /// Whether the owner is the managing controller.
    pub controller: bool,
    /// Whether deletion of the owner is blocked until this object is gone.
    pub block_owner_deletion: bool,
}

impl OwnerRef {
    /// A controller owner reference to `kind`/`name` with `uid`.
    pub fn controller(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        name: impl Into<String>,
        uid: impl Into<String>,
    ) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            uid: uid.into(),
            controller: true,
            block_owner_deletion: true,
        }
    }
}

/// A Kubernetes Secret as the flows see it. `data` is redacted in `Debug`.
///
/// # Example
///
/// ```
/// use eso_core::cluster::KubeSecret;
///
/// let s = KubeSecret::new("default", "db").with_data("password", "hunter2");
/// assert!(!format!("{s:?}").contains("hunter2"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubeSecret {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Secret type (`Opaque` when empty).
    pub type_: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Owner references.
    pub owner_references: Vec<OwnerRef>,
    /// Whether the Secret is immutable.
    pub immutable: bool,
    /// The data.
    pub data: SecretMap,
    /// Server-assigned version, used for optimistic concurrency on update (empty when new).
    pub resource_version: String,
    /// Server-assigned UID (empty when new).
    pub uid: String,
    /// What each field manager set, by manager name (`metadata.managedFields`); filled on
    /// reads by clusters that track it (`KubeCluster`), never written.
    pub managed_fields: BTreeMap<String, ManagedKeys>,
    /// The field manager to write this Secret as (ESO's per-ExternalSecret manager); empty:
    /// the cluster's default. Not part of the stored object.
    pub field_manager: String,
}

impl KubeSecret {
    /// An empty Opaque secret.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            type_: "Opaque".into(),
            ..Self::default()
        }
    }

    /// Adds a data key.
    #[must_use]
    pub fn with_data(
        mut self,
        key: impl Into<String>,
        value: impl Into<crate::SecretValue>,
    ) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    /// Adds a label.
    #[must_use]
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds an annotation.
    #[must_use]
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// Sets the type.
    #[must_use]
    pub fn with_type(mut self, type_: impl Into<String>) -> Self {
        self.type_ = type_.into();
        self
    }
}

impl fmt::Debug for KubeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeSecret")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("type", &self.type_)
            .field("labels", &self.labels)
            .field("annotations", &self.annotations)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("immutable", &self.immutable)
            .field("resource_version", &self.resource_version)
            .field("field_manager", &self.field_manager)
            .finish_non_exhaustive()
    }
}

/// A ConfigMap (template sources, CA bundles).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubeConfigMap {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Data.
    pub data: BTreeMap<String, String>,
}

impl KubeConfigMap {
    /// An empty ConfigMap.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            ..Self::default()
        }
    }

    /// Adds a data key.
    #[must_use]
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}

/// A namespace and its labels (for ClusterExternalSecret/ClusterPushSecret selection).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubeNamespace {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl KubeNamespace {
    /// A namespace with labels.
    pub fn new(name: impl Into<String>, labels: BTreeMap<String, String>) -> Self {
        Self {
            name: name.into(),
            labels,
        }
    }
}

/// Label requirements (`matchLabels` plus `matchExpressions`), as a plain value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LabelQuery {
    /// Every label must equal.
    pub match_labels: BTreeMap<String, String>,
    /// Every expression must hold.
    pub match_expressions: Vec<LabelExpression>,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelExpression {
    /// Label value is one of the values.
    In(String, Vec<String>),
    /// Label is absent or its value is none of the values.
    NotIn(String, Vec<String>),
    /// Label is present.
    Exists(String),
    /// Label is absent.
    DoesNotExist(String),
}

impl LabelQuery {
    /// Converts a Kubernetes `LabelSelector`; `path` names the field in errors.
    pub fn from_selector(
        sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
        path: &str,
    ) -> Result<Self> {
        let mut q = Self {
            match_labels: sel.match_labels.clone().unwrap_or_default(),
            match_expressions: Vec::new(),
        };
        for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
            let values = e.values.clone().unwrap_or_default();
            let key = e.key.clone();
            q.match_expressions.push(match e.operator.as_str() {
                "In" => LabelExpression::In(key, values),
                "NotIn" => LabelExpression::NotIn(key, values),
                "Exists" => LabelExpression::Exists(key),
                "DoesNotExist" => LabelExpression::DoesNotExist(key),
                other => {
                    return Err(Error::invalid_config(
                        format!("{path}.matchExpressions[{i}].operator"),
                        format!("unknown operator {other:?}"),
                    ));
                }
            });
        }
        Ok(q)
    }

    /// True when `labels` satisfy every requirement (an empty query matches everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_by(|k| labels.get(k).map(String::as_str))
    }

    /// [`LabelQuery::matches`] over any label lookup.
    fn matches_by<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let has = |k: &str, vs: &[String]| get(k).is_some_and(|v| vs.iter().any(|x| x == v));
        self.match_labels
            .iter()
            .all(|(k, v)| get(k) == Some(v.as_str()))
            && self.match_expressions.iter().all(|e| match e {
                LabelExpression::In(k, vs) => has(k, vs),
                LabelExpression::NotIn(k, vs) => !has(k, vs),
                LabelExpression::Exists(k) => get(k).is_some(),
                LabelExpression::DoesNotExist(k) => get(k).is_none(),
            })
    }
}

/// The Kubernetes operations the reconcile flows need.
///
/// # Contract
///
/// `get_*` return `Ok(None)` for a missing object. `create_secret` fails with
/// [`Error::Conflict`] if the Secret exists; `update_secret` fails with [`Error::Conflict`] if
/// `resource_version` is stale, and with [`Error::NotFound`] if the Secret is gone. Both return
/// the stored object with its new `resource_version`.
#[async_trait]
pub trait Cluster: fmt::Debug + Send + Sync + 'static {
    /// Reads a Secret.
    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>>;
    /// Reads the target Secret of an ExternalSecret that creates its target (creation policy
    /// `Owner` or `Orphan`), right before the write. A cluster that already knows the Secret
    /// does not exist (from a watch, say) may answer `Ok(None)` without a request: if it was
    /// wrong, the create that follows fails with [`Error::Conflict`], and the retry reads
    /// again. By default, [`Cluster::get_secret`].
    async fn get_target_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        self.get_secret(namespace, name).await
    }
    /// Lists the Secrets of a namespace whose labels match.
    async fn list_secrets(&self, namespace: &str, labels: &LabelQuery) -> Result<Vec<KubeSecret>>;
    /// Creates a Secret.
    async fn create_secret(&self, secret: KubeSecret) -> Result<KubeSecret>;
    /// Replaces a Secret (optimistic concurrency on `resource_version`).
    async fn update_secret(&self, secret: KubeSecret) -> Result<KubeSecret>;
    /// Deletes a Secret; deleting a missing Secret succeeds.
    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()>;
    /// Reads a ConfigMap.
    async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<KubeConfigMap>>;
    /// Lists namespaces whose labels match.
    async fn list_namespaces(&self, labels: &LabelQuery) -> Result<Vec<KubeNamespace>>;

    /// Requests a token for a ServiceAccount (the TokenRequest API), for providers that log in
    /// with one (Vault kubernetes/jwt auth). `audiences` empty means the API server's default.
    ///
    /// The default implementation answers [`Error::NotSupported`]; so does [`MemoryCluster`]
    /// unless [`MemoryCluster::with_service_account_tokens`] turned it on.
    async fn create_service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<crate::SecretValue> {
        let _ = (audiences, expiration_seconds);
        Err(Error::not_supported(format!(
            "this cluster client cannot request tokens for ServiceAccount {namespace}/{name} (TokenRequest)"
        )))
    }

    /// Records a generator state (named by the cluster: `name` is ignored) and returns it
    /// as stored.
    ///
    /// The four generator-state methods answer [`Error::NotSupported`] by default: the flows
    /// then keep no state, as ESO with `--enable-generator-state=false`.
    async fn create_generator_state(
        &self,
        state: KubeGeneratorState,
    ) -> Result<KubeGeneratorState> {
        Err(generator_state::unsupported(&state.namespace))
    }

    /// Lists generator states.
    async fn list_generator_states(
        &self,
        query: GeneratorStateQuery<'_>,
    ) -> Result<Vec<KubeGeneratorState>> {
        let _ = query;
        Err(generator_state::unsupported(""))
    }

    /// Sets the garbage-collection deadline of a state (a missing state is
    /// [`Error::NotFound`]).
    async fn flag_generator_state(
        &self,
        namespace: &str,
        name: &str,
        deadline: jiff::Timestamp,
    ) -> Result<()> {
        let _ = (name, deadline);
        Err(generator_state::unsupported(namespace))
    }

    /// Deletes a state for good (after its cleanup ran); deleting a missing state succeeds.
    async fn delete_generator_state(&self, namespace: &str, name: &str) -> Result<()> {
        let _ = name;
        Err(generator_state::unsupported(namespace))
    }
}

/// A Secret as [`MemoryCluster`] keeps it: flat boxed slices instead of B-tree maps. A Secret
/// has a handful of labels, annotations and keys, and an empty-ish `BTreeMap` costs a whole
/// node (over 500 bytes); this form keeps a managed Secret's overhead well under 1 KiB.
#[derive(Clone, Debug)]
struct StoredSecret {
    type_: Box<str>,
    labels: Box<[(Box<str>, Box<str>)]>,
    annotations: Box<[(Box<str>, Box<str>)]>,
    owner_references: Box<[OwnerRef]>,
    immutable: bool,
    data: Box<[(Box<str>, crate::SecretValue)]>,
    resource_version: u64,
    uid: Box<str>,
}

fn flat(m: BTreeMap<String, String>) -> Box<[(Box<str>, Box<str>)]> {
    m.into_iter()
        .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
        .collect()
}

fn unflat(m: &[(Box<str>, Box<str>)]) -> BTreeMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl StoredSecret {
    fn from_secret(s: KubeSecret, resource_version: u64) -> Self {
        Self {
            type_: if s.type_.is_empty() {
                "Opaque".into()
            } else {
                s.type_.into_boxed_str()
            },
            labels: flat(s.labels),
            annotations: flat(s.annotations),
            owner_references: s.owner_references.into_boxed_slice(),
            immutable: s.immutable,
            data: s
                .data
                .into_iter()
                .map(|(k, v)| (k.into_boxed_str(), v))
                .collect(),
            resource_version,
            uid: s.uid.into_boxed_str(),
        }
    }

    fn to_secret(&self, namespace: &str, name: &str) -> KubeSecret {
        KubeSecret {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            type_: self.type_.to_string(),
            labels: unflat(&self.labels),
            annotations: unflat(&self.annotations),
            owner_references: self.owner_references.to_vec(),
            immutable: self.immutable,
            data: self
                .data
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            resource_version: self.resource_version.to_string(),
            uid: self.uid.to_string(),
            managed_fields: BTreeMap::new(),
            field_manager: String::new(),
        }
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.labels[i].1)
    }

    fn labels_match(&self, q: &LabelQuery) -> bool {
        q.matches_by(|k| self.label(k))
    }
}

/// `(namespace, label key, label value)` -> names of the Secrets carrying that label: lets
/// `list_secrets` with `matchLabels` avoid a scan, like an informer's index.
type LabelIndex = BTreeMap<(String, Box<str>, Box<str>), std::collections::BTreeSet<String>>;

#[derive(Debug, Default)]
struct MemoryState {
    secrets: BTreeMap<(String, String), StoredSecret>,
    label_index: LabelIndex,
    config_maps: BTreeMap<(String, String), KubeConfigMap>,
    namespaces: BTreeMap<String, KubeNamespace>,
    generator_states: BTreeMap<(String, String), KubeGeneratorState>,
    tokens: Option<token::TokenIssuer>,
    next_version: u64,
}

/// An in-memory [`Cluster`]: a real implementation with resource versions and conflicts, for
/// tests, examples and tools that need no API server. Clones share state. It keeps no field
/// managers ([`KubeSecret::managed_fields`] reads empty), so keys an ExternalSecret with
/// `creationPolicy: Merge` stopped rendering stay in its target here.
///
/// # Example
///
/// ```
/// use eso_core::cluster::{Cluster, KubeSecret, MemoryCluster};
///
/// # tokio_test_block(async {
/// let cluster = MemoryCluster::new();
/// cluster.create_secret(KubeSecret::new("default", "db").with_data("user", "app")).await.unwrap();
/// let s = cluster.get_secret("default", "db").await.unwrap().unwrap();
/// assert_eq!(s.data["user"].expose(), b"app");
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryCluster {
    state: Arc<RwLock<MemoryState>>,
}

impl MemoryState {
    /// Stores `secret` under `key`, keeping the label index current.
    fn put(&mut self, key: (String, String), secret: StoredSecret) {
        self.unindex(&key);
        for (k, v) in secret.labels.iter() {
            self.label_index
                .entry((key.0.clone(), k.clone(), v.clone()))
                .or_default()
                .insert(key.1.clone());
        }
        self.secrets.insert(key, secret);
    }

    fn remove(&mut self, key: &(String, String)) {
        self.unindex(key);
        self.secrets.remove(key);
    }

    fn unindex(&mut self, key: &(String, String)) {
        let Some(old) = self.secrets.get(key) else {
            return;
        };
        for (k, v) in old.labels.iter() {
            let ik = (key.0.clone(), k.clone(), v.clone());
            if let Some(names) = self.label_index.get_mut(&ik) {
                names.remove(&key.1);
                if names.is_empty() {
                    self.label_index.remove(&ik);
                }
            }
        }
    }
}

impl MemoryCluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a Secret, assigning a resource version.
    #[must_use]
    pub fn with_secret(self, mut secret: KubeSecret) -> Self {
        if let Ok(mut st) = self.state.write() {
            st.next_version += 1;
            let version = st.next_version;
            if secret.uid.is_empty() {
                secret.uid = format!("uid-{version}");
            }
            st.namespaces
                .entry(secret.namespace.clone())
                .or_insert_with(|| KubeNamespace::new(secret.namespace.clone(), BTreeMap::new()));
            let key = (
                std::mem::take(&mut secret.namespace),
                std::mem::take(&mut secret.name),
            );
            st.put(key, StoredSecret::from_secret(secret, version));
        }
        self
    }

    /// Adds (or replaces) a ConfigMap.
    #[must_use]
    pub fn with_config_map(self, cm: KubeConfigMap) -> Self {
        if let Ok(mut st) = self.state.write() {
            st.config_maps
                .insert((cm.namespace.clone(), cm.name.clone()), cm);
        }
        self
    }

    /// Adds (or replaces) a namespace with labels.
    #[must_use]
    pub fn with_namespace(self, ns: KubeNamespace) -> Self {
        if let Ok(mut st) = self.state.write() {
            st.namespaces.insert(ns.name.clone(), ns);
        }
        self
    }

    /// Every Secret, sorted by namespace and name.
    pub fn secrets(&self) -> Vec<KubeSecret> {
        self.state
            .read()
            .map(|st| {
                st.secrets
                    .iter()
                    .map(|((ns, name), s)| s.to_secret(ns, name))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, MemoryState>> {
        self.state
            .write()
            .map_err(|_| Error::generic("memory cluster state is poisoned"))
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, MemoryState>> {
        self.state
            .read()
            .map_err(|_| Error::generic("memory cluster state is poisoned"))
    }
}

#[async_trait]
impl Cluster for MemoryCluster {
    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        Ok(self
            .read()?
            .secrets
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|s| s.to_secret(namespace, name)))
    }

    async fn list_secrets(&self, namespace: &str, labels: &LabelQuery) -> Result<Vec<KubeSecret>> {
        let st = self.read()?;
        if let Some((k, v)) = labels.match_labels.iter().next() {
            let ik = (namespace.to_owned(), k.as_str().into(), v.as_str().into());
            let Some(names) = st.label_index.get(&ik) else {
                return Ok(Vec::new());
            };
            return Ok(names
                .iter()
                .filter_map(|name| {
                    let s = st.secrets.get(&(namespace.to_owned(), name.clone()))?;
                    s.labels_match(labels).then(|| s.to_secret(namespace, name))
                })
                .collect());
        }
        let from = (namespace.to_owned(), String::new());
        Ok(st
            .secrets
            .range(from..)
            .take_while(|((ns, _), _)| ns == namespace)
            .filter(|(_, s)| s.labels_match(labels))
            .map(|((ns, name), s)| s.to_secret(ns, name))
            .collect())
    }

    async fn create_secret(&self, mut secret: KubeSecret) -> Result<KubeSecret> {
        let mut st = self.write()?;
        let key = (secret.namespace.clone(), secret.name.clone());
        if st.secrets.contains_key(&key) {
            return Err(Error::Conflict(format!(
                "secret {}/{} already exists",
                secret.namespace, secret.name
            )));
        }
        st.next_version += 1;
        let version = st.next_version;
        secret.resource_version = version.to_string();
        secret.uid = format!("uid-{version}");
        if secret.type_.is_empty() {
            secret.type_ = "Opaque".into();
        }
        st.put(key, StoredSecret::from_secret(secret.clone(), version));
        Ok(secret)
    }

    async fn update_secret(&self, mut secret: KubeSecret) -> Result<KubeSecret> {
        let mut st = self.write()?;
        let key = (secret.namespace.clone(), secret.name.clone());
        let Some(current) = st.secrets.get(&key) else {
            return Err(Error::not_found(format!(
                "{}/{}",
                secret.namespace, secret.name
            )));
        };
        if !secret.resource_version.is_empty()
            && secret.resource_version != current.resource_version.to_string()
        {
            return Err(Error::Conflict(format!(
                "secret {}/{} was modified concurrently",
                secret.namespace, secret.name
            )));
        }
        let same_data = current.data.len() == secret.data.len()
            && current
                .data
                .iter()
                .zip(&secret.data)
                .all(|((ck, cv), (k, v))| **ck == **k && cv == v);
        if current.immutable && (!same_data || !secret.immutable) {
            return Err(Error::invalid_config(
                "immutable",
                format!(
                    "secret {}/{} is immutable; its data cannot change",
                    secret.namespace, secret.name
                ),
            ));
        }
        if *current.type_ != *secret.type_ && !secret.type_.is_empty() {
            return Err(Error::invalid_config(
                "type",
                format!(
                    "secret {}/{}: type cannot change from {:?} to {:?}",
                    secret.namespace, secret.name, current.type_, secret.type_
                ),
            ));
        }
        secret.uid = current.uid.to_string();
        st.next_version += 1;
        let version = st.next_version;
        secret.resource_version = version.to_string();
        if secret.type_.is_empty() {
            secret.type_ = "Opaque".into();
        }
        st.put(key, StoredSecret::from_secret(secret.clone(), version));
        Ok(secret)
    }

    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.write()?
            .remove(&(namespace.to_owned(), name.to_owned()));
        Ok(())
    }

    async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<KubeConfigMap>> {
        Ok(self
            .read()?
            .config_maps
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned())
    }

    async fn list_namespaces(&self, labels: &LabelQuery) -> Result<Vec<KubeNamespace>> {
        Ok(self
            .read()?
            .namespaces
            .values()
            .filter(|n| labels.matches(&n.labels))
            .cloned()
            .collect())
    }

    async fn create_service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<crate::SecretValue> {
        self.issue_token(namespace, name, audiences, expiration_seconds)
    }

    async fn create_generator_state(
        &self,
        state: KubeGeneratorState,
    ) -> Result<KubeGeneratorState> {
        self.create_state(state)
    }

    async fn list_generator_states(
        &self,
        query: GeneratorStateQuery<'_>,
    ) -> Result<Vec<KubeGeneratorState>> {
        self.list_states(query)
    }

    async fn flag_generator_state(
        &self,
        namespace: &str,
        name: &str,
        deadline: jiff::Timestamp,
    ) -> Result<()> {
        self.flag_state(namespace, name, deadline)
    }

    async fn delete_generator_state(&self, namespace: &str, name: &str) -> Result<()> {
        self.delete_state(namespace, name)
    }
}

#[cfg(test)]
mod tests;
