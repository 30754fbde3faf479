//! Errors of the Kubernetes API mapped into [`eso_core::Error`].
//!
//! The remote cluster answers like the local one, so this crate maps its errors exactly as
//! eso-kube's [`KubeCluster`](eso_kube::KubeCluster) does, through
//! [`eso_kube::error::map_error`] (404 `NotFound`, 409 `Conflict`, 401/403 the auth errors,
//! 429 and 5xx temporary, ...). Messages name the operation and the Secret, never its data.

use eso_core::Error;

/// The [`Error`] of a failed API call `what` (`get Secret ns/name`).
pub(crate) fn api_error(what: &str, e: kube::Error) -> Error {
    eso_kube::error::map_error(what, e)
}

/// True when the API server answered with `code`.
pub(crate) fn is_status(e: &kube::Error, code: u16) -> bool {
    eso_kube::error::is_status(e, code)
}
