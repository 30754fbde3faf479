//! ServiceAccount tokens from a [`MemoryCluster`] (the TokenRequest API of a real cluster),
//! for tests of providers and generators that federate a Kubernetes identity.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::MemoryCluster;
use crate::{Error, Result, SecretValue};

/// One TokenRequest a [`MemoryCluster`] answered, as a test can inspect it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenRequestRecord {
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// Name of the ServiceAccount.
    pub name: String,
    /// Audiences asked for (empty: the cluster's default, its issuer).
    pub audiences: Vec<String>,
    /// Lifetime asked for, in seconds.
    pub expiration_seconds: i64,
}

/// The token issuer of a [`MemoryCluster`] and what it issued.
#[derive(Debug)]
pub(super) struct TokenIssuer {
    issuer: String,
    issued: Vec<TokenRequestRecord>,
}

impl MemoryCluster {
    /// Answers TokenRequests from now on, as a cluster whose service account issuer is
    /// `issuer`: the token is a JWT with Kubernetes' claims (`iss`, `sub`
    /// `system:serviceaccount:NS:NAME`, `aud`, `iat`, `nbf`, `exp`, `kubernetes.io`). It is
    /// not signed (`alg` `none`): test servers read its claims and cannot check a signature.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::cluster::{Cluster, MemoryCluster};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cluster = MemoryCluster::new().with_service_account_tokens("https://kubernetes.test");
    /// let token = cluster
    ///     .create_service_account_token("apps", "builder", &["quay.io".to_owned()], 600)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(token.expose_str().unwrap().split('.').count(), 3);
    /// let seen = cluster.token_requests();
    /// assert_eq!((seen[0].name.as_str(), seen[0].audiences.as_slice()), ("builder", &["quay.io".to_owned()][..]));
    /// # });
    /// ```
    #[must_use]
    pub fn with_service_account_tokens(self, issuer: impl Into<String>) -> Self {
        if let Ok(mut st) = self.state.write() {
            st.tokens = Some(TokenIssuer {
                issuer: issuer.into(),
                issued: Vec::new(),
            });
        }
        self
    }

    /// The TokenRequests answered so far, oldest first.
    pub fn token_requests(&self) -> Vec<TokenRequestRecord> {
        self.state
            .read()
            .ok()
            .and_then(|st| st.tokens.as_ref().map(|t| t.issued.clone()))
            .unwrap_or_default()
    }

    pub(super) fn issue_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<SecretValue> {
        let mut st = self.write()?;
        st.next_version += 1;
        let serial = st.next_version;
        let Some(tokens) = st.tokens.as_mut() else {
            return Err(Error::not_supported(format!(
                "this cluster client cannot request tokens for ServiceAccount {namespace}/{name} (TokenRequest)"
            )));
        };
        let now = jiff::Timestamp::now().as_second();
        let aud = if audiences.is_empty() {
            vec![tokens.issuer.clone()]
        } else {
            audiences.to_vec()
        };
        let claims = json!({
            "iss": tokens.issuer,
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
            "aud": aud,
            "iat": now,
            "nbf": now,
            "exp": now + expiration_seconds,
            "jti": format!("memory-{serial}"),
            "kubernetes.io": {"namespace": namespace,
                "serviceaccount": {"name": name, "uid": format!("uid-sa-{namespace}-{name}")}},
        });
        tokens.issued.push(TokenRequestRecord {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            audiences: audiences.to_vec(),
            expiration_seconds,
        });
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        Ok(SecretValue::from(format!("{header}.{payload}.")))
    }
}
