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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn ces(spec: Value) -> ClusterExternalSecret {
        serde_json::from_value(json!({"metadata": {"name": "ces"}, "spec": spec})).unwrap()
    }

    fn es_spec() -> Value {
        json!({"secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
            "data": [{"secretKey": "k", "remoteRef": {"key": "p"}}]})
    }

    fn paths(spec: Value) -> Vec<String> {
        match ces(spec).validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.0.into_iter().map(|e| e.path).collect(),
        }
    }

    #[test]
    fn full_spec_round_trips() {
        let doc = json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterExternalSecret",
            "metadata": {"name": "ces"},
            "spec": {
                "externalSecretSpec": es_spec(),
                "externalSecretName": "db",
                "externalSecretMetadata": {"annotations": {"a": "1"}, "labels": {"l": "2"}},
                "namespaceSelector": {"matchLabels": {"x": "y"}},
                "namespaceSelectors": [{"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}],
                "namespaces": ["default", "kube-system"],
                "refreshTime": "1m0s"
            },
            "status": {
                "externalSecretName": "db",
                "failedNamespaces": [{"namespace": "x", "reason": "external secret already exists in namespace"}],
                "provisionedNamespaces": ["default"],
                "conditions": [{"type": "Ready", "status": "False", "message": "one or more namespaces failed"}]
            }
        });
        let c: ClusterExternalSecret = serde_json::from_value(doc.clone()).unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.spec.refresh_interval, Some(GoDuration::from_secs(60)));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["status"], doc["status"]);
        assert_eq!(v["spec"]["namespaces"], doc["spec"]["namespaces"]);
        assert_eq!(v["spec"]["refreshTime"], "1m0s");
        // The nested spec gets the ExternalSecret CRD defaults.
        assert_eq!(v["spec"]["externalSecretSpec"]["refreshInterval"], "1h0m0s");
        let again: ClusterExternalSecret = serde_json::from_value(v).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rules() {
        assert!(paths(json!({"externalSecretSpec": es_spec()})).is_empty());
        assert_eq!(
            paths(json!({"externalSecretSpec": es_spec(), "externalSecretName": "Db"})),
            ["spec.externalSecretName"]
        );
        assert_eq!(
            paths(json!({"externalSecretSpec": es_spec(), "namespaces": ["ok", "Not-Ok", "a.b"]})),
            ["spec.namespaces[1]", "spec.namespaces[2]"]
        );
        // Every ExternalSecret rule applies to the embedded spec, under its path.
        assert_eq!(
            paths(
                json!({"externalSecretSpec": {"target": {"creationPolicy": "Merge", "deletionPolicy": "Delete"},
                "dataFrom": [{"extract": {"key": "a"}, "find": {}}]}})
            ),
            [
                "spec.externalSecretSpec.target.deletionPolicy",
                "spec.externalSecretSpec.dataFrom[0]"
            ]
        );
        assert_eq!(
            paths(json!({"externalSecretSpec": {}})),
            ["spec.externalSecretSpec.data"]
        );
    }

    #[test]
    fn parse_errors() {
        let e = serde_path_to_error::deserialize::<_, ClusterExternalSecret>(
            json!({"metadata": {"name": "c"}, "spec": {}}),
        )
        .unwrap_err();
        assert!(e.inner().to_string().contains("externalSecretSpec"));
        let e = serde_path_to_error::deserialize::<_, ClusterExternalSecret>(
            json!({"metadata": {"name": "c"}, "spec": {"externalSecretSpec": {}, "refreshTime": "often"}}),
        )
        .unwrap_err();
        assert_eq!(e.path().to_string(), "spec.refreshTime");
    }

    #[cfg(feature = "kube")]
    #[test]
    fn crd() {
        use kube::CustomResourceExt;
        let crd = ClusterExternalSecret::crd();
        assert_eq!(crd.spec.scope, "Cluster");
        assert_eq!(crd.spec.versions[0].name, "v1");
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&["ces".to_owned()][..])
        );
    }
}
