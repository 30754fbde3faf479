//! The API calls of [`Kubernetes`] on the remote cluster's client: connecting (and
//! reconnecting), reading one Secret, and re-creating a Secret whose type changes.

use std::time::{Duration, Instant};

use eso_core::{Error, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};

use crate::auth::{SA_TOKEN_SECONDS, connect};
use crate::error::{api_error, is_status};
use crate::provider::Kubernetes;

impl Kubernetes {
    /// The client, connecting on first use (and again when a ServiceAccount token nears expiry).
    pub(crate) async fn client(&self) -> Result<kube::Client> {
        let mut guard = self.inner.client.lock().await;
        let sa = self
            .inner
            .spec
            .auth
            .as_ref()
            .is_some_and(|a| a.service_account.is_some())
            && self.inner.spec.auth_ref.is_none();
        let max_age = Duration::from_secs((SA_TOKEN_SECONDS as u64) * 2 / 3);
        if let Some((c, at)) = guard.as_ref()
            && (!sa || at.elapsed() < max_age)
        {
            return Ok(c.clone());
        }
        let c = connect(&self.inner.spec, &self.inner.creds, &self.inner.field).await?;
        *guard = Some((c.clone(), Instant::now()));
        Ok(c)
    }

    /// Drops the client after an error that a fresh one may cure.
    pub(crate) async fn observe<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && matches!(e, Error::Unavailable { .. } | Error::Unauthenticated { .. })
        {
            *self.inner.client.lock().await = None;
        }
        r
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.inner.spec.remote_namespace
    }

    pub(crate) async fn api(&self, namespace: &str) -> Result<Api<Secret>> {
        Ok(Api::namespaced(self.client().await?, namespace))
    }

    pub(crate) async fn get(&self, namespace: &str, name: &str) -> Result<Option<Secret>> {
        let r = match self.api(namespace).await {
            Ok(api) => api
                .get_opt(name)
                .await
                .map_err(|e| api_error(&format!("get Secret {namespace}/{name}"), e)),
            Err(e) => Err(e),
        };
        self.observe(r).await
    }

    pub(crate) async fn must_get(&self, name: &str) -> Result<Secret> {
        self.get(self.namespace(), name)
            .await?
            .ok_or_else(|| Error::not_found(name))
    }

    /// Replaces our Secret by `obj` when the type changes (a Secret's type is immutable):
    /// deletes exactly the version read (preconditions on UID and resourceVersion, so a
    /// concurrent change fails with a conflict instead of being lost), then creates `obj`.
    pub(crate) async fn recreate(
        &self,
        api: &Api<Secret>,
        ns: &str,
        mut obj: Secret,
        pp: &PostParams,
    ) -> Result<()> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: obj.metadata.uid.take(),
                resource_version: obj.metadata.resource_version.take(),
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name, &dp).await {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => {}
            Err(e) => {
                return Err(api_error(
                    &format!("delete Secret {ns}/{name} to change its type"),
                    e,
                ));
            }
        }
        obj.metadata.creation_timestamp = None;
        obj.metadata.generation = None;
        obj.metadata.deletion_timestamp = None;
        obj.metadata.deletion_grace_period_seconds = None;
        api.create(pp, &obj).await.map(|_| ()).map_err(|e| {
            api_error(
                &format!("create Secret {ns}/{name} again with its new type"),
                e,
            )
        })
    }
}
