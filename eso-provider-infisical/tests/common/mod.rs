//! The Infisical test server's environment (`scripts/backends/infisical.sh start`), stores
//! built against it, and direct API calls to seed and inspect it.
#![allow(dead_code)] // each test binary uses its own subset

use std::sync::Arc;

use base64::Engine as _;
use eso_core::api::SecretStoreProvider;
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{StoreContext, StoreIdentity, StoreScope};
use eso_provider_infisical::{Infisical, InfisicalFactory};
use serde_json::{Value, json};

/// The variables `infisical.sh start` exports.
pub(crate) struct Env {
    pub(crate) api: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) org: String,
    pub(crate) project: String,
    pub(crate) project_id: String,
    pub(crate) env: String,
    pub(crate) ca_pem: String,
    pub(crate) static_token: String,
    pub(crate) short_id: String,
    pub(crate) short_secret: String,
    pub(crate) k8s_identity: String,
    pub(crate) k8s_subject: String,
    pub(crate) jwt_identity: String,
    pub(crate) jwt_subject: String,
    pub(crate) ldap_identity: String,
    pub(crate) ldap_user: String,
    pub(crate) ldap_pass: String,
}

/// The environment, or `None` after reporting how to start the backend.
pub(crate) fn env() -> Option<Env> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let Some(api) = var("INFISICAL_API_URL") else {
        eso_core::testing::backend_unavailable(
            "INFISICAL_API_URL",
            "scripts/backends/infisical.sh start",
        );
        return None;
    };
    let need = |n: &str| {
        var(n).unwrap_or_else(|| panic!("{n} is not set (scripts/backends/infisical.sh start)"))
    };
    Some(Env {
        api,
        client_id: need("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"),
        client_secret: need("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"),
        org: need("INFISICAL_ORG_SLUG"),
        project: need("INFISICAL_PROJECT_SLUG"),
        project_id: need("INFISICAL_PROJECT_ID"),
        env: need("INFISICAL_ENV_SLUG"),
        ca_pem: std::fs::read_to_string(need("INFISICAL_CA_FILE")).expect("CA file"),
        static_token: need("INFISICAL_TOKEN_AUTH_TOKEN"),
        short_id: need("INFISICAL_SHORT_TTL_CLIENT_ID"),
        short_secret: need("INFISICAL_SHORT_TTL_CLIENT_SECRET"),
        k8s_identity: need("INFISICAL_K8S_IDENTITY_ID"),
        k8s_subject: need("INFISICAL_K8S_SUBJECT"),
        jwt_identity: need("INFISICAL_JWT_IDENTITY_ID"),
        jwt_subject: need("INFISICAL_JWT_SUBJECT"),
        ldap_identity: need("INFISICAL_LDAP_IDENTITY_ID"),
        ldap_user: need("INFISICAL_LDAP_USERNAME"),
        ldap_pass: need("INFISICAL_LDAP_PASSWORD"),
    })
}

/// The cloud-identity part of the environment (`infisical.sh start` of this branch).
pub(crate) struct CloudEnv {
    pub(crate) url: String,
    pub(crate) signing_key_pem: String,
    pub(crate) signing_key_pkcs1_pem: String,
    pub(crate) aws_identity: String,
    pub(crate) aws_key_id: String,
    pub(crate) aws_secret: String,
    pub(crate) aws_role_identity: String,
    pub(crate) aws_role_key_id: String,
    pub(crate) azure_identity: String,
    pub(crate) gcp_id_identity: String,
    pub(crate) gcp_iam_identity: String,
    pub(crate) gcp_iam_email: String,
    pub(crate) oci_identity: String,
    pub(crate) oci_tenancy: String,
    pub(crate) oci_user: String,
    pub(crate) oci_fingerprint: String,
}

/// The cloud-identity variables (panics naming the first missing one: a server started by an
/// older `infisical.sh` does not serve the cloud logins).
pub(crate) fn cloud_env() -> CloudEnv {
    let need = |n: &str| {
        std::env::var(n)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("{n} is not set (restart scripts/backends/infisical.sh)"))
    };
    CloudEnv {
        url: need("INFISICAL_CLOUD_URL"),
        signing_key_pem: std::fs::read_to_string(need("INFISICAL_SIGNING_KEY_FILE"))
            .expect("signing key"),
        signing_key_pkcs1_pem: std::fs::read_to_string(need("INFISICAL_SIGNING_KEY_PKCS1_FILE"))
            .expect("signing key (PKCS#1)"),
        aws_identity: need("INFISICAL_AWS_IDENTITY_ID"),
        aws_key_id: need("INFISICAL_AWS_ACCESS_KEY_ID"),
        aws_secret: need("INFISICAL_AWS_SECRET_ACCESS_KEY"),
        aws_role_identity: need("INFISICAL_AWS_ROLE_IDENTITY_ID"),
        aws_role_key_id: need("INFISICAL_AWS_ROLE_ACCESS_KEY_ID"),
        azure_identity: need("INFISICAL_AZURE_IDENTITY_ID"),
        gcp_id_identity: need("INFISICAL_GCP_ID_TOKEN_IDENTITY_ID"),
        gcp_iam_identity: need("INFISICAL_GCP_IAM_IDENTITY_ID"),
        gcp_iam_email: need("INFISICAL_GCP_IAM_EMAIL"),
        oci_identity: need("INFISICAL_OCI_IDENTITY_ID"),
        oci_tenancy: need("INFISICAL_OCI_TENANCY"),
        oci_user: need("INFISICAL_OCI_USER"),
        oci_fingerprint: need("INFISICAL_OCI_FINGERPRINT"),
    }
}

/// An (unsigned) JWT with subject `sub`: the test server checks the subject it receives.
pub(crate) fn jwt(sub: &str) -> String {
    let b64 = |v: Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.c2ln",
        b64(json!({"alg": "RS256"})),
        b64(json!({"sub": sub}))
    )
}

impl Env {
    /// A store spec with `auth` and `scope` overrides.
    pub(crate) fn spec(&self, auth: Value, scope: Value) -> SecretStoreProvider {
        let mut s = json!({"organizationSlug": self.org, "projectSlug": self.project,
            "environmentSlug": self.env});
        for (k, v) in scope.as_object().into_iter().flatten() {
            s[k] = v.clone();
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.ca_pem.as_bytes());
        serde_json::from_value(json!({"infisical": {"hostAPI": self.api, "caBundle": b64,
            "auth": auth, "secretsScope": s}}))
        .expect("spec")
    }

    /// A cluster holding the credentials the specs refer to (Secret `infisical` in `apps`).
    pub(crate) fn cluster(&self) -> DynCluster {
        Arc::new(
            MemoryCluster::new().with_secret(
                KubeSecret::new("apps", "infisical")
                    .with_data("clientId", self.client_id.as_str())
                    .with_data("clientSecret", self.client_secret.as_str())
                    .with_data("shortId", self.short_id.as_str())
                    .with_data("shortSecret", self.short_secret.as_str())
                    .with_data("token", self.static_token.as_str())
                    .with_data("identityId", self.k8s_identity.as_str())
                    .with_data("wrong", "not-the-secret")
                    .with_data("jwtIdentity", self.jwt_identity.as_str())
                    .with_data("jwt", jwt(&self.jwt_subject))
                    .with_data("otherJwt", jwt("someone-else"))
                    .with_data("ldapIdentity", self.ldap_identity.as_str())
                    .with_data("ldapUser", self.ldap_user.as_str())
                    .with_data("ldapPass", self.ldap_pass.as_str()),
            ),
        )
    }

    /// Universal auth with the keys `id_key` / `secret_key` of the credentials Secret.
    pub(crate) fn universal(id_key: &str, secret_key: &str) -> Value {
        json!({"universalAuthCredentials": {
            "clientId": {"name": "infisical", "key": id_key},
            "clientSecret": {"name": "infisical", "key": secret_key}}})
    }

    /// Builds a store with `factory`.
    pub(crate) async fn build_with(
        &self,
        factory: &InfisicalFactory,
        spec: &SecretStoreProvider,
    ) -> eso_core::Result<Infisical> {
        self.build_in(factory, spec, self.cluster()).await
    }

    /// Builds a store with `factory`, its Secrets in `cluster`.
    pub(crate) async fn build_in(
        &self,
        factory: &InfisicalFactory,
        spec: &SecretStoreProvider,
        cluster: DynCluster,
    ) -> eso_core::Result<Infisical> {
        let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "infisical");
        factory
            .build(&StoreContext::new(&store, spec, "apps", &cluster))
            .await
    }

    /// Builds a universal-auth store with `scope` overrides.
    pub(crate) async fn store(&self, scope: Value) -> Infisical {
        let spec = self.spec(Self::universal("clientId", "clientSecret"), scope);
        self.build_with(&InfisicalFactory::new(), &spec)
            .await
            .expect("store")
    }

    fn http(&self) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).expect("CA");
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .expect("client")
    }

    /// A token from the universal-auth login, straight from the API.
    async fn token(&self) -> String {
        let v: Value = self
            .http()
            .post(format!("{}/v1/auth/universal-auth/login", self.api))
            .json(&json!({"clientId": self.client_id, "clientSecret": self.client_secret}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login answer");
        v["accessToken"].as_str().expect("accessToken").to_owned()
    }

    /// Creates a folder `name` under `parent` (already existing is fine).
    pub(crate) async fn folder(&self, parent: &str, name: &str) {
        let token = self.token().await;
        self.http()
            .post(format!("{}/v1/folders", self.api))
            .bearer_auth(token)
            .json(
                &json!({"workspaceId": self.project_id, "environment": self.env,
                "name": name, "path": parent}),
            )
            .send()
            .await
            .expect("folder");
    }

    /// Writes `value` at `path`/`key` through the API (creating or updating).
    pub(crate) async fn seed(&self, path: &str, key: &str, value: &str) {
        let token = self.token().await;
        let body = json!({"workspaceId": self.project_id, "environment": self.env,
            "secretPath": path, "secretValue": value, "type": "shared"});
        let url = format!("{}/v3/secrets/raw/{key}", self.api);
        let r = self
            .http()
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("seed");
        if !r.status().is_success() {
            let r = self
                .http()
                .patch(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .expect("seed");
            assert!(r.status().is_success(), "seed {path}/{key}: {}", r.status());
        }
    }

    /// The raw (unexpanded) value at `path`/`key`, `None` when missing.
    pub(crate) async fn read(&self, path: &str, key: &str) -> Option<String> {
        let token = self.token().await;
        let r = self
            .http()
            .get(format!("{}/v3/secrets/raw/{key}", self.api))
            .bearer_auth(token)
            .query(&[
                ("workspaceId", self.project_id.as_str()),
                ("environment", self.env.as_str()),
                ("secretPath", path),
                ("expandSecretReferences", "false"),
            ])
            .send()
            .await
            .expect("read");
        if r.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        let v: Value = r.json().await.expect("read answer");
        v["secret"]["secretValue"].as_str().map(str::to_owned)
    }

    /// The server's test statistics.
    pub(crate) async fn stats(&self) -> Value {
        let base = self.api.trim_end_matches("/api");
        self.http()
            .get(format!("{base}/_test/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats")
    }

    /// Expires every renewable token on the server.
    pub(crate) async fn expire_tokens(&self) {
        let base = self.api.trim_end_matches("/api");
        self.http()
            .post(format!("{base}/_test/expire-tokens"))
            .send()
            .await
            .expect("expire");
    }
}
