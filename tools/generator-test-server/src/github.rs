//! GitHub App installation access tokens, as GitHub's REST API documents them
//! ("Create an installation access token for an app", "List repositories accessible to the
//! app installation").
//!
//! - `POST /app/installations/{id}/access_tokens` with `Authorization: Bearer <JWT>`. The JWT
//!   must be RS256, signed by the key of the App named by `iss` (a number or a string), with
//!   `iat` no more than a minute ahead, `exp` in the future and at most ten minutes after
//!   `iat`. The installation must belong to that App. The JSON body may ask for `repositories`
//!   (names; all must be the installation's) and `permissions` (each at most the level the
//!   installation has: `read` < `write` < `admin`; an empty object asks for all). Answers
//!   201 with `token` (`ghs_...`), `expires_at` (one hour), `permissions`,
//!   `repository_selection` and, when repositories were asked for, `repositories`.
//! - `GET /installation/repositories` with `Authorization: token ghs_...` (or `Bearer`): the
//!   repositories the token may access, so tests can prove a minted token works and is scoped.
//! - `GET /_test/requests`: every token request received: the installation, the JWT's header
//!   and claims, whether its signature verified, the body, and the status answered.
//!
//! Errors carry GitHub's body `{"message": ..., "documentation_url": ...}` with the messages
//! GitHub sends for these cases.
//!
//! Every installation has the permissions `contents: write`, `metadata: read`,
//! `packages: write`, `pull_requests: write` and the repositories `app`, `infra` and `docs`
//! of the organisation `eso-rs-test`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::{Call, Resp, json_response};

const DOCS_TOKENS: &str =
    "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app";
const DOCS_REST: &str = "https://docs.github.com/rest";
const ORG: &str = "eso-rs-test";
const REPOSITORIES: [&str; 3] = ["app", "infra", "docs"];
const PERMISSIONS: [(&str, &str); 4] = [
    ("contents", "write"),
    ("metadata", "read"),
    ("packages", "write"),
    ("pull_requests", "write"),
];
/// Installation tokens live one hour, as GitHub's.
const TOKEN_TTL_SECS: i64 = 3600;

/// The Apps and installations the server knows (from the command line).
#[derive(Debug, Default)]
pub(crate) struct Config {
    /// App ID → the DER of its RSA public key.
    apps: HashMap<String, Vec<u8>>,
    /// Installation ID → App ID.
    installations: HashMap<u64, String>,
}

impl Config {
    /// `APP_ID=PUBLIC_KEY.pem` (`RSA PUBLIC KEY` or `PUBLIC KEY`).
    pub(crate) fn add_app(&mut self, arg: &str) -> Result<(), String> {
        let (id, file) = arg
            .split_once('=')
            .ok_or("--github-app wants APP_ID=PUBLIC_KEY.pem")?;
        let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
        let der = pem_body(&text).ok_or_else(|| format!("{file}: no PEM public key"))?;
        self.apps.insert(id.to_owned(), der);
        Ok(())
    }

    /// `INSTALL_ID=APP_ID`.
    pub(crate) fn add_installation(&mut self, arg: &str) -> Result<(), String> {
        let (id, app) = arg
            .split_once('=')
            .ok_or("--github-installation wants INSTALL_ID=APP_ID")?;
        let id = id
            .parse()
            .map_err(|_| format!("--github-installation: {id} is not a number"))?;
        self.installations.insert(id, app.to_owned());
        Ok(())
    }
}

/// The base64 body of the first PEM block of `text`.
fn pem_body(text: &str) -> Option<Vec<u8>> {
    let b64: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN "))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END "))
        .collect();
    STANDARD.decode(b64.trim()).ok()
}

/// An issued token.
#[derive(Debug)]
struct Issued {
    expires: i64,
    repositories: Vec<String>,
}

/// The GitHub service.
#[derive(Debug)]
pub(crate) struct GitHub {
    config: Config,
    tokens: Mutex<HashMap<String, Issued>>,
    requests: Mutex<Vec<Value>>,
}

/// A status and a JSON body.
type Answer = (StatusCode, Value);

fn error(status: StatusCode, message: &str, docs: &str) -> Answer {
    (
        status,
        json!({"message": message, "documentation_url": docs}),
    )
}

fn respond((status, body): Answer) -> Resp {
    json_response(status, &body)
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn repository(index: usize, name: &str) -> Value {
    let id = 900_000 + index as u64;
    json!({
        "id": id,
        "node_id": format!("R_eso{id}"),
        "name": name,
        "full_name": format!("{ORG}/{name}"),
        "private": true,
        "owner": {"login": ORG, "id": 4242, "type": "Organization"},
        "html_url": format!("https://github.com/{ORG}/{name}"),
        "url": format!("https://api.github.com/repos/{ORG}/{name}"),
    })
}

fn level(p: &str) -> u8 {
    match p {
        "read" => 1,
        "write" => 2,
        "admin" => 3,
        _ => 0,
    }
}

/// What a JWT check found: the decoded header and claims (when they decode) and the verdict.
struct JwtCheck {
    header: Value,
    claims: Value,
    signature_valid: bool,
    app: Option<String>,
    problem: Option<&'static str>,
}

impl GitHub {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            tokens: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    pub(crate) fn route(&self, call: &Call) -> Resp {
        let seg: Vec<&str> = call.path.trim_matches('/').split('/').collect();
        match (call.method.as_str(), seg.as_slice()) {
            ("POST", ["app", "installations", id, "access_tokens"]) => {
                respond(self.create_token(call, id))
            }
            ("GET", ["installation", "repositories"]) => respond(self.list_repositories(call)),
            ("GET", ["_test", "requests"]) => {
                json_response(StatusCode::OK, &json!(*self.requests.lock().expect("lock")))
            }
            _ => respond(error(StatusCode::NOT_FOUND, "Not Found", DOCS_REST)),
        }
    }

    /// Checks a JWT as GitHub does for App authentication.
    fn check_jwt(&self, jwt: &str) -> JwtCheck {
        let mut out = JwtCheck {
            header: Value::Null,
            claims: Value::Null,
            signature_valid: false,
            app: None,
            problem: Some("A JSON web token could not be decoded"),
        };
        let parts: Vec<&str> = jwt.split('.').collect();
        let [h, c, s] = parts.as_slice() else {
            return out;
        };
        let decode = |p: &str| {
            URL_SAFE_NO_PAD
                .decode(p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        };
        let (Some(header), Some(claims), Ok(sig)) =
            (decode(h), decode(c), URL_SAFE_NO_PAD.decode(s))
        else {
            return out;
        };
        out.header = header;
        out.claims = claims;
        let iss = match &out.claims["iss"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return out,
        };
        let Some(key) = self.config.apps.get(&iss) else {
            out.problem = Some("Integration not found");
            return out;
        };
        if out.header["alg"] != "RS256" {
            return out;
        }
        out.signature_valid = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key)
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .is_ok();
        if !out.signature_valid {
            return out;
        }
        let now = now();
        let (Some(iat), Some(exp)) = (out.claims["iat"].as_i64(), out.claims["exp"].as_i64())
        else {
            out.problem = Some(
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
            );
            return out;
        };
        out.problem = if iat > now + 60 {
            Some(
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
            )
        } else if exp <= now {
            Some(
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
            )
        } else if exp - iat > 600 || exp > now + 660 {
            Some("'Expiration time' claim ('exp') is too far in the future")
        } else {
            None
        };
        out.app = Some(iss);
        out
    }

    fn create_token(&self, call: &Call, id: &str) -> Answer {
        let jwt = call
            .header("authorization")
            .and_then(|a| {
                a.strip_prefix("Bearer ")
                    .or_else(|| a.strip_prefix("bearer "))
            })
            .unwrap_or_default();
        let check = self.check_jwt(jwt);
        let body: Value = if call.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&call.body).unwrap_or(Value::String("<not JSON>".into()))
        };
        let (status, answer) = self.token_answer(&check, id, &body);
        self.requests.lock().expect("lock").push(json!({
            "installation": id,
            "jwt": {"header": check.header, "claims": check.claims,
                    "signature_valid": check.signature_valid},
            "accept": call.header("accept"),
            "api_version": call.header("x-github-api-version"),
            "user_agent": call.header("user-agent"),
            "body": body,
            "status": status.as_u16(),
            "message": answer["message"],
        }));
        (status, answer)
    }

    fn token_answer(&self, check: &JwtCheck, id: &str, body: &Value) -> Answer {
        if let Some(problem) = check.problem {
            return error(StatusCode::UNAUTHORIZED, problem, DOCS_REST);
        }
        let not_found = || error(StatusCode::NOT_FOUND, "Not Found", DOCS_TOKENS);
        let Ok(id) = id.parse::<u64>() else {
            return not_found();
        };
        if self.config.installations.get(&id) != check.app.as_ref() {
            return not_found();
        }
        if !matches!(body, Value::Null | Value::Object(_)) {
            return error(
                StatusCode::BAD_REQUEST,
                "Problems parsing JSON",
                DOCS_TOKENS,
            );
        }
        let unprocessable = |m: &str| error(StatusCode::UNPROCESSABLE_ENTITY, m, DOCS_TOKENS);
        let mut granted: BTreeMap<String, String> = PERMISSIONS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        // An empty object asks for nothing in particular: all of the installation's.
        if let Some(asked) = body
            .get("permissions")
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
        {
            let mut subset = BTreeMap::new();
            for (k, v) in asked {
                let v = v.as_str().unwrap_or_default();
                let has = granted.get(k).map_or(0, |g| level(g));
                if level(v) == 0 || level(v) > has {
                    return unprocessable(
                        "The permissions requested are not granted to this installation.",
                    );
                }
                subset.insert(k.clone(), v.to_owned());
            }
            granted = subset;
        }
        let asked_repos: Option<Vec<String>> = body.get("repositories").map(|r| {
            r.as_array()
                .into_iter()
                .flatten()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        });
        if asked_repos
            .iter()
            .flatten()
            .any(|r| !REPOSITORIES.contains(&r.as_str()))
        {
            return unprocessable(
                "There is at least one repository that does not exist or is not accessible to the parent installation.",
            );
        }
        let token = new_token();
        let expires = now() + TOKEN_TTL_SECS;
        let repositories = asked_repos
            .clone()
            .unwrap_or_else(|| REPOSITORIES.iter().map(|r| (*r).to_owned()).collect());
        let mut answer = json!({
            "token": token,
            "expires_at": jiff::Timestamp::from_second(expires).map(|t| t.to_string()).unwrap_or_default(),
            "permissions": granted,
            "repository_selection": if asked_repos.is_some() { "selected" } else { "all" },
        });
        if asked_repos.is_some() {
            answer["repositories"] = repositories
                .iter()
                .map(|r| {
                    let i = REPOSITORIES.iter().position(|x| x == r).unwrap_or_default();
                    repository(i, r)
                })
                .collect();
        }
        self.tokens.lock().expect("lock").insert(
            token,
            Issued {
                expires,
                repositories,
            },
        );
        (StatusCode::CREATED, answer)
    }

    fn list_repositories(&self, call: &Call) -> Answer {
        let token = call
            .header("authorization")
            .and_then(|a| {
                a.strip_prefix("token ")
                    .or_else(|| a.strip_prefix("Bearer "))
            })
            .unwrap_or_default();
        let tokens = self.tokens.lock().expect("lock");
        let Some(issued) = tokens.get(token).filter(|t| t.expires > now()) else {
            return error(StatusCode::UNAUTHORIZED, "Bad credentials", DOCS_REST);
        };
        let repos: Vec<Value> = issued
            .repositories
            .iter()
            .map(|r| {
                let i = REPOSITORIES.iter().position(|x| x == r).unwrap_or_default();
                repository(i, r)
            })
            .collect();
        (
            StatusCode::OK,
            json!({"total_count": repos.len(), "repositories": repos}),
        )
    }
}

/// `ghs_` and 36 random letters and digits, the shape of GitHub's installation tokens.
fn new_token() -> String {
    format!("ghs_{}", crate::random_alnum(36))
}
