//! Mapping kube-rs errors into [`eso_core::Error`].
//!
//! Messages name the operation and the object (`get Secret default/db`) and carry the API
//! server's own status message, which names fields and reasons but never Secret data; request
//! bodies are never quoted.

use eso_core::Error;
use eso_core::provider::{error_chain, error_for_status, transport_error};

/// Maps a kube-rs error of operation `what` (e.g. `get Secret ns/name`) into an ESO error.
///
/// 404 is `NotFound`, 409 and 422-on-resourceVersion are `Conflict`, 401/403 the auth errors,
/// 429 `RateLimited`, 5xx and transport errors `Unavailable` (temporary).
pub(crate) fn map(what: &str, e: kube::Error) -> Error {
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

pub(crate) fn is_status(e: &kube::Error, code: u16) -> bool {
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
        assert!(map("get Secret a/b", status(404)).is_not_found());
        assert!(matches!(map("x", status(409)), Error::Conflict(_)));
        assert!(matches!(
            map("x", status(403)),
            Error::PermissionDenied { .. }
        ));
        assert!(matches!(
            map("x", status(401)),
            Error::Unauthenticated { .. }
        ));
        assert!(map("x", status(503)).is_temporary());
        assert!(map("x", status(429)).is_temporary());
        assert!(
            map("get Secret a/b", status(500))
                .to_string()
                .contains("get Secret a/b")
        );
    }
}
