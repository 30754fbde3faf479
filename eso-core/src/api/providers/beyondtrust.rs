//! `beyondtrustWorkloadCredentials`: the connection block of BeyondTrust Workload Credentials
//! (the Secrets API), as the `BeyondtrustWorkloadCredentialsDynamicSecret` generator holds it.

use serde::{Deserialize, Serialize};

use super::{check_ca_provider_format, require_non_empty};
use crate::api::meta::{CAProvider, SecretKeySelector};
use crate::api::validation::ValidationErrors;

/// The API token of BeyondTrust Workload Credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct BeyondtrustWorkloadCredentialsAuthSecretRef {
    /// The Secret key holding the API token (sent as a bearer token).
    pub token: SecretKeySelector,
}

/// How eso-rs authenticates to BeyondTrust Workload Credentials (an API token only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct BeyondtrustWorkloadCredentialsAuth {
    /// API token authentication.
    #[serde(rename = "apikey")]
    pub api_key: BeyondtrustWorkloadCredentialsAuthSecretRef,
}

/// Where BeyondTrust Workload Credentials answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BeyondtrustWorkloadCredentialsServer {
    /// Base URL of the API, e.g. `https://api.beyondtrust.io/siie`.
    pub api_url: String,
    /// The site's ID (a UUID); requests go to `{apiUrl}/{siteId}/secrets/...`.
    pub site_id: String,
}

/// The BeyondTrust Workload Credentials connection: auth, server, folder and trusted CA.
///
/// # Example
///
/// ```
/// use eso_core::api::BeyondtrustWorkloadCredentialsProvider;
///
/// let p: BeyondtrustWorkloadCredentialsProvider = serde_json::from_value(serde_json::json!({
///     "auth": {"apikey": {"token": {"name": "bt", "key": "token"}}},
///     "server": {"apiUrl": "https://api.beyondtrust.io/siie",
///                "siteId": "a1b2c3d4-e5f6-4890-abcd-ef1234567890"},
///     "folderPath": "production/aws-temp",
/// })).unwrap();
/// assert_eq!(p.folder_path, "production/aws-temp");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BeyondtrustWorkloadCredentialsProvider {
    /// Authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<BeyondtrustWorkloadCredentialsAuth>,
    /// API URL and site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<BeyondtrustWorkloadCredentialsServer>,
    /// Folder path; for the dynamic secret generator, the definition's path
    /// (`folder/.../name`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub folder_path: String,
    /// PEM CA bundle for the server certificate (plain PEM or base64 of it, as in the CRD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Where to read the CA bundle from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
}

impl BeyondtrustWorkloadCredentialsProvider {
    /// Records every format problem under `path` (required blocks and fields, the token and
    /// CA references). As with ESO, the API URL's scheme and the site ID's format are checked
    /// only when the generator runs.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        match &self.auth {
            None => errors.push(format!("{path}.auth"), "is required"),
            Some(a) => {
                let t = &a.api_key.token;
                let field = format!("{path}.auth.apikey.token");
                require_non_empty(&t.name, &format!("{field}.name"), errors);
                require_non_empty(
                    t.key.as_deref().unwrap_or_default(),
                    &format!("{field}.key"),
                    errors,
                );
                t.validate_at(&field, errors);
            }
        }
        match &self.server {
            None => errors.push(format!("{path}.server"), "is required"),
            Some(s) => {
                require_non_empty(s.api_url.trim(), &format!("{path}.server.apiUrl"), errors);
                require_non_empty(s.site_id.trim(), &format!("{path}.server.siteId"), errors);
            }
        }
        if let Some(ca) = &self.ca_provider {
            check_ca_provider_format(ca, &format!("{path}.caProvider"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_required_blocks_and_formats() {
        let p: BeyondtrustWorkloadCredentialsProvider = serde_json::from_value(serde_json::json!({
            "auth": {"apikey": {"token": {"name": "bt"}}},
            "server": {"apiUrl": "", "siteId": " "},
        }))
        .unwrap();
        let mut errors = ValidationErrors::new();
        p.validate_at("spec.provider", &mut errors);
        let text = errors.into_result().unwrap_err().to_string();
        for f in [
            "spec.provider.auth.apikey.token.key",
            "spec.provider.server.apiUrl",
            "spec.provider.server.siteId",
        ] {
            assert!(text.contains(f), "{f} missing in {text}");
        }
        let mut errors = ValidationErrors::new();
        BeyondtrustWorkloadCredentialsProvider::default().validate_at("p", &mut errors);
        let text = errors.into_result().unwrap_err().to_string();
        assert!(
            text.contains("p.auth") && text.contains("p.server"),
            "{text}"
        );
    }
}
