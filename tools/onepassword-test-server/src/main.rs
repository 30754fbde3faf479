//! A small 1Password Connect API test server for eso-rs tests (not published).
//!
//! One HTTPS listener (certificate and key from PEM files, e.g. signed by a per-instance CA)
//! serving what the `onepassword` provider and 1Password's official Connect clients call:
//!
//! - `GET /v1/vaults` (SCIM filter `title eq "..."`, `co` for contains), `GET /v1/vaults/{id}`;
//! - `GET /v1/vaults/{v}/items` (filter on `title` or `tag`, `eq` or `co`; summaries without
//!   fields), `POST` (create), `GET|PUT|PATCH|DELETE /v1/vaults/{v}/items/{i}`; items keep
//!   fields, sections, tags, URLs and a version;
//! - files: `GET /v1/vaults/{v}/items/{i}/files` (`inline_files=true`), `.../files/{f}` and
//!   `.../files/{f}/content`;
//! - `GET /heartbeat`, `GET /health`;
//! - bearer tokens (`--token TOKEN` for every vault, `--token TOKEN=vaultA,vaultB` for some),
//!   errors as Connect sends them: `{"status": 401, "message": "..."}`;
//! - test control (no token): `GET /_test/healthz`, `GET /_test/stats` (request counts by
//!   method, last user agent, passing 403 answers still to give), `POST /_test/files` (attach a file to an item:
//!   `{"vault", "item", "name", "content" (base64)}`), `POST /_test/flaky-403` (`{"count": N}`:
//!   the next N API calls answer 403 as Connect sometimes does).

mod patch;
mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

type Resp = Response<Full<Bytes>>;

/// The Connect version the server says it is (clients check a minimum for file content).
const CONNECT_VERSION: &str = "1.7.3";

/// An error answer, in Connect's shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: u16,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
        }
    }
}

/// What a token may see: every vault, or the listed vault names.
#[derive(Debug, Clone)]
enum Scope {
    All,
    Vaults(Vec<String>),
}

#[derive(Debug, Default)]
struct Stats {
    requests: u64,
    by_method: BTreeMap<String, u64>,
    user_agent: String,
    flaky_403: u64,
}

#[derive(Debug)]
struct State {
    tokens: Vec<(String, Scope)>,
    store: Mutex<store::Store>,
    stats: Mutex<Stats>,
}

/// What an answer carries.
enum Body {
    Json(u16, Value),
    Text(&'static str),
    File(String, Vec<u8>),
    Empty,
}

fn response(body: Body) -> Resp {
    let (status, ctype, bytes, disposition) = match body {
        Body::Json(s, v) => (s, "application/json", Bytes::from(v.to_string()), None),
        Body::Text(t) => (200, "text/plain", Bytes::from_static(t.as_bytes()), None),
        Body::File(name, b) => (
            200,
            "application/octet-stream",
            Bytes::from(b),
            Some(format!("attachment; filename=\"{name}\"")),
        ),
        Body::Empty => (204, "text/plain", Bytes::new(), None),
    };
    let mut r = Response::new(Full::new(bytes));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static(ctype),
    );
    h.insert(
        "1password-connect-version",
        hyper::header::HeaderValue::from_static(CONNECT_VERSION),
    );
    if let Some(d) = disposition.and_then(|d| hyper::header::HeaderValue::from_str(&d).ok()) {
        h.insert("content-disposition", d);
    }
    r
}

fn error(e: &ApiError) -> Body {
    Body::Json(e.status, json!({"status": e.status, "message": e.message}))
}

/// A request, parsed.
struct Call {
    method: String,
    segs: Vec<String>,
    query: BTreeMap<String, String>,
    body: Value,
    auth: Option<String>,
}

async fn read_call(req: Request<Incoming>, stats: &Mutex<Stats>) -> Call {
    let method = req.method().as_str().to_owned();
    let uri = url::Url::parse(&format!("http://x{}", req.uri())).ok();
    let segs = uri
        .as_ref()
        .and_then(|u| u.path_segments())
        .map(|s| {
            s.filter(|s| !s.is_empty())
                .map(|s| {
                    url::form_urlencoded::parse(s.as_bytes())
                        .map(|(k, _)| k.into_owned())
                        .collect::<String>()
                })
                .collect()
        })
        .unwrap_or_default();
    let query = uri
        .as_ref()
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let auth = header("authorization");
    if let Some(ua) = header("user-agent") {
        stats.lock().expect("stats lock").user_agent = ua;
    }
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Call {
        method,
        segs,
        query,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        auth,
    }
}

impl State {
    /// The scope of the call's token, or Connect's 401.
    fn authorize(&self, c: &Call) -> Result<Scope, ApiError> {
        let token = c
            .auth
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::new(401, "Invalid bearer token"))?;
        self.tokens
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| ApiError::new(401, "Invalid token signature"))
    }
}

fn route(state: &State, c: &Call) -> Result<Body, ApiError> {
    let scope = state.authorize(c)?;
    {
        let mut s = state.stats.lock().expect("stats lock");
        if s.flaky_403 > 0 {
            s.flaky_403 -= 1;
            return Err(ApiError::new(
                403,
                "Authorization: token is not yet valid (test server)",
            ));
        }
    }
    let mut st = state.store.lock().expect("store lock");
    let names: Vec<String> = match &scope {
        Scope::All => Vec::new(),
        Scope::Vaults(v) => v.clone(),
    };
    let ids: Vec<String> = names.iter().filter_map(|n| st.vault_id(n)).collect();
    let allowed = |id: &str| matches!(scope, Scope::All) || ids.iter().any(|i| i == id);
    let segs: Vec<&str> = c.segs.iter().map(String::as_str).collect();
    if let ["v1", "vaults", v, ..] = segs.as_slice()
        && !allowed(v)
    {
        st.get_vault(v)?;
        return Err(ApiError::new(403, &format!("vault {v} is not in scope")));
    }
    let filter = c.query.get("filter").map(String::as_str);
    let inline = c.query.get("inline_files").is_some_and(|v| v == "true");
    let json = |v: Value| Body::Json(200, v);
    Ok(match (c.method.as_str(), segs.as_slice()) {
        ("GET", ["v1", "vaults"]) => json(st.list_vaults(&allowed, filter)?),
        ("GET", ["v1", "vaults", v]) => json(st.get_vault(v)?),
        ("GET", ["v1", "vaults", v, "items"]) => json(st.list_items(v, filter)?),
        ("POST", ["v1", "vaults", v, "items"]) => json(st.create_item(v, &c.body)?),
        ("GET", ["v1", "vaults", v, "items", i]) => json(st.get_item(v, i)?),
        ("PUT", ["v1", "vaults", v, "items", i]) => json(st.replace_item(v, i, &c.body)?),
        ("PATCH", ["v1", "vaults", v, "items", i]) => json(st.patch_item(v, i, &c.body)?),
        ("DELETE", ["v1", "vaults", v, "items", i]) => {
            st.delete_item(v, i)?;
            Body::Empty
        }
        ("GET", ["v1", "vaults", v, "items", i, "files"]) => json(st.list_files(v, i, inline)?),
        ("GET", ["v1", "vaults", v, "items", i, "files", f]) => json(st.get_file(v, i, f, inline)?),
        ("GET", ["v1", "vaults", v, "items", i, "files", f, "content"]) => {
            let (name, bytes) = st.file_content(v, i, f)?;
            Body::File(name, bytes)
        }
        _ => return Err(ApiError::new(404, "Route not found")),
    })
}

/// Test control: attaches a file to an item.
fn attach(state: &State, body: &Value) -> Result<Value, ApiError> {
    let s = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let content = base64::engine::general_purpose::STANDARD
        .decode(s("content"))
        .map_err(|e| ApiError::new(400, &format!("content: {e}")))?;
    let mut st = state.store.lock().expect("store lock");
    let vault = st.vault_id(&s("vault")).unwrap_or_else(|| s("vault"));
    st.attach_file(
        &vault,
        &s("item"),
        &s("name"),
        content,
        body.get("section").cloned(),
    )
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let c = read_call(req, &state.stats).await;
    let path: Vec<&str> = c.segs.iter().map(String::as_str).collect();
    let body = match (c.method.as_str(), path.as_slice()) {
        ("GET", ["heartbeat"]) => Body::Text("."),
        ("GET", ["health"]) => Body::Json(
            200,
            json!({"name": "1Password Connect API", "version": CONNECT_VERSION,
                "dependencies": [{"service": "sync", "status": "ACTIVE"},
                    {"service": "sqlite", "status": "ACTIVE", "message": "in memory"}]}),
        ),
        ("GET", ["_test", "healthz"]) => Body::Json(200, json!({"ok": true})),
        ("GET", ["_test", "stats"]) => {
            let s = state.stats.lock().expect("stats lock");
            Body::Json(
                200,
                json!({"requests": s.requests, "byMethod": s.by_method, "userAgent": s.user_agent,
                    "flaky403Left": s.flaky_403}),
            )
        }
        ("POST", ["_test", "files"]) => match attach(&state, &c.body) {
            Ok(v) => Body::Json(200, v),
            Err(e) => error(&e),
        },
        ("POST", ["_test", "flaky-403"]) => {
            state.stats.lock().expect("stats lock").flaky_403 =
                c.body["count"].as_u64().unwrap_or(1);
            Body::Json(200, json!({"ok": true}))
        }
        _ => {
            {
                let mut s = state.stats.lock().expect("stats lock");
                s.requests += 1;
                *s.by_method.entry(c.method.clone()).or_default() += 1;
            }
            route(&state, &c).unwrap_or_else(|e| error(&e))
        }
    };
    response(body)
}

#[derive(Debug, Default)]
struct Config {
    addr: Option<SocketAddr>,
    cert: Option<String>,
    key: Option<String>,
    vaults: Vec<String>,
    tokens: Vec<(String, Scope)>,
}

fn parse_args() -> Result<Config, String> {
    let mut c = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--addr" => c.addr = Some(val()?.parse().map_err(|e| format!("--addr: {e}"))?),
            "--cert" => c.cert = Some(val()?),
            "--key" => c.key = Some(val()?),
            "--vault" => c.vaults.push(val()?),
            "--token" => {
                let v = val()?;
                c.tokens.push(match v.split_once('=') {
                    Some((t, vaults)) => (
                        t.to_owned(),
                        Scope::Vaults(vaults.split(',').map(str::to_owned).collect()),
                    ),
                    None => (v, Scope::All),
                });
            }
            "-h" | "--help" => {
                println!(
                    "usage: onepassword-test-server --addr 127.0.0.1:PORT --cert CERT.pem --key KEY.pem [--vault NAME]... [--token TOKEN[=VAULT,VAULT]]..."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(c)
}

fn fail(msg: String) -> ! {
    eprintln!("onepassword-test-server: {msg}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let cfg = parse_args().unwrap_or_else(|e| fail(e));
    let (Some(addr), Some(cert), Some(key)) = (cfg.addr, cfg.cert.clone(), cfg.key.clone()) else {
        fail("--addr, --cert and --key are required".into());
    };
    let acceptor = test_server_http::acceptor(&cert, &key).unwrap_or_else(|e| fail(e));
    let mut store = store::Store::default();
    for v in &cfg.vaults {
        let id = store.add_vault(v);
        println!("vault {v} = {id}");
    }
    let state = Arc::new(State {
        tokens: cfg.tokens,
        store: Mutex::new(store),
        stats: Mutex::new(Stats::default()),
    });
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("bind {addr}: {e}")));
    println!("onepassword-test-server listening on https://{addr}");
    test_server_http::serve(listener, Some(acceptor), move |req| {
        handle(Arc::clone(&state), req)
    })
    .await
}
