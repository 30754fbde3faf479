//! Building a [`OnePassword`] provider from a store's provider block: [`OnePasswordFactory`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eso_core::api::{OnePasswordProvider, SecretStoreProvider, ValidationErrors};
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, provider_block,
};
use eso_core::{Error, Result};

use crate::client::Api;
use crate::provider::{CAPABILITIES, OnePassword};

/// Timeout of every API call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds [`OnePassword`] providers from `spec.provider.onepassword` blocks.
///
/// Building reads the Connect token; the first API call looks the vaults up. HTTPS trusts
/// the platform's roots (on Linux the system store and `SSL_CERT_FILE`) plus the ones given
/// to [`OnePasswordFactory::with_root_certificates`]: ESO's spec has no CA field for Connect.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_onepassword::OnePasswordFactory;
///
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({"onepassword": {
///     "connectHost": "https://connect.example.com", "vaults": {},
///     "auth": {"secretRef": {"connectTokenSecretRef": {"name": "op", "key": "token"}}}}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "op");
/// let err = OnePasswordFactory::new().validate_store(&spec, &store).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.onepassword.vaults"), "{err}");
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct OnePasswordFactory {
    roots: Vec<reqwest::Certificate>,
}

impl OnePasswordFactory {
    /// A factory for the `onepassword` kind.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem` (a Connect server behind a
    /// private CA).
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::generic("onepassword: no PEM certificate in the bundle"))?;
        self.roots.extend(certs);
        Ok(self)
    }

    fn check(spec: &OnePasswordProvider, store: &StoreIdentity) -> Result<()> {
        let mut errors = ValidationErrors::new();
        spec.validate_store(
            store.api_scope(),
            &format!("spec.provider.{}", crate::KIND),
            &mut errors,
        );
        errors.into_result()?;
        Ok(())
    }

    /// Builds a provider for the store in `ctx` (reads the token; no API call yet).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<OnePassword> {
        let spec = ctx.block(crate::KIND, |p| p.onepassword.as_ref())?;
        Self::check(spec, ctx.store)?;
        let field = format!("{}.auth.secretRef.connectTokenSecretRef", ctx.field());
        let token = ctx
            .credentials()
            .secret_text(&spec.auth.secret_ref.connect_token, None, &field)
            .await?;
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("eso-rs/", env!("CARGO_PKG_VERSION")));
        for c in &self.roots {
            builder = builder.add_root_certificate(c.clone());
        }
        let client = builder
            .build()
            .map_err(|e| Error::unavailable("cannot build the HTTP client", e))?;
        Ok(OnePassword {
            api: Api::new(client, spec.connect_host.trim(), token),
            vaults: spec
                .vaults_in_order()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            store: ctx.store.to_string(),
            writes: tokio::sync::Mutex::new(()),
        })
    }
}

#[async_trait]
impl ProviderFactory for OnePasswordFactory {
    fn kind(&self) -> &'static str {
        crate::KIND
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>> {
        let o = provider_block(spec, crate::KIND, |p| p.onepassword.as_ref())?;
        Self::check(o, store).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}
