//! The HTTP and template core shared by the `webhook` provider and the `Webhook` generator.
//!
//! Both kinds describe one HTTP call the same way (`method`, `url`, `headers`, `body`,
//! `timeout`, `caBundle` / `caProvider`, `result.jsonPath`, `secrets`); only the data the
//! templates see differs (`.remoteRef` for the provider). [`Templates`] parses the templates
//! once (errors name the field), [`Endpoint`] adds the HTTP client, [`TemplateSecrets`] reads
//! the `secrets` Kubernetes Secrets, and [`Endpoint::send`] renders and sends one request.

use std::collections::BTreeMap;
use std::time::Duration;

use eso_core::api::CAProvider;
use eso_core::provider::{Credentials, error_for_status, transport_error};
use eso_core::template::{Map, Template, Value};
use eso_core::{Error, GoDuration, Result};
use zeroize::Zeroizing;

/// The label a Secret needs before a webhook reads it, as in ESO.
pub const WEBHOOK_SECRET_LABEL: (&str, &str) = ("external-secrets.io/type", "webhook");

/// The fields of a webhook spec that describe the request, borrowed from either spec type.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestSpec<'a> {
    pub(crate) method: Option<&'a str>,
    pub(crate) url: &'a str,
    pub(crate) headers: Option<&'a BTreeMap<String, String>>,
    pub(crate) body: Option<&'a str>,
    pub(crate) timeout: Option<&'a str>,
    pub(crate) json_path: Option<&'a str>,
    pub(crate) ca_bundle: Option<&'a str>,
    pub(crate) ca_provider: Option<&'a CAProvider>,
    pub(crate) ntlm: bool,
}

/// The parsed templates of a spec, and its method and timeout.
#[derive(Debug)]
pub(crate) struct Templates {
    /// The block the fields are in (`spec`, `spec.provider.webhook`).
    pub(crate) field: String,
    method: Option<reqwest::Method>,
    pub(crate) url: Template,
    headers: Vec<(reqwest::header::HeaderName, Template)>,
    body: Option<Template>,
    json_path: Option<Template>,
    timeout: Option<Duration>,
}

impl Templates {
    /// Parses every template of `spec`; errors name the field (`{field}.url`, ...). NTLM
    /// authentication is [`Error::NotSupported`].
    pub(crate) fn parse(spec: &RequestSpec<'_>, field: &str) -> Result<Self> {
        if spec.ntlm {
            return Err(Error::not_supported(format!(
                "{field}.auth.ntlm: NTLM authentication is not supported by eso-rs (no maintained \
                 Rust NTLM client); put a proxy that does NTLM in front of the endpoint"
            )));
        }
        let method = spec
            .method
            .filter(|m| !m.is_empty())
            .map(|m| {
                reqwest::Method::from_bytes(m.as_bytes()).map_err(|_| {
                    Error::invalid_config(format!("{field}.method"), "not a valid HTTP method")
                })
            })
            .transpose()?;
        let parse = |name: String, src: &str| {
            Template::parse(&name, src).map_err(|e| Error::Template(e.message))
        };
        if spec.url.is_empty() {
            return Err(Error::invalid_config(format!("{field}.url"), "is required"));
        }
        let url = parse(format!("{field}.url"), spec.url)?;
        let mut headers = Vec::new();
        for (name, src) in spec.headers.into_iter().flatten() {
            let path = format!("{field}.headers.{name}");
            let header = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid_config(&path, "not a valid header name"))?;
            headers.push((header, parse(path, src)?));
        }
        let body = spec
            .body
            .filter(|b| !b.is_empty())
            .map(|b| parse(format!("{field}.body"), b))
            .transpose()?;
        let json_path = spec
            .json_path
            .filter(|p| !p.is_empty())
            .map(|p| parse(format!("{field}.result.jsonPath"), p))
            .transpose()?;
        let timeout = match spec.timeout.filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => GoDuration::parse(t)
                .map_err(|e| Error::invalid_config(format!("{field}.timeout"), e.to_string()))?
                .to_std()
                .filter(|d| *d > Duration::ZERO),
        };
        Ok(Self {
            field: field.to_owned(),
            method,
            url,
            headers,
            body,
            json_path,
            timeout,
        })
    }

    /// The request's JSONPath (rendered over `data`), when the spec sets one.
    pub(crate) fn json_path(&self, data: &Value) -> Result<Option<String>> {
        self.json_path
            .as_ref()
            .map(|t| render(t, data).map(|p| p.trim().to_owned()))
            .transpose()
    }
}

/// One HTTP endpoint: parsed templates plus a client honouring `timeout` and the CA bundle.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) templates: Templates,
    client: reqwest::Client,
}

/// What [`Endpoint::send`] renders its templates over.
#[derive(Debug)]
pub(crate) struct RequestData<'a> {
    /// Data for the URL (the `remoteRef` values query-escaped, as ESO does).
    pub(crate) url: &'a Value,
    /// Data for the headers and the body.
    pub(crate) raw: &'a Value,
    /// The method when the spec sets none.
    pub(crate) default_method: reqwest::Method,
    /// The body when the spec sets none.
    pub(crate) default_body: Option<Zeroizing<Vec<u8>>>,
    /// What is addressed, for [`Error::NotFound`] and messages (a remote key, never the URL).
    pub(crate) key: &'a str,
    /// Send `default_method` without a body whatever the spec says (ESO's deletes).
    pub(crate) bare: bool,
}

impl Endpoint {
    /// Builds the HTTP client for `templates` (reading `caProvider` through `creds`).
    pub(crate) async fn new(
        templates: Templates,
        spec: &RequestSpec<'_>,
        creds: &Credentials,
    ) -> Result<Self> {
        let field = &templates.field;
        let mut builder = reqwest::Client::builder();
        if let Some(t) = templates.timeout {
            builder = builder.timeout(t);
        }
        let pem = creds
            .ca_bundle(spec.ca_bundle, spec.ca_provider, field)
            .await?;
        if let Some(pem) = pem {
            let path = if spec.ca_bundle.is_some_and(|b| !b.is_empty()) {
                format!("{field}.caBundle")
            } else {
                format!("{field}.caProvider")
            };
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| Error::invalid_config(path, "no PEM certificate found"))?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| Error::unavailable("cannot build the HTTP client", e))?;
        Ok(Self { templates, client })
    }

    /// Renders the request over `data`, sends it and returns the body of a 2xx answer. Other
    /// answers go through the kit's status mapping; neither the URL (it may hold templated
    /// secrets) nor a response body appears in an error.
    pub(crate) async fn send(&self, data: RequestData<'_>) -> Result<Zeroizing<Vec<u8>>> {
        let t = &self.templates;
        let method = match (&t.method, data.bare) {
            (Some(m), false) => m.clone(),
            _ => data.default_method,
        };
        let url = Zeroizing::new(render(&t.url, data.url)?);
        let url = reqwest::Url::parse(url.trim()).map_err(|e| {
            Error::invalid_config(format!("{}.url", t.field), format!("not a valid URL: {e}"))
        })?;
        let what = format!("{method} {}", data.key);
        let mut request = self.client.request(method, url);
        for (name, template) in &t.headers {
            let value = Zeroizing::new(render(template, data.raw)?);
            let mut value = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
                Error::invalid_config(
                    format!("{}.headers.{name}", t.field),
                    "not a valid header value",
                )
            })?;
            value.set_sensitive(true);
            request = request.header(name, value);
        }
        let body = match (&t.body, data.bare) {
            (_, true) => None,
            (Some(b), false) => Some(Zeroizing::new(render(b, data.raw)?.into_bytes())),
            (None, false) => data.default_body,
        };
        if let Some(b) = body {
            request = request.body(b.to_vec());
        }
        let response = request.send().await.map_err(|e| request_error(&what, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(error_for_status(
                status.as_u16(),
                data.key,
                format!("{what}: the endpoint answered {status}"),
            ));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| request_error(&what, e))?;
        Ok(Zeroizing::new(bytes.to_vec()))
    }
}

/// A transport error, without the URL (it may contain templated secrets).
fn request_error(what: &str, e: reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        format!("{what}: the request timed out")
    } else {
        what.to_owned()
    };
    transport_error(&what, &e.without_url())
}

/// Renders `t` over `data` as UTF-8 text.
pub(crate) fn render(t: &Template, data: &Value) -> Result<String> {
    let out = t.render(data).map_err(|e| Error::Template(e.message))?;
    String::from_utf8(out)
        .map_err(|_| Error::Template(format!("template: {}: output is not UTF-8", t.name())))
}

/// One `secrets` entry: the template name and the Secret it reads.
#[derive(Clone, Debug)]
pub(crate) struct SecretSource {
    /// The name the templates use (`.<name>.<key>`).
    pub(crate) name: String,
    /// The Secret's name.
    pub(crate) secret: String,
    /// The namespace the reference names, if any (honoured by a `ClusterSecretStore` only).
    pub(crate) namespace: Option<String>,
    /// The field holding the reference, for errors.
    pub(crate) field: String,
}

/// The data of the `secrets` Secrets, by template name.
#[derive(Debug, Default)]
pub(crate) struct TemplateSecrets(Map);

impl TemplateSecrets {
    /// Reads every source through `creds` (ESO's namespace rules). Each Secret must carry the
    /// label [`WEBHOOK_SECRET_LABEL`].
    pub(crate) async fn load(creds: &Credentials, sources: &[SecretSource]) -> Result<Self> {
        let mut out = Map::new();
        for s in sources {
            let ns = creds.namespace_of(s.namespace.as_deref());
            let secret = creds
                .cluster()
                .get_secret(ns, &s.secret)
                .await?
                .ok_or_else(|| {
                    Error::invalid_config(
                        format!("{}.name", s.field),
                        format!("Secret {ns}/{} not found", s.secret),
                    )
                })?;
            let (label, expected) = WEBHOOK_SECRET_LABEL;
            if secret.labels.get(label).map(String::as_str) != Some(expected) {
                return Err(Error::invalid_config(
                    format!("{}.name", s.field),
                    format!(
                        "Secret {ns}/{} needs the label {label}: {expected} to be used by a webhook",
                        s.secret
                    ),
                ));
            }
            let values: Map = secret
                .data
                .iter()
                .map(|(k, v)| {
                    let text = String::from_utf8_lossy(v.expose()).into_owned();
                    (k.as_str().into(), Value::string(text))
                })
                .collect();
            out.insert(s.name.as_str().into(), Value::string_map(values));
        }
        Ok(Self(out))
    }

    /// The template data: these Secrets plus a `remoteRef` group of `values` (when given).
    pub(crate) fn with_remote_ref(&self, values: Option<&[(&str, &str)]>) -> Value {
        let mut data = self.0.clone();
        if let Some(values) = values {
            let group: Map = values
                .iter()
                .map(|(k, v)| ((*k).into(), Value::str(v)))
                .collect();
            data.insert("remoteRef".into(), Value::string_map(group));
        }
        Value::map(data)
    }
}

/// Go's `url.QueryEscape`: what ESO applies to the `remoteRef` values in the URL.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(query_escape("a b/c?d=é~"), "a+b%2Fc%3Fd%3D%C3%A9~");
    }

    #[test]
    fn parse_errors_name_the_field() {
        let spec = |url: &'static str| RequestSpec {
            url,
            ..Default::default()
        };
        let e = Templates::parse(&spec("http://x/{{ .a"), "spec.provider.webhook").unwrap_err();
        assert!(e.to_string().contains("spec.provider.webhook.url"), "{e}");
        let e = Templates::parse(&spec(""), "spec").unwrap_err();
        assert_eq!(e.to_string(), "spec.url: is required");
        let ntlm = RequestSpec {
            url: "http://x",
            ntlm: true,
            ..Default::default()
        };
        let e = Templates::parse(&ntlm, "spec").unwrap_err();
        assert!(matches!(e, Error::NotSupported(_)), "{e}");
    }
}
