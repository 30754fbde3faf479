//! eso-rs's own ExternalSecret annotation `eso-rs.io/rollout-restart`: the workloads of the
//! ExternalSecret's namespace to restart (as `kubectl rollout restart` does) when its target
//! Secret's data changes. ESO ignores the annotation.
//!
//! The value is a comma-separated list of `kind/name`, the kinds written as kubectl accepts
//! them: `deployment` (`deployments`, `deploy`), `statefulset` (`statefulsets`, `sts`) and
//! `daemonset` (`daemonsets`, `ds`), in any case. Spaces around entries are ignored.
//!
//! # Example
//!
//! ```
//! use eso_core::api::{RolloutTarget, WorkloadKind, rollout_targets};
//!
//! let targets = rollout_targets("deployment/api, sts/db").unwrap();
//! assert_eq!(targets[0], RolloutTarget::new(WorkloadKind::Deployment, "api"));
//! assert_eq!(targets[1].kind, WorkloadKind::StatefulSet);
//! assert!(rollout_targets("pod/api").is_err());
//! ```

use std::fmt;

use super::{ExternalSecret, ValidationErrors, is_dns1123_subdomain};

/// The annotation naming the workloads to restart when the target's data changes.
pub const ROLLOUT_RESTART_ANNOTATION: &str = "eso-rs.io/rollout-restart";

/// A workload kind a rollout restart applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WorkloadKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
}

impl WorkloadKind {
    /// The kind as the API spells it (`Deployment`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => Some(Self::Deployment),
            "statefulset" | "statefulsets" | "sts" => Some(Self::StatefulSet),
            "daemonset" | "daemonsets" | "ds" => Some(Self::DaemonSet),
            _ => None,
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One workload to restart.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RolloutTarget {
    /// Its kind.
    pub kind: WorkloadKind,
    /// Its name (in the ExternalSecret's namespace).
    pub name: String,
}

impl RolloutTarget {
    /// The workload `kind/name`.
    pub fn new(kind: WorkloadKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for RolloutTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.kind.as_str().to_ascii_lowercase(),
            self.name
        )
    }
}

/// Parses the annotation's value; the error says which entry is wrong and why.
pub fn rollout_targets(value: &str) -> Result<Vec<RolloutTarget>, String> {
    let mut out: Vec<RolloutTarget> = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((kind, name)) = entry.split_once('/') else {
            return Err(format!("{entry:?} is not kind/name"));
        };
        let Some(kind) = WorkloadKind::parse(kind.trim()) else {
            return Err(format!(
                "{entry:?}: the kind must be deployment, statefulset or daemonset"
            ));
        };
        let name = name.trim();
        if !is_dns1123_subdomain(name) {
            return Err(format!("{entry:?}: {name:?} is not a valid object name"));
        }
        let target = RolloutTarget::new(kind, name);
        if !out.contains(&target) {
            out.push(target);
        }
    }
    Ok(out)
}

impl ExternalSecret {
    /// The workloads its `eso-rs.io/rollout-restart` annotation names (none without it).
    pub fn rollout_restart_targets(&self) -> Result<Vec<RolloutTarget>, String> {
        match self
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ROLLOUT_RESTART_ANNOTATION))
        {
            Some(v) => rollout_targets(v),
            None => Ok(Vec::new()),
        }
    }

    /// Records an error when the rollout-restart annotation cannot be read.
    pub(super) fn validate_rollout_annotation(&self, errors: &mut ValidationErrors) {
        if let Err(e) = self.rollout_restart_targets() {
            errors.push(
                format!("metadata.annotations[{ROLLOUT_RESTART_ANNOTATION}]"),
                e,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectls_kind_spellings_and_duplicates() {
        let t = rollout_targets("Deployment/a,deploy/a , DS/b,statefulsets/c,").unwrap();
        assert_eq!(
            t.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["deployment/a", "daemonset/b", "statefulset/c"]
        );
        assert!(rollout_targets("").unwrap().is_empty());
    }

    #[test]
    fn bad_entries_are_named() {
        let e = rollout_targets("deployment/api,job/x").unwrap_err();
        assert!(e.contains("job/x"), "{e}");
        assert!(rollout_targets("api").unwrap_err().contains("kind/name"));
        assert!(rollout_targets("deployment/Bad_Name").is_err());
    }
}
