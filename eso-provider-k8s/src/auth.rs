//! Connecting to the remote API server: a kube-rs client from `server` + `auth`, or from a
//! kubeconfig held in a Secret (`authRef`).
//!
//! Every method goes through an in-memory kubeconfig, so kube-rs parses PEM the same way for
//! each. A kubeconfig from a Secret may not make the controller read its own files or run
//! commands: `exec`, `auth-provider`, `tokenFile` and file paths are refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eso_core::api::{KubernetesProvider, SecretKeySelector};
use eso_core::cluster::DynCluster;
use eso_core::provider::StoreScope;
use eso_core::{Error, Result, SecretValue};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

/// Lifetime requested for ServiceAccount tokens (`auth.serviceAccount`).
pub(crate) const SA_TOKEN_SECONDS: i64 = 3600;

/// Where a store's references are resolved (the local cluster).
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
    /// The namespace of an object a selector names: its own only in a ClusterSecretStore.
    pub(crate) fn namespace_of<'a>(&'a self, explicit: Option<&'a str>) -> &'a str {
        match (self.scope, explicit) {
            (StoreScope::Cluster, Some(ns)) if !ns.is_empty() => ns,
            _ => &self.namespace,
        }
    }

    /// Reads one key of a Secret. A missing Secret is `missing_is_temporary` ? Unavailable :
    /// InvalidConfig (the bootstrap case: Cluster API writes the kubeconfig Secret later).
    async fn secret(
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
            let msg = format!("Secret {ns}/{} not found", sel.name);
            return Err(if missing_is_temporary {
                Error::Unavailable {
                    message: format!("{field}: {msg} (yet); waiting for it"),
                    source: None,
                }
            } else {
                Error::invalid_config(field, msg)
            });
        };
        secret.data.get(key).cloned().ok_or_else(|| {
            Error::invalid_config(
                field,
                format!("key {key:?} not found in Secret {ns}/{}", sel.name),
            )
        })
    }

    async fn text(&self, sel: &SecretKeySelector, field: &str) -> Result<String> {
        let v = self.secret(sel, None, field, false).await?;
        v.expose_str()
            .map(|s| s.trim().to_owned())
            .ok_or_else(|| Error::invalid_config(field, "the referenced value is not valid UTF-8"))
    }
}

/// Builds a client for `spec`; `field` is `spec.provider.kubernetes`.
pub(crate) async fn connect(
    spec: &KubernetesProvider,
    refs: &Refs,
    field: &str,
) -> Result<kube::Client> {
    let kubeconfig = match &spec.auth_ref {
        Some(sel) => {
            let f = format!("{field}.authRef");
            let raw = refs.secret(sel, Some("value"), &f, true).await?;
            let text = raw
                .expose_str()
                .ok_or_else(|| Error::invalid_config(&f, "the kubeconfig is not valid UTF-8"))?;
            let kc = Kubeconfig::from_yaml(text).map_err(|e| {
                Error::invalid_config(
                    &f,
                    format!("not a kubeconfig: {}", eso_kube::error::error_chain(&e)),
                )
            })?;
            check_self_contained(&kc, &f)?;
            kc
        }
        None => synthesize(spec, refs, field).await?,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::invalid_config(field, eso_kube::error::error_chain(&e)))?;
    kube::Client::try_from(config)
        .map_err(|e| Error::invalid_config(field, eso_kube::error::error_chain(&e)))
}

/// Refuses kubeconfig features that reach outside the Secret.
fn check_self_contained(kc: &Kubeconfig, field: &str) -> Result<()> {
    for c in &kc.clusters {
        if c.cluster
            .as_ref()
            .is_some_and(|c| c.certificate_authority.is_some())
        {
            return Err(Error::invalid_config(
                field,
                format!(
                    "cluster {:?}: certificate-authority file paths are not allowed (use certificate-authority-data)",
                    c.name
                ),
            ));
        }
    }
    for a in &kc.auth_infos {
        let Some(info) = &a.auth_info else { continue };
        let bad = if info.exec.is_some() {
            Some("exec")
        } else if info.auth_provider.is_some() {
            Some("auth-provider")
        } else if info.token_file.is_some() {
            Some("tokenFile")
        } else if info.client_certificate.is_some() || info.client_key.is_some() {
            Some("client-certificate/client-key file paths")
        } else {
            None
        };
        if let Some(bad) = bad {
            return Err(Error::invalid_config(
                field,
                format!(
                    "user {:?}: {bad} is not allowed in a kubeconfig from a Secret",
                    a.name
                ),
            ));
        }
    }
    Ok(())
}

/// The server URL with a scheme (`https://` when none is given).
fn server_url(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

/// PEM from `caBundle`: PEM text as is, otherwise base64 of PEM.
fn ca_bundle_pem(raw: &str, field: &str) -> Result<Vec<u8>> {
    if raw.contains("-----BEGIN") {
        return Ok(raw.as_bytes().to_vec());
    }
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact)
        .map_err(|_| Error::invalid_config(field, "is neither PEM nor base64 of PEM"))
}

async fn ca_pem(spec: &KubernetesProvider, refs: &Refs, field: &str) -> Result<Option<Vec<u8>>> {
    let Some(server) = &spec.server else {
        return Ok(None);
    };
    if let Some(b) = server.ca_bundle.as_deref().filter(|b| !b.is_empty()) {
        return ca_bundle_pem(b, &format!("{field}.server.caBundle")).map(Some);
    }
    let Some(ca) = &server.ca_provider else {
        return Ok(None);
    };
    let f = format!("{field}.server.caProvider");
    let key = ca
        .key
        .as_deref()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Error::invalid_config(format!("{f}.key"), "is required"))?;
    let ns = refs.namespace_of(ca.namespace.as_deref());
    match ca.type_ {
        eso_core::api::CAProviderType::Secret => {
            let sel = SecretKeySelector {
                name: ca.name.clone(),
                namespace: Some(ns.to_owned()),
                key: Some(key.to_owned()),
            };
            let scoped = Refs {
                namespace: ns.to_owned(),
                ..refs.clone()
            };
            Ok(Some(
                scoped.secret(&sel, None, &f, false).await?.into_bytes(),
            ))
        }
        _ => {
            let cm = refs
                .cluster
                .get_config_map(ns, &ca.name)
                .await?
                .ok_or_else(|| {
                    Error::invalid_config(&f, format!("ConfigMap {ns}/{} not found", ca.name))
                })?;
            cm.data
                .get(key)
                .map(|v| Some(v.as_bytes().to_vec()))
                .ok_or_else(|| {
                    Error::invalid_config(
                        &f,
                        format!("key {key:?} not found in ConfigMap {ns}/{}", ca.name),
                    )
                })
        }
    }
}

/// An in-memory kubeconfig for `server` + `auth`.
async fn synthesize(spec: &KubernetesProvider, refs: &Refs, field: &str) -> Result<Kubeconfig> {
    let auth = spec.auth.as_ref().ok_or_else(|| {
        Error::invalid_config(field, "no auth provider given: set auth or authRef")
    })?;
    let mut user = serde_json::Map::new();
    if let Some(t) = &auth.token {
        let f = format!("{field}.auth.token.bearerToken");
        user.insert("token".into(), json!(refs.text(&t.bearer_token, &f).await?));
    } else if let Some(c) = &auth.cert {
        let cert = refs
            .secret(
                &c.client_cert,
                None,
                &format!("{field}.auth.cert.clientCert"),
                false,
            )
            .await?;
        let key = refs
            .secret(
                &c.client_key,
                None,
                &format!("{field}.auth.cert.clientKey"),
                false,
            )
            .await?;
        user.insert(
            "client-certificate-data".into(),
            json!(STANDARD.encode(cert.expose())),
        );
        user.insert(
            "client-key-data".into(),
            json!(STANDARD.encode(key.expose())),
        );
    } else if let Some(sa) = &auth.service_account {
        let ns = refs.namespace_of(sa.namespace.as_deref());
        let audiences = sa.audiences.clone().unwrap_or_default();
        let token = refs
            .cluster
            .create_service_account_token(ns, &sa.name, &audiences, SA_TOKEN_SECONDS)
            .await
            .map_err(|e| match e {
                Error::NotSupported(m) => {
                    Error::NotSupported(format!("{field}.auth.serviceAccount: {m}").into())
                }
                other => other,
            })?;
        let token = token.expose_str().unwrap_or_default().to_owned();
        user.insert("token".into(), json!(token));
    } else {
        return Err(Error::invalid_config(
            format!("{field}.auth"),
            "exactly one of cert, token or serviceAccount must be set",
        ));
    }
    let mut cluster = serde_json::Map::new();
    cluster.insert("server".into(), json!(server_url(spec.server_url())));
    if let Some(pem) = ca_pem(spec, refs, field).await? {
        cluster.insert(
            "certificate-authority-data".into(),
            json!(STANDARD.encode(pem)),
        );
    }
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "remote", "cluster": cluster}],
        "users": [{"name": "eso", "user": user}],
        "contexts": [{"name": "remote", "context": {"cluster": "remote", "user": "eso"}}],
        "current-context": "remote",
    });
    serde_json::from_value(doc)
        .map_err(|e| Error::invalid_config(field, format!("cannot build a kubeconfig: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_bundles() {
        assert_eq!(
            server_url("kubernetes.default"),
            "https://kubernetes.default"
        );
        assert_eq!(server_url("http://x:1"), "http://x:1");
        let pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
        assert_eq!(ca_bundle_pem(pem, "f").unwrap(), pem.as_bytes());
        assert_eq!(
            ca_bundle_pem(&STANDARD.encode(pem), "f").unwrap(),
            pem.as_bytes()
        );
        assert!(ca_bundle_pem("%%%", "f").is_err());
    }

    #[test]
    fn kubeconfig_reaching_outside_is_refused() {
        let kc = Kubeconfig::from_yaml(
            "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n\
             users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: sh}}}]\n",
        )
        .unwrap();
        let e = check_self_contained(&kc, "spec.provider.kubernetes.authRef").unwrap_err();
        assert!(e.to_string().contains("exec is not allowed"), "{e}");
    }
}
