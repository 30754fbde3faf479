//! The plan's optional Vault/OpenBao initialisation step.
//!
//! For a store whose server says it is not initialised (`GET /v1/sys/init`): initialise it
//! with the plan's key shares and threshold, show the unseal keys and the root token once on
//! the terminal and wait until the user has saved them, unseal it, then put the root token
//! where the plan says (a Secret key, e.g. the one the store's `auth.tokenSecretRef` names)
//! and nowhere else. Optionally enable the KV engine at the store's `path`.

use std::time::Duration;

use base64::Engine as _;
use eso_core::SecretValue;
use eso_core::api::{
    ClusterSecretStore, SecretStore, SecretStoreKind, VaultKvVersion, VaultProvider,
};
use kube::api::Api;
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::plan::{SecretKeyRef, VaultInit};
use super::prompt::{InputValue, PromptError, Terminal};
use super::{Failure, apply};

/// What one step did, for the summary.
#[derive(Debug)]
pub(crate) struct InitReport {
    pub(crate) store: String,
    pub(crate) outcome: String,
}

#[derive(Deserialize)]
struct InitStatus {
    initialized: bool,
}

#[derive(Deserialize)]
struct SealStatus {
    sealed: bool,
}

#[derive(Deserialize)]
struct InitResponse {
    keys: Vec<InputValue>,
    root_token: InputValue,
}

/// The store's Vault/OpenBao settings.
async fn store_provider(client: &kube::Client, step: &VaultInit) -> Result<VaultProvider, Failure> {
    let what = step_name(step);
    let provider = match step.store_kind {
        SecretStoreKind::ClusterSecretStore => Api::<ClusterSecretStore>::all(client.clone())
            .get_opt(&step.store_name)
            .await
            .map(|o| o.map(|s| s.spec.provider.clone())),
        SecretStoreKind::SecretStore => Api::<SecretStore>::namespaced(
            client.clone(),
            step.store_namespace.as_deref().unwrap_or_default(),
        )
        .get_opt(&step.store_name)
        .await
        .map(|o| o.map(|s| s.spec.provider)),
    }
    .map_err(|e| Failure::run(format!("vaultInit {what}: read the store: {e}")))?
    .ok_or_else(|| Failure::usage(format!("vaultInit {what}: the store does not exist")))?;
    provider
        .vault
        .or(provider.open_bao)
        .ok_or_else(|| Failure::usage(format!("vaultInit {what}: not a vault or openBao store")))
}

fn step_name(step: &VaultInit) -> String {
    match &step.store_namespace {
        Some(ns) => format!("{} {ns}/{}", step.store_kind.as_str(), step.store_name),
        None => format!("{} {}", step.store_kind.as_str(), step.store_name),
    }
}

fn http_client(vault: &VaultProvider) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(30));
    if let Some(ca) = vault.ca_bundle.as_deref().filter(|c| !c.is_empty()) {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .map_err(|e| format!("caBundle: not base64: {e}"))?;
        for cert in
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("caBundle: {e}"))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| e.to_string())
}

async fn call<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&SecretValue>,
    body: Option<serde_json::Value>,
) -> Result<T, String> {
    let path = url.split("/v1/").nth(1).unwrap_or_default().to_owned();
    let mut req = http.request(method, &url);
    if let Some(t) = token {
        let t = t.expose_str().unwrap_or_default();
        req = req.header("X-Vault-Token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| format!("{path}: {e}"))?;
    if !status.is_success() {
        // Vault's error bodies hold `errors` messages, never request data.
        let errors: Option<Vec<String>> = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| serde_json::from_value(v["errors"].clone()).ok());
        return Err(format!(
            "{path}: HTTP {status}{}",
            errors
                .map(|e| format!(": {}", e.join("; ")))
                .unwrap_or_default()
        ));
    }
    if bytes.is_empty() {
        return serde_json::from_value(serde_json::Value::Null).map_err(|e| format!("{path}: {e}"));
    }
    eso_core::api::parse_json(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// Waits (up to a minute) until the unsealed server is active: a fresh server elects
/// itself leader of its storage cluster a moment after the last unseal key.
async fn wait_active(http: &reqwest::Client, base: &str) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..120 {
        match http.get(format!("{base}/sys/health")).send().await {
            Ok(r) if r.status().as_u16() == 200 => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("sys/health: not active after unsealing ({last})"))
}

/// Runs one initialisation step. Without a terminal an uninitialised server is refused
/// (the keys can only be shown on one).
pub(crate) async fn run_step(
    client: &kube::Client,
    step: &VaultInit,
    terminal: Option<&Terminal>,
) -> Result<InitReport, Failure> {
    let what = step_name(step);
    let vault = store_provider(client, step).await?;
    let fail = |e: String| Failure::run(format!("vaultInit {what}: {e}"));
    let http = http_client(&vault).map_err(fail)?;
    let server = Server {
        base: format!("{}/v1", vault.server.trim_end_matches('/')),
        http,
    };
    if let Some(outcome) = server.initialised_already().await.map_err(fail)? {
        return Ok(InitReport {
            store: what,
            outcome,
        });
    }
    let Some(term) = terminal else {
        return Err(Failure::usage(format!(
            "vaultInit {what}: the server is not initialised; initialising shows the unseal keys and root token once, which needs a terminal: run esoctl bootstrap on one"
        )));
    };
    let target = root_token_target(step, &vault);
    let resp: InitResponse = server
        .call(
            reqwest::Method::PUT,
            "sys/init",
            None,
            Some(json!({"secret_shares": step.key_shares, "secret_threshold": step.key_threshold})),
        )
        .await
        .map_err(fail)?;

    // Shown before anything else can fail: losing them would lose the server.
    match show_once(term, &what, step, &resp, target.as_ref()) {
        Ok(()) => {}
        Err(PromptError::Interrupted) => return Err(Failure::Interrupted),
        Err(e) => return Err(fail(e.to_string())),
    }

    let mut outcome = "initialised and unsealed".to_owned();
    server
        .unseal(&resp, step.key_threshold)
        .await
        .map_err(fail)?;
    wait_active(&server.http, &server.base)
        .await
        .map_err(fail)?;
    if step.mount_store_path {
        outcome.push_str(
            &server
                .mount_kv(&vault, &resp.root_token.0)
                .await
                .map_err(fail)?,
        );
    }
    if let Some(t) = &target {
        apply::apply_key(client, &t.namespace, &t.name, &t.key, &resp.root_token.0)
            .await
            .map_err(fail)?;
        outcome.push_str(&format!("; root token in Secret {t}"));
    }
    Ok(InitReport {
        store: what,
        outcome,
    })
}

/// One Vault/OpenBao server's API.
struct Server {
    /// `<server>/v1`.
    base: String,
    http: reqwest::Client,
}

impl Server {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&SecretValue>,
        body: Option<serde_json::Value>,
    ) -> Result<T, String> {
        call(
            &self.http,
            method,
            format!("{}/{path}", self.base),
            token,
            body,
        )
        .await
    }

    /// What to report when the server was initialised before (`None` when it was not).
    async fn initialised_already(&self) -> Result<Option<String>, String> {
        let init: InitStatus = self
            .call(reqwest::Method::GET, "sys/init", None, None)
            .await?;
        if !init.initialized {
            return Ok(None);
        }
        let seal: SealStatus = self
            .call(reqwest::Method::GET, "sys/seal-status", None, None)
            .await?;
        Ok(Some(if seal.sealed {
            "initialised already, but sealed: unseal it with its keys".to_owned()
        } else {
            "initialised already".to_owned()
        }))
    }

    /// Sends unseal keys until the server is unsealed (at most `threshold` of them).
    async fn unseal(&self, resp: &InitResponse, threshold: u8) -> Result<(), String> {
        for k in resp.keys.iter().take(usize::from(threshold)) {
            let seal: SealStatus = self
                .call(
                    reqwest::Method::PUT,
                    "sys/unseal",
                    None,
                    Some(json!({"key": k.0.expose_str().unwrap_or_default()})),
                )
                .await?;
            if !seal.sealed {
                break;
            }
        }
        Ok(())
    }

    /// Enables the KV engine of the store's version at its `path`; what to add to the
    /// outcome.
    async fn mount_kv(&self, vault: &VaultProvider, root: &SecretValue) -> Result<String, String> {
        let path = vault.path.clone().unwrap_or_else(|| "secret".to_owned());
        let version = match vault.version {
            VaultKvVersion::V1 => "1",
            VaultKvVersion::V2 => "2",
        };
        self.call::<serde_json::Value>(
            reqwest::Method::POST,
            &format!("sys/mounts/{path}"),
            Some(root),
            Some(json!({"type": "kv", "options": {"version": version}})),
        )
        .await?;
        if version == "2" {
            self.wait_for_kv_v2(&path, root).await?;
        }
        Ok(format!("; KV v{version} enabled at {path}/"))
    }

    /// A new KV v2 engine upgrades its storage first and refuses every request until that is
    /// done ("Upgrading from non-versioned to versioned data"): wait for it (its `config`
    /// answers), so the plan's first push does not meet it. At most 30 s.
    async fn wait_for_kv_v2(&self, path: &str, root: &SecretValue) -> Result<(), String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let probe = self
                .call::<serde_json::Value>(
                    reqwest::Method::GET,
                    &format!("{path}/config"),
                    Some(root),
                    None,
                )
                .await;
            match probe {
                Ok(_) => return Ok(()),
                Err(e) if std::time::Instant::now() >= deadline => {
                    return Err(format!(
                        "the KV v2 engine at {path}/ is not ready after 30 s: {e}"
                    ));
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    }
}

/// Where the root token goes: the plan's `rootTokenSecret`, else the key the store's
/// `auth.tokenSecretRef` names (when its namespace is known).
fn root_token_target(step: &VaultInit, vault: &VaultProvider) -> Option<SecretKeyRef> {
    match &step.root_token_secret {
        Some(r) => Some(r.clone()),
        None => vault
            .auth
            .as_ref()
            .and_then(|a| a.token_secret_ref.as_ref())
            .map(|r| SecretKeyRef {
                namespace: r
                    .namespace
                    .clone()
                    .or_else(|| step.store_namespace.clone())
                    .unwrap_or_default(),
                name: r.name.clone(),
                key: r.key.clone().unwrap_or_else(|| "token".to_owned()),
            })
            .filter(|r| !r.namespace.is_empty()),
    }
}

/// Shows the unseal keys and the root token once and waits until the user has saved them,
/// then wipes the screen and its scroll-back so they do not linger.
fn show_once(
    term: &Terminal,
    what: &str,
    step: &VaultInit,
    resp: &InitResponse,
    target: Option<&SecretKeyRef>,
) -> Result<(), PromptError> {
    let mut shown = Zeroizing::new(format!(
        "\n=== {what}: initialised ({} key shares, threshold {}) ===\n",
        step.key_shares, step.key_threshold
    ));
    for (i, k) in resp.keys.iter().enumerate() {
        shown.push_str(&format!(
            "Unseal key {}: {}\n",
            i + 1,
            k.0.expose_str().unwrap_or_default()
        ));
    }
    shown.push_str(&format!(
        "Root token: {}\n",
        resp.root_token.0.expose_str().unwrap_or_default()
    ));
    shown.push_str(&match target {
        Some(t) => format!("The root token also goes to Secret {t}; nothing else is kept.\n"),
        None => "The root token goes nowhere else: this is the only copy.\n".to_owned(),
    });
    shown.push_str(
        "SAVE THESE OFFLINE NOW. They are shown once and never again.\nPress Enter when they are saved.",
    );
    let paused = term.pause(&shown);
    term.say("\x1b[H\x1b[2J\x1b[3J");
    drop(shown);
    paused
}
