//! The SecretStore / ClusterSecretStore flow: build the provider, validate it, report.

use std::time::Duration;

use crate::api::{GenericStore, SecretStoreCapabilities, SecretStoreKind, SecretStoreStatus};
use crate::provider::{StoreContext, Validation};

use super::conditions::set_condition;
use super::outcome::{FlowError, Outcome};
use super::{Reconciler, with_jitter};

/// How often a store is checked again when its spec sets no `refreshInterval` (ESO's
/// `--store-requeue-interval` default).
pub const DEFAULT_STORE_REQUEUE: Duration = Duration::from_secs(300);

/// The result of checking one store: its status (`Ready` condition, capabilities) and why it
/// is not ready, if it is not.
pub type StoreOutcome = Outcome<SecretStoreStatus>;

impl Reconciler {
    /// Checks one store the way ESO's store controller does: builds its provider (through
    /// the registry's client cache, so the client is then warm for the other flows) and
    /// calls [`Provider::validate`](crate::provider::Provider::validate).
    ///
    /// The `Ready` condition carries ESO's reasons and messages: `Valid` / "store validated",
    /// `ValidationUnknown`, and `InvalidProviderConfig` with "unable to create client" or
    /// "unable to validate store". `previous` keeps the transition times of an unchanged
    /// condition (the object's own status is the previous one). A ClusterSecretStore has no
    /// namespace, so its references without one fail or validate as unknown, as in ESO. The
    /// store is looked up in the catalog by kind and name, so the catalog's copy is checked.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eso_core::api::{Manifest, SecretStore};
    /// use eso_core::cluster::MemoryCluster;
    /// use eso_core::reconcile::{MemoryCatalog, Reconciler};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = serde_json::json!({
    ///     "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
    ///     "metadata": {"name": "mem", "namespace": "demo"},
    ///     "spec": {"provider": {"fake": {"data": []}}}
    /// });
    /// let store: SecretStore = serde_json::from_value(store).unwrap();
    /// let mut catalog = MemoryCatalog::new();
    /// catalog.add(Manifest::SecretStore(Box::new(store.clone())));
    /// let r = Reconciler::new(Arc::new(MemoryCluster::new()), catalog);
    /// let out = r.reconcile_store(&store, jiff::Timestamp::now()).await;
    /// let ready = &out.status.conditions.unwrap()[0];
    /// assert_eq!((ready.status.as_str(), ready.reason.as_deref()), ("True", Some("Valid")));
    /// # });
    /// ```
    pub async fn reconcile_store<S: GenericStore>(
        &self,
        store: &S,
        now: jiff::Timestamp,
    ) -> StoreOutcome {
        let kind = S::STORE_KIND;
        let namespace = if kind == SecretStoreKind::ClusterSecretStore {
            ""
        } else {
            store.namespace().unwrap_or("default")
        };
        let name = store.name();
        let now_s = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut status = store.store_status().cloned().unwrap_or_default();
        let mut out = StoreOutcome::new(SecretStoreStatus::default(), Some(self.store_requeue), ());
        let store = match super::catalog::resolve_store(self.catalog(), kind, namespace, name) {
            Ok(s) => s,
            Err(e) => {
                set_condition(
                    &mut status.conditions,
                    "Ready",
                    false,
                    "InvalidStoreConfiguration",
                    &e.to_string(),
                    &now_s,
                );
                out.status = status;
                out.errors.push(FlowError::object(e));
                return out;
            }
        };
        if let Ok(Some(d)) = store.spec().refresh_interval() {
            let d = d.to_std().unwrap_or_default();
            if !d.is_zero() {
                out.requeue_after = Some(with_jitter(d, &format!("{namespace}/{name}")));
            }
        }
        let ctx = StoreContext::new(
            &store.identity,
            &store.spec().provider,
            namespace,
            self.cluster(),
        )
        .with_retry(store.retry())
        .with_origin(store.origin());
        let built = self.providers().provider(&ctx).await;
        let provider = match built {
            Ok(p) => p,
            Err(e) => {
                set_condition(
                    &mut status.conditions,
                    "Ready",
                    false,
                    "InvalidProviderConfig",
                    "unable to create client",
                    &now_s,
                );
                out.status = status;
                out.errors.push(FlowError::object(e));
                return out;
            }
        };
        match provider.validate().await {
            Ok(Validation::Unknown) => set_condition(
                &mut status.conditions,
                "Ready",
                true,
                "ValidationUnknown",
                "could not determine validation status",
                &now_s,
            ),
            Ok(_) => {
                let caps = match provider.capabilities().store_capabilities() {
                    "ReadWrite" => SecretStoreCapabilities::ReadWrite,
                    "WriteOnly" => SecretStoreCapabilities::WriteOnly,
                    _ => SecretStoreCapabilities::ReadOnly,
                };
                status.capabilities = Some(caps);
                set_condition(
                    &mut status.conditions,
                    "Ready",
                    true,
                    "Valid",
                    "store validated",
                    &now_s,
                );
            }
            Err(e) => {
                set_condition(
                    &mut status.conditions,
                    "Ready",
                    false,
                    "InvalidProviderConfig",
                    "unable to validate store",
                    &now_s,
                );
                out.errors.push(FlowError::object(e));
            }
        }
        out.status = status;
        out
    }
}
