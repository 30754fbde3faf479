//! Mapping kube-rs errors into [`eso_core::Error`], shared by [`KubeCluster`](crate::KubeCluster),
//! [`KubeWorkloads`](crate::KubeWorkloads) and the `kubernetes` provider (eso-provider-k8s).
//!
//! Messages name the operation and the object (`get Secret default/db`) and carry the API
//! server's own status message, which names fields and reasons but never Secret data; request
//! bodies are never quoted.

use eso_core::Error;
use eso_core::provider::{error_chain, error_for_status, transport_error};

/// Maps a kube-rs error of operation `what` (e.g. `get Secret ns/name`) into an ESO error.
///
/// The status goes through [`error_for_status`]: 404 and 410 are `NotFound`, 409 and 412
/// `Conflict` (temporary), 401/403 the auth errors, 429 `RateLimited`, 408, 5xx and transport
/// errors `Unavailable` (temporary). 422 (an object the API server rejects as invalid,
/// including a bad `resourceVersion`) is not special-cased: it is `Generic`, with the API
/// server's message.
///
/// # Example
///
/// ```
/// let status = kube::core::Status { code: 404, message: "not found".into(), ..Default::default() };
/// let err = eso_kube::error::map_error("get Secret default/db", kube::Error::Api(Box::new(status)));
/// assert!(err.is_not_found());
/// ```
pub fn map_error(what: &str, e: kube::Error) -> Error {
    match e {
        kube::Error::Api(status) => {
            let msg = format!("{what}: {} ({})", status.message, status.code);
            error_for_status(status.code, what, msg)
        }
        kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::HttpError(_)
        | kube::Error::ReadEvents(_) => transport_error(
            &format!("{what}: the Kubernetes API server is not reachable (will retry)"),
            &e,
        ),
        other => Error::generic(format!("{what}: {}", error_chain(&other))),
    }
}

/// True for an API status with `code`.
///
/// # Example
///
/// ```
/// let status = kube::core::Status { code: 409, ..Default::default() };
/// assert!(eso_kube::error::is_status(&kube::Error::Api(Box::new(status)), 409));
/// ```
pub fn is_status(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            message: "nope".into(),
            ..Default::default()
        }))
    }

    #[test]
    fn statuses_map_to_semantic_errors() {
        assert!(map_error("get Secret a/b", status(404)).is_not_found());
        assert!(matches!(map_error("x", status(409)), Error::Conflict(_)));
        assert!(matches!(
            map_error("x", status(403)),
            Error::PermissionDenied { .. }
        ));
        assert!(matches!(
            map_error("x", status(401)),
            Error::Unauthenticated { .. }
        ));
        assert!(map_error("x", status(503)).is_temporary());
        assert!(map_error("x", status(429)).is_temporary());
        assert!(
            map_error("get Secret a/b", status(500))
                .to_string()
                .contains("get Secret a/b")
        );
    }
}
