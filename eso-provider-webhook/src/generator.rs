//! The `Webhook` generator: one HTTP call, JSON answer to data.

use async_trait::async_trait;
use eso_core::Result;
use eso_core::api::WebhookSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use serde_json::Value;

use crate::request::{
    Endpoint, RequestData, RequestSpec, SecretSource, TemplateSecrets, Templates,
};

/// Calls an HTTP endpoint and turns its JSON answer into data (generator kind `Webhook`).
///
/// The request is built as ESO builds it, by the same code as the `webhook` provider's
/// ([`Webhook`](crate::Webhook)):
///
/// - `method` (default `GET`) to `url`, with `headers` and `body`, all Go templates with ESO's
///   functions;
/// - `secrets[]` make Secret data available to the templates as `{{ .<name>.<key> }}` (or
///   `{{ index .<name> "<key>" }}` for keys that are not identifiers). Each Secret must be in
///   the consumer's namespace and carry the label `external-secrets.io/type: webhook`;
/// - `timeout` (Go duration) bounds the whole call;
/// - `caBundle` (base64 PEM) or `caProvider` (a Secret or ConfigMap key in the consumer's
///   namespace) replace the system roots for HTTPS.
///
/// The response must be JSON. `result.jsonPath` (`$`, `.name`, `['name']`, `[index]`) selects
/// part of it; a selected string is parsed as JSON again. The result must be an object: each
/// entry becomes a key, strings as they are, numbers and booleans as text, objects and arrays as
/// JSON, `null` as an empty value.
///
/// A 404 answer is [`Error::NotFound`](eso_core::Error::NotFound); other non-2xx answers are errors of the kit's kinds
/// (401 unauthenticated, 403 denied, 429 and 5xx temporary) that carry the status only:
/// neither the URL (it may contain templated secrets) nor the body appears in errors. A key a
/// template names that does not exist is an error (ESO renders `<no value>` into the request).
///
/// `auth.ntlm` is not supported: an error names the field.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_provider_webhook::WebhookGenerator;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new().with_secret(
///     KubeSecret::new("default", "api")
///         .with_label("external-secrets.io/type", "webhook")
///         .with_data("token", "t0k3n"),
/// ));
/// let spec = serde_json::json!({
///     "url": "https://credentials.example.com/new",
///     "method": "POST",
///     "headers": {"Authorization": "Bearer {{ .auth.token }}"},
///     "secrets": [{"name": "auth", "secretRef": {"name": "api", "key": "token"}}],
///     "result": {"jsonPath": "$.credentials"},
/// });
/// let spec = eso_core::api::GeneratorSpec::parse("Webhook", spec)?;
/// let out = WebhookGenerator::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// println!("generated keys: {:?}", out.data.keys().collect::<Vec<_>>());
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct WebhookGenerator;

impl WebhookGenerator {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

fn request_spec(spec: &WebhookSpec) -> RequestSpec<'_> {
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
impl Generator for WebhookGenerator {
    fn kind(&self) -> &'static str {
        "Webhook"
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of("Webhook", |s| s.webhook_spec.as_ref())?;
        let rs = request_spec(spec);
        let templates = Templates::parse(&rs, "spec")?;
        let creds = ctx.credentials();
        let sources: Vec<SecretSource> = spec
            .secrets
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| SecretSource {
                name: s.name.clone(),
                secret: s.secret_ref.name.clone(),
                namespace: None,
                field: format!("spec.secrets[{i}].secretRef"),
            })
            .collect();
        let data = TemplateSecrets::load(&creds, &sources)
            .await?
            .with_remote_ref(None);
        let endpoint = Endpoint::new(templates, &rs, &creds).await?;
        let json_path = endpoint.templates.json_path(&data)?;
        let body = endpoint
            .send(RequestData {
                url: &data,
                raw: &data,
                default_method: reqwest::Method::GET,
                default_body: None,
                key: "spec.url",
                bare: false,
            })
            .await?;
        let out = crate::result::to_map(&body, json_path.as_deref(), "spec.result.jsonPath")?;
        Ok(GeneratorOutput::new(out))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        Ok(())
    }
}
