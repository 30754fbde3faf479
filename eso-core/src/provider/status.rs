//! The one mapping from a backend's HTTP status to [`Error`]: [`error_for_status`].
//!
//! Every HTTP-based provider (Vault's REST API, the Kubernetes API server, cloud REST APIs)
//! sends its failed responses through here, so a 429 is rate limiting and a 503 an outage the
//! same way everywhere, and the reconcile flows can pick a requeue from the error's kind.

use crate::Error;

/// The [`Error`] for a failed HTTP response.
///
/// `key` names what was addressed (a path, `Secret ns/name`): it becomes the key of
/// [`Error::NotFound`]. `message` is the whole human-readable message (operation, object and
/// the backend's own error text, which must not quote secret data).
///
/// | status | error |
/// |---|---|
/// | 404, 410 | [`Error::NotFound`] (drives deletion policies) |
/// | 401 | [`Error::Unauthenticated`] |
/// | 403 | [`Error::PermissionDenied`] |
/// | 409, 412 | [`Error::Conflict`] (temporary: re-read and retry) |
/// | 429 | [`Error::RateLimited`] (temporary) |
/// | 408, 5xx | [`Error::Unavailable`] (temporary) |
/// | anything else | [`Error::Generic`] |
///
/// # Example
///
/// ```
/// use eso_core::provider::error_for_status;
///
/// let e = error_for_status(404, "secret/data/db", "vault GET secret/data/db: HTTP 404".into());
/// assert!(e.is_not_found());
/// assert_eq!(e.to_string(), "secret not found: secret/data/db");
/// let e = error_for_status(429, "db", "GET db: HTTP 429: slow down".into());
/// assert!(e.is_temporary());
/// assert_eq!(e.to_string(), "rate limited: GET db: HTTP 429: slow down");
/// ```
pub fn error_for_status(status: u16, key: &str, message: String) -> Error {
    match status {
        404 | 410 => Error::not_found(key),
        401 => Error::Unauthenticated { message },
        403 => Error::PermissionDenied { message },
        409 | 412 => Error::Conflict(message),
        429 => Error::RateLimited { message },
        408 | 500.. => Error::Unavailable {
            message,
            source: None,
        },
        _ => Error::Generic {
            message,
            source: None,
        },
    }
}

/// The [`Error`] for a request that got no HTTP answer at all (connection refused or reset,
/// TLS failure, timeout): temporary, with the cause chain in the message.
///
/// # Example
///
/// ```
/// use eso_core::provider::transport_error;
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let e = transport_error("vault GET secret/data/db", &io);
/// assert!(e.is_temporary());
/// assert_eq!(e.to_string(), "backend unavailable: vault GET secret/data/db: connection refused");
/// ```
pub fn transport_error(what: &str, cause: &(dyn std::error::Error + 'static)) -> Error {
    Error::Unavailable {
        message: format!("{what}: {}", error_chain(cause)),
        source: None,
    }
}

/// An error and its sources as one line, `outer: inner: root`, skipping a source whose text
/// its parent already contains.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let part = c.to_string();
        if !s.contains(&part) {
            s.push_str(": ");
            s.push_str(&part);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_of_status_has_its_kind() {
        let m = |s| error_for_status(s, "k", format!("HTTP {s}"));
        assert!(m(404).is_not_found());
        assert!(m(410).is_not_found());
        assert!(matches!(m(401), Error::Unauthenticated { .. }));
        assert!(matches!(m(403), Error::PermissionDenied { .. }));
        for s in [408, 409, 412, 429, 500, 502, 503, 504] {
            assert!(m(s).is_temporary(), "{s}");
        }
        assert!(matches!(m(429), Error::RateLimited { .. }));
        for s in [400, 405, 422] {
            assert!(!m(s).is_temporary(), "{s}");
            assert!(!m(s).is_not_found(), "{s}");
        }
    }
}
