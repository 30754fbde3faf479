//! Generator kinds of `generators.external-secrets.io/v1alpha1`, `ClusterGenerator` and
//! `GeneratorState`.
//!
//! Every generator kind is a namespaced resource with a `spec` only. A `ClusterGenerator` wraps
//! one of the specs ([`GeneratorSpec`]) and is resolved into a namespaced generator of that kind
//! in the consumer's namespace. A `GeneratorState` records what a stateful generator produced
//! so it can be cleaned up later.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::EsoResource;
use super::meta::{
    CAProvider, Condition, GeneratorKind, SecretKeySelector, SecretStoreRetrySettings,
    ServiceAccountSelector,
};
use super::providers::{
    AwsAuth, AzureEnvironmentType, BeyondtrustWorkloadCredentialsProvider, GcpSmAuth, StoreScope,
    VaultProvider, check_ca_provider_format, check_service_account_format,
};
use super::validation::{
    Validate, ValidationErrors, check_duration, is_dns1123_subdomain, is_secret_key,
};

/// Declares a generator spec struct (with the kube attributes for its kind) and its root.
macro_rules! generator_kind {
    (
        $(#[$sattr:meta])*
        pub struct $spec:ident { $($body:tt)* }
        $(#[$rattr:meta])*
        root $root:ident, $kind:tt;
    ) => {
        $(#[$sattr])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(
            feature = "kube",
            derive(kube::CustomResource, schemars::JsonSchema),
            kube(
                group = "generators.external-secrets.io",
                version = "v1alpha1",
                kind = $kind,
                namespaced,
                derive = "PartialEq",
                category = "external-secrets",
                category = "external-secrets-generators"
            )
        )]
        #[serde(rename_all = "camelCase")]
        pub struct $spec { $($body)* }

        super::eso_resource! {
            $(#[$rattr])*
            $root { spec: $spec, api_version: "generators.external-secrets.io/v1alpha1", kind: $kind, namespaced: true }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Password

/// Output encoding of a generated password.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum PasswordEncoding {
    /// No encoding (the default).
    #[default]
    Raw,
    /// Standard base64.
    Base64,
    /// URL-safe base64 (padded).
    Base64url,
    /// Base32.
    Base32,
    /// Lower-case hex.
    Hex,
}

/// The default symbol set of the Password generator.
pub const PASSWORD_DEFAULT_SYMBOLS: &str = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./";

fn default_password_length() -> i64 {
    24
}

generator_kind! {
    /// Spec of the Password generator.
    #[derive(Eq)]
    pub struct PasswordSpec {
        /// Password length (default 24; zero or negative also mean 24).
        #[serde(default = "default_password_length")]
        pub length: i64,
        /// Number of digits (default a quarter of the length, rounded down).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub digits: Option<i64>,
        /// Number of symbols (default a quarter of the length, rounded down).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub symbols: Option<i64>,
        /// Symbol alphabet (default [`PASSWORD_DEFAULT_SYMBOLS`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub symbol_characters: Option<String>,
        /// No upper-case letters.
        #[serde(default)]
        pub no_upper: bool,
        /// Allow a character to appear more than once.
        #[serde(default)]
        pub allow_repeat: bool,
        /// Output keys, one password each (default `["password"]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub secret_keys: Option<Vec<String>>,
        /// Output encoding (default `raw`).
        #[serde(default)]
        pub encoding: PasswordEncoding,
    }
    /// Generates random passwords.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{Password, Validate};
    ///
    /// let p: Password = serde_saphyr::from_str(
    ///     "apiVersion: generators.external-secrets.io/v1alpha1\nkind: Password\nmetadata: {name: pw}\nspec: {length: 32, symbols: 0}\n",
    /// ).unwrap();
    /// assert_eq!(p.spec.resolved().unwrap().digits, 8);
    /// p.validate().unwrap();
    /// ```
    root Password, "Password";
}

impl Default for PasswordSpec {
    fn default() -> Self {
        Self {
            length: default_password_length(),
            digits: None,
            symbols: None,
            symbol_characters: None,
            no_upper: false,
            allow_repeat: false,
            secret_keys: None,
            encoding: PasswordEncoding::Raw,
        }
    }
}

/// A [`PasswordSpec`] with every default applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPassword {
    /// Total length.
    pub length: usize,
    /// Exact number of digits.
    pub digits: usize,
    /// Exact number of symbols.
    pub symbols: usize,
    /// Symbol alphabet.
    pub symbol_characters: String,
    /// No upper-case letters.
    pub no_upper: bool,
    /// Characters may repeat.
    pub allow_repeat: bool,
    /// Output keys.
    pub secret_keys: Vec<String>,
    /// Output encoding.
    pub encoding: PasswordEncoding,
}

impl PasswordSpec {
    /// Applies the defaults and checks that a password can be generated (the rules of the
    /// go-password library ESO uses). Errors are `(field, reason)`.
    pub fn resolved(&self) -> Result<ResolvedPassword, Vec<(&'static str, String)>> {
        let mut errs = Vec::new();
        let length = if self.length > 0 { self.length } else { 24 };
        let digits = self.digits.unwrap_or(length / 4);
        let symbols = self.symbols.unwrap_or(length / 4);
        if digits < 0 {
            errs.push(("digits", "must not be negative".to_owned()));
        }
        if symbols < 0 {
            errs.push(("symbols", "must not be negative".to_owned()));
        }
        let symbol_characters = self
            .symbol_characters
            .clone()
            .unwrap_or_else(|| PASSWORD_DEFAULT_SYMBOLS.to_owned());
        if digits >= 0 && symbols >= 0 {
            if digits + symbols > length {
                errs.push((
                    "length",
                    format!("digits ({digits}) + symbols ({symbols}) exceed the length ({length})"),
                ));
            } else if !self.allow_repeat {
                let letters = length - digits - symbols;
                let available = if self.no_upper { 26 } else { 52 };
                if letters > available {
                    errs.push((
                        "length",
                        format!("{letters} letters needed but only {available} distinct ones exist; set allowRepeat"),
                    ));
                }
                if digits > 10 {
                    errs.push((
                        "digits",
                        "more than 10 distinct digits requested; set allowRepeat".to_owned(),
                    ));
                }
                let distinct = symbol_characters.chars().collect::<BTreeSet<_>>().len() as i64;
                if symbols > distinct {
                    errs.push((
                        "symbols",
                        format!("more than the {distinct} distinct symbolCharacters requested; set allowRepeat"),
                    ));
                }
            }
        }
        let secret_keys = match &self.secret_keys {
            None => vec!["password".to_owned()],
            Some(keys) => {
                let mut seen = BTreeSet::new();
                if keys.is_empty()
                    || keys
                        .iter()
                        .any(|k| k.is_empty() || !seen.insert(k.as_str()))
                {
                    errs.push(("secretKeys", "must be non-empty and unique".to_owned()));
                }
                keys.clone()
            }
        };
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(ResolvedPassword {
            length: usize::try_from(length).unwrap_or(0),
            digits: usize::try_from(digits).unwrap_or(0),
            symbols: usize::try_from(symbols).unwrap_or(0),
            symbol_characters,
            no_upper: self.no_upper,
            allow_repeat: self.allow_repeat,
            secret_keys,
            encoding: self.encoding,
        })
    }

    /// Records every problem under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if let Err(errs) = self.resolved() {
            for (field, msg) in errs {
                errors.push(format!("{path}.{field}"), msg);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// UUID, Fake

generator_kind! {
    /// Spec of the UUID generator (no fields).
    #[derive(Default, Eq)]
    pub struct UUIDSpec {}
    /// Generates a random (version 4) UUID under the key `uuid`.
    root UUID, "UUID";
}

generator_kind! {
    /// Spec of the Fake generator: returns `data` verbatim.
    #[derive(Default, Eq)]
    pub struct FakeSpec {
        /// Controller class.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub controller: Option<String>,
        /// The data returned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub data: Option<BTreeMap<String, String>>,
    }
    /// Returns static data (for tests).
    root Fake, "Fake";
}

// ---------------------------------------------------------------------------------------------
// SSHKey, MFA

/// SSH key algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SshKeyType {
    /// RSA (the default; 2048 bits unless `keySize`).
    #[default]
    Rsa,
    /// ECDSA (P-256 unless `keySize` 384 or 521).
    Ecdsa,
    /// Ed25519 (`keySize` ignored).
    Ed25519,
}

generator_kind! {
    /// Spec of the SSHKey generator.
    #[derive(Default, Eq)]
    pub struct SSHKeySpec {
        /// Key type (default `rsa`).
        #[serde(default)]
        pub key_type: SshKeyType,
        /// Key size in bits (256 to 8192).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub key_size: Option<i64>,
        /// Comment appended to the public key.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub comment: Option<String>,
    }
    /// Generates an SSH key pair (`privateKey`, `publicKey`).
    root SSHKey, "SSHKey";
}

impl SSHKeySpec {
    /// Records every problem under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if let Some(size) = self.key_size
            && !(256..=8192).contains(&size)
        {
            errors.push(format!("{path}.keySize"), "must be between 256 and 8192");
        }
    }
}

generator_kind! {
    /// Spec of the MFA (TOTP, RFC 6238) generator.
    #[derive(Eq)]
    pub struct MFASpec {
        /// The Secret key holding the base32 seed.
        pub secret: SecretKeySelector,
        /// Token length (6 when unset or zero).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub length: Option<i64>,
        /// Token period in seconds (30 when unset or zero).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub time_period: Option<i64>,
        /// Hash algorithm (documented default SHA1; ESO always uses SHA1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub algorithm: Option<String>,
        /// Pinned time (RFC 3339) instead of now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub when: Option<String>,
    }
    /// Generates a TOTP token (`token`, `timeLeft`).
    root MFA, "MFA";
}

fn check_time(value: &str, path: &str, errors: &mut ValidationErrors) {
    if value.parse::<jiff::Timestamp>().is_err() {
        errors.push(path, "must be an RFC 3339 date-time");
    }
}

impl MFASpec {
    /// Records every problem under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        self.secret.validate_at(&format!("{path}.secret"), errors);
        if let Some(w) = &self.when {
            check_time(w, &format!("{path}.when"), errors);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AWS: ECRAuthorizationToken, STSSessionToken

/// Which ECR registry type a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum EcrScope {
    /// A private registry (the default).
    Private,
    /// ECR Public.
    Public,
}

generator_kind! {
    /// Spec of the ECRAuthorizationToken generator.
    #[derive(Eq)]
    pub struct ECRAuthorizationTokenSpec {
        /// AWS region.
        pub region: String,
        /// AWS credentials (SDK default chain when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auth: Option<AwsAuth>,
        /// Role ARN to assume first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
        /// `private` (default) or `public`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scope: Option<EcrScope>,
    }
    /// Generates an ECR docker login (`username`, `password`, `proxy_endpoint`, `expires_at`).
    root ECRAuthorizationToken, "ECRAuthorizationToken";
}

/// Optional parameters of an STS GetSessionToken call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StsRequestParameters {
    /// Session lifetime in seconds (900 to 129600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_duration: Option<i32>,
    /// MFA device serial number or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// MFA code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_code: Option<String>,
}

generator_kind! {
    /// Spec of the STSSessionToken generator.
    #[derive(Eq)]
    pub struct STSSessionTokenSpec {
        /// AWS region.
        pub region: String,
        /// AWS credentials (SDK default chain when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auth: Option<AwsAuth>,
        /// Role ARN to assume first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role: Option<String>,
        /// GetSessionToken parameters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub request_parameters: Option<StsRequestParameters>,
    }
    /// Generates temporary AWS credentials.
    root STSSessionToken, "STSSessionToken";
}

fn check_aws_generator(
    region: &str,
    auth: Option<&AwsAuth>,
    scope: StoreScope<'_>,
    path: &str,
    errors: &mut ValidationErrors,
) {
    super::providers::check_region(region, &format!("{path}.region"), errors);
    if let Some(a) = auth {
        a.validate_store(scope, &format!("{path}.auth"), errors);
    }
}

// ---------------------------------------------------------------------------------------------
// GCRAccessToken, ACRAccessToken

generator_kind! {
    /// Spec of the GCRAccessToken generator.
    #[derive(Eq)]
    pub struct GCRAccessTokenSpec {
        /// GCP credentials.
        pub auth: GcpSmAuth,
        /// Project to authenticate with.
        #[serde(rename = "projectID")]
        pub project_id: String,
    }
    /// Generates a GCR/Artifact Registry access token.
    root GCRAccessToken, "GCRAccessToken";
}

/// ACR credentials: exactly one method.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcrAuth {
    /// Service principal credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal: Option<AcrServicePrincipalAuth>,
    /// Managed identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_identity: Option<AcrManagedIdentityAuth>,
    /// Workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_identity: Option<AcrWorkloadIdentityAuth>,
}

/// Service principal credentials held in Secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcrServicePrincipalAuth {
    /// The Secrets.
    pub secret_ref: AcrServicePrincipalSecretRef,
}

/// Client ID and secret of a service principal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcrServicePrincipalSecretRef {
    /// Client ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretKeySelector>,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretKeySelector>,
}

/// Managed identity selection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcrManagedIdentityAuth {
    /// Identity to use when several are assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
}

/// Workload identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AcrWorkloadIdentityAuth {
    /// The ServiceAccount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
}

generator_kind! {
    /// Spec of the ACRAccessToken generator.
    #[derive(Eq)]
    pub struct ACRAccessTokenSpec {
        /// Azure credentials.
        pub auth: AcrAuth,
        /// Tenant ID (service principal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tenant_id: Option<String>,
        /// Registry host, e.g. `example.azurecr.io`.
        pub registry: String,
        /// Token scope, e.g. `repository:app:pull,push` (refresh token when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scope: Option<String>,
        /// Azure cloud (default `PublicCloud`).
        #[serde(default)]
        pub environment_type: AzureEnvironmentType,
    }
    /// Generates an Azure Container Registry token.
    root ACRAccessToken, "ACRAccessToken";
}

// ---------------------------------------------------------------------------------------------
// GithubAccessToken, GitlabDeployToken, QuayAccessToken, CloudsmithAccessToken

/// A Secret key wrapped as `{secretRef: ...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GeneratorSecretRef {
    /// The Secret key.
    pub secret_ref: SecretKeySelector,
}

/// GitHub App credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GithubAuth {
    /// The App's RSA private key (PEM).
    pub private_key: GeneratorSecretRef,
}

generator_kind! {
    /// Spec of the GithubAccessToken generator.
    #[derive(Eq)]
    pub struct GithubAccessTokenSpec {
        /// GitHub (Enterprise) API URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// GitHub App ID.
        #[serde(rename = "appID")]
        pub app_id: String,
        /// Installation ID.
        #[serde(rename = "installID")]
        pub install_id: String,
        /// Repositories the token may access (all when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub repositories: Option<Vec<String>>,
        /// Permissions of the token (the App's when unset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub permissions: Option<BTreeMap<String, String>>,
        /// App credentials.
        pub auth: GithubAuth,
    }
    /// Generates a GitHub App installation token (`token`).
    root GithubAccessToken, "GithubAccessToken";
}

/// A scope of a GitLab deploy token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GitlabDeployTokenScope {
    /// `read_repository`.
    ReadRepository,
    /// `read_registry`.
    ReadRegistry,
    /// `write_registry`.
    WriteRegistry,
    /// `read_package_registry`.
    ReadPackageRegistry,
    /// `write_package_registry`.
    WritePackageRegistry,
    /// `read_virtual_registry`.
    ReadVirtualRegistry,
    /// `write_virtual_registry`.
    WriteVirtualRegistry,
}

/// GitLab API credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GitlabDeployTokenAuth {
    /// An access token with `api` scope.
    pub token: GeneratorSecretRef,
}

generator_kind! {
    /// Spec of the GitlabDeployToken generator.
    #[derive(Eq)]
    pub struct GitlabDeployTokenSpec {
        /// GitLab URL (default `https://gitlab.com`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// Project ID or path (exclusive with `groupID`).
        #[serde(default, rename = "projectID", skip_serializing_if = "Option::is_none")]
        pub project_id: Option<String>,
        /// Group ID or path (exclusive with `projectID`).
        #[serde(default, rename = "groupID", skip_serializing_if = "Option::is_none")]
        pub group_id: Option<String>,
        /// Token name.
        pub name: String,
        /// Granted scopes (at least one).
        pub scopes: Vec<GitlabDeployTokenScope>,
        /// Expiry (RFC 3339).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub expires_at: Option<String>,
        /// Token user name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub username: Option<String>,
        /// API credentials.
        pub auth: GitlabDeployTokenAuth,
    }
    /// Generates a GitLab deploy token (`username`, `token`); stateful, revoked on cleanup.
    root GitlabDeployToken, "GitlabDeployToken";
}

impl GitlabDeployTokenSpec {
    /// Records every problem under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if self.project_id.is_some() == self.group_id.is_some() {
            errors.push(path, "exactly one of projectID or groupID must be set");
        }
        for (v, f) in [(&self.project_id, "projectID"), (&self.group_id, "groupID")] {
            if v.as_deref() == Some("") {
                errors.push(format!("{path}.{f}"), "must not be empty");
            }
        }
        if self.name.is_empty() {
            errors.push(format!("{path}.name"), "must not be empty");
        }
        if self.scopes.is_empty() {
            errors.push(format!("{path}.scopes"), "at least one scope is required");
        }
        if let Some(t) = &self.expires_at {
            check_time(t, &format!("{path}.expiresAt"), errors);
        }
        self.auth
            .token
            .secret_ref
            .validate_at(&format!("{path}.auth.token.secretRef"), errors);
    }
}

generator_kind! {
    /// Spec of the QuayAccessToken generator.
    #[derive(Eq)]
    pub struct QuayAccessTokenSpec {
        /// Quay URL (default `quay.io`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// Robot account to federate with.
        pub robot_account: String,
        /// ServiceAccount whose token is federated.
        pub service_account_ref: ServiceAccountSelector,
    }
    /// Generates a Quay robot token.
    root QuayAccessToken, "QuayAccessToken";
}

generator_kind! {
    /// Spec of the CloudsmithAccessToken generator.
    #[derive(Eq)]
    pub struct CloudsmithAccessTokenSpec {
        /// API URL (default `https://api.cloudsmith.io`).
        #[serde(default, rename = "apiUrl", skip_serializing_if = "Option::is_none")]
        pub api_url: Option<String>,
        /// Organization slug.
        pub org_slug: String,
        /// OIDC service slug.
        pub service_slug: String,
        /// ServiceAccount whose token is federated.
        pub service_account_ref: ServiceAccountSelector,
    }
    /// Generates a Cloudsmith token via OIDC.
    root CloudsmithAccessToken, "CloudsmithAccessToken";
}

// ---------------------------------------------------------------------------------------------
// Grafana

/// A Secret key in the generators API (no namespace: always the generator's namespace).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GeneratorSecretKeySelector {
    /// Secret name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Key in the Secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

impl GeneratorSecretKeySelector {
    /// Checks name and key formats under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if !self.name.is_empty() && !is_dns1123_subdomain(&self.name) {
            errors.push(format!("{path}.name"), "must be a DNS-1123 subdomain");
        }
        if !self.key.is_empty() && !is_secret_key(&self.key) {
            errors.push(
                format!("{path}.key"),
                "must match ^[-._a-zA-Z0-9]+$ (at most 253 characters)",
            );
        }
    }
}

/// Grafana credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GrafanaAuth {
    /// A service account token allowed to create service accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<GeneratorSecretKeySelector>,
    /// Basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<GrafanaBasicAuth>,
}

/// Grafana basic auth.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct GrafanaBasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: GeneratorSecretKeySelector,
}

/// The Grafana service account to create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GrafanaServiceAccount {
    /// Service account name.
    pub name: String,
    /// Basic role, e.g. `Viewer`.
    pub role: String,
    /// Token lifetime in seconds (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_to_live: Option<i64>,
}

generator_kind! {
    /// Spec of the Grafana generator.
    #[derive(Eq)]
    pub struct GrafanaSpec {
        /// Grafana URL.
        pub url: String,
        /// Credentials.
        pub auth: GrafanaAuth,
        /// Service account to create.
        pub service_account: GrafanaServiceAccount,
    }
    /// Generates a Grafana service account token (`login`, `token`); stateful.
    root Grafana, "Grafana";
}

impl GrafanaSpec {
    /// Records every problem under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if let Some(t) = &self.auth.token {
            t.validate_at(&format!("{path}.auth.token"), errors);
        }
        if let Some(b) = &self.auth.basic {
            b.password
                .validate_at(&format!("{path}.auth.basic.password"), errors);
        }
        if self.service_account.seconds_to_live.is_some_and(|s| s < 1) {
            errors.push(
                format!("{path}.serviceAccount.secondsToLive"),
                "must be at least 1",
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// VaultDynamicSecret, BeyondtrustWorkloadCredentialsDynamicSecret, Webhook

/// Which part of Vault's response a VaultDynamicSecret returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum VaultDynamicSecretResultType {
    /// The `data` section (the default).
    #[default]
    Data,
    /// The `auth` section.
    Auth,
    /// The whole response.
    Raw,
}

generator_kind! {
    /// Spec of the VaultDynamicSecret generator.
    pub struct VaultDynamicSecretSpec {
        /// Controller class.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub controller: Option<String>,
        /// HTTP method: empty/`GET` reads, `LIST`, `DELETE`, anything else writes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub method: Option<String>,
        /// Body of a write.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "kube", schemars(schema_with = "super::meta::free_form_schema"))]
        pub parameters: Option<serde_json::Value>,
        /// Query parameters of a read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub get_parameters: Option<BTreeMap<String, Vec<String>>>,
        /// Section returned (default `Data`).
        #[serde(default)]
        pub result_type: VaultDynamicSecretResultType,
        /// HTTP retries.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub retry_settings: Option<SecretStoreRetrySettings>,
        /// The Vault connection and auth.
        pub provider: VaultProvider,
        /// Vault path.
        pub path: String,
        /// Accept an empty response.
        #[serde(default)]
        pub allow_empty_response: bool,
    }
    /// Reads or writes a Vault path and returns the response.
    root VaultDynamicSecret, "VaultDynamicSecret";
}

generator_kind! {
    /// Spec of the BeyondtrustWorkloadCredentialsDynamicSecret generator.
    pub struct BeyondtrustWorkloadCredentialsDynamicSecretSpec {
        /// Controller class.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub controller: Option<String>,
        /// The BeyondTrust Workload Credentials connection; `folderPath` is the dynamic secret
        /// definition's path (`folder/.../name`).
        pub provider: BeyondtrustWorkloadCredentialsProvider,
        /// HTTP retries.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub retry_settings: Option<SecretStoreRetrySettings>,
    }
    /// Requests dynamic credentials from BeyondTrust Workload Credentials; stateful.
    root BeyondtrustWorkloadCredentialsDynamicSecret, "BeyondtrustWorkloadCredentialsDynamicSecret";
}

/// Webhook authentication: exactly one protocol.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct WebhookAuth {
    /// NTLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntlm: Option<WebhookNtlm>,
}

/// NTLM credentials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct WebhookNtlm {
    /// User name.
    #[serde(rename = "usernameSecret")]
    pub username_secret: SecretKeySelector,
    /// Password.
    #[serde(rename = "passwordSecret")]
    pub password_secret: SecretKeySelector,
}

/// How the response is turned into data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookResult {
    /// JSONPath into the response.
    #[serde(default, rename = "jsonPath", skip_serializing_if = "Option::is_none")]
    pub json_path: Option<String>,
}

/// A Secret exposed to the URL, body and header templates under `name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecret {
    /// Template name.
    pub name: String,
    /// The Secret key.
    pub secret_ref: GeneratorSecretKeySelector,
}

generator_kind! {
    /// Spec of the Webhook generator.
    #[derive(Eq)]
    pub struct WebhookSpec {
        /// HTTP method (default `GET`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub method: Option<String>,
        /// URL (a template).
        pub url: String,
        /// Headers (templates).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub headers: Option<BTreeMap<String, String>>,
        /// Authentication.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub auth: Option<WebhookAuth>,
        /// Body (a template).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub body: Option<String>,
        /// Request timeout (Go duration).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub timeout: Option<String>,
        /// Result extraction.
        pub result: WebhookResult,
        /// Secrets for the templates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub secrets: Option<Vec<WebhookSecret>>,
        /// PEM CA bundle for the server certificate.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ca_bundle: Option<String>,
        /// Where to read the CA bundle from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ca_provider: Option<CAProvider>,
    }
    /// Calls an HTTP endpoint and returns its JSON response as data.
    root Webhook, "Webhook";
}

impl WebhookSpec {
    /// Records every problem under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if let Some(t) = &self.timeout {
            check_duration(errors, &format!("{path}.timeout"), t);
        }
        if let Some(a) = &self.auth {
            match &a.ntlm {
                Some(n) => {
                    n.username_secret
                        .validate_at(&format!("{path}.auth.ntlm.usernameSecret"), errors);
                    n.password_secret
                        .validate_at(&format!("{path}.auth.ntlm.passwordSecret"), errors);
                }
                None => errors.push(
                    format!("{path}.auth"),
                    "exactly one protocol (ntlm) must be set",
                ),
            }
        }
        for (i, s) in self.secrets.iter().flatten().enumerate() {
            s.secret_ref
                .validate_at(&format!("{path}.secrets[{i}].secretRef"), errors);
        }
        if let Some(ca) = &self.ca_provider {
            check_ca_provider_format(ca, &format!("{path}.caProvider"), errors);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Per-spec validation shared by the kinds and ClusterGenerator

/// Validation of a generator spec; `namespace` is the generator's namespace when known.
trait GeneratorSpecValidate {
    fn validate_spec(&self, namespace: Option<&str>, path: &str, errors: &mut ValidationErrors);
}

macro_rules! no_rules {
    ($($t:ty),*) => {$(
        impl GeneratorSpecValidate for $t {
            fn validate_spec(&self, _: Option<&str>, _: &str, _: &mut ValidationErrors) {}
        }
    )*};
}
no_rules!(UUIDSpec, FakeSpec);

macro_rules! path_rules {
    ($($t:ty),*) => {$(
        impl GeneratorSpecValidate for $t {
            fn validate_spec(&self, _: Option<&str>, path: &str, errors: &mut ValidationErrors) {
                self.validate_at(path, errors);
            }
        }
    )*};
}
path_rules!(
    PasswordSpec,
    SSHKeySpec,
    MFASpec,
    GitlabDeployTokenSpec,
    GrafanaSpec,
    WebhookSpec
);

impl GeneratorSpecValidate for ECRAuthorizationTokenSpec {
    fn validate_spec(&self, ns: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        check_aws_generator(
            &self.region,
            self.auth.as_ref(),
            StoreScope::namespaced(ns),
            path,
            errors,
        );
    }
}

impl GeneratorSpecValidate for STSSessionTokenSpec {
    fn validate_spec(&self, ns: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        check_aws_generator(
            &self.region,
            self.auth.as_ref(),
            StoreScope::namespaced(ns),
            path,
            errors,
        );
        if let Some(d) = self
            .request_parameters
            .as_ref()
            .and_then(|r| r.session_duration)
            && !(900..=129_600).contains(&d)
        {
            errors.push(
                format!("{path}.requestParameters.sessionDuration"),
                "must be between 900 and 129600 seconds",
            );
        }
    }
}

impl GeneratorSpecValidate for GCRAccessTokenSpec {
    fn validate_spec(&self, ns: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        self.auth
            .validate_store(StoreScope::namespaced(ns), &format!("{path}.auth"), errors);
    }
}

impl GeneratorSpecValidate for ACRAccessTokenSpec {
    fn validate_spec(&self, _: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        // ESO does not require exactly one method: it uses the first of servicePrincipal,
        // managedIdentity, workloadIdentity that is set.
        let a = &self.auth;
        if let Some(sp) = &a.service_principal {
            for (sel, f) in [
                (&sp.secret_ref.client_id, "clientId"),
                (&sp.secret_ref.client_secret, "clientSecret"),
            ] {
                if let Some(sel) = sel {
                    sel.validate_at(
                        &format!("{path}.auth.servicePrincipal.secretRef.{f}"),
                        errors,
                    );
                }
            }
        }
        if let Some(sa) = a
            .workload_identity
            .as_ref()
            .and_then(|w| w.service_account_ref.as_ref())
        {
            check_service_account_format(
                sa,
                &format!("{path}.auth.workloadIdentity.serviceAccountRef"),
                errors,
            );
        }
    }
}

impl GeneratorSpecValidate for GithubAccessTokenSpec {
    fn validate_spec(&self, _: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        if self.app_id.trim().is_empty() {
            errors.push(format!("{path}.appID"), "must not be empty");
        }
        let install = self.install_id.trim();
        if install.is_empty() || !install.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(
                format!("{path}.installID"),
                "must be the installation's numeric ID",
            );
        }
        if let Some(url) = self.url.as_deref().filter(|u| !u.is_empty())
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push(format!("{path}.url"), "must be an http(s) URL");
        }
        self.auth
            .private_key
            .secret_ref
            .validate_at(&format!("{path}.auth.privateKey.secretRef"), errors);
    }
}

impl GeneratorSpecValidate for QuayAccessTokenSpec {
    fn validate_spec(&self, _: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        if self.robot_account.trim().is_empty() {
            errors.push(format!("{path}.robotAccount"), "must not be empty");
        }
        if self
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("http://"))
        {
            errors.push(
                format!("{path}.url"),
                "must be a host or an https:// URL (Quay federation is HTTPS only)",
            );
        }
        check_service_account_format(
            &self.service_account_ref,
            &format!("{path}.serviceAccountRef"),
            errors,
        );
    }
}

impl GeneratorSpecValidate for CloudsmithAccessTokenSpec {
    fn validate_spec(&self, _: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        for (v, f) in [
            (&self.org_slug, "orgSlug"),
            (&self.service_slug, "serviceSlug"),
        ] {
            if v.trim().is_empty() {
                errors.push(format!("{path}.{f}"), "must not be empty");
            }
        }
        if let Some(url) = self.api_url.as_deref().filter(|u| !u.is_empty())
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            errors.push(format!("{path}.apiUrl"), "must be an http(s) URL");
        }
        check_service_account_format(
            &self.service_account_ref,
            &format!("{path}.serviceAccountRef"),
            errors,
        );
    }
}

impl GeneratorSpecValidate for VaultDynamicSecretSpec {
    fn validate_spec(&self, ns: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        self.provider.validate_store(
            StoreScope::namespaced(ns),
            &format!("{path}.provider"),
            errors,
        );
    }
}

impl GeneratorSpecValidate for BeyondtrustWorkloadCredentialsDynamicSecretSpec {
    fn validate_spec(&self, _: Option<&str>, path: &str, errors: &mut ValidationErrors) {
        self.provider
            .validate_at(&format!("{path}.provider"), errors);
        if self.provider.folder_path.trim_end_matches('/').is_empty() {
            errors.push(format!("{path}.provider.folderPath"), "is required");
        }
    }
}

macro_rules! validate_kinds {
    ($($root:ty),*) => {$(
        impl Validate for $root {
            fn validate(&self) -> Result<(), ValidationErrors> {
                let mut errors = ValidationErrors::new();
                self.spec.validate_spec(self.namespace(), "spec", &mut errors);
                errors.into_result()
            }
        }
    )*};
}
validate_kinds!(
    Password,
    UUID,
    Fake,
    SSHKey,
    MFA,
    ECRAuthorizationToken,
    STSSessionToken,
    GCRAccessToken,
    ACRAccessToken,
    GithubAccessToken,
    GitlabDeployToken,
    QuayAccessToken,
    CloudsmithAccessToken,
    Grafana,
    VaultDynamicSecret,
    BeyondtrustWorkloadCredentialsDynamicSecret,
    Webhook
);

// ---------------------------------------------------------------------------------------------
// ClusterGenerator

/// Exactly one generator spec, as held by a `ClusterGenerator`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GeneratorSpec {
    /// ACRAccessToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_access_token_spec: Option<ACRAccessTokenSpec>,
    /// BeyondtrustWorkloadCredentialsDynamicSecret spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beyondtrust_workload_credentials_dynamic_secret_spec:
        Option<BeyondtrustWorkloadCredentialsDynamicSecretSpec>,
    /// CloudsmithAccessToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudsmith_access_token_spec: Option<CloudsmithAccessTokenSpec>,
    /// ECRAuthorizationToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecr_authorization_token_spec: Option<ECRAuthorizationTokenSpec>,
    /// Fake spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake_spec: Option<FakeSpec>,
    /// GCRAccessToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcr_access_token_spec: Option<GCRAccessTokenSpec>,
    /// GithubAccessToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_access_token_spec: Option<GithubAccessTokenSpec>,
    /// GitlabDeployToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gitlab_deploy_token_spec: Option<GitlabDeployTokenSpec>,
    /// QuayAccessToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quay_access_token_spec: Option<QuayAccessTokenSpec>,
    /// Password spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_spec: Option<PasswordSpec>,
    /// SSHKey spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_key_spec: Option<SSHKeySpec>,
    /// STSSessionToken spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts_session_token_spec: Option<STSSessionTokenSpec>,
    /// UUID spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid_spec: Option<UUIDSpec>,
    /// VaultDynamicSecret spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_dynamic_secret_spec: Option<VaultDynamicSecretSpec>,
    /// Webhook spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_spec: Option<WebhookSpec>,
    /// Grafana spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana_spec: Option<GrafanaSpec>,
    /// MFA spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_spec: Option<MFASpec>,
}

impl GeneratorSpec {
    /// `(kind, field name, validator)` of every spec that is set.
    fn set_specs(&self) -> Vec<(GeneratorKind, &'static str, &dyn GeneratorSpecValidate)> {
        let mut out: Vec<(GeneratorKind, &'static str, &dyn GeneratorSpecValidate)> = Vec::new();
        macro_rules! add {
            ($($field:ident, $name:literal, $kind:ident;)*) => {$(
                if let Some(s) = &self.$field {
                    out.push((GeneratorKind::$kind, $name, s));
                }
            )*};
        }
        add!(
            acr_access_token_spec, "acrAccessTokenSpec", ACRAccessToken;
            beyondtrust_workload_credentials_dynamic_secret_spec, "beyondtrustWorkloadCredentialsDynamicSecretSpec",
                BeyondtrustWorkloadCredentialsDynamicSecret;
            cloudsmith_access_token_spec, "cloudsmithAccessTokenSpec", CloudsmithAccessToken;
            ecr_authorization_token_spec, "ecrAuthorizationTokenSpec", ECRAuthorizationToken;
            fake_spec, "fakeSpec", Fake;
            gcr_access_token_spec, "gcrAccessTokenSpec", GCRAccessToken;
            github_access_token_spec, "githubAccessTokenSpec", GithubAccessToken;
            gitlab_deploy_token_spec, "gitlabDeployTokenSpec", GitlabDeployToken;
            quay_access_token_spec, "quayAccessTokenSpec", QuayAccessToken;
            password_spec, "passwordSpec", Password;
            ssh_key_spec, "sshKeySpec", SSHKey;
            sts_session_token_spec, "stsSessionTokenSpec", STSSessionToken;
            uuid_spec, "uuidSpec", UUID;
            vault_dynamic_secret_spec, "vaultDynamicSecretSpec", VaultDynamicSecret;
            webhook_spec, "webhookSpec", Webhook;
            grafana_spec, "grafanaSpec", Grafana;
            mfa_spec, "mfaSpec", MFA;
        );
        out
    }

    /// The kind of the single spec that is set, if exactly one is.
    pub fn kind(&self) -> Option<GeneratorKind> {
        match self.set_specs().as_slice() {
            [(kind, _, _)] => Some(*kind),
            _ => None,
        }
    }
    /// Loads the `spec` of a generator manifest of `kind` (`Password`, ...) from JSON, with
    /// the loader's field paths in errors (`spec.length: invalid type ...`): for callers that
    /// hold a spec without its manifest (tests, examples, tools).
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::GeneratorSpec;
    ///
    /// let spec = GeneratorSpec::parse("Password", serde_json::json!({"length": 16})).unwrap();
    /// assert_eq!(spec.password_spec.unwrap().length, 16);
    /// let err = GeneratorSpec::parse("Password", serde_json::json!({"length": "x"})).unwrap_err();
    /// assert!(err.to_string().starts_with("spec.length: "), "{err}");
    /// ```
    pub fn parse(kind: &str, spec: serde_json::Value) -> crate::Result<Self> {
        let manifest = super::Manifest::from_value(serde_json::json!({
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": kind,
            "metadata": {"name": "generator"},
            "spec": spec,
        }))
        .map_err(|e| crate::Error::invalid_config(e.path, e.message))?;
        Self::from_manifest(manifest).ok_or_else(|| {
            crate::Error::invalid_config("kind", format!("{kind:?} is not a generator kind"))
        })
    }

    /// The spec of a generator manifest (`Password`, `VaultDynamicSecret`, ...) as the one-of
    /// form a `ClusterGenerator` holds; `None` for a manifest of another kind. The spec is
    /// moved, not converted: no serialization happens.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{GeneratorKind, GeneratorSpec, Manifest};
    ///
    /// let m = Manifest::from_value(serde_json::json!({
    ///     "apiVersion": "generators.external-secrets.io/v1alpha1", "kind": "Password",
    ///     "metadata": {"name": "pw"}, "spec": {"length": 24}})).unwrap();
    /// let spec = GeneratorSpec::from_manifest(m).unwrap();
    /// assert_eq!(spec.kind(), Some(GeneratorKind::Password));
    /// assert_eq!(spec.password_spec.unwrap().length, 24);
    /// ```
    pub fn from_manifest(manifest: super::Manifest) -> Option<Self> {
        use super::Manifest as M;
        let mut out = Self::default();
        match manifest {
            M::ACRAccessToken(g) => out.acr_access_token_spec = Some(g.spec),
            M::BeyondtrustWorkloadCredentialsDynamicSecret(g) => {
                out.beyondtrust_workload_credentials_dynamic_secret_spec = Some(g.spec);
            }
            M::CloudsmithAccessToken(g) => out.cloudsmith_access_token_spec = Some(g.spec),
            M::ECRAuthorizationToken(g) => out.ecr_authorization_token_spec = Some(g.spec),
            M::Fake(g) => out.fake_spec = Some(g.spec),
            M::GCRAccessToken(g) => out.gcr_access_token_spec = Some(g.spec),
            M::GithubAccessToken(g) => out.github_access_token_spec = Some(g.spec),
            M::GitlabDeployToken(g) => out.gitlab_deploy_token_spec = Some(g.spec),
            M::QuayAccessToken(g) => out.quay_access_token_spec = Some(g.spec),
            M::Password(g) => out.password_spec = Some(g.spec),
            M::SSHKey(g) => out.ssh_key_spec = Some(g.spec),
            M::STSSessionToken(g) => out.sts_session_token_spec = Some(g.spec),
            M::UUID(g) => out.uuid_spec = Some(g.spec),
            M::VaultDynamicSecret(g) => out.vault_dynamic_secret_spec = Some(g.spec),
            M::Webhook(g) => out.webhook_spec = Some(g.spec),
            M::Grafana(g) => out.grafana_spec = Some(g.spec),
            M::MFA(g) => out.mfa_spec = Some(g.spec),
            M::ExternalSecret(_)
            | M::ClusterExternalSecret(_)
            | M::PushSecret(_)
            | M::ClusterPushSecret(_)
            | M::SecretStore(_)
            | M::ClusterSecretStore(_)
            | M::ClusterGenerator(_)
            | M::GeneratorState(_)
            | M::Other { .. } => return None,
        }
        Some(out)
    }
}

/// Spec of a `ClusterGenerator`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "generators.external-secrets.io",
        version = "v1alpha1",
        kind = "ClusterGenerator",
        derive = "PartialEq",
        category = "external-secrets",
        category = "external-secrets-generators"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGeneratorSpec {
    /// Kind of the generator; must match the spec in `generator`.
    pub kind: GeneratorKind,
    /// The generator spec (exactly one).
    pub generator: GeneratorSpec,
}

super::eso_resource! {
    /// A cluster-wide generator, resolved into a namespaced generator of `spec.kind` in the
    /// consumer's namespace.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{ClusterGenerator, GeneratorKind, Validate};
    ///
    /// let g: ClusterGenerator = serde_saphyr::from_str(
    ///     "apiVersion: generators.external-secrets.io/v1alpha1\nkind: ClusterGenerator\nmetadata: {name: pw}\nspec:\n  kind: Password\n  generator:\n    passwordSpec: {length: 16}\n",
    /// ).unwrap();
    /// assert_eq!(g.spec.generator.kind(), Some(GeneratorKind::Password));
    /// g.validate().unwrap();
    /// ```
    ClusterGenerator { spec: ClusterGeneratorSpec, api_version: "generators.external-secrets.io/v1alpha1",
        kind: "ClusterGenerator", namespaced: false }
}

impl Validate for ClusterGenerator {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.spec.kind == GeneratorKind::ClusterGenerator {
            errors.push(
                "spec.kind",
                "a ClusterGenerator cannot wrap a ClusterGenerator",
            );
        }
        let set = self.spec.generator.set_specs();
        match set.as_slice() {
            [(kind, name, spec)] => {
                if *kind != self.spec.kind {
                    errors.push(
                        "spec.kind",
                        format!(
                            "is {} but spec.generator holds {name}",
                            self.spec.kind.as_str()
                        ),
                    );
                }
                spec.validate_spec(None, &format!("spec.generator.{name}"), &mut errors);
            }
            _ => {
                let names: Vec<&str> = set.iter().map(|(_, n, _)| *n).collect();
                errors.push(
                    "spec.generator",
                    format!(
                        "exactly one generator spec must be set, found {} ({})",
                        set.len(),
                        names.join(", ")
                    ),
                );
            }
        }
        errors.into_result()
    }
}

// ---------------------------------------------------------------------------------------------
// GeneratorState

/// Label on a GeneratorState naming the consumer entry that owns it.
pub const GENERATOR_STATE_OWNER_KEY_LABEL: &str = "generators.external-secrets.io/owner-key";

/// Spec of a `GeneratorState`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "generators.external-secrets.io",
        version = "v1alpha1",
        kind = "GeneratorState",
        namespaced,
        status = "GeneratorStateStatus",
        derive = "PartialEq",
        shortname = "gs",
        category = "external-secrets",
        category = "external-secrets-generators"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateSpec {
    /// When the state may be garbage-collected (RFC 3339); never when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage_collection_deadline: Option<String>,
    /// Snapshot of the generator manifest that produced the state.
    #[cfg_attr(
        feature = "kube",
        schemars(schema_with = "super::meta::free_form_schema")
    )]
    pub resource: serde_json::Value,
    /// The generator's state.
    #[cfg_attr(
        feature = "kube",
        schemars(schema_with = "super::meta::free_form_schema")
    )]
    pub state: serde_json::Value,
}

/// Observed state of a `GeneratorState`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GeneratorStateStatus {
    /// Conditions (type `Ready`, reasons `Created` / `Error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

super::eso_resource! {
    /// State produced by a stateful generator, kept for later cleanup.
    GeneratorState { spec: GeneratorStateSpec, status: GeneratorStateStatus, api_version: "generators.external-secrets.io/v1alpha1",
        kind: "GeneratorState", namespaced: true }
}

impl Validate for GeneratorState {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(d) = &self.spec.garbage_collection_deadline {
            check_time(d, "spec.garbageCollectionDeadline", &mut errors);
        }
        match self
            .spec
            .resource
            .get("apiVersion")
            .and_then(|v| v.as_str())
        {
            _ if !self.spec.resource.is_object() => {
                errors.push("spec.resource", "must be an object")
            }
            Some(av) if !av.starts_with("generators.external-secrets.io/") => errors.push(
                "spec.resource.apiVersion",
                "must be in the generators.external-secrets.io group",
            ),
            _ => {}
        }
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths<T: Validate>(t: &T) -> Vec<String> {
        match t.validate() {
            Ok(()) => vec![],
            Err(e) => e.errors().iter().map(|e| e.path.clone()).collect(),
        }
    }

    fn root<T: serde::de::DeserializeOwned>(kind: &str, spec: serde_json::Value) -> T {
        serde_json::from_value(serde_json::json!({
            "apiVersion": super::super::GENERATORS_API_VERSION, "kind": kind, "metadata": {"name": "g", "namespace": "ns"}, "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn github_access_token_names_bad_fields() {
        let g: GithubAccessToken = root(
            "GithubAccessToken",
            serde_json::json!({"url": "ghe.example.com", "appID": " ", "installID": "7/x",
                "auth": {"privateKey": {"secretRef": {"name": "Bad_Name"}}}}),
        );
        let p = paths(&g);
        for f in ["spec.appID", "spec.installID", "spec.url"] {
            assert!(p.iter().any(|x| x == f), "{f} not in {p:?}");
        }
        assert!(
            p.iter()
                .any(|x| x.starts_with("spec.auth.privateKey.secretRef")),
            "{p:?}"
        );
        let g: GithubAccessToken = root(
            "GithubAccessToken",
            serde_json::json!({"appID": "1", "installID": "2",
                "auth": {"privateKey": {"secretRef": {"name": "k", "key": "pem"}}}}),
        );
        assert_eq!(paths(&g), Vec::<String>::new());
    }

    #[test]
    fn federation_and_beyondtrust_specs_name_bad_fields() {
        let q: QuayAccessToken = root(
            "QuayAccessToken",
            serde_json::json!({"url": "http://quay.local", "robotAccount": "",
                "serviceAccountRef": {"name": ""}}),
        );
        assert_eq!(
            paths(&q),
            [
                "spec.robotAccount",
                "spec.url",
                "spec.serviceAccountRef.name"
            ]
        );
        let c: CloudsmithAccessToken = root(
            "CloudsmithAccessToken",
            serde_json::json!({"apiUrl": "api.cloudsmith.io", "orgSlug": " ", "serviceSlug": "",
                "serviceAccountRef": {"name": "builder"}}),
        );
        assert_eq!(
            paths(&c),
            ["spec.orgSlug", "spec.serviceSlug", "spec.apiUrl"]
        );
        let b: BeyondtrustWorkloadCredentialsDynamicSecret = root(
            "BeyondtrustWorkloadCredentialsDynamicSecret",
            serde_json::json!({"provider": {
                "auth": {"apikey": {"token": {"name": "bt", "key": "token"}}},
                "server": {"apiUrl": "https://bt.example", "siteId": "not-checked-here"}}}),
        );
        assert_eq!(paths(&b), ["spec.provider.folderPath"]);
    }

    #[test]
    fn password_defaults() {
        let p: Password = root("Password", serde_json::json!({}));
        assert_eq!(p.spec, PasswordSpec::default());
        let r = p.spec.resolved().unwrap();
        assert_eq!((r.length, r.digits, r.symbols), (24, 6, 6));
        assert_eq!(r.secret_keys, ["password"]);
        assert_eq!(r.symbol_characters, PASSWORD_DEFAULT_SYMBOLS);
        assert_eq!(r.encoding, PasswordEncoding::Raw);
    }

    #[test]
    fn password_rules() {
        let cases = [
            (
                serde_json::json!({"length": 8, "digits": 5, "symbols": 5}),
                vec!["spec.length"],
            ),
            (
                serde_json::json!({"digits": 11, "symbols": 0}),
                vec!["spec.digits"],
            ),
            (
                serde_json::json!({"digits": 0, "symbols": 4, "symbolCharacters": "-_."}),
                vec!["spec.symbols"],
            ),
            (
                serde_json::json!({"length": 40, "digits": 6, "symbols": 6, "noUpper": true}),
                vec!["spec.length"],
            ),
            (
                serde_json::json!({"secretKeys": [""]}),
                vec!["spec.secretKeys"],
            ),
            (
                serde_json::json!({"secretKeys": ["a", "a"]}),
                vec!["spec.secretKeys"],
            ),
            (
                serde_json::json!({"secretKeys": []}),
                vec!["spec.secretKeys"],
            ),
            (serde_json::json!({"digits": -1}), vec!["spec.digits"]),
            (
                serde_json::json!({"length": 80, "digits": 20, "symbols": 20, "symbolCharacters": "-",
                "noUpper": true, "allowRepeat": true}),
                vec![],
            ),
        ];
        for (spec, want) in cases {
            let p: Password = root("Password", spec.clone());
            assert_eq!(paths(&p), want, "{spec}");
        }
    }

    #[test]
    fn password_conformance_cases() {
        let Some(text) = crate::testing::conformance_file("generators/password.json") else {
            return;
        };
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        for c in cases {
            let Some(spec) = c.get("spec").filter(|s| s.is_object()) else {
                continue;
            };
            let want_err = c["checks"]["expectError"].as_bool().unwrap();
            let p: Password = root("Password", spec.clone());
            assert_eq!(p.validate().is_err(), want_err, "{}", c["name"]);
            if let Ok(r) = p.spec.resolved() {
                assert_eq!(
                    r.length as u64,
                    c["checks"]["length"].as_u64().unwrap(),
                    "{}",
                    c["name"]
                );
                assert_eq!(
                    r.digits as u64,
                    c["checks"]["digits"].as_u64().unwrap(),
                    "{}",
                    c["name"]
                );
            }
        }
    }

    #[test]
    fn bad_enums_rejected() {
        for (kind, spec) in [
            ("Password", serde_json::json!({"encoding": "rot13"})),
            ("SSHKey", serde_json::json!({"keyType": "dsa"})),
            (
                "VaultDynamicSecret",
                serde_json::json!({"path": "p", "provider": {"server": "s"}, "resultType": "All"}),
            ),
            (
                "GitlabDeployToken",
                serde_json::json!({"name": "n", "projectID": "1", "scopes": ["api"],
                "auth": {"token": {"secretRef": {"name": "t"}}}}),
            ),
            (
                "ECRAuthorizationToken",
                serde_json::json!({"region": "eu-west-1", "scope": "internal"}),
            ),
        ] {
            let v = serde_json::json!({"apiVersion": super::super::GENERATORS_API_VERSION, "kind": kind, "metadata": {"name": "g"}, "spec": spec});
            let ok = match kind {
                "Password" => serde_json::from_value::<Password>(v).is_ok(),
                "SSHKey" => serde_json::from_value::<SSHKey>(v).is_ok(),
                "VaultDynamicSecret" => serde_json::from_value::<VaultDynamicSecret>(v).is_ok(),
                "GitlabDeployToken" => serde_json::from_value::<GitlabDeployToken>(v).is_ok(),
                _ => serde_json::from_value::<ECRAuthorizationToken>(v).is_ok(),
            };
            assert!(!ok, "{kind} accepted a bad enum value");
        }
    }

    #[test]
    fn sshkey_size_range() {
        let k: SSHKey = root(
            "SSHKey",
            serde_json::json!({"keyType": "ecdsa", "keySize": 128}),
        );
        assert_eq!(paths(&k), ["spec.keySize"]);
        let k: SSHKey = root("SSHKey", serde_json::json!({}));
        assert_eq!(k.spec.key_type, SshKeyType::Rsa);
        assert!(paths(&k).is_empty());
    }

    #[test]
    fn gitlab_project_xor_group() {
        let base = |extra: serde_json::Value| {
            let mut s = serde_json::json!({"name": "n", "scopes": ["read_registry"],
                "auth": {"token": {"secretRef": {"name": "t", "key": "token"}}}});
            s.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            root::<GitlabDeployToken>("GitlabDeployToken", s)
        };
        assert_eq!(paths(&base(serde_json::json!({}))), ["spec"]);
        assert_eq!(
            paths(&base(serde_json::json!({"projectID": "1", "groupID": "2"}))),
            ["spec"]
        );
        assert!(paths(&base(serde_json::json!({"groupID": "g/sub"}))).is_empty());
        assert_eq!(
            paths(&base(
                serde_json::json!({"projectID": "1", "expiresAt": "tomorrow"})
            )),
            ["spec.expiresAt"]
        );
        let mut no_scopes = base(serde_json::json!({"projectID": "1"}));
        no_scopes.spec.scopes.clear();
        assert_eq!(paths(&no_scopes), ["spec.scopes"]);
    }

    #[test]
    fn mfa_when_and_sts_duration() {
        let m: MFA = root(
            "MFA",
            serde_json::json!({"secret": {"name": "s", "key": "k"}, "when": "now"}),
        );
        assert_eq!(paths(&m), ["spec.when"]);
        let s: STSSessionToken = root(
            "STSSessionToken",
            serde_json::json!({"region": "eu-west-1",
            "requestParameters": {"sessionDuration": 60}}),
        );
        assert_eq!(paths(&s), ["spec.requestParameters.sessionDuration"]);
    }

    #[test]
    fn acr_auth_formats() {
        // Several methods are allowed (ESO uses the first); formats are checked.
        let a: ACRAccessToken = root(
            "ACRAccessToken",
            serde_json::json!({"registry": "r.azurecr.io", "auth": {"managedIdentity": {},
                "workloadIdentity": {"serviceAccountRef": {"name": ""}}}}),
        );
        assert_eq!(
            paths(&a),
            ["spec.auth.workloadIdentity.serviceAccountRef.name"]
        );
        let a: ACRAccessToken = root(
            "ACRAccessToken",
            serde_json::json!({"registry": "r.azurecr.io", "auth": {"managedIdentity": {}}}),
        );
        assert!(paths(&a).is_empty());
        assert_eq!(a.spec.environment_type, AzureEnvironmentType::PublicCloud);
    }

    #[test]
    fn webhook_timeout_and_auth() {
        let w: Webhook = root(
            "Webhook",
            serde_json::json!({"url": "http://x", "result": {}, "timeout": "5 seconds", "auth": {}}),
        );
        assert_eq!(paths(&w), ["spec.timeout", "spec.auth"]);
    }

    #[test]
    fn vault_dynamic_secret_uses_provider_rules() {
        let v: VaultDynamicSecret = root(
            "VaultDynamicSecret",
            serde_json::json!({"path": "db/creds/x",
            "provider": {"server": "https://v", "auth": {"tokenSecretRef": {"name": "t", "namespace": "other"}}}}),
        );
        assert_eq!(paths(&v), ["spec.provider.auth.tokenSecretRef.namespace"]);
        assert_eq!(v.spec.result_type, VaultDynamicSecretResultType::Data);
    }

    #[test]
    fn cluster_generator_rules() {
        let cg = |v: serde_json::Value| -> ClusterGenerator {
            serde_json::from_value(serde_json::json!({"metadata": {"name": "c"}, "spec": v}))
                .unwrap()
        };
        assert!(
            paths(&cg(
                serde_json::json!({"kind": "UUID", "generator": {"uuidSpec": {}}})
            ))
            .is_empty()
        );
        assert_eq!(
            paths(&cg(
                serde_json::json!({"kind": "Password", "generator": {"uuidSpec": {}}})
            )),
            ["spec.kind"]
        );
        assert_eq!(
            paths(&cg(
                serde_json::json!({"kind": "UUID", "generator": {"uuidSpec": {}, "fakeSpec": {}}})
            )),
            ["spec.generator"]
        );
        assert_eq!(
            paths(&cg(serde_json::json!({"kind": "UUID", "generator": {}}))),
            ["spec.generator"]
        );
        assert_eq!(
            paths(&cg(
                serde_json::json!({"kind": "Password", "generator": {"passwordSpec": {"digits": 30}}})
            )),
            ["spec.generator.passwordSpec.length"]
        );
        assert_eq!(
            paths(&cg(
                serde_json::json!({"kind": "ClusterGenerator", "generator": {"uuidSpec": {}}})
            )),
            ["spec.kind", "spec.kind"]
        );
    }

    #[test]
    fn generator_state() {
        let gs: GeneratorState =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "s"}, "spec": {
            "garbageCollectionDeadline": "2024-01-01T00:00:00Z",
            "resource": {"apiVersion": super::super::GENERATORS_API_VERSION, "kind": "Grafana", "spec": {}},
            "state": {"serviceAccount": {"id": 1, "login": "sa", "tokenID": 2}}}}))
            .unwrap();
        assert!(paths(&gs).is_empty());
        let bad: GeneratorState =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "s"}, "spec": {
            "garbageCollectionDeadline": "soon", "resource": "x", "state": null}}))
            .unwrap();
        assert_eq!(
            paths(&bad),
            ["spec.garbageCollectionDeadline", "spec.resource"]
        );
    }
}
