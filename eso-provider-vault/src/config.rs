//! Building a [`Vault`] from a store's provider block: [`VaultFactory`].

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use eso_core::api::{ValidationErrors, VaultProvider};
use eso_core::cluster::DynCluster;
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, StoreScope,
};
use eso_core::{Error, Result};
use reqwest::Url;

use crate::auth::{Authenticator, POD_TOKEN_PATH};
use crate::client::{Http, RetryPolicy, header_map};
use crate::kv::Layout;
use crate::provider::{Inner, Vault};
use crate::refs::Refs;
use crate::tls;
use crate::token::Tokens;

/// Builds [`Vault`] providers from `spec.provider.vault` (or `spec.provider.openBao`, which
/// has the same fields) blocks.
///
/// # Example
///
/// ```
/// use eso_core::provider::{ProviderFactory, StoreScope};
/// use eso_provider_vault::VaultFactory;
///
/// let f = VaultFactory::new();
/// let spec = serde_json::json!({"server": "https://vault:8200", "version": "v1", "checkAndSet": {"required": true}});
/// let err = f.validate_store(&spec, StoreScope::Namespaced).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.vault.checkAndSet.required"));
/// ```
#[derive(Clone, Debug)]
pub struct VaultFactory {
    kind: &'static str,
    pod_token_path: PathBuf,
    retry: RetryPolicy,
}

impl Default for VaultFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl VaultFactory {
    /// A factory for the `vault` kind.
    pub fn new() -> Self {
        Self {
            kind: crate::KIND,
            pod_token_path: PathBuf::from(POD_TOKEN_PATH),
            retry: RetryPolicy::default(),
        }
    }

    /// A factory for the `openBao` kind (same fields; error paths say `openBao`).
    pub fn openbao() -> Self {
        Self {
            kind: crate::OPENBAO_KIND,
            ..Self::new()
        }
    }

    /// Where kubernetes auth reads the pod's own ServiceAccount token when the store names
    /// neither `serviceAccountRef` nor `secretRef` (default
    /// `/var/run/secrets/kubernetes.io/serviceaccount/token`).
    #[must_use]
    pub fn with_pod_token_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.pod_token_path = path.into();
        self
    }

    /// The retry policy of built clients (ESO's store `retrySettings`; default
    /// [`RetryPolicy::default`]).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn field(&self) -> String {
        format!("spec.provider.{}", self.kind)
    }

    /// Parses and checks a provider block (no network, no cluster access).
    fn parse(
        &self,
        spec: &serde_json::Value,
        scope: StoreScope,
        ns: Option<&str>,
    ) -> Result<VaultProvider> {
        let field = self.field();
        let parsed: VaultProvider = serde_path_to_error::deserialize(spec).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." || path.is_empty() {
                field.clone()
            } else {
                format!("{field}.{path}")
            };
            Error::invalid_config(at, e.into_inner().to_string())
        })?;
        let mut errors = ValidationErrors::new();
        let api_scope = match scope {
            StoreScope::Cluster => eso_core::api::StoreScope::cluster(),
            _ => eso_core::api::StoreScope::namespaced(ns),
        };
        parsed.validate_store(api_scope, &field, &mut errors);
        errors.into_result()?;
        server_url(&parsed.server, &field)?;
        header_map(
            parsed.headers.as_ref(),
            parsed.forward_inconsistent.unwrap_or(false),
            &field,
        )?;
        Ok(parsed)
    }

    /// Builds a provider for the store in `ctx`: reads the CA and client certificates now;
    /// logs in on first use.
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<Vault> {
        let ns = (!ctx.store.namespace.is_empty()).then_some(ctx.store.namespace.as_str());
        let spec = self.parse(ctx.spec, ctx.store.scope, ns)?;
        let field = self.field();
        // The store's own retrySettings win over the factory default.
        let retry = ctx.retry.map_or(self.retry, |r| {
            RetryPolicy::new(r.max_retries, r.interval.unwrap_or(self.retry.wait))
        });
        self.build_from(&spec, &field, ctx.store, ctx.namespace, ctx.cluster, retry)
            .await
    }

    /// Builds a provider from a typed spec (used by the VaultDynamicSecret generator).
    pub(crate) async fn build_from(
        &self,
        spec: &VaultProvider,
        field: &str,
        store: &StoreIdentity,
        namespace: &str,
        cluster: &DynCluster,
        retry: RetryPolicy,
    ) -> Result<Vault> {
        let server = server_url(&spec.server, field)?;
        let refs = Refs {
            cluster: Arc::clone(cluster),
            namespace: namespace.to_owned(),
            scope: store.scope,
        };
        let material = tls::material(spec, &refs, field).await?;
        let client = tls::build_client(
            material.ca_pem.as_deref(),
            material.identity.as_ref().map(|(c, k)| (c, k)),
            field,
        )?;
        let forward = spec.forward_inconsistent.unwrap_or(false);
        let headers = header_map(spec.headers.as_ref(), forward, field)?;
        let ryw = spec.read_your_writes.unwrap_or(false) || forward;
        let http = Arc::new(Http::new(client, server.clone(), headers, ryw, retry));
        let namespace_v = spec.namespace.clone().filter(|n| !n.is_empty());
        let auth_ns = spec
            .auth
            .as_ref()
            .and_then(|a| a.namespace.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| namespace_v.clone());
        let referent = store.scope == StoreScope::Cluster && is_referent(spec);
        let authenticator = Authenticator {
            auth: spec.auth.clone(),
            refs,
            field: format!("{field}.auth"),
            namespace: auth_ns,
            pod_token_path: self.pod_token_path.clone(),
            ca_pem: material.ca_pem.clone(),
        };
        let tokens = Tokens::new(authenticator, Arc::clone(&http));
        Ok(Vault {
            inner: Arc::new(Inner {
                http,
                tokens,
                layout: Layout::new(spec.path.as_deref(), spec.version),
                namespace: namespace_v,
                cas: spec
                    .check_and_set
                    .as_ref()
                    .and_then(|c| c.required)
                    .unwrap_or(false),
                server: server.to_string(),
                referent,
            }),
        })
    }
}

fn server_url(server: &str, field: &str) -> Result<Url> {
    let url = Url::parse(server)
        .map_err(|e| Error::invalid_config(format!("{field}.server"), format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid_config(
            format!("{field}.server"),
            "must be an http:// or https:// URL",
        ));
    }
    Ok(url)
}

/// A ClusterSecretStore whose credential references omit their namespace: they are resolved
/// in each consumer's namespace, so the store itself cannot be checked (ESO reports Unknown).
fn is_referent(spec: &VaultProvider) -> bool {
    let Some(a) = &spec.auth else { return false };
    let none = |ns: &Option<String>| ns.as_deref().is_none_or(str::is_empty);
    a.token_secret_ref
        .as_ref()
        .is_some_and(|s| none(&s.namespace))
        || a.app_role
            .as_ref()
            .is_some_and(|r| none(&r.secret_ref.namespace))
        || a.kubernetes.as_ref().is_some_and(|k| {
            k.service_account_ref
                .as_ref()
                .is_some_and(|s| none(&s.namespace))
                || k.secret_ref.as_ref().is_some_and(|s| none(&s.namespace))
        })
        || a.ldap
            .as_ref()
            .and_then(|l| l.secret_ref.as_ref())
            .is_some_and(|s| none(&s.namespace))
        || a.user_pass
            .as_ref()
            .and_then(|u| u.secret_ref.as_ref())
            .is_some_and(|s| none(&s.namespace))
        || a.jwt.as_ref().is_some_and(|j| {
            j.secret_ref.as_ref().is_some_and(|s| none(&s.namespace))
                || j.kubernetes_service_account_token
                    .as_ref()
                    .is_some_and(|t| none(&t.service_account_ref.namespace))
        })
        || a.cert.as_ref().is_some_and(|c| {
            c.client_cert.as_ref().is_some_and(|s| none(&s.namespace))
                || c.secret_ref.as_ref().is_some_and(|s| none(&s.namespace))
        })
}

#[async_trait]
impl ProviderFactory for VaultFactory {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn validate_store(&self, spec: &serde_json::Value, scope: StoreScope) -> Result<Vec<String>> {
        self.parse(spec, scope, None).map(|_| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::cluster::MemoryCluster;

    #[test]
    fn bad_specs_name_the_field() {
        let f = VaultFactory::new();
        let e = f
            .validate_store(
                &serde_json::json!({"server": "vault:8200"}),
                StoreScope::Cluster,
            )
            .unwrap_err();
        assert!(
            e.to_string().starts_with("spec.provider.vault.server: "),
            "{e}"
        );
        let e = f
            .validate_store(
                &serde_json::json!({"server": "https://v", "version": "v3"}),
                StoreScope::Cluster,
            )
            .unwrap_err();
        assert!(
            e.to_string().starts_with("spec.provider.vault.version: "),
            "{e}"
        );
        let e = VaultFactory::openbao()
            .validate_store(&serde_json::json!({"server": ""}), StoreScope::Cluster)
            .unwrap_err();
        assert!(
            e.to_string().contains("spec.provider.openBao.server"),
            "{e}"
        );
        assert!(
            f.validate_store(
                &serde_json::json!({"server": "https://v", "headers": {"a b": "c"}}),
                StoreScope::Cluster
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn missing_auth_secret_is_reported_at_first_use() {
        let cluster: DynCluster = Arc::new(MemoryCluster::new());
        let store = StoreIdentity::new(StoreScope::Namespaced, "ns", "s");
        let spec = serde_json::json!({"server": "http://127.0.0.1:9", "path": "secret",
            "auth": {"tokenSecretRef": {"name": "tok", "key": "token"}}});
        let v = VaultFactory::new()
            .build(&StoreContext::new(&store, "vault", &spec, "ns", &cluster))
            .await
            .unwrap();
        let e = eso_core::provider::Provider::validate(&v)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "spec.provider.vault.auth.tokenSecretRef: Secret ns/tok not found"
        );
        assert!(format!("{v:?}").contains("127.0.0.1"));
    }

    #[test]
    fn referent_detection() {
        let spec: VaultProvider = serde_json::from_value(serde_json::json!({"server": "https://v",
            "auth": {"tokenSecretRef": {"name": "t"}}}))
        .unwrap();
        assert!(is_referent(&spec));
        let spec: VaultProvider = serde_json::from_value(serde_json::json!({"server": "https://v",
            "auth": {"tokenSecretRef": {"name": "t", "namespace": "vault"}}}))
        .unwrap();
        assert!(!is_referent(&spec));
    }
}
