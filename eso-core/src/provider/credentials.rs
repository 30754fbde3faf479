//! Reading a store's credentials from the cluster: [`Credentials`].
//!
//! Every provider resolves its Secret, ConfigMap and ServiceAccount references here, so ESO's
//! namespace rules hold the same way everywhere: a `SecretStore` reads only from its own
//! namespace (a `namespace` in the reference is ignored; admission rejects a foreign one), a
//! `ClusterSecretStore` reads from the reference's namespace, or from the consumer's when the
//! reference names none ("referent" auth).

use std::fmt;

use super::StoreScope;
use crate::api::{CAProvider, CAProviderType, SecretKeySelector, ServiceAccountSelector};
use crate::cluster::DynCluster;
use crate::{Error, Result, SecretValue};

/// Resolves a store's credential references against the cluster.
///
/// Errors name the store field that holds the reference (`field`), and the Secret or
/// ConfigMap that is missing; they never contain a value.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use eso_core::api::SecretKeySelector;
/// use eso_core::cluster::{Cluster, DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::provider::{Credentials, StoreScope};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cluster = MemoryCluster::new();
/// cluster.create_secret(KubeSecret::new("team-a", "vault-token").with_data("token", " s.abc\n")).await.unwrap();
/// let cluster: DynCluster = Arc::new(cluster);
///
/// // A SecretStore in team-a reads team-a's Secrets only.
/// let creds = Credentials::new(cluster, "team-a", StoreScope::Namespaced);
/// let sel = SecretKeySelector { name: "vault-token".into(), key: Some("token".into()), namespace: None };
/// let token = creds.secret_text(&sel, None, "spec.provider.vault.auth.tokenSecretRef").await.unwrap();
/// assert_eq!(token.expose(), b"s.abc");
///
/// let missing = SecretKeySelector { name: "nope".into(), ..sel };
/// let err = creds.secret(&missing, None, "spec.provider.vault.auth.tokenSecretRef").await.unwrap_err();
/// assert_eq!(err.to_string(), "spec.provider.vault.auth.tokenSecretRef: Secret team-a/nope not found");
/// # });
/// ```
#[derive(Clone)]
pub struct Credentials {
    cluster: DynCluster,
    namespace: String,
    scope: StoreScope,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("namespace", &self.namespace)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// A resolver for a store of `scope` whose references resolve in `namespace` (the
    /// store's own for a `SecretStore`, the consumer's for a `ClusterSecretStore`).
    pub fn new(cluster: DynCluster, namespace: impl Into<String>, scope: StoreScope) -> Self {
        Self {
            cluster,
            namespace: namespace.into(),
            scope,
        }
    }

    /// The cluster references are read from.
    pub fn cluster(&self) -> &DynCluster {
        &self.cluster
    }

    /// The namespace references without one resolve in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Namespaced or cluster store.
    pub fn scope(&self) -> StoreScope {
        self.scope
    }

    /// The namespace an object named with `explicit` lives in: the explicit one only in a
    /// `ClusterSecretStore` (a namespaced store cannot reach elsewhere). An empty `explicit`
    /// counts as none (see [`Credentials::is_referent`]).
    pub fn namespace_of<'a>(&'a self, explicit: Option<&'a str>) -> &'a str {
        match (self.scope, explicit) {
            (StoreScope::Cluster, Some(ns)) if !ns.is_empty() => ns,
            _ => &self.namespace,
        }
    }

    /// Whether this is a "referent" store: a `ClusterSecretStore` with at least one
    /// credential reference (of the `namespaces` given, one per reference the spec sets) that
    /// names no namespace, so it resolves in each consumer's namespace and the store cannot
    /// be checked on its own (ESO's `validate` answers `Unknown` for it).
    ///
    /// An empty namespace (`namespace: ""`) counts as none, everywhere in the kit: it is what
    /// [`Credentials::namespace_of`] resolves in the consumer's namespace, so a reference with
    /// it is referent too. A `SecretStore` is never referent.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eso_core::cluster::{DynCluster, MemoryCluster};
    /// use eso_core::provider::{Credentials, StoreScope};
    ///
    /// let cluster: DynCluster = Arc::new(MemoryCluster::new());
    /// let css = Credentials::new(Arc::clone(&cluster), "consumer", StoreScope::Cluster);
    /// assert!(css.is_referent([Some("vault"), None]));
    /// assert!(css.is_referent([Some("")]));
    /// assert!(!css.is_referent([Some("vault")]));
    /// assert!(!css.is_referent([]));
    /// let ss = Credentials::new(cluster, "team-a", StoreScope::Namespaced);
    /// assert!(!ss.is_referent([None]));
    /// ```
    pub fn is_referent<'a>(&self, namespaces: impl IntoIterator<Item = Option<&'a str>>) -> bool {
        self.scope == StoreScope::Cluster
            && namespaces
                .into_iter()
                .any(|ns| ns.is_none_or(str::is_empty))
    }

    /// Reads the value `sel` points at (its key, or `default_key` when the selector has
    /// none). A missing Secret or key is [`Error::InvalidConfig`] at `field`.
    pub async fn secret(
        &self,
        sel: &SecretKeySelector,
        default_key: Option<&str>,
        field: &str,
    ) -> Result<SecretValue> {
        self.read(sel, default_key, field, false).await
    }

    /// Like [`Credentials::secret`], but a Secret that does not exist yet is a temporary
    /// [`Error::Unavailable`]: for references that something else writes later (a child
    /// cluster's kubeconfig written by the tool that creates the cluster).
    pub async fn secret_or_wait(
        &self,
        sel: &SecretKeySelector,
        default_key: Option<&str>,
        field: &str,
    ) -> Result<SecretValue> {
        self.read(sel, default_key, field, true).await
    }

    /// Like [`Credentials::secret`], as UTF-8 text without surrounding whitespace (tokens,
    /// IDs, keys pasted with a trailing newline).
    pub async fn secret_text(
        &self,
        sel: &SecretKeySelector,
        default_key: Option<&str>,
        field: &str,
    ) -> Result<SecretValue> {
        let v = self.secret(sel, default_key, field).await?;
        let s = v.expose_str().ok_or_else(|| {
            Error::invalid_config(field, "the referenced value is not valid UTF-8")
        })?;
        Ok(SecretValue::from(s.trim()))
    }

    async fn read(
        &self,
        sel: &SecretKeySelector,
        default_key: Option<&str>,
        field: &str,
        missing_is_temporary: bool,
    ) -> Result<SecretValue> {
        let key = sel
            .key
            .as_deref()
            .filter(|k| !k.is_empty())
            .or(default_key)
            .ok_or_else(|| Error::invalid_config(format!("{field}.key"), "is required"))?;
        if sel.name.is_empty() {
            return Err(Error::invalid_config(
                format!("{field}.name"),
                "is required",
            ));
        }
        let ns = self.namespace_of(sel.namespace.as_deref());
        let Some(secret) = self.cluster.get_secret(ns, &sel.name).await? else {
            let what = format!("Secret {ns}/{} not found", sel.name);
            return Err(if missing_is_temporary {
                Error::Unavailable {
                    message: format!("{field}: {what} (yet); waiting for it"),
                    source: None,
                }
            } else {
                Error::invalid_config(field, what)
            });
        };
        secret.data.get(key).cloned().ok_or_else(|| {
            Error::invalid_config(
                field,
                format!("key {key:?} not found in Secret {ns}/{}", sel.name),
            )
        })
    }

    /// A token of the ServiceAccount `sa` through the TokenRequest API, for its audiences
    /// plus `extra_audiences`.
    pub async fn service_account_token(
        &self,
        sa: &ServiceAccountSelector,
        extra_audiences: &[String],
        expiration_seconds: i64,
        field: &str,
    ) -> Result<SecretValue> {
        let ns = self.namespace_of(sa.namespace.as_deref());
        let mut audiences = sa.audiences.clone().unwrap_or_default();
        audiences.extend(extra_audiences.iter().cloned());
        self.cluster
            .create_service_account_token(ns, &sa.name, &audiences, expiration_seconds)
            .await
            .map_err(|e| match e {
                Error::NotSupported(m) => Error::NotSupported(format!("{field}: {m}").into()),
                other => other,
            })
    }

    /// The bytes a `caProvider` points at (a key of a Secret or a ConfigMap).
    pub async fn ca_provider(&self, ca: &CAProvider, field: &str) -> Result<Vec<u8>> {
        let key = ca
            .key
            .as_deref()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::invalid_config(format!("{field}.key"), "is required"))?;
        let ns = self.namespace_of(ca.namespace.as_deref()).to_owned();
        match ca.type_ {
            CAProviderType::Secret => {
                let sel = SecretKeySelector {
                    name: ca.name.clone(),
                    namespace: None,
                    key: Some(key.to_owned()),
                };
                let scoped = Self {
                    namespace: ns,
                    ..self.clone()
                };
                scoped
                    .secret(&sel, None, field)
                    .await
                    .map(SecretValue::into_bytes)
            }
            CAProviderType::ConfigMap => self.config_map_value(&ns, &ca.name, key, field).await,
        }
    }

    /// The CA bundle a store names: `caBundle` (PEM, or base64 of PEM) when set, else what
    /// `caProvider` points at; `None` when neither is set. `field` is the block holding both
    /// (`spec.provider.vault`, `spec.provider.kubernetes.server`).
    pub async fn ca_bundle(
        &self,
        ca_bundle: Option<&str>,
        ca_provider: Option<&CAProvider>,
        field: &str,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(b) = ca_bundle.filter(|b| !b.is_empty()) {
            return pem_bundle(b.as_bytes(), &format!("{field}.caBundle")).map(Some);
        }
        let Some(ca) = ca_provider else {
            return Ok(None);
        };
        let path = format!("{field}.caProvider");
        let raw = self.ca_provider(ca, &path).await?;
        pem_bundle(&raw, &path).map(Some)
    }

    /// One key of a ConfigMap in `namespace`, as bytes.
    pub async fn config_map_value(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        field: &str,
    ) -> Result<Vec<u8>> {
        let cm = self
            .cluster
            .get_config_map(namespace, name)
            .await?
            .ok_or_else(|| {
                Error::invalid_config(field, format!("ConfigMap {namespace}/{name} not found"))
            })?;
        cm.data
            .get(key)
            .map(|v| v.as_bytes().to_vec())
            .ok_or_else(|| {
                Error::invalid_config(
                    field,
                    format!("key {key:?} not found in ConfigMap {namespace}/{name}"),
                )
            })
    }
}

/// Accepts a PEM bundle, or base64 of one (once or twice, as ESO does for `[]byte` fields);
/// anything else is an error at `field`.
///
/// # Example
///
/// ```
/// use eso_core::provider::pem_bundle;
///
/// let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
/// assert_eq!(pem_bundle(pem, "caBundle").unwrap(), pem);
/// let b64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
/// assert_eq!(pem_bundle(b64.as_bytes(), "caBundle").unwrap(), pem);
/// assert!(pem_bundle(b"nope", "caBundle").is_err());
/// ```
pub fn pem_bundle(raw: &[u8], field: &str) -> Result<Vec<u8>> {
    use base64::Engine as _;
    let mut cur = raw.to_vec();
    for _ in 0..3 {
        if cur.windows(11).any(|w| w == b"-----BEGIN ") {
            return Ok(cur);
        }
        let compact: Vec<u8> = cur
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        match base64::engine::general_purpose::STANDARD.decode(&compact) {
            Ok(d) => cur = d,
            Err(_) => break,
        }
    }
    Err(Error::invalid_config(
        field,
        "is neither a PEM certificate bundle nor base64 of one",
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::{Cluster, KubeSecret, MemoryCluster};

    async fn cluster() -> DynCluster {
        let c = MemoryCluster::new();
        for ns in ["store-ns", "consumer", "vault"] {
            c.create_secret(KubeSecret::new(ns, "cred").with_data("k", ns))
                .await
                .unwrap();
        }
        Arc::new(c)
    }

    fn sel(ns: Option<&str>) -> SecretKeySelector {
        SecretKeySelector {
            name: "cred".into(),
            key: Some("k".into()),
            namespace: ns.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn namespace_rules_follow_eso() {
        let c = cluster().await;
        // A SecretStore never leaves its namespace.
        let ns = Credentials::new(Arc::clone(&c), "store-ns", StoreScope::Namespaced);
        let v = ns.secret(&sel(Some("vault")), None, "f").await.unwrap();
        assert_eq!(v.expose(), b"store-ns");
        // A ClusterSecretStore reads the named namespace, or the consumer's (referent).
        let css = Credentials::new(c, "consumer", StoreScope::Cluster);
        let v = css.secret(&sel(Some("vault")), None, "f").await.unwrap();
        assert_eq!(v.expose(), b"vault");
        let v = css.secret(&sel(None), None, "f").await.unwrap();
        assert_eq!(v.expose(), b"consumer");
    }

    #[test]
    fn pem_bundles_plain_or_base64_once_or_twice() {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        let pem = "-----BEGIN CERTIFICATE-----\nMIIBADCBsw==\n-----END CERTIFICATE-----\n";
        let once = STANDARD.encode(pem);
        let twice = STANDARD.encode(&once);
        for raw in [pem, &once, &twice] {
            assert_eq!(pem_bundle(raw.as_bytes(), "f").unwrap(), pem.as_bytes());
        }
        let err = pem_bundle(b"not a cert", "spec.provider.vault.caBundle").unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.provider.vault.caBundle: is neither a PEM certificate bundle nor base64 of one"
        );
    }

    #[tokio::test]
    async fn missing_references_name_the_field() {
        let c = cluster().await;
        let creds = Credentials::new(c, "store-ns", StoreScope::Namespaced);
        let no_key = SecretKeySelector {
            key: None,
            ..sel(None)
        };
        let e = creds.secret(&no_key, None, "spec.x").await.unwrap_err();
        assert_eq!(e.to_string(), "spec.x.key: is required");
        assert_eq!(
            creds
                .secret(&no_key, Some("k"), "spec.x")
                .await
                .unwrap()
                .expose(),
            b"store-ns"
        );
        let wrong_key = SecretKeySelector {
            key: Some("other".into()),
            ..sel(None)
        };
        let e = creds.secret(&wrong_key, None, "spec.x").await.unwrap_err();
        assert!(
            e.to_string()
                .contains("key \"other\" not found in Secret store-ns/cred")
        );
        let later = SecretKeySelector {
            name: "kubeconfig".into(),
            ..sel(None)
        };
        let e = creds
            .secret_or_wait(&later, None, "spec.x")
            .await
            .unwrap_err();
        assert!(e.is_temporary(), "{e}");
        let e = creds.secret(&later, None, "spec.x").await.unwrap_err();
        assert!(!e.is_temporary(), "{e}");
    }
}
