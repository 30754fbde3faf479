//! The `infisical` provider: [`Infisical`].

use std::fmt;

use async_trait::async_trait;
use eso_core::provider::{
    Capabilities, FindRef, Provider, PushRef, PushValue, RemoteRef, Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};

use crate::auth::TokenStats;
use crate::client::Api;

/// What the provider supports: reads, find by name and path, push and delete; no tags, no
/// metadata, no versions.
pub(crate) const CAPABILITIES: Capabilities = {
    let mut c = Capabilities::ALL;
    c.find_by_tags = false;
    c.metadata = false;
    c.versions = false;
    c
};

/// A configured `infisical` store: one machine-identity session (logged in on first use,
/// renewed, logged in again after a refusal) and the store's project, environment and folder.
pub struct Infisical {
    pub(crate) api: Api,
    /// `SecretStore ns/name` or `ClusterSecretStore name`.
    pub(crate) store: String,
}

impl fmt::Debug for Infisical {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Infisical")
            .field("store", &self.store)
            .field("project", &self.api.scope.project_slug)
            .field("environment", &self.api.scope.environment)
            .finish_non_exhaustive()
    }
}

impl Infisical {
    /// Logins and renewals of this store's session so far.
    pub fn token_stats(&self) -> TokenStats {
        self.api.session.stats()
    }
}

#[async_trait]
impl Provider for Infisical {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        let v = self
            .api
            .value(&r.key)
            .await?
            .ok_or_else(|| Error::not_found(r.key.clone()))?;
        property::select(SecretValue::from(v), &r.key, r.property())
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let v = self.get_secret(r).await?;
        property::json_to_map(&v, &r.key)
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        if !find.tags.is_empty() {
            return Err(eso_core::provider::not_supported(
                "find by tags",
                crate::KIND,
            ));
        }
        let scope = &self.api.scope;
        let secrets = self.api.list(&scope.secrets_path, scope.recursive).await?;
        let mut out = SecretMap::new();
        for s in secrets {
            let path = s.secret_path.as_deref().unwrap_or(&scope.secrets_path);
            // A path starting with `/` is a folder prefix (ESO's meaning: folder paths always
            // start with `/`); any other path is a name prefix, the kit's meaning.
            let path_ok = match find.path.as_deref() {
                None => true,
                Some(p) if p.starts_with('/') => path.starts_with(p),
                Some(_) => find.matches_path(&s.secret_key),
            };
            if path_ok && find.matches_name(&s.secret_key) {
                out.insert(s.secret_key, SecretValue::from(s.secret_value));
            }
        }
        Ok(out)
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        crate::push::push(&self.api, value, r).await
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        crate::push::delete(&self.api, r).await
    }

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        crate::push::exists(&self.api, r).await
    }

    async fn validate(&self) -> Result<Validation> {
        let scope = &self.api.scope;
        self.api
            .list(&scope.secrets_path, false)
            .await
            .map_err(|e| {
                e.context(format_args!(
                    "{}: cannot read {}/{} at {}",
                    self.store, scope.project_slug, scope.environment, scope.secrets_path
                ))
            })?;
        Ok(Validation::Ready)
    }
}
