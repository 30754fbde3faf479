//! Building a [`Webhook`] provider from a store's provider block: [`WebhookFactory`].

use std::sync::Arc;

use async_trait::async_trait;
use eso_core::Result;
use eso_core::api::{SecretStoreProvider, ValidationErrors, WebhookProvider};
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, provider_block,
};

use crate::provider::{CAPABILITIES, Webhook};
use crate::request::{RequestSpec, SecretSource, Templates};

/// Builds [`Webhook`] providers from `spec.provider.webhook` blocks.
///
/// Validation parses every template once per store revision, so a syntax error is reported
/// at the store with its field path; building reads the CA bundle and makes the HTTP client
/// (no request is sent).
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_webhook::WebhookFactory;
///
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!(
///     {"webhook": {"url": "https://api.example.com/{{ .remoteRef.key", "result": {}}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "hook");
/// let err = WebhookFactory::new().validate_store(&spec, &store).unwrap_err();
/// assert!(err.to_string().contains("spec.provider.webhook.url"), "{err}");
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct WebhookFactory;

impl WebhookFactory {
    /// A factory for the `webhook` kind.
    pub fn new() -> Self {
        Self
    }

    /// Checks a provider block: the API model's admission rules, then the templates, the
    /// method and the timeout (no network, no cluster access).
    fn check(spec: &WebhookProvider, store: &StoreIdentity) -> Result<Templates> {
        let field = format!("spec.provider.{}", crate::KIND);
        let mut errors = ValidationErrors::new();
        spec.validate_store(store.api_scope(), &field, &mut errors);
        errors.into_result()?;
        Templates::parse(&request_spec(spec), &field)
    }

    /// Builds a provider for the store in `ctx` (reads the CA bundle; sends nothing).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<Webhook> {
        let spec = ctx.block(crate::KIND, |p| p.webhook.as_ref())?;
        let templates = Self::check(spec, ctx.store)?;
        let field = ctx.field();
        let sources = spec
            .secrets
            .iter()
            .enumerate()
            .map(|(i, s)| SecretSource {
                name: s.name.clone(),
                secret: s.secret_ref.name.clone(),
                namespace: s.secret_ref.namespace.clone(),
                field: format!("{field}.secrets[{i}].secretRef"),
            })
            .collect();
        Webhook::new(
            templates,
            &request_spec(spec),
            ctx.credentials(),
            sources,
            ctx.store.to_string(),
        )
        .await
    }
}

/// The request fields of a store's webhook block.
pub(crate) fn request_spec(spec: &WebhookProvider) -> RequestSpec<'_> {
    RequestSpec {
        method: spec.method.as_deref(),
        url: &spec.url,
        headers: spec.headers.as_ref(),
        body: spec.body.as_deref(),
        timeout: spec.timeout.as_deref(),
        json_path: spec.result.json_path.as_deref(),
        ca_bundle: spec.ca_bundle.as_deref(),
        ca_provider: spec.ca_provider.as_ref(),
        ntlm: spec.auth.as_ref().is_some_and(|a| a.ntlm.is_some()),
    }
}

#[async_trait]
impl ProviderFactory for WebhookFactory {
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
        let w = provider_block(spec, crate::KIND, |p| p.webhook.as_ref())?;
        Self::check(w, store).map(|_| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}

#[cfg(test)]
mod tests {
    use eso_core::provider::StoreScope;

    use super::*;

    fn err(v: serde_json::Value) -> eso_core::Error {
        let spec: SecretStoreProvider =
            serde_json::from_value(serde_json::json!({ "webhook": v })).unwrap();
        WebhookFactory::new()
            .validate_store(
                &spec,
                &StoreIdentity::new(StoreScope::Namespaced, "ns", "s"),
            )
            .unwrap_err()
    }

    #[test]
    fn bad_specs_name_the_field() {
        let cases = [
            (serde_json::json!({"url": ""}), "spec.provider.webhook.url"),
            (
                serde_json::json!({"url": "http://x", "method": "G T"}),
                "spec.provider.webhook.method",
            ),
            (
                serde_json::json!({"url": "http://x", "timeout": "soon"}),
                "spec.provider.webhook.timeout",
            ),
            (
                serde_json::json!({"url": "http://x", "body": "{{ end }}"}),
                "spec.provider.webhook.body",
            ),
            (
                serde_json::json!({"url": "http://x", "headers": {"X": "{{"}}),
                "spec.provider.webhook.headers.X",
            ),
            (
                serde_json::json!({"url": "http://x", "result": {"jsonPath": "{{ .x"}}),
                "spec.provider.webhook.result.jsonPath",
            ),
        ];
        for (spec, field) in cases {
            let e = err(spec.clone()).to_string();
            assert!(e.contains(field), "{spec}: {e}");
        }
        let ntlm = serde_json::json!({"url": "http://x", "auth": {"ntlm": {
            "usernameSecret": {"name": "n", "key": "u"}, "passwordSecret": {"name": "n", "key": "p"}}}});
        assert!(matches!(err(ntlm), eso_core::Error::NotSupported(_)));
    }
}
