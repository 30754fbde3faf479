//! [`KubeWorkloads`]: the ClusterExternalSecret / ClusterPushSecret flows' [`WorkloadStore`]
//! on a real API server.

use std::fmt;

use async_trait::async_trait;
use eso_core::api::{ExternalSecret, PushSecret};
use eso_core::reconcile::WorkloadStore;
use eso_core::{Error, Result};
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{is_status, map_error};

/// The field manager of the objects ClusterExternalSecret and ClusterPushSecret stamp out.
pub const WORKLOADS_FIELD_MANAGER: &str = "external-secrets";

/// Stores ExternalSecret and PushSecret objects in the API server (their CRDs must be
/// installed): `apply_*` creates the object, or replaces the labels, annotations, owner
/// references and spec of the existing one with optimistic concurrency, keeping its status;
/// the API server assigns `uid`, `resourceVersion` and `generation`.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::reconcile::DynWorkloadStore;
/// use eso_kube::KubeWorkloads;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = kube::Client::try_default().await?;
/// let workloads: DynWorkloadStore = Arc::new(KubeWorkloads::new(client));
/// let es = workloads.get_external_secret("team-a", "db").await?;
/// println!("exists: {}", es.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KubeWorkloads {
    client: kube::Client,
}

impl fmt::Debug for KubeWorkloads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeWorkloads").finish_non_exhaustive()
    }
}

impl KubeWorkloads {
    /// A store over `client`.
    pub fn new(client: kube::Client) -> Self {
        Self { client }
    }

    async fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        api.get_opt(name)
            .await
            .map_err(|e| map_error(&format!("get {} {namespace}/{name}", K::kind(&())), e))
    }

    /// Create-or-replace shared by both kinds; `take_spec` moves the desired spec (and the
    /// caller's metadata) onto the stored object.
    async fn apply<K>(&self, obj: K, take_spec: fn(&mut K, K)) -> Result<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Serialize
            + fmt::Debug,
    {
        let kind = K::kind(&());
        let (Some(ns), name) = (obj.namespace(), obj.name_any()) else {
            return Err(Error::invalid_config(
                "metadata.namespace",
                format!("{kind} {} has no namespace", obj.name_any()),
            ));
        };
        if name.is_empty() {
            return Err(Error::invalid_config("metadata.name", "is required"));
        }
        let what = format!("apply {kind} {ns}/{name}");
        let api: Api<K> = Api::namespaced(self.client.clone(), &ns);
        let pp = PostParams {
            dry_run: false,
            field_manager: Some(WORKLOADS_FIELD_MANAGER.to_owned()),
        };
        let current = api.get_opt(&name).await.map_err(|e| map_error(&what, e))?;
        match current {
            None => {
                let mut new = obj;
                let m = new.meta_mut();
                m.resource_version = None;
                m.uid = None;
                m.generation = None;
                m.managed_fields = None;
                m.creation_timestamp = None;
                api.create(&pp, &new).await.map_err(|e| map_error(&what, e))
            }
            Some(mut stored) => {
                let wanted_rv = obj.meta().resource_version.clone();
                if wanted_rv.is_some() && wanted_rv != stored.meta().resource_version {
                    return Err(Error::Conflict(format!(
                        "{kind} {ns}/{name} was modified concurrently"
                    )));
                }
                let labels = obj.meta().labels.clone();
                let annotations = obj.meta().annotations.clone();
                let owners = obj.meta().owner_references.clone();
                take_spec(&mut stored, obj);
                let m = stored.meta_mut();
                m.labels = labels;
                m.annotations = annotations;
                m.owner_references = owners;
                m.managed_fields = None;
                api.replace(&name, &pp, &stored)
                    .await
                    .map_err(|e| map_error(&what, e))
            }
        }
    }

    async fn delete<K>(&self, namespace: &str, name: &str) -> Result<()>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(map_error(
                &format!("delete {} {namespace}/{name}", K::kind(&())),
                e,
            )),
        }
    }
}

#[async_trait]
impl WorkloadStore for KubeWorkloads {
    async fn get_external_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ExternalSecret>> {
        self.get(namespace, name).await
    }

    async fn apply_external_secret(&self, es: ExternalSecret) -> Result<ExternalSecret> {
        self.apply(es, |stored, new| stored.spec = new.spec).await
    }

    async fn delete_external_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.delete::<ExternalSecret>(namespace, name).await
    }

    async fn get_push_secret(&self, namespace: &str, name: &str) -> Result<Option<PushSecret>> {
        self.get(namespace, name).await
    }

    async fn apply_push_secret(&self, ps: PushSecret) -> Result<PushSecret> {
        self.apply(ps, |stored, new| stored.spec = new.spec).await
    }

    async fn delete_push_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.delete::<PushSecret>(namespace, name).await
    }
}
