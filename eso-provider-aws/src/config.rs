//! The `aws` provider kind: parsing and checking `spec.provider.aws`, building clients.

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::{
    AwsProvider, AwsServiceType, AwsSessionTagsPolicy, SecretStoreProvider, ValidationErrors,
};
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, StoreScope,
    provider_block,
};
use eso_core::{Error, Result};

use crate::auth::{AuthSpec, sdk_config};
use crate::provider::secrets_manager::DeleteOptions;
use crate::provider::{Aws, AwsParameterStore, AwsSecretsManager};

const FIELD: &str = "spec.provider.aws";

/// Builds [`AwsSecretsManager`] and [`AwsParameterStore`] providers from `spec.provider.aws`.
///
/// Credentials come from `auth.secretRef` (Kubernetes Secrets read through the
/// [`Cluster`](eso_core::cluster::Cluster)), `auth.jwt` (a ServiceAccount token exchanged
/// with `AssumeRoleWithWebIdentity` for `role`), or the SDK's default chain (environment,
/// IRSA token file, EKS Pod Identity, profile). Then `additionalRoles` and `role` are
/// assumed in order, `role` with `externalID`, `sessionTags`, `transitiveTagKeys` and the
/// tags of `sessionTagsPolicy`. The endpoint follows the standard AWS environment
/// (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_SSM`, ...).
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_aws::AwsFactory;
///
/// let f = AwsFactory::new();
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({"aws": {
///     "service": "SecretsManager", "region": "eu-west-1",
///     "secretsManager": {"recoveryWindowInDays": 3}}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "aws");
/// let err = f.validate_store(&spec, &store).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.aws.secretsManager.recoveryWindowInDays"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct AwsFactory;

impl AwsFactory {
    /// The factory.
    pub fn new() -> Self {
        Self
    }

    /// Checks a provider block beyond the API model's admission rules.
    fn check(spec: &AwsProvider, store: &StoreIdentity) -> Result<()> {
        let mut errors = ValidationErrors::new();
        spec.validate_store(store.api_scope(), FIELD, &mut errors);
        errors.into_result()?;
        if spec.service == AwsServiceType::CertificateManager {
            return Err(Error::not_supported(
                "spec.provider.aws.service: CertificateManager is not supported by eso-provider-aws",
            ));
        }
        Ok(())
    }

    /// Builds the provider of `ctx` (also available through [`ProviderFactory::new_provider`]).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<Aws> {
        let p = ctx.block(crate::KIND, |p| p.aws.as_ref())?;
        let mut tags: Vec<(String, String)> = p
            .session_tags
            .iter()
            .flatten()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        if p.session_tags_policy != AwsSessionTagsPolicy::None {
            let kind = match ctx.store.scope {
                StoreScope::Cluster => "ClusterSecretStore",
                _ => "SecretStore",
            };
            tags.push(("esoNamespace".into(), ctx.namespace.to_owned()));
            tags.push(("esoStoreName".into(), ctx.store.name.clone()));
            tags.push(("esoStoreKind".into(), kind.to_owned()));
        }
        if p.session_tags_policy == AwsSessionTagsPolicy::Custom {
            for (k, v) in p.custom_session_tags.iter().flatten() {
                tags.push((k.clone(), v.clone()));
            }
        }
        let auth = AuthSpec {
            region: p.region.clone(),
            auth: p.auth.clone(),
            additional_roles: p.additional_roles.clone().unwrap_or_default(),
            role: p.role.clone(),
            external_id: p.external_id.clone(),
            session_tags: tags,
            transitive_tag_keys: p.transitive_tag_keys.clone().unwrap_or_default(),
            path: FIELD.to_owned(),
        };
        let creds = ctx.credentials();
        let config = sdk_config(&auth, &creds).await?;
        let prefix = p.prefix.clone().unwrap_or_default();
        Ok(match p.service {
            AwsServiceType::ParameterStore => {
                Aws::ParameterStore(AwsParameterStore::new(config, prefix))
            }
            _ => {
                let sm = p.secrets_manager.clone().unwrap_or_default();
                let delete = DeleteOptions {
                    force_without_recovery: sm.force_delete_without_recovery.unwrap_or(false),
                    recovery_window_days: sm.recovery_window_in_days,
                };
                Aws::SecretsManager(AwsSecretsManager::new(config, prefix, delete, creds))
            }
        })
    }
}

#[async_trait]
impl ProviderFactory for AwsFactory {
    fn kind(&self) -> &'static str {
        crate::KIND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>> {
        let aws = provider_block(spec, crate::KIND, |p| p.aws.as_ref())?;
        Self::check(aws, store).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(aws: serde_json::Value) -> Result<Vec<String>> {
        let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({ "aws": aws }))
            .map_err(|e| Error::invalid_config(FIELD, e.to_string()))?;
        AwsFactory::new().validate_store(
            &spec,
            &StoreIdentity::new(StoreScope::Namespaced, "apps", "aws"),
        )
    }

    #[test]
    fn specs_are_checked() {
        assert!(
            check(serde_json::json!({"service": "ParameterStore", "region": "us-east-1"})).is_ok()
        );
        let e = check(serde_json::json!({"service": "Nope", "region": "us-east-1"})).unwrap_err();
        assert!(e.to_string().starts_with("spec.provider.aws"), "{e}");
        assert!(
            check(serde_json::json!({"service": "CertificateManager", "region": "us-east-1"}))
                .is_err()
        );
        let e = check(serde_json::json!({"service": "SecretsManager", "region": "bad region"}))
            .unwrap_err();
        assert!(e.to_string().contains("spec.provider.aws.region"), "{e}");
    }
}
