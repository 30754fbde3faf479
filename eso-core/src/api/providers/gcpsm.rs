//! `spec.provider.gcpsm`: Google Cloud Secret Manager.

use serde::{Deserialize, Serialize};

use super::{
    StoreScope, check_referent_secret, check_referent_service_account, check_service_account_format,
};
use crate::api::meta::{SecretKeySelector, ServiceAccountSelector};
use crate::api::validation::{
    ValidationErrors, is_dns1123_label, is_dns1123_subdomain, is_secret_key,
};

/// How a version is chosen when `latest` is disabled or destroyed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum GcpSecretVersionSelectionPolicy {
    /// Always `latest`; fail if it is not usable (the default).
    #[default]
    LatestOrFail,
    /// Fall back to the newest enabled version.
    LatestOrFetch,
}

/// GCP Secret Manager provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::{GcpSecretVersionSelectionPolicy, GcpSmProvider};
///
/// let g: GcpSmProvider = serde_json::from_str(r#"{"projectID":"my-project"}"#).unwrap();
/// assert_eq!(g.secret_version_selection_policy, GcpSecretVersionSelectionPolicy::LatestOrFail);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GcpSmProvider {
    /// Credentials; when unset Application Default Credentials are used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<GcpSmAuth>,
    /// Project holding the secrets.
    #[serde(default, rename = "projectID", skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Location for regional secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Version selection when `latest` is unusable (default `LatestOrFail`).
    #[serde(default)]
    pub secret_version_selection_policy: GcpSecretVersionSelectionPolicy,
}

/// GCP credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GcpSmAuth {
    /// A service account key held in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<GcpSmAuthSecretRef>,
    /// GKE Workload Identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<GcpWorkloadIdentity>,
    /// Workload Identity Federation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity_federation: Option<GcpWorkloadIdentityFederation>,
}

/// A service account JSON key held in a Secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GcpSmAuthSecretRef {
    /// The key.
    #[serde(
        default,
        rename = "secretAccessKeySecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_access_key: Option<SecretKeySelector>,
}

/// GKE Workload Identity: a Kubernetes ServiceAccount bound to a Google service account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GcpWorkloadIdentity {
    /// The ServiceAccount.
    #[serde(rename = "serviceAccountRef")]
    pub service_account_ref: ServiceAccountSelector,
    /// Cluster location (from the metadata server when unset).
    #[serde(
        default,
        rename = "clusterLocation",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_location: Option<String>,
    /// Cluster name (from the metadata server when unset).
    #[serde(
        default,
        rename = "clusterName",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_name: Option<String>,
    /// Cluster project (from the metadata server when unset).
    #[serde(
        default,
        rename = "clusterProjectID",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_project_id: Option<String>,
}

/// Workload Identity Federation settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GcpWorkloadIdentityFederation {
    /// ConfigMap key holding an external-account credential configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_config: Option<GcpConfigMapReference>,
    /// ServiceAccount whose token is exchanged (Kubernetes as identity provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// AWS region and credentials (AWS as identity provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_security_credentials: Option<GcpAwsCredentialsConfig>,
    /// STS audience (pool and provider resource name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// Expected token endpoint of the credential configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_token_endpoint: Option<String>,
    /// Google service account to impersonate after federation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_service_account_email: Option<String>,
}

/// A key of a ConfigMap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GcpConfigMapReference {
    /// ConfigMap name.
    pub name: String,
    /// ConfigMap namespace (the consumer's namespace when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Key holding the JSON.
    pub key: String,
}

/// AWS credentials for federation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GcpAwsCredentialsConfig {
    /// AWS region.
    pub region: String,
    /// Secret with keys `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`.
    pub aws_credentials_secret_ref: GcpSecretReference,
}

/// A Secret by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GcpSecretReference {
    /// Secret name.
    pub name: String,
    /// Secret namespace (the consumer's namespace when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl GcpSmAuth {
    /// Applies ESO's admission rules for GCP credentials at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        if let Some(s) = self
            .secret_ref
            .as_ref()
            .and_then(|s| s.secret_access_key.as_ref())
        {
            check_referent_secret(
                scope,
                s,
                &format!("{path}.secretRef.secretAccessKeySecretRef"),
                errors,
            );
        }
        if let Some(w) = &self.workload_identity {
            check_referent_service_account(
                scope,
                &w.service_account_ref,
                &format!("{path}.workloadIdentity.serviceAccountRef"),
                errors,
            );
        }
        if let Some(f) = &self.workload_identity_federation {
            f.validate_at(&format!("{path}.workloadIdentityFederation"), errors);
        }
    }
}

impl GcpWorkloadIdentityFederation {
    /// Schema checks (names, region, e-mail pattern) at `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if let Some(c) = &self.cred_config {
            let p = format!("{path}.credConfig");
            if !is_dns1123_subdomain(&c.name) {
                errors.push(format!("{p}.name"), "must be a DNS-1123 subdomain");
            }
            if c.namespace.as_deref().is_some_and(|n| !is_dns1123_label(n)) {
                errors.push(format!("{p}.namespace"), "must be a DNS-1123 label");
            }
            if !is_secret_key(&c.key) {
                errors.push(
                    format!("{p}.key"),
                    "must match ^[-._a-zA-Z0-9]+$ (at most 253 characters)",
                );
            }
        }
        if let Some(sa) = &self.service_account_ref {
            check_service_account_format(sa, &format!("{path}.serviceAccountRef"), errors);
        }
        if let Some(a) = &self.aws_security_credentials {
            let p = format!("{path}.awsSecurityCredentials");
            let ok = !a.region.is_empty()
                && a.region.len() <= 50
                && a.region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                errors.push(
                    format!("{p}.region"),
                    "must match ^[a-z0-9-]+$ (1 to 50 characters)",
                );
            }
            let s = &a.aws_credentials_secret_ref;
            if !is_dns1123_subdomain(&s.name) {
                errors.push(
                    format!("{p}.awsCredentialsSecretRef.name"),
                    "must be a DNS-1123 subdomain",
                );
            }
            if s.namespace.as_deref().is_some_and(|n| !is_dns1123_label(n)) {
                errors.push(
                    format!("{p}.awsCredentialsSecretRef.namespace"),
                    "must be a DNS-1123 label",
                );
            }
        }
        if let Some(email) = &self.gcp_service_account_email {
            let ok = email
                .split_once('@')
                .is_some_and(|(_, domain)| domain.ends_with(".iam.gserviceaccount.com"));
            if !ok {
                errors.push(
                    format!("{path}.gcpServiceAccountEmail"),
                    "must be a Google service account e-mail (…@….iam.gserviceaccount.com)",
                );
            }
        }
    }
}

impl GcpSmProvider {
    /// Applies ESO's admission rules for a GCP block at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        if let Some(auth) = &self.auth {
            auth.validate_store(scope, &format!("{path}.auth"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ns, paths};
    use super::*;

    fn check(v: serde_json::Value) -> Vec<String> {
        let p: GcpSmProvider = serde_json::from_value(v).unwrap();
        let mut e = ValidationErrors::new();
        p.validate_store(ns("a"), "spec.provider.gcpsm", &mut e);
        paths(&e)
    }

    #[test]
    fn policy_enum() {
        assert!(
            serde_json::from_value::<GcpSmProvider>(
                serde_json::json!({"secretVersionSelectionPolicy": "Newest"})
            )
            .is_err()
        );
        let p: GcpSmProvider = serde_json::from_value(
            serde_json::json!({"secretVersionSelectionPolicy": "LatestOrFetch"}),
        )
        .unwrap();
        assert_eq!(
            p.secret_version_selection_policy,
            GcpSecretVersionSelectionPolicy::LatestOrFetch
        );
    }

    #[test]
    fn referent_rules() {
        assert_eq!(
            check(
                serde_json::json!({"auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "k", "namespace": "b"}},
                "workloadIdentity": {"serviceAccountRef": {"name": "sa", "namespace": "b"}}}})
            ),
            [
                "spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef.namespace",
                "spec.provider.gcpsm.auth.workloadIdentity.serviceAccountRef.namespace"
            ]
        );
    }

    #[test]
    fn federation_schema() {
        assert_eq!(
            check(serde_json::json!({"auth": {"workloadIdentityFederation": {
                "credConfig": {"name": "cm", "key": "a/b"},
                "awsSecurityCredentials": {"region": "EU", "awsCredentialsSecretRef": {"name": "s"}},
                "gcpServiceAccountEmail": "me@example.com"}}})),
            [
                "spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig.key",
                "spec.provider.gcpsm.auth.workloadIdentityFederation.awsSecurityCredentials.region",
                "spec.provider.gcpsm.auth.workloadIdentityFederation.gcpServiceAccountEmail"
            ]
        );
        assert!(
            check(serde_json::json!({"auth": {"workloadIdentityFederation": {
            "serviceAccountRef": {"name": "sa"}, "audience": "//iam.googleapis.com/x",
            "gcpServiceAccountEmail": "gsa@p.iam.gserviceaccount.com"}}}))
            .is_empty()
        );
    }
}
