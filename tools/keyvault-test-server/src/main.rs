//! A small Azure Key Vault data-plane test server for eso-rs tests.
//!
//! One HTTPS listener (certificate and key from PEM files, e.g. signed by a per-instance CA
//! that `scripts/backends/azure.sh` generates) serves:
//!
//! - certificates (import from PEM or PKCS#12, get latest or by version) and keys (import of
//!   a JSON Web Key, get; private members never returned);
//! - an Entra ID token endpoint, `POST /{tenant}/oauth2/v2.0/token` (client credentials with a
//!   client secret, with a certificate (`--cert-client`: the client assertion's RS256 / ES256
//!   signature, `x5t`, audience, issuer and expiry are verified), or with a client assertion
//!   of a federated credential: audience
//!   `api://AzureADTokenExchange`, the registered subject, not expired; its signature is not
//!   checked), answering like Entra ID, including `AADSTS7000222` for an expired secret;
//! - the Key Vault secrets API (`/secrets`, `/deletedsecrets`) of the `api-version` the SDKs
//!   send, behind the bearer challenge (`401` + `WWW-Authenticate: Bearer authorization=...,
//!   resource="https://vault.azure.net"`) that the SDKs' authentication policies expect:
//!   set, get (latest or by version), list and list versions with `nextLink` paging, update
//!   attributes / tags / content type, delete (soft delete: deleted but recoverable), get and
//!   list deleted, recover, purge; Key Vault's error body `{"error":{"code","message"}}`;
//! - the OpenID configuration document of the tenant (`/{tenant}/v2.0/.well-known/
//!   openid-configuration`), which MSAL-based clients read first;
//! - the App Service managed-identity endpoint (`GET /msi/token`, with `--msi-secret` as the
//!   `X-IDENTITY-HEADER`), the one the SDKs use when `IDENTITY_ENDPOINT` is set;
//! - Azure Container Registry's token exchange (`POST /oauth2/exchange`, `POST /oauth2/token`),
//!   for the ACRAccessToken generator (the registry is the server's `host:port`);
//! - `GET /_test/token-requests`: the token requests received so far (form fields, secrets
//!   masked), for tests that check what the token endpoint saw.
//!
//! usage: keyvault-test-server --addr 127.0.0.1:PORT --cert server.crt --key server.key
//!        [--tenant T] [--client ID:SECRET]... [--expired-client ID:SECRET]...
//!        [--federated CLIENT_ID=SUBJECT]... [--cert-client CLIENT_ID=CERT.pem]...
//!        [--msi-secret SECRET]

mod objects;
mod vault;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The data-plane API versions served: 7.4 to 7.6 and the dated ones from 2025-07-01 (the
/// Rust SDK 1.0 sends 2025-07-01, the Python SDK 2026-04-01). They agree on what this server
/// implements.
fn api_version_known(v: &str) -> bool {
    matches!(v, "7.4" | "7.5" | "7.6")
        || (v.len() >= 10
            && v.as_bytes()[..10].iter().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
            && &v[..10] >= "2025-07-01")
}

/// Lifetime of issued access tokens.
const TOKEN_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct Config {
    addr: Option<SocketAddr>,
    cert: Option<String>,
    key: Option<String>,
    tenant: String,
    clients: HashMap<String, String>,
    expired: HashMap<String, String>,
    federated: HashMap<String, String>,
    cert_clients: HashMap<String, String>,
    msi_secret: Option<String>,
}

fn parse_args() -> Result<Config, String> {
    let mut c = Config {
        tenant: "00000000-0000-0000-0000-000000000000".into(),
        ..Config::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--addr" => c.addr = Some(val()?.parse().map_err(|e| format!("--addr: {e}"))?),
            "--cert" => c.cert = Some(val()?),
            "--key" => c.key = Some(val()?),
            "--tenant" => c.tenant = val()?,
            "--msi-secret" => c.msi_secret = Some(val()?),
            "--cert-client" => {
                let v = val()?;
                let (id, file) = v
                    .split_once('=')
                    .ok_or_else(|| format!("{a} wants CLIENT_ID=CERT.pem"))?;
                c.cert_clients.insert(id.to_owned(), file.to_owned());
            }
            "--federated" => {
                let v = val()?;
                let (id, subject) = v
                    .split_once('=')
                    .ok_or_else(|| format!("{a} wants CLIENT_ID=SUBJECT"))?;
                c.federated.insert(id.to_owned(), subject.to_owned());
            }
            "--client" | "--expired-client" => {
                let v = val()?;
                let (id, secret) = v
                    .split_once(':')
                    .ok_or_else(|| format!("{a} wants ID:SECRET"))?;
                let map = if a == "--client" {
                    &mut c.clients
                } else {
                    &mut c.expired
                };
                map.insert(id.to_owned(), secret.to_owned());
            }
            "-h" | "--help" => {
                println!(
                    "usage: keyvault-test-server --addr 127.0.0.1:PORT --cert CERT.pem --key KEY.pem [--tenant T] [--client ID:SECRET]... [--expired-client ID:SECRET]..."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(c)
}

/// Shared server state.
#[derive(Debug)]
pub(crate) struct State {
    tenant: String,
    clients: HashMap<String, String>,
    expired: HashMap<String, String>,
    /// Federated credentials: client ID → the subject its assertions must carry.
    federated: HashMap<String, String>,
    /// Certificate credentials: client ID → the certificate's DER.
    cert_clients: HashMap<String, Vec<u8>>,
    /// The `X-IDENTITY-HEADER` value of the App Service managed-identity endpoint.
    msi_secret: Option<String>,
    /// Issued tokens: value → expiry (unix seconds).
    tokens: Mutex<HashMap<String, u64>>,
    token_requests: Mutex<Vec<Value>>,
    /// ACR refresh tokens issued by `/oauth2/exchange`.
    acr_refresh: Mutex<Vec<String>>,
    pub(crate) vault: Mutex<vault::Vault>,
    objects: Mutex<objects::Objects>,
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// 32 lowercase hex digits, unpredictable enough for a test server.
pub(crate) fn random_hex() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

pub(crate) type Resp = Response<Full<Bytes>>;

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

/// Key Vault's error body.
pub(crate) fn kv_error(status: StatusCode, code: &str, message: &str) -> Resp {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn entra_error(status: StatusCode, error: &str, code: u32, description: &str) -> Resp {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": jiff::Timestamp::now().to_string(),
        }),
    )
}

/// Checks a certificate credential's client assertion: `x5t` is the certificate's SHA-1
/// thumbprint, RS256 / ES256 signature by its key, `aud` the token endpoint, `iss` = `sub` =
/// the client, not expired.
fn verify_cert_assertion(
    cert: &[u8],
    client: &str,
    audience: &str,
    jwt: &str,
) -> Result<(), (u32, String)> {
    use aws_lc_rs::signature::{self, UnparsedPublicKey};
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let malformed = || (50027, "JWT token is invalid or malformed.".to_owned());
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, c, sig] = parts.as_slice() else {
        return Err(malformed());
    };
    let json = |p: &str| {
        b64.decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let (Some(header), Some(claims), Ok(sig)) = (json(h), json(c), b64.decode(sig)) else {
        return Err(malformed());
    };
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert);
    if header["x5t"].as_str() != Some(b64.encode(sha1.as_ref()).as_str()) {
        return Err((
            700027,
            "Client assertion contains an invalid signature: unknown certificate thumbprint (x5t)."
                .into(),
        ));
    }
    let (_, x509) = x509_parser::parse_x509_certificate(cert).map_err(|_| malformed())?;
    let spki = x509.public_key().subject_public_key.data.to_vec();
    let alg: &dyn signature::VerificationAlgorithm = match header["alg"].as_str() {
        Some("RS256") => &signature::RSA_PKCS1_2048_8192_SHA256,
        Some("PS256") => &signature::RSA_PSS_2048_8192_SHA256,
        Some("ES256") => &signature::ECDSA_P256_SHA256_FIXED,
        _ => {
            return Err((
                700027,
                "Client assertion uses an unsupported algorithm.".into(),
            ));
        }
    };
    UnparsedPublicKey::new(alg, spki)
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| {
            (
                700027,
                "Client assertion contains an invalid signature.".to_owned(),
            )
        })?;
    if claims["aud"].as_str() != Some(audience) {
        return Err((
            700212,
            format!("The audience of the client assertion must be {audience}."),
        ));
    }
    if claims["iss"].as_str() != Some(client) || claims["sub"].as_str() != Some(client) {
        return Err((
            700021,
            "The client assertion's iss and sub must be the client ID.".into(),
        ));
    }
    if claims["exp"].as_i64().is_none_or(|e| e <= now() as i64) {
        return Err((
            700024,
            "Client assertion is not within its valid time range.".into(),
        ));
    }
    Ok(())
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

impl State {
    fn token(&self, base: &str, tenant: &str, body: &[u8]) -> Resp {
        let form = parse_form(body);
        let mut logged: serde_json::Map<String, Value> = form
            .iter()
            .map(|(k, v)| {
                let v = if k == "client_secret" || k == "client_assertion" {
                    format!("<{} bytes>", v.len())
                } else {
                    v.clone()
                };
                (k.clone(), Value::String(v))
            })
            .collect();
        logged.insert("tenant".into(), Value::String(tenant.to_owned()));
        self.token_requests
            .lock()
            .expect("lock")
            .push(Value::Object(logged));
        if tenant != self.tenant {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                &format!("Tenant '{tenant}' not found."),
            );
        }
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            );
        }
        let client = form.get("client_id").cloned().unwrap_or_default();
        let secret = form.get("client_secret").cloned().unwrap_or_default();
        if form.get("scope").is_none_or(String::is_empty) {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                70011,
                "The provided request must include a 'scope' input parameter.",
            );
        }
        if let Some(assertion) = form.get("client_assertion")
            && let Some(cert) = self.cert_clients.get(&client)
        {
            let audience = format!("{base}/{tenant}/oauth2/v2.0/token");
            return match verify_cert_assertion(cert, &client, &audience, assertion) {
                Ok(()) => self.issue(),
                Err((code, msg)) => {
                    entra_error(StatusCode::UNAUTHORIZED, "invalid_client", code, &msg)
                }
            };
        }
        if let Some(assertion) = form.get("client_assertion") {
            return self.federated_token(&client, form.get("client_assertion_type"), assertion);
        }
        if self.expired.get(&client) == Some(&secret) {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000222,
                &format!(
                    "The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app."
                ),
            );
        }
        match self.clients.get(&client) {
            None => entra_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{client}' was not found in the directory '{tenant}'."
                ),
            ),
            Some(s) if *s != secret => entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            ),
            Some(_) => self.issue(),
        }
    }

    /// A client assertion of a federated credential (workload identity): a JWT whose
    /// audience is `api://AzureADTokenExchange`, whose subject is the one registered for the
    /// client and which has not expired. The signature is not checked (the test server does
    /// not fetch the issuer's keys).
    fn federated_token(&self, client: &str, kind: Option<&String>, assertion: &str) -> Resp {
        let bad = |code: u32, msg: &str| {
            entra_error(StatusCode::BAD_REQUEST, "invalid_client", code, msg)
        };
        if kind.map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return bad(700024, "Client assertion type is not jwt-bearer.");
        }
        let Some(subject) = self.federated.get(client) else {
            return bad(
                70021,
                &format!(
                    "No matching federated identity record found for presented assertion (client '{client}')."
                ),
            );
        };
        let claims = assertion
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::Engine::decode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    p.trim_end_matches('='),
                )
                .ok()
            })
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        let Some(claims) = claims else {
            return bad(50027, "JWT token is invalid or malformed.");
        };
        let aud_ok = match &claims["aud"] {
            Value::String(a) => a == "api://AzureADTokenExchange",
            Value::Array(a) => a.iter().any(|a| a == "api://AzureADTokenExchange"),
            _ => false,
        };
        if !aud_ok {
            return bad(
                700212,
                "No matching federated identity record found for presented assertion audience.",
            );
        }
        if claims["sub"].as_str() != Some(subject.as_str()) {
            return bad(
                70021,
                "No matching federated identity record found for presented assertion subject.",
            );
        }
        if claims["exp"].as_u64().is_some_and(|e| e <= now()) {
            return bad(
                700024,
                "Client assertion is not within its valid time range.",
            );
        }
        self.issue()
    }

    fn issue(&self) -> Resp {
        let token = format!("kvts.{}", random_hex());
        self.tokens
            .lock()
            .expect("lock")
            .insert(token.clone(), now() + TOKEN_TTL.as_secs());
        json_response(
            StatusCode::OK,
            &json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL.as_secs(),
                "ext_expires_in": TOKEN_TTL.as_secs(),
                "access_token": token,
            }),
        )
    }

    /// The App Service managed-identity endpoint (`IDENTITY_ENDPOINT`): any identity, system-
    /// or user-assigned, gets a token when the secret header matches.
    fn managed_identity(&self, header: Option<&str>, q: &HashMap<String, String>) -> Resp {
        let mut logged: serde_json::Map<String, Value> = q
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        logged.insert("managed_identity".into(), Value::Bool(true));
        self.token_requests
            .lock()
            .expect("lock")
            .push(Value::Object(logged));
        if self.msi_secret.is_none() || header != self.msi_secret.as_deref() {
            return json_response(
                StatusCode::UNAUTHORIZED,
                &json!({"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is missing or wrong."}),
            );
        }
        let Some(resource) = q.get("resource").filter(|r| !r.is_empty()) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"statusCode": 400, "message": "resource is required"}),
            );
        };
        let token = format!("kvts.{}", random_hex());
        let exp = now() + TOKEN_TTL.as_secs();
        self.tokens.lock().expect("lock").insert(token.clone(), exp);
        json_response(
            StatusCode::OK,
            &json!({"access_token": token, "expires_on": exp.to_string(), "resource": resource,
                "token_type": "Bearer", "client_id": q.get("client_id").cloned().unwrap_or_default()}),
        )
    }

    /// Azure Container Registry's token endpoints: `/oauth2/exchange` trades an Entra ID
    /// access token for a refresh token, `/oauth2/token` a refresh token for an access token
    /// of a `scope`.
    fn acr(&self, op: &str, host: &str, form: &HashMap<String, String>) -> Resp {
        let acr_error = |status: StatusCode, msg: &str| {
            json_response(
                status,
                &json!({"errors": [{"code": "UNAUTHORIZED", "message": msg}]}),
            )
        };
        if form.get("service").map(String::as_str) != Some(host) {
            return acr_error(StatusCode::BAD_REQUEST, "service must name this registry");
        }
        let field = |k: &str| form.get(k).cloned().unwrap_or_default();
        if op == "exchange" {
            if field("grant_type") != "access_token" {
                return acr_error(StatusCode::BAD_REQUEST, "grant_type must be access_token");
            }
            if field("tenant") != self.tenant {
                return acr_error(StatusCode::UNAUTHORIZED, "unknown tenant");
            }
            let valid = self
                .tokens
                .lock()
                .expect("lock")
                .get(&field("access_token"))
                .is_some_and(|exp| *exp > now());
            if !valid {
                return acr_error(StatusCode::UNAUTHORIZED, "invalid Entra ID access token");
            }
            let t = format!("acr-refresh.{}", random_hex());
            self.acr_refresh.lock().expect("lock").push(t.clone());
            return json_response(StatusCode::OK, &json!({"refresh_token": t}));
        }
        if field("grant_type") != "refresh_token" || field("scope").is_empty() {
            return acr_error(
                StatusCode::BAD_REQUEST,
                "grant_type refresh_token and a scope are required",
            );
        }
        if !self
            .acr_refresh
            .lock()
            .expect("lock")
            .contains(&field("refresh_token"))
        {
            return acr_error(StatusCode::UNAUTHORIZED, "invalid refresh token");
        }
        json_response(
            StatusCode::OK,
            &json!({"access_token": format!("acr-access.{}.{}", field("scope").replace([':', ','], "_"), random_hex())}),
        )
    }

    /// `None` when the request carries a valid bearer token, else the challenge.
    fn challenge(&self, req: &Request<Incoming>, base: &str) -> Option<Resp> {
        let token = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        let valid = token.is_some_and(|t| {
            self.tokens
                .lock()
                .expect("lock")
                .get(t)
                .is_some_and(|exp| *exp > now())
        });
        if valid {
            return None;
        }
        let message = if token.is_some() {
            "AKV10032: Invalid issuer or token."
        } else {
            "AKV10000: Request is missing a Bearer or PoP token."
        };
        let mut r = kv_error(StatusCode::UNAUTHORIZED, "Unauthorized", message);
        let header = format!(
            "Bearer authorization=\"{base}/{}\", resource=\"https://vault.azure.net\"",
            self.tenant
        );
        r.headers_mut().insert(
            "www-authenticate",
            header.parse().expect("valid header value"),
        );
        Some(r)
    }
}

/// What every route reads of a request: its host, method, path segments and query.
struct Target {
    host: String,
    base: String,
    method: hyper::Method,
    segments: Vec<String>,
    query: HashMap<String, String>,
}

impl Target {
    fn of(req: &Request<Incoming>) -> Self {
        let host = req
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        Self {
            base: format!("https://{host}"),
            host,
            method: req.method().clone(),
            segments: req
                .uri()
                .path()
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            query: req
                .uri()
                .query()
                .map(|q| parse_form(q.as_bytes()))
                .unwrap_or_default(),
        }
    }

    fn seg(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }
}

async fn body_bytes(req: Request<Incoming>) -> Option<Bytes> {
    req.into_body().collect().await.ok().map(|b| b.to_bytes())
}

/// The Entra ID, managed identity, ACR exchange and test endpoints (no bearer token); the
/// request comes back when it is for none of them.
async fn public_route(
    state: &State,
    req: Request<Incoming>,
    t: &Target,
) -> Result<Resp, Box<Request<Incoming>>> {
    let bad_body = || kv_error(StatusCode::BAD_REQUEST, "BadRequest", "bad body");
    Ok(match (t.method.as_str(), t.seg().as_slice()) {
        ("GET", ["_test", "healthz"]) => json_response(StatusCode::OK, &json!({"status": "ok"})),
        ("GET", ["msi", "token"]) => {
            let header = req
                .headers()
                .get("x-identity-header")
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned);
            state.managed_identity(header.as_deref(), &t.query)
        }
        ("GET", ["_test", "token-requests"]) => {
            let reqs = state.token_requests.lock().expect("lock").clone();
            json_response(StatusCode::OK, &Value::Array(reqs))
        }
        ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            // What MSAL-based clients (Python's azure-identity) read before the token call.
            let tenant = format!("{}/{tenant}", t.base);
            json_response(
                StatusCode::OK,
                &json!({
                    "issuer": format!("{tenant}/v2.0"),
                    "token_endpoint": format!("{tenant}/oauth2/v2.0/token"),
                    "authorization_endpoint": format!("{tenant}/oauth2/v2.0/authorize"),
                    "device_authorization_endpoint": format!("{tenant}/oauth2/v2.0/devicecode"),
                    "jwks_uri": format!("{tenant}/discovery/v2.0/keys"),
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                    "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                    "grant_types_supported": ["client_credentials"],
                    "tenant_region_scope": null,
                }),
            )
        }
        ("POST", ["oauth2", op @ ("exchange" | "token")]) => {
            let op = *op;
            match body_bytes(req).await {
                Some(body) => state.acr(op, &t.host, &parse_form(&body)),
                None => bad_body(),
            }
        }
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => {
            let tenant = (*tenant).to_owned();
            match body_bytes(req).await {
                Some(body) => state.token(&t.base, &tenant, &body),
                None => bad_body(),
            }
        }
        _ => return Err(Box::new(req)),
    })
}

/// The Key Vault data plane: bearer challenge, `api-version`, a JSON body, then the object
/// (cert/key) routes and the secret routes.
async fn vault_route(state: &State, req: Request<Incoming>, t: &Target) -> Resp {
    if let Some(r) = state.challenge(&req, &t.base) {
        return r;
    }
    let Some(api_version) = t.query.get("api-version").cloned() else {
        return kv_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            "The 'api-version' query parameter is missing.",
        );
    };
    if !api_version_known(&api_version) {
        return kv_error(
            StatusCode::BAD_REQUEST,
            "BadParameter",
            &format!(
                "The specified version ({api_version}) is not recognized. Consider using the latest supported version (2025-07-01)."
            ),
        );
    }
    let Some(body) = body_bytes(req).await else {
        return kv_error(StatusCode::BAD_REQUEST, "BadParameter", "bad body");
    };
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return kv_error(
                    StatusCode::BAD_REQUEST,
                    "BadParameter",
                    &format!("The request body is not valid JSON: {e}"),
                );
            }
        }
    };
    let ctx = vault::Call {
        base: &t.base,
        api_version: &api_version,
        query: &t.query,
        body: &body,
    };
    let seg = t.seg();
    if let Some(r) = state
        .objects
        .lock()
        .expect("lock")
        .route(t.method.as_str(), &seg, &ctx)
    {
        return r;
    }
    state
        .vault
        .lock()
        .expect("lock")
        .route(t.method.as_str(), &seg, &ctx)
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let target = Target::of(&req);
    match public_route(&state, req, &target).await {
        Ok(resp) => resp,
        Err(req) => vault_route(&state, *req, &target).await,
    }
}

#[tokio::main]
async fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keyvault-test-server: {e}");
            std::process::exit(2);
        }
    };
    let (Some(addr), Some(cert), Some(key)) = (cfg.addr, cfg.cert.clone(), cfg.key.clone()) else {
        eprintln!("keyvault-test-server: --addr, --cert and --key are required");
        std::process::exit(2);
    };
    let acceptor = test_server_http::acceptor(&cert, &key).unwrap_or_else(|e| {
        eprintln!("keyvault-test-server: {e}");
        std::process::exit(2);
    });
    let mut cert_clients = HashMap::new();
    for (id, file) in &cfg.cert_clients {
        let der = CertificateDer::from_pem_file(file).unwrap_or_else(|e| {
            eprintln!("keyvault-test-server: {file}: {e}");
            std::process::exit(2);
        });
        cert_clients.insert(id.clone(), der.as_ref().to_vec());
    }
    let state = Arc::new(State {
        tenant: cfg.tenant,
        clients: cfg.clients,
        expired: cfg.expired,
        federated: cfg.federated,
        cert_clients,
        msi_secret: cfg.msi_secret,
        tokens: Mutex::default(),
        token_requests: Mutex::default(),
        acr_refresh: Mutex::default(),
        vault: Mutex::new(vault::Vault::default()),
        objects: Mutex::default(),
    });
    let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
        eprintln!("keyvault-test-server: bind {addr}: {e}");
        std::process::exit(1);
    });
    println!("keyvault-test-server listening on https://{addr}");
    test_server_http::serve(listener, Some(acceptor), move |req| {
        handle(Arc::clone(&state), req)
    })
    .await
}
