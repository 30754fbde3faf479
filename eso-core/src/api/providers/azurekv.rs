//! `spec.provider.azurekv`: Azure Key Vault.

use serde::{Deserialize, Serialize};

use super::{StoreScope, check_referent_secret, check_referent_service_account};
use crate::api::meta::{SecretKeySelector, ServiceAccountSelector};
use crate::api::validation::ValidationErrors;

/// How to authenticate to Azure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum AzureAuthType {
    /// Client ID plus secret or certificate (the default).
    #[default]
    ServicePrincipal,
    /// The pod's managed identity.
    ManagedIdentity,
    /// A Kubernetes ServiceAccount federated with Entra ID.
    WorkloadIdentity,
}

/// Which Azure cloud's endpoints to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum AzureEnvironmentType {
    /// Azure public cloud (the default).
    #[default]
    PublicCloud,
    /// Azure US Government.
    USGovernmentCloud,
    /// Azure China.
    ChinaCloud,
    /// Azure Germany.
    GermanCloud,
    /// Azure Stack Hub / Edge (needs `customCloudConfig`).
    AzureStackCloud,
}

/// Azure Key Vault provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::{AzureAuthType, AzureKvProvider};
///
/// let a: AzureKvProvider = serde_json::from_str(
///     r#"{"vaultUrl":"https://my.vault.azure.net","authType":"ManagedIdentity"}"#,
/// ).unwrap();
/// assert_eq!(a.auth_type, AzureAuthType::ManagedIdentity);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AzureKvProvider {
    /// Authentication type (default `ServicePrincipal`).
    #[serde(default)]
    pub auth_type: AzureAuthType,
    /// Vault URL, e.g. `https://my-vault.vault.azure.net`.
    pub vault_url: String,
    /// Tenant ID (service principal; optional for workload identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Cloud environment (default `PublicCloud`).
    #[serde(default)]
    pub environment_type: AzureEnvironmentType,
    /// Service principal credentials held in Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<AzureKvAuth>,
    /// ServiceAccount for workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Managed identity to use when several are assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
    /// Use the azcore-based SDK instead of go-autorest (default false).
    #[serde(default, rename = "useAzureSDK")]
    pub use_azure_sdk: bool,
    /// Custom cloud endpoints (needs `useAzureSDK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_cloud_config: Option<AzureCustomCloudConfig>,
}

/// Service principal credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AzureKvAuth {
    /// Client ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretKeySelector>,
    /// Tenant ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<SecretKeySelector>,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeySelector>,
    /// Client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<SecretKeySelector>,
}

/// Endpoints of a non-standard Azure cloud.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AzureCustomCloudConfig {
    /// Entra ID (AAD) endpoint.
    pub active_directory_endpoint: String,
    /// Key Vault endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_vault_endpoint: Option<String>,
    /// Key Vault DNS suffix.
    #[serde(
        default,
        rename = "keyVaultDNSSuffix",
        skip_serializing_if = "Option::is_none"
    )]
    pub key_vault_dns_suffix: Option<String>,
    /// Resource Manager endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_manager_endpoint: Option<String>,
}

impl AzureKvProvider {
    /// Applies ESO's admission rules for an Azure block at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        if let Some(a) = &self.auth_secret_ref {
            for (sel, name) in [
                (&a.client_id, "clientId"),
                (&a.tenant_id, "tenantId"),
                (&a.client_secret, "clientSecret"),
                (&a.client_certificate, "clientCertificate"),
            ] {
                if let Some(sel) = sel {
                    check_referent_secret(
                        scope,
                        sel,
                        &format!("{path}.authSecretRef.{name}"),
                        errors,
                    );
                }
            }
        }
        if let Some(sa) = &self.service_account_ref {
            check_referent_service_account(scope, sa, &format!("{path}.serviceAccountRef"), errors);
        }
        if let Some(c) = &self.custom_cloud_config {
            let p = format!("{path}.customCloudConfig");
            if !self.use_azure_sdk {
                errors.push(p.clone(), "requires useAzureSDK: true");
            }
            if c.active_directory_endpoint.is_empty() {
                errors.push(format!("{p}.activeDirectoryEndpoint"), "is required");
            }
        }
        if self.environment_type == AzureEnvironmentType::AzureStackCloud
            && self.custom_cloud_config.is_none()
        {
            errors.push(
                format!("{path}.customCloudConfig"),
                "is required when environmentType is AzureStackCloud",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ns, paths};
    use super::*;

    fn check(v: serde_json::Value) -> Vec<String> {
        let p: AzureKvProvider = serde_json::from_value(v).unwrap();
        let mut e = ValidationErrors::new();
        p.validate_store(ns("a"), "spec.provider.azurekv", &mut e);
        paths(&e)
    }

    #[test]
    fn defaults() {
        let p: AzureKvProvider =
            serde_json::from_value(serde_json::json!({"vaultUrl": "https://v"})).unwrap();
        assert_eq!(p.auth_type, AzureAuthType::ServicePrincipal);
        assert_eq!(p.environment_type, AzureEnvironmentType::PublicCloud);
        assert!(!p.use_azure_sdk);
    }

    #[test]
    fn enums_rejected() {
        assert!(
            serde_json::from_value::<AzureKvProvider>(
                serde_json::json!({"vaultUrl": "v", "authType": "Password"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<AzureKvProvider>(
                serde_json::json!({"vaultUrl": "v", "environmentType": "Mars"})
            )
            .is_err()
        );
    }

    #[test]
    fn custom_cloud_rules() {
        assert_eq!(
            check(
                serde_json::json!({"vaultUrl": "v", "customCloudConfig": {"activeDirectoryEndpoint": ""}})
            ),
            [
                "spec.provider.azurekv.customCloudConfig",
                "spec.provider.azurekv.customCloudConfig.activeDirectoryEndpoint"
            ]
        );
        assert_eq!(
            check(serde_json::json!({"vaultUrl": "v", "environmentType": "AzureStackCloud"})),
            ["spec.provider.azurekv.customCloudConfig"]
        );
        assert!(check(serde_json::json!({"vaultUrl": "v", "environmentType": "AzureStackCloud", "useAzureSDK": true,
            "customCloudConfig": {"activeDirectoryEndpoint": "https://login.local"}})).is_empty());
    }

    #[test]
    fn referent_rules() {
        assert_eq!(
            check(
                serde_json::json!({"vaultUrl": "v", "authSecretRef": {"clientSecret": {"name": "s", "namespace": "x"}},
                "serviceAccountRef": {"name": "sa", "namespace": "x"}})
            ),
            [
                "spec.provider.azurekv.authSecretRef.clientSecret.namespace",
                "spec.provider.azurekv.serviceAccountRef.namespace"
            ]
        );
    }
}
