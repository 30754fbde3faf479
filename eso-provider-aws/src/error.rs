//! Mapping AWS SDK errors into [`eso_core::Error`].
//!
//! Messages carry the operation, the secret name and AWS's own error code and message (which
//! name resources and reasons, never secret values); request payloads are never quoted.

use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use eso_core::Error;

/// Maps an SDK error of `op` on `key` to the semantic [`Error`] variant.
pub(crate) fn sdk_error<E>(op: &str, key: &str, e: E) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().unwrap_or_default().to_owned();
    let message = e.message().unwrap_or_default().to_owned();
    let text = format!("aws {op} {key:?}: {code}: {message}");
    match code.as_str() {
        "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
            Error::not_found(key)
        }
        "InvalidRequestException" if marked_deleted(&message) => Error::not_found(key),
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" => {
            Error::PermissionDenied { message: text }
        }
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "SignatureDoesNotMatch" => Error::Unauthenticated { message: text },
        "ThrottlingException" | "Throttling" | "TooManyUpdates" | "RequestLimitExceeded" => {
            Error::RateLimited { message: text }
        }
        "" => Error::unavailable(format!("aws {op} {key:?}: {}", DisplayErrorContext(&e)), e),
        "InternalServiceError" | "InternalFailure" | "ServiceUnavailable" => {
            Error::unavailable(text, e)
        }
        _ => Error::Generic {
            message: text,
            source: Some(Box::new(e)),
        },
    }
}

/// A new error of the same kind and message as `e` (for a batch failure reported once per
/// ref).
pub(crate) fn same(e: &Error, key: &str) -> Error {
    match e {
        Error::NotFound { .. } => Error::not_found(key),
        Error::PermissionDenied { message } => Error::PermissionDenied {
            message: message.clone(),
        },
        Error::Unauthenticated { message } => Error::Unauthenticated {
            message: message.clone(),
        },
        Error::RateLimited { message } => Error::RateLimited {
            message: message.clone(),
        },
        Error::Unavailable { message, .. } => Error::Unavailable {
            message: message.clone(),
            source: None,
        },
        other => Error::generic(other.to_string()),
    }
}

/// The error for a missing field in an AWS response.
pub(crate) fn malformed(op: &str, what: &str) -> Error {
    Error::generic(format!("aws {op}: the response has no {what}"))
}

/// True for the message of a secret scheduled for deletion (AWS: "marked for deletion";
/// moto: "marked deleted").
pub(crate) fn marked_deleted(message: &str) -> bool {
    message.contains("marked for deletion") || message.contains("marked deleted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_keeps_the_kind() {
        assert!(same(&Error::not_found("a"), "b").is_not_found());
        assert!(
            same(
                &Error::RateLimited {
                    message: "x".into()
                },
                "b"
            )
            .is_temporary()
        );
        assert!(matches!(
            same(
                &Error::PermissionDenied {
                    message: "x".into()
                },
                "b"
            ),
            Error::PermissionDenied { .. }
        ));
    }
}
