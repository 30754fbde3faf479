//! The operator's finalizer writes: added in the same pass as the sync, removed where ESO's
//! rules say an object no longer needs one.
//!
//! kube-runtime's finalizer helper adds the finalizer and waits for the watch to bring the
//! patched object back, which makes every new object cost two passes. The controllers here
//! do not wake on finalizer changes (see `watch`), so the finalizer is added first and the
//! sync runs at once on the patched object. ESO's rule for the PushSecret finalizer: it is
//! on a PushSecret only while its `deletionPolicy` is `Delete` (only then is there remote
//! cleanup to wait for); a PushSecret whose policy changed back loses it ([`remove`]).

use std::sync::Arc;

use kube::ResourceExt as _;
use kube::api::{Patch, PatchParams};

use super::{EsoObject, object_key};
use crate::error::map_error;

/// `obj` with `finalizer` on it: as it is if it already carries it (or is being deleted),
/// else patched.
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
    set(client, obj.as_ref(), &finalizers, "add finalizer to")
        .await
        .map(Arc::new)
}

/// Removes finalizer `name` from `obj` if it has it.
pub(super) async fn remove<K: EsoObject>(
    client: &kube::Client,
    obj: &K,
    name: &str,
) -> eso_core::Result<()> {
    if !obj.finalizers().iter().any(|f| f == name) {
        return Ok(());
    }
    let remaining: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != name)
        .cloned()
        .collect();
    set(client, obj, &remaining, "remove finalizer from")
        .await
        .map(|_| ())
}

/// Writes the whole finalizer list with a merge patch guarded by `resourceVersion`, so a
/// concurrent change fails with a conflict and is retried instead of being overwritten.
async fn set<K: EsoObject>(
    client: &kube::Client,
    obj: &K,
    finalizers: &[String],
    what: &str,
) -> eso_core::Result<K> {
    let patch = serde_json::json!({
        "metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}
    });
    K::api(client, obj)
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(|e| map_error(&format!("{what} {}", object_key(obj)), e))
}
