//! The HTTP layer: one reqwest client per store, Vault's request conventions (namespace and
//! token headers, `X-Vault-Index` for read-your-writes, `LIST` as `?list=true`). Retries are
//! not made here: the registry's retry layer (the store's `retrySettings`) retries whole
//! provider calls.

use std::sync::Mutex;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use eso_core::SecretValue;

use crate::error::VaultError;

pub(crate) mod kv;
pub(crate) mod secrets;
pub(crate) mod tls;

/// One request to Vault.
#[derive(Clone, Debug)]
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    /// The API path without `/v1/`, e.g. `secret/data/app`.
    pub(crate) path: &'a str,
    pub(crate) namespace: Option<&'a str>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<&'a Value>,
    /// `LIST` (sent as `GET ?list=true`).
    pub(crate) list: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn get(path: &'a str) -> Self {
        Self {
            method: Method::GET,
            path,
            namespace: None,
            query: Vec::new(),
            body: None,
            list: false,
        }
    }

    pub(crate) fn list(path: &'a str) -> Self {
        Self {
            list: true,
            ..Self::get(path)
        }
    }

    pub(crate) fn post(path: &'a str, body: &'a Value) -> Self {
        Self {
            method: Method::POST,
            body: Some(body),
            ..Self::get(path)
        }
    }

    pub(crate) fn delete(path: &'a str) -> Self {
        Self {
            method: Method::DELETE,
            ..Self::get(path)
        }
    }

    pub(crate) fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    pub(crate) fn in_namespace(mut self, ns: Option<&'a str>) -> Self {
        self.namespace = ns.filter(|n| !n.is_empty());
        self
    }

    pub(crate) fn with_query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    fn method_name(&self) -> &str {
        if self.list {
            "LIST"
        } else {
            self.method.as_str()
        }
    }
}

/// A configured HTTP client for one Vault server.
#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
    headers: HeaderMap,
    read_your_writes: bool,
    index: Mutex<Option<HeaderValue>>,
}

const INDEX_HEADER: &str = "x-vault-index";

impl Http {
    pub(crate) fn new(
        client: reqwest::Client,
        base: Url,
        headers: HeaderMap,
        read_your_writes: bool,
    ) -> Self {
        Self {
            client,
            base,
            headers,
            read_your_writes,
            index: Mutex::new(None),
        }
    }

    /// The same server and settings with another reqwest client (cert auth login).
    pub(crate) fn with_client(&self, client: reqwest::Client) -> Self {
        Self::new(
            client,
            self.base.clone(),
            self.headers.clone(),
            self.read_your_writes,
        )
    }

    fn url(&self, call: &Call<'_>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty().push("v1");
            for s in call.path.split('/').filter(|s| !s.is_empty()) {
                segs.push(s);
            }
        }
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
            if call.list {
                q.append_pair("list", "true");
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    /// Sends `call` and returns the JSON body, or `None` for an empty answer (204).
    pub(crate) async fn send(
        &self,
        call: &Call<'_>,
        token: Option<&SecretValue>,
    ) -> Result<Option<Value>, VaultError> {
        let method = if call.list {
            Method::GET
        } else {
            call.method.clone()
        };
        let mut req = self
            .client
            .request(method, self.url(call))
            .headers(self.headers.clone());
        if let Some(ns) = call.namespace
            && let Ok(v) = HeaderValue::from_str(ns)
        {
            req = req.header("x-vault-namespace", v);
        }
        if let Some(t) = token
            && let Ok(mut v) = HeaderValue::from_bytes(t.expose())
        {
            v.set_sensitive(true);
            req = req.header("x-vault-token", v);
        }
        if self.read_your_writes
            && let Some(idx) = self.index.lock().ok().and_then(|g| g.clone())
        {
            req = req.header(INDEX_HEADER, idx);
        }
        if let Some(body) = call.body {
            req = req.json(body);
        }
        let transport = |source| VaultError::Transport {
            method: call.method_name().to_owned(),
            path: call.path.to_owned(),
            source,
        };
        let resp = req.send().await.map_err(transport)?;
        if self.read_your_writes
            && let Some(idx) = resp.headers().get(INDEX_HEADER)
            && let Ok(mut g) = self.index.lock()
        {
            *g = Some(idx.clone());
        }
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport)?;
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| VaultError::Decode {
                    path: call.path.to_owned(),
                    what: format!(
                        "body is not the expected JSON ({})",
                        eso_core::api::redact_serde_message(&e.to_string())
                    ),
                });
        }
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("errors").and_then(Value::as_array).map(|errs| {
                    errs.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no message").to_owned());
        Err(VaultError::Status {
            method: call.method_name().to_owned(),
            path: call.path.to_owned(),
            status: status.as_u16(),
            message: truncate(message, 300),
        })
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Builds the header map from `spec.headers` (plus `X-Vault-Inconsistent` when asked).
pub(crate) fn header_map(
    headers: Option<&std::collections::BTreeMap<String, String>>,
    forward_inconsistent: bool,
    field: &str,
) -> eso_core::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (k, v) in headers.into_iter().flatten() {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
            eso_core::Error::invalid_config(
                format!("{field}.headers"),
                format!("{k:?} is not a valid HTTP header name"),
            )
        })?;
        let value = HeaderValue::from_str(v).map_err(|_| {
            eso_core::Error::invalid_config(
                format!("{field}.headers"),
                format!("the value of header {k:?} is not a valid HTTP header value"),
            )
        })?;
        map.insert(name, value);
    }
    if forward_inconsistent {
        map.insert(
            HeaderName::from_static("x-vault-inconsistent"),
            HeaderValue::from_static("forward-active-node"),
        );
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(base: &str) -> Http {
        Http::new(
            reqwest::Client::new(),
            Url::parse(base).unwrap(),
            HeaderMap::new(),
            false,
        )
    }

    #[test]
    fn urls_escape_segments_and_add_list() {
        let h = http("https://vault.example:8200");
        let u = h.url(&Call::get("secret/data/a b/c?d").with_query("version", "2"));
        assert_eq!(
            u.as_str(),
            "https://vault.example:8200/v1/secret/data/a%20b/c%3Fd?version=2"
        );
        let u = h.url(&Call::list("secret/metadata/dir/"));
        assert_eq!(
            u.as_str(),
            "https://vault.example:8200/v1/secret/metadata/dir?list=true"
        );
        let h = http("https://vault.example/prefix/");
        assert_eq!(
            h.url(&Call::get("sys/health")).as_str(),
            "https://vault.example/prefix/v1/sys/health"
        );
    }

    #[test]
    fn headers_are_checked() {
        let mut m = std::collections::BTreeMap::new();
        m.insert("X-Team".to_owned(), "a".to_owned());
        let h = header_map(Some(&m), true, "spec.provider.vault").unwrap();
        assert_eq!(h["x-team"], "a");
        assert_eq!(h["x-vault-inconsistent"], "forward-active-node");
        m.insert("bad header".to_owned(), "x".to_owned());
        let e = header_map(Some(&m), false, "spec.provider.vault").unwrap_err();
        assert!(e.to_string().starts_with("spec.provider.vault.headers:"));
    }
}
