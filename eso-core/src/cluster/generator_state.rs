//! [`KubeGeneratorState`]: what a stateful generator produced for one consumer entry, as the
//! flows keep it (a `generators.external-secrets.io/v1alpha1` `GeneratorState` on a real
//! cluster).

use std::fmt;

use super::OwnerRef;
use crate::api::GeneratorSpec;
use crate::reconcile::hash::string_hash;

/// Finalizer ESO puts on every `GeneratorState`: the object stays until its generator's
/// `cleanup` has run.
pub const GENERATOR_STATE_FINALIZER: &str = "generatorstate.externalsecrets.io/finalizer";

/// One generator state: the generator that produced it (its typed spec), the state it
/// returned (a lease id, a token id), the consumer entry it belongs to and, once the consumer
/// has moved on, the time after which it is cleaned up and deleted.
///
/// The state is printed by key only in `Debug` (a generator keeps references such as lease
/// ids there, but a careless one might keep more).
///
/// # Example
///
/// ```
/// use eso_core::api::{GeneratorSpec, UUIDSpec};
/// use eso_core::cluster::{KubeGeneratorState, OwnerRef};
///
/// let owner = OwnerRef::controller("external-secrets.io/v1", "ExternalSecret", "db", "uid-1");
/// let spec = GeneratorSpec { uuid_spec: Some(UUIDSpec::default()), ..Default::default() };
/// let state = serde_json::json!({"id": "lease-4711"});
/// let s = KubeGeneratorState::new("apps", owner, "0", spec, state);
/// assert_eq!(s.generate_name(), "gen-externalsecret-db-");
/// assert_eq!(s.owner_key, KubeGeneratorState::owner_key_of("ExternalSecret", "apps", "db", "0"));
/// let debug = format!("{s:?}");
/// assert!(debug.contains("\"id\"") && !debug.contains("lease-4711"));
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct KubeGeneratorState {
    /// Namespace (the consumer's).
    pub namespace: String,
    /// Name; empty when new (the cluster names it `gen-<consumer kind>-<consumer name>-<random>`).
    pub name: String,
    /// The consumer (ExternalSecret or PushSecret) the state belongs to.
    pub owner: OwnerRef,
    /// The `generators.external-secrets.io/owner-key` label: ESO's hash of consumer kind,
    /// namespace, name and entry key.
    pub owner_key: String,
    /// Name of the generator object that produced the state (informational).
    pub generator_name: String,
    /// The generator that produced the state (exactly one spec set).
    pub generator: GeneratorSpec,
    /// What the generator returned as state.
    pub state: serde_json::Value,
    /// When the state may be cleaned up; `None` while it is in use.
    pub garbage_collection_deadline: Option<jiff::Timestamp>,
    /// When the flow recorded the state (orders the states of one entry; falls back to the
    /// object's creation time on clusters that lack it).
    pub created: Option<jiff::Timestamp>,
    /// Whether deletion was requested (a garbage collector removed the owner): the state must
    /// be cleaned up now. Filled on reads, never written.
    pub deleting: bool,
}

impl KubeGeneratorState {
    /// A new state of the consumer `owner` (in `namespace`) for its entry `key` (a `dataFrom`
    /// index, or `__pushsecret`).
    pub fn new(
        namespace: impl Into<String>,
        owner: OwnerRef,
        key: &str,
        generator: GeneratorSpec,
        state: serde_json::Value,
    ) -> Self {
        let namespace = namespace.into();
        let owner_key = Self::owner_key_of(&owner.kind, &namespace, &owner.name, key);
        Self {
            namespace,
            name: String::new(),
            owner,
            owner_key,
            generator_name: String::new(),
            generator,
            state,
            garbage_collection_deadline: None,
            created: None,
            deleting: false,
        }
    }

    /// ESO's owner-key label value for the entry `key` of consumer `kind` `namespace/name`.
    pub fn owner_key_of(kind: &str, namespace: &str, name: &str, key: &str) -> String {
        string_hash(&format!("{kind}-{namespace}-{name}-{key}"))
    }

    /// The `metadata.generateName` ESO gives the states of this consumer.
    pub fn generate_name(&self) -> String {
        format!(
            "gen-{}-{}-",
            self.owner.kind.to_ascii_lowercase(),
            self.owner.name
        )
    }

    /// True when the state is due for cleanup at `now`: its deadline passed, or its
    /// deletion was requested.
    pub fn is_due(&self, now: jiff::Timestamp) -> bool {
        self.deleting || self.garbage_collection_deadline.is_some_and(|d| d <= now)
    }
}

impl fmt::Debug for KubeGeneratorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state_keys: Vec<&String> = self
            .state
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        f.debug_struct("KubeGeneratorState")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field(
                "owner",
                &format_args!("{}/{}", self.owner.kind, self.owner.name),
            )
            .field("owner_key", &self.owner_key)
            .field("generator", &self.generator.kind())
            .field("state_keys", &state_keys)
            .field(
                "garbage_collection_deadline",
                &self.garbage_collection_deadline,
            )
            .field("created", &self.created)
            .field("deleting", &self.deleting)
            .finish_non_exhaustive()
    }
}

/// Which states [`Cluster::list_generator_states`](super::Cluster::list_generator_states)
/// returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GeneratorStateQuery<'a> {
    /// Every state in every namespace (the garbage collector's view).
    #[default]
    All,
    /// Every state in one namespace.
    Namespace(&'a str),
    /// The states of one consumer entry: namespace and owner-key label.
    OwnerKey(&'a str, &'a str),
}

/// The answer of clusters that keep no generator state.
pub(super) fn unsupported(namespace: &str) -> crate::Error {
    crate::Error::not_supported(format!(
        "this cluster client keeps no generator states (namespace {namespace:?})"
    ))
}

impl super::MemoryCluster {
    pub(super) fn create_state(
        &self,
        mut state: KubeGeneratorState,
    ) -> crate::Result<KubeGeneratorState> {
        let mut st = self.write()?;
        st.next_version += 1;
        state.name = format!("{}{:05}", state.generate_name(), st.next_version);
        state.deleting = false;
        st.generator_states
            .insert((state.namespace.clone(), state.name.clone()), state.clone());
        Ok(state)
    }

    pub(super) fn list_states(
        &self,
        query: GeneratorStateQuery<'_>,
    ) -> crate::Result<Vec<KubeGeneratorState>> {
        Ok(self
            .read()?
            .generator_states
            .values()
            .filter(|s| match query {
                GeneratorStateQuery::All => true,
                GeneratorStateQuery::Namespace(ns) => s.namespace == ns,
                GeneratorStateQuery::OwnerKey(ns, key) => s.namespace == ns && s.owner_key == key,
            })
            .cloned()
            .collect())
    }

    pub(super) fn flag_state(
        &self,
        namespace: &str,
        name: &str,
        deadline: jiff::Timestamp,
    ) -> crate::Result<()> {
        let mut st = self.write()?;
        let s = st
            .generator_states
            .get_mut(&(namespace.to_owned(), name.to_owned()))
            .ok_or_else(|| crate::Error::not_found(format!("GeneratorState {namespace}/{name}")))?;
        s.garbage_collection_deadline = Some(deadline);
        Ok(())
    }

    pub(super) fn delete_state(&self, namespace: &str, name: &str) -> crate::Result<()> {
        self.write()?
            .generator_states
            .remove(&(namespace.to_owned(), name.to_owned()));
        Ok(())
    }

    /// Marks a state as being deleted, as a cluster's garbage collector does when the
    /// consumer that owns it is gone (the state's finalizer keeps it until cleanup ran).
    pub fn request_generator_state_deletion(&self, namespace: &str, name: &str) {
        if let Ok(mut st) = self.state.write()
            && let Some(s) = st
                .generator_states
                .get_mut(&(namespace.to_owned(), name.to_owned()))
        {
            s.deleting = true;
        }
    }
}
