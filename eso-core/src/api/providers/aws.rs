//! `spec.provider.aws`: AWS Secrets Manager, Parameter Store and Certificate Manager.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{StoreScope, check_referent_secret, check_referent_service_account};
use crate::api::meta::{SecretKeySelector, ServiceAccountSelector};
use crate::api::validation::ValidationErrors;

/// Which AWS service a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum AwsServiceType {
    /// AWS Secrets Manager.
    SecretsManager,
    /// AWS Systems Manager Parameter Store.
    ParameterStore,
    /// AWS Certificate Manager.
    CertificateManager,
}

/// How STS session tags are added when assuming roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum AwsSessionTagsPolicy {
    /// No automatic tags (the default).
    #[default]
    None,
    /// Adds `esoNamespace`, `esoStoreName` and `esoStoreKind`.
    Simple,
    /// The `Simple` tags plus `customSessionTags`.
    Custom,
}

/// Tag keys ESO injects itself; `customSessionTags` may not use them.
pub const AWS_RESERVED_SESSION_TAGS: [&str; 3] = ["esoNamespace", "esoStoreName", "esoStoreKind"];

/// AWS provider configuration.
///
/// # Example
///
/// ```
/// use eso_core::api::{AwsProvider, AwsServiceType};
///
/// let a: AwsProvider = serde_json::from_str(
///     r#"{"service":"SecretsManager","region":"eu-central-1","role":"arn:aws:iam::123:role/eso"}"#,
/// ).unwrap();
/// assert_eq!(a.service, AwsServiceType::SecretsManager);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AwsProvider {
    /// The AWS service.
    pub service: AwsServiceType,
    /// Credentials; when unset the SDK default chain is used (IRSA, Pod Identity, env).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AwsAuth>,
    /// Role ARN to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// AWS region.
    pub region: String,
    /// Role ARNs assumed in order before `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_roles: Option<Vec<String>>,
    /// External ID for assumed roles.
    #[serde(
        default,
        rename = "externalID",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Session tags for AssumeRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_tags: Option<Vec<AwsSessionTag>>,
    /// Secrets Manager delete behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_manager: Option<AwsSecretsManager>,
    /// Transitive session tag keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitive_tag_keys: Option<Vec<String>>,
    /// Automatic session tags (default `None`).
    #[serde(default)]
    pub session_tags_policy: AwsSessionTagsPolicy,
    /// Extra session tags with policy `Custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_session_tags: Option<BTreeMap<String, String>>,
    /// Prefix prepended to every remote key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// AWS credentials: static keys from Secrets, or a ServiceAccount token (IRSA).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AwsAuth {
    /// Static credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AwsAuthSecretRef>,
    /// Web identity from a ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<AwsJwtAuth>,
}

/// Static AWS credentials held in Secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct AwsAuthSecretRef {
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

/// Web identity credentials from a ServiceAccount.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AwsJwtAuth {
    /// The ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

/// An STS session tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct AwsSessionTag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Secrets Manager delete behaviour (PushSecret with deletionPolicy Delete).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AwsSecretsManager {
    /// Delete without a recovery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_delete_without_recovery: Option<bool>,
    /// Recovery window in days (7 to 30; 0 means AWS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_window_in_days: Option<i64>,
}

/// Checks a region the way the AWS endpoint resolver does: dot-separated host labels, each
/// starting with a letter or digit and made of letters, digits and `-` (at most 63).
fn is_valid_region(r: &str) -> bool {
    r.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

impl AwsAuth {
    /// Checks the credential references at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        if let Some(s) = &self.secret_ref {
            for (sel, name) in [
                (&s.access_key_id, "accessKeyIDSecretRef"),
                (&s.secret_access_key, "secretAccessKeySecretRef"),
                (&s.session_token, "sessionTokenSecretRef"),
            ] {
                if let Some(sel) = sel {
                    check_referent_secret(scope, sel, &format!("{path}.secretRef.{name}"), errors);
                }
            }
        }
        if let Some(sa) = self
            .jwt
            .as_ref()
            .and_then(|j| j.service_account_ref.as_ref())
        {
            check_referent_service_account(
                scope,
                sa,
                &format!("{path}.jwt.serviceAccountRef"),
                errors,
            );
        }
    }
}

/// Checks an AWS region value at `path`.
pub(crate) fn check_region(region: &str, path: &str, errors: &mut ValidationErrors) {
    if !is_valid_region(region) {
        errors.push(path, format!("region {region:?} is not a valid AWS region"));
    }
}

impl AwsProvider {
    /// Applies ESO's admission rules for an AWS block at `path`.
    pub fn validate_store(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        check_region(&self.region, &format!("{path}.region"), errors);
        if let Some(sm) = &self.secrets_manager {
            let days = sm.recovery_window_in_days.unwrap_or(0);
            if days != 0 && !(7..=30).contains(&days) {
                errors.push(
                    format!("{path}.secretsManager.recoveryWindowInDays"),
                    "must be between 7 and 30",
                );
            }
            if days != 0 && sm.force_delete_without_recovery.unwrap_or(false) {
                errors.push(
                    format!("{path}.secretsManager"),
                    "forceDeleteWithoutRecovery and recoveryWindowInDays are mutually exclusive",
                );
            }
        }
        if let Some(tags) = &self.custom_session_tags {
            for k in AWS_RESERVED_SESSION_TAGS {
                if tags.contains_key(k) {
                    errors.push(
                        format!("{path}.customSessionTags.{k}"),
                        "reserved key: ESO sets esoNamespace, esoStoreName and esoStoreKind itself",
                    );
                }
            }
        }
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
        let p: AwsProvider = serde_json::from_value(v).unwrap();
        let mut e = ValidationErrors::new();
        p.validate_store(ns("a"), "spec.provider.aws", &mut e);
        paths(&e)
    }

    #[test]
    fn minimal_ok_and_default_policy() {
        let p: AwsProvider = serde_json::from_value(
            serde_json::json!({"service": "ParameterStore", "region": "us-east-1"}),
        )
        .unwrap();
        assert_eq!(p.session_tags_policy, AwsSessionTagsPolicy::None);
        assert!(
            check(serde_json::json!({"service": "ParameterStore", "region": "us-east-1"}))
                .is_empty()
        );
    }

    #[test]
    fn bad_service_and_missing_region_rejected() {
        assert!(
            serde_json::from_value::<AwsProvider>(
                serde_json::json!({"service": "KMS", "region": "x"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<AwsProvider>(serde_json::json!({"service": "SecretsManager"}))
                .is_err()
        );
    }

    #[test]
    fn region_must_be_host_label() {
        assert_eq!(
            check(serde_json::json!({"service": "SecretsManager", "region": "eu central"})),
            ["spec.provider.aws.region"]
        );
        assert_eq!(
            check(serde_json::json!({"service": "SecretsManager", "region": ""})),
            ["spec.provider.aws.region"]
        );
    }

    #[test]
    fn recovery_window_rules() {
        assert_eq!(
            check(
                serde_json::json!({"service": "SecretsManager", "region": "eu-west-1",
                "secretsManager": {"recoveryWindowInDays": 3}})
            ),
            ["spec.provider.aws.secretsManager.recoveryWindowInDays"]
        );
        assert_eq!(
            check(
                serde_json::json!({"service": "SecretsManager", "region": "eu-west-1",
                "secretsManager": {"recoveryWindowInDays": 7, "forceDeleteWithoutRecovery": true}})
            ),
            ["spec.provider.aws.secretsManager"]
        );
    }

    #[test]
    fn reserved_custom_tags() {
        assert_eq!(
            check(
                serde_json::json!({"service": "SecretsManager", "region": "eu-west-1",
                "sessionTagsPolicy": "Custom", "customSessionTags": {"esoStoreName": "x", "team": "a"}})
            ),
            ["spec.provider.aws.customSessionTags.esoStoreName"]
        );
    }

    #[test]
    fn foreign_namespace_credentials() {
        assert_eq!(
            check(
                serde_json::json!({"service": "SecretsManager", "region": "eu-west-1",
                "auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "a", "namespace": "b"}},
                         "jwt": {"serviceAccountRef": {"name": "sa", "namespace": "b"}}}})
            ),
            [
                "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.namespace",
                "spec.provider.aws.auth.jwt.serviceAccountRef.namespace"
            ]
        );
    }
}
