//! The `webhook` provider: [`Webhook`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use eso_core::provider::{
    Capabilities, Credentials, FindRef, Provider, PushRef, PushValue, RemoteRef, Validation,
    not_supported,
};
use eso_core::{Error, Result, SecretMap, SecretValue};
use zeroize::Zeroizing;

use crate::request::{
    Endpoint, RequestData, RequestSpec, SecretSource, TemplateSecrets, Templates, query_escape,
    render,
};

/// How long [`Provider::validate`] waits for a TCP connection to the endpoint.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(15);

/// What the provider supports: reads of values and maps, push and delete (as ESO's
/// `ReadWrite`); no `find`, no metadata, no versions beyond what the templates make of
/// `.remoteRef.version`.
pub(crate) const CAPABILITIES: Capabilities = {
    let mut c = Capabilities::ALL;
    c.find_by_name = false;
    c.find_by_tags = false;
    c.metadata = false;
    c.versions = false;
    c
};

/// A configured `webhook` store: every read, push and delete is one HTTP call built from the
/// store's templates (see the crate docs for the template data of each call).
pub struct Webhook {
    endpoint: Endpoint,
    creds: Credentials,
    sources: Vec<SecretSource>,
    /// `SecretStore ns/name` or `ClusterSecretStore name`, for errors.
    store: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    pub(crate) async fn new(
        templates: Templates,
        spec: &RequestSpec<'_>,
        creds: Credentials,
        sources: Vec<SecretSource>,
        store: String,
    ) -> Result<Self> {
        let endpoint = Endpoint::new(templates, spec, &creds).await?;
        Ok(Self {
            endpoint,
            creds,
            sources,
            store,
        })
    }

    /// Prefixes an error with `webhook <store>: ` so a reconcile error names the store.
    fn at_store(&self, e: Error) -> Error {
        e.context(format_args!("webhook {}", self.store))
    }

    /// The body of the read of `r`, and the rendered `result.jsonPath`.
    async fn fetch(&self, r: &RemoteRef) -> Result<(Zeroizing<Vec<u8>>, Option<String>)> {
        let secrets = TemplateSecrets::load(&self.creds, &self.sources).await?;
        let (key, version, property) = (
            r.key.as_str(),
            r.version().unwrap_or_default(),
            r.property().unwrap_or_default(),
        );
        let ns = self.creds.namespace();
        let raw = secrets.with_remote_ref(Some(&[
            ("key", key),
            ("version", version),
            ("property", property),
            ("namespace", ns),
        ]));
        let (k, v, p) = (
            query_escape(key),
            query_escape(version),
            query_escape(property),
        );
        let escaped = secrets.with_remote_ref(Some(&[
            ("key", &k),
            ("version", &v),
            ("property", &p),
            ("namespace", ns),
        ]));
        let json_path = self.endpoint.templates.json_path(&raw)?;
        let body = self
            .endpoint
            .send(RequestData {
                url: &escaped,
                raw: &raw,
                default_method: reqwest::Method::GET,
                default_body: None,
                key,
                bare: false,
            })
            .await?;
        Ok((body, json_path))
    }

    /// Sends a push (`value` given) or a delete of `r`. A delete answered 404 has nothing
    /// left to do.
    async fn write(&self, r: &PushRef, value: Option<&SecretValue>) -> Result<()> {
        let secrets = TemplateSecrets::load(&self.creds, &self.sources).await?;
        let key = r.remote_key.as_str();
        let text = value
            .map(|v| {
                v.expose_str()
                    .ok_or_else(|| Error::Conversion("the pushed value is not UTF-8".to_owned()))
            })
            .transpose()?;
        let secret_key = r.secret_key.as_deref().unwrap_or_default();
        let property = r.property().unwrap_or_default();
        let group = |escape: bool| -> Zeroizing<Vec<(String, String)>> {
            let e = |s: &str| {
                if escape {
                    query_escape(s)
                } else {
                    s.to_owned()
                }
            };
            let mut g = Vec::with_capacity(6);
            if let Some(t) = text {
                g.push(("value".to_owned(), e(t)));
            }
            g.push(("key".to_owned(), e(key)));
            g.push(("remoteKey".to_owned(), e(key)));
            g.push(("secretKey".to_owned(), e(secret_key)));
            g.push(("property".to_owned(), e(property)));
            if let Some(t) = text {
                g.push((key.to_owned(), e(t)));
            }
            Zeroizing::new(g)
        };
        let view = |g: &[(String, String)]| {
            let pairs: Vec<(&str, &str)> =
                g.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            secrets.with_remote_ref(Some(&pairs))
        };
        let (raw, escaped) = (view(&group(false)), view(&group(true)));
        let (method, body) = match text {
            Some(t) => (
                reqwest::Method::POST,
                Some(Zeroizing::new(t.as_bytes().to_vec())),
            ),
            None => (reqwest::Method::DELETE, None),
        };
        let sent = self
            .endpoint
            .send(RequestData {
                url: &escaped,
                raw: &raw,
                default_method: method,
                default_body: body,
                key,
                bare: value.is_none(),
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if value.is_none() && e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Provider for Webhook {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        let (body, path) = self.fetch(r).await.map_err(|e| self.at_store(e))?;
        let field = format!("{}.result.jsonPath", self.endpoint.templates.field);
        crate::result::to_value(&body, path.as_deref(), &field).map_err(|e| self.at_store(e))
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let (body, path) = self.fetch(r).await.map_err(|e| self.at_store(e))?;
        let field = format!("{}.result.jsonPath", self.endpoint.templates.field);
        crate::result::to_map(&body, path.as_deref(), &field).map_err(|e| self.at_store(e))
    }

    async fn get_all_secrets(&self, _find: &FindRef) -> Result<SecretMap> {
        Err(not_supported("find (dataFrom.find)", crate::KIND))
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        if r.remote_key.is_empty() {
            return Err(self.at_store(Error::invalid_config("remoteRef.remoteKey", "is required")));
        }
        let bytes = value.to_bytes()?;
        self.write(r, Some(&bytes))
            .await
            .map_err(|e| self.at_store(e))
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.write(r, None).await.map_err(|e| self.at_store(e))
    }

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        match self.fetch(&RemoteRef::new(r.remote_key.clone())).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(self.at_store(e)),
        }
    }

    async fn validate(&self) -> Result<Validation> {
        // The URL may depend on the remote ref: render it with an empty one, and check that
        // its host accepts TCP connections (what ESO's validation checks).
        let secrets = match TemplateSecrets::load(&self.creds, &self.sources).await {
            Ok(s) => s,
            Err(_) if self.creds.scope() == eso_core::provider::StoreScope::Cluster => {
                return Ok(Validation::Unknown);
            }
            Err(e) => return Err(self.at_store(e)),
        };
        let empty = secrets.with_remote_ref(Some(&[
            ("key", ""),
            ("version", ""),
            ("property", ""),
            ("namespace", self.creds.namespace()),
        ]));
        let Ok(url) = render(&self.endpoint.templates.url, &empty) else {
            return Ok(Validation::Unknown);
        };
        let Ok(url) = reqwest::Url::parse(url.trim()) else {
            return Ok(Validation::Unknown);
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Ok(Validation::Unknown);
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match tokio::time::timeout(
            VALIDATE_TIMEOUT,
            tokio::net::TcpStream::connect((host, port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(Validation::Ready),
            Ok(Err(e)) => Err(self.at_store(eso_core::provider::transport_error(
                &format!("cannot reach {host}:{port}"),
                &e,
            ))),
            Err(_) => Err(self.at_store(Error::unavailable(
                format!("cannot reach {host}:{port}"),
                "timed out",
            ))),
        }
    }
}
