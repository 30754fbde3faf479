//! Small types shared by several kinds (ESO's `apis/meta/v1` and friends).

use serde::{Deserialize, Serialize};

use super::validation::{ValidationErrors, is_dns1123_label, is_dns1123_subdomain, is_secret_key};

/// Points at one key of a Kubernetes Secret (credentials in store specs).
///
/// `namespace` is only honoured for cluster-scoped stores.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretKeySelector;
///
/// let s: SecretKeySelector = serde_json::from_str(r#"{"name":"vault-token","key":"token"}"#).unwrap();
/// assert_eq!(s.key.as_deref(), Some("token"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// Secret name.
    #[serde(default)]
    pub name: String,
    /// Secret namespace (cluster-scoped stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Key inside the Secret's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl SecretKeySelector {
    /// Checks name, namespace and key formats; records errors under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if !self.name.is_empty() && !is_dns1123_subdomain(&self.name) {
            errors.push(format!("{path}.name"), "must be a DNS-1123 subdomain");
        }
        if let Some(ns) = &self.namespace
            && !ns.is_empty()
            && !is_dns1123_label(ns)
        {
            errors.push(format!("{path}.namespace"), "must be a DNS-1123 label");
        }
        if let Some(key) = &self.key
            && !key.is_empty()
            && !is_secret_key(key)
        {
            errors.push(
                format!("{path}.key"),
                "must match ^[-._a-zA-Z0-9]+$ (at most 253 characters)",
            );
        }
    }
}

/// Points at a ServiceAccount whose token is used to authenticate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountSelector {
    /// ServiceAccount name.
    pub name: String,
    /// ServiceAccount namespace (cluster-scoped stores only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Extra audiences for the requested token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
}

/// Which kind of store a [`SecretStoreRef`] names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum SecretStoreKind {
    /// A namespaced `SecretStore` (the default).
    #[default]
    SecretStore,
    /// A cluster-wide `ClusterSecretStore`.
    ClusterSecretStore,
}

impl SecretStoreKind {
    /// The kind name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretStore => "SecretStore",
            Self::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

/// References a SecretStore or ClusterSecretStore by name.
///
/// # Example
///
/// ```
/// use eso_core::api::{SecretStoreKind, SecretStoreRef};
///
/// let r: SecretStoreRef = serde_json::from_str(r#"{"name":"vault"}"#).unwrap();
/// assert_eq!(r.kind(), SecretStoreKind::SecretStore);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRef {
    /// Store name.
    #[serde(default)]
    pub name: String,
    /// Store kind; empty means `SecretStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SecretStoreKind>,
}

impl SecretStoreRef {
    /// The effective kind (`SecretStore` when unset).
    pub fn kind(&self) -> SecretStoreKind {
        self.kind.unwrap_or_default()
    }
}

/// Every generator kind a `generatorRef` may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[allow(missing_docs)]
pub enum GeneratorKind {
    ACRAccessToken,
    BeyondtrustWorkloadCredentialsDynamicSecret,
    ClusterGenerator,
    CloudsmithAccessToken,
    ECRAuthorizationToken,
    Fake,
    GCRAccessToken,
    GithubAccessToken,
    GitlabDeployToken,
    QuayAccessToken,
    Password,
    SSHKey,
    STSSessionToken,
    UUID,
    VaultDynamicSecret,
    Webhook,
    Grafana,
    MFA,
}

impl GeneratorKind {
    /// The kind name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ACRAccessToken => "ACRAccessToken",
            Self::BeyondtrustWorkloadCredentialsDynamicSecret => {
                "BeyondtrustWorkloadCredentialsDynamicSecret"
            }
            Self::ClusterGenerator => "ClusterGenerator",
            Self::CloudsmithAccessToken => "CloudsmithAccessToken",
            Self::ECRAuthorizationToken => "ECRAuthorizationToken",
            Self::Fake => "Fake",
            Self::GCRAccessToken => "GCRAccessToken",
            Self::GithubAccessToken => "GithubAccessToken",
            Self::GitlabDeployToken => "GitlabDeployToken",
            Self::QuayAccessToken => "QuayAccessToken",
            Self::Password => "Password",
            Self::SSHKey => "SSHKey",
            Self::STSSessionToken => "STSSessionToken",
            Self::UUID => "UUID",
            Self::VaultDynamicSecret => "VaultDynamicSecret",
            Self::Webhook => "Webhook",
            Self::Grafana => "Grafana",
            Self::MFA => "MFA",
        }
    }
}

/// The API version of the generator kinds.
pub const GENERATORS_API_VERSION: &str = "generators.external-secrets.io/v1alpha1";

fn default_generator_api_version() -> String {
    GENERATORS_API_VERSION.to_owned()
}

/// References a generator (`sourceRef.generatorRef`, PushSecret `selector.generatorRef`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GeneratorRef {
    /// API version of the generator; must be in the generators group.
    #[serde(default = "default_generator_api_version")]
    pub api_version: String,
    /// Generator kind.
    pub kind: GeneratorKind,
    /// Generator name.
    pub name: String,
}

impl GeneratorRef {
    /// Checks the API group and name; records errors under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if !self
            .api_version
            .starts_with("generators.external-secrets.io/")
        {
            errors.push(
                format!("{path}.apiVersion"),
                format!(
                    "{:?} is not in the generators.external-secrets.io group",
                    self.api_version
                ),
            );
        }
        if !is_dns1123_subdomain(&self.name) {
            errors.push(format!("{path}.name"), "must be a DNS-1123 subdomain");
        }
    }
}

/// Where a CA certificate comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum CAProviderType {
    /// A key of a Secret.
    Secret,
    /// A key of a ConfigMap.
    ConfigMap,
}

/// A CA certificate held in a Secret or ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CAProvider {
    /// Secret or ConfigMap.
    #[serde(rename = "type")]
    pub type_: CAProviderType,
    /// Object name.
    pub name: String,
    /// Key holding the PEM bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Object namespace (ClusterSecretStore only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Retry settings of a store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRetrySettings {
    /// Maximum retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i32>,
    /// Interval between retries (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
}

/// A status condition as ESO writes it (`type`, `status`, `reason`, `message`, times).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339 time of the last status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// The CRD schema of a field holding any JSON value, kept as it is (ESO's
/// `apiextensions.JSON`): the API server needs `x-kubernetes-preserve-unknown-fields` there.
#[cfg(feature = "kube")]
pub(crate) fn free_form_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}
