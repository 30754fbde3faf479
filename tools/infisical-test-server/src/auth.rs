//! Machine identities and their access tokens: universal auth (client ID and secret),
//! Kubernetes auth (a ServiceAccount JWT whose subject the identity accepts), token auth (an
//! access token issued up front), renewal, and expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::ApiError;

/// One access token.
#[derive(Debug, Clone)]
struct Token {
    identity: String,
    expires: Instant,
    /// The end of the token's life, renewals included (`None`: no limit).
    max_expires: Option<Instant>,
}

/// Identities, tokens and counters.
#[derive(Debug, Default)]
pub(crate) struct Auth {
    /// Universal auth: client ID -> (client secret, identity ID).
    pub(crate) universal: HashMap<String, (String, String)>,
    /// Kubernetes auth: identity ID -> the JWT subject it accepts.
    pub(crate) kubernetes: HashMap<String, String>,
    /// JWT auth: identity ID -> the JWT subject it accepts.
    pub(crate) jwt: HashMap<String, String>,
    /// LDAP auth: identity ID -> (user name, password).
    pub(crate) ldap: HashMap<String, (String, String)>,
    /// Access token lifetime.
    pub(crate) ttl: Duration,
    /// Access token lifetime of tokens issued to some identities (by identity ID).
    pub(crate) identity_ttl: HashMap<String, Duration>,
    /// Maximum lifetime with renewals.
    pub(crate) max_ttl: Duration,
    tokens: HashMap<String, Token>,
    counter: u64,
    /// Successful logins, by method.
    pub(crate) logins: HashMap<&'static str, u64>,
    /// Successful renewals.
    pub(crate) renewals: u64,
    /// What the last login of each method received (secrets replaced by their length).
    pub(crate) last_login: HashMap<&'static str, Value>,
    /// What the last cloud-identity login of each identity ID received.
    pub(crate) last_login_by_identity: HashMap<String, Value>,
}

impl Auth {
    /// Adds an access token for token auth (no expiry).
    pub(crate) fn add_static_token(&mut self, token: &str, identity: &str) {
        self.tokens.insert(
            token.to_owned(),
            Token {
                identity: identity.to_owned(),
                expires: Instant::now() + Duration::from_secs(100 * 365 * 86400),
                max_expires: None,
            },
        );
    }

    fn ttl_of(&self, identity: &str) -> Duration {
        self.identity_ttl.get(identity).copied().unwrap_or(self.ttl)
    }

    fn issue(&mut self, identity: &str, method: &'static str) -> Value {
        self.counter += 1;
        let ttl = self.ttl_of(identity);
        let token = format!(
            "ist.{}.{:016x}",
            identity,
            self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        let now = Instant::now();
        self.tokens.insert(
            token.clone(),
            Token {
                identity: identity.to_owned(),
                expires: now + ttl,
                max_expires: Some(now + self.max_ttl),
            },
        );
        *self.logins.entry(method).or_default() += 1;
        self.token_answer(&token, ttl)
    }

    fn token_answer(&self, token: &str, ttl: Duration) -> Value {
        json!({
            "accessToken": token,
            "expiresIn": ttl.as_secs(),
            "accessTokenMaxTTL": self.max_ttl.as_secs(),
            "tokenType": "Bearer",
        })
    }

    /// A login another module checked: records what it received and issues a token.
    pub(crate) fn checked_login(
        &mut self,
        method: &'static str,
        checked: Result<(String, Value), ApiError>,
        received: &Value,
    ) -> Result<Value, ApiError> {
        let id = received["identityId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (got, result) = match checked {
            Ok((identity, got)) => (got, Ok(self.issue(&identity, method))),
            Err(e) => (json!({"identityId": id, "refused": e.message}), Err(e)),
        };
        self.last_login.insert(method, got.clone());
        self.last_login_by_identity.insert(id, got);
        result
    }

    /// `POST /api/v1/auth/universal-auth/login`.
    pub(crate) fn universal_login(&mut self, body: &Value) -> Result<Value, ApiError> {
        let id = body["clientId"].as_str().unwrap_or_default();
        let secret = body["clientSecret"].as_str().unwrap_or_default();
        self.last_login.insert(
            "universal",
            json!({"clientId": id, "clientSecretLength": secret.len(),
                "organizationSlug": body.get("organizationSlug")}),
        );
        match self.universal.get(id) {
            Some((s, identity)) if s == secret => {
                let identity = identity.clone();
                Ok(self.issue(&identity, "universal"))
            }
            _ => Err(ApiError::unauthorized("Invalid credentials")),
        }
    }

    /// `POST /api/v1/auth/kubernetes-auth/login`: the JWT's subject must be the one the
    /// identity accepts (the real server asks the cluster's TokenReview API).
    pub(crate) fn kubernetes_login(&mut self, body: &Value) -> Result<Value, ApiError> {
        let identity = body["identityId"].as_str().unwrap_or_default().to_owned();
        let jwt = body["jwt"].as_str().unwrap_or_default();
        let subject = jwt_subject(jwt);
        self.last_login.insert(
            "kubernetes",
            json!({"identityId": identity, "subject": subject}),
        );
        match (self.kubernetes.get(&identity), subject) {
            (None, _) => Err(ApiError::not_found(&format!(
                "Kubernetes auth method not found for identity with ID {identity}"
            ))),
            (Some(want), Some(got)) if *want == got => Ok(self.issue(&identity, "kubernetes")),
            _ => Err(ApiError::unauthorized(
                "Access denied: Kubernetes token review failed",
            )),
        }
    }

    /// `POST /api/v1/auth/jwt-auth/login`: the JWT's subject must be the one the identity
    /// accepts (the real server also checks its signature against the configured keys).
    pub(crate) fn jwt_login(&mut self, body: &Value) -> Result<Value, ApiError> {
        let identity = body["identityId"].as_str().unwrap_or_default().to_owned();
        let subject = jwt_subject(body["jwt"].as_str().unwrap_or_default());
        self.last_login
            .insert("jwt", json!({"identityId": identity, "subject": subject}));
        match (self.jwt.get(&identity), subject) {
            (None, _) => Err(ApiError::not_found(&format!(
                "JWT auth method not found for identity with ID {identity}"
            ))),
            (Some(want), Some(got)) if *want == got => Ok(self.issue(&identity, "jwt")),
            _ => Err(ApiError::unauthorized(
                "Access denied: JWT subject not allowed",
            )),
        }
    }

    /// `POST /api/v1/auth/ldap-auth/login`: the user name and password the identity's LDAP
    /// configuration accepts.
    pub(crate) fn ldap_login(&mut self, body: &Value) -> Result<Value, ApiError> {
        let identity = body["identityId"].as_str().unwrap_or_default().to_owned();
        let user = body["username"].as_str().unwrap_or_default();
        let pass = body["password"].as_str().unwrap_or_default();
        self.last_login.insert(
            "ldap",
            json!({"identityId": identity, "username": user, "passwordLength": pass.len()}),
        );
        match self.ldap.get(&identity) {
            None => Err(ApiError::not_found(&format!(
                "LDAP auth method not found for identity with ID {identity}"
            ))),
            Some((u, p)) if u == user && p == pass => Ok(self.issue(&identity, "ldap")),
            _ => Err(ApiError::unauthorized("Invalid credentials")),
        }
    }

    /// `POST /api/v1/auth/token/renew`.
    pub(crate) fn renew(&mut self, body: &Value) -> Result<Value, ApiError> {
        let token = body["accessToken"].as_str().unwrap_or_default().to_owned();
        let now = Instant::now();
        let identity = self
            .tokens
            .get(&token)
            .map(|t| t.identity.clone())
            .unwrap_or_default();
        let ttl = self.ttl_of(&identity);
        let t = self
            .tokens
            .get_mut(&token)
            .filter(|t| t.expires > now)
            .ok_or_else(|| {
                ApiError::unauthorized("Failed to renew access token: token expired or revoked")
            })?;
        let max = t
            .max_expires
            .ok_or_else(|| ApiError::bad_request("Failed to renew non-renewable access token"))?;
        if now + ttl > max {
            return Err(ApiError::bad_request(
                "Failed to renew MI access token due to Max TTL being reached",
            ));
        }
        t.expires = now + ttl;
        self.renewals += 1;
        Ok(self.token_answer(&token, ttl))
    }

    /// The identity an `Authorization: Bearer` header authenticates.
    pub(crate) fn check(&self, header: Option<&str>) -> Result<String, ApiError> {
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized("Missing Authorization Header in the request header.")
            })?;
        match self.tokens.get(token) {
            Some(t) if t.expires > Instant::now() => Ok(t.identity.clone()),
            Some(_) => Err(ApiError::unauthorized("Token expired")),
            None => Err(ApiError::unauthorized("Invalid token")),
        }
    }

    /// Expires every renewable token now (test control).
    pub(crate) fn expire_all(&mut self) {
        let past = Instant::now();
        for t in self.tokens.values_mut().filter(|t| t.max_expires.is_some()) {
            t.expires = past;
        }
    }
}

/// The `sub` claim of a JWT (not verified: the test server checks what it receives).
fn jwt_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["sub"].as_str().map(str::to_owned)
}
