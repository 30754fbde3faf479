//! The Secret Manager v1 API calls of a [`GcpSecretManager`], through the official SDK
//! client (HTTP+JSON): connecting, resource names, reading a secret's metadata and versions,
//! listing. The `Provider` methods on top are in `provider/`, pushes in `push.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use eso_core::api::GcpSecretVersionSelectionPolicy;
use eso_core::provider::{FindRef, RemoteRef};
use eso_core::{Error, Result, SecretValue};
use google_cloud_auth::credentials::Credentials as GoogleCredentials;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{Secret, SecretVersion, secret_version::State};

use crate::error::GcpError;
use crate::provider::{GcpSecretManager, Settings};

/// Page size of list calls.
const PAGE_SIZE: i32 = 250;

/// Sends every Secret Manager call of the provider and the generator to this REST root
/// instead of Google's (`http://127.0.0.1:PORT` for the emulator, or a private endpoint).
pub const ENDPOINT_ENV: &str = "GCP_SECRET_MANAGER_REST_ENDPOINT";

/// The Secret Manager REST root for `location`: the override of [`ENDPOINT_ENV`], else
/// Google's global endpoint, or the regional one for regional secrets.
pub(crate) fn endpoint(location: Option<&str>) -> String {
    if let Some(ep) = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty()) {
        return ep.trim_end_matches('/').to_owned();
    }
    match location {
        Some(l) => format!("https://secretmanager.{l}.rep.googleapis.com"),
        None => "https://secretmanager.googleapis.com".to_owned(),
    }
}

impl GcpSecretManager {
    /// Builds the SDK client: endpoint from [`crate::ENDPOINT_ENV`] or Google's, the SDK's own
    /// retries off (the registry's retry layer retries every provider the same way).
    pub(crate) async fn connect(s: Settings, creds: GoogleCredentials) -> Result<Self> {
        let api = SecretManagerService::builder()
            .with_endpoint(endpoint(s.location.as_deref()))
            .with_credentials(creds.clone())
            .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry)
            .build()
            .await
            .map_err(|e| Error::generic(format!("gcpsm: cannot build the client: {e}")))?;
        Ok(Self {
            api,
            creds: Some(creds),
            s: Arc::new(s),
        })
    }

    /// `projects/P` or `projects/P/locations/L`.
    pub(crate) fn parent(&self) -> String {
        match &self.s.location {
            Some(l) => format!("projects/{}/locations/{l}", self.s.project),
            None => format!("projects/{}", self.s.project),
        }
    }

    /// The resource name of secret `key`.
    pub(crate) fn secret_name(&self, key: &str) -> String {
        format!("{}/secrets/{key}", self.parent())
    }

    /// The short name in a resource name (the project may be given by number).
    pub(crate) fn key_of(name: &str) -> &str {
        name.rsplit_once("/secrets/").map_or(name, |(_, k)| k)
    }

    /// The secret's metadata, `None` when it does not exist.
    pub(crate) async fn get_meta(&self, key: &str) -> Result<Option<Secret>, GcpError> {
        let name = self.secret_name(key);
        match self.api.get_secret().set_name(&name).send().await {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                let e = GcpError::sdk("GetSecret", &name, e);
                if e.is_not_found() { Ok(None) } else { Err(e) }
            }
        }
    }

    /// The payload of `version` (`latest`, a number or an alias) of `key`.
    pub(crate) async fn access(&self, key: &str, version: &str) -> Result<Vec<u8>, GcpError> {
        let name = format!("{}/versions/{version}", self.secret_name(key));
        let r = self
            .api
            .access_secret_version()
            .set_name(&name)
            .send()
            .await
            .map_err(|e| GcpError::sdk("AccessSecretVersion", &name, e))?;
        Ok(r.payload.map(|p| p.data.to_vec()).unwrap_or_default())
    }

    /// The newest enabled version of `key` by create time (the API filter is sent, and the
    /// state checked here too).
    pub(crate) async fn newest_enabled(
        &self,
        key: &str,
    ) -> Result<Option<SecretVersion>, GcpError> {
        let parent = self.secret_name(key);
        let mut best: Option<SecretVersion> = None;
        let mut token = String::new();
        loop {
            let page = self
                .api
                .list_secret_versions()
                .set_parent(&parent)
                .set_filter("state:ENABLED")
                .set_page_size(PAGE_SIZE)
                .set_page_token(&token)
                .send()
                .await
                .map_err(|e| GcpError::sdk("ListSecretVersions", &parent, e))?;
            for v in page.versions {
                if v.state != State::Enabled {
                    continue;
                }
                let t = |v: &SecretVersion| v.create_time.map(|t| (t.seconds(), t.nanos()));
                if best.as_ref().is_none_or(|b| t(&v) > t(b)) {
                    best = Some(v);
                }
            }
            if page.next_page_token.is_empty() || page.next_page_token == token {
                return Ok(best);
            }
            token = page.next_page_token;
        }
    }

    /// The value `key` holds at `version`, or at `latest` with the store's selection policy
    /// (`fetch_fallback` forces `LatestOrFetch`).
    pub(crate) async fn read_value(
        &self,
        key: &str,
        version: Option<&str>,
        fetch_fallback: bool,
    ) -> Result<Vec<u8>, GcpError> {
        let Some(version) = version else {
            return match self.access(key, "latest").await {
                Err(e)
                    if e.is_disabled_or_destroyed()
                        && (fetch_fallback
                            || self.s.policy == GcpSecretVersionSelectionPolicy::LatestOrFetch) =>
                {
                    match self.newest_enabled(key).await? {
                        Some(v) => {
                            let n = v.name.rsplit('/').next().unwrap_or_default().to_owned();
                            self.access(key, &n).await
                        }
                        None => Err(e),
                    }
                }
                other => other,
            };
        };
        self.access(key, version).await
    }

    /// Labels and annotations as ESO shows them for `metadataPolicy: Fetch`.
    pub(crate) async fn metadata(&self, r: &RemoteRef) -> Result<SecretValue> {
        let s = self
            .get_meta(&r.key)
            .await?
            .ok_or_else(|| Error::not_found(&r.key))?;
        let labels: BTreeMap<_, _> = s.labels.into_iter().collect();
        let annotations: BTreeMap<_, _> = s.annotations.into_iter().collect();
        let json = |m: &BTreeMap<String, String>| {
            SecretValue::new(serde_json::to_vec(m).unwrap_or_default())
        };
        let missing = |what: &str, k: &str| Error::not_found(format!("{}#{what}.{k}", r.key));
        match r.property() {
            None => Ok(SecretValue::new(
                serde_json::to_vec(
                    &serde_json::json!({"annotations": annotations, "labels": labels}),
                )
                .unwrap_or_default(),
            )),
            Some("labels") => Ok(json(&labels)),
            Some("annotations") => Ok(json(&annotations)),
            Some(p) => {
                if let Some(k) = p.strip_prefix("labels.") {
                    return labels
                        .get(k)
                        .map(|v| SecretValue::from(v.as_str()))
                        .ok_or_else(|| missing("labels", k));
                }
                if let Some(k) = p.strip_prefix("annotations.") {
                    return annotations
                        .get(k)
                        .map(|v| SecretValue::from(v.as_str()))
                        .ok_or_else(|| missing("annotations", k));
                }
                // A bare key: a label first, then an annotation (ESO rejects bare keys).
                labels
                    .get(p)
                    .or_else(|| annotations.get(p))
                    .map(|v| SecretValue::from(v.as_str()))
                    .ok_or_else(|| Error::not_found(format!("{}#{p}", r.key)))
            }
        }
    }

    /// Every secret under the parent that the API filter lets through, paged.
    pub(crate) async fn list(&self, filter: &str) -> Result<Vec<Secret>, GcpError> {
        let parent = self.parent();
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .api
                .list_secrets()
                .set_parent(&parent)
                .set_filter(filter)
                .set_page_size(PAGE_SIZE)
                .set_page_token(&token)
                .send()
                .await
                .map_err(|e| GcpError::sdk("ListSecrets", &parent, e))?;
            out.extend(page.secrets);
            if page.next_page_token.is_empty() || page.next_page_token == token {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    /// The API filter for `find`: `labels.K=V` terms and `name:PATH`, ANDed.
    pub(crate) fn filter(find: &FindRef) -> String {
        let mut terms: Vec<String> = find
            .tags
            .iter()
            .map(|(k, v)| format!("labels.{k}={v}"))
            .collect();
        if let Some(p) = find.path.as_deref().filter(|p| !p.is_empty()) {
            terms.push(format!("name:{p}"));
        }
        terms.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        // The override is process-wide; only the defaults are checked here when it is unset.
        if std::env::var(ENDPOINT_ENV).is_err() {
            assert_eq!(endpoint(None), "https://secretmanager.googleapis.com");
            assert_eq!(
                endpoint(Some("europe-west1")),
                "https://secretmanager.europe-west1.rep.googleapis.com"
            );
        }
    }
}
