//! Mapping kube-rs errors into [`eso_core::Error`], shared by [`KubeCluster`](crate::KubeCluster),
//! [`KubeWorkloads`](crate::KubeWorkloads) and the `kubernetes` provider (eso-provider-k8s).
//!
//! Messages name the operation and the object (`get Secret default/db`) and carry the API
//! server's own status message, which names fields and reasons but never Secret data; request
//! bodies are never quoted.

use eso_core::Error;

/// Maps a kube-rs error of operation `what` (e.g. `get Secret ns/name`) into an ESO error.
///
/// 404 is `NotFound`, 409 and 422-on-resourceVersion are `Conflict`, 401/403 the auth errors,
/// 429 `RateLimited`, 5xx and transport errors `Unavailable` (temporary).
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
            match status.code {
                404 => Error::NotFound {
                    key: what.to_owned(),
                },
                409 => Error::Conflict(msg),
                401 => Error::Unauthenticated { message: msg },
                403 => Error::PermissionDenied { message: msg },
                429 => Error::RateLimited { message: msg },
                500.. => Error::Unavailable {
                    message: msg,
                    source: None,
                },
                400 | 422 => Error::invalid_config(what, status.message),
                _ => Error::generic(msg),
            }
        }
        kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::HttpError(_)
        | kube::Error::ReadEvents(_) => Error::Unavailable {
            message: format!(
                "{what}: the Kubernetes API server is not reachable (will retry): {}",
                error_chain(&e)
            ),
            source: None,
        },
        other => Error::generic(format!("{what}: {}", error_chain(&other))),
    }
}

/// The error and its sources, joined with `: ` (a source already quoted by its parent is
/// left out).
///
/// # Example
///
/// ```
/// let e = std::io::Error::other("connection refused");
/// assert_eq!(eso_kube::error::error_chain(&e), "connection refused");
/// ```
pub fn error_chain(e: &dyn std::error::Error) -> String {
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
