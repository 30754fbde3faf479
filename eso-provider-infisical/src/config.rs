//! Building an [`Infisical`] provider from a store's provider block: [`InfisicalFactory`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eso_core::api::{InfisicalProvider, SecretStoreProvider, ValidationErrors};
use eso_core::provider::{
    Capabilities, DynProvider, ProviderFactory, StoreContext, StoreIdentity, provider_block,
};
use eso_core::{Error, Result};

use crate::auth::{Login, Session};
use crate::client::{Api, Scope};
use crate::cloud::{CLOUD_TIMEOUT, Cloud, CloudEndpoints, Environment};
use crate::cloud_auth::CloudAuth;
use crate::http::{Http, api_base};
use crate::provider::{CAPABILITIES, Infisical};

/// Where a pod's own ServiceAccount token is mounted: what Kubernetes auth sends by default.
pub const DEFAULT_SERVICE_ACCOUNT_TOKEN_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Timeout of every API call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds [`Infisical`] providers from `spec.provider.infisical` blocks.
///
/// Building reads the credentials and the CA bundle; the first API call logs in.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
/// use eso_core::provider::{ProviderFactory, StoreIdentity, StoreScope};
/// use eso_provider_infisical::InfisicalFactory;
///
/// // A namespaced store may not read its OCI private key from another namespace.
/// let sel = |key: &str| serde_json::json!({"name": "oci", "key": key});
/// let spec: SecretStoreProvider = serde_json::from_value(serde_json::json!({"infisical": {
///     "auth": {"ociAuthCredentials": {
///         "identityId": sel("id"), "fingerprint": sel("fp"), "userId": sel("user"),
///         "tenancyId": sel("tenancy"), "region": sel("region"),
///         "privateKey": {"name": "oci", "key": "key", "namespace": "other"}}},
///     "secretsScope": {"projectSlug": "app", "environmentSlug": "dev"}}})).unwrap();
/// let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "infisical");
/// let err = InfisicalFactory::new().validate_store(&spec, &store).unwrap_err();
/// let err = err.to_string();
/// assert!(err.contains("spec.provider.infisical.auth.ociAuthCredentials.privateKey"), "{err}");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InfisicalFactory {
    token_file: PathBuf,
    endpoints: CloudEndpoints,
    env: Environment,
}

impl Default for InfisicalFactory {
    fn default() -> Self {
        Self::new()
    }
}

impl InfisicalFactory {
    /// A factory for the `infisical` kind.
    pub fn new() -> Self {
        Self {
            token_file: PathBuf::from(DEFAULT_SERVICE_ACCOUNT_TOKEN_FILE),
            endpoints: CloudEndpoints::default(),
            env: Environment::default(),
        }
    }

    /// Calls these cloud endpoints for Azure, GCP ID token and GCP IAM auth (default: the
    /// real services): for tests, and for controllers that reach them through a proxy.
    #[must_use]
    pub fn with_cloud_endpoints(mut self, endpoints: CloudEndpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Reads the controller's ambient settings of AWS auth (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_DEFAULT_REGION`) from
    /// `vars` instead of the process environment: for tests and embedding programs.
    #[must_use]
    pub fn with_environment<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env = Environment::fixed(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Uses the ServiceAccount token in `path` for Kubernetes auth (default
    /// [`DEFAULT_SERVICE_ACCOUNT_TOKEN_FILE`]): for a controller whose token is mounted
    /// elsewhere, and for tests.
    #[must_use]
    pub fn with_service_account_token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = path.into();
        self
    }

    fn check(spec: &InfisicalProvider, store: &StoreIdentity) -> Result<()> {
        let field = format!("spec.provider.{}", crate::KIND);
        let mut errors = ValidationErrors::new();
        spec.validate_store(store.api_scope(), &field, &mut errors);
        if let Some(c) = CloudAuth::parse(&spec.auth) {
            c.validate(&format!("{field}.auth"), &mut errors);
        }
        errors.into_result()?;
        Ok(())
    }

    /// Builds a provider for the store in `ctx` (reads credentials; no API call yet).
    pub async fn build(&self, ctx: &StoreContext<'_>) -> Result<Infisical> {
        let spec = ctx.block(crate::KIND, |p| p.infisical.as_ref())?;
        Self::check(spec, ctx.store)?;
        let field = ctx.field();
        let creds = ctx.credentials();
        let a = &spec.auth;
        let p = format!("{field}.auth");
        let login = if let Some(u) = &a.universal_auth_credentials {
            let f = format!("{p}.universalAuthCredentials");
            Login::Universal {
                client_id: creds
                    .secret_text(&u.client_id, None, &format!("{f}.clientId"))
                    .await?,
                client_secret: creds
                    .secret_text(&u.client_secret, None, &format!("{f}.clientSecret"))
                    .await?,
            }
        } else if let Some(t) = &a.token_auth_credentials {
            let f = format!("{p}.tokenAuthCredentials.accessToken");
            Login::Token {
                token: creds.secret_text(&t.access_token, None, &f).await?,
            }
        } else if let Some(j) = &a.jwt_auth_credentials {
            let f = format!("{p}.jwtAuthCredentials");
            Login::Jwt {
                identity_id: creds
                    .secret_text(&j.identity_id, None, &format!("{f}.identityId"))
                    .await?,
                jwt: creds.secret_text(&j.jwt, None, &format!("{f}.jwt")).await?,
            }
        } else if let Some(l) = &a.ldap_auth_credentials {
            let f = format!("{p}.ldapAuthCredentials");
            Login::Ldap {
                identity_id: creds
                    .secret_text(&l.identity_id, None, &format!("{f}.identityId"))
                    .await?,
                username: creds
                    .secret_text(&l.ldap_username, None, &format!("{f}.ldapUsername"))
                    .await?,
                password: creds
                    .secret(&l.ldap_password, None, &format!("{f}.ldapPassword"))
                    .await?,
            }
        } else if let Some(k) = &a.kubernetes_auth_credentials {
            let f = format!("{p}.kubernetesAuthCredentials");
            if let Some(sel) = &k.service_account_token_path {
                let path = creds
                    .secret_text(sel, None, &format!("{f}.serviceAccountTokenPath"))
                    .await?;
                if path.expose() != self.token_file.as_os_str().as_encoded_bytes() {
                    return Err(Error::invalid_config(
                        format!("{f}.serviceAccountTokenPath"),
                        "eso-rs sends only the controller's own ServiceAccount token: a path read from \
                         a Secret must not make the controller send one of its files elsewhere",
                    ));
                }
            }
            Login::Kubernetes {
                identity_id: creds
                    .secret_text(&k.identity_id, None, &format!("{f}.identityId"))
                    .await?,
                token_file: self.token_file.clone(),
            }
        } else if let Some(c) = CloudAuth::parse(a) {
            c.login(&creds, &p).await?
        } else {
            return Err(Error::invalid_config(p, "no auth method set"));
        };
        let mut builder = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if let Some(pem) = creds
            .ca_bundle(spec.ca_bundle.as_deref(), spec.ca_provider.as_ref(), &field)
            .await?
        {
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    Error::invalid_config(format!("{field}.caBundle"), "no PEM certificate found")
                })?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .build()
            .map_err(|e| Error::unavailable("cannot build the HTTP client", e))?;
        let s = &spec.secrets_scope;
        let scope = Scope {
            project_slug: s.project_slug.clone(),
            environment: s.environment_slug.clone(),
            secrets_path: if s.secrets_path.is_empty() {
                "/".to_owned()
            } else {
                s.secrets_path.clone()
            },
            recursive: s.recursive,
            expand: s.expand_secret_references,
        };
        let http = Http {
            client,
            base: api_base(&spec.host_api),
        };
        let cloud = Cloud {
            client: reqwest::Client::builder()
                .timeout(CLOUD_TIMEOUT)
                .build()
                .map_err(|e| Error::unavailable("cannot build the HTTP client", e))?,
            endpoints: self.endpoints.clone(),
            env: self.env.clone(),
        };
        let session = Session::new(login, s.organization_slug.clone(), cloud);
        Ok(Infisical {
            api: Api::new(http, session, scope),
            store: ctx.store.to_string(),
        })
    }
}

#[async_trait]
impl ProviderFactory for InfisicalFactory {
    fn kind(&self) -> &'static str {
        crate::KIND
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn validate_store(
        &self,
        spec: &SecretStoreProvider,
        store: &StoreIdentity,
    ) -> Result<Vec<String>> {
        let i = provider_block(spec, crate::KIND, |p| p.infisical.as_ref())?;
        Self::check(i, store).map(|()| Vec::new())
    }

    async fn new_provider(&self, ctx: &StoreContext<'_>) -> Result<DynProvider> {
        Ok(Arc::new(self.build(ctx).await?))
    }
}
