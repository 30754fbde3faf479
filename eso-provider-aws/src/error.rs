//! Mapping AWS SDK errors into [`eso_core::Error`].
//!
//! Messages carry the operation, the secret name and AWS's own error code and message (which
//! name resources and reasons, never secret values); request payloads are never quoted.

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use eso_core::Error;
use eso_core::provider::error_chain;

/// Maps an SDK error of `op` on `key` to the semantic [`Error`] variant.
///
/// An answer without an AWS error code (a proxy's 503, a connection reset, an answer that
/// does not parse) is described by its HTTP status or by the `Display` chain of the error.
/// No returned error keeps the SDK error as its `source`, whatever the code: the SDK error's
/// `Debug` output holds the raw answer, body included, and callers may print sources with
/// `{:?}`. AWS's code and message are in the error's own message instead.
pub(crate) fn sdk_error<E>(op: &str, key: &str, e: SdkError<E, HttpResponse>) -> Error
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
        "" => {
            let what = match &e {
                SdkError::ServiceError(s) => format!(
                    "HTTP {} without an AWS error code",
                    s.raw().status().as_u16()
                ),
                other => error_chain(other),
            };
            // The SDK error is not kept as the source: its Debug form holds the raw answer.
            Error::Unavailable {
                message: format!("aws {op} {key:?}: {what}"),
                source: None,
            }
        }
        "InternalServiceError" | "InternalFailure" | "ServiceUnavailable" => Error::Unavailable {
            message: text,
            source: None,
        },
        _ => Error::generic(text),
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
    fn an_answer_without_a_code_is_described_without_its_body() {
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
        use aws_smithy_types::body::SdkBody;
        let raw = HttpResponse::new(
            503.try_into().expect("a status"),
            SdkBody::from(r#"{"SecretString": "canary-8d1f"}"#),
        );
        let metadata = aws_sdk_secretsmanager::error::ErrorMetadata::builder().build();
        let err = SdkError::service_error(GetSecretValueError::generic(metadata), raw);
        let e = sdk_error("GetSecretValue", "db", err);
        let text = format!("{e} {e:?}");
        assert!(e.is_temporary(), "{text}");
        assert!(text.contains("HTTP 503"), "{text}");
        assert!(!text.contains("canary-8d1f"), "{text}");
    }

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
