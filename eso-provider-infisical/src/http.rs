//! The transport under every Infisical call: the HTTP client with the API's base URL, and the
//! reading of an answer (Infisical's error body mapped into the crate's error, JSON decoded).

use eso_core::Result;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;

/// The HTTP client and the API's base URL (ending in `/api`).
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
}

/// The base URL for a `hostAPI`, ending in `/api` as Infisical's clients make it.
pub(crate) fn api_base(host_api: &str) -> String {
    let h = host_api.trim_end_matches('/');
    if h.ends_with("/api") {
        h.to_owned()
    } else {
        format!("{h}/api")
    }
}

/// Infisical's error body.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Value,
}

pub(crate) async fn decode<T: DeserializeOwned>(
    op: &str,
    key: &str,
    resp: reqwest::Response,
) -> Result<T> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|source| Error::Transport {
        op: op.to_owned(),
        source,
    })?;
    if !status.is_success() {
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = match body.message {
            Value::String(s) => s,
            Value::Null => status.canonical_reason().unwrap_or("error").to_owned(),
            other => other.to_string(),
        };
        return Err(Error::Status {
            op: op.to_owned(),
            key: key.to_owned(),
            status: status.as_u16(),
            message,
        }
        .into());
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Decode {
            op: op.to_owned(),
            why: e.to_string(),
        }
        .into()
    })
}

impl Http {
    /// A POST without a token (logins, renewal).
    pub(crate) async fn post_unauthenticated<T: DeserializeOwned>(
        &self,
        op: &str,
        path: &str,
        body: &Value,
    ) -> Result<T> {
        let resp = self
            .client
            .post(format!("{}/{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|source| Error::Transport {
                op: op.to_owned(),
                source,
            })?;
        decode(op, path, resp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_ends_in_api_once() {
        assert_eq!(api_base("https://h/api/"), "https://h/api");
        assert_eq!(api_base("https://h"), "https://h/api");
    }
}
