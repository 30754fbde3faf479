//! Connecting to the remote API server: a kube-rs client from `server` + `auth`, or from a
//! kubeconfig held in a Secret (`authRef`).
//!
//! Every method goes through an in-memory kubeconfig, so kube-rs parses PEM the same way for
//! each. A kubeconfig from a Secret may not make the controller read its own files or run
//! commands: `exec`, `auth-provider`, `tokenFile` and file paths are refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eso_core::api::KubernetesProvider;
use eso_core::provider::{Credentials, error_chain};
use eso_core::{Error, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

/// Lifetime requested for ServiceAccount tokens (`auth.serviceAccount`).
pub(crate) const SA_TOKEN_SECONDS: i64 = 3600;

/// Builds a client for `spec`; `field` is `spec.provider.kubernetes`.
///
/// A kubeconfig Secret that does not exist yet is a temporary error: the tool creating a
/// child cluster writes it later (the bootstrap case).
pub(crate) async fn connect(
    spec: &KubernetesProvider,
    creds: &Credentials,
    field: &str,
) -> Result<kube::Client> {
    let kubeconfig = match &spec.auth_ref {
        Some(sel) => {
            let f = format!("{field}.authRef");
            let raw = creds.secret_or_wait(sel, Some("value"), &f).await?;
            let text = raw
                .expose_str()
                .ok_or_else(|| Error::invalid_config(&f, "the kubeconfig is not valid UTF-8"))?;
            // Our parser: its errors give line and column and never quote the kubeconfig
            // (it holds credentials).
            let kc: Kubeconfig = eso_core::api::parse_yaml(text)
                .map_err(|e| Error::invalid_config(&f, format!("not a kubeconfig: {e}")))?;
            check_self_contained(&kc, &f)?;
            kc
        }
        None => synthesize(spec, creds, field).await?,
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::invalid_config(field, error_chain(&e)))?;
    kube::Client::try_from(config).map_err(|e| Error::invalid_config(field, error_chain(&e)))
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

/// An in-memory kubeconfig for `server` + `auth`.
async fn synthesize(
    spec: &KubernetesProvider,
    creds: &Credentials,
    field: &str,
) -> Result<Kubeconfig> {
    let auth = spec.auth.as_ref().ok_or_else(|| {
        Error::invalid_config(field, "no auth provider given: set auth or authRef")
    })?;
    let mut user = serde_json::Map::new();
    if let Some(t) = &auth.token {
        let f = format!("{field}.auth.token.bearerToken");
        let token = creds.secret_text(&t.bearer_token, None, &f).await?;
        user.insert(
            "token".into(),
            json!(token.expose_str().unwrap_or_default()),
        );
    } else if let Some(c) = &auth.cert {
        let cert = creds
            .secret(
                &c.client_cert,
                None,
                &format!("{field}.auth.cert.clientCert"),
            )
            .await?;
        let key = creds
            .secret(&c.client_key, None, &format!("{field}.auth.cert.clientKey"))
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
        let token = creds
            .service_account_token(
                sa,
                &[],
                SA_TOKEN_SECONDS,
                &format!("{field}.auth.serviceAccount"),
            )
            .await?;
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
    let server = spec.server.as_ref();
    let ca = creds
        .ca_bundle(
            server.and_then(|s| s.ca_bundle.as_deref()),
            server.and_then(|s| s.ca_provider.as_ref()),
            &format!("{field}.server"),
        )
        .await?;
    if let Some(pem) = ca {
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
    fn urls() {
        assert_eq!(
            server_url("kubernetes.default"),
            "https://kubernetes.default"
        );
        assert_eq!(server_url("http://x:1"), "http://x:1");
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
