//! `spec.provider.infisical`: Infisical, through a machine identity.

use serde::{Deserialize, Serialize};

use super::{StoreScope, check_ca_provider_format, check_secret};
use crate::api::meta::{CAProvider, SecretKeySelector};
use crate::api::validation::ValidationErrors;

/// Infisical Cloud's API, the default `hostAPI`.
pub const INFISICAL_DEFAULT_HOST_API: &str = "https://app.infisical.com/api";

fn default_host_api() -> String {
    INFISICAL_DEFAULT_HOST_API.to_owned()
}

fn default_secrets_path() -> String {
    "/".to_owned()
}

fn default_true() -> bool {
    true
}

/// Infisical provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::InfisicalProvider;
///
/// let p: InfisicalProvider = serde_json::from_str(
///     r#"{"auth":{"universalAuthCredentials":{"clientId":{"name":"ua","key":"id"},
///                                             "clientSecret":{"name":"ua","key":"secret"}}},
///         "secretsScope":{"organizationSlug":"org","projectSlug":"app","environmentSlug":"dev"}}"#,
/// ).unwrap();
/// assert_eq!(p.host_api, "https://app.infisical.com/api");
/// assert_eq!(p.secrets_scope.secrets_path, "/");
/// assert!(p.secrets_scope.expand_secret_references);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalProvider {
    /// How the machine identity logs in (exactly one method).
    pub auth: InfisicalAuth,
    /// Which secrets the store reads and writes.
    pub secrets_scope: InfisicalSecretsScope,
    /// The API's base URL (default Infisical Cloud's).
    #[serde(default = "default_host_api", rename = "hostAPI")]
    pub host_api: String,
    /// PEM CA bundle (base64) for the API's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Where to read the CA bundle from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
}

/// The project, environment and folder a store works in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalSecretsScope {
    /// Folder path (default `/`).
    #[serde(default = "default_secrets_path")]
    pub secrets_path: String,
    /// Whether `find` also lists sub-folders.
    #[serde(default)]
    pub recursive: bool,
    /// Environment slug.
    pub environment_slug: String,
    /// Project slug.
    pub project_slug: String,
    /// Organization slug.
    #[serde(default)]
    pub organization_slug: String,
    /// Whether `${...}` references are expanded (default true).
    #[serde(default = "default_true")]
    pub expand_secret_references: bool,
}

/// Universal auth: a client ID and secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalUniversalAuth {
    /// Client ID.
    pub client_id: SecretKeySelector,
    /// Client secret.
    pub client_secret: SecretKeySelector,
}

/// Token auth: an access token issued to the identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalTokenAuth {
    /// The access token.
    pub access_token: SecretKeySelector,
}

/// Kubernetes auth: a ServiceAccount token presented for an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalKubernetesAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
    /// A Secret key holding the path of the ServiceAccount token file (ESO reads that file
    /// from the controller's file system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_token_path: Option<SecretKeySelector>,
}

/// JWT auth: a JWT presented for an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalJwtAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
    /// The JWT.
    pub jwt: SecretKeySelector,
}

/// LDAP auth: an LDAP user name and password presented for an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalLdapAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
    /// The LDAP password.
    pub ldap_password: SecretKeySelector,
    /// The LDAP user name.
    pub ldap_username: SecretKeySelector,
}

/// AWS IAM auth (`awsAuthCredentials`) and GCP ID-token auth (`gcpIdTokenAuthCredentials`):
/// the identity; the proof comes from the controller's cloud identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalIdentityAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
}

/// Azure auth: a managed-identity token presented for an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalAzureAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
    /// The resource the managed-identity token is for (unset: Azure Resource Manager).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<SecretKeySelector>,
}

/// GCP IAM auth: a JWT signed by IAM for the service account of a key file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalGcpIamAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
    /// A Secret key holding the path of a service-account JSON key file on the controller.
    pub service_account_key_file_path: SecretKeySelector,
}

/// OCI auth: a request signed with an OCI user's API key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalOciAuth {
    /// The identity's ID.
    pub identity_id: SecretKeySelector,
    /// The API key (PEM).
    pub private_key: SecretKeySelector,
    /// The API key's passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_passphrase: Option<SecretKeySelector>,
    /// The API key's fingerprint.
    pub fingerprint: SecretKeySelector,
    /// The user's OCID.
    pub user_id: SecretKeySelector,
    /// The tenancy's OCID.
    pub tenancy_id: SecretKeySelector,
    /// The OCI region.
    pub region: SecretKeySelector,
}

/// The machine-identity auth methods (exactly one is set).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InfisicalAuth {
    /// Universal auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universal_auth_credentials: Option<InfisicalUniversalAuth>,
    /// Token auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_auth_credentials: Option<InfisicalTokenAuth>,
    /// Kubernetes auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_auth_credentials: Option<InfisicalKubernetesAuth>,
    /// Azure auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_auth_credentials: Option<InfisicalAzureAuth>,
    /// GCP ID-token auth.
    #[serde(
        default,
        rename = "gcpIdTokenAuthCredentials",
        skip_serializing_if = "Option::is_none"
    )]
    pub gcp_id_token_auth_credentials: Option<InfisicalIdentityAuth>,
    /// GCP IAM auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_iam_auth_credentials: Option<InfisicalGcpIamAuth>,
    /// JWT auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_auth_credentials: Option<InfisicalJwtAuth>,
    /// LDAP auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_auth_credentials: Option<InfisicalLdapAuth>,
    /// OCI auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_auth_credentials: Option<InfisicalOciAuth>,
    /// AWS IAM auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_auth_credentials: Option<InfisicalIdentityAuth>,
}

impl InfisicalAuth {
    /// The keys of the methods that are set, in CRD order.
    pub fn methods(&self) -> Vec<&'static str> {
        let set = [
            (
                self.universal_auth_credentials.is_some(),
                "universalAuthCredentials",
            ),
            (
                self.azure_auth_credentials.is_some(),
                "azureAuthCredentials",
            ),
            (
                self.gcp_id_token_auth_credentials.is_some(),
                "gcpIdTokenAuthCredentials",
            ),
            (
                self.gcp_iam_auth_credentials.is_some(),
                "gcpIamAuthCredentials",
            ),
            (self.jwt_auth_credentials.is_some(), "jwtAuthCredentials"),
            (self.ldap_auth_credentials.is_some(), "ldapAuthCredentials"),
            (self.oci_auth_credentials.is_some(), "ociAuthCredentials"),
            (
                self.kubernetes_auth_credentials.is_some(),
                "kubernetesAuthCredentials",
            ),
            (self.aws_auth_credentials.is_some(), "awsAuthCredentials"),
            (
                self.token_auth_credentials.is_some(),
                "tokenAuthCredentials",
            ),
        ];
        set.iter().filter(|(on, _)| *on).map(|(_, k)| *k).collect()
    }

    /// Every Secret reference of the methods that are set, with its path under `auth`
    /// (`ociAuthCredentials.privateKey`): the keys the store reads when it logs in.
    pub fn secret_refs(&self) -> Vec<(String, &SecretKeySelector)> {
        let mut refs: Vec<(&str, &str, &SecretKeySelector)> = Vec::new();
        if let Some(u) = &self.universal_auth_credentials {
            refs.push(("universalAuthCredentials", "clientId", &u.client_id));
            refs.push(("universalAuthCredentials", "clientSecret", &u.client_secret));
        }
        if let Some(t) = &self.token_auth_credentials {
            refs.push(("tokenAuthCredentials", "accessToken", &t.access_token));
        }
        if let Some(k) = &self.kubernetes_auth_credentials {
            let m = "kubernetesAuthCredentials";
            refs.push((m, "identityId", &k.identity_id));
            if let Some(path) = &k.service_account_token_path {
                refs.push((m, "serviceAccountTokenPath", path));
            }
        }
        if let Some(a) = &self.azure_auth_credentials {
            refs.push(("azureAuthCredentials", "identityId", &a.identity_id));
            if let Some(r) = &a.resource {
                refs.push(("azureAuthCredentials", "resource", r));
            }
        }
        if let Some(g) = &self.gcp_id_token_auth_credentials {
            refs.push(("gcpIdTokenAuthCredentials", "identityId", &g.identity_id));
        }
        if let Some(g) = &self.gcp_iam_auth_credentials {
            let m = "gcpIamAuthCredentials";
            refs.push((m, "identityId", &g.identity_id));
            refs.push((
                m,
                "serviceAccountKeyFilePath",
                &g.service_account_key_file_path,
            ));
        }
        if let Some(j) = &self.jwt_auth_credentials {
            refs.push(("jwtAuthCredentials", "identityId", &j.identity_id));
            refs.push(("jwtAuthCredentials", "jwt", &j.jwt));
        }
        if let Some(l) = &self.ldap_auth_credentials {
            let m = "ldapAuthCredentials";
            refs.push((m, "identityId", &l.identity_id));
            refs.push((m, "ldapUsername", &l.ldap_username));
            refs.push((m, "ldapPassword", &l.ldap_password));
        }
        if let Some(o) = &self.oci_auth_credentials {
            let m = "ociAuthCredentials";
            refs.push((m, "identityId", &o.identity_id));
            refs.push((m, "privateKey", &o.private_key));
            if let Some(pass) = &o.private_key_passphrase {
                refs.push((m, "privateKeyPassphrase", pass));
            }
            refs.push((m, "fingerprint", &o.fingerprint));
            refs.push((m, "userId", &o.user_id));
            refs.push((m, "tenancyId", &o.tenancy_id));
            refs.push((m, "region", &o.region));
        }
        if let Some(a) = &self.aws_auth_credentials {
            refs.push(("awsAuthCredentials", "identityId", &a.identity_id));
        }
        refs.into_iter()
            .map(|(method, field, sel)| (format!("{method}.{field}"), sel))
            .collect()
    }
}

impl InfisicalProvider {
    /// Applies the CRD schema's rules and the checks ESO's provider makes for an infisical
    /// block at `path` in a store of `scope`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        let s = &self.secrets_scope;
        for (v, f) in [
            (&s.environment_slug, "environmentSlug"),
            (&s.project_slug, "projectSlug"),
        ] {
            if v.is_empty() {
                errors.push(format!("{path}.secretsScope.{f}"), "is required");
            }
        }
        if self.host_api.is_empty() {
            errors.push(format!("{path}.hostAPI"), "must not be empty");
        }
        let methods = self.auth.methods();
        if methods.len() != 1 {
            errors.push(
                format!("{path}.auth"),
                format!(
                    "exactly one auth method must be set, found {}",
                    methods.len()
                ),
            );
        }
        for (field, sel) in self.auth.secret_refs() {
            check_secret(scope, sel, &format!("{path}.auth.{field}"), errors);
        }
        if let Some(ca) = &self.ca_provider {
            check_ca_provider_format(ca, &format!("{path}.caProvider"), errors);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `p`'s validation errors in a store of `scope`, as one text (`Ok` when valid).
    fn check(p: &InfisicalProvider, scope: StoreScope<'_>) -> Result<(), String> {
        let mut e = ValidationErrors::new();
        p.validate_store(scope, "spec.provider.infisical", &mut e);
        e.into_result().map_err(|e| e.to_string())
    }

    #[test]
    fn rules_name_fields() {
        let p: InfisicalProvider = serde_json::from_value(serde_json::json!({
            "auth": {"universalAuthCredentials": {"clientId": {"name": "a", "key": "id"},
                "clientSecret": {"name": "a", "key": "s"}},
                "tokenAuthCredentials": {"accessToken": {"name": "t", "key": "k"}}},
            "secretsScope": {"projectSlug": "", "environmentSlug": "dev"}}))
        .unwrap();
        let e = check(&p, StoreScope::namespaced(Some("ns"))).unwrap_err();
        assert!(
            e.contains("spec.provider.infisical.auth: exactly one auth method"),
            "{e}"
        );
        assert!(
            e.contains("spec.provider.infisical.secretsScope.projectSlug"),
            "{e}"
        );
        // The cloud-identity methods are typed and round-trip.
        let sel = |k: &str| serde_json::json!({"name": "oci", "key": k});
        let raw = serde_json::json!({"auth": {"ociAuthCredentials": {
                "identityId": sel("id"), "privateKey": sel("key"), "fingerprint": sel("fp"),
                "userId": sel("user"), "tenancyId": sel("tenancy"), "region": sel("region")}},
            "secretsScope": {"projectSlug": "p", "environmentSlug": "dev"}});
        let p: InfisicalProvider = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(p.auth.methods(), ["ociAuthCredentials"]);
        let oci = p.auth.oci_auth_credentials.as_ref().unwrap();
        assert_eq!(oci.fingerprint.key.as_deref(), Some("fp"));
        assert_eq!(serde_json::to_value(&p).unwrap()["auth"], raw["auth"]);
        // A block without its identity is refused, naming the field.
        let bad = serde_json::json!({"auth": {"awsAuthCredentials": {}},
            "secretsScope": {"projectSlug": "p", "environmentSlug": "dev"}});
        let e = serde_json::from_value::<InfisicalProvider>(bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("identityId"), "{e}");
    }

    #[test]
    fn cloud_methods_follow_the_referent_rules() {
        let sel = |k: &str| serde_json::json!({"name": "creds", "key": k});
        let foreign =
            |k: &str| serde_json::json!({"name": "creds", "key": k, "namespace": "other"});
        let auths = [
            (
                serde_json::json!({"ociAuthCredentials": {"identityId": sel("id"),
                    "privateKey": foreign("key"), "fingerprint": sel("fp"), "userId": sel("u"),
                    "tenancyId": sel("t"), "region": sel("r")}}),
                "ociAuthCredentials.privateKey",
            ),
            (
                serde_json::json!({"gcpIamAuthCredentials": {"identityId": sel("id"),
                    "serviceAccountKeyFilePath": foreign("path")}}),
                "gcpIamAuthCredentials.serviceAccountKeyFilePath",
            ),
            (
                serde_json::json!({"azureAuthCredentials": {"identityId": sel("id"),
                    "resource": foreign("res")}}),
                "azureAuthCredentials.resource",
            ),
            (
                serde_json::json!({"awsAuthCredentials": {"identityId": foreign("id")}}),
                "awsAuthCredentials.identityId",
            ),
            (
                serde_json::json!({"gcpIdTokenAuthCredentials": {"identityId": foreign("id")}}),
                "gcpIdTokenAuthCredentials.identityId",
            ),
        ];
        for (auth, field) in auths {
            let p: InfisicalProvider = serde_json::from_value(serde_json::json!({"auth": auth,
                "secretsScope": {"projectSlug": "p", "environmentSlug": "dev"}}))
            .unwrap();
            let e = check(&p, StoreScope::namespaced(Some("ns"))).unwrap_err();
            let want = format!("spec.provider.infisical.auth.{field}.namespace");
            assert!(e.contains(&want), "{want}: {e}");
            // In a ClusterSecretStore every reference must name its namespace, and any
            // namespace is allowed.
            match check(&p, StoreScope::cluster()) {
                Ok(()) => assert!(field.ends_with(".identityId"), "{field}"),
                Err(e) => {
                    assert!(e.contains(".identityId.namespace"), "{field}: {e}");
                    assert!(!e.contains(&want), "{field}: {e}");
                }
            }
        }
    }
}
