//! `ClusterExternalSecret` (`external-secrets.io/v1`, cluster-scoped): stamps one
//! ExternalSecret into every selected namespace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validation::{Validate, ValidationErrors, is_dns1123_label, is_dns1123_subdomain};
use super::{Condition, ExternalSecretSpec, LabelSelector};
use crate::GoDuration;

/// Desired state of a [`ClusterExternalSecret`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "external-secrets.io",
        version = "v1",
        kind = "ClusterExternalSecret",
        status = "ClusterExternalSecretStatus",
        derive = "PartialEq",
        shortname = "ces",
        category = "external-secrets",
        printcolumn = r#"{"name":"Store","type":"string","jsonPath":".spec.externalSecretSpec.secretStoreRef.name"}"#,
        printcolumn = r#"{"name":"Refresh Interval","type":"string","jsonPath":".spec.refreshTime"}"#,
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretSpec {
    /// The spec of every ExternalSecret created.
    pub external_secret_spec: ExternalSecretSpec,
    /// Name of the created ExternalSecrets; defaults to the ClusterExternalSecret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secret_name: Option<String>,
    /// Labels and annotations put on every created ExternalSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secret_metadata: Option<ExternalSecretMetadata>,
    /// Deprecated: a single namespace selector (use `namespaceSelectors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespace label selectors, OR'ed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selectors: Option<Vec<LabelSelector>>,
    /// Deprecated: namespace names, OR'ed with the selectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// How often namespaces are re-listed (JSON name `refreshTime`; controller default 1h).
    #[serde(
        rename = "refreshTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_interval: Option<GoDuration>,
}

super::eso_resource! {
    /// Creates the same ExternalSecret in every namespace matched by its selectors or names.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{ClusterExternalSecret, Validate};
    ///
    /// let ces: ClusterExternalSecret = serde_saphyr::from_str(r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: ClusterExternalSecret
    /// metadata: {name: shared-db}
    /// spec:
    ///   namespaceSelectors:
    ///     - matchLabels: {team: payments}
    ///   refreshTime: 1m
    ///   externalSecretSpec:
    ///     secretStoreRef: {name: vault, kind: ClusterSecretStore}
    ///     dataFrom:
    ///       - extract: {key: shared/db}
    /// "#).unwrap();
    /// assert!(ces.validate().is_ok());
    /// ```
    ClusterExternalSecret { spec: ClusterExternalSecretSpec, status: ClusterExternalSecretStatus,
        api_version: "external-secrets.io/v1", kind: "ClusterExternalSecret", namespaced: false }
}

/// Labels and annotations for generated objects (ExternalSecrets of a ClusterExternalSecret).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretMetadata {
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// A namespace where the ExternalSecret could not be applied, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretNamespaceFailure {
    /// The namespace.
    pub namespace: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Observed state of a [`ClusterExternalSecret`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterExternalSecretStatus {
    /// Name of the created ExternalSecrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_secret_name: Option<String>,
    /// Namespaces where applying failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_namespaces: Option<Vec<ClusterExternalSecretNamespaceFailure>>,
    /// Namespaces holding an ExternalSecret of this object (sorted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_namespaces: Option<Vec<String>>,
    /// Conditions (`Ready`; ESO sets only `type`, `status` and `message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

/// Checks a list of namespace names (DNS-1123 labels).
pub(crate) fn check_namespaces(errors: &mut ValidationErrors, path: &str, names: &[String]) {
    for (i, ns) in names.iter().enumerate() {
        if !is_dns1123_label(ns) {
            errors.push(
                format!("{path}[{i}]"),
                "must be a DNS-1123 label (lower-case alphanumerics and '-', at most 63 characters)",
            );
        }
    }
}

impl Validate for ClusterExternalSecret {
    /// ESO's CRD schema rules, plus every ExternalSecret rule applied to `externalSecretSpec`
    /// (ESO's webhook would reject each generated ExternalSecret otherwise).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let spec = &self.spec;
        if let Some(name) = &spec.external_secret_name
            && !is_dns1123_subdomain(name)
        {
            errors.push(
                "spec.externalSecretName",
                "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253 characters)",
            );
        }
        if let Some(names) = &spec.namespaces {
            check_namespaces(&mut errors, "spec.namespaces", names);
        }
        spec.external_secret_spec
            .validate_at("spec.externalSecretSpec", &mut errors);
        errors.into_result()
    }
}
