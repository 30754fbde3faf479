//! Reading credentials and CA bundles from the cluster, with ESO's namespace rules.

use eso_core::api::{CAProvider, CAProviderType, SecretKeySelector, ServiceAccountSelector};
use eso_core::cluster::DynCluster;
use eso_core::provider::StoreScope;
use eso_core::{Error, Result, SecretValue};

/// Where a store's references are resolved.
#[derive(Clone)]
pub(crate) struct Refs {
    pub(crate) cluster: DynCluster,
    /// The store's namespace (SecretStore) or the consumer's (ClusterSecretStore).
    pub(crate) namespace: String,
    pub(crate) scope: StoreScope,
}

impl std::fmt::Debug for Refs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refs")
            .field("namespace", &self.namespace)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Refs {
    /// The namespace a selector's object lives in: its own namespace only for a
    /// ClusterSecretStore (a namespaced store cannot reach elsewhere).
    fn namespace_of<'a>(&'a self, explicit: Option<&'a str>) -> &'a str {
        match (self.scope, explicit) {
            (StoreScope::Cluster, Some(ns)) if !ns.is_empty() => ns,
            _ => &self.namespace,
        }
    }

    /// Reads `sel` (its key, or `default_key` when empty); `field` names the selector in errors.
    pub(crate) async fn secret(
        &self,
        sel: &SecretKeySelector,
        default_key: Option<&str>,
        field: &str,
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
        let secret = self
            .cluster
            .get_secret(ns, &sel.name)
            .await?
            .ok_or_else(|| {
                Error::invalid_config(field, format!("Secret {ns}/{} not found", sel.name))
            })?;
        secret.data.get(key).cloned().ok_or_else(|| {
            Error::invalid_config(
                field,
                format!("key {key:?} not found in Secret {ns}/{}", sel.name),
            )
        })
    }

    /// Like [`Refs::secret`], as text without surrounding whitespace (tokens, IDs, JWTs).
    pub(crate) async fn secret_text(
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

    /// A ServiceAccount token through the TokenRequest API.
    pub(crate) async fn service_account_token(
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

    /// The PEM bytes a `caProvider` points at.
    pub(crate) async fn ca_provider(&self, ca: &CAProvider, field: &str) -> Result<Vec<u8>> {
        let key = ca
            .key
            .as_deref()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::invalid_config(format!("{field}.key"), "is required"))?;
        let ns = self.namespace_of(ca.namespace.as_deref());
        match ca.type_ {
            CAProviderType::Secret => {
                let sel = SecretKeySelector {
                    name: ca.name.clone(),
                    namespace: Some(ns.to_owned()),
                    key: Some(key.to_owned()),
                };
                let scoped = Self {
                    namespace: ns.to_owned(),
                    ..self.clone()
                };
                scoped
                    .secret(&sel, None, field)
                    .await
                    .map(SecretValue::into_bytes)
            }
            CAProviderType::ConfigMap => {
                let cm = self
                    .cluster
                    .get_config_map(ns, &ca.name)
                    .await?
                    .ok_or_else(|| {
                        Error::invalid_config(
                            field,
                            format!("ConfigMap {ns}/{} not found", ca.name),
                        )
                    })?;
                cm.data
                    .get(key)
                    .map(|v| v.as_bytes().to_vec())
                    .ok_or_else(|| {
                        Error::invalid_config(
                            field,
                            format!("key {key:?} not found in ConfigMap {ns}/{}", ca.name),
                        )
                    })
            }
        }
    }
}
