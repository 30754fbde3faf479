//! `spec.provider.kubernetes`: Secrets of a (possibly remote) Kubernetes cluster.

use serde::{Deserialize, Serialize};

use super::{StoreScope, check_ca_provider_format, check_referent_service_account, check_secret};
use crate::api::meta::{CAProvider, SecretKeySelector, ServiceAccountSelector};
use crate::api::validation::{ValidationErrors, is_dns1123_label};

fn default_server_url() -> String {
    "kubernetes.default".to_owned()
}

fn default_remote_namespace() -> String {
    "default".to_owned()
}

/// Kubernetes provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::KubernetesProvider;
///
/// let k: KubernetesProvider = serde_json::from_str(
///     r#"{"server":{"caProvider":{"type":"ConfigMap","name":"kube-root-ca.crt","key":"ca.crt"}},
///         "auth":{"serviceAccount":{"name":"reader"}}}"#,
/// ).unwrap();
/// assert_eq!(k.remote_namespace, "default");
/// assert_eq!(k.server_url(), "kubernetes.default");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KubernetesProvider {
    /// API server address and CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<KubernetesServer>,
    /// How to authenticate (exactly one method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<KubernetesAuth>,
    /// A Secret key holding a kubeconfig (alternative to `auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_ref: Option<SecretKeySelector>,
    /// Namespace to read Secrets from (default `default`).
    #[serde(default = "default_remote_namespace")]
    pub remote_namespace: String,
}

impl Default for KubernetesProvider {
    fn default() -> Self {
        Self {
            server: None,
            auth: None,
            auth_ref: None,
            remote_namespace: default_remote_namespace(),
        }
    }
}

impl KubernetesProvider {
    /// The API server URL (`kubernetes.default` when unset).
    pub fn server_url(&self) -> &str {
        self.server
            .as_ref()
            .map_or("kubernetes.default", |s| s.url.as_str())
    }
}

/// API server connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KubernetesServer {
    /// Server address (default `kubernetes.default`).
    #[serde(default = "default_server_url")]
    pub url: String,
    /// CA certificate bundle (PEM, or base64 of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Where to read the CA bundle from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
}

impl Default for KubernetesServer {
    fn default() -> Self {
        Self {
            url: default_server_url(),
            ca_bundle: None,
            ca_provider: None,
        }
    }
}

/// Authentication to the API server; exactly one field must be set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KubernetesAuth {
    /// Client certificate and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<KubernetesCertAuth>,
    /// A static bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<KubernetesTokenAuth>,
    /// A ServiceAccount whose token is requested through the TokenRequest API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ServiceAccountSelector>,
}

/// Client certificate authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KubernetesCertAuth {
    /// The client certificate.
    pub client_cert: SecretKeySelector,
    /// The client private key.
    pub client_key: SecretKeySelector,
}

/// Bearer token authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KubernetesTokenAuth {
    /// The token.
    pub bearer_token: SecretKeySelector,
}

impl KubernetesProvider {
    /// Applies ESO's admission rules for a Kubernetes block at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        if !is_dns1123_label(&self.remote_namespace) {
            errors.push(
                format!("{path}.remoteNamespace"),
                "must be a DNS-1123 label",
            );
        }
        if let Some(ca) = self.server.as_ref().and_then(|s| s.ca_provider.as_ref()) {
            let p = format!("{path}.server.caProvider");
            check_ca_provider_format(ca, &p, errors);
            match (scope.is_cluster(), ca.namespace.is_some()) {
                (true, false) => errors.push(
                    format!("{p}.namespace"),
                    "is required in a ClusterSecretStore",
                ),
                (false, true) => {
                    errors.push(format!("{p}.namespace"), "must be empty in a SecretStore")
                }
                _ => {}
            }
        }
        if let Some(r) = &self.auth_ref {
            r.validate_at(&format!("{path}.authRef"), errors);
        }
        if let Some(auth) = &self.auth {
            let p = format!("{path}.auth");
            let set = [
                auth.cert.is_some(),
                auth.token.is_some(),
                auth.service_account.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if set != 1 {
                errors.push(
                    p.clone(),
                    format!(
                        "exactly one of cert, token or serviceAccount must be set, found {set}"
                    ),
                );
            }
            if let Some(c) = &auth.cert {
                let cp = format!("{p}.cert.clientCert");
                if c.client_cert.name.is_empty() {
                    errors.push(format!("{cp}.name"), "is required");
                }
                if c.client_cert.key.as_deref().unwrap_or("").is_empty() {
                    errors.push(format!("{cp}.key"), "is required");
                }
                check_secret(scope, &c.client_cert, &cp, errors);
                c.client_key
                    .validate_at(&format!("{p}.cert.clientKey"), errors);
            }
            if let Some(t) = &auth.token {
                let tp = format!("{p}.token.bearerToken");
                if t.bearer_token.name.is_empty() {
                    errors.push(format!("{tp}.name"), "is required");
                }
                if t.bearer_token.key.as_deref().unwrap_or("").is_empty() {
                    errors.push(format!("{tp}.key"), "is required");
                }
                check_secret(scope, &t.bearer_token, &tp, errors);
            }
            if let Some(sa) = &auth.service_account {
                check_referent_service_account(scope, sa, &format!("{p}.serviceAccount"), errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ns, paths};
    use super::*;

    fn check(v: serde_json::Value, scope: StoreScope<'_>) -> Vec<String> {
        let p: KubernetesProvider = serde_json::from_value(v).unwrap();
        let mut e = ValidationErrors::new();
        p.validate_store(scope, "spec.provider.kubernetes", &mut e);
        paths(&e)
    }

    #[test]
    fn server_default_only_inside_server() {
        let p: KubernetesProvider =
            serde_json::from_value(serde_json::json!({"server": {}})).unwrap();
        assert_eq!(p.server.as_ref().unwrap().url, "kubernetes.default");
        let p: KubernetesProvider = serde_json::from_value(serde_json::json!({})).unwrap();
        assert!(p.server.is_none());
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"remoteNamespace": "default"})
        );
    }

    #[test]
    fn auth_exactly_one() {
        let v = serde_json::json!({"auth": {"token": {"bearerToken": {"name": "t", "key": "k"}},
                                             "serviceAccount": {"name": "sa"}}});
        assert_eq!(check(v, ns("a")), ["spec.provider.kubernetes.auth"]);
        assert_eq!(
            check(serde_json::json!({"auth": {}}), ns("a")),
            ["spec.provider.kubernetes.auth"]
        );
    }

    #[test]
    fn token_needs_name_key_and_cluster_namespace() {
        let v = serde_json::json!({"auth": {"token": {"bearerToken": {"name": "t"}}}});
        assert_eq!(
            check(v.clone(), ns("a")),
            ["spec.provider.kubernetes.auth.token.bearerToken.key"]
        );
        assert_eq!(
            check(v, StoreScope::cluster()),
            [
                "spec.provider.kubernetes.auth.token.bearerToken.key",
                "spec.provider.kubernetes.auth.token.bearerToken.namespace"
            ]
        );
    }

    #[test]
    fn ca_provider_namespace_by_scope() {
        let with_ns = serde_json::json!({"server": {"caProvider": {"type": "Secret", "name": "ca", "namespace": "x"}}});
        let without =
            serde_json::json!({"server": {"caProvider": {"type": "Secret", "name": "ca"}}});
        assert_eq!(
            check(with_ns.clone(), ns("x")),
            ["spec.provider.kubernetes.server.caProvider.namespace"]
        );
        assert!(check(with_ns, StoreScope::cluster()).is_empty());
        assert!(check(without.clone(), ns("x")).is_empty());
        assert_eq!(
            check(without, StoreScope::cluster()),
            ["spec.provider.kubernetes.server.caProvider.namespace"]
        );
    }

    #[test]
    fn bad_remote_namespace() {
        assert_eq!(
            check(serde_json::json!({"remoteNamespace": "Not_OK"}), ns("a")),
            ["spec.provider.kubernetes.remoteNamespace"]
        );
    }

    #[test]
    fn bad_ca_type_rejected() {
        let r: Result<KubernetesProvider, _> = serde_json::from_value(
            serde_json::json!({"server": {"caProvider": {"type": "Vault", "name": "ca"}}}),
        );
        assert!(r.is_err());
    }
}
