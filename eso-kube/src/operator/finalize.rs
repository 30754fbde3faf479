//! Adding the operator's finalizer in the same pass as the sync.
//!
//! kube-runtime's finalizer helper adds the finalizer and waits for the watch to bring the
//! patched object back, which makes every new object cost two passes. The controllers here
//! do not wake on finalizer changes (see `watch`), so the finalizer is added first and the
//! sync runs at once on the patched object.

use std::sync::Arc;

use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};

use super::{EsoObject, object_key};
use crate::error::map_error;

/// `obj` with `finalizer` on it: as it is if it already carries it (or is being deleted),
/// else patched (a merge patch of the whole list, guarded by `resourceVersion` so a
/// concurrent change fails with a conflict and is retried instead of being overwritten).
pub(super) async fn with_finalizer<K: EsoObject>(
    client: &kube::Client,
    finalizer: &str,
    obj: Arc<K>,
) -> eso_core::Result<Arc<K>> {
    if obj.meta().deletion_timestamp.is_some() || obj.finalizers().iter().any(|f| f == finalizer) {
        return Ok(obj);
    }
    let mut finalizers = obj.finalizers().to_vec();
    finalizers.push(finalizer.to_owned());
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}
    });
    K::api(client, &obj)
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map(Arc::new)
        .map_err(|e| map_error(&format!("add finalizer to {}", object_key(obj.as_ref())), e))
}
