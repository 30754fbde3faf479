//! The `Webhook` generator: one HTTP call, JSON response to data.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use eso_core::api::WebhookSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::{Error, GoDuration, Result, SecretMap, SecretValue};
use serde_json::Value;
use zeroize::Zeroizing;

/// The label a Secret needs before the Webhook generator reads it, as in ESO.
pub const WEBHOOK_SECRET_LABEL: (&str, &str) = ("external-secrets.io/type", "webhook");

/// Calls an HTTP endpoint and turns its JSON answer into data (kind `Webhook`).
///
/// The request is built as ESO builds it:
///
/// - `method` (default `GET`) to `url`, with `headers` and `body`;
/// - `secrets[]` make Secret data available to the `url`, `headers` and `body` templates as
///   `{{ .<name>.<key> }}` (or `{{ index .<name> "<key>" }}` for keys that are not identifiers).
///   Each Secret must be in the consumer's namespace and carry the label
///   `external-secrets.io/type: webhook`;
/// - `timeout` (Go duration) bounds the whole call;
/// - `caBundle` (base64 PEM) or `caProvider` (a Secret or ConfigMap key in the consumer's
///   namespace) replace the system roots for HTTPS.
///
/// The response must be JSON. `result.jsonPath` (`$`, `.name`, `['name']`, `[index]`) selects
/// part of it; a selected string is parsed as JSON again. The result must be an object: each
/// entry becomes a key, strings as they are, numbers and booleans as text, objects and arrays as
/// JSON, `null` as an empty value.
///
/// A 404 answer is [`Error::NotFound`]; other non-2xx answers are errors that carry the status
/// only: neither the URL (it may contain templated secrets) nor the body appears in errors.
///
/// Not supported (an error names the field): `auth.ntlm`, and template actions other than the
/// two forms above (pipelines, functions, conditionals).
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::Webhook;
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
/// let out = Webhook::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// println!("generated keys: {:?}", out.data.keys().collect::<Vec<_>>());
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Webhook;

impl Webhook {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Generator for Webhook {
    fn kind(&self) -> &'static str {
        "Webhook"
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of("Webhook", |s| s.webhook_spec.as_ref())?;
        if spec.auth.as_ref().is_some_and(|a| a.ntlm.is_some()) {
            return Err(Error::not_supported(
                "spec.auth.ntlm: NTLM authentication is not supported by eso-rs",
            ));
        }
        let data = template_data(ctx, spec).await?;
        let client = http_client(ctx, spec).await?;

        let method = spec
            .method
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or("GET");
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::invalid_config("spec.method", "not a valid HTTP method"))?;
        let url = Zeroizing::new(render(&spec.url, &data, "spec.url")?);
        let url = reqwest::Url::parse(&url)
            .map_err(|e| Error::invalid_config("spec.url", format!("not a valid URL: {e}")))?;
        let mut request = client.request(method, url);
        for (name, template) in spec.headers.iter().flatten() {
            let path = format!("spec.headers.{name}");
            let value = Zeroizing::new(render(template, &data, &path)?);
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid_config(&path, "not a valid header name"))?;
            let mut value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| Error::invalid_config(&path, "not a valid header value"))?;
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        if let Some(body) = spec.body.as_deref().filter(|b| !b.is_empty()) {
            request = request.body(render(body, &data, "spec.body")?);
        }

        let response = request.send().await.map_err(request_error)?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => {}
            404 => return Err(Error::not_found("spec.url (the endpoint answered 404)")),
            401 => {
                return Err(Error::Unauthenticated {
                    message: format!("spec.url: the endpoint answered {status}"),
                });
            }
            403 => {
                return Err(Error::PermissionDenied {
                    message: format!("spec.url: the endpoint answered {status}"),
                });
            }
            429 => {
                return Err(Error::RateLimited {
                    message: format!("spec.url: the endpoint answered {status}"),
                });
            }
            500..=599 => {
                return Err(Error::Unavailable {
                    message: format!("spec.url: the endpoint answered {status}"),
                    source: None,
                });
            }
            _ => {
                return Err(Error::generic(format!(
                    "spec.url: the endpoint answered {status}"
                )));
            }
        }
        let body = Zeroizing::new(response.bytes().await.map_err(request_error)?.to_vec());
        let data = response_to_data(&body, spec.result.json_path.as_deref())?;
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        Ok(())
    }
}

/// A transport error, without the URL (it may contain templated secrets).
fn request_error(e: reqwest::Error) -> Error {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let what = if timeout {
        "spec.url: the request timed out"
    } else {
        "spec.url: the request failed"
    };
    Error::unavailable(what, e)
}

/// Template data: `{secret name: {key: value}}` for every `spec.secrets` entry.
type TemplateData = BTreeMap<String, BTreeMap<String, Zeroizing<String>>>;

async fn template_data(ctx: &GeneratorContext<'_>, spec: &WebhookSpec) -> Result<TemplateData> {
    let mut data = TemplateData::new();
    for (i, s) in spec.secrets.iter().flatten().enumerate() {
        let path = format!("spec.secrets[{i}].secretRef");
        let secret = ctx
            .cluster
            .get_secret(ctx.namespace, &s.secret_ref.name)
            .await?
            .ok_or_else(|| {
                Error::invalid_config(
                    format!("{path}.name"),
                    format!("Secret {}/{} not found", ctx.namespace, s.secret_ref.name),
                )
            })?;
        let (label, expected) = WEBHOOK_SECRET_LABEL;
        if secret.labels.get(label).map(String::as_str) != Some(expected) {
            return Err(Error::invalid_config(
                format!("{path}.name"),
                format!(
                    "Secret {}/{} needs the label {label}: {expected} to be used by a webhook",
                    ctx.namespace, s.secret_ref.name
                ),
            ));
        }
        let entry = data.entry(s.name.clone()).or_default();
        for (k, v) in &secret.data {
            entry.insert(
                k.clone(),
                Zeroizing::new(String::from_utf8_lossy(v.expose()).into_owned()),
            );
        }
    }
    Ok(data)
}

/// Renders the two template forms the Webhook generator supports; `path` names the field.
fn render(template: &str, data: &TemplateData, path: &str) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| Error::Template(format!("{path}: unclosed action")))?;
        let action = after[..end].trim();
        out.push_str(lookup(action, data, path)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup<'a>(action: &str, data: &'a TemplateData, path: &str) -> Result<&'a str> {
    let unsupported = || {
        Error::Template(format!(
            "{path}: only {{{{ .name.key }}}} and {{{{ index .name \"key\" }}}} are supported, not {{{{ {action} }}}}"
        ))
    };
    let is_ident = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    let (name, key) = if let Some(field) = action.strip_prefix('.') {
        let (name, key) = field.split_once('.').ok_or_else(unsupported)?;
        if !is_ident(name) || !is_ident(key) {
            return Err(unsupported());
        }
        (name, key.to_owned())
    } else if let Some(args) = action.strip_prefix("index ") {
        let args = args.trim_start();
        let name = args.strip_prefix('.').ok_or_else(unsupported)?;
        let (name, key) = name
            .split_once(char::is_whitespace)
            .ok_or_else(unsupported)?;
        let key: String = serde_json::from_str(key.trim()).map_err(|_| unsupported())?;
        if !is_ident(name) {
            return Err(unsupported());
        }
        (name, key)
    } else {
        return Err(unsupported());
    };
    data.get(name)
        .and_then(|m| m.get(&key))
        .map(|v| v.as_str())
        .ok_or_else(|| {
            Error::Template(format!(
                "{path}: no secret {name:?} with key {key:?} in spec.secrets"
            ))
        })
}

/// An HTTP client honouring `timeout`, `caBundle` and `caProvider`.
async fn http_client(ctx: &GeneratorContext<'_>, spec: &WebhookSpec) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(t) = &spec.timeout {
        let d = GoDuration::parse(t)
            .map_err(|e| Error::invalid_config("spec.timeout", e.to_string()))?;
        if let Some(d) = d.to_std().filter(|d| *d > Duration::ZERO) {
            builder = builder.timeout(d);
        }
    }
    let pem = ctx
        .credentials()
        .ca_bundle(spec.ca_bundle.as_deref(), spec.ca_provider.as_ref(), "spec")
        .await?;
    let pem = pem.map(|p| {
        let path = if spec.ca_bundle.as_deref().is_some_and(|b| !b.is_empty()) {
            "spec.caBundle"
        } else {
            "spec.caProvider"
        };
        (p, path)
    });
    if let Some((pem, path)) = pem {
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::invalid_config(path, "no PEM certificate found"))?;
        builder = builder.tls_certs_only(certs);
    }
    builder
        .build()
        .map_err(|e| Error::unavailable("cannot build the HTTP client", e))
}

/// Turns the response body into data, as described on [`Webhook`].
fn response_to_data(body: &[u8], json_path: Option<&str>) -> Result<SecretMap> {
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| Error::Conversion("the webhook response is not JSON".to_owned()))?;
    let mut selected = match json_path.filter(|p| !p.is_empty()) {
        Some(p) => select(&parsed, p)?.clone(),
        None => parsed,
    };
    if let Value::String(s) = &selected {
        selected = serde_json::from_str(s).map_err(|_| {
            Error::Conversion("spec.result.jsonPath: the selected string is not JSON".to_owned())
        })?;
    }
    let Value::Object(map) = selected else {
        return Err(Error::Conversion(format!(
            "the webhook result must be a JSON object, not {}",
            type_name(&selected)
        )));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let bytes = match v {
                Value::String(s) => s.into_bytes(),
                Value::Null => Vec::new(),
                Value::Bool(b) => b.to_string().into_bytes(),
                Value::Number(n) => n.to_string().into_bytes(),
                other @ (Value::Array(_) | Value::Object(_)) => {
                    serde_json::to_vec(&other).unwrap_or_default()
                }
            };
            (k, SecretValue::from(bytes))
        })
        .collect())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Evaluates the JSONPath subset `$`, `.name`, `['name']`, `["name"]` and `[index]`.
fn select<'a>(root: &'a Value, path: &str) -> Result<&'a Value> {
    let bad = |why: &str| Error::invalid_config("spec.result.jsonPath", why.to_owned());
    let unsupported =
        || bad("only $, .name, ['name'] and [index] steps are supported (no wildcards or filters)");
    let mut rest = path
        .trim()
        .strip_prefix('$')
        .ok_or_else(|| bad("must start with $"))?;
    let mut current = root;
    while !rest.is_empty() {
        let (step, after): (Step, &str) = if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || name == "*" || r.starts_with('.') {
                return Err(unsupported());
            }
            (Step::Name(name.to_owned()), &r[end..])
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| bad("unclosed ["))?;
            let inner = r[..end].trim();
            let step = if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
            {
                Step::Name(q.to_owned())
            } else if inner.starts_with('"') {
                Step::Name(serde_json::from_str(inner).map_err(|_| unsupported())?)
            } else {
                Step::Index(inner.parse().map_err(|_| unsupported())?)
            };
            (step, &r[end + 1..])
        } else {
            return Err(unsupported());
        };
        current = match (&step, current) {
            (Step::Name(n), Value::Object(m)) => m.get(n),
            (Step::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 {
                    usize::try_from(i.unsigned_abs())
                        .ok()
                        .and_then(|back| a.len().checked_sub(back))
                } else {
                    usize::try_from(*i).ok()
                };
                idx.and_then(|i| a.get(i))
            }
            _ => None,
        }
        .ok_or_else(|| bad(&format!("{path:?} selects nothing in the response")))?;
        rest = after;
    }
    Ok(current)
}

enum Step {
    Name(String),
    Index(i64),
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
    use serde_json::json;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;

    /// What the test server saw.
    #[derive(Clone, Debug, Default)]
    struct Seen {
        head: String,
        body: String,
    }

    /// A one-route HTTP/1.1 server on 127.0.0.1 answering every request with `status` and
    /// `body`; returns its base URL and what it received.
    async fn serve(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head, body_start) = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break (String::new(), 0);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break (String::from_utf8_lossy(&buf[..p]).into_owned(), p + 4);
                    }
                };
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < body_start + len {
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let req_body = String::from_utf8_lossy(&buf[body_start..]).into_owned();
                log.lock().unwrap().push(Seen {
                    head,
                    body: req_body,
                });
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                sock.write_all(resp.as_bytes()).await.unwrap();
                sock.shutdown().await.ok();
            }
        });
        (format!("http://{addr}"), seen)
    }

    fn cluster() -> DynCluster {
        Arc::new(
            MemoryCluster::new()
                .with_secret(
                    KubeSecret::new("default", "api")
                        .with_label("external-secrets.io/type", "webhook")
                        .with_data("token", "t0k3n")
                        .with_data("user-name", "svc"),
                )
                .with_secret(KubeSecret::new("default", "unlabelled").with_data("token", "x")),
        )
    }

    async fn generate(spec: Value) -> Result<GeneratorOutput> {
        let cluster = cluster();
        let spec = eso_core::api::GeneratorSpec::parse("Webhook", spec)?;
        Webhook::new()
            .generate(&GeneratorContext::new(&spec, "default", &cluster))
            .await
    }

    fn text(out: &GeneratorOutput, key: &str) -> String {
        String::from_utf8(out.data[key].expose().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn post_with_templated_url_headers_and_body() {
        let (base, seen) = serve(
            200,
            r#"{"credentials": {"user": "u1", "password": "p1", "port": 5432, "tls": true, "tags": ["a"], "none": null}}"#,
        )
        .await;
        let out = generate(json!({
            "url": format!("{base}/new?user={{{{ index .auth \"user-name\" }}}}"),
            "method": "POST",
            "headers": {"Authorization": "Bearer {{ .auth.token }}", "Content-Type": "application/json"},
            "body": "{\"token\": \"{{.auth.token}}\"}",
            "secrets": [{"name": "auth", "secretRef": {"name": "api", "key": "token"}}],
            "result": {"jsonPath": "$.credentials"},
            "timeout": "5s",
        }))
        .await
        .unwrap();
        assert_eq!(text(&out, "user"), "u1");
        assert_eq!(text(&out, "password"), "p1");
        assert_eq!(text(&out, "port"), "5432");
        assert_eq!(text(&out, "tls"), "true");
        assert_eq!(text(&out, "tags"), r#"["a"]"#);
        assert_eq!(text(&out, "none"), "");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        let head = seen[0].head.to_lowercase();
        assert!(head.starts_with("post /new?user=svc http/1.1"), "{head}");
        assert!(head.contains("authorization: bearer t0k3n"), "{head}");
        assert_eq!(seen[0].body, r#"{"token": "t0k3n"}"#);
    }

    #[tokio::test]
    async fn get_whole_response_and_json_string_result() {
        let (base, seen) = serve(200, r#"{"a": "1"}"#).await;
        let out = generate(json!({"url": format!("{base}/x"), "result": {}}))
            .await
            .unwrap();
        assert_eq!(text(&out, "a"), "1");
        assert!(seen.lock().unwrap()[0].head.starts_with("GET /x HTTP/1.1"));

        let (base, _) = serve(200, r#"{"data": [{"payload": "{\"k\": \"v\"}"}]}"#).await;
        let out = generate(json!({"url": base, "result": {"jsonPath": "$.data[0]['payload']"}}))
            .await
            .unwrap();
        assert_eq!(text(&out, "k"), "v");
    }

    #[tokio::test]
    async fn status_codes_map_to_errors_without_url_or_body() {
        let (base, _) = serve(404, r#"{"secret": "leak"}"#).await;
        let e = generate(
            json!({"url": format!("{base}/?t={{{{ .auth.token }}}}"), "result": {},
            "secrets": [{"name": "auth", "secretRef": {"name": "api"}}]}),
        )
        .await
        .unwrap_err();
        assert!(e.is_not_found(), "{e}");
        let (base, _) = serve(500, r#"{"secret": "leak"}"#).await;
        let e = generate(
            json!({"url": format!("{base}/?t={{{{ .auth.token }}}}"), "result": {},
            "secrets": [{"name": "auth", "secretRef": {"name": "api"}}]}),
        )
        .await
        .unwrap_err();
        assert!(e.is_temporary(), "{e}");
        let msg = format!("{e} {e:?}");
        assert!(!msg.contains("t0k3n") && !msg.contains("leak"), "{msg}");
        let (base, _) = serve(401, "{}").await;
        let e = generate(json!({"url": base, "result": {}}))
            .await
            .unwrap_err();
        assert!(
            e.to_string().starts_with("authentication failed: spec.url"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn connection_errors_hide_the_url() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = generate(
            json!({"url": format!("http://{addr}/?t={{{{ .auth.token }}}}"), "result": {},
            "secrets": [{"name": "auth", "secretRef": {"name": "api"}}]}),
        )
        .await
        .unwrap_err();
        assert!(e.is_temporary());
        let mut msg = format!("{e} {e:?}");
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&s.to_string());
            src = s.source();
        }
        assert!(!msg.contains("t0k3n"), "{msg}");
    }

    #[tokio::test]
    async fn bad_results() {
        let (base, _) = serve(200, r#"["a"]"#).await;
        let e = generate(json!({"url": base, "result": {}}))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("must be a JSON object"), "{e}");
        let (base, _) = serve(200, "not json").await;
        let e = generate(json!({"url": base, "result": {}}))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{e}");
        let (base, _) = serve(200, r#"{"a": {}}"#).await;
        let e = generate(json!({"url": base, "result": {"jsonPath": "$.b"}}))
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("spec.result.jsonPath: "), "{e}");
    }

    #[tokio::test]
    async fn spec_errors_name_fields() {
        let cases = [
            (
                json!({"url": "http://x", "result": {}, "secrets": [{"name": "a", "secretRef": {"name": "unlabelled"}}]}),
                "spec.secrets[0].secretRef.name: ",
            ),
            (
                json!({"url": "http://x", "result": {}, "secrets": [{"name": "a", "secretRef": {"name": "missing"}}]}),
                "spec.secrets[0].secretRef.name: ",
            ),
            (
                json!({"url": "http://x/{{ .a.b | upper }}", "result": {}}),
                "template error: spec.url: ",
            ),
            (
                json!({"url": "http://x/{{ .a.b }}", "result": {}}),
                "template error: spec.url: ",
            ),
            (
                json!({"url": "http://x", "headers": {"X": "{{ .nope.k }}"}, "result": {}}),
                "template error: spec.headers.X: ",
            ),
            (json!({"url": "not a url", "result": {}}), "spec.url: "),
            (
                json!({"url": "http://x", "method": "GE T", "result": {}}),
                "spec.method: ",
            ),
            (
                json!({"url": "http://x", "timeout": "soon", "result": {}}),
                "spec.timeout: ",
            ),
            (
                json!({"url": "http://x", "caBundle": "!!", "result": {}}),
                "spec.caBundle: ",
            ),
            (
                json!({"url": "http://x", "caBundle": "LS0tLQ==", "result": {}}),
                "spec.caBundle: ",
            ),
            (
                json!({"url": "http://x", "caProvider": {"type": "ConfigMap", "name": "ca", "key": "ca.crt"}, "result": {}}),
                "spec.caProvider: ConfigMap default/ca not found",
            ),
            (
                json!({"url": "http://x", "auth": {"ntlm": {"usernameSecret": {"name": "a", "key": "u"}, "passwordSecret": {"name": "a", "key": "p"}}}, "result": {}}),
                "not supported: spec.auth.ntlm",
            ),
            (json!({"result": {}}), "spec: missing field `url`"),
        ];
        for (spec, prefix) in cases {
            let e = generate(spec.clone()).await.unwrap_err();
            assert!(e.to_string().starts_with(prefix), "{spec}: {e}");
        }
    }

    #[test]
    fn json_path_subset() {
        let v = json!({"a": {"b c": [10, {"d": "x"}]}});
        assert_eq!(select(&v, "$").unwrap(), &v);
        assert_eq!(select(&v, "$.a['b c'][1].d").unwrap(), "x");
        assert_eq!(select(&v, "$[\"a\"][\"b c\"][-2]").unwrap(), 10);
        for bad in ["a.b", "$..a", "$.*", "$[*]", "$[?(@.a)]", "$.a[", "$.x"] {
            let e = select(&v, bad).unwrap_err();
            assert!(
                e.to_string().starts_with("spec.result.jsonPath: "),
                "{bad}: {e}"
            );
        }
    }
}
