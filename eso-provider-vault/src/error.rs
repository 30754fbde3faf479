//! The crate's private error type, mapped into [`eso_core::Error`].
//!
//! Messages carry the HTTP method, the Vault path and Vault's own error strings (which name
//! paths and reasons, never secret data); request bodies are never quoted.

use eso_core::Error;
use eso_core::provider::{error_for_status, transport_error};

/// What went wrong talking to Vault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum VaultError {
    /// Vault answered with an error status.
    #[error("vault {method} {path}: HTTP {status}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    /// The request did not complete (connection, TLS, timeout).
    #[error("vault {method} {path}: {source}")]
    Transport {
        method: String,
        path: String,
        #[source]
        source: reqwest::Error,
    },
    /// Vault answered with something we cannot read.
    #[error("vault {path}: unexpected response: {what}")]
    Decode { path: String, what: String },
}

impl VaultError {
    /// The HTTP status, if Vault answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<VaultError> for Error {
    fn from(e: VaultError) -> Self {
        match &e {
            // A check-and-set mismatch: someone wrote in between; re-read and retry.
            VaultError::Status {
                status: 400,
                message,
                ..
            } if message.contains("check-and-set") => Self::Conflict(e.to_string()),
            // A KV engine just mounted (or moved to version 2) answers this until its
            // upgrade is done, a moment later: try again, as Vault's message says.
            VaultError::Status {
                status: 400,
                message,
                ..
            } if message.contains("Upgrading from non-versioned to versioned data") => {
                Self::Unavailable {
                    message: e.to_string(),
                    source: None,
                }
            }
            VaultError::Status { status, path, .. } => {
                error_for_status(*status, path, e.to_string())
            }
            VaultError::Transport {
                method,
                path,
                source,
            } => transport_error(&format!("vault {method} {path}"), source),
            VaultError::Decode { .. } => Self::generic(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, msg: &str) -> Error {
        VaultError::Status {
            method: "GET".into(),
            path: "secret/data/x".into(),
            status: code,
            message: msg.into(),
        }
        .into()
    }

    #[test]
    fn a_kv_engine_still_upgrading_is_temporary() {
        let e = status(
            400,
            "Upgrading from non-versioned to versioned data. This backend will be unavailable \
             for a brief period and will resume service shortly.",
        );
        assert!(e.is_temporary(), "{e}");
        assert!(!status(400, "bad").is_temporary());
    }

    #[test]
    fn statuses_map_to_semantic_errors() {
        assert!(status(404, "").is_not_found());
        assert!(matches!(
            status(403, "permission denied"),
            Error::PermissionDenied { .. }
        ));
        assert!(status(503, "sealed").is_temporary());
        assert!(status(429, "").is_temporary());
        assert!(matches!(
            status(
                400,
                "check-and-set parameter did not match the current version"
            ),
            Error::Conflict(_)
        ));
        assert_eq!(
            status(400, "bad").to_string(),
            "vault GET secret/data/x: HTTP 400: bad"
        );
    }
}
