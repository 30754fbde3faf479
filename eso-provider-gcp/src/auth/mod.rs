//! Credentials for Secret Manager and the registry: a service-account key, GKE Workload
//! Identity, Workload Identity Federation, or Application Default Credentials.
//!
//! Every path ends in a `google_cloud_auth` [`GoogleCredentials`]: the SDK caches and renews
//! the tokens, so a provider built once per store revision authenticates once per token
//! lifetime, not once per reconcile.

use std::sync::Arc;

use eso_core::api::{
    GcpAwsCredentialsConfig, GcpSmAuth, GcpWorkloadIdentity, GcpWorkloadIdentityFederation,
    ServiceAccountSelector,
};
use eso_core::provider::Credentials;
use eso_core::{Error, Result};
use google_cloud_auth::credentials::Credentials as GoogleCredentials;
use google_cloud_auth::credentials::external_account::{
    Builder as ExternalAccountBuilder, ProgrammaticBuilder,
};
use google_cloud_auth::credentials::subject_token::{
    Builder as SubjectTokenBuilder, SubjectToken, SubjectTokenProvider,
};
use google_cloud_auth::errors::SubjectTokenProviderError;
use serde_json::Value;

mod aws;
#[cfg(test)]
mod tests;
/// The OAuth2 scope every token is requested for.
pub(crate) const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Overrides Google's Security Token Service URL (`https://sts.googleapis.com/v1/token`) for
/// Workload Identity and Workload Identity Federation token exchanges.
pub const STS_TOKEN_URL_ENV: &str = "GCP_STS_TOKEN_URL";

const DEFAULT_STS_TOKEN_URL: &str = "https://sts.googleapis.com/v1/token";
/// The GCE/GKE metadata server (host[:port]); `GCE_METADATA_HOST` overrides it, as in
/// Google's own client libraries.
const METADATA_HOST_ENV: &str = "GCE_METADATA_HOST";
const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// How long requested ServiceAccount tokens live (the TokenRequest minimum is 10 minutes).
const SA_TOKEN_SECONDS: i64 = 600;

/// Which credentials a store or generator uses, resolved from the cluster.
pub(crate) enum Resolved {
    /// A service-account JSON key (self-signed JWTs for Secret Manager; a JWT-bearer grant
    /// at the key's `token_uri` for registry tokens).
    ServiceAccountKey(Value),
    /// Any other source, as SDK credentials.
    Other(GoogleCredentials),
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ServiceAccountKey(_) => "ServiceAccountKey(******)",
            Self::Other(_) => "Other(..)",
        })
    }
}

impl Resolved {
    /// The SDK credentials for Secret Manager calls.
    pub(crate) fn into_credentials(self, field: &str) -> Result<GoogleCredentials> {
        match self {
            Self::ServiceAccountKey(key) => {
                google_cloud_auth::credentials::service_account::Builder::new(key)
                    .build()
                    .map_err(|e| {
                        Error::invalid_config(
                            format!("{field}.secretRef.secretAccessKeySecretRef"),
                            format!("is not a usable service-account key: {e}"),
                        )
                    })
            }
            Self::Other(c) => Ok(c),
        }
    }
}

/// Resolves `auth` (at store field `field`, e.g. `spec.provider.gcpsm.auth`) the way ESO
/// does: `secretRef`, then `workloadIdentity`, then `workloadIdentityFederation`, else
/// Application Default Credentials.
pub(crate) async fn resolve(
    auth: Option<&GcpSmAuth>,
    field: &str,
    creds: &Credentials,
) -> Result<Resolved> {
    let services = Services {
        sts_url: sts_token_url(),
        metadata_host: metadata_host(),
    };
    resolve_with(auth, field, creds, &services).await
}

/// Where Google's token services are: the defaults, or what tests start on loopback.
#[derive(Clone, Debug)]
pub(crate) struct Services {
    /// The STS token exchange URL.
    pub(crate) sts_url: String,
    /// The metadata server, host[:port].
    pub(crate) metadata_host: String,
}

/// [`resolve`] with the token services given.
pub(crate) async fn resolve_with(
    auth: Option<&GcpSmAuth>,
    field: &str,
    creds: &Credentials,
    services: &Services,
) -> Result<Resolved> {
    let sts_url = services.sts_url.as_str();
    let auth = auth.cloned().unwrap_or_default();
    if let Some(sel) = auth
        .secret_ref
        .as_ref()
        .and_then(|s| s.secret_access_key.as_ref())
    {
        let f = format!("{field}.secretRef.secretAccessKeySecretRef");
        let raw = creds.secret(sel, None, &f).await?;
        return service_account_key(raw.expose(), &f).map(Resolved::ServiceAccountKey);
    }
    if let Some(wi) = &auth.workload_identity {
        let f = format!("{field}.workloadIdentity");
        return workload_identity(wi, &f, creds, sts_url, &services.metadata_host)
            .await
            .map(Resolved::Other);
    }
    if let Some(wif) = &auth.workload_identity_federation {
        let f = format!("{field}.workloadIdentityFederation");
        return federation(wif, &f, creds, sts_url)
            .await
            .map(Resolved::Other);
    }
    google_cloud_auth::credentials::Builder::default()
        .with_scopes([CLOUD_PLATFORM])
        .build()
        .map(Resolved::Other)
        .map_err(|e| Error::Unauthenticated {
            message: format!(
                "{field}: no auth set and no Application Default Credentials found: {e}"
            ),
        })
}

/// Parses a service-account JSON key; errors name `field` and never quote the value.
pub(crate) fn service_account_key(raw: &[u8], field: &str) -> Result<Value> {
    let key: Value = serde_json::from_slice(raw).map_err(|_| {
        Error::invalid_config(
            field,
            "is not a service-account JSON key (the value is not JSON)",
        )
    })?;
    if let Some(t) = key.get("type").and_then(Value::as_str)
        && t != "service_account"
    {
        return Err(Error::invalid_config(
            field,
            format!("is a {t:?} credential, not a service-account key"),
        ));
    }
    for required in ["client_email", "private_key", "project_id"] {
        if !key.get(required).is_some_and(Value::is_string) {
            return Err(Error::invalid_config(
                field,
                format!("is not a service-account JSON key (no {required:?})"),
            ));
        }
    }
    Ok(key)
}

fn sts_token_url() -> String {
    std::env::var(STS_TOKEN_URL_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_STS_TOKEN_URL.to_owned())
}

fn metadata_host() -> String {
    std::env::var(METADATA_HOST_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned())
}

/// One value of the metadata server (`project/project-id`,
/// `instance/attributes/cluster-name`, ...).
async fn metadata_value(host: &str, path: &str, field: &str) -> Result<String> {
    let url = format!("http://{host}/computeMetadata/v1/{path}");
    let unavailable = |why: String| Error::Unavailable {
        message: format!("{field}: not set, and the metadata server gave none ({url}: {why})"),
        source: None,
    };
    let resp = reqwest::Client::new()
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .timeout(std::time::Duration::from_secs(3))
        .send()
        .await
        .map_err(|e| unavailable(eso_core::provider::error_chain(&e)))?;
    if !resp.status().is_success() {
        return Err(unavailable(format!("HTTP {}", resp.status().as_u16())));
    }
    let text = resp
        .text()
        .await
        .map_err(|e| unavailable(eso_core::provider::error_chain(&e)))?;
    Ok(text.trim().to_owned())
}

/// GKE Workload Identity: a token of the Kubernetes ServiceAccount for the cluster's
/// identity pool, exchanged at Google's STS for a federated access token. Cluster project,
/// location and name not given in the spec come from the metadata server (as in ESO).
async fn workload_identity(
    wi: &GcpWorkloadIdentity,
    field: &str,
    creds: &Credentials,
    sts_url: &str,
    metadata_host: &str,
) -> Result<GoogleCredentials> {
    let value = async |v: Option<&String>, name: &str, path: &str| match v.filter(|s| !s.is_empty())
    {
        Some(v) => Ok(v.clone()),
        None => metadata_value(metadata_host, path, &format!("{field}.{name}")).await,
    };
    let cluster_project = value(
        wi.cluster_project_id.as_ref(),
        "clusterProjectID",
        "project/project-id",
    )
    .await?;
    let location = value(
        wi.cluster_location.as_ref(),
        "clusterLocation",
        "instance/attributes/cluster-location",
    )
    .await?;
    let name = value(
        wi.cluster_name.as_ref(),
        "clusterName",
        "instance/attributes/cluster-name",
    )
    .await?;
    let pool = format!("{cluster_project}.svc.id.goog");
    let provider = format!(
        "https://container.googleapis.com/v1/projects/{cluster_project}/locations/{location}/clusters/{name}"
    );
    let subject = ServiceAccountToken {
        creds: creds.clone(),
        sa: wi.service_account_ref.clone(),
        audiences: vec![pool.clone()],
        field: format!("{field}.serviceAccountRef"),
    };
    ProgrammaticBuilder::new(Arc::new(subject))
        .with_audience(format!("identitynamespace:{pool}:{provider}"))
        .with_subject_token_type(JWT_TOKEN_TYPE)
        .with_token_url(sts_url)
        .with_scopes([CLOUD_PLATFORM])
        .build()
        .map_err(|e| Error::invalid_config(field, e.to_string()))
}

/// Workload Identity Federation: a ServiceAccount token (or the credential configuration's
/// own source) exchanged at STS, optionally impersonating a Google service account.
///
/// Steps: read and check the credential configuration (`credConfig`), work out the STS
/// exchange (audience, impersonation target, token URL), then build the credentials from the
/// subject the spec names: AWS credentials, a ServiceAccount, or the configuration itself.
async fn federation(
    wif: &GcpWorkloadIdentityFederation,
    field: &str,
    creds: &Credentials,
    sts_url: &str,
) -> Result<GoogleCredentials> {
    let config = cred_config(wif, field, creds).await?;
    if let Some(c) = &config {
        check_credential_source(c, wif, field)?;
    }
    let exchange = Exchange::new(wif, config.as_ref(), sts_url);
    if let Some(aws) = &wif.aws_security_credentials {
        let signer = aws_signer(aws, creds, field, exchange.audience(field)?).await?;
        let audience = signer.audience.clone();
        let token_type = aws::AWS_TOKEN_TYPE.to_owned();
        return programmatic(signer, audience, token_type, exchange, field);
    }
    if let Some(sa) = &wif.service_account_ref {
        let audience = exchange.audience(field)?;
        let subject = ServiceAccountToken {
            creds: creds.clone(),
            sa: sa.clone(),
            audiences: vec![audience.clone()],
            field: format!("{field}.serviceAccountRef"),
        };
        let token_type =
            text(config.as_ref(), "subject_token_type").unwrap_or_else(|| JWT_TOKEN_TYPE.into());
        return programmatic(subject, audience, token_type, exchange, field);
    }
    match config {
        Some(config) => from_cred_config(config, wif, field),
        None => Err(Error::invalid_config(
            field,
            "needs credConfig, serviceAccountRef or awsSecurityCredentials",
        )),
    }
}

/// The external-account credential configuration `credConfig` names (a ConfigMap key), if
/// any.
async fn cred_config(
    wif: &GcpWorkloadIdentityFederation,
    field: &str,
    creds: &Credentials,
) -> Result<Option<Value>> {
    let Some(cm) = &wif.cred_config else {
        return Ok(None);
    };
    let f = format!("{field}.credConfig");
    let ns = creds.namespace_of(cm.namespace.as_deref()).to_owned();
    let raw = creds.config_map_value(&ns, &cm.name, &cm.key, &f).await?;
    serde_json::from_slice(&raw).map(Some).map_err(|_| {
        Error::invalid_config(
            &f,
            "is not an external-account credential configuration (not JSON)",
        )
    })
}

/// The credential source URL must be the one the store names (ESO's guard against a
/// ConfigMap pointing token requests elsewhere).
fn check_credential_source(
    config: &Value,
    wif: &GcpWorkloadIdentityFederation,
    field: &str,
) -> Result<()> {
    match config
        .pointer("/credential_source/url")
        .and_then(Value::as_str)
    {
        Some(url) if wif.external_token_endpoint.as_deref() != Some(url) => {
            Err(Error::invalid_config(
                format!("{field}.externalTokenEndpoint"),
                format!(
                    "must equal the credential configuration's credential_source.url ({url:?})"
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A string member of the credential configuration.
fn text(config: Option<&Value>, key: &str) -> Option<String> {
    config
        .and_then(|c| c.get(key))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The STS exchange of a federation: from the spec, else from the credential configuration.
#[derive(Debug)]
struct Exchange {
    audience: Option<String>,
    /// The Google service account to impersonate, if any.
    target: Option<String>,
    token_url: String,
}

impl Exchange {
    fn new(wif: &GcpWorkloadIdentityFederation, config: Option<&Value>, sts_url: &str) -> Self {
        Self {
            audience: wif
                .audience
                .clone()
                .filter(|a| !a.is_empty())
                .or_else(|| text(config, "audience")),
            target: wif.gcp_service_account_email.clone().or_else(|| {
                text(config, "service_account_impersonation_url")
                    .and_then(|u| impersonated_email(&u))
            }),
            token_url: text(config, "token_url").unwrap_or_else(|| sts_url.to_owned()),
        }
    }

    /// The audience, which a ServiceAccount or AWS subject needs.
    fn audience(&self, field: &str) -> Result<String> {
        self.audience.clone().ok_or_else(|| {
            Error::invalid_config(
                format!("{field}.audience"),
                "is required with serviceAccountRef or awsSecurityCredentials (or set it in credConfig)",
            )
        })
    }
}

/// The AWS subject: a signed `GetCallerIdentity` request with the keys of the
/// `awsCredentialsSecretRef` Secret.
async fn aws_signer(
    spec: &GcpAwsCredentialsConfig,
    creds: &Credentials,
    field: &str,
    audience: String,
) -> Result<aws::AwsSigner> {
    let f = format!("{field}.awsSecurityCredentials.awsCredentialsSecretRef");
    let sel = &spec.aws_credentials_secret_ref;
    let ns = creds.namespace_of(sel.namespace.as_deref()).to_owned();
    let secret = creds
        .cluster()
        .get_secret(&ns, &sel.name)
        .await?
        .ok_or_else(|| Error::invalid_config(&f, format!("Secret {ns}/{} not found", sel.name)))?;
    let key = |k: &str| secret.data.get(k).cloned();
    let (Some(id), Some(secret_key)) = (key("aws_access_key_id"), key("aws_secret_access_key"))
    else {
        return Err(Error::invalid_config(
            &f,
            format!(
                "Secret {ns}/{} needs the keys aws_access_key_id and aws_secret_access_key",
                sel.name
            ),
        ));
    };
    Ok(aws::AwsSigner {
        access_key_id: id.expose_str().unwrap_or_default().trim().to_owned(),
        secret_access_key: secret_key,
        session_token: key("aws_session_token").filter(|t| !t.is_empty()),
        region: spec.region.clone(),
        audience,
    })
}

/// Credentials straight from the credential configuration (its own credential source), with
/// `gcpServiceAccountEmail` as the impersonation target when set.
fn from_cred_config(
    mut config: Value,
    wif: &GcpWorkloadIdentityFederation,
    field: &str,
) -> Result<GoogleCredentials> {
    if let Some(email) = &wif.gcp_service_account_email
        && let Value::Object(m) = &mut config
    {
        m.insert(
            "service_account_impersonation_url".into(),
            Value::String(format!(
                "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken"
            )),
        );
    }
    ExternalAccountBuilder::new(config)
        .with_scopes([CLOUD_PLATFORM])
        .build()
        .map_err(|e| Error::invalid_config(format!("{field}.credConfig"), e.to_string()))
}

/// Credentials exchanging `subject`'s tokens at the exchange's token URL for `audience`,
/// impersonating the exchange's target when set.
fn programmatic<P>(
    subject: P,
    audience: String,
    token_type: String,
    exchange: Exchange,
    field: &str,
) -> Result<GoogleCredentials>
where
    P: SubjectTokenProvider + 'static,
    P::Error: Send + Sync + 'static,
{
    let mut b = ProgrammaticBuilder::new(Arc::new(subject))
        .with_audience(audience)
        .with_subject_token_type(token_type)
        .with_token_url(exchange.token_url)
        .with_scopes([CLOUD_PLATFORM]);
    if let Some(email) = exchange.target {
        b = b.with_target_principal(email);
    }
    b.build()
        .map_err(|e| Error::invalid_config(field, e.to_string()))
}

/// The e-mail in an `...serviceAccounts/EMAIL:generateAccessToken` URL.
fn impersonated_email(url: &str) -> Option<String> {
    let rest = url.split("/serviceAccounts/").nth(1)?;
    Some(rest.split(':').next()?.to_owned())
}

/// A subject token: a fresh token of a Kubernetes ServiceAccount (TokenRequest API).
#[derive(Debug)]
struct ServiceAccountToken {
    creds: Credentials,
    sa: ServiceAccountSelector,
    audiences: Vec<String>,
    field: String,
}

/// Why a ServiceAccount token could not be had.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct SubjectError {
    message: String,
    transient: bool,
}

impl SubjectTokenProviderError for SubjectError {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl SubjectTokenProvider for ServiceAccountToken {
    type Error = SubjectError;

    async fn subject_token(&self) -> std::result::Result<SubjectToken, SubjectError> {
        let token = self
            .creds
            .service_account_token(&self.sa, &self.audiences, SA_TOKEN_SECONDS, &self.field)
            .await
            .map_err(|e| SubjectError {
                message: e.to_string(),
                transient: e.is_temporary(),
            })?;
        let text = token.expose_str().ok_or_else(|| SubjectError {
            message: format!("{}: the ServiceAccount token is not UTF-8", self.field),
            transient: false,
        })?;
        Ok(SubjectTokenBuilder::new(text.trim()).build())
    }
}
