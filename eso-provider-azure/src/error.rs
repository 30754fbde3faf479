//! Mapping the SDK's errors into [`eso_core::Error`].
//!
//! Messages carry the operation, the object's name and Key Vault's own error code and message
//! (which name objects and reasons, never secret data); values are never quoted.

use azure_core::error::ErrorKind;
use eso_core::Error;
use eso_core::provider::{error_chain, error_for_status, transport_error};

/// Key Vault's error body, `{"error": {"code", "message"}}`.
#[derive(serde::Deserialize)]
struct Body {
    error: Option<Inner>,
}

#[derive(serde::Deserialize)]
struct Inner {
    code: Option<String>,
    message: Option<String>,
}

/// The HTTP status of an SDK error, if the service answered.
pub(crate) fn status(e: &azure_core::Error) -> Option<u16> {
    e.http_status().map(u16::from)
}

/// `code: message` of Key Vault's error body, or the SDK's text.
fn service_message(e: &azure_core::Error) -> String {
    if let ErrorKind::HttpResponse {
        error_code,
        raw_response: Some(raw),
        ..
    } = e.kind()
    {
        if let Ok(Body {
            error: Some(Inner { code, message }),
        }) = serde_json::from_slice::<Body>(raw.body())
        {
            return format!(
                "{}: {}",
                code.or_else(|| error_code.clone()).unwrap_or_default(),
                message.unwrap_or_default()
            );
        }
        if let Some(c) = error_code {
            return c.clone();
        }
    }
    error_chain(e)
}

/// Maps an SDK error of `op` on object `name` of the store `store`.
pub(crate) fn map(store: &str, op: &str, name: &str, e: &azure_core::Error) -> Error {
    let what = format!("azurekv {op} {name} (store {store})");
    if let Some(s) = status(e) {
        return error_for_status(s, name, format!("{what}: HTTP {s}: {}", service_message(e)));
    }
    match e.kind() {
        ErrorKind::Credential => Error::Unauthenticated {
            message: format!("{what}: authentication failed: {}", error_chain(e)),
        },
        ErrorKind::Io | ErrorKind::Connection => transport_error(&what, e),
        _ => Error::generic(format!("{what}: {}", error_chain(e))),
    }
}

/// True for Key Vault's answer to writing a name that is deleted but recoverable.
pub(crate) fn is_deleted_conflict(e: &azure_core::Error) -> bool {
    status(e) == Some(409) && service_message(e).contains("deleted but recoverable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_errors_name_the_store() {
        let e = azure_core::Error::with_message(ErrorKind::Credential, "AADSTS7000222: expired");
        let e = map("apps/kv", "GetSecret", "db", &e);
        assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
        assert!(e.to_string().contains("store apps/kv"), "{e}");
        assert!(e.to_string().contains("AADSTS7000222"), "{e}");
    }
}
