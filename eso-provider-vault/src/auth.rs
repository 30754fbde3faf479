//! Logging in: one function per auth method, in ESO's order of precedence.
//!
//! Credentials are read from the cluster at each login (not when the provider is built), so a
//! rotated AppRole secret ID or password is picked up by the next login.

use std::path::PathBuf;
use std::time::Duration;

use eso_core::api::{VaultAuth, VaultCertAuth};
use eso_core::{Error, Result, SecretValue};
use serde_json::{Value, json};

use crate::client::{Call, Http};
use crate::tls;
use eso_core::provider::Credentials;

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
        let f = &self.field;
        let refs = &self.creds;
        if let Some(sel) = &auth.token_secret_ref {
            let token = refs
                .secret_text(sel, Some("token"), &format!("{f}.tokenSecretRef"))
                .await?;
            return Ok(Some(Login {
                token,
                ttl: None,
                renewable: false,
                owned: false,
            }));
        }
        if let Some(a) = &auth.app_role {
            let p = format!("{f}.appRole");
            let role_id = match a
                .role_id
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
            {
                Some(r) => SecretValue::from(r),
                None => match &a.role_ref {
                    Some(sel) => refs.secret_text(sel, None, &format!("{p}.roleRef")).await?,
                    None => {
                        return Err(Error::invalid_config(
                            p,
                            "one of roleId or roleRef is required",
                        ));
                    }
                },
            };
            let secret_id = refs
                .secret_text(&a.secret_ref, None, &format!("{p}.secretRef"))
                .await?;
            let body = json!({"role_id": text(&role_id), "secret_id": text(&secret_id)});
            return self.post_login(http, &a.path, "", &body, "appRole").await;
        }
        if let Some(k) = &auth.kubernetes {
            let p = format!("{f}.kubernetes");
            let jwt = if let Some(sa) = &k.service_account_ref {
                refs.service_account_token(sa, &[], 600, &format!("{p}.serviceAccountRef"))
                    .await?
            } else if let Some(sel) = &k.secret_ref {
                refs.secret_text(sel, Some("token"), &format!("{p}.secretRef"))
                    .await?
            } else {
                read_token_file(&self.pod_token_path, &p)?
            };
            let body = json!({"role": k.role, "jwt": text(&jwt)});
            return self
                .post_login(http, &k.mount_path, "", &body, "kubernetes")
                .await;
        }
        if let Some(l) = &auth.ldap {
            let p = format!("{f}.ldap");
            let sel = l
                .secret_ref
                .as_ref()
                .ok_or_else(|| Error::invalid_config(format!("{p}.secretRef"), "is required"))?;
            let password = refs.secret(sel, None, &format!("{p}.secretRef")).await?;
            let body = json!({"password": text(&password)});
            return self
                .post_login(http, &l.path, &l.username, &body, "ldap")
                .await;
        }
        if let Some(u) = &auth.user_pass {
            let p = format!("{f}.userPass");
            let sel = u
                .secret_ref
                .as_ref()
                .ok_or_else(|| Error::invalid_config(format!("{p}.secretRef"), "is required"))?;
            let password = refs.secret(sel, None, &format!("{p}.secretRef")).await?;
            let body = json!({"password": text(&password)});
            return self
                .post_login(http, &u.path, &u.username, &body, "userPass")
                .await;
        }
        if let Some(j) = &auth.jwt {
            let p = format!("{f}.jwt");
            let jwt = if let Some(sel) = &j.secret_ref {
                refs.secret_text(sel, None, &format!("{p}.secretRef"))
                    .await?
            } else if let Some(t) = &j.kubernetes_service_account_token {
                let audiences = t
                    .audiences
                    .clone()
                    .unwrap_or_else(|| vec!["vault".to_owned()]);
                refs.service_account_token(
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
            return self.post_login(http, &j.path, "", &body, "jwt").await;
        }
        if let Some(c) = &auth.cert {
            return self.cert_login(http, c).await;
        }
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
