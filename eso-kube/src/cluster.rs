//! [`KubeCluster`]: the reconcile flows' [`Cluster`] on a real API server.

use std::fmt;

use async_trait::async_trait;
use eso_core::cluster::{
    Cluster, GeneratorStateQuery, KubeConfigMap, KubeGeneratorState, KubeNamespace, KubeSecret,
    LabelQuery, secret_from_kube, secret_to_kube,
};
use eso_core::{Error, Result, SecretValue};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};

use crate::convert::selector;
use crate::error::{is_status, map_error};
use crate::known_secrets::KnownSecrets;

/// The field manager used for writes that do not belong to one ExternalSecret.
pub const DEFAULT_FIELD_MANAGER: &str = "external-secrets";

/// The [`Cluster`] trait on a kube-rs [`kube::Client`]: reads Secrets, ConfigMaps and
/// Namespaces, writes target Secrets (labels, annotations, owner references, `immutable`,
/// optimistic concurrency on `resourceVersion`) and requests ServiceAccount tokens through
/// the TokenRequest API. Generator states are `GeneratorState` objects as ESO writes them
/// ([`crate::generator_state`] says how).
///
/// Writes carry a field manager as ESO names it: the one the written [`KubeSecret`] names
/// ([`KubeSecret::field_manager`]; the ExternalSecret flow names
/// [`eso_core::reconcile::field_manager`] of the ExternalSecret, for every creation policy,
/// as ESO does), else that of the ExternalSecret controlling the Secret, else the manager
/// given to [`KubeCluster::with_field_manager`] (default `external-secrets`). Reads fill
/// [`KubeSecret::managed_fields`] from `metadata.managedFields`, so the flows remove what
/// their manager wrote last time and no longer writes (a key a template dropped), as ESO
/// does. Like ESO, targets are written by create/update (`PUT`), not server-side apply: an
/// update only takes over the fields it changes, so keys other writers set keep their owner.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::cluster::Cluster;
/// use eso_core::reconcile::{MemoryCatalog, Reconciler};
/// use eso_kube::KubeCluster;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = kube::Client::try_default().await?;
/// let cluster = Arc::new(KubeCluster::new(client));
/// let db = cluster.get_secret("default", "db").await?;
/// println!("found: {}", db.is_some());
/// let reconciler = Reconciler::new(cluster, MemoryCatalog::default());
/// # let _ = reconciler;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KubeCluster {
    client: kube::Client,
    field_manager: String,
    /// The operator's view of which Secrets exist (see [`Cluster::get_target_secret`]).
    known: Option<KnownSecrets>,
}

impl fmt::Debug for KubeCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeCluster")
            .field("field_manager", &self.field_manager)
            .finish_non_exhaustive()
    }
}

impl KubeCluster {
    /// A cluster over `client`.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            field_manager: DEFAULT_FIELD_MANAGER.to_owned(),
            known: None,
        }
    }

    /// Answers [`Cluster::get_target_secret`] from `known` when it knows the Secret is
    /// absent, and keeps it up to date with this cluster's own creates and deletes.
    #[cfg(feature = "operator")]
    pub(crate) fn with_known_secrets(mut self, known: KnownSecrets) -> Self {
        self.known = Some(known);
        self
    }

    /// Uses `manager` as the field manager of writes not tied to one ExternalSecret.
    #[must_use]
    pub fn with_field_manager(mut self, manager: impl Into<String>) -> Self {
        self.field_manager = manager.into();
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// The field manager of a write of `secret`: the one it names, else the ExternalSecret
    /// controlling it, else this cluster's.
    fn manager_for(&self, secret: &KubeSecret) -> String {
        if !secret.field_manager.is_empty() {
            return secret.field_manager.clone();
        }
        secret
            .owner_references
            .iter()
            .find(|o| {
                o.controller
                    && o.kind == "ExternalSecret"
                    && o.api_version.starts_with("external-secrets.io/")
            })
            .map_or_else(
                || self.field_manager.clone(),
                |o| eso_core::reconcile::field_manager(&o.name),
            )
    }

    fn post_params(&self, secret: &KubeSecret) -> PostParams {
        PostParams {
            dry_run: false,
            field_manager: Some(self.manager_for(secret)),
        }
    }
}

fn list_params(labels: &LabelQuery) -> ListParams {
    let sel = selector(labels);
    if sel.is_empty() {
        ListParams::default()
    } else {
        ListParams::default().labels(&sel)
    }
}

#[async_trait]
impl Cluster for KubeCluster {
    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        self.secrets(namespace)
            .get_opt(name)
            .await
            .map(|o| o.map(secret_from_kube))
            .map_err(|e| map_error(&format!("get Secret {namespace}/{name}"), e))
    }

    async fn get_target_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        if self
            .known
            .as_ref()
            .is_some_and(|k| k.absent(namespace, name))
        {
            return Ok(None);
        }
        self.get_secret(namespace, name).await
    }

    async fn list_secrets(&self, namespace: &str, labels: &LabelQuery) -> Result<Vec<KubeSecret>> {
        let list = self
            .secrets(namespace)
            .list(&list_params(labels))
            .await
            .map_err(|e| map_error(&format!("list Secrets in {namespace}"), e))?;
        Ok(list
            .items
            .into_iter()
            .map(secret_from_kube)
            .filter(|s| labels.matches(&s.labels))
            .collect())
    }

    async fn create_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        let what = format!("create Secret {}/{}", secret.namespace, secret.name);
        let mut obj = secret_to_kube(&secret);
        obj.metadata.resource_version = None;
        obj.metadata.uid = None;
        let out = self
            .secrets(&secret.namespace)
            .create(&self.post_params(&secret), &obj)
            .await;
        if let Some(k) = &self.known
            && (out.is_ok() || matches!(&out, Err(e) if is_status(e, 409)))
        {
            k.insert(&secret.namespace, &secret.name);
        }
        out.map(secret_from_kube).map_err(|e| map_error(&what, e))
    }

    async fn update_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        let what = format!("update Secret {}/{}", secret.namespace, secret.name);
        let obj = secret_to_kube(&secret);
        self.secrets(&secret.namespace)
            .replace(&secret.name, &self.post_params(&secret), &obj)
            .await
            .map(secret_from_kube)
            .map_err(|e| map_error(&what, e))
    }

    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()> {
        match self
            .secrets(namespace)
            .delete(name, &DeleteParams::default())
            .await
        {
            // A deleted Secret may linger behind a finalizer: the watch says when it is gone.
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => {
                if let Some(k) = &self.known {
                    k.remove(namespace, name);
                }
                Ok(())
            }
            Err(e) => Err(map_error(&format!("delete Secret {namespace}/{name}"), e)),
        }
    }

    async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<KubeConfigMap>> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let cm = api
            .get_opt(name)
            .await
            .map_err(|e| map_error(&format!("get ConfigMap {namespace}/{name}"), e))?;
        Ok(cm.map(|cm| {
            let mut out = KubeConfigMap::new(namespace, name);
            out.labels = cm.metadata.labels.unwrap_or_default();
            out.data = cm.data.unwrap_or_default();
            out
        }))
    }

    async fn list_namespaces(&self, labels: &LabelQuery) -> Result<Vec<KubeNamespace>> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let list = api
            .list(&list_params(labels))
            .await
            .map_err(|e| map_error("list Namespaces", e))?;
        Ok(list
            .items
            .into_iter()
            .map(|n| {
                KubeNamespace::new(
                    n.metadata.name.unwrap_or_default(),
                    n.metadata.labels.unwrap_or_default(),
                )
            })
            .filter(|n| labels.matches(&n.labels))
            .collect())
    }

    async fn create_service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        expiration_seconds: i64,
    ) -> Result<SecretValue> {
        request_token(&self.client, namespace, name, audiences, expiration_seconds).await
    }

    async fn create_generator_state(
        &self,
        state: KubeGeneratorState,
    ) -> Result<KubeGeneratorState> {
        crate::generator_state::create(&self.client, state).await
    }

    async fn list_generator_states(
        &self,
        query: GeneratorStateQuery<'_>,
    ) -> Result<Vec<KubeGeneratorState>> {
        crate::generator_state::list(&self.client, query).await
    }

    async fn flag_generator_state(
        &self,
        namespace: &str,
        name: &str,
        deadline: jiff::Timestamp,
    ) -> Result<()> {
        crate::generator_state::flag(&self.client, namespace, name, deadline).await
    }

    async fn delete_generator_state(&self, namespace: &str, name: &str) -> Result<()> {
        crate::generator_state::delete(&self.client, namespace, name).await
    }
}

/// Requests a token for ServiceAccount `namespace/name` (the TokenRequest API).
async fn request_token(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    audiences: &[String],
    expiration_seconds: i64,
) -> Result<SecretValue> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let req = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audiences.to_vec(),
            expiration_seconds: (expiration_seconds > 0).then_some(expiration_seconds),
            bound_object_ref: None,
        },
        ..TokenRequest::default()
    };
    let what = format!("create token for ServiceAccount {namespace}/{name}");
    let resp: TokenRequest = api
        .create_subresource("token", name, &PostParams::default(), &req)
        .await
        .map_err(|e| map_error(&what, e))?;
    let token = resp
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::generic(format!("{what}: the answer holds no token")))?;
    Ok(SecretValue::from(token.as_str()))
}
