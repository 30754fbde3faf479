//! Infisical's REST API: raw secrets v3, project lookup by slug, and the authenticated call
//! that logs in again once after a refused token.

use eso_core::Result;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::auth::Session;
use crate::error::Error;
use crate::http::{Http, decode};

/// One secret as the raw-secrets endpoints return it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawSecret {
    pub(crate) secret_key: String,
    #[serde(default)]
    pub(crate) secret_value: String,
    #[serde(default)]
    pub(crate) secret_path: Option<String>,
}

#[derive(Deserialize)]
struct ListAnswer {
    secrets: Vec<RawSecret>,
    #[serde(default)]
    imports: Vec<ImportAnswer>,
}

#[derive(Deserialize)]
struct ImportAnswer {
    #[serde(default)]
    secrets: Vec<RawSecret>,
}

#[derive(Deserialize)]
struct OneAnswer {
    secret: RawSecret,
}

#[derive(Deserialize)]
struct ProjectAnswer {
    #[serde(default)]
    id: String,
}

/// The project and environment a store works in.
pub(crate) struct Scope {
    pub(crate) project_slug: String,
    pub(crate) environment: String,
    pub(crate) secrets_path: String,
    pub(crate) recursive: bool,
    pub(crate) expand: bool,
}

/// An authenticated API client for one store.
pub(crate) struct Api {
    pub(crate) http: Http,
    pub(crate) session: Session,
    pub(crate) scope: Scope,
    project_id: OnceCell<String>,
}

/// Splits a remote key into folder and name as ESO does: `name` is in the store's folder,
/// `a/b/name` in the folder `a/b` below it, `/a/name` in `/a`.
pub(crate) fn address(default_path: &str, key: &str) -> (String, String) {
    let Some((folder, name)) = key.rsplit_once('/') else {
        return (default_path.to_owned(), key.to_owned());
    };
    let folder = if key.starts_with('/') {
        if folder.is_empty() {
            "/".to_owned()
        } else {
            folder.to_owned()
        }
    } else {
        format!("{}/{folder}", default_path.trim_end_matches('/'))
    };
    (folder, name.to_owned())
}

impl Api {
    /// The value of `key` (folder rules as ESO: see the crate docs), `None` when missing.
    pub(crate) async fn value(&self, key: &str) -> Result<Option<String>> {
        let (folder, name) = address(&self.scope.secrets_path, key);
        Ok(self.get(&folder, &name).await?.map(|s| s.secret_value))
    }

    pub(crate) fn new(http: Http, session: Session, scope: Scope) -> Self {
        Self {
            http,
            session,
            scope,
            project_id: OnceCell::new(),
        }
    }

    /// One authenticated call; a refused (401) token is replaced once by a new login.
    async fn call<T: DeserializeOwned>(
        &self,
        op: &str,
        key: &str,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<T> {
        let mut retried = false;
        loop {
            let token = self.session.token(&self.http).await?;
            let mut req = self
                .http
                .client
                .request(method.clone(), format!("{}/{path}", self.http.base))
                .bearer_auth(token.expose_str().unwrap_or_default())
                .query(query);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|source| Error::Transport {
                op: op.to_owned(),
                source,
            })?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED
                && !retried
                && self.session.can_login_again()
            {
                self.session.refused(&token).await;
                retried = true;
                continue;
            }
            return decode(op, key, resp).await;
        }
    }

    fn flags(&self) -> [(&'static str, String); 2] {
        [
            ("expandSecretReferences", self.scope.expand.to_string()),
            ("include_imports", "true".to_owned()),
        ]
    }

    /// Every secret of `folder` (and below it when `recursive`), imports included.
    pub(crate) async fn list(&self, folder: &str, recursive: bool) -> Result<Vec<RawSecret>> {
        let mut q = vec![
            ("workspaceSlug", self.scope.project_slug.clone()),
            ("environment", self.scope.environment.clone()),
            ("secretPath", folder.to_owned()),
            ("recursive", recursive.to_string()),
        ];
        q.extend(self.flags());
        let a: ListAnswer = self
            .call(
                "list secrets",
                folder,
                reqwest::Method::GET,
                "v3/secrets/raw",
                &q,
                None,
            )
            .await?;
        let mut out = a.secrets;
        for i in a.imports {
            for s in i.secrets {
                if !out.iter().any(|o| o.secret_key == s.secret_key) {
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    /// The secret `name` in `folder`; `None` when it does not exist.
    pub(crate) async fn get(&self, folder: &str, name: &str) -> Result<Option<RawSecret>> {
        let mut q = vec![
            ("workspaceSlug", self.scope.project_slug.clone()),
            ("environment", self.scope.environment.clone()),
            ("secretPath", folder.to_owned()),
            ("type", "shared".to_owned()),
        ];
        q.extend(self.flags());
        let key = key_of(folder, name);
        let path = format!("v3/secrets/raw/{}", encode(name));
        match self
            .call::<OneAnswer>("get secret", &key, reqwest::Method::GET, &path, &q, None)
            .await
        {
            Ok(a) => Ok(Some(a.secret)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates (`create`), updates or deletes (`value: None`) the secret `name` in `folder`.
    pub(crate) async fn write(
        &self,
        folder: &str,
        name: &str,
        value: Option<&str>,
        create: bool,
    ) -> Result<()> {
        let project = self.project_id().await?;
        let mut body = json!({"workspaceId": project, "environment": self.scope.environment,
            "secretPath": folder, "type": "shared"});
        let (op, method) = match (value, create) {
            (Some(v), true) => {
                body["secretValue"] = json!(v);
                body["skipMultilineEncoding"] = json!(true);
                ("create secret", reqwest::Method::POST)
            }
            (Some(v), false) => {
                body["secretValue"] = json!(v);
                body["skipMultilineEncoding"] = json!(true);
                ("update secret", reqwest::Method::PATCH)
            }
            (None, _) => ("delete secret", reqwest::Method::DELETE),
        };
        let path = format!("v3/secrets/raw/{}", encode(name));
        let _: Value = self
            .call(op, &key_of(folder, name), method, &path, &[], Some(&body))
            .await?;
        Ok(())
    }

    /// The project's ID (writes need it), looked up by slug once per store revision.
    async fn project_id(&self) -> Result<String> {
        self.project_id
            .get_or_try_init(|| async {
                let slug = encode(&self.scope.project_slug);
                let mut last = None;
                for path in [
                    format!("v1/projects/slug/{slug}"),
                    format!("v1/workspace/slug/{slug}"),
                ] {
                    match self
                        .call::<ProjectAnswer>(
                            "look up the project",
                            &self.scope.project_slug,
                            reqwest::Method::GET,
                            &path,
                            &[],
                            None,
                        )
                        .await
                    {
                        Ok(p) if !p.id.is_empty() => return Ok(p.id),
                        Ok(_) => {
                            return Err(eso_core::Error::generic(format!(
                                "infisical: the project lookup for {:?} returned no id",
                                self.scope.project_slug
                            )));
                        }
                        Err(e) if e.is_not_found() => last = Some(e),
                        Err(e) => return Err(e),
                    }
                }
                Err(last
                    .unwrap_or_else(|| eso_core::Error::not_found(self.scope.project_slug.clone())))
            })
            .await
            .cloned()
    }
}

/// `folder/name` for messages and `NotFound` keys.
fn key_of(folder: &str, name: &str) -> String {
    format!("{}/{name}", folder.trim_end_matches('/'))
}

/// Percent-encodes a path segment.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_eso() {
        assert_eq!(address("/", "KEY"), ("/".into(), "KEY".into()));
        assert_eq!(address("/app", "db/KEY"), ("/app/db".into(), "KEY".into()));
        assert_eq!(
            address("/app", "/other/KEY"),
            ("/other".into(), "KEY".into())
        );
        assert_eq!(address("/app", "/KEY"), ("/".into(), "KEY".into()));
    }
}
