//! The one error type of eso-rs.

use std::borrow::Cow;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type used across eso-rs.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a reconcile loop can act on.
///
/// Error messages never contain secret values: providers and the template engine only put
/// key names, paths and field names into them.
///
/// # Example
///
/// ```
/// use eso_core::Error;
///
/// let err = Error::not_found("db/creds");
/// assert!(err.is_not_found());
/// assert!(!err.is_temporary());
/// assert_eq!(err.to_string(), "secret not found: db/creds");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The remote secret (or property inside it) does not exist. Drives deletion policies.
    #[error("secret not found: {key}")]
    NotFound {
        /// The key (and property) that was looked up.
        key: String,
    },
    /// The backend refused the operation for the authenticated identity.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What was refused.
        message: String,
    },
    /// The remote secret exists but does not carry our ownership marker (ESO's
    /// `managed-by: external-secrets`): a push over it or a delete of it was refused and the
    /// secret was left as it is. Not temporary: the secret stays foreign until someone adopts
    /// it by adding the marker through the backend's own tools.
    #[error("{}remote secret {key:?} is not managed by external-secrets: left unchanged", .context.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    #[non_exhaustive]
    NotManaged {
        /// The remote key (and property, as `key#property`) that was left alone.
        key: String,
        /// Where the refusal happened (store, operation), prefixed by [`Error::context`].
        context: Option<String>,
    },
    /// Authentication with the backend failed (bad or expired credentials).
    #[error("authentication failed: {message}")]
    Unauthenticated {
        /// Why authentication failed.
        message: String,
    },
    /// A configuration value is invalid; `path` names the field, e.g. `spec.provider.vault.server`.
    #[error("{path}: {message}")]
    InvalidConfig {
        /// The field path of the offending value.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The provider or build does not support the requested operation.
    #[error("not supported: {0}")]
    NotSupported(Cow<'static, str>),
    /// The backend asked us to slow down; retry later.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The backend's message.
        message: String,
    },
    /// The backend could not be reached, timed out, or answered with a server error.
    #[error("backend unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A template failed to parse or execute.
    #[error("template error: {0}")]
    Template(String),
    /// A value could not be converted or decoded (base64, JSON, key names, ...).
    #[error("conversion error: {0}")]
    Conversion(String),
    /// The object was changed concurrently; re-read and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Any other failure.
    #[error("{message}")]
    Generic {
        /// What failed.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// A [`Error::NotFound`] for `key`.
    pub fn not_found(key: impl Into<String>) -> Self {
        Self::NotFound { key: key.into() }
    }

    /// An [`Error::NotManaged`] for the remote `key`.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::Error;
    ///
    /// let e = Error::not_managed("db/creds");
    /// assert!(e.is_not_managed() && !e.is_temporary());
    /// assert_eq!(
    ///     e.to_string(),
    ///     r#"remote secret "db/creds" is not managed by external-secrets: left unchanged"#
    /// );
    /// ```
    pub fn not_managed(key: impl Into<String>) -> Self {
        Self::NotManaged {
            key: key.into(),
            context: None,
        }
    }

    /// An [`Error::InvalidConfig`] naming the field `path`.
    pub fn invalid_config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidConfig {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An [`Error::NotSupported`].
    pub fn not_supported(what: impl Into<Cow<'static, str>>) -> Self {
        Self::NotSupported(what.into())
    }

    /// An [`Error::Generic`] without a source.
    pub fn generic(message: impl Into<String>) -> Self {
        Self::Generic {
            message: message.into(),
            source: None,
        }
    }

    /// An [`Error::Unavailable`] with a source error.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// Prefixes the message with `context` (`spec.data[0].remoteRef: ...`) and keeps the kind:
    /// a rate-limited read stays [`Error::RateLimited`], a missing secret [`Error::NotFound`]
    /// (its key gets the prefix), so callers still choose requeues and deletion policies from
    /// it.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::Error;
    ///
    /// let e = Error::RateLimited { message: "slow down".into() }.context("spec.data[0].remoteRef");
    /// assert!(e.is_temporary());
    /// assert_eq!(e.to_string(), "rate limited: spec.data[0].remoteRef: slow down");
    /// let e = Error::invalid_config("spec.provider.vault.server", "bad url").context("SecretStore a/b");
    /// assert_eq!(e.to_string(), "SecretStore a/b: spec.provider.vault.server: bad url");
    /// ```
    #[must_use]
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        let pre = |m: String| format!("{context}: {m}");
        match self {
            Self::NotFound { key } => Self::NotFound { key: pre(key) },
            Self::PermissionDenied { message } => Self::PermissionDenied {
                message: pre(message),
            },
            Self::NotManaged { key, context: c } => Self::NotManaged {
                key,
                context: Some(match c {
                    Some(c) => pre(c),
                    None => context.to_string(),
                }),
            },
            Self::Unauthenticated { message } => Self::Unauthenticated {
                message: pre(message),
            },
            Self::InvalidConfig { path, message } => Self::InvalidConfig {
                path: pre(path),
                message,
            },
            Self::NotSupported(m) => Self::NotSupported(pre(m.into_owned()).into()),
            Self::RateLimited { message } => Self::RateLimited {
                message: pre(message),
            },
            Self::Unavailable { message, source } => Self::Unavailable {
                message: pre(message),
                source,
            },
            Self::Template(m) => Self::Template(pre(m)),
            Self::Conversion(m) => Self::Conversion(pre(m)),
            Self::Conflict(m) => Self::Conflict(pre(m)),
            Self::Generic { message, source } => Self::Generic {
                message: pre(message),
                source,
            },
        }
    }

    /// True when the remote secret does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// True when the remote secret is not ours (no ownership marker) and was left unchanged.
    pub fn is_not_managed(&self) -> bool {
        matches!(self, Self::NotManaged { .. })
    }

    /// True when retrying the same call later may succeed (rate limits, outages, conflicts).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Conflict(_)
        )
    }
}
