//! What a provider call addresses: [`RemoteRef`], [`FindRef`], [`PushRef`] (with the source's
//! [`SourceMetadata`]), [`PushValue`].

use std::collections::BTreeMap;

use crate::{Error, Result, SecretMap, SecretValue};

/// Whether to read a secret's metadata (tags, labels, custom metadata) instead of its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetadataPolicy {
    /// Read the value (the default).
    #[default]
    None,
    /// Read the metadata, as a JSON object.
    Fetch,
}

/// One remote secret to read (`spec.data[].remoteRef` or `dataFrom[].extract`).
///
/// # Example
///
/// ```
/// use eso_core::provider::RemoteRef;
///
/// let r = RemoteRef::new("db/creds").with_property("password").with_version("2");
/// assert_eq!(r.to_string(), "db/creds#password@2");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RemoteRef {
    /// The secret's key (name or path) in the backend.
    pub key: String,
    /// A property inside the secret (a JSON key or path), if any.
    pub property: Option<String>,
    /// A version of the secret, in the backend's own syntax, if any.
    pub version: Option<String>,
    /// Value or metadata.
    pub metadata_policy: MetadataPolicy,
}

impl RemoteRef {
    /// A reference to the current version of `key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    /// Sets the property.
    #[must_use]
    pub fn with_property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    /// Sets the version.
    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Sets the metadata policy.
    #[must_use]
    pub fn with_metadata_policy(mut self, policy: MetadataPolicy) -> Self {
        self.metadata_policy = policy;
        self
    }

    /// The property, treating an empty string as unset (ESO does).
    pub fn property(&self) -> Option<&str> {
        self.property.as_deref().filter(|p| !p.is_empty())
    }

    /// The version, treating an empty string as unset.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref().filter(|v| !v.is_empty())
    }
}

impl std::fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)?;
        if let Some(p) = self.property() {
            write!(f, "#{p}")?;
        }
        if let Some(v) = self.version() {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

/// Which secrets to list (`spec.dataFrom[].find`).
///
/// All set criteria must match. An empty `FindRef` matches every secret.
///
/// # Example
///
/// ```
/// use eso_core::provider::FindRef;
///
/// let f = FindRef::default().with_name_regexp("^db-").unwrap().with_tag("team", "a");
/// assert!(f.matches_name("db-main"));
/// assert!(!f.matches_name("web"));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct FindRef {
    /// Only secrets under this path (prefix), if set.
    pub path: Option<String>,
    /// Only secrets whose name matches this regular expression, if set.
    pub name: Option<regex::Regex>,
    /// Only secrets carrying all these tags (labels).
    pub tags: BTreeMap<String, String>,
}

impl FindRef {
    /// Restricts to names matching `pattern`.
    pub fn with_name_regexp(mut self, pattern: &str) -> Result<Self> {
        let re = regex::Regex::new(pattern)
            .map_err(|e| Error::invalid_config("find.name.regexp", e.to_string()))?;
        self.name = Some(re);
        Ok(self)
    }

    /// Restricts to secrets under `path`.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Requires tag `key` = `value`.
    #[must_use]
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// True when `name` satisfies the name regexp (or there is none).
    pub fn matches_name(&self, name: &str) -> bool {
        self.name.as_ref().is_none_or(|re| re.is_match(name))
    }

    /// True when `name` is under the path (or there is none).
    pub fn matches_path(&self, name: &str) -> bool {
        self.path
            .as_deref()
            .is_none_or(|p| name.starts_with(p.trim_start_matches('/')) || name.starts_with(p))
    }

    /// True when `tags` contains every required tag.
    pub fn matches_tags(&self, tags: &BTreeMap<String, String>) -> bool {
        self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
    }
}

impl PartialEq for FindRef {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.name.as_ref().map(regex::Regex::as_str)
                == other.name.as_ref().map(regex::Regex::as_str)
            && self.tags == other.tags
    }
}

/// Where to push (`PushSecret` `spec.data[].match.remoteRef`, plus its metadata).
///
/// # Example
///
/// ```
/// use eso_core::provider::PushRef;
///
/// let r = PushRef::new("app/config").with_property("token");
/// assert_eq!(r.property(), Some("token"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct PushRef {
    /// The remote secret's key.
    pub remote_key: String,
    /// A property inside the remote secret to set, if any (the rest is kept).
    pub property: Option<String>,
    /// The source Secret key being pushed; `None` pushes the whole Secret.
    pub secret_key: Option<String>,
    /// Provider-specific push metadata (`spec.data[].metadata`), as JSON.
    pub metadata: Option<serde_json::Value>,
    /// The source Secret's type, labels and annotations (after the PushSecret's template).
    /// Filled by the PushSecret flow for pushes; empty for deletes and existence checks.
    pub source: SourceMetadata,
}

impl PushRef {
    /// A push of a whole value to `remote_key`.
    pub fn new(remote_key: impl Into<String>) -> Self {
        Self {
            remote_key: remote_key.into(),
            ..Self::default()
        }
    }

    /// Sets the property.
    #[must_use]
    pub fn with_property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    /// Sets the source secret key.
    #[must_use]
    pub fn with_secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// Sets provider metadata.
    #[must_use]
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the source Secret's metadata.
    #[must_use]
    pub fn with_source(mut self, source: SourceMetadata) -> Self {
        self.source = source;
        self
    }

    /// The property, treating an empty string as unset.
    pub fn property(&self) -> Option<&str> {
        self.property.as_deref().filter(|p| !p.is_empty())
    }

    /// The [`Error::NotManaged`] answer to a push or delete of this ref when the remote
    /// secret lacks the ownership marker: it names the key (and `#property` when set).
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::provider::PushRef;
    ///
    /// let e = PushRef::new("db").with_property("pass").not_managed();
    /// assert!(e.is_not_managed());
    /// assert!(e.to_string().starts_with(r#"remote secret "db#pass" is not managed"#));
    /// ```
    pub fn not_managed(&self) -> Error {
        Error::not_managed(match self.property() {
            Some(p) => format!("{}#{p}", self.remote_key),
            None => self.remote_key.clone(),
        })
    }

    /// The provider's push metadata as its typed form `T`: the `spec` of ESO's
    /// `{apiVersion, kind: PushSecretMetadata, spec}` wrapper, or a bare spec; `None` when
    /// there is none. A shape that does not fit is an error at `spec.data[].metadata.spec`.
    ///
    /// # Example
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use eso_core::provider::PushRef;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Meta { tags: BTreeMap<String, String> }
    ///
    /// let r = PushRef::new("k").with_metadata(serde_json::json!({
    ///     "apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
    ///     "spec": {"tags": {"team": "a"}}}));
    /// let m: Meta = r.metadata_spec().unwrap().unwrap();
    /// assert_eq!(m.tags["team"], "a");
    /// assert!(PushRef::new("k").metadata_spec::<Meta>().unwrap().is_none());
    /// let bad = PushRef::new("k").with_metadata(serde_json::json!({"spec": {"tags": 3}}));
    /// assert!(bad.metadata_spec::<Meta>().unwrap_err().to_string().starts_with("spec.data[].metadata.spec: "));
    /// ```
    pub fn metadata_spec<T: serde::de::DeserializeOwned>(&self) -> Result<Option<T>> {
        let Some(m) = &self.metadata else {
            return Ok(None);
        };
        let spec = m.get("spec").unwrap_or(m);
        if spec.is_null() {
            return Ok(None);
        }
        T::deserialize(spec)
            .map(Some)
            .map_err(|e| Error::invalid_config("spec.data[].metadata.spec", e.to_string()))
    }
}

/// What a push knows about its source Secret besides the values: its `type`, `labels` and
/// `annotations`, as the PushSecret's template left them (ESO hands providers the whole
/// Secret; this is the part of it that is not data).
///
/// A PushSecret with a template takes the template's `type` (even when empty, as ESO does);
/// a generator source has no type, labels or annotations. An empty type means `Opaque`.
///
/// Providers decide what to do with it and document it: the `kubernetes` provider creates
/// the remote Secret with this type and carries the labels and annotations over (merged per
/// `PushSecretMetadata`); backends without such metadata ignore it, as ESO's do.
///
/// # Example
///
/// ```
/// use eso_core::provider::{PushRef, SourceMetadata};
///
/// let src = SourceMetadata::new("kubernetes.io/tls").with_label("app", "web");
/// let r = PushRef::new("web-tls").with_source(src);
/// assert_eq!(r.source.secret_type(), "kubernetes.io/tls");
/// assert_eq!(SourceMetadata::default().secret_type(), "Opaque");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceMetadata {
    /// The Secret type (`kubernetes.io/tls`, ...); empty means `Opaque`.
    pub type_: String,
    /// The source Secret's labels.
    pub labels: BTreeMap<String, String>,
    /// The source Secret's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl SourceMetadata {
    /// Metadata of a Secret of type `type_`, without labels or annotations.
    pub fn new(type_: impl Into<String>) -> Self {
        Self {
            type_: type_.into(),
            ..Self::default()
        }
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

    /// The Secret type, `Opaque` when none is set.
    pub fn secret_type(&self) -> &str {
        if self.type_.is_empty() {
            "Opaque"
        } else {
            &self.type_
        }
    }
}

/// What is pushed: one value, or a whole Secret's data (when no `secretKey` is given).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushValue {
    /// One key's value.
    Single(SecretValue),
    /// Every key of the source Secret.
    Map(SecretMap),
}

impl PushValue {
    /// The bytes to store in a backend that holds one blob per secret: the value itself, or
    /// for a map a JSON object of the (UTF-8) values, keys sorted.
    pub fn to_bytes(&self) -> Result<SecretValue> {
        match self {
            Self::Single(v) => Ok(v.clone()),
            Self::Map(m) => {
                let mut obj = serde_json::Map::new();
                for (k, v) in m {
                    let s = v.expose_str().ok_or_else(|| {
                        Error::Conversion(format!("value of key {k:?} is not valid UTF-8"))
                    })?;
                    obj.insert(k.clone(), serde_json::Value::String(s.to_owned()));
                }
                let bytes = serde_json::to_vec(&serde_json::Value::Object(obj))
                    .map_err(|e| Error::Conversion(e.to_string()))?;
                Ok(SecretValue::new(bytes))
            }
        }
    }
}

impl From<SecretValue> for PushValue {
    fn from(v: SecretValue) -> Self {
        Self::Single(v)
    }
}

impl From<SecretMap> for PushValue {
    fn from(v: SecretMap) -> Self {
        Self::Map(v)
    }
}

/// One read of a [`Provider::get_batch`](super::Provider::get_batch) call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BatchRead {
    /// A `get_secret` read.
    Value(RemoteRef),
    /// A `get_secret_map` read.
    Map(RemoteRef),
}

impl BatchRead {
    /// The reference read.
    pub fn remote_ref(&self) -> &RemoteRef {
        match self {
            Self::Value(r) | Self::Map(r) => r,
        }
    }
}

/// The result of one [`BatchRead`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchValue {
    /// The value of a [`BatchRead::Value`].
    Value(SecretValue),
    /// The map of a [`BatchRead::Map`].
    Map(SecretMap),
}
