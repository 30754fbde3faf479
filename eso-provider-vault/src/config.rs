//! Building a [`Vault`] from a store's provider block: [`VaultFactory`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eso_core::api::{SecretStoreProvider, ValidationErrors, VaultProvider};
use eso_core::provider::{
    Capabilities, Credentials, DynProvider, ProviderFactory, StoreContext, StoreIdentity,
    provider_block,
};
use eso_core::{Error, Result};
use reqwest::Url;

use crate::auth::token::Tokens;
use crate::auth::{Authenticator, POD_TOKEN_PATH};
use crate::client::kv::Layout;
use crate::client::tls;
use crate::client::{Http, header_map};
use crate::provider::{Inner, Vault};

/// Builds [`Vault`] providers from `spec.provider.vault` (or `spec.provider.openBao`, which
/// has the same fields) blocks.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_vault::VaultFactory;
///
/// let f = VaultFactory::new();
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({"vault":
///     {"server": "https://vault:8200", "version": "v1", "checkAndSet": {"required": true}}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "vault");
/// let err = f.validate_store(&spec, &store).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.vault.checkAndSet.required"));
/// ```
#[derive(Clone, Debug)]
pub struct VaultFactory {
    kind: &'static str,
    pod_token_path: PathBuf,
    request_timeout: Duration,
}

/// How long one request to the server may take, connection included, unless
/// [`VaultFactory::with_request_timeout`] says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// How long one request may take before it fails with a temporary error (default
    /// [`DEFAULT_REQUEST_TIMEOUT`], 60 s; connecting is bounded by the smaller of this and
    /// 10 s). A server that accepts the connection and never answers is given up on after
    /// this long, then the store's `retrySettings` apply.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eso_provider_vault::VaultFactory;
    ///
    /// let f = VaultFactory::new().with_request_timeout(Duration::from_secs(5));
    /// # let _ = f;
    /// ```
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
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

    fn field(&self) -> String {
        format!("spec.provider.{}", self.kind)
    }

    /// This factory's block of a store's provider spec.
    fn block<'a>(&self, spec: &'a SecretStoreProvider) -> Option<&'a VaultProvider> {
        if self.kind == crate::OPENBAO_KIND {
            spec.open_bao.as_ref()
        } else {
            spec.vault.as_ref()
        }
    }

    /// Checks a provider block beyond the API model's admission rules (no network, no
    /// cluster access): the server URL and the custom headers.
    pub(crate) fn check(
        spec: &VaultProvider,
        field: &str,
        scope: eso_core::api::StoreScope<'_>,
    ) -> Result<()> {
        let mut errors = ValidationErrors::new();
        spec.validate_store(scope, field, &mut errors);
        errors.into_result()?;
        server_url(&spec.server, field)?;
        header_map(
            spec.headers.as_ref(),
            spec.forward_inconsistent.unwrap_or(false),
            field,
        )?;
        Ok(())
    }

    /// Builds a provider for the store in `ctx`: reads the CA and client certificates now;
    /// logs in on first use.
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<Vault> {
        let spec = ctx.block(self.kind, |p| self.block(p))?;
        self.build_from(spec, &self.field(), ctx.credentials())
            .await
    }

    /// Builds a provider from a typed spec (used by the VaultDynamicSecret generator).
    pub(crate) async fn build_from(
        &self,
        spec: &VaultProvider,
        field: &str,
        creds: Credentials,
    ) -> Result<Vault> {
        let server = server_url(&spec.server, field)?;
        let material = tls::material(spec, &creds, field).await?;
        let client = tls::build_client(
            self.request_timeout,
            material.ca_pem.as_deref(),
            material.identity.as_ref().map(|(c, k)| (c, k)),
            field,
        )?;
        let forward = spec.forward_inconsistent.unwrap_or(false);
        let headers = header_map(spec.headers.as_ref(), forward, field)?;
        let ryw = spec.read_your_writes.unwrap_or(false) || forward;
        let http = Arc::new(Http::new(client, server.clone(), headers, ryw));
        let namespace_v = spec.namespace.clone().filter(|n| !n.is_empty());
        let auth_ns = spec
            .auth
            .as_ref()
            .and_then(|a| a.namespace.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| namespace_v.clone());
        let referent = creds.is_referent(reference_namespaces(spec));
        let authenticator = Authenticator {
            auth: spec.auth.clone(),
            creds,
            field: format!("{field}.auth"),
            namespace: auth_ns,
            pod_token_path: self.pod_token_path.clone(),
            ca_pem: material.ca_pem.clone(),
            request_timeout: self.request_timeout,
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

/// The namespaces of the credential references the auth spec sets (for
/// [`Credentials::is_referent`]: a ClusterSecretStore with one of them unset is resolved per
/// consumer namespace, so the store itself cannot be checked and ESO reports Unknown).
fn reference_namespaces(spec: &VaultProvider) -> Vec<Option<&str>> {
    let Some(a) = &spec.auth else {
        return Vec::new();
    };
    fn secret(s: &eso_core::api::SecretKeySelector) -> Option<&str> {
        s.namespace.as_deref()
    }
    let mut out: Vec<Option<&str>> = Vec::new();
    out.extend(a.token_secret_ref.iter().map(secret));
    out.extend(a.app_role.iter().map(|r| secret(&r.secret_ref)));
    if let Some(k) = &a.kubernetes {
        out.extend(k.service_account_ref.iter().map(|s| s.namespace.as_deref()));
        out.extend(k.secret_ref.iter().map(secret));
    }
    out.extend(
        a.ldap
            .iter()
            .filter_map(|l| l.secret_ref.as_ref())
            .map(secret),
    );
    out.extend(
        a.user_pass
            .iter()
            .filter_map(|u| u.secret_ref.as_ref())
            .map(secret),
    );
    if let Some(j) = &a.jwt {
        out.extend(j.secret_ref.iter().map(secret));
        out.extend(
            j.kubernetes_service_account_token
                .iter()
                .map(|t| t.service_account_ref.namespace.as_deref()),
        );
    }
    if let Some(c) = &a.cert {
        out.extend(c.client_cert.iter().map(secret));
        out.extend(c.secret_ref.iter().map(secret));
    }
    out
}

#[async_trait]
impl ProviderFactory for VaultFactory {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>> {
        let block = provider_block(spec, self.kind, |p| self.block(p))?;
        Self::check(block, &self.field(), store.api_scope()).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::cluster::{DynCluster, MemoryCluster};
    use eso_core::provider::StoreScope;

    fn spec(kind: &str, block: serde_json::Value) -> SecretStoreProvider {
        serde_json::from_value(serde_json::json!({ kind: block })).unwrap()
    }

    fn cluster_store() -> StoreIdentity {
        StoreIdentity::new(StoreScope::Cluster, "", "s")
    }

    #[test]
    fn bad_specs_name_the_field() {
        let f = VaultFactory::new();
        let e = f
            .validate_store(
                &spec("vault", serde_json::json!({"server": "vault:8200"})),
                &cluster_store(),
            )
            .unwrap_err();
        assert!(
            e.to_string().starts_with("spec.provider.vault.server: "),
            "{e}"
        );
        // An unknown KV version is refused when the manifest loads (the model is typed).
        let bad = serde_json::from_value::<SecretStoreProvider>(
            serde_json::json!({"vault": {"server": "https://v", "version": "v3"}}),
        );
        assert!(bad.is_err());
        let e = VaultFactory::openbao()
            .validate_store(
                &spec("openBao", serde_json::json!({"server": ""})),
                &cluster_store(),
            )
            .unwrap_err();
        assert!(
            e.to_string().contains("spec.provider.openBao.server"),
            "{e}"
        );
        assert!(
            f.validate_store(
                &spec(
                    "vault",
                    serde_json::json!({"server": "https://v", "headers": {"a b": "c"}})
                ),
                &cluster_store()
            )
            .is_err()
        );
        let e = f
            .validate_store(
                &spec("openBao", serde_json::json!({"server": "https://v"})),
                &cluster_store(),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "spec.provider.vault: is missing: the store holds a \"openBao\" provider block"
        );
    }

    #[tokio::test]
    async fn missing_auth_secret_is_reported_at_first_use() {
        let cluster: DynCluster = Arc::new(MemoryCluster::new());
        let store = StoreIdentity::new(StoreScope::Namespaced, "ns", "s");
        let provider = spec(
            "vault",
            serde_json::json!({"server": "http://127.0.0.1:9", "path": "secret",
            "auth": {"tokenSecretRef": {"name": "tok", "key": "token"}}}),
        );
        let v = VaultFactory::new()
            .build(&StoreContext::new(&store, &provider, "ns", &cluster))
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
        let cluster: DynCluster = Arc::new(MemoryCluster::new());
        let css = Credentials::new(cluster, "consumer", StoreScope::Cluster);
        let referent = |auth: serde_json::Value| {
            let spec: VaultProvider =
                serde_json::from_value(serde_json::json!({"server": "https://v", "auth": auth}))
                    .unwrap();
            css.is_referent(reference_namespaces(&spec))
        };
        assert!(referent(
            serde_json::json!({"tokenSecretRef": {"name": "t"}})
        ));
        assert!(referent(
            serde_json::json!({"tokenSecretRef": {"name": "t", "namespace": ""}})
        ));
        assert!(!referent(
            serde_json::json!({"tokenSecretRef": {"name": "t", "namespace": "vault"}})
        ));
        assert!(referent(serde_json::json!({"cert": {
            "clientCert": {"name": "c", "namespace": "vault"}, "secretRef": {"name": "k"}}})));
    }
}
