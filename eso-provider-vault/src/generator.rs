//! The `VaultDynamicSecret` generator: reads or writes any Vault path (database credentials,
//! PKI certificates, tokens, ...) and returns a section of the answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use eso_core::api::{ValidationErrors, VaultDynamicSecretResultType, VaultDynamicSecretSpec};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreIdentity, StoreScope, property};
use eso_core::{Error, GoDuration, Result, SecretMap, SecretValue};
use reqwest::Method;
use serde_json::Value;

use crate::client::{Call, RetryPolicy};
use crate::{Vault, VaultFactory};

/// The `VaultDynamicSecret` generator (kind `VaultDynamicSecret`).
///
/// `method` empty or `GET` reads `path` with `getParameters` as query parameters, `LIST`
/// lists it, `DELETE` deletes it, any other method writes `parameters` (a JSON object) to
/// it. `resultType` picks the answer's `data` (default), `auth` or the whole answer (`Raw`);
/// each top-level key becomes one output key (strings as they are, other values as JSON).
/// An empty answer is an error unless `allowEmptyResponse` is set.
///
/// Unlike ESO, which logs in on every generation, clients (and their tokens) are kept per
/// provider spec and namespace and reused, so leases are not multiplied by logins. A lease
/// still cannot outlive the token it was created under (Vault revokes child leases with their
/// parent token): prefer roles whose token TTL covers the credential's lifetime.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_provider_vault::VaultDynamicSecret;
///
/// # async fn run(cluster: DynCluster) -> eso_core::Result<()> {
/// let spec = serde_json::json!({
///     "path": "pki/issue/web",
///     "method": "POST",
///     "parameters": {"common_name": "app.example.com"},
///     "provider": {"server": "https://vault:8200",
///                  "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}
/// });
/// let out = VaultDynamicSecret::new()
///     .generate(&GeneratorContext::new(&spec, "apps", &cluster))
///     .await?;
/// assert!(out.data.contains_key("certificate"));
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct VaultDynamicSecret {
    factory: VaultFactory,
    clients: Mutex<HashMap<String, Vault>>,
}

impl VaultDynamicSecret {
    /// The generator kind.
    pub const KIND: &'static str = "VaultDynamicSecret";

    /// A generator with an empty client cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// A generator whose clients are built by `factory` (pod token path, ...).
    pub fn with_factory(factory: VaultFactory) -> Self {
        Self {
            factory,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Revokes the tokens of every cached client and empties the cache.
    pub async fn close(&self) -> Result<()> {
        let clients: Vec<Vault> = self
            .clients
            .lock()
            .map(|mut m| m.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for c in clients {
            c.close().await?;
        }
        Ok(())
    }

    async fn client(
        &self,
        spec: &VaultDynamicSecretSpec,
        ctx: &GeneratorContext<'_>,
    ) -> Result<Vault> {
        let retry = retry_policy(spec)?;
        let key = format!(
            "{}\n{:?}\n{}",
            ctx.namespace,
            retry,
            serde_json::to_string(&spec.provider).unwrap_or_default()
        );
        if let Some(v) = self.clients.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(v);
        }
        let store = StoreIdentity::new(StoreScope::Namespaced, ctx.namespace, Self::KIND);
        let v = self
            .factory
            .build_from(
                &spec.provider,
                "spec.provider",
                &store,
                ctx.namespace,
                ctx.cluster,
                retry,
            )
            .await?;
        if let Ok(mut m) = self.clients.lock() {
            m.entry(key).or_insert_with(|| v.clone());
        }
        Ok(v)
    }
}

fn parse_spec(spec: &Value) -> Result<VaultDynamicSecretSpec> {
    if spec.is_null() {
        return Err(Error::invalid_config("spec", "no spec provided"));
    }
    serde_path_to_error::deserialize(spec).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "spec".to_owned()
        } else {
            format!("spec.{path}")
        };
        Error::invalid_config(path, e.into_inner().to_string())
    })
}

fn retry_policy(spec: &VaultDynamicSecretSpec) -> Result<RetryPolicy> {
    let Some(r) = &spec.retry_settings else {
        return Ok(RetryPolicy::default());
    };
    let max = u32::try_from(r.max_retries.unwrap_or(0).max(0)).unwrap_or(0);
    let wait = match r.retry_interval.as_deref() {
        None | Some("") => Duration::from_secs(1),
        Some(s) => GoDuration::parse(s)
            .ok()
            .and_then(GoDuration::to_std)
            .ok_or_else(|| {
                Error::invalid_config("spec.retrySettings.retryInterval", "not a valid duration")
            })?,
    };
    Ok(RetryPolicy::new(max, wait))
}

#[async_trait]
impl Generator for VaultDynamicSecret {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = parse_spec(ctx.spec)?;
        if spec.path.trim().is_empty() {
            return Err(Error::invalid_config("spec.path", "is required"));
        }
        let mut errors = ValidationErrors::new();
        spec.provider.validate_store(
            eso_core::api::StoreScope::namespaced(Some(ctx.namespace)),
            "spec.provider",
            &mut errors,
        );
        errors.into_result()?;
        let vault = self.client(&spec, ctx).await?;
        let path = spec.path.trim().trim_matches('/');
        let method = spec.method.as_deref().unwrap_or("").to_ascii_uppercase();
        let body;
        let call = match method.as_str() {
            "" | "GET" => {
                let mut c = Call::get(path);
                for (k, values) in spec.get_parameters.iter().flatten() {
                    for v in values {
                        c = c.with_query(k, v.clone());
                    }
                }
                c
            }
            "LIST" => Call::list(path),
            "DELETE" => Call::delete(path),
            other => {
                body = match &spec.parameters {
                    None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
                    Some(Value::Object(m)) => Value::Object(m.clone()),
                    Some(_) => {
                        return Err(Error::invalid_config(
                            "spec.parameters",
                            "must be a JSON object",
                        ));
                    }
                };
                let m = Method::from_bytes(other.as_bytes()).map_err(|_| {
                    Error::invalid_config("spec.method", format!("{other:?} is not an HTTP method"))
                })?;
                // Vault treats PUT and POST alike; anything else is a write as in ESO.
                let m = if m == Method::PUT || m == Method::PATCH {
                    m
                } else {
                    Method::POST
                };
                Call::post(path, &body).with_method(m)
            }
        };
        let resp = match vault.call(call).await {
            Err(e) if e.is_not_found() => None,
            r => r?,
        };
        let Some(resp) = resp else {
            if spec.allow_empty_response {
                return Ok(GeneratorOutput::new(SecretMap::new()));
            }
            return Err(Error::generic(format!(
                "vault {path}: empty response (set allowEmptyResponse to accept it)"
            )));
        };
        let section = match spec.result_type {
            VaultDynamicSecretResultType::Data => resp.get("data").cloned(),
            VaultDynamicSecretResultType::Auth => resp.get("auth").cloned(),
            VaultDynamicSecretResultType::Raw => Some(resp),
        };
        let data: SecretMap = match section {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), SecretValue::new(property::value_to_bytes(v))))
                .collect(),
            _ => SecretMap::new(),
        };
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &Value) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::cluster::{DynCluster, MemoryCluster};
    use std::sync::Arc;

    fn ctx_run(spec: Value) -> Result<GeneratorOutput> {
        let cluster: DynCluster = Arc::new(MemoryCluster::new());
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                VaultDynamicSecret::new()
                    .generate(&GeneratorContext::new(&spec, "ns", &cluster))
                    .await
            })
    }

    #[test]
    fn spec_errors_name_fields() {
        assert_eq!(
            ctx_run(Value::Null).unwrap_err().to_string(),
            "spec: no spec provided"
        );
        let e = ctx_run(serde_json::json!({"path": "x"})).unwrap_err();
        assert!(
            e.to_string().starts_with("spec: missing field `provider`"),
            "{e}"
        );
        let e = ctx_run(serde_json::json!({"path": " ", "provider": {"server": "http://v"}}))
            .unwrap_err();
        assert_eq!(e.to_string(), "spec.path: is required");
        let e = ctx_run(
            serde_json::json!({"path": "p", "method": "POST", "parameters": [1],
            "provider": {"server": "http://127.0.0.1:9"}}),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "spec.parameters: must be a JSON object");
        let e = ctx_run(
            serde_json::json!({"path": "p", "retrySettings": {"retryInterval": "soon"},
            "provider": {"server": "http://127.0.0.1:9"}}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.retrySettings.retryInterval"),
            "{e}"
        );
    }
}
