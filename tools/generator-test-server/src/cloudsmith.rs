//! Cloudsmith's OIDC token exchange, as Cloudsmith's API v1 reference documents it (and its
//! Python client `cloudsmith-api` calls it: `OpenidApi.openid_create`, `UserApi.user_self`).
//!
//! - `POST /openid/{org}/` with `{"oidc_token", "service_slug"}`: when the token matches the
//!   organisation's OIDC provider rule for that service (issuer, subject, audience; the
//!   signature is not checked, the test setup has no JWKS), 201 `{"token": JWT}`, a service
//!   token valid one hour. 400 for a missing field (`fields`), 401 for a token that does not
//!   match, 404 for an unknown organisation or service.
//! - `GET /user/self/` with `X-Api-Key: TOKEN` (or `Authorization: Bearer TOKEN`): the
//!   service's brief (`authenticated` true, `slug` the service) for a minted token, 401 for
//!   an unknown or expired one, and `authenticated` false without credentials.
//! - `GET /_test/requests`: every call (method, path, the body's `service_slug`, the OIDC
//!   token's `iss`, `sub` and `aud`, status; never a token).
//!
//! Errors are Cloudsmith's `{"code", "detail"[, "fields"]}` bodies.
//!
//! usage: `--cloudsmith-service ORG/SERVICE=ISSUER,SUBJECT,AUDIENCE` (repeatable).

use std::sync::Mutex;

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::{Call, Federation, Resp, json_response};

/// The organisations' services and their OIDC rules (from the command line).
#[derive(Debug, Default)]
pub(crate) struct Config {
    services: Vec<(String, String, Federation)>,
}

impl Config {
    /// `ORG/SERVICE=ISSUER,SUBJECT,AUDIENCE`.
    pub(crate) fn add_service(&mut self, arg: &str) -> Result<(), String> {
        let want = "--cloudsmith-service wants ORG/SERVICE=ISSUER,SUBJECT,AUDIENCE";
        let (who, rule) = arg.split_once('=').ok_or(want)?;
        let (org, service) = who.split_once('/').ok_or(want)?;
        self.services
            .push((org.to_owned(), service.to_owned(), Federation::parse(rule)?));
        Ok(())
    }
}

/// The Cloudsmith service.
#[derive(Debug)]
pub(crate) struct Cloudsmith {
    config: Config,
    /// Minted tokens: `(org, service, token, expiry)`.
    minted: Mutex<Vec<(String, String, String, i64)>>,
    requests: Mutex<Vec<Value>>,
}

type Answer = (StatusCode, Value);

fn error(status: StatusCode, code: &str, detail: &str) -> Answer {
    (status, json!({"code": code, "detail": detail}))
}

impl Cloudsmith {
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
        let body: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
        let claims = body["oidc_token"].as_str().and_then(crate::jwt_claims);
        let seg: Vec<&str> = call.path.trim_matches('/').split('/').collect();
        let (status, answer) = match (call.method.as_str(), seg.as_slice()) {
            ("POST", ["openid", org]) => self.exchange(org, &body, claims.as_ref()),
            ("GET", ["user", "self"]) => self.user_self(call),
            _ => error(StatusCode::NOT_FOUND, "not_found", "Not found."),
        };
        self.requests.lock().expect("lock").push(json!({
            "method": call.method, "path": call.path,
            "service_slug": body["service_slug"],
            "oidc": crate::token_summary(claims.as_ref()), "status": status.as_u16(),
        }));
        json_response(status, &answer)
    }

    fn exchange(&self, org: &str, body: &Value, claims: Option<&Value>) -> Answer {
        let mut missing = serde_json::Map::new();
        for f in ["oidc_token", "service_slug"] {
            if body[f].as_str().is_none_or(str::is_empty) {
                missing.insert(f.to_owned(), json!(["This field is required."]));
            }
        }
        if !missing.is_empty() {
            return (
                StatusCode::BAD_REQUEST,
                json!({"code": "invalid", "detail": "Invalid input.", "fields": missing}),
            );
        }
        let service = body["service_slug"].as_str().unwrap_or_default();
        if !self.config.services.iter().any(|(o, _, _)| o == org) {
            return error(StatusCode::NOT_FOUND, "not_found", "Not found.");
        }
        let Some((_, _, rule)) = self
            .config
            .services
            .iter()
            .find(|(o, s, _)| o == org && s == service)
        else {
            return error(
                StatusCode::NOT_FOUND,
                "not_found",
                "No OIDC provider is configured for this service.",
            );
        };
        let Some(c) = claims else {
            return error(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                "Invalid OIDC token.",
            );
        };
        if let Err(why) = rule.check(c) {
            return error(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                &format!("Invalid OIDC token: {why}."),
            );
        }
        let now = jiff::Timestamp::now().as_second();
        let exp = now + 3600;
        let token = crate::mint_jwt(&json!({"iss": "cloudsmith", "sub": service, "org": org,
            "iat": now, "exp": exp}));
        self.minted.lock().expect("lock").push((
            org.to_owned(),
            service.to_owned(),
            token.clone(),
            exp,
        ));
        (StatusCode::CREATED, json!({"token": token}))
    }

    fn user_self(&self, call: &Call) -> Answer {
        let key = call.header("x-api-key").or_else(|| {
            call.header("authorization")
                .and_then(|a| a.strip_prefix("Bearer "))
        });
        let Some(key) = key else {
            return (
                StatusCode::OK,
                json!({"authenticated": false, "email": null, "name": null, "profile_url": null,
                    "self_url": null, "slug": null, "slug_perm": null}),
            );
        };
        let now = jiff::Timestamp::now().as_second();
        let minted = self.minted.lock().expect("lock");
        match minted.iter().find(|(_, _, t, e)| t == key && *e > now) {
            Some((org, service, _, _)) => (
                StatusCode::OK,
                json!({"authenticated": true, "email": null, "name": service,
                    "profile_url": format!("https://cloudsmith.io/~{org}"),
                    "self_url": "/user/self/", "slug": service, "slug_perm": service}),
            ),
            None => error(
                StatusCode::UNAUTHORIZED,
                "authentication_failed",
                "Invalid token.",
            ),
        }
    }
}
