//! A small Infisical API test server for eso-rs tests (not published).
//!
//! One HTTPS listener (certificate and key from PEM files, e.g. signed by a per-instance CA)
//! serving what the `infisical` provider and Infisical's official clients call:
//!
//! - machine-identity logins: `POST /api/v1/auth/universal-auth/login`,
//!   `POST /api/v1/auth/kubernetes-auth/login` (the ServiceAccount JWT's `sub` must be the one
//!   the identity accepts), `POST /api/v1/auth/jwt-auth/login` (the JWT's `sub` checked the
//!   same way), `POST /api/v1/auth/ldap-auth/login` (user name and password), access tokens
//!   given up front (token auth), the cloud-identity logins
//!   `POST /api/v1/auth/{aws,azure,gcp,oci}-auth/login` (see the `cloud` module: each checks the
//!   proof it receives), and `POST /api/v1/auth/token/renew`; tokens expire after `--token-ttl` seconds;
//! - project lookup by slug: `GET /api/v1/projects/slug/{slug}` and
//!   `GET /api/v1/workspace/slug/{slug}`;
//! - raw secrets v3: `GET /api/v3/secrets/raw` (folder, `recursive`,
//!   `expandSecretReferences`) and `GET|POST|PATCH|DELETE /api/v3/secrets/raw/{name}`;
//!   folders: `POST /api/v1/folders`;
//! - errors as Infisical sends them: `{"reqId", "statusCode", "message", "error"}`;
//! - with `--cloud-addr`, stand-ins for the cloud services those proofs come from, over
//!   plain HTTP (AWS STS `AssumeRoleWithWebIdentity` and the container credentials endpoint,
//!   Azure's managed-identity token endpoint, GCP's metadata server, Google's token endpoint
//!   and IAM `signJwt`);
//! - test control: `GET /_test/healthz`, `GET /_test/stats` (logins per method, renewals, what
//!   the last login of each method received), `POST /_test/expire-tokens`.

mod auth;
mod cloud;
mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

type Resp = Response<Full<Bytes>>;

/// An error answer, in Infisical's shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: u16,
    error: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn unauthorized(m: &str) -> Self {
        Self {
            status: 401,
            error: "UnauthorizedError",
            message: m.to_owned(),
        }
    }
    pub(crate) fn not_found(m: &str) -> Self {
        Self {
            status: 404,
            error: "NotFound",
            message: m.to_owned(),
        }
    }
    pub(crate) fn bad_request(m: &str) -> Self {
        Self {
            status: 400,
            error: "BadRequest",
            message: m.to_owned(),
        }
    }
    fn forbidden(m: &str) -> Self {
        Self {
            status: 403,
            error: "PermissionDenied",
            message: m.to_owned(),
        }
    }
}

#[derive(Debug)]
struct State {
    org: String,
    auth: Mutex<auth::Auth>,
    clouds: Mutex<cloud::Clouds>,
    project: Mutex<store::Project>,
    requests: std::sync::atomic::AtomicU64,
}

fn respond(status: u16, body: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn error_resp(e: &ApiError, n: u64) -> Resp {
    respond(
        e.status,
        &json!({"reqId": format!("req-{n:08x}"), "statusCode": e.status,
            "message": e.message, "error": e.error}),
    )
}

/// A request, parsed.
struct Call {
    method: String,
    path: String,
    query: HashMap<String, String>,
    body: Value,
    auth: Option<String>,
    /// Headers by lower-case name.
    headers: HashMap<String, String>,
}

impl Call {
    /// A parameter from the query or the JSON body.
    fn param(&self, name: &str) -> Option<String> {
        self.query
            .get(name)
            .cloned()
            .or_else(|| match &self.body[name] {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
    }
    fn flag(&self, name: &str, default: bool) -> bool {
        self.param(name).map_or(default, |v| v == "true")
    }
}

async fn read_call(req: Request<Incoming>) -> Call {
    let method = req.method().as_str().to_owned();
    let uri = url::Url::parse(&format!("http://x{}", req.uri())).ok();
    let path = uri
        .as_ref()
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let query = uri
        .as_ref()
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = if form {
        Value::Object(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Call {
        method,
        path,
        query,
        body,
        auth,
        headers,
    }
}

/// Checks that the call addresses the project (by ID or slug, query or body).
fn check_project(p: &store::Project, c: &Call) -> Result<(), ApiError> {
    let named = ["workspaceId", "projectId", "workspaceSlug", "projectSlug"]
        .iter()
        .find_map(|k| c.param(k));
    match named {
        Some(n) if n == p.id || n == p.slug => Ok(()),
        Some(n) => Err(ApiError::not_found(&format!(
            "Project with slug or ID '{n}' not found"
        ))),
        None => Err(ApiError::bad_request(
            "workspaceId or workspaceSlug is required",
        )),
    }
}

/// A login's `organizationSlug`, when given, must be the server's organization.
fn check_org(state: &State, c: &Call) -> Result<(), ApiError> {
    match c.param("organizationSlug").filter(|o| *o != state.org) {
        Some(org) => Err(ApiError::forbidden(&format!(
            "Identity is not a member of organization {org}"
        ))),
        None => Ok(()),
    }
}

fn route(state: &State, c: &Call) -> Result<Value, ApiError> {
    let segs: Vec<String> = c
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            url::form_urlencoded::parse(s.as_bytes())
                .map(|(k, _)| k.into_owned())
                .collect::<String>()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let lock_auth = || state.auth.lock().expect("auth lock");
    match (c.method.as_str(), segs.as_slice()) {
        ("POST", ["api", "v1", "auth", "universal-auth", "login"]) => {
            check_org(state, c)?;
            lock_auth().universal_login(&c.body)
        }
        ("POST", ["api", "v1", "auth", "kubernetes-auth", "login"]) => {
            lock_auth().kubernetes_login(&c.body)
        }
        ("POST", ["api", "v1", "auth", "jwt-auth", "login"]) => lock_auth().jwt_login(&c.body),
        ("POST", ["api", "v1", "auth", "ldap-auth", "login"]) => lock_auth().ldap_login(&c.body),
        ("POST", ["api", "v1", "auth", "token", "renew"]) => lock_auth().renew(&c.body),
        (
            "POST",
            [
                "api",
                "v1",
                "auth",
                kind @ ("aws-auth" | "azure-auth" | "gcp-auth" | "oci-auth"),
                "login",
            ],
        ) => {
            check_org(state, c)?;
            let clouds = state.clouds.lock().expect("clouds lock");
            let (method, checked) = match *kind {
                "aws-auth" => ("aws", clouds.aws_login(&c.body)),
                "azure-auth" => ("azure", clouds.azure_login(&c.body)),
                "gcp-auth" => ("gcp", clouds.gcp_login(&c.body)),
                _ => ("oci", clouds.oci_login(&c.body)),
            };
            drop(clouds);
            lock_auth().checked_login(method, checked, &c.body)
        }
        _ => {
            lock_auth().check(c.auth.as_deref())?;
            secrets_route(state, c, &segs)
        }
    }
}

fn secrets_route(state: &State, c: &Call, segs: &[&str]) -> Result<Value, ApiError> {
    let mut p = state.project.lock().expect("project lock");
    let env = || {
        c.param("environment")
            .ok_or_else(|| ApiError::bad_request("environment is required"))
    };
    let path = || c.param("secretPath").unwrap_or_else(|| "/".to_owned());
    match (c.method.as_str(), segs) {
        ("GET", ["api", "v1", "projects" | "workspace", "slug", slug]) => {
            if *slug == p.slug {
                Ok(json!({"id": p.id, "slug": p.slug, "name": p.slug, "orgId": state.org}))
            } else {
                Err(ApiError::not_found(&format!(
                    "Project with slug '{slug}' not found"
                )))
            }
        }
        ("POST", ["api", "v1", "folders"]) => {
            check_project(&p, c)?;
            let name = c.param("name").unwrap_or_default();
            let parent = c
                .param("path")
                .or_else(|| c.param("directory"))
                .unwrap_or_else(|| "/".to_owned());
            p.create_folder(&env()?, &parent, &name)
        }
        ("GET", ["api", "v3", "secrets", "raw"]) => {
            check_project(&p, c)?;
            p.list(
                &env()?,
                &path(),
                c.flag("recursive", false),
                c.flag("expandSecretReferences", false),
            )
        }
        (m, ["api", "v3", "secrets", "raw", key]) => {
            check_project(&p, c)?;
            let value = c.param("secretValue").unwrap_or_default();
            match m {
                "GET" => p.get(
                    &env()?,
                    &path(),
                    key,
                    c.flag("expandSecretReferences", false),
                ),
                "POST" => p.create(&env()?, &path(), key, &value),
                "PATCH" => p.update(&env()?, &path(), key, &value),
                "DELETE" => p.delete(&env()?, &path(), key),
                _ => Err(ApiError::not_found("Route not found")),
            }
        }
        _ => Err(ApiError::not_found(&format!(
            "Route {}:{} not found",
            c.method, c.path
        ))),
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let n = state
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let c = read_call(req).await;
    match (c.method.as_str(), c.path.as_str()) {
        ("GET", "/_test/healthz") => return respond(200, &json!({"ok": true})),
        ("GET", "/_test/stats") => {
            let a = state.auth.lock().expect("auth lock");
            let cloud = state.clouds.lock().expect("clouds lock").received.clone();
            return respond(
                200,
                &json!({"logins": a.logins, "renewals": a.renewals,
                "lastLogin": a.last_login,
                "lastLoginByIdentity": a.last_login_by_identity, "cloud": cloud, "requests": n}),
            );
        }
        ("POST", "/_test/expire-tokens") => {
            state.auth.lock().expect("auth lock").expire_all();
            return respond(200, &json!({"ok": true}));
        }
        _ => {}
    }
    match route(&state, &c) {
        Ok(v) => respond(200, &v),
        Err(e) => error_resp(&e, n),
    }
}

/// The plain-HTTP listener of the cloud stand-ins.
async fn serve_clouds(listener: TcpListener, state: Arc<State>) {
    test_server_http::serve(listener, None, move |req| {
        let state = Arc::clone(&state);
        async move {
            let c = read_call(req).await;
            let (status, body) = state
                .clouds
                .lock()
                .expect("clouds lock")
                .serve(&c.method, &c.path, &c.query, &c.headers, &c.body);
            let mut r = respond(status, &body);
            if let Value::String(text) = body {
                *r.body_mut() = Full::new(Bytes::from(text));
                r.headers_mut().insert(
                    "content-type",
                    hyper::header::HeaderValue::from_static("text/plain"),
                );
            }
            r
        }
    })
    .await
}

#[derive(Debug, Default)]
struct Config {
    addr: Option<SocketAddr>,
    cert: Option<String>,
    key: Option<String>,
    org: String,
    project: (String, String),
    envs: Vec<String>,
    folders: Vec<(String, String)>,
    auth: auth::Auth,
    tokens: Vec<(String, String)>,
    cloud_addr: Option<SocketAddr>,
    clouds: cloud::Clouds,
}

fn parse_args() -> Result<Config, String> {
    let mut c = Config {
        org: "eso-org".into(),
        project: ("proj-0001".into(), "eso-project".into()),
        envs: vec!["dev".into()],
        ..Config::default()
    };
    c.auth.ttl = Duration::from_secs(7200);
    c.auth.max_ttl = Duration::from_secs(30 * 86400);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let split = |v: &str, sep: char| {
            v.split_once(sep)
                .map(|(x, y)| (x.to_owned(), y.to_owned()))
                .ok_or_else(|| format!("{a}: missing {sep:?}"))
        };
        match a.as_str() {
            "--addr" => c.addr = Some(val()?.parse().map_err(|e| format!("--addr: {e}"))?),
            "--cert" => c.cert = Some(val()?),
            "--key" => c.key = Some(val()?),
            "--org" => c.org = val()?,
            "--project" => c.project = split(&val()?, ':')?,
            "--envs" => c.envs = val()?.split(',').map(str::to_owned).collect(),
            "--folder" => c.folders.push(split(&val()?, ':')?),
            "--client" => {
                let v = val()?;
                let parts: Vec<&str> = v.splitn(3, ':').collect();
                let [id, secret, identity] = parts.as_slice() else {
                    return Err(format!("{a} wants CLIENT_ID:SECRET:IDENTITY_ID"));
                };
                c.auth.universal.insert(
                    (*id).to_owned(),
                    ((*secret).to_owned(), (*identity).to_owned()),
                );
            }
            "--k8s-identity" => {
                let (id, sub) = split(&val()?, '=')?;
                c.auth.kubernetes.insert(id, sub);
            }
            "--token" => c.tokens.push(split(&val()?, '=')?),
            "--jwt-identity" => {
                let (id, sub) = split(&val()?, '=')?;
                c.auth.jwt.insert(id, sub);
            }
            "--ldap-identity" => {
                let (id, creds) = split(&val()?, '=')?;
                let (user, pass) = split(&creds, ':')?;
                c.auth.ldap.insert(id, (user, pass));
            }
            "--identity-ttl" => {
                let (id, secs) = split(&val()?, '=')?;
                let secs: u64 = secs.parse().map_err(|e| format!("{a}: {e}"))?;
                c.auth.identity_ttl.insert(id, Duration::from_secs(secs));
            }
            "--cloud-addr" => c.cloud_addr = Some(val()?.parse().map_err(|e| format!("{a}: {e}"))?),
            "--signing-key" => {
                c.clouds.public_key =
                    Some(cloud::public_key_of(&val()?).map_err(|e| format!("{a}: {e}"))?)
            }
            "--aws-identity" => {
                let (id, keys) = split(&val()?, '=')?;
                c.clouds.aws.insert(id, split(&keys, ':')?);
            }
            "--aws-assumable" => c.clouds.aws_assumable = Some(val()?),
            "--azure-identity" => {
                let (id, sub) = split(&val()?, '=')?;
                c.clouds.azure.insert(id, sub);
            }
            "--gcp-identity" => {
                let (id, email) = split(&val()?, '=')?;
                c.clouds.gcp.insert(id, email);
            }
            "--oci-identity" => {
                let (id, key_id) = split(&val()?, '=')?;
                c.clouds.oci.insert(id, key_id);
            }
            "--token-ttl" => {
                c.auth.ttl = Duration::from_secs(val()?.parse().map_err(|e| format!("{a}: {e}"))?)
            }
            "--max-ttl" => {
                c.auth.max_ttl =
                    Duration::from_secs(val()?.parse().map_err(|e| format!("{a}: {e}"))?)
            }
            "-h" | "--help" => {
                println!(
                    "usage: infisical-test-server --addr 127.0.0.1:PORT --cert CERT.pem --key KEY.pem [--org SLUG] [--project ID:SLUG] [--envs dev,prod] [--folder ENV:/path]... [--client ID:SECRET:IDENTITY]... [--k8s-identity ID=SUBJECT]... [--jwt-identity ID=SUBJECT]... [--ldap-identity ID=USER:PASSWORD]... [--token TOKEN=IDENTITY]... [--identity-ttl IDENTITY=S]... [--token-ttl S] [--max-ttl S] [--cloud-addr 127.0.0.1:PORT] [--signing-key KEY.pem] [--aws-identity ID=KEY_ID:SECRET]... [--aws-assumable KEY_ID] [--azure-identity ID=SUBJECT]... [--gcp-identity ID=EMAIL]... [--oci-identity ID=TENANCY/USER/FINGERPRINT]..."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(c)
}

fn fail(msg: String) -> ! {
    eprintln!("infisical-test-server: {msg}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut cfg = parse_args().unwrap_or_else(|e| fail(e));
    let (Some(addr), Some(cert), Some(key)) = (cfg.addr, cfg.cert.clone(), cfg.key.clone()) else {
        fail("--addr, --cert and --key are required".into());
    };
    let acceptor = test_server_http::acceptor(&cert, &key).unwrap_or_else(|e| fail(e));
    let mut project = store::Project::new(&cfg.project.0, &cfg.project.1, &cfg.envs);
    for (env, path) in &cfg.folders {
        let mut parent = String::from("/");
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            project
                .create_folder(env, &parent, seg)
                .unwrap_or_else(|e| fail(format!("--folder {env}:{path}: {}", e.message)));
            parent = store::norm(&format!("{parent}/{seg}"));
        }
    }
    for (token, identity) in &cfg.tokens {
        cfg.auth.add_static_token(token, identity);
    }
    let state = Arc::new(State {
        org: cfg.org,
        auth: Mutex::new(cfg.auth),
        clouds: Mutex::new(cfg.clouds),
        project: Mutex::new(project),
        requests: std::sync::atomic::AtomicU64::new(0),
    });
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("bind {addr}: {e}")));
    if let Some(cloud_addr) = cfg.cloud_addr {
        let l = TcpListener::bind(cloud_addr)
            .await
            .unwrap_or_else(|e| fail(format!("bind {cloud_addr}: {e}")));
        println!("infisical-test-server cloud stand-ins on http://{cloud_addr}");
        tokio::spawn(serve_clouds(l, Arc::clone(&state)));
    }
    println!("infisical-test-server listening on https://{addr}");
    test_server_http::serve(listener, Some(acceptor), move |req| {
        handle(Arc::clone(&state), req)
    })
    .await
}
