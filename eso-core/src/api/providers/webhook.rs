//! `spec.provider.webhook`: ESO's generic HTTP provider (any backend with an HTTP API).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StoreScope, check_ca_provider_format, check_referent_secret};
use crate::api::generators::{WebhookAuth, WebhookResult};
use crate::api::meta::{CAProvider, SecretKeySelector};
use crate::api::validation::{ValidationErrors, check_duration};

/// Webhook provider configuration: one HTTP call per read, built from Go templates over the
/// remote reference.
///
/// # Example
///
/// ```
/// use eso_core::api::WebhookProvider;
///
/// let w: WebhookProvider = serde_json::from_str(
///     r#"{"url":"https://api.example.com/secrets/{{ .remoteRef.key }}",
///         "headers":{"Authorization":"Bearer {{ .auth.token }}"},
///         "secrets":[{"name":"auth","secretRef":{"name":"webhook-credentials"}}],
///         "result":{"jsonPath":"$.value"},"timeout":"5s"}"#,
/// ).unwrap();
/// assert_eq!(w.result.json_path.as_deref(), Some("$.value"));
/// assert_eq!(w.secrets[0].secret_ref.name, "webhook-credentials");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookProvider {
    /// HTTP method (default `GET` for reads, `POST` for pushes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// URL (a template over `.remoteRef` and the `secrets`).
    pub url: String,
    /// Headers (templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Authentication (NTLM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<WebhookAuth>,
    /// Request body (a template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Request timeout (Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// How the response becomes the secret value.
    #[serde(default)]
    pub result: WebhookResult,
    /// Secrets available to the templates, each under its `name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<WebhookProviderSecret>,
    /// PEM CA bundle (base64) for the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Where to read the CA bundle from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<CAProvider>,
}

/// A Secret whose data the webhook templates see as `.<name>.<key>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookProviderSecret {
    /// The name the templates use.
    pub name: String,
    /// The Secret (its `key` is not used: every key of the Secret is available).
    pub secret_ref: SecretKeySelector,
}

impl WebhookProvider {
    /// Applies the CRD schema's rules (and the checks ESO makes when building the client)
    /// for a webhook block at `path` in a store of `scope`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        if self.url.is_empty() {
            errors.push(format!("{path}.url"), "is required");
        }
        if let Some(t) = &self.timeout {
            check_duration(errors, &format!("{path}.timeout"), t);
        }
        if let Some(a) = &self.auth {
            match &a.ntlm {
                Some(n) => {
                    let p = format!("{path}.auth.ntlm");
                    check_referent_secret(
                        scope,
                        &n.username_secret,
                        &format!("{p}.usernameSecret"),
                        errors,
                    );
                    check_referent_secret(
                        scope,
                        &n.password_secret,
                        &format!("{p}.passwordSecret"),
                        errors,
                    );
                }
                None => errors.push(
                    format!("{path}.auth"),
                    "exactly one protocol (ntlm) must be set",
                ),
            }
        }
        for (i, s) in self.secrets.iter().enumerate() {
            let p = format!("{path}.secrets[{i}]");
            if s.name.is_empty() {
                errors.push(format!("{p}.name"), "is required");
            }
            if s.secret_ref.name.is_empty() {
                errors.push(format!("{p}.secretRef.name"), "is required");
            } else if scope.foreign_namespace(s.secret_ref.namespace.as_deref()) {
                errors.push(
                    format!("{p}.secretRef.namespace"),
                    super::ERR_NAMESPACE_NOT_ALLOWED,
                );
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

    fn errors(v: serde_json::Value, scope: StoreScope<'_>) -> String {
        let w: WebhookProvider = serde_json::from_value(v).unwrap();
        let mut e = ValidationErrors::new();
        w.validate_store(scope, "spec.provider.webhook", &mut e);
        e.into_result()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn rules_name_fields() {
        let ns = StoreScope::namespaced(Some("apps"));
        assert!(errors(serde_json::json!({"url": "http://x"}), ns).is_empty());
        let e = errors(
            serde_json::json!({"url": "", "timeout": "soon", "auth": {},
                "secrets": [{"name": "", "secretRef": {"name": "s", "namespace": "other"}}]}),
            ns,
        );
        for field in [
            ".url",
            ".timeout",
            ".auth",
            ".secrets[0].name",
            ".secrets[0].secretRef.namespace",
        ] {
            assert!(
                e.contains(&format!("spec.provider.webhook{field}")),
                "{field}: {e}"
            );
        }
        assert!(errors(
            serde_json::json!({"url": "http://x", "secrets": [{"name": "a", "secretRef": {"name": "s", "namespace": "other"}}]}),
            StoreScope::cluster()
        )
        .is_empty());
    }
}
