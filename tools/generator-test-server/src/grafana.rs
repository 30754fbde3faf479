//! Grafana service accounts and their tokens, as Grafana's HTTP API documents them ("Service
//! account HTTP API"), for one organisation (ID 1).
//!
//! - `GET /api/serviceaccounts/search?query=Q` (`perpage`, default 1000; `page`): `{totalCount,
//!   serviceAccounts: [{id, name, login, orgId, isDisabled, role, tokens, avatarUrl}], page,
//!   perPage}`, names containing `Q`.
//! - `POST /api/serviceaccounts` (`name`, `role`: `None`, `Viewer`, `Editor`, `Admin`): 201
//!   with the account (`login` `sa-1-<name>`); 400 for a missing name or a bad role; 409
//!   when the name is taken. `GET` and `DELETE /api/serviceaccounts/{id}`.
//! - `POST /api/serviceaccounts/{id}/tokens` (`name`, `secondsToLive`): 200 `{id, name,
//!   key}` (`glsa_...`); 400 when the account already has a token of that name.
//!   `GET .../tokens` (`id`, `name`, `created`, `expiration`, `secondsUntilExpiration`,
//!   `hasExpired`), `DELETE .../tokens/{tokenId}` (`{"message": "Service account token
//!   deleted"}`; 404 `service account token not found`).
//! - `GET /api/user`: who the credentials are (minted tokens work here, so tests can prove
//!   a token is valid and, once deleted, that it is not).
//! - `GET /_test/requests`: every call (method, path with query, body, auth kind, status).
//!
//! Auth: `Authorization: Bearer <admin token>` (`--grafana-token`) or basic auth
//! (`--grafana-basic USER:PASSWORD`); anything else is 401 `{"message": "Unauthorized"}`.
//! Minted tokens may call `GET /api/user` only (403 elsewhere, Grafana's "You'll need
//! additional permissions" body).

use std::sync::Mutex;

use base64::Engine as _;
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::{Call, json_response};

/// The credentials the server accepts (from the command line).
#[derive(Debug, Default)]
pub(crate) struct Config {
    pub(crate) tokens: Vec<String>,
    pub(crate) basic: Vec<(String, String)>,
}

#[derive(Debug)]
struct Account {
    id: i64,
    name: String,
    role: String,
    tokens: Vec<Token>,
}

#[derive(Debug)]
struct Token {
    id: i64,
    name: String,
    key: String,
    created: i64,
    expires: Option<i64>,
}

#[derive(Debug, Default)]
struct Store {
    next_id: i64,
    accounts: Vec<Account>,
}

/// The Grafana service.
#[derive(Debug)]
pub(crate) struct Grafana {
    config: Config,
    store: Mutex<Store>,
    requests: Mutex<Vec<Value>>,
}

type Answer = (StatusCode, Value);

fn msg(status: StatusCode, message: &str) -> Answer {
    (status, json!({"message": message}))
}

fn ts(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl Account {
    fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "login": format!("sa-1-{}", self.name),
            "orgId": 1, "isDisabled": false, "role": self.role, "tokens": self.tokens.len(),
            "avatarUrl": "/avatar/0"})
    }
}

/// Who made a call.
enum Caller {
    Admin(&'static str),
    Minted(i64),
    Nobody,
}

impl Grafana {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            store: Mutex::new(Store {
                next_id: 1,
                accounts: Vec::new(),
            }),
            requests: Mutex::default(),
        }
    }

    fn caller(&self, call: &Call) -> Caller {
        let auth = call.header("authorization").unwrap_or_default();
        if let Some(t) = auth.strip_prefix("Bearer ") {
            if self.config.tokens.iter().any(|k| k == t) {
                return Caller::Admin("bearer");
            }
            let now = jiff::Timestamp::now().as_second();
            let store = self.store.lock().expect("lock");
            for a in &store.accounts {
                if a.tokens
                    .iter()
                    .any(|k| k.key == t && k.expires.is_none_or(|e| e > now))
                {
                    return Caller::Minted(a.id);
                }
            }
        }
        if let Some(b) = auth.strip_prefix("Basic ")
            && let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b)
            && let Some((u, p)) = String::from_utf8_lossy(&raw).split_once(':')
            && self.config.basic.iter().any(|(bu, bp)| bu == u && bp == p)
        {
            return Caller::Admin("basic");
        }
        Caller::Nobody
    }

    pub(crate) fn route(&self, call: &Call) -> crate::Resp {
        if call.method == "GET" && call.path == "/_test/requests" {
            return json_response(StatusCode::OK, &json!(*self.requests.lock().expect("lock")));
        }
        let caller = self.caller(call);
        let auth = match caller {
            Caller::Admin(kind) => kind,
            Caller::Minted(_) => "minted",
            Caller::Nobody => "none",
        };
        let (status, body) = self.answer(call, &caller);
        let sent: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
        let path = match &call.query {
            Some(q) => format!("{}?{q}", call.path),
            None => call.path.clone(),
        };
        self.requests.lock().expect("lock").push(json!({
            "method": call.method, "path": path, "body": sent, "auth": auth,
            "status": status.as_u16(),
        }));
        json_response(status, &body)
    }

    fn answer(&self, call: &Call, caller: &Caller) -> Answer {
        let seg: Vec<&str> = call.path.trim_matches('/').split('/').collect();
        match caller {
            Caller::Nobody => return msg(StatusCode::UNAUTHORIZED, "Unauthorized"),
            Caller::Minted(id) => {
                return if call.method == "GET" && seg == ["api", "user"] {
                    (
                        StatusCode::OK,
                        json!({"id": id, "login": "service-account", "isGrafanaAdmin": false}),
                    )
                } else {
                    (
                        StatusCode::FORBIDDEN,
                        json!({"accessErrorId": "ACE0000000001", "message": "You'll need additional permissions to perform this action. Permissions needed: serviceaccounts:write", "title": "Access denied"}),
                    )
                };
            }
            Caller::Admin(_) => {}
        }
        let mut store = self.store.lock().expect("lock");
        let body: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
        match (call.method.as_str(), seg.as_slice()) {
            ("GET", ["api", "user"]) => (
                StatusCode::OK,
                json!({"id": 1, "login": "admin", "isGrafanaAdmin": true}),
            ),
            ("GET", ["api", "serviceaccounts", "search"]) => {
                let param = |n| query_param(call.query.as_deref(), n);
                let q = param("query").unwrap_or_default();
                let per: usize = param("perpage")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1000)
                    .max(1);
                let page: usize = param("page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1)
                    .max(1);
                let all: Vec<Value> = store
                    .accounts
                    .iter()
                    .filter(|a| a.name.contains(&q))
                    .map(Account::to_json)
                    .collect();
                let total = all.len();
                let found: Vec<Value> = all.into_iter().skip((page - 1) * per).take(per).collect();
                (
                    StatusCode::OK,
                    json!({"totalCount": total, "serviceAccounts": found, "page": page, "perPage": per}),
                )
            }
            ("POST", ["api", "serviceaccounts"]) => create_account(&mut store, &body),
            (m, ["api", "serviceaccounts", id, rest @ ..]) => {
                let Some(i) = id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| store.accounts.iter().position(|a| a.id == id))
                else {
                    return msg(StatusCode::NOT_FOUND, "service account not found");
                };
                match (m, rest) {
                    ("GET", []) => (StatusCode::OK, store.accounts[i].to_json()),
                    ("DELETE", []) => {
                        store.accounts.remove(i);
                        msg(StatusCode::OK, "Service account deleted")
                    }
                    _ => tokens(&mut store, i, m, rest, &body),
                }
            }
            _ => msg(StatusCode::NOT_FOUND, "Not found"),
        }
    }
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| crate::unescape(&v.replace('+', " ")))
    })
}

fn create_account(store: &mut Store, body: &Value) -> Answer {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return msg(StatusCode::BAD_REQUEST, "Bad request data");
    };
    let role = body["role"].as_str().unwrap_or("Viewer");
    if !matches!(role, "None" | "Viewer" | "Editor" | "Admin") {
        return msg(StatusCode::BAD_REQUEST, "invalid role value");
    }
    if store.accounts.iter().any(|a| a.name == name) {
        return msg(StatusCode::CONFLICT, "service account already exists");
    }
    let id = store.next_id;
    store.next_id += 1;
    let account = Account {
        id,
        name: name.to_owned(),
        role: role.to_owned(),
        tokens: Vec::new(),
    };
    let answer = account.to_json();
    store.accounts.push(account);
    (StatusCode::CREATED, answer)
}

fn tokens(store: &mut Store, i: usize, method: &str, rest: &[&str], body: &Value) -> Answer {
    let now = jiff::Timestamp::now().as_second();
    match (method, rest) {
        ("GET", ["tokens"]) => {
            let list: Vec<Value> = store.accounts[i]
                .tokens
                .iter()
                .map(|t| {
                    json!({"id": t.id, "name": t.name, "created": ts(t.created),
                        "expiration": t.expires.map(ts),
                        "secondsUntilExpiration": t.expires.map(|e| e - now),
                        "hasExpired": t.expires.is_some_and(|e| e <= now)})
                })
                .collect();
            (StatusCode::OK, json!(list))
        }
        ("POST", ["tokens"]) => {
            let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
                return msg(StatusCode::BAD_REQUEST, "Bad request data");
            };
            if store.accounts[i].tokens.iter().any(|t| t.name == name) {
                return msg(
                    StatusCode::BAD_REQUEST,
                    "service account token with given name already exists in the organization",
                );
            }
            let expires = body["secondsToLive"]
                .as_i64()
                .filter(|s| *s > 0)
                .map(|s| now + s);
            let id = store.next_id;
            store.next_id += 1;
            let key = format!("glsa_{}_{:08x}", crate::random_alnum(32), id);
            store.accounts[i].tokens.push(Token {
                id,
                name: name.to_owned(),
                key: key.clone(),
                created: now,
                expires,
            });
            (StatusCode::OK, json!({"id": id, "name": name, "key": key}))
        }
        ("DELETE", ["tokens", tid]) => {
            let tokens = &mut store.accounts[i].tokens;
            match tokens.iter().position(|t| tid.parse() == Ok(t.id)) {
                Some(p) => {
                    tokens.remove(p);
                    msg(StatusCode::OK, "Service account token deleted")
                }
                None => msg(StatusCode::NOT_FOUND, "service account token not found"),
            }
        }
        _ => msg(StatusCode::NOT_FOUND, "Not found"),
    }
}
