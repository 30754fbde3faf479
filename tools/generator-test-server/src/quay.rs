//! Quay robot account federation, as Quay's documentation describes it ("Exchanging an OAuth2
//! robot account token", Project Quay's manual). Quay publishes no client library for it, so
//! this module follows that reference and the robot federation settings it describes.
//!
//! - `GET /oauth2/federation/robot/token` with basic auth `ROBOT:OIDC_TOKEN`: when the token
//!   matches one of the robot's federation rules (issuer, subject; here also the audience
//!   the test setup asks for), 200 `{"token": JWT}`, a robot token valid one hour (claims
//!   `iss` `quay`, `sub` the robot, `exp`). The OIDC token's signature is not checked (the
//!   test setup has no JWKS to check it with); its claims are.
//! - `GET /v2/auth?service=...&scope=...` with basic auth `ROBOT:ROBOT_TOKEN` (what `docker
//!   login` sends with the generated `auth`): 200 `{"token": ...}` while the robot token is
//!   valid, 401 otherwise: the tests prove a generated credential works.
//! - `GET /_test/requests`: every call (method, path, robot, the OIDC token's `iss`, `sub`
//!   and `aud`, status; never a token).
//!
//! Errors have the shape of Quay's API errors (`{"detail", "error_message", "error_type",
//! "title", "type", "status"}`): 401 `invalid_token` for a missing, malformed or
//! non-matching token, 404 `not_found` for an unknown robot; the registry's `/v2/auth`
//! answers Docker's `{"errors": [{"code": "UNAUTHORIZED", ...}]}`.
//!
//! usage: `--quay-robot ROBOT=ISSUER,SUBJECT,AUDIENCE` (repeatable; one rule each).

use std::sync::Mutex;

use base64::Engine as _;
use hyper::StatusCode;
use serde_json::{Value, json};

use crate::{Call, Federation, Resp, json_response};

/// The robot accounts and their federation rules (from the command line).
#[derive(Debug, Default)]
pub(crate) struct Config {
    robots: Vec<(String, Federation)>,
}

impl Config {
    /// `ROBOT=ISSUER,SUBJECT,AUDIENCE`.
    pub(crate) fn add_robot(&mut self, arg: &str) -> Result<(), String> {
        let (robot, rule) = arg
            .split_once('=')
            .ok_or("--quay-robot wants ROBOT=ISSUER,SUBJECT,AUDIENCE")?;
        self.robots
            .push((robot.to_owned(), Federation::parse(rule)?));
        Ok(())
    }
}

/// The Quay service.
#[derive(Debug)]
pub(crate) struct Quay {
    config: Config,
    /// Minted robot tokens: `(robot, token, expiry)`.
    minted: Mutex<Vec<(String, String, i64)>>,
    requests: Mutex<Vec<Value>>,
}

type Answer = (StatusCode, Value);

fn api_error(status: StatusCode, error_type: &str, detail: &str) -> Answer {
    (
        status,
        json!({"detail": detail, "error_message": detail, "error_type": error_type,
            "title": error_type, "type": format!("https://quay.io/api/v1/error/{error_type}"),
            "status": status.as_u16()}),
    )
}

/// `(user, password)` of a basic `authorization` header.
fn basic(call: &Call) -> Option<(String, String)> {
    let b = call.header("authorization")?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

impl Quay {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            minted: Mutex::default(),
            requests: Mutex::default(),
        }
    }

    pub(crate) fn route(&self, call: &Call) -> Resp {
        if call.method == "GET" && call.path == "/_test/requests" {
            return json_response(StatusCode::OK, &json!(*self.requests.lock().expect("lock")));
        }
        let creds = basic(call);
        let (status, body, claims) = match (call.method.as_str(), call.path.as_str()) {
            ("GET", "/oauth2/federation/robot/token") => self.federate(creds.as_ref()),
            ("GET", "/v2/auth") => {
                let (s, b) = self.registry_auth(creds.as_ref());
                (s, b, None)
            }
            _ => {
                let (s, b) = api_error(StatusCode::NOT_FOUND, "not_found", "Not Found");
                (s, b, None)
            }
        };
        self.requests.lock().expect("lock").push(json!({
            "method": call.method, "path": call.path, "query": call.query,
            "robot": creds.as_ref().map(|(u, _)| u.clone()),
            "oidc": crate::token_summary(claims.as_ref()), "status": status.as_u16(),
        }));
        json_response(status, &body)
    }

    fn federate(&self, creds: Option<&(String, String)>) -> (StatusCode, Value, Option<Value>) {
        let Some((robot, token)) = creds else {
            let (s, b) = api_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Missing basic auth: expected robot name and OIDC token",
            );
            return (s, b, None);
        };
        let claims = crate::jwt_claims(token);
        let rules: Vec<&Federation> = self
            .config
            .robots
            .iter()
            .filter(|(r, _)| r == robot)
            .map(|(_, f)| f)
            .collect();
        if rules.is_empty() {
            let (s, b) = api_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "Could not find robot with specified username",
            );
            return (s, b, claims);
        }
        let Some(c) = &claims else {
            let (s, b) = api_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The OIDC token is not a valid JWT",
            );
            return (s, b, None);
        };
        if let Err(why) = rules
            .iter()
            .map(|f| f.check(c))
            .find(Result::is_ok)
            .unwrap_or_else(|| rules[0].check(c))
        {
            let (s, b) = api_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                &format!(
                    "Federated token does not match the robot's federation configuration: {why}"
                ),
            );
            return (s, b, claims);
        }
        let now = jiff::Timestamp::now().as_second();
        let exp = now + 3600;
        let minted = crate::mint_jwt(&json!({"iss": "quay", "sub": robot, "aud": "quay",
            "iat": now, "nbf": now, "exp": exp}));
        self.minted
            .lock()
            .expect("lock")
            .push((robot.clone(), minted.clone(), exp));
        (StatusCode::OK, json!({"token": minted}), claims)
    }

    fn registry_auth(&self, creds: Option<&(String, String)>) -> Answer {
        let now = jiff::Timestamp::now().as_second();
        let ok = creds.is_some_and(|(u, p)| {
            self.minted
                .lock()
                .expect("lock")
                .iter()
                .any(|(r, t, e)| r == u && t == p && *e > now)
        });
        if ok {
            (StatusCode::OK, json!({"token": crate::random_alnum(48)}))
        } else {
            (
                StatusCode::UNAUTHORIZED,
                json!({"errors": [{"code": "UNAUTHORIZED", "detail": {},
                    "message": "Invalid Username or Password"}]}),
            )
        }
    }
}
