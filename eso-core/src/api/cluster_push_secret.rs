//! `ClusterPushSecret` (`external-secrets.io/v1alpha1`, cluster-scoped): stamps one PushSecret
//! into every selected namespace.

use serde::{Deserialize, Serialize};

use super::validation::{Validate, ValidationErrors, is_dns1123_subdomain};
use super::{Condition, ExternalSecretMetadata, LabelSelector, PushSecretSpec};
use crate::GoDuration;

/// Desired state of a [`ClusterPushSecret`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "external-secrets.io",
        version = "v1alpha1",
        kind = "ClusterPushSecret",
        status = "ClusterPushSecretStatus",
        derive = "PartialEq",
        category = "external-secrets",
        printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPushSecretSpec {
    /// The spec of every PushSecret created.
    pub push_secret_spec: PushSecretSpec,
    /// How often namespaces are re-listed (JSON name `refreshTime`).
    #[serde(
        rename = "refreshTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_interval: Option<GoDuration>,
    /// Name of the created PushSecrets; defaults to the ClusterPushSecret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_secret_name: Option<String>,
    /// Labels and annotations put on every created PushSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_secret_metadata: Option<ExternalSecretMetadata>,
    /// Namespace label selectors, OR'ed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selectors: Option<Vec<LabelSelector>>,
}

super::eso_resource! {
    /// Creates the same PushSecret in every namespace matched by its selectors.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{ClusterPushSecret, Validate};
    ///
    /// let cps: ClusterPushSecret = serde_saphyr::from_str(r#"
    /// apiVersion: external-secrets.io/v1alpha1
    /// kind: ClusterPushSecret
    /// metadata: {name: push-tls}
    /// spec:
    ///   namespaceSelectors: [{matchLabels: {tls: "true"}}]
    ///   pushSecretSpec:
    ///     secretStoreRefs: [{name: vault, kind: ClusterSecretStore}]
    ///     selector: {secret: {name: tls}}
    ///     data: [{match: {secretKey: tls.crt, remoteRef: {remoteKey: certs/tls}}}]
    /// "#).unwrap();
    /// assert!(cps.validate().is_ok());
    /// ```
    ClusterPushSecret { spec: ClusterPushSecretSpec, status: ClusterPushSecretStatus,
        api_version: "external-secrets.io/v1alpha1", kind: "ClusterPushSecret", namespaced: false }
}

/// A namespace where the PushSecret could not be applied, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterPushSecretNamespaceFailure {
    /// The namespace.
    pub namespace: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Observed state of a [`ClusterPushSecret`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterPushSecretStatus {
    /// Namespaces where applying failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_namespaces: Option<Vec<ClusterPushSecretNamespaceFailure>>,
    /// Namespaces holding a PushSecret of this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_namespaces: Option<Vec<String>>,
    /// Name of the created PushSecrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_secret_name: Option<String>,
    /// Conditions (PushSecret condition types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

impl Validate for ClusterPushSecret {
    /// ESO's CRD schema rules, plus every PushSecret rule applied to `pushSecretSpec`.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(name) = &self.spec.push_secret_name
            && !is_dns1123_subdomain(name)
        {
            errors.push(
                "spec.pushSecretName",
                "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253 characters)",
            );
        }
        self.spec
            .push_secret_spec
            .validate_at("spec.pushSecretSpec", &mut errors);
        errors.into_result()
    }
}
