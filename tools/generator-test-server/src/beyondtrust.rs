//! BeyondTrust Workload Credentials dynamic secrets, as BeyondTrust's Secrets API reference
//! describes them and ESO's Go client (`providers/v1/beyondtrustworkloadcredentials/
//! httpclient`) calls them. BeyondTrust publishes no client library to check against.
//!
//! - `POST /{siteId}/secrets/dynamic/{name}/generate[?folder=FOLDER]` with `Authorization:
//!   Bearer TOKEN` and `bt-secrets-api-version`: 201 `{"secret": {"accessKeyId",
//!   "secretAccessKey", "sessionToken", "leaseId", "expiration"}}` (temporary AWS-style keys
//!   with a lease of one hour; `sessionToken` only for definitions declared with `=sts`).
//! - `GET /{siteId}/secrets/session`: 200 while the token is valid (ESO's session check).
//! - `GET /_test/leases`: every lease issued (`leaseId`, `path`, `expiration`).
//! - `GET /_test/requests`: every call (method, path, query, which token kind, API version
//!   header, status; never a token or a generated value).
//!
//! Errors are `{"error", "message"[, "details"]}`, the body ESO's client parses: 400
//! `bad_request` without the API version header, 401 `unauthorized` for an unknown token,
//! 403 `forbidden` for a read-only token (`--beyondtrust-read-token`), 404 `not_found` for
//! an unknown site or definition.
//!
//! usage: `--beyondtrust-site SITE_ID --beyondtrust-token TOKEN [--beyondtrust-read-token
//! TOKEN] --beyondtrust-dynamic FOLDER/NAME[=sts]...`

use std::sync::Mutex;

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::{Call, Resp, json_response};

/// The site, tokens and dynamic secret definitions (from the command line).
#[derive(Debug, Default)]
pub(crate) struct Config {
    pub(crate) site: Option<String>,
    pub(crate) tokens: Vec<String>,
    pub(crate) read_tokens: Vec<String>,
    /// `(folder/name, with a session token)`.
    definitions: Vec<(String, bool)>,
}

impl Config {
    /// `FOLDER/NAME[=sts]`.
    pub(crate) fn add_definition(&mut self, arg: &str) {
        match arg.strip_suffix("=sts") {
            Some(p) => self.definitions.push((p.to_owned(), true)),
            None => self.definitions.push((arg.to_owned(), false)),
        }
    }
}

/// The BeyondTrust service.
#[derive(Debug)]
pub(crate) struct BeyondTrust {
    config: Config,
    leases: Mutex<Vec<Value>>,
    requests: Mutex<Vec<Value>>,
}

type Answer = (StatusCode, Value);

fn error(status: StatusCode, error: &str, message: &str) -> Answer {
    (status, json!({"error": error, "message": message}))
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| crate::unescape(&v.replace('+', " ")))
    })
}

/// `n` upper-case letters and digits.
fn upper(n: usize) -> String {
    crate::random_alnum(n * 2)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(n)
        .collect()
}

impl BeyondTrust {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            leases: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    pub(crate) fn route(&self, call: &Call) -> Resp {
        match (call.method.as_str(), call.path.as_str()) {
            ("GET", "/_test/requests") => {
                return json_response(StatusCode::OK, &json!(*self.requests.lock().expect("lock")));
            }
            ("GET", "/_test/leases") => {
                return json_response(StatusCode::OK, &json!(*self.leases.lock().expect("lock")));
            }
            _ => {}
        }
        let token = call
            .header("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or_default();
        let auth = if self.config.tokens.iter().any(|t| t == token) {
            "token"
        } else if self.config.read_tokens.iter().any(|t| t == token) {
            "read"
        } else if token.is_empty() {
            "none"
        } else {
            "unknown"
        };
        let (status, body) = self.answer(call, auth);
        self.requests.lock().expect("lock").push(json!({
            "method": call.method, "path": call.path, "query": call.query, "auth": auth,
            "api_version": call.header("bt-secrets-api-version"), "status": status.as_u16(),
        }));
        json_response(status, &body)
    }

    fn answer(&self, call: &Call, auth: &str) -> Answer {
        if call
            .header("bt-secrets-api-version")
            .is_none_or(str::is_empty)
        {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "missing bt-secrets-api-version header",
            );
        }
        if !matches!(auth, "token" | "read") {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "invalid or expired API token",
            );
        }
        let seg: Vec<String> = call
            .path
            .trim_matches('/')
            .split('/')
            .map(crate::unescape)
            .collect();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let site = self.config.site.as_deref().unwrap_or_default();
        match (call.method.as_str(), seg.as_slice()) {
            (_, [s, ..]) if *s != site => {
                error(StatusCode::NOT_FOUND, "not_found", "site not found")
            }
            ("GET", [_, "secrets", "session"]) => (StatusCode::OK, json!({"valid": true})),
            ("POST", [_, "secrets", "dynamic", name, "generate"]) => {
                if auth == "read" {
                    return error(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "the API token may not generate dynamic secrets",
                    );
                }
                let folder = query_param(call.query.as_deref(), "folder");
                let path = match folder.as_deref().filter(|f| !f.is_empty()) {
                    Some(f) => format!("{f}/{name}"),
                    None => (*name).to_owned(),
                };
                self.generate(&path)
            }
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
        }
    }

    fn generate(&self, path: &str) -> Answer {
        let Some((_, sts)) = self.config.definitions.iter().find(|(p, _)| p == path) else {
            return (
                StatusCode::NOT_FOUND,
                json!({"error": "not_found", "message": "dynamic secret definition not found",
                    "details": {"path": path}}),
            );
        };
        let expiration = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let lease = format!("lease-{}", crate::random_alnum(16));
        let mut secret = json!({
            "accessKeyId": format!("ASIA{}", upper(16)),
            "secretAccessKey": crate::random_alnum(40),
            "leaseId": lease,
            "expiration": expiration,
        });
        if *sts {
            secret["sessionToken"] = json!(crate::random_alnum(120));
        }
        self.leases
            .lock()
            .expect("lock")
            .push(json!({"leaseId": lease, "path": path, "expiration": expiration}));
        (StatusCode::CREATED, json!({"secret": secret}))
    }
}
