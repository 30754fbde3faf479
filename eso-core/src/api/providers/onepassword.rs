//! `spec.provider.onepassword`: 1Password through a 1Password Connect server.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StoreScope, check_secret};
use crate::api::meta::SecretKeySelector;
use crate::api::validation::ValidationErrors;

/// 1Password Connect provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::OnePasswordProvider;
///
/// let p: OnePasswordProvider = serde_json::from_str(
///     r#"{"connectHost":"https://connect.example.com","vaults":{"prod":1,"shared":2},
///         "auth":{"secretRef":{"connectTokenSecretRef":{"name":"op","key":"token"}}}}"#,
/// ).unwrap();
/// assert_eq!(p.vaults_in_order(), ["prod", "shared"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OnePasswordProvider {
    /// How to authenticate to the Connect server.
    pub auth: OnePasswordAuth,
    /// The Connect server's URL.
    pub connect_host: String,
    /// The vaults to search (by name or ID), each with its place in the search order (lower
    /// first; the numbers must be unique).
    pub vaults: BTreeMap<String, i64>,
}

/// The Connect server's credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OnePasswordAuth {
    /// Secret references.
    pub secret_ref: OnePasswordAuthSecretRef,
}

/// Where the Connect token is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OnePasswordAuthSecretRef {
    /// The Secret key holding the Connect server's access token.
    #[serde(rename = "connectTokenSecretRef")]
    pub connect_token: SecretKeySelector,
}

impl OnePasswordProvider {
    /// The vault names in search order (ascending order number).
    pub fn vaults_in_order(&self) -> Vec<&str> {
        let mut v: Vec<(&str, i64)> = self.vaults.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by_key(|(_, n)| *n);
        v.into_iter().map(|(k, _)| k).collect()
    }

    /// Applies the CRD schema's rules and the checks ESO's provider makes for a onepassword
    /// block at `path` in a store of `scope`: the token reference (name and key required,
    /// namespace rules), at least one vault, unique order numbers, an `http(s)` URL.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        let token = &self.auth.secret_ref.connect_token;
        let tp = format!("{path}.auth.secretRef.connectTokenSecretRef");
        if token.name.is_empty() {
            errors.push(format!("{tp}.name"), "is required");
        }
        if token.key.as_deref().unwrap_or_default().is_empty() {
            errors.push(format!("{tp}.key"), "is required");
        }
        check_secret(scope, token, &tp, errors);
        if self.vaults.is_empty() {
            errors.push(format!("{path}.vaults"), "must name at least one vault");
        }
        let mut seen: BTreeMap<i64, &str> = BTreeMap::new();
        for (name, n) in &self.vaults {
            if let Some(other) = seen.insert(*n, name) {
                errors.push(
                    format!("{path}.vaults.{name}"),
                    format!(
                        "order number {n} is also used by vault {other:?}; numbers must be unique"
                    ),
                );
            }
        }
        let host = self.connect_host.trim();
        if host.is_empty() {
            errors.push(format!("{path}.connectHost"), "is required");
        } else if !(host.starts_with("http://") || host.starts_with("https://"))
            || host.contains(char::is_whitespace)
        {
            errors.push(
                format!("{path}.connectHost"),
                "must be an http:// or https:// URL",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_fields() {
        let p: OnePasswordProvider = serde_json::from_value(serde_json::json!({
            "connectHost": "connect.local",
            "vaults": {"a": 1, "b": 1},
            "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op"}}}}))
        .unwrap();
        let mut e = ValidationErrors::new();
        p.validate_store(StoreScope::cluster(), "spec.provider.onepassword", &mut e);
        let e = e.into_result().unwrap_err().to_string();
        let tp = "spec.provider.onepassword.auth.secretRef.connectTokenSecretRef";
        assert!(e.contains(&format!("{tp}.key: is required")), "{e}");
        assert!(e.contains(&format!("{tp}.namespace")), "{e}");
        assert!(
            e.contains("spec.provider.onepassword.vaults.b: order number 1"),
            "{e}"
        );
        assert!(
            e.contains("spec.provider.onepassword.connectHost: must be"),
            "{e}"
        );

        let p: OnePasswordProvider = serde_json::from_value(serde_json::json!({
            "connectHost": "https://connect.local:8443", "vaults": {"z": 2, "a": 3, "m": 1},
            "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}))
        .unwrap();
        let mut e = ValidationErrors::new();
        p.validate_store(StoreScope::namespaced(Some("apps")), "p", &mut e);
        assert!(e.into_result().is_ok());
        assert_eq!(p.vaults_in_order(), ["m", "z", "a"]);
    }
}
