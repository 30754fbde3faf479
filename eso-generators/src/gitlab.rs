//! The `GitlabDeployToken` generator: a project or group deploy token, revoked on cleanup.

use async_trait::async_trait;
use eso_core::api::GitlabDeployTokenSpec;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreRetry, error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::TokenClient;

/// The generator kind.
const KIND: &str = "GitlabDeployToken";
/// The GitLab used when `spec.url` is unset.
pub const GITLAB_URL: &str = "https://gitlab.com";
/// The field of the API token reference, as errors name it.
const TOKEN_FIELD: &str = "spec.auth.token.secretRef";

/// Creates a GitLab deploy token (kind `GitlabDeployToken`) and revokes it when it is no
/// longer used.
///
/// `POST {url}/api/v4/projects/{projectID}/deploy_tokens` (or `groups/{groupID}`; a path such
/// as `group/project` is escaped) with `name`, `scopes` and, when set, `username` and
/// `expires_at`, authenticated by the access token of `auth.token.secretRef` (`api` scope,
/// Maintainer on the project or Owner on the group). `url` defaults to `https://gitlab.com`.
///
/// Output: `username` and `token`, as ESO's. The state is ESO's (`url`, `projectID`,
/// `groupID`, `tokenID`): cleanup revokes that token (`DELETE .../deploy_tokens/{tokenID}`,
/// where it was created even if the spec moved since); a token already gone counts as
/// revoked. The flows call cleanup for the token a rotation replaced, once the grace period
/// is over, and for every token of a consumer that is deleted.
///
/// The create call is not retried (a retry after a lost answer would leave a second token
/// behind); revoking is retried twice on temporary failures. Errors start with
/// `GitlabDeployToken`, carry GitLab's message and never contain either token.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::GitlabDeployToken;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new().with_secret(
///     KubeSecret::new("default", "gitlab-api").with_data("token", "glpat-..."),
/// ));
/// let spec = eso_core::api::GeneratorSpec::parse("GitlabDeployToken", serde_json::json!({
///     "projectID": "platform/app",
///     "name": "image-pull",
///     "scopes": ["read_registry"],
///     "auth": {"token": {"secretRef": {"name": "gitlab-api", "key": "token"}}},
/// }))?;
/// let ctx = GeneratorContext::new(&spec, "default", &cluster);
/// let out = GitlabDeployToken::new().generate(&ctx).await?;
/// assert!(out.data.contains_key("username") && out.data.contains_key("token"));
/// GitlabDeployToken::new().cleanup(&ctx, out.state.as_ref().unwrap()).await?;
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct GitlabDeployToken {
    http: TokenClient,
}

/// What cleanup needs to find the token again (ESO's state, field for field).
#[derive(Debug, Serialize, Deserialize)]
struct DeployTokenState {
    #[serde(default)]
    url: String,
    #[serde(
        default,
        rename = "projectID",
        skip_serializing_if = "String::is_empty"
    )]
    project_id: String,
    #[serde(default, rename = "groupID", skip_serializing_if = "String::is_empty")]
    group_id: String,
    #[serde(default, rename = "tokenID")]
    token_id: u64,
}

#[derive(Serialize)]
struct CreateRequest<'a> {
    name: &'a str,
    scopes: &'a [eso_core::api::GitlabDeployTokenScope],
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

impl GitlabDeployToken {
    /// The generator, trusting the platform's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem` (a private CA of a self-managed
    /// GitLab). An error if `pem` holds no certificate.
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        self.http.add_roots(pem, KIND)?;
        Ok(self)
    }

    async fn api_token(
        ctx: &GeneratorContext<'_>,
        spec: &GitlabDeployTokenSpec,
    ) -> Result<SecretValue> {
        ctx.credentials()
            .secret_text(&spec.auth.token.secret_ref, None, TOKEN_FIELD)
            .await
    }

    async fn revoke(&self, url: &str, token: &SecretValue) -> Result<()> {
        let what = format!("{KIND}: DELETE {url}");
        let response = self
            .http
            .get(KIND)?
            .delete(url)
            .header("PRIVATE-TOKEN", private_token(token)?)
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) || status == 404 {
            return Ok(());
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        Err(error_for_status(
            status,
            url,
            format!("{what}: HTTP {status}: {}", message(&body)),
        ))
    }
}

#[async_trait]
impl Generator for GitlabDeployToken {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(KIND, |s| s.gitlab_deploy_token_spec.as_ref())?;
        let mut errors = eso_core::api::ValidationErrors::new();
        spec.validate_at("spec", &mut errors);
        errors
            .into_result()
            .map_err(|e| Error::invalid_config("spec", format!("{KIND}: {e}")))?;
        let url = collection_url(spec.url.as_deref(), &spec.project_id, &spec.group_id)?;
        let token = Self::api_token(ctx, spec).await?;
        let expires_at = spec
            .expires_at
            .as_deref()
            .map(|t| {
                t.parse::<jiff::Timestamp>()
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .map_err(|_| {
                        Error::invalid_config("spec.expiresAt", "must be an RFC 3339 date-time")
                    })
            })
            .transpose()?;
        let body = CreateRequest {
            name: &spec.name,
            scopes: &spec.scopes,
            username: spec.username.as_deref().filter(|u| !u.is_empty()),
            expires_at,
        };
        let what = format!("{KIND}: POST {url}");
        let response = self
            .http
            .get(KIND)?
            .post(&url)
            .header("PRIVATE-TOKEN", private_token(&token)?)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let message = format!("{what}: HTTP {status}: {}", message(&answer));
            return Err(match status {
                400 => Error::invalid_config("spec", message),
                404 => Error::invalid_config(
                    if spec.project_id.is_some() {
                        "spec.projectID"
                    } else {
                        "spec.groupID"
                    },
                    message,
                ),
                _ => error_for_status(status, &url, message),
            });
        }
        let (Some(id), Some(value)) = (
            answer["id"].as_u64(),
            answer["token"].as_str().filter(|t| !t.is_empty()),
        ) else {
            return Err(Error::generic(format!(
                "{what}: the answer has no token or id"
            )));
        };
        let mut data = SecretMap::new();
        data.insert(
            "username".into(),
            SecretValue::from(answer["username"].as_str().unwrap_or_default()),
        );
        data.insert("token".into(), SecretValue::from(value));
        let state = DeployTokenState {
            url: spec.url.clone().unwrap_or_default(),
            project_id: spec.project_id.clone().unwrap_or_default(),
            group_id: spec.group_id.clone().unwrap_or_default(),
            token_id: id,
        };
        let state = serde_json::to_value(&state)
            .map_err(|e| Error::generic(format!("{KIND}: cannot record the state: {e}")))?;
        Ok(GeneratorOutput::new(data).with_state(state))
    }

    async fn cleanup(&self, ctx: &GeneratorContext<'_>, state: &Value) -> Result<()> {
        let state: DeployTokenState = serde_json::from_value(state.clone())
            .map_err(|e| Error::generic(format!("{KIND}: the generator state is not ours: {e}")))?;
        if state.token_id == 0 {
            return Ok(());
        }
        let spec = ctx.spec_of(KIND, |s| s.gitlab_deploy_token_spec.as_ref())?;
        let token = Self::api_token(ctx, spec).await?;
        let some = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        let base = collection_url(
            Some(state.url.as_str()),
            &some(&state.project_id),
            &some(&state.group_id),
        )?;
        let url = format!("{base}/{}", state.token_id);
        StoreRetry::default()
            .run(|| self.revoke(&url, &token))
            .await
    }
}

/// The token as a header value marked sensitive (kept out of debug output).
fn private_token(token: &SecretValue) -> Result<reqwest::header::HeaderValue> {
    let mut v = reqwest::header::HeaderValue::from_bytes(token.expose())
        .map_err(|_| Error::invalid_config(TOKEN_FIELD, "the token is not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// GitLab's error text: `message` (a string, or an object of field errors) or `error`.
fn message(body: &Value) -> String {
    match (&body["message"], &body["error"]) {
        (Value::String(m), _) => m.clone(),
        (m @ (Value::Object(_) | Value::Array(_)), _) => m.to_string(),
        (_, Value::String(e)) => e.clone(),
        _ => "no message".to_owned(),
    }
}

/// Escapes a project or group path for one URL path segment (`group/app` ->
/// `group%2Fapp`), as GitLab's API wants it.
fn escape_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{url}/api/v4/{projects|groups}/{id}/deploy_tokens`.
fn collection_url(
    url: Option<&str>,
    project: &Option<String>,
    group: &Option<String>,
) -> Result<String> {
    let base = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(GITLAB_URL)
        .trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(Error::invalid_config("spec.url", "must be an http(s) URL"));
    }
    let nonempty = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(escape_segment);
    match (nonempty(project), nonempty(group)) {
        (Some(p), None) => Ok(format!("{base}/api/v4/projects/{p}/deploy_tokens")),
        (None, Some(g)) => Ok(format!("{base}/api/v4/groups/{g}/deploy_tokens")),
        _ => Err(Error::invalid_config(
            "spec",
            "exactly one of projectID or groupID must be set",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn urls_escape_paths_and_pick_the_collection() {
        let p = |s: &str| Some(s.to_owned());
        assert_eq!(
            collection_url(None, &p("platform/app"), &None).unwrap(),
            "https://gitlab.com/api/v4/projects/platform%2Fapp/deploy_tokens"
        );
        assert_eq!(
            collection_url(Some("https://git.example.com/"), &None, &p("42")).unwrap(),
            "https://git.example.com/api/v4/groups/42/deploy_tokens"
        );
        for (project, group) in [(p("1"), p("2")), (None, None), (p(""), None)] {
            let e = collection_url(None, &project, &group).unwrap_err();
            assert!(
                e.to_string()
                    .contains("exactly one of projectID or groupID"),
                "{e}"
            );
        }
        let e = collection_url(Some("git.example.com"), &p("1"), &None).unwrap_err();
        assert!(e.to_string().contains("spec.url"), "{e}");
    }

    #[test]
    fn messages_come_from_either_field() {
        assert_eq!(
            message(&json!({"message": "401 Unauthorized"})),
            "401 Unauthorized"
        );
        assert_eq!(
            message(&json!({"message": {"name": ["is too long"]}})),
            r#"{"name":["is too long"]}"#
        );
        assert_eq!(
            message(&json!({"error": "insufficient_scope"})),
            "insufficient_scope"
        );
        assert_eq!(message(&Value::Null), "no message");
    }

    #[test]
    fn the_state_is_esos() {
        let s = DeployTokenState {
            url: String::new(),
            project_id: "platform/app".into(),
            group_id: String::new(),
            token_id: 7,
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"url": "", "projectID": "platform/app", "tokenID": 7})
        );
        let back: DeployTokenState =
            serde_json::from_value(json!({"url": "https://g", "groupID": "9", "tokenID": 3}))
                .unwrap();
        assert_eq!((back.group_id.as_str(), back.token_id), ("9", 3));
    }
}
