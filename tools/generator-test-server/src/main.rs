//! Test servers for eso-rs's token generators, one module per service, behind one HTTPS
//! listener (certificate and key from PEM files, signed by the per-instance CA that
//! `scripts/backends/generators.sh` makes).
//!
//! | prefix | module | service |
//! |---|---|---|
//! | `/github` | [`github`] | GitHub App installation access tokens |
//! | `/gitlab` | [`gitlab`] | GitLab deploy tokens (projects and groups) |
//! | `/grafana` | [`grafana`] | Grafana service accounts and their tokens |
//! | `/quay` | [`quay`] | Quay robot account federation (OIDC) |
//! | `/cloudsmith` | [`cloudsmith`] | Cloudsmith's OIDC token exchange |
//! | `/beyondtrust` | [`beyondtrust`] | BeyondTrust Workload Credentials dynamic secrets |
//!
//! `GET /_test/healthz` answers `ok`.
//!
//! usage: generator-test-server --addr 127.0.0.1:PORT --cert server.crt --key server.key
//!        [--github-app APP_ID=PUBLIC_KEY.pem]... [--github-installation INSTALL_ID=APP_ID]...
//!        [--gitlab-token TOKEN]... [--gitlab-read-token TOKEN]...
//!        [--grafana-token TOKEN]... [--grafana-basic USER:PASSWORD]...
//!        [--quay-robot ROBOT=ISSUER,SUBJECT,AUDIENCE]...
//!        [--cloudsmith-service ORG/SERVICE=ISSUER,SUBJECT,AUDIENCE]...
//!        [--beyondtrust-site SITE_ID] [--beyondtrust-token TOKEN]...
//!        [--beyondtrust-read-token TOKEN]... [--beyondtrust-dynamic FOLDER/NAME[=sts]]...

mod beyondtrust;
mod cloudsmith;
mod github;
mod gitlab;
mod grafana;
mod quay;

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;

/// A response.
pub(crate) type Resp = Response<Full<Bytes>>;

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        "application/json; charset=utf-8"
            .parse()
            .expect("static header"),
    );
    r
}

/// `n` random letters and digits (token values).
pub(crate) fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n];
    // The system's randomness does not fail in practice; a test server may stop if it does.
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The claims of the JWT `token` (its payload, decoded; the signature is not checked).
pub(crate) fn jwt_claims(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&raw).ok()
}

/// A JWT with `claims`, signed HS256 with a key made at start-up (the minted tokens of the
/// token services: the server recognises them by keeping them, the signature only gives them
/// a real JWT's shape).
pub(crate) fn mint_jwt(claims: &Value) -> String {
    use base64::Engine as _;
    static KEY: std::sync::OnceLock<aws_lc_rs::hmac::Key> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &bytes)
    });
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signed = format!(
        "{}.{}",
        b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(claims.to_string())
    );
    let tag = aws_lc_rs::hmac::sign(key, signed.as_bytes());
    format!("{signed}.{}", b64.encode(tag.as_ref()))
}

/// A federation rule: which Kubernetes ServiceAccount tokens a service accepts, parsed from
/// `ISSUER,SUBJECT,AUDIENCE`.
#[derive(Debug, Clone)]
pub(crate) struct Federation {
    pub(crate) issuer: String,
    pub(crate) subject: String,
    pub(crate) audience: String,
}

impl Federation {
    pub(crate) fn parse(v: &str) -> Result<Self, String> {
        let mut parts = v.splitn(3, ',');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(i), Some(s), Some(a)) if !i.is_empty() && !s.is_empty() && !a.is_empty() => {
                Ok(Self {
                    issuer: i.to_owned(),
                    subject: s.to_owned(),
                    audience: a.to_owned(),
                })
            }
            _ => Err(format!("{v:?}: want ISSUER,SUBJECT,AUDIENCE")),
        }
    }

    /// Checks a ServiceAccount token's claims against the rule (issuer, subject, audience,
    /// not expired); the reason it does not match otherwise.
    pub(crate) fn check(&self, claims: &Value) -> Result<(), &'static str> {
        if claims["iss"] != self.issuer.as_str() {
            return Err("issuer does not match");
        }
        if claims["sub"] != self.subject.as_str() {
            return Err("subject does not match");
        }
        let aud_ok = match &claims["aud"] {
            Value::String(a) => *a == self.audience,
            Value::Array(list) => list.iter().any(|a| *a == self.audience.as_str()),
            _ => false,
        };
        if !aud_ok {
            return Err("audience does not match");
        }
        let now = jiff::Timestamp::now().as_second();
        if claims["exp"].as_i64().is_none_or(|e| e <= now) {
            return Err("token expired");
        }
        Ok(())
    }
}

/// What a request log keeps of a ServiceAccount token: its issuer, subject and audience,
/// never the token.
pub(crate) fn token_summary(claims: Option<&Value>) -> Value {
    match claims {
        Some(c) => serde_json::json!({"iss": c["iss"], "sub": c["sub"], "aud": c["aud"]}),
        None => Value::Null,
    }
}

/// Percent-decodes a path segment or query value.
pub(crate) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request as the service modules see it: method, path below the module's prefix, headers
/// and the whole body.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: hyper::HeaderMap,
    pub(crate) body: Bytes,
}

impl Call {
    /// The value of header `name`, if it is text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Default)]
struct Config {
    addr: Option<SocketAddr>,
    cert: Option<String>,
    key: Option<String>,
    github: github::Config,
    gitlab: gitlab::Config,
    grafana: grafana::Config,
    quay: quay::Config,
    cloudsmith: cloudsmith::Config,
    beyondtrust: beyondtrust::Config,
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
            "--github-app" => c.github.add_app(&val()?)?,
            "--github-installation" => c.github.add_installation(&val()?)?,
            "--gitlab-token" => c.gitlab.api_tokens.push(val()?),
            "--gitlab-read-token" => c.gitlab.read_tokens.push(val()?),
            "--grafana-token" => c.grafana.tokens.push(val()?),
            "--grafana-basic" => {
                let v = val()?;
                let (u, p) = v
                    .split_once(':')
                    .ok_or("--grafana-basic wants USER:PASSWORD")?;
                c.grafana.basic.push((u.to_owned(), p.to_owned()));
            }
            "--quay-robot" => c.quay.add_robot(&val()?)?,
            "--cloudsmith-service" => c.cloudsmith.add_service(&val()?)?,
            "--beyondtrust-site" => c.beyondtrust.site = Some(val()?),
            "--beyondtrust-token" => c.beyondtrust.tokens.push(val()?),
            "--beyondtrust-read-token" => c.beyondtrust.read_tokens.push(val()?),
            "--beyondtrust-dynamic" => c.beyondtrust.add_definition(&val()?),
            "-h" | "--help" => {
                println!(
                    "usage: generator-test-server --addr 127.0.0.1:PORT --cert CERT.pem --key KEY.pem [--github-app APP_ID=PUBLIC_KEY.pem]... [--github-installation INSTALL_ID=APP_ID]... [--gitlab-token TOKEN]... [--gitlab-read-token TOKEN]... [--grafana-token TOKEN]... [--grafana-basic USER:PASSWORD]... [--quay-robot ROBOT=ISSUER,SUBJECT,AUDIENCE]... [--cloudsmith-service ORG/SERVICE=ISSUER,SUBJECT,AUDIENCE]... [--beyondtrust-site SITE_ID] [--beyondtrust-token TOKEN]... [--beyondtrust-read-token TOKEN]... [--beyondtrust-dynamic FOLDER/NAME[=sts]]..."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(c)
}

/// Every service's state.
#[derive(Debug)]
struct State {
    github: github::GitHub,
    gitlab: gitlab::GitLab,
    grafana: grafana::Grafana,
    quay: quay::Quay,
    cloudsmith: cloudsmith::Cloudsmith,
    beyondtrust: beyondtrust::BeyondTrust,
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = req.headers().clone();
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"message": "bad body"}),
        );
    };
    if path == "/_test/healthz" {
        return Response::new(Full::new(Bytes::from_static(b"ok")));
    }
    let mut call = Call {
        method,
        path,
        query,
        headers,
        body,
    };
    if let Some(rest) = call.path.strip_prefix("/github/") {
        call.path = format!("/{rest}");
        return state.github.route(&call);
    }
    if let Some(rest) = call.path.strip_prefix("/gitlab/") {
        call.path = format!("/{rest}");
        return state.gitlab.route(&call);
    }
    if let Some(rest) = call.path.strip_prefix("/grafana/") {
        call.path = format!("/{rest}");
        return state.grafana.route(&call);
    }
    if let Some(rest) = call.path.strip_prefix("/quay/") {
        call.path = format!("/{rest}");
        return state.quay.route(&call);
    }
    if let Some(rest) = call.path.strip_prefix("/cloudsmith/") {
        call.path = format!("/{rest}");
        return state.cloudsmith.route(&call);
    }
    if let Some(rest) = call.path.strip_prefix("/beyondtrust/") {
        call.path = format!("/{rest}");
        return state.beyondtrust.route(&call);
    }
    json_response(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"message": "no service at this path"}),
    )
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("generator-test-server: {msg}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let cfg = parse_args().unwrap_or_else(|e| fail(e));
    let (Some(addr), Some(cert), Some(key)) = (cfg.addr, cfg.cert.clone(), cfg.key.clone()) else {
        fail("--addr, --cert and --key are required");
    };
    let acceptor = test_server_http::acceptor(&cert, &key).unwrap_or_else(|e| fail(e));
    let state = Arc::new(State {
        github: github::GitHub::new(cfg.github),
        gitlab: gitlab::GitLab::new(cfg.gitlab),
        grafana: grafana::Grafana::new(cfg.grafana),
        quay: quay::Quay::new(cfg.quay),
        cloudsmith: cloudsmith::Cloudsmith::new(cfg.cloudsmith),
        beyondtrust: beyondtrust::BeyondTrust::new(cfg.beyondtrust),
    });
    let listener = TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("bind {addr}: {e}")));
    println!("generator-test-server listening on https://{addr}");
    test_server_http::serve(listener, Some(acceptor), move |req| {
        handle(Arc::clone(&state), req)
    })
    .await
}
