//! Machine-identity logins and the access token: one login per store revision, the token
//! renewed before it expires, a new login after it is refused (401) or cannot be renewed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eso_core::{Result, SecretValue};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use crate::client::Http;

/// How a store's identity logs in.
pub(crate) enum Login {
    /// Universal auth: client ID and secret.
    Universal {
        client_id: SecretValue,
        client_secret: SecretValue,
        organization: String,
    },
    /// Token auth: an access token issued to the identity (not renewable).
    Token { token: SecretValue },
    /// JWT auth: the identity ID and a JWT.
    Jwt {
        identity_id: SecretValue,
        jwt: SecretValue,
    },
    /// LDAP auth: the identity ID, an LDAP user name and password.
    Ldap {
        identity_id: SecretValue,
        username: SecretValue,
        password: SecretValue,
    },
    /// Kubernetes auth: the identity ID and the ServiceAccount token file sent as `jwt`.
    Kubernetes {
        identity_id: SecretValue,
        token_file: PathBuf,
    },
}

/// Login and renewal counts of one store's session (for tests and metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenStats {
    /// Successful logins.
    pub logins: u64,
    /// Successful renewals.
    pub renewals: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

struct Token {
    access: SecretValue,
    /// When to renew (four fifths of the lifetime).
    renew_at: Option<Instant>,
    /// When it stops working (`None`: the server did not say).
    expires_at: Option<Instant>,
}

impl Token {
    fn from_answer(a: TokenAnswer) -> Self {
        let now = Instant::now();
        let (renew_at, expires_at) = match a.expires_in {
            0 => (None, None),
            s => (
                Some(now + Duration::from_secs(s) * 4 / 5),
                Some(now + Duration::from_secs(s)),
            ),
        };
        Self {
            access: SecretValue::from(a.access_token),
            renew_at,
            expires_at,
        }
    }
}

/// A store's session: the login method and the current token.
pub(crate) struct Session {
    login: Login,
    token: Mutex<Option<Token>>,
    logins: AtomicU64,
    renewals: AtomicU64,
}

impl Session {
    pub(crate) fn new(login: Login) -> Self {
        Self {
            login,
            token: Mutex::new(None),
            logins: AtomicU64::new(0),
            renewals: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> TokenStats {
        TokenStats {
            logins: self.logins.load(Ordering::Relaxed),
            renewals: self.renewals.load(Ordering::Relaxed),
        }
    }

    /// Whether a refused token can be replaced by logging in again.
    pub(crate) fn can_login_again(&self) -> bool {
        !matches!(self.login, Login::Token { .. })
    }

    /// The token to send: the current one, renewed when it is due, or a new login.
    pub(crate) async fn token(&self, http: &Http) -> Result<SecretValue> {
        let mut slot = self.token.lock().await;
        if let Login::Token { token } = &self.login {
            return Ok(token.clone());
        }
        let now = Instant::now();
        if let Some(t) = slot.as_ref() {
            let expired = t.expires_at.is_some_and(|e| now >= e);
            let due = t.renew_at.is_some_and(|r| now >= r);
            if !expired && !due {
                return Ok(t.access.clone());
            }
            if !expired {
                match self.renew(http, &t.access).await {
                    Ok(new) => {
                        self.renewals.fetch_add(1, Ordering::Relaxed);
                        let access = new.access.clone();
                        *slot = Some(new);
                        return Ok(access);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "infisical token renewal failed; logging in again")
                    }
                }
            }
        }
        let new = self.login(http).await?;
        self.logins.fetch_add(1, Ordering::Relaxed);
        let access = new.access.clone();
        *slot = Some(new);
        Ok(access)
    }

    /// Forgets `used` after the API refused it, so the next call logs in again.
    pub(crate) async fn refused(&self, used: &SecretValue) {
        let mut slot = self.token.lock().await;
        if slot.as_ref().is_some_and(|t| t.access == *used) {
            *slot = None;
        }
    }

    async fn renew(&self, http: &Http, access: &SecretValue) -> Result<Token> {
        let body = json!({"accessToken": text(access)});
        let a: TokenAnswer = http
            .post_unauthenticated("renew the access token", "v1/auth/token/renew", &body)
            .await?;
        Ok(Token::from_answer(a))
    }

    async fn login(&self, http: &Http) -> Result<Token> {
        let a: TokenAnswer = match &self.login {
            Login::Universal {
                client_id,
                client_secret,
                organization,
            } => {
                let mut body =
                    json!({"clientId": text(client_id), "clientSecret": text(client_secret)});
                if !organization.is_empty() {
                    body["organizationSlug"] = json!(organization);
                }
                http.post_unauthenticated(
                    "universal auth login",
                    "v1/auth/universal-auth/login",
                    &body,
                )
                .await?
            }
            Login::Kubernetes {
                identity_id,
                token_file,
            } => {
                let jwt = tokio::fs::read_to_string(token_file).await.map_err(|e| {
                    eso_core::Error::unavailable(
                        format!(
                            "infisical kubernetes auth: cannot read the ServiceAccount token {}",
                            token_file.display()
                        ),
                        e,
                    )
                })?;
                let body = json!({"identityId": text(identity_id), "jwt": jwt.trim()});
                http.post_unauthenticated(
                    "kubernetes auth login",
                    "v1/auth/kubernetes-auth/login",
                    &body,
                )
                .await?
            }
            Login::Jwt { identity_id, jwt } => {
                let body = json!({"identityId": text(identity_id), "jwt": text(jwt)});
                http.post_unauthenticated("jwt auth login", "v1/auth/jwt-auth/login", &body)
                    .await?
            }
            Login::Ldap {
                identity_id,
                username,
                password,
            } => {
                let body = json!({"identityId": text(identity_id), "username": text(username),
                    "password": text(password)});
                http.post_unauthenticated("ldap auth login", "v1/auth/ldap-auth/login", &body)
                    .await?
            }
            Login::Token { token } => {
                return Ok(Token {
                    access: token.clone(),
                    renew_at: None,
                    expires_at: None,
                });
            }
        };
        Ok(Token::from_answer(a))
    }
}

fn text(v: &SecretValue) -> &str {
    v.expose_str().unwrap_or_default()
}
