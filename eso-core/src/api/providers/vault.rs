//! `spec.provider.vault`: HashiCorp Vault KV v1/v2.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    StoreScope, check_ca_provider_format, check_referent_secret, check_referent_service_account,
    require_non_empty,
};
use crate::api::meta::{CAProvider, SecretKeySelector, ServiceAccountSelector};
use crate::api::validation::ValidationErrors;

/// KV secrets engine version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum VaultKvVersion {
    /// KV version 1.
    #[serde(rename = "v1")]
    V1,
    /// KV version 2 (the default).
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// Vault provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::{VaultKvVersion, VaultProvider};
///
/// let v: VaultProvider = serde_json::from_str(
///     r#"{"server":"https://vault:8200","path":"secret","auth":{"tokenSecretRef":{"name":"t","key":"token"}}}"#,
/// ).unwrap();
/// assert_eq!(v.version, VaultKvVersion::V2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultProvider {
    /// How to authenticate with Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<VaultAuth>,
    /// Vault address, e.g. `https://vault.example.com:8200`.
    pub server: String,
    /// Mount path of the KV engine, e.g. `secret` (a `/data` suffix is optional for v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// KV engine version (default `v2`).
    #[serde(default)]
    pub version: VaultKvVersion,
    /// Vault Enterprise namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// PEM CA bundle for the server certificate (plain PEM or base64 of it, as in the CRD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Client certificate for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<VaultClientTls>,
    /// Where to read the CA bundle from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
    /// Send replication state with each request (read-after-write consistency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_your_writes: Option<bool>,
    /// Ask Vault to forward inconsistent reads to the active node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_inconsistent: Option<bool>,
    /// Extra HTTP headers sent with every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Check-and-set settings for pushes (KV v2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_and_set: Option<VaultCheckAndSet>,
}

/// Client TLS material for mutual TLS with Vault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultClientTls {
    /// Client certificate (default key `tls.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<SecretKeySelector>,
    /// Client private key (default key `tls.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret_ref: Option<SecretKeySelector>,
}

/// Check-and-set settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultCheckAndSet {
    /// When true every write carries a `cas` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// How to authenticate with Vault. ESO tries the methods in field order (token, appRole,
/// kubernetes, ldap, userPass, jwt, cert, iam, gcp) and uses the first one configured.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultAuth {
    /// Vault namespace to log in to (defaults to the provider's namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A static token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    /// AppRole login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    /// Kubernetes auth method login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<VaultKubernetesAuth>,
    /// LDAP login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap: Option<VaultLdapAuth>,
    /// JWT/OIDC login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<VaultJwtAuth>,
    /// TLS certificate login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<VaultCertAuth>,
    /// AWS IAM login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<VaultIamAuth>,
    /// Username/password login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pass: Option<VaultUserPassAuth>,
    /// Google Cloud login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<VaultGcpAuth>,
}

impl VaultAuth {
    /// The name of the auth method ESO would use (first configured in ESO's order), if any.
    pub fn method(&self) -> Option<&'static str> {
        if self.token_secret_ref.is_some() {
            Some("tokenSecretRef")
        } else if self.app_role.is_some() {
            Some("appRole")
        } else if self.kubernetes.is_some() {
            Some("kubernetes")
        } else if self.ldap.is_some() {
            Some("ldap")
        } else if self.user_pass.is_some() {
            Some("userPass")
        } else if self.jwt.is_some() {
            Some("jwt")
        } else if self.cert.is_some() {
            Some("cert")
        } else if self.iam.is_some() {
            Some("iam")
        } else if self.gcp.is_some() {
            Some("gcp")
        } else {
            None
        }
    }
}

fn default_approle_path() -> String {
    "approle".to_owned()
}
fn default_kubernetes_mount() -> String {
    "kubernetes".to_owned()
}
fn default_ldap_path() -> String {
    "ldap".to_owned()
}
fn default_userpass_path() -> String {
    "userpass".to_owned()
}
fn default_jwt_path() -> String {
    "jwt".to_owned()
}
fn default_cert_path() -> String {
    "cert".to_owned()
}
fn default_gcp_path() -> String {
    "gcp".to_owned()
}

/// AppRole login: role ID inline or from a Secret, secret ID from a Secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultAppRole {
    /// Mount path of the AppRole backend (default `approle`).
    #[serde(default = "default_approle_path")]
    pub path: String,
    /// The role ID, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// The role ID, from a Secret (used when `roleId` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ref: Option<SecretKeySelector>,
    /// The secret ID.
    pub secret_ref: SecretKeySelector,
}

/// Kubernetes auth method login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesAuth {
    /// Mount path of the Kubernetes backend (default `kubernetes`).
    #[serde(default = "default_kubernetes_mount")]
    pub mount_path: String,
    /// ServiceAccount whose token is requested through the TokenRequest API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// A Secret holding a ServiceAccount token (default key `token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// The Vault role.
    pub role: String,
}

/// LDAP login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultLdapAuth {
    /// Mount path of the LDAP backend (default `ldap`).
    #[serde(default = "default_ldap_path")]
    pub path: String,
    /// LDAP user name.
    pub username: String,
    /// The password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// Username/password login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultUserPassAuth {
    /// Mount path of the userpass backend (default `userpass`).
    #[serde(default = "default_userpass_path")]
    pub path: String,
    /// User name.
    pub username: String,
    /// The password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// JWT/OIDC login with a token from a Secret or from the TokenRequest API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultJwtAuth {
    /// Mount path of the JWT backend (default `jwt`).
    #[serde(default = "default_jwt_path")]
    pub path: String,
    /// The Vault role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A Secret holding the JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// A ServiceAccount token requested through the TokenRequest API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_service_account_token: Option<VaultKubernetesServiceAccountTokenAuth>,
}

/// A ServiceAccount token requested for JWT login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesServiceAccountTokenAuth {
    /// The ServiceAccount.
    pub service_account_ref: ServiceAccountSelector,
    /// Token audiences (deprecated; default `["vault"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Token lifetime in seconds (deprecated; default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i64>,
}

/// TLS certificate login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultCertAuth {
    /// Mount path of the cert backend (default `cert`).
    #[serde(default = "default_cert_path")]
    pub path: String,
    /// The Vault role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_role: Option<String>,
    /// The client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<SecretKeySelector>,
    /// The client private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// AWS IAM login (signed `sts:GetCallerIdentity`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultIamAuth {
    /// Mount path of the AWS backend (ESO uses `aws` when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// AWS region (ESO uses `us-east-1` when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// AWS role to assume before logging in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The Vault role.
    pub vault_role: String,
    /// External ID for the assumed role.
    #[serde(
        default,
        rename = "externalID",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Value of the `X-Vault-AWS-IAM-Server-ID` header.
    #[serde(
        default,
        rename = "vaultAwsIamServerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub vault_aws_iam_server_id: Option<String>,
    /// Static AWS credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<VaultAwsAuthSecretRef>,
    /// A ServiceAccount with IRSA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<VaultAwsJwtAuth>,
}

/// Static AWS credentials held in Secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct VaultAwsAuthSecretRef {
    /// The access key ID.
    #[serde(
        default,
        rename = "accessKeyIDSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_key_id: Option<SecretKeySelector>,
    /// The secret access key.
    #[serde(
        default,
        rename = "secretAccessKeySecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_access_key: Option<SecretKeySelector>,
    /// The session token (temporary credentials).
    #[serde(
        default,
        rename = "sessionTokenSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_token: Option<SecretKeySelector>,
}

/// A ServiceAccount used to obtain AWS credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultAwsJwtAuth {
    /// The ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

/// Google Cloud login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VaultGcpAuth {
    /// Mount path of the GCP backend (default `gcp`).
    #[serde(default = "default_gcp_path")]
    pub path: String,
    /// The Vault role.
    pub role: String,
    /// GCP project ID.
    #[serde(default, rename = "projectID", skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// GCP location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// A service account key held in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<super::GcpSmAuthSecretRef>,
    /// GKE Workload Identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<super::GcpWorkloadIdentity>,
    /// A ServiceAccount to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

impl VaultProvider {
    /// Applies ESO's admission rules for a Vault block at `path` (e.g. `spec.provider.vault`).
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        require_non_empty(&self.server, &format!("{path}.server"), errors);
        if let Some(ca) = &self.ca_provider {
            check_ca_provider_format(ca, &format!("{path}.caProvider"), errors);
        }
        if let Some(auth) = &self.auth {
            auth.validate_store(scope, &format!("{path}.auth"), errors);
        }
        if let Some(tls) = &self.tls {
            let p = format!("{path}.tls");
            match (&tls.cert_secret_ref, &tls.key_secret_ref) {
                (Some(cert), Some(key)) => {
                    check_referent_secret(scope, cert, &format!("{p}.certSecretRef"), errors);
                    check_referent_secret(scope, key, &format!("{p}.keySecretRef"), errors);
                }
                (None, None) => {}
                _ => errors.push(p, "certSecretRef and keySecretRef must be set together"),
            }
        }
        let cas = self
            .check_and_set
            .as_ref()
            .and_then(|c| c.required)
            .unwrap_or(false);
        if cas && self.version == VaultKvVersion::V1 {
            errors.push(
                format!("{path}.checkAndSet.required"),
                "check-and-set needs KV version v2",
            );
        }
    }
}

impl VaultAuth {
    /// Applies ESO's admission rules for the auth block at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        let sec = |sel: &SecretKeySelector, p: String, errors: &mut ValidationErrors| {
            check_referent_secret(scope, sel, &p, errors);
        };
        if let Some(t) = &self.token_secret_ref {
            sec(t, format!("{path}.tokenSecretRef"), errors);
        }
        if let Some(a) = &self.app_role {
            let p = format!("{path}.appRole");
            sec(&a.secret_ref, format!("{p}.secretRef"), errors);
            if a.role_id.as_deref().unwrap_or("").is_empty() {
                match &a.role_ref {
                    Some(r) => sec(r, format!("{p}.roleRef"), errors),
                    None => errors.push(p, "one of roleId or roleRef is required"),
                }
            }
        }
        if let Some(k) = &self.kubernetes {
            let p = format!("{path}.kubernetes");
            if let Some(sa) = &k.service_account_ref {
                check_referent_service_account(
                    scope,
                    sa,
                    &format!("{p}.serviceAccountRef"),
                    errors,
                );
            }
            if let Some(s) = &k.secret_ref {
                sec(s, format!("{p}.secretRef"), errors);
            }
        }
        if let Some(l) = &self.ldap {
            if let Some(s) = &l.secret_ref {
                sec(s, format!("{path}.ldap.secretRef"), errors);
            }
        }
        if let Some(u) = &self.user_pass {
            if let Some(s) = &u.secret_ref {
                sec(s, format!("{path}.userPass.secretRef"), errors);
            }
        }
        if let Some(j) = &self.jwt {
            let p = format!("{path}.jwt");
            if let Some(s) = &j.secret_ref {
                sec(s, format!("{p}.secretRef"), errors);
            } else if let Some(t) = &j.kubernetes_service_account_token {
                check_referent_service_account(
                    scope,
                    &t.service_account_ref,
                    &format!("{p}.kubernetesServiceAccountToken.serviceAccountRef"),
                    errors,
                );
            } else {
                errors.push(
                    p,
                    "one of secretRef or kubernetesServiceAccountToken is required",
                );
            }
        }
        if let Some(c) = &self.cert {
            let p = format!("{path}.cert");
            if let Some(s) = &c.client_cert {
                sec(s, format!("{p}.clientCert"), errors);
            }
            if let Some(s) = &c.secret_ref {
                sec(s, format!("{p}.secretRef"), errors);
            }
        }
        if let Some(i) = &self.iam {
            let p = format!("{path}.iam");
            if let Some(sa) = i.jwt.as_ref().and_then(|j| j.service_account_ref.as_ref()) {
                check_referent_service_account(
                    scope,
                    sa,
                    &format!("{p}.jwt.serviceAccountRef"),
                    errors,
                );
            }
            if let Some(s) = &i.secret_ref {
                s.validate_store(scope, &format!("{p}.secretRef"), errors);
            }
        }
        if let Some(g) = &self.gcp {
            let p = format!("{path}.gcp");
            if let Some(s) = g
                .secret_ref
                .as_ref()
                .and_then(|s| s.secret_access_key.as_ref())
            {
                sec(s, format!("{p}.secretRef.secretAccessKeySecretRef"), errors);
            }
            if let Some(w) = &g.workload_identity {
                check_referent_service_account(
                    scope,
                    &w.service_account_ref,
                    &format!("{p}.workloadIdentity.serviceAccountRef"),
                    errors,
                );
            }
            if let Some(sa) = &g.service_account_ref {
                check_referent_service_account(
                    scope,
                    sa,
                    &format!("{p}.serviceAccountRef"),
                    errors,
                );
            }
        }
    }
}

impl VaultAwsAuthSecretRef {
    /// Checks the three credential references at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        for (sel, name) in [
            (&self.access_key_id, "accessKeyIDSecretRef"),
            (&self.secret_access_key, "secretAccessKeySecretRef"),
            (&self.session_token, "sessionTokenSecretRef"),
        ] {
            if let Some(sel) = sel {
                check_referent_secret(scope, sel, &format!("{path}.{name}"), errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ns, paths};
    use super::*;

    fn parse(v: serde_json::Value) -> VaultProvider {
        serde_json::from_value(v).unwrap()
    }

    fn check(p: &VaultProvider, scope: StoreScope<'_>) -> Vec<String> {
        let mut e = ValidationErrors::new();
        p.validate_store(scope, "spec.provider.vault", &mut e);
        paths(&e)
    }

    #[test]
    fn defaults_are_applied() {
        let p = parse(serde_json::json!({
            "server": "https://v", "auth": {"appRole": {"roleId": "r", "secretRef": {"name": "s", "key": "k"}},
            "kubernetes": {"role": "r"}, "jwt": {"secretRef": {"name": "j"}}}
        }));
        assert_eq!(p.version, VaultKvVersion::V2);
        let auth = p.auth.as_ref().unwrap();
        assert_eq!(auth.app_role.as_ref().unwrap().path, "approle");
        assert_eq!(auth.kubernetes.as_ref().unwrap().mount_path, "kubernetes");
        assert_eq!(auth.jwt.as_ref().unwrap().path, "jwt");
        assert_eq!(auth.method(), Some("appRole"));
        assert!(check(&p, ns("a")).is_empty());
    }

    #[test]
    fn bad_version_is_rejected() {
        let r: Result<VaultProvider, _> =
            serde_json::from_value(serde_json::json!({"server": "https://v", "version": "v3"}));
        assert!(r.is_err());
    }

    #[test]
    fn server_required() {
        let p = parse(serde_json::json!({"server": ""}));
        assert_eq!(check(&p, ns("a")), ["spec.provider.vault.server"]);
        assert!(serde_json::from_value::<VaultProvider>(serde_json::json!({})).is_err());
    }

    #[test]
    fn approle_needs_role_id_or_ref() {
        let p = parse(serde_json::json!({"server": "https://v",
            "auth": {"appRole": {"secretRef": {"name": "s", "key": "k"}}}}));
        assert_eq!(check(&p, ns("a")), ["spec.provider.vault.auth.appRole"]);
    }

    #[test]
    fn jwt_needs_token_source() {
        let p = parse(serde_json::json!({"server": "https://v", "auth": {"jwt": {"role": "r"}}}));
        assert_eq!(check(&p, ns("a")), ["spec.provider.vault.auth.jwt"]);
    }

    #[test]
    fn foreign_namespace_in_namespaced_store() {
        let p = parse(serde_json::json!({"server": "https://v",
            "auth": {"tokenSecretRef": {"name": "t", "namespace": "other", "key": "k"},
                     "kubernetes": {"role": "r", "serviceAccountRef": {"name": "sa", "namespace": "other"}}}}));
        assert_eq!(
            check(&p, ns("mine")),
            [
                "spec.provider.vault.auth.tokenSecretRef.namespace",
                "spec.provider.vault.auth.kubernetes.serviceAccountRef.namespace"
            ]
        );
        assert!(check(&p, ns("other")).is_empty());
        assert!(check(&p, StoreScope::cluster()).is_empty());
        assert!(check(&p, StoreScope::namespaced(None)).is_empty());
    }

    #[test]
    fn tls_needs_both_halves() {
        let p = parse(
            serde_json::json!({"server": "https://v", "tls": {"certSecretRef": {"name": "c"}}}),
        );
        assert_eq!(check(&p, ns("a")), ["spec.provider.vault.tls"]);
    }

    #[test]
    fn cas_needs_v2() {
        let p = parse(
            serde_json::json!({"server": "https://v", "version": "v1", "checkAndSet": {"required": true}}),
        );
        assert_eq!(
            check(&p, ns("a")),
            ["spec.provider.vault.checkAndSet.required"]
        );
    }

    #[test]
    fn iam_secret_ref_formats() {
        let p = parse(serde_json::json!({"server": "https://v", "auth": {
            "iam": {"vaultRole": "r", "secretRef": {"accessKeyIDSecretRef": {"name": "Bad"}}}}}));
        assert_eq!(
            check(&p, ns("a")),
            ["spec.provider.vault.auth.iam.secretRef.accessKeyIDSecretRef.name"]
        );
        let missing: Result<VaultProvider, _> = serde_json::from_value(
            serde_json::json!({"server": "https://v", "auth": {"iam": {"region": "x"}}}),
        );
        assert!(missing.is_err(), "vaultRole is required by the CRD");
    }
}
