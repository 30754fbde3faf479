//! Logging in: one function per auth method, in ESO's order of precedence.
//!
//! Credentials are read from the cluster at each login (not when the provider is built), so a
//! rotated AppRole secret ID or password is picked up by the next login.

use std::path::PathBuf;
use std::time::Duration;

use eso_core::api::{
    SecretKeySelector, VaultAppRole, VaultAuth, VaultCertAuth, VaultJwtAuth, VaultKubernetesAuth,
    VaultLdapAuth, VaultUserPassAuth,
};
use eso_core::{Error, Result, SecretValue};
use serde_json::{Value, json};

use crate::client::tls;
use crate::client::{Call, Http};
use eso_core::provider::Credentials;

pub(crate) mod token;
/// The pod's own ServiceAccount token (kubernetes auth without serviceAccountRef/secretRef).
pub(crate) const POD_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// A token obtained by a login (or read from a Secret).
pub(crate) struct Login {
    pub(crate) token: SecretValue,
    /// `None`: the token does not expire (or its lifetime is unknown: static tokens).
    pub(crate) ttl: Option<Duration>,
    pub(crate) renewable: bool,
    /// Whether we created the token (and so revoke it when done).
    pub(crate) owned: bool,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("token", &"******")
            .field("ttl", &self.ttl)
            .field("renewable", &self.renewable)
            .field("owned", &self.owned)
            .finish()
    }
}

/// How to obtain a token for one store.
#[derive(Debug)]
pub(crate) struct Authenticator {
    pub(crate) auth: Option<VaultAuth>,
    pub(crate) creds: Credentials,
    /// `spec.provider.<kind>.auth`, for error paths.
    pub(crate) field: String,
    /// The namespace logins and token calls go to.
    pub(crate) namespace: Option<String>,
    pub(crate) pod_token_path: PathBuf,
    /// For cert login: the CA the main client trusts.
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// The factory's request timeout, for the cert-login client.
    pub(crate) request_timeout: std::time::Duration,
}

impl Authenticator {
    /// True when a token is needed at all (an empty `auth` sends no token, like ESO).
    pub(crate) fn configured(&self) -> bool {
        self.auth.as_ref().and_then(VaultAuth::method).is_some()
    }

    /// True when the token comes from a Secret (never renewed or revoked by us).
    pub(crate) fn is_static(&self) -> bool {
        self.auth
            .as_ref()
            .is_some_and(|a| a.token_secret_ref.is_some())
    }

    /// Obtains a token with the first configured method.
    pub(crate) async fn login(&self, http: &Http) -> Result<Option<Login>> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        if let Some(sel) = &auth.token_secret_ref {
            return self.token_secret(sel).await.map(Some);
        }
        if let Some(a) = &auth.app_role {
            return self.app_role_login(http, a).await;
        }
        if let Some(k) = &auth.kubernetes {
            return self.kubernetes_login(http, k).await;
        }
        if let Some(l) = &auth.ldap {
            return self.ldap_login(http, l).await;
        }
        if let Some(u) = &auth.user_pass {
            return self.user_pass_login(http, u).await;
        }
        if let Some(j) = &auth.jwt {
            return self.jwt_login(http, j).await;
        }
        if let Some(c) = &auth.cert {
            return self.cert_login(http, c).await;
        }
        let f = &self.field;
        if auth.iam.is_some() {
            return Err(Error::not_supported(format!(
                "{f}.iam: AWS IAM login is not supported by eso-provider-vault yet"
            )));
        }
        if auth.gcp.is_some() {
            return Err(Error::not_supported(format!(
                "{f}.gcp: Google Cloud login is not supported by eso-provider-vault yet"
            )));
        }
        Ok(None)
    }

    /// `tokenSecretRef`: a static token read from a Secret (never renewed nor revoked).
    async fn token_secret(&self, sel: &SecretKeySelector) -> Result<Login> {
        let field = format!("{}.tokenSecretRef", self.field);
        let token = self.creds.secret_text(sel, Some("token"), &field).await?;
        Ok(Login {
            token,
            ttl: None,
            renewable: false,
            owned: false,
        })
    }

    /// `appRole`: role ID (inline or from a Secret) and secret ID.
    async fn app_role_login(&self, http: &Http, a: &VaultAppRole) -> Result<Option<Login>> {
        let p = format!("{}.appRole", self.field);
        let inline = a
            .role_id
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let role_id = match (inline, &a.role_ref) {
            (Some(r), _) => SecretValue::from(r),
            (None, Some(sel)) => {
                self.creds
                    .secret_text(sel, None, &format!("{p}.roleRef"))
                    .await?
            }
            (None, None) => {
                return Err(Error::invalid_config(
                    p,
                    "one of roleId or roleRef is required",
                ));
            }
        };
        let secret_id = self
            .creds
            .secret_text(&a.secret_ref, None, &format!("{p}.secretRef"))
            .await?;
        let body = json!({"role_id": text(&role_id), "secret_id": text(&secret_id)});
        self.post_login(http, &a.path, "", &body, "appRole").await
    }

    /// `kubernetes`: a ServiceAccount token (TokenRequest, a Secret, or the pod's own file).
    async fn kubernetes_login(
        &self,
        http: &Http,
        k: &VaultKubernetesAuth,
    ) -> Result<Option<Login>> {
        let p = format!("{}.kubernetes", self.field);
        let jwt = if let Some(sa) = &k.service_account_ref {
            self.creds
                .service_account_token(sa, &[], 600, &format!("{p}.serviceAccountRef"))
                .await?
        } else if let Some(sel) = &k.secret_ref {
            self.creds
                .secret_text(sel, Some("token"), &format!("{p}.secretRef"))
                .await?
        } else {
            read_token_file(&self.pod_token_path, &p)?
        };
        let body = json!({"role": k.role, "jwt": text(&jwt)});
        self.post_login(http, &k.mount_path, "", &body, "kubernetes")
            .await
    }

    /// `ldap`: username and password (from a Secret).
    async fn ldap_login(&self, http: &Http, l: &VaultLdapAuth) -> Result<Option<Login>> {
        let p = format!("{}.ldap", self.field);
        let body = self.password_body(l.secret_ref.as_ref(), &p).await?;
        self.post_login(http, &l.path, &l.username, &body, "ldap")
            .await
    }

    /// `userPass`: username and password (from a Secret).
    async fn user_pass_login(&self, http: &Http, u: &VaultUserPassAuth) -> Result<Option<Login>> {
        let p = format!("{}.userPass", self.field);
        let body = self.password_body(u.secret_ref.as_ref(), &p).await?;
        self.post_login(http, &u.path, &u.username, &body, "userPass")
            .await
    }

    /// The login body of the password methods, the password read from `secretRef`.
    async fn password_body(&self, sel: Option<&SecretKeySelector>, p: &str) -> Result<Value> {
        let field = format!("{p}.secretRef");
        let sel = sel.ok_or_else(|| Error::invalid_config(&field, "is required"))?;
        let password = self.creds.secret(sel, None, &field).await?;
        Ok(json!({"password": text(&password)}))
    }

    /// `jwt`: a JWT from a Secret or a ServiceAccount token requested for the audiences.
    async fn jwt_login(&self, http: &Http, j: &VaultJwtAuth) -> Result<Option<Login>> {
        let p = format!("{}.jwt", self.field);
        let jwt = if let Some(sel) = &j.secret_ref {
            self.creds
                .secret_text(sel, None, &format!("{p}.secretRef"))
                .await?
        } else if let Some(t) = &j.kubernetes_service_account_token {
            let audiences = t
                .audiences
                .clone()
                .unwrap_or_else(|| vec!["vault".to_owned()]);
            self.creds
                .service_account_token(
                    &t.service_account_ref,
                    &audiences,
                    t.expiration_seconds.unwrap_or(600),
                    &format!("{p}.kubernetesServiceAccountToken.serviceAccountRef"),
                )
                .await?
        } else {
            return Err(Error::invalid_config(
                p,
                "one of secretRef or kubernetesServiceAccountToken is required",
            ));
        };
        let role = j.role.as_deref().map(str::trim).unwrap_or_default();
        let body = json!({"role": role, "jwt": text(&jwt)});
        self.post_login(http, &j.path, "", &body, "jwt").await
    }

    /// `cert`: TLS client-certificate login on a client of its own.
    async fn cert_login(&self, http: &Http, c: &VaultCertAuth) -> Result<Option<Login>> {
        let p = format!("{}.cert", self.field);
        let cert_sel = c
            .client_cert
            .as_ref()
            .ok_or_else(|| Error::invalid_config(format!("{p}.clientCert"), "is required"))?;
        let key_sel = c
            .secret_ref
            .as_ref()
            .ok_or_else(|| Error::invalid_config(format!("{p}.secretRef"), "is required"))?;
        let cert = self
            .creds
            .secret(cert_sel, Some("tls.crt"), &format!("{p}.clientCert"))
            .await?;
        let key = self
            .creds
            .secret(key_sel, Some("tls.key"), &format!("{p}.secretRef"))
            .await?;
        let client = tls::build_client(
            self.request_timeout,
            self.ca_pem.as_deref(),
            Some((&cert, &key)),
            &p,
        )?;
        let cert_http = http.with_client(client);
        let body = match c.vault_role.as_deref().filter(|r| !r.is_empty()) {
            Some(role) => json!({"name": role}),
            None => json!({}),
        };
        self.post_login(&cert_http, &c.path, "", &body, "cert")
            .await
    }

    async fn post_login(
        &self,
        http: &Http,
        mount: &str,
        user: &str,
        body: &Value,
        method: &str,
    ) -> Result<Option<Login>> {
        let mount = mount.trim_matches('/');
        let path = if user.is_empty() {
            format!("auth/{mount}/login")
        } else {
            format!("auth/{mount}/login/{user}")
        };
        let resp = http
            .send(
                &Call::post(&path, body).in_namespace(self.namespace.as_deref()),
                None,
            )
            .await
            .map_err(|e| {
                let status = e.status();
                let err: Error = e.into();
                match (status, err) {
                    (Some(400 | 403), Error::Generic { message, .. })
                    | (Some(400 | 403), Error::PermissionDenied { message }) => {
                        Error::Unauthenticated {
                            message: format!("{method} login failed: {message}"),
                        }
                    }
                    (_, other) => other,
                }
            })?;
        parse_auth(resp.as_ref(), &path).map(Some)
    }
}

fn text(v: &SecretValue) -> &str {
    v.expose_str().unwrap_or_default()
}

fn read_token_file(path: &std::path::Path, field: &str) -> Result<SecretValue> {
    let raw = std::fs::read(path).map_err(|e| {
        Error::invalid_config(
            field,
            format!(
                "no serviceAccountRef or secretRef, and the pod's token file {} cannot be read: {e}",
                path.display()
            ),
        )
    })?;
    let v = SecretValue::new(raw);
    let s = v.expose_str().unwrap_or_default().trim();
    Ok(SecretValue::from(s))
}

/// Reads the `auth` block of a login or renew answer.
pub(crate) fn parse_auth(resp: Option<&Value>, path: &str) -> Result<Login> {
    let auth = resp
        .and_then(|r| r.get("auth"))
        .filter(|a| a.is_object())
        .ok_or_else(|| Error::generic(format!("vault {path}: the answer has no auth block")))?;
    let token = auth
        .get("client_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::generic(format!("vault {path}: the answer has no client token")))?;
    let lease = auth
        .get("lease_duration")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(Login {
        token: SecretValue::from(token),
        ttl: (lease > 0).then(|| Duration::from_secs(lease)),
        renewable: auth
            .get("renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        owned: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_block_is_parsed_and_redacted() {
        let v =
            json!({"auth": {"client_token": "s.abc", "lease_duration": 3600, "renewable": true}});
        let l = parse_auth(Some(&v), "auth/x/login").unwrap();
        assert_eq!(l.token.expose(), b"s.abc");
        assert_eq!(l.ttl, Some(Duration::from_secs(3600)));
        assert!(l.renewable && l.owned);
        assert!(!format!("{l:?}").contains("s.abc"));
        let root = json!({"auth": {"client_token": "root", "lease_duration": 0}});
        assert_eq!(parse_auth(Some(&root), "p").unwrap().ttl, None);
        assert!(parse_auth(Some(&json!({"data": {}})), "p").is_err());
        assert!(parse_auth(None, "p").is_err());
    }
}
