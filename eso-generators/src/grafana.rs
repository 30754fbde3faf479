//! The `Grafana` generator: a service account token, deleted on cleanup.

use async_trait::async_trait;
use eso_core::api::{GeneratorSecretKeySelector, GrafanaSpec};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreRetry, error_for_status, transport_error};
use eso_core::{Error, Result, SecretMap, SecretValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::TokenClient;

/// The generator kind.
const KIND: &str = "Grafana";

/// Creates a Grafana service account token (kind `Grafana`) and deletes it when it is no
/// longer used.
///
/// The service account `serviceAccount.name` is looked up (`GET {url}/api/serviceaccounts/
/// search?query=NAME`, exact name match) and created with `serviceAccount.role` when missing;
/// then a token with a fresh UUID as its name (and `secondsToLive` when set) is added to it.
/// Auth: `auth.token` (a service account token, as a bearer token) or `auth.basic` (user name
/// and password), Secrets in the consumer's namespace.
///
/// Output: `login` (the service account's login) and `token`, as ESO's. The state is ESO's
/// (`serviceAccount.id`, `login`, `tokenID`): cleanup deletes that token; a token already
/// gone counts as deleted. The service account itself stays, as with ESO.
///
/// Errors start with `Grafana`, carry Grafana's message and never contain a token or
/// password.
///
/// # Example
///
/// ```
/// use eso_core::generator::GeneratorRegistry;
///
/// let mut registry = GeneratorRegistry::new();
/// eso_generators::register_generators(&mut registry);
/// assert!(registry.get("Grafana").is_ok());
/// ```
#[derive(Debug, Default)]
pub struct Grafana {
    http: TokenClient,
}

/// ESO's state of the Grafana generator.
#[derive(Debug, Serialize, Deserialize)]
struct GrafanaState {
    #[serde(rename = "serviceAccount")]
    service_account: StateAccount,
}

#[derive(Debug, Serialize, Deserialize)]
struct StateAccount {
    id: Option<i64>,
    login: Option<String>,
    #[serde(rename = "tokenID")]
    token_id: Option<i64>,
}

/// How requests authenticate.
enum Auth {
    Bearer(SecretValue),
    Basic(String, SecretValue),
}

impl Grafana {
    /// The generator, trusting the platform's roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also trusts the certificates of the PEM bundle `pem` (a private CA of a self-hosted
    /// Grafana). An error if `pem` holds no certificate.
    pub fn with_root_certificates(mut self, pem: &[u8]) -> Result<Self> {
        self.http.add_roots(pem, KIND)?;
        Ok(self)
    }

    /// Sends `method path` with `body` and returns the JSON answer of a 2xx, or the error;
    /// `not_found_ok` turns a 404 into `Ok(None)`.
    async fn call(
        &self,
        auth: &Auth,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        not_found_ok: bool,
    ) -> Result<Option<Value>> {
        let what = format!("{KIND}: {method} {url}");
        let mut request = self.http.get(KIND)?.request(method, url);
        request = match auth {
            Auth::Bearer(t) => request.bearer_auth(t.expose_str().unwrap_or_default()),
            Auth::Basic(u, p) => request.basic_auth(u, p.expose_str()),
        };
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(Some(answer));
        }
        if status == 404 && not_found_ok {
            return Ok(None);
        }
        let message = answer["message"].as_str().unwrap_or("no message");
        Err(error_for_status(
            status,
            url,
            format!("{what}: HTTP {status}: {message}"),
        ))
    }

    /// The service account's `(id, login)`, created when missing.
    async fn account(&self, auth: &Auth, base: &str, spec: &GrafanaSpec) -> Result<(i64, String)> {
        let sa = &spec.service_account;
        let mut search = reqwest::Url::parse(&format!("{base}/api/serviceaccounts/search"))
            .map_err(|e| Error::invalid_config("spec.url", format!("not a valid URL: {e}")))?;
        search.query_pairs_mut().append_pair("query", &sa.name);
        let found = self
            .call(auth, reqwest::Method::GET, search.as_str(), None, false)
            .await?
            .unwrap_or_default();
        let existing = found["serviceAccounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"].as_str() == Some(sa.name.as_str()));
        let account = match existing {
            Some(a) => a.clone(),
            None => self
                .call(
                    auth,
                    reqwest::Method::POST,
                    &format!("{base}/api/serviceaccounts"),
                    Some(&json!({"name": sa.name, "role": sa.role})),
                    false,
                )
                .await?
                .unwrap_or_default(),
        };
        match (account["id"].as_i64(), account["login"].as_str()) {
            (Some(id), Some(login)) => Ok((id, login.to_owned())),
            _ => Err(Error::generic(format!(
                "{KIND}: the service account answer has no id or login"
            ))),
        }
    }
}

/// Reads a key of a Secret in the consumer's namespace; `field` names the reference.
async fn secret_value(
    ctx: &GeneratorContext<'_>,
    sel: &GeneratorSecretKeySelector,
    field: &str,
) -> Result<SecretValue> {
    if sel.name.is_empty() || sel.key.is_empty() {
        return Err(Error::invalid_config(field, "name and key are required"));
    }
    let secret = ctx
        .cluster
        .get_secret(ctx.namespace, &sel.name)
        .await?
        .ok_or_else(|| {
            Error::invalid_config(
                field,
                format!("Secret {}/{} not found", ctx.namespace, sel.name),
            )
        })?;
    let v = secret.data.get(&sel.key).ok_or_else(|| {
        Error::invalid_config(
            field,
            format!(
                "key {:?} not found in Secret {}/{}",
                sel.key, ctx.namespace, sel.name
            ),
        )
    })?;
    let text = v
        .expose_str()
        .ok_or_else(|| Error::invalid_config(field, "the value is not UTF-8"))?;
    Ok(SecretValue::from(text.trim()))
}

async fn auth(ctx: &GeneratorContext<'_>, spec: &GrafanaSpec) -> Result<Auth> {
    if let Some(t) = &spec.auth.token {
        return Ok(Auth::Bearer(secret_value(ctx, t, "spec.auth.token").await?));
    }
    if let Some(b) = &spec.auth.basic {
        let p = secret_value(ctx, &b.password, "spec.auth.basic.password").await?;
        return Ok(Auth::Basic(b.username.clone(), p));
    }
    Err(Error::invalid_config(
        "spec.auth",
        "one of token or basic is required",
    ))
}

/// `spec.url` without a trailing `/`, checked.
fn base_url(spec: &GrafanaSpec) -> Result<&str> {
    let base = spec.url.trim().trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(Error::invalid_config("spec.url", "must be an http(s) URL"));
    }
    Ok(base)
}

#[async_trait]
impl Generator for Grafana {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(KIND, |s| s.grafana_spec.as_ref())?;
        let base = base_url(spec)?;
        if spec.service_account.name.is_empty() {
            return Err(Error::invalid_config(
                "spec.serviceAccount.name",
                "is required",
            ));
        }
        let auth = auth(ctx, spec).await?;
        let (id, login) = StoreRetry::default()
            .run(|| self.account(&auth, base, spec))
            .await?;
        let mut body = json!({"name": uuid::Uuid::new_v4().to_string()});
        if let Some(s) = spec.service_account.seconds_to_live {
            body["secondsToLive"] = json!(s);
        }
        // Not retried: a retry after a lost answer would leave a token behind.
        let created = self
            .call(
                &auth,
                reqwest::Method::POST,
                &format!("{base}/api/serviceaccounts/{id}/tokens"),
                Some(&body),
                false,
            )
            .await?
            .unwrap_or_default();
        let (Some(token_id), Some(key)) = (created["id"].as_i64(), created["key"].as_str()) else {
            return Err(Error::generic(format!(
                "{KIND}: the token answer has no id or key"
            )));
        };
        let mut data = SecretMap::new();
        data.insert("login".into(), SecretValue::from(login.as_str()));
        data.insert("token".into(), SecretValue::from(key));
        let state = GrafanaState {
            service_account: StateAccount {
                id: Some(id),
                login: Some(login),
                token_id: Some(token_id),
            },
        };
        let state = serde_json::to_value(&state)
            .map_err(|e| Error::generic(format!("{KIND}: cannot record the state: {e}")))?;
        Ok(GeneratorOutput::new(data).with_state(state))
    }

    async fn cleanup(&self, ctx: &GeneratorContext<'_>, state: &Value) -> Result<()> {
        let state: GrafanaState = serde_json::from_value(state.clone())
            .map_err(|e| Error::generic(format!("{KIND}: the generator state is not ours: {e}")))?;
        let (Some(id), Some(token_id)) = (state.service_account.id, state.service_account.token_id)
        else {
            return Ok(());
        };
        let spec = ctx.spec_of(KIND, |s| s.grafana_spec.as_ref())?;
        let base = base_url(spec)?;
        let auth = auth(ctx, spec).await?;
        let url = format!("{base}/api/serviceaccounts/{id}/tokens/{token_id}");
        StoreRetry::default()
            .run(|| self.call(&auth, reqwest::Method::DELETE, &url, None, true))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_state_is_esos() {
        let s = GrafanaState {
            service_account: StateAccount {
                id: Some(3),
                login: Some("sa-1-ci".into()),
                token_id: Some(9),
            },
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"serviceAccount": {"id": 3, "login": "sa-1-ci", "tokenID": 9}})
        );
    }

    #[test]
    fn the_url_must_be_http() {
        let spec: GrafanaSpec = serde_json::from_value(json!({"url": "grafana.local",
            "auth": {}, "serviceAccount": {"name": "ci", "role": "Viewer"}}))
        .unwrap();
        let e = base_url(&spec).unwrap_err();
        assert!(e.to_string().contains("spec.url"), "{e}");
    }
}
