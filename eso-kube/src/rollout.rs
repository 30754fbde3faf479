//! Rollout restarts: eso-rs's `eso-rs.io/rollout-restart` ExternalSecret annotation (see
//! [`eso_core::api::ROLLOUT_RESTART_ANNOTATION`]) carried out as `kubectl rollout restart`
//! does: the workload's pod template gets the annotation `kubectl.kubernetes.io/restartedAt`
//! with the current time, so its controller rolls new pods.
//!
//! The operator restarts the named workloads after a pass that changed the target Secret's
//! data, and never after one that changed nothing (or only its labels or annotations). A
//! Secret created for the first time restarts nothing: pods waiting for it start once it
//! exists. The operator needs `patch` on the kinds named (the chart's
//! `rolloutRestart.enabled`).
//!
//! # Example
//!
//! ```no_run
//! use eso_core::api::{RolloutTarget, WorkloadKind};
//!
//! # async fn run(client: kube::Client) -> Result<(), eso_core::Error> {
//! let api = RolloutTarget::new(WorkloadKind::Deployment, "api");
//! eso_kube::rollout_restart(&client, "demo", &api, jiff::Timestamp::now()).await?;
//! # Ok(()) }
//! ```

use eso_core::api::{RolloutTarget, WorkloadKind};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};

use crate::error::map_error;

/// The pod-template annotation `kubectl rollout restart` sets.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// The field manager of the restart patches.
const FIELD_MANAGER: &str = "eso-rs-rollout-restart";

/// Restarts `target` in `namespace` at `at` (a strategic merge patch of its pod template's
/// `kubectl.kubernetes.io/restartedAt` annotation, as kubectl writes it).
pub async fn rollout_restart(
    client: &kube::Client,
    namespace: &str,
    target: &RolloutTarget,
    at: jiff::Timestamp,
) -> eso_core::Result<()> {
    let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        RESTARTED_AT_ANNOTATION: at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }}}}});
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let patch = Patch::Strategic(&patch);
    let name = target.name.as_str();
    let result = match target.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), namespace)
            .patch(name, &pp, &patch)
            .await
            .map(drop),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .patch(name, &pp, &patch)
            .await
            .map(drop),
        WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .patch(name, &pp, &patch)
            .await
            .map(drop),
        _ => {
            return Err(eso_core::Error::not_supported(format!(
                "rollout restart of {target}"
            )));
        }
    };
    result.map_err(|e| map_error(&format!("rollout restart of {namespace}/{target}"), e))
}
