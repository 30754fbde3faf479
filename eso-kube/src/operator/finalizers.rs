//! ESO's rule for the PushSecret finalizer: it is on a PushSecret only while its
//! `deletionPolicy` is `Delete` (only then is there remote cleanup to wait for); a
//! PushSecret whose policy changed back loses it.

use eso_core::Error;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::EsoObject;
use crate::error::map_error;

/// Removes finalizer `name` from `obj` if it has it, with a merge patch guarded by the
/// object's `resourceVersion` (a concurrent change makes it a conflict, retried).
pub(super) async fn remove<K: EsoObject>(
    client: &kube::Client,
    obj: &K,
    name: &str,
) -> Result<(), Error> {
    if !obj.finalizers().iter().any(|f| f == name) {
        return Ok(());
    }
    let remaining: Vec<&String> = obj.finalizers().iter().filter(|f| *f != name).collect();
    let patch = json!({"metadata": {
        "finalizers": remaining,
        "resourceVersion": obj.resource_version(),
    }});
    K::api(client, obj)
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            map_error(
                &format!("remove finalizer from {}", super::object_key(obj)),
                e,
            )
        })
}
