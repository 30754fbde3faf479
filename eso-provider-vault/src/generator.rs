//! The `VaultDynamicSecret` generator: reads or writes any Vault path (database credentials,
//! PKI certificates, tokens, ...) and returns a section of the answer.

use std::sync::Mutex;

use async_trait::async_trait;
use eso_core::api::{VaultDynamicSecretResultType, VaultDynamicSecretSpec, VaultProvider};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::provider::{StoreRetry, property};
use eso_core::{Error, Result, SecretMap, SecretValue};
use reqwest::Method;
use serde_json::Value;

use crate::client::Call;
use crate::{Vault, VaultFactory};

/// The key of the lease id in the generator's state.
const LEASE_ID: &str = "leaseID";

/// The `VaultDynamicSecret` generator (kind `VaultDynamicSecret`).
///
/// `method` empty or `GET` reads `path` with `getParameters` as query parameters, `LIST`
/// lists it, `DELETE` deletes it, any other method writes `parameters` (a JSON object) to
/// it. `resultType` picks the answer's `data` (default), `auth` or the whole answer (`Raw`);
/// each top-level key becomes one output key (strings as they are, other values as JSON).
/// An empty answer is an error unless `allowEmptyResponse` is set.
///
/// An answer with a lease (`lease_id`: database credentials, PKI certificates with
/// `generate_lease`) returns the lease id as state (`{"leaseID": ...}`), and
/// [`cleanup`](Generator::cleanup) revokes it through `sys/leases/revoke`: the reconcile flows
/// keep that state in a `GeneratorState` and revoke a lease once the consumer has moved two
/// rotations past it (after the grace period), when a reconcile fails after generating, and
/// when the consumer is deleted. ESO returns no state here and leaves leases to expire. The
/// token the generator logs in with needs `update` on `sys/leases/revoke`.
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
/// use eso_core::api::GeneratorSpec;
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_provider_vault::VaultDynamicSecret;
///
/// # async fn run(cluster: DynCluster) -> eso_core::Result<()> {
/// let spec: GeneratorSpec = serde_json::from_value(serde_json::json!({"vaultDynamicSecretSpec": {
///     "path": "pki/issue/web",
///     "method": "POST",
///     "parameters": {"common_name": "app.example.com"},
///     "provider": {"server": "https://vault:8200",
///                  "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}
/// }})).unwrap();
/// let out = VaultDynamicSecret::new()
///     .generate(&GeneratorContext::new(&spec, "apps", &cluster))
///     .await?;
/// assert!(out.data.contains_key("certificate"));
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct VaultDynamicSecret {
    factory: VaultFactory,
    /// Clients by consumer namespace and provider spec.
    clients: Mutex<Vec<(String, VaultProvider, Vault)>>,
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
            clients: Mutex::new(Vec::new()),
        }
    }

    /// Revokes the tokens of every cached client and empties the cache.
    pub async fn close(&self) -> Result<()> {
        let clients: Vec<Vault> = self
            .clients
            .lock()
            .map(|mut m| m.drain(..).map(|(_, _, v)| v).collect())
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
        let cached = |m: &Vec<(String, VaultProvider, Vault)>| {
            m.iter()
                .find(|(ns, p, _)| ns == ctx.namespace && *p == spec.provider)
                .map(|(_, _, v)| v.clone())
        };
        if let Some(v) = self.clients.lock().ok().and_then(|m| cached(&m)) {
            return Ok(v);
        }
        let v = self
            .factory
            .build_from(&spec.provider, "spec.provider", ctx.credentials())
            .await?;
        if let Ok(mut m) = self.clients.lock() {
            match cached(&m) {
                Some(existing) => return Ok(existing),
                None => m.push((ctx.namespace.to_owned(), spec.provider.clone(), v.clone())),
            }
        }
        Ok(v)
    }
}

#[async_trait]
impl Generator for VaultDynamicSecret {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of(Self::KIND, |s| s.vault_dynamic_secret_spec.as_ref())?;
        if spec.path.trim().is_empty() {
            return Err(Error::invalid_config("spec.path", "is required"));
        }
        VaultFactory::check(
            &spec.provider,
            "spec.provider",
            eso_core::api::StoreScope::namespaced(Some(ctx.namespace)),
        )?;
        let retry = match &spec.retry_settings {
            Some(r) => StoreRetry::from_settings(r, "spec.retrySettings")?,
            None => StoreRetry::default(),
        };
        let vault = self.client(spec, ctx).await?;
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
        let resp = match retry.run(|| vault.call(call.clone())).await {
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
        // The lease (not a secret: a reference to one) is the state, so the lease can be
        // revoked once the consumer has moved on.
        let lease = resp
            .get("lease_id")
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::json!({ LEASE_ID: l }));
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
        let out = GeneratorOutput::new(data);
        Ok(match lease {
            Some(state) => out.with_state(state),
            None => out,
        })
    }

    /// Revokes the lease the state names (`sys/leases/revoke`, with the generator's own
    /// credentials); a state without a lease, or a lease Vault no longer knows, is done.
    async fn cleanup(&self, ctx: &GeneratorContext<'_>, state: &Value) -> Result<()> {
        let Some(lease) = state.get(LEASE_ID) else {
            return Ok(());
        };
        let lease = lease.as_str().filter(|l| !l.is_empty()).ok_or_else(|| {
            Error::invalid_config(
                format!("spec.state.{LEASE_ID}"),
                "must be a non-empty string",
            )
        })?;
        let spec = ctx.spec_of(Self::KIND, |s| s.vault_dynamic_secret_spec.as_ref())?;
        let vault = self.client(spec, ctx).await?;
        let body = serde_json::json!({ "lease_id": lease });
        vault
            .call(Call::post("sys/leases/revoke", &body).with_method(Method::PUT))
            .await
            .map(|_| ())
            .map_err(|e| e.context(format!("revoking lease {lease}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::api::GeneratorSpec;
    use eso_core::cluster::{DynCluster, MemoryCluster};
    use std::sync::Arc;

    fn ctx_run(spec: Value) -> Result<GeneratorOutput> {
        let cluster: DynCluster = Arc::new(MemoryCluster::new());
        let spec: GeneratorSpec =
            serde_json::from_value(serde_json::json!({ "vaultDynamicSecretSpec": spec }))
                .map_err(|e| Error::invalid_config("spec", e.to_string()))?;
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
        let e = ctx_run(serde_json::json!({"path": "x"})).unwrap_err();
        assert!(e.to_string().contains("missing field `provider`"), "{e}");
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
