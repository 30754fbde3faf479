//! GitLab deploy tokens, as GitLab's REST API v4 documents them ("Deploy tokens API"): for
//! the project `eso-rs/app` (ID 101) and the group `eso-rs` (ID 201), addressed by ID or by
//! URL-escaped path.
//!
//! - `POST /api/v4/{projects|groups}/{id}/deploy_tokens`: `name` and `scopes` required,
//!   `username` and `expires_at` optional; answers 201 with `id`, `name`, `username`
//!   (`gitlab+deploy-token-{id}` by default), `expires_at`, `token`, `revoked`, `expired`,
//!   `scopes`. The virtual-registry scopes are for projects only.
//! - `GET .../deploy_tokens` (the active ones, without their values), `GET` and `DELETE
//!   .../deploy_tokens/{token_id}` (204; a token deleted is gone).
//! - `GET /_test/requests`: every call received (method, path, body, status; tokens masked).
//!
//! Auth: `PRIVATE-TOKEN` (or `Authorization: Bearer`). The `--gitlab-token` tokens have the
//! `api` scope; `--gitlab-read-token` ones only `read_api` (403 `insufficient_scope` on
//! writes). Errors are GitLab's bodies: `{"message": "401 Unauthorized"}`,
//! `{"message": "404 Project Not Found"}`, `{"error": "scopes does not have a valid value"}`.

use std::sync::Mutex;

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::{Call, Resp, json_response};

const PROJECT: (u64, &str) = (101, "eso-rs/app");
const GROUP: (u64, &str) = (201, "eso-rs");
const SCOPES: [&str; 7] = [
    "read_repository",
    "read_registry",
    "write_registry",
    "read_package_registry",
    "write_package_registry",
    "read_virtual_registry",
    "write_virtual_registry",
];

/// The tokens the server accepts (from the command line).
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// Tokens with the `api` scope.
    pub(crate) api_tokens: Vec<String>,
    /// Tokens with the `read_api` scope only.
    pub(crate) read_tokens: Vec<String>,
}

#[derive(Debug, Clone)]
struct DeployToken {
    id: u64,
    /// `projects` or `groups`, and the numeric ID.
    owner: (&'static str, u64),
    name: String,
    username: String,
    expires_at: Option<String>,
    scopes: Vec<String>,
    value: String,
}

impl DeployToken {
    fn to_json(&self, with_value: bool) -> Value {
        let mut v = json!({
            "id": self.id, "name": self.name, "username": self.username,
            "expires_at": self.expires_at, "scopes": self.scopes,
            "revoked": false, "expired": false,
        });
        if with_value {
            v["token"] = json!(self.value);
        }
        v
    }
}

#[derive(Debug, Default)]
struct Store {
    next_id: u64,
    tokens: Vec<DeployToken>,
}

/// The GitLab service.
#[derive(Debug)]
pub(crate) struct GitLab {
    config: Config,
    store: Mutex<Store>,
    requests: Mutex<Vec<Value>>,
}

type Answer = (StatusCode, Value);

fn msg(status: StatusCode, message: &str) -> Answer {
    (status, json!({"message": message}))
}

impl GitLab {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            store: Mutex::new(Store {
                next_id: 1,
                tokens: Vec::new(),
            }),
            requests: Mutex::default(),
        }
    }

    pub(crate) fn route(&self, call: &Call) -> Resp {
        if call.method == "GET" && call.path == "/_test/requests" {
            return json_response(StatusCode::OK, &json!(*self.requests.lock().expect("lock")));
        }
        let (status, body) = self.answer(call);
        let sent: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
        self.requests.lock().expect("lock").push(json!({
            "method": call.method, "path": call.path, "body": sent, "status": status.as_u16(),
        }));
        json_response(status, &body)
    }

    fn answer(&self, call: &Call) -> Answer {
        let token = call
            .header("private-token")
            .or_else(|| {
                call.header("authorization")
                    .and_then(|a| a.strip_prefix("Bearer "))
            })
            .unwrap_or_default();
        let api = self.config.api_tokens.iter().any(|t| t == token);
        let read = api || self.config.read_tokens.iter().any(|t| t == token);
        if !read {
            return msg(StatusCode::UNAUTHORIZED, "401 Unauthorized");
        }
        let seg: Vec<String> = call
            .path
            .trim_matches('/')
            .split('/')
            .map(crate::unescape)
            .collect();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        let (kind, id, rest) = match seg.as_slice() {
            [
                "api",
                "v4",
                kind @ ("projects" | "groups"),
                id,
                "deploy_tokens",
                rest @ ..,
            ] => (*kind, *id, rest),
            _ => return msg(StatusCode::NOT_FOUND, "404 Not Found"),
        };
        let (known, what) = if kind == "projects" {
            (PROJECT, "Project")
        } else {
            (GROUP, "Group")
        };
        if id != known.0.to_string() && id != known.1 {
            return msg(StatusCode::NOT_FOUND, &format!("404 {what} Not Found"));
        }
        let owner = (
            if kind == "projects" {
                "projects"
            } else {
                "groups"
            },
            known.0,
        );
        let write = call.method != "GET";
        if write && !api {
            return (
                StatusCode::FORBIDDEN,
                json!({"error": "insufficient_scope",
                    "error_description": "The request requires higher privileges than provided by the access token.",
                    "scope": "api"}),
            );
        }
        let mut store = self.store.lock().expect("lock");
        match (call.method.as_str(), rest) {
            ("POST", []) => create(&mut store, owner, &call.body),
            ("GET", []) => {
                let list: Vec<Value> = store
                    .tokens
                    .iter()
                    .filter(|t| t.owner == owner)
                    .map(|t| t.to_json(false))
                    .collect();
                (StatusCode::OK, json!(list))
            }
            (m @ ("GET" | "DELETE"), [tid]) => {
                let pos = store
                    .tokens
                    .iter()
                    .position(|t| t.owner == owner && tid.parse() == Ok(t.id));
                match (m, pos) {
                    (_, None) => msg(StatusCode::NOT_FOUND, "404 Not Found"),
                    ("GET", Some(i)) => (StatusCode::OK, store.tokens[i].to_json(false)),
                    (_, Some(i)) => {
                        store.tokens.remove(i);
                        (StatusCode::NO_CONTENT, Value::Null)
                    }
                }
            }
            _ => msg(StatusCode::NOT_FOUND, "404 Not Found"),
        }
    }
}

fn create(store: &mut Store, owner: (&'static str, u64), body: &[u8]) -> Answer {
    let bad = |e: &str| (StatusCode::BAD_REQUEST, json!({"error": e}));
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return bad("name is missing, scopes is missing");
    };
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return bad("name is missing");
    };
    let scopes: Vec<String> = body["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap_or_default().to_owned())
        .collect();
    let project_only = |s: &str| s.ends_with("_virtual_registry");
    if scopes.is_empty()
        || scopes
            .iter()
            .any(|s| !SCOPES.contains(&s.as_str()) || (owner.0 == "groups" && project_only(s)))
    {
        return bad("scopes does not have a valid value");
    }
    let expires_at = match body["expires_at"].as_str() {
        None => None,
        Some(t) => match t.parse::<jiff::Timestamp>() {
            Ok(t) => Some(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
            Err(_) => return bad("expires_at is invalid"),
        },
    };
    let id = store.next_id;
    store.next_id += 1;
    let token = DeployToken {
        id,
        owner,
        name: name.to_owned(),
        username: body["username"]
            .as_str()
            .filter(|u| !u.is_empty())
            .map_or_else(|| format!("gitlab+deploy-token-{id}"), str::to_owned),
        expires_at,
        scopes,
        value: format!("gldt-{}", crate::random_alnum(20)),
    };
    let answer = token.to_json(true);
    store.tokens.push(token);
    (StatusCode::CREATED, answer)
}
