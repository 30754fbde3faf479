//! Machine-identity logins and the access token: one login per store revision, the token
//! renewed before it expires, a new login after it is refused (401) or cannot be renewed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eso_core::{Result, SecretValue};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::cloud::{self, Cloud, OciKey};
use crate::http::Http;

/// How a store's identity logs in.
pub(crate) enum Login {
    /// Universal auth: client ID and secret.
    Universal {
        client_id: SecretValue,
        client_secret: SecretValue,
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
    /// AWS IAM auth: a signed `sts:GetCallerIdentity` with the controller's AWS keys.
    Aws { identity_id: SecretValue },
    /// Azure auth: a managed-identity token for `resource`.
    Azure {
        identity_id: SecretValue,
        resource: String,
    },
    /// GCP ID token auth: the instance's ID token with the identity as audience.
    GcpIdToken { identity_id: SecretValue },
    /// GCP IAM auth: a JWT signed by Google for the service account of a key file.
    GcpIam {
        identity_id: SecretValue,
        key_file: PathBuf,
    },
    /// OCI auth: a request signed with an OCI API key.
    Oci {
        identity_id: SecretValue,
        key: Box<OciKey>,
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
    /// Sent with every login (`secretsScope.organizationSlug`), unless empty.
    organization: String,
    cloud: Cloud,
    token: Mutex<Option<Token>>,
    logins: AtomicU64,
    renewals: AtomicU64,
}

impl Session {
    pub(crate) fn new(login: Login, organization: String, cloud: Cloud) -> Self {
        Self {
            login,
            organization,
            cloud,
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
        let Some((op, path, mut body)) = self.login_request().await? else {
            if let Login::Token { token } = &self.login {
                return Ok(Token {
                    access: token.clone(),
                    renew_at: None,
                    expires_at: None,
                });
            }
            return Err(eso_core::Error::generic("infisical: no login method"));
        };
        if !self.organization.is_empty() {
            body["organizationSlug"] = json!(self.organization);
        }
        let a: TokenAnswer = http.post_unauthenticated(op, path, &body).await?;
        Ok(Token::from_answer(a))
    }

    /// What to send where for the login (`None` for token auth, which does not log in).
    async fn login_request(&self) -> Result<Option<(&'static str, &'static str, Value)>> {
        let c = &self.cloud;
        Ok(Some(match &self.login {
            Login::Universal {
                client_id,
                client_secret,
            } => (
                "universal auth login",
                "v1/auth/universal-auth/login",
                json!({"clientId": text(client_id), "clientSecret": text(client_secret)}),
            ),
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
                (
                    "kubernetes auth login",
                    "v1/auth/kubernetes-auth/login",
                    json!({"identityId": text(identity_id), "jwt": jwt.trim()}),
                )
            }
            Login::Jwt { identity_id, jwt } => (
                "jwt auth login",
                "v1/auth/jwt-auth/login",
                json!({"identityId": text(identity_id), "jwt": text(jwt)}),
            ),
            Login::Ldap {
                identity_id,
                username,
                password,
            } => (
                "ldap auth login",
                "v1/auth/ldap-auth/login",
                json!({"identityId": text(identity_id), "username": text(username),
                    "password": text(password)}),
            ),
            Login::Aws { identity_id } => (
                "aws auth login",
                "v1/auth/aws-auth/login",
                crate::aws::aws_login(c, text(identity_id)).await?,
            ),
            Login::Azure {
                identity_id,
                resource,
            } => (
                "azure auth login",
                "v1/auth/azure-auth/login",
                cloud::azure_login(c, text(identity_id), resource).await?,
            ),
            Login::GcpIdToken { identity_id } => (
                "gcp id token auth login",
                "v1/auth/gcp-auth/login",
                cloud::gcp_id_token_login(c, text(identity_id)).await?,
            ),
            Login::GcpIam {
                identity_id,
                key_file,
            } => (
                "gcp iam auth login",
                "v1/auth/gcp-auth/login",
                cloud::gcp_iam_login(c, text(identity_id), key_file).await?,
            ),
            Login::Oci { identity_id, key } => (
                "oci auth login",
                "v1/auth/oci-auth/login",
                cloud::oci_login(text(identity_id), key)?,
            ),
            Login::Token { .. } => return Ok(None),
        }))
    }
}

fn text(v: &SecretValue) -> &str {
    v.expose_str().unwrap_or_default()
}
