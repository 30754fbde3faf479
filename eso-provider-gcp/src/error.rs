//! The crate's private error type, mapped into [`eso_core::Error`].
//!
//! Messages carry the operation, the secret's resource name and Google's own status code and
//! message (which name resources and reasons, never secret data); payloads are never quoted.

use eso_core::Error;
use eso_core::provider::{error_chain, error_for_status, transport_error};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Code;

/// What went wrong talking to Secret Manager or Google's token services.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GcpError {
    /// Secret Manager answered with an error status.
    #[error("gcpsm {op} {name}: {code}: {message}")]
    Status {
        op: &'static str,
        name: String,
        code: Code,
        message: String,
    },
    /// The call did not complete, or failed before reaching the service.
    #[error("gcpsm {op} {name}: {source}")]
    Call {
        op: &'static str,
        name: String,
        #[source]
        source: GaxError,
    },
}

impl GcpError {
    /// Wraps an SDK error of `op` on `name`.
    pub(crate) fn sdk(op: &'static str, name: &str, e: GaxError) -> Self {
        match e.status() {
            Some(s) => Self::Status {
                op,
                name: name.to_owned(),
                code: s.code,
                message: s.message.clone(),
            },
            None => Self::Call {
                op,
                name: name.to_owned(),
                source: e,
            },
        }
    }

    /// True for the real API's answer to reading a version that is disabled or destroyed
    /// (`FAILED_PRECONDITION` "... is in DISABLED state").
    pub(crate) fn is_disabled_or_destroyed(&self) -> bool {
        matches!(self, Self::Status { code: Code::FailedPrecondition, message, .. }
            if message.contains("DISABLED state") || message.contains("DESTROYED state"))
    }

    /// True for `NOT_FOUND`.
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            Self::Status { code, .. } => *code == Code::NotFound,
            Self::Call { source, .. } => source.http_status_code() == Some(404),
        }
    }
}

/// The secret's short name inside a resource name (`projects/p/secrets/NAME/versions/v`).
fn short_key(name: &str) -> &str {
    name.split("/secrets/")
        .nth(1)
        .map_or(name, |rest| rest.split('/').next().unwrap_or(rest))
}

impl From<GcpError> for Error {
    fn from(e: GcpError) -> Self {
        let text = e.to_string();
        match &e {
            GcpError::Status { code, name, .. } => {
                let http = match code {
                    Code::NotFound => 404,
                    Code::PermissionDenied => 403,
                    Code::Unauthenticated => 401,
                    Code::AlreadyExists | Code::Aborted => 409,
                    Code::FailedPrecondition => {
                        return Self::Generic {
                            message: text,
                            source: None,
                        };
                    }
                    Code::ResourceExhausted => 429,
                    Code::DeadlineExceeded | Code::Unavailable | Code::Internal => 503,
                    _ => 400,
                };
                error_for_status(http, short_key(name), text)
            }
            GcpError::Call { source, op, name } => {
                if let Some(status) = source.http_status_code() {
                    return error_for_status(status, short_key(name), text);
                }
                if source.is_authentication() {
                    return Self::Unauthenticated {
                        message: format!("gcpsm {op} {name}: {}", error_chain(source)),
                    };
                }
                if source.is_binding() || source.is_serialization() || source.is_deserialization() {
                    return Self::generic(format!("gcpsm {op} {name}: {}", error_chain(source)));
                }
                transport_error(&format!("gcpsm {op} {name}"), source)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use google_cloud_gax::error::rpc::Status;

    use super::*;

    fn status(code: Code, message: &str) -> GcpError {
        GcpError::sdk(
            "AccessSecretVersion",
            "projects/p/secrets/db/versions/latest",
            GaxError::service(Status::default().set_code(code).set_message(message)),
        )
    }

    #[test]
    fn codes_map_to_semantic_errors() {
        let e: Error = status(Code::NotFound, "Secret [db] not found").into();
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "secret not found: db");
        let e: Error = status(Code::PermissionDenied, "denied").into();
        assert!(matches!(e, Error::PermissionDenied { .. }), "{e}");
        let e: Error = status(Code::ResourceExhausted, "quota").into();
        assert!(e.is_temporary());
        let e: Error = status(Code::Unavailable, "later").into();
        assert!(e.is_temporary());
        let e: Error = status(Code::Unauthenticated, "who").into();
        assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    }

    #[test]
    fn disabled_latest_is_recognised() {
        let e = status(
            Code::FailedPrecondition,
            "Secret Version [projects/1/secrets/db/versions/2] is in DISABLED state.",
        );
        assert!(e.is_disabled_or_destroyed());
        let e: Error = e.into();
        assert!(!e.is_temporary() && !e.is_not_found(), "{e}");
        assert!(!status(Code::FailedPrecondition, "other").is_disabled_or_destroyed());
    }
}
