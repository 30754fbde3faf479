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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn ps_spec() -> Value {
        json!({"secretStoreRefs": [{"name": "vault"}], "selector": {"secret": {"name": "src"}},
            "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "r"}}}]})
    }

    fn paths(spec: Value) -> Vec<String> {
        let c: ClusterPushSecret =
            serde_json::from_value(json!({"metadata": {"name": "cps"}, "spec": spec})).unwrap();
        match c.validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.0.into_iter().map(|e| e.path).collect(),
        }
    }

    #[test]
    fn full_spec_round_trips() {
        let doc = json!({
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "ClusterPushSecret",
            "metadata": {"name": "cps"},
            "spec": {
                "pushSecretSpec": ps_spec(),
                "refreshTime": "30s",
                "pushSecretName": "push",
                "pushSecretMetadata": {"labels": {"a": "b"}},
                "namespaceSelectors": [{"matchLabels": {"push": "true"}}]
            },
            "status": {
                "failedNamespaces": [{"namespace": "x", "reason": "push secret already exists in namespace"}],
                "provisionedNamespaces": ["default"],
                "pushSecretName": "push",
                "conditions": [{"type": "Ready", "status": "True"}]
            }
        });
        let c: ClusterPushSecret = serde_json::from_value(doc.clone()).unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.spec.refresh_interval, Some(GoDuration::from_secs(30)));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["kind"], "ClusterPushSecret");
        assert_eq!(v["status"], doc["status"]);
        assert_eq!(
            v["spec"]["pushSecretMetadata"],
            doc["spec"]["pushSecretMetadata"]
        );
        assert_eq!(v["spec"]["pushSecretSpec"]["updatePolicy"], "Replace");
        let again: ClusterPushSecret = serde_json::from_value(v).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rules() {
        assert!(paths(json!({"pushSecretSpec": ps_spec()})).is_empty());
        assert_eq!(
            paths(json!({"pushSecretSpec": ps_spec(), "pushSecretName": "Push"})),
            ["spec.pushSecretName"]
        );
        let mut bad = ps_spec();
        bad["selector"] = json!({});
        bad["dataTo"] = json!([{"storeRef": {"name": "elsewhere"}}]);
        assert_eq!(
            paths(json!({"pushSecretSpec": bad})),
            [
                "spec.pushSecretSpec.selector",
                "spec.pushSecretSpec.dataTo[0].storeRef.name"
            ]
        );
    }

    #[test]
    fn parse_errors() {
        let e = serde_path_to_error::deserialize::<_, ClusterPushSecret>(
            json!({"metadata": {"name": "c"}, "spec": {"pushSecretSpec": {"secretStoreRefs": [],
                "selector": {}, "deletionPolicy": "Orphan"}}}),
        )
        .unwrap_err();
        assert_eq!(e.path().to_string(), "spec.pushSecretSpec.deletionPolicy");
    }

    #[cfg(feature = "kube")]
    #[test]
    fn crd() {
        use kube::CustomResourceExt;
        let crd = ClusterPushSecret::crd();
        assert_eq!(crd.spec.scope, "Cluster");
        assert_eq!(crd.spec.versions[0].name, "v1alpha1");
        assert_eq!(crd.spec.names.short_names, None);
    }
}
