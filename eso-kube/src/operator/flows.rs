//! The reconcile function of each controller: the one place where the operator calls
//! eso-core's flows (everything else in `operator` is kube plumbing).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use eso_core::Error;
use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, Manifest,
    PushSecret, SecretStore, SecretStoreKind, SecretStoreStatus,
};
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{
    Catalog, EXTERNAL_SECRET_FINALIZER, PUSH_SECRET_FINALIZER, Pass, Reconciler,
};
use futures_util::future::BoxFuture;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event, finalizer};
use kube::runtime::reflector::Store;

use super::{Backoff, EsoObject, object_key, patch_status, with_jitter};
use crate::error::map_error;
use crate::{KubeCluster, KubeWorkloads};

/// Finalizer of ClusterExternalSecret / ClusterPushSecret objects (so stamped objects are
/// removed when their owner goes).
pub const CLUSTER_FINALIZER: &str = "external-secrets.io/cluster-cleanup";

/// Random jitter added to every periodic requeue, on top of the flows' stable per-object one.
const REQUEUE_JITTER: f64 = 0.05;

/// What every reconcile needs.
pub(super) struct Context {
    pub(super) client: kube::Client,
    pub(super) cluster: Arc<KubeCluster>,
    pub(super) workloads: KubeWorkloads,
    pub(super) providers: Arc<ProviderRegistry>,
    pub(super) generators: Arc<GeneratorRegistry>,
    pub(super) stores: Store<SecretStore>,
    pub(super) cluster_stores: Store<ClusterSecretStore>,
    pub(super) backoff: Backoff,
}

/// A failed reconcile: the flow's error (its status was already written) and the flow's own
/// retry hint.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub(super) struct ReconcileError {
    error: Error,
    retry_after: Option<Duration>,
}

impl From<Error> for ReconcileError {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

impl Context {
    /// A reconciler over the stores the reflectors currently hold (the provider client cache
    /// lives in the shared registry, so this is cheap on the network side).
    fn reconciler(&self) -> Reconciler {
        let mut catalog = Catalog::default();
        for s in self.stores.state() {
            catalog.add(Manifest::SecretStore((*s).clone().into()));
        }
        for s in self.cluster_stores.state() {
            catalog.add(Manifest::ClusterSecretStore((*s).clone().into()));
        }
        Reconciler::new(self.cluster.clone(), catalog)
            .with_providers(Arc::clone(&self.providers))
            .with_generators(Arc::clone(&self.generators))
    }

    /// The controller's answer to a flow outcome: requeue at the flow's interval on success,
    /// else an error for [`error_policy`].
    fn settle(
        &self,
        key: &str,
        error: Option<Error>,
        requeue: Option<Duration>,
    ) -> Result<Action, ReconcileError> {
        match error {
            None => {
                self.backoff.succeeded(key);
                Ok(requeue.map_or_else(Action::await_change, |d| {
                    Action::requeue(with_jitter(d, REQUEUE_JITTER))
                }))
            }
            Some(error) => Err(ReconcileError {
                error,
                retry_after: requeue,
            }),
        }
    }
}

/// Requeues a failed object after its back-off; a permanent error never waits longer than
/// the object's own refresh interval (a temporary one backs off from the flows' quick retry).
pub(super) fn error_policy<K: EsoObject>(
    obj: Arc<K>,
    err: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let key = object_key(obj.as_ref());
    let delay = retry_delay(&ctx.backoff, &key, err);
    tracing::warn!(object = %key, error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The back-off of `key` after `err`, capped by the flow's hint for a permanent error.
fn retry_delay(backoff: &Backoff, key: &str, err: &ReconcileError) -> Duration {
    let delay = backoff.failed(key);
    match err.retry_after.filter(|_| !err.error.is_temporary()) {
        Some(hint) => delay.min(hint),
        None => delay,
    }
}

/// Runs `f` under kube-runtime's finalizer handling: `Event::Apply` once the finalizer is on
/// the object, `Event::Cleanup` (then the finalizer is removed) when it is being deleted.
async fn finalized<K, F, Fut>(
    ctx: &Context,
    name: &str,
    obj: Arc<K>,
    f: F,
) -> Result<Action, ReconcileError>
where
    K: EsoObject,
    F: FnOnce(Event<K>) -> Fut,
    Fut: Future<Output = Result<Action, ReconcileError>>,
{
    let what = object_key(obj.as_ref());
    let api = K::api(&ctx.client, &obj);
    finalizer(&api, name, obj, f).await.map_err(|e| match e {
        finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
        finalizer::Error::AddFinalizer(e) => {
            map_error(&format!("add finalizer to {what}"), e).into()
        }
        finalizer::Error::RemoveFinalizer(e) => {
            map_error(&format!("remove finalizer from {what}"), e).into()
        }
        other => Error::generic(format!("{what}: {other}")).into(),
    })
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

pub(super) async fn external_secret(
    es: Arc<ExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    finalized(&ctx, EXTERNAL_SECRET_FINALIZER, es, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(es) => {
                let out = r.reconcile_external_secret(&es, &Pass::new(), now()).await;
                patch_status(&ctx.client, es.as_ref(), &out.status).await?;
                ctx.settle(&object_key(es.as_ref()), out.error, out.requeue_after)
            }
            Event::Cleanup(es) => {
                r.delete_external_secret(&es).await?;
                Ok(Action::await_change())
            }
        }
    })
    .await
}

/// The push flow as a boxed `Send` future (pins down its lifetimes for the controller).
fn push_pass(
    r: Reconciler,
    ps: Arc<PushSecret>,
) -> BoxFuture<'static, eso_core::reconcile::PushSecretOutcome> {
    Box::pin(async move { r.reconcile_push_secret(&ps, now()).await })
}

/// The push deletion flow as a boxed `Send` future.
fn push_delete(r: Reconciler, ps: Arc<PushSecret>) -> BoxFuture<'static, Vec<(String, Error)>> {
    Box::pin(async move { r.delete_push_secret(&ps).await })
}

/// Several per-store errors as one (the first error's kind, every store named).
fn per_store(errors: Vec<(String, Error)>) -> Option<Error> {
    let joined = errors
        .iter()
        .map(|(store, e)| {
            if store.is_empty() {
                e.to_string()
            } else {
                format!("{store}: {e}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let first = errors.into_iter().next()?.1;
    Some(if first.is_temporary() {
        Error::Unavailable {
            message: joined,
            source: None,
        }
    } else {
        Error::generic(joined)
    })
}

pub(super) async fn push_secret(
    ps: Arc<PushSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    finalized(&ctx, PUSH_SECRET_FINALIZER, ps, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(ps) => {
                let out = push_pass(r, Arc::clone(&ps)).await;
                patch_status(&ctx.client, ps.as_ref(), &out.status).await?;
                ctx.settle(
                    &object_key(ps.as_ref()),
                    per_store(out.errors),
                    out.requeue_after,
                )
            }
            Event::Cleanup(ps) => match per_store(push_delete(r, Arc::clone(&ps)).await) {
                None => Ok(Action::await_change()),
                Some(e) => Err(e.into()),
            },
        }
    })
    .await
}

pub(super) async fn cluster_external_secret(
    ces: Arc<ClusterExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    finalized(&ctx, CLUSTER_FINALIZER, ces, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(ces) => {
                let out = r
                    .reconcile_cluster_external_secret(&ces, &ctx.workloads)
                    .await;
                patch_status(&ctx.client, ces.as_ref(), &out.status).await?;
                ctx.settle(&object_key(ces.as_ref()), out.error, out.requeue_after)
            }
            Event::Cleanup(ces) => {
                let out = r.delete_cluster_external_secret(&ces, &ctx.workloads).await;
                out.error
                    .map_or(Ok(Action::await_change()), |e| Err(e.into()))
            }
        }
    })
    .await
}

pub(super) async fn cluster_push_secret(
    cps: Arc<ClusterPushSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    finalized(&ctx, CLUSTER_FINALIZER, cps, |event| async {
        let r = ctx.reconciler();
        match event {
            Event::Apply(cps) => {
                let out = r
                    .reconcile_cluster_push_secret(&cps, &ctx.workloads, now())
                    .await;
                patch_status(&ctx.client, cps.as_ref(), &out.status).await?;
                ctx.settle(&object_key(cps.as_ref()), out.error, out.requeue_after)
            }
            Event::Cleanup(cps) => {
                let out = r
                    .delete_cluster_push_secret(&cps, &ctx.workloads, now())
                    .await;
                out.error
                    .map_or(Ok(Action::await_change()), |e| Err(e.into()))
            }
        }
    })
    .await
}

/// The store kinds: their scope and previous status.
pub(super) trait StoreObject: EsoObject {
    const KIND: SecretStoreKind;
    fn previous(&self) -> Option<&SecretStoreStatus>;
}

impl StoreObject for SecretStore {
    const KIND: SecretStoreKind = SecretStoreKind::SecretStore;
    fn previous(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
}

impl StoreObject for ClusterSecretStore {
    const KIND: SecretStoreKind = SecretStoreKind::ClusterSecretStore;
    fn previous(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
}

pub(super) async fn store<K: StoreObject>(
    store: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let ns = store.namespace().unwrap_or_default();
    let out = ctx
        .reconciler()
        .reconcile_store(K::KIND, &ns, &store.name_any(), store.previous(), now())
        .await;
    patch_status(&ctx.client, store.as_ref(), &out.status).await?;
    ctx.settle(
        &object_key(store.as_ref()),
        out.error,
        Some(out.requeue_after),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(error: Error, retry_after: Option<Duration>) -> ReconcileError {
        ReconcileError { error, retry_after }
    }

    #[test]
    fn temporary_errors_back_off_and_permanent_ones_keep_the_refresh_interval() {
        let b = Backoff::new(Duration::from_secs(5), Duration::from_secs(300)).with_jitter(0.0);
        let busy = || {
            err(
                Error::RateLimited {
                    message: "slow down".into(),
                },
                Some(Duration::from_secs(5)),
            )
        };
        let waits: Vec<u64> = (0..4)
            .map(|_| retry_delay(&b, "es", &busy()).as_secs())
            .collect();
        assert_eq!(
            waits,
            [5, 10, 20, 40],
            "temporary: exponential from the quick retry"
        );

        let bad = err(
            Error::invalid_config("spec.data[0]", "bad"),
            Some(Duration::from_secs(12)),
        );
        let waits: Vec<u64> = (0..3)
            .map(|_| retry_delay(&b, "other", &bad).as_secs())
            .collect();
        assert_eq!(
            waits,
            [5, 10, 12],
            "permanent: never past the refresh interval"
        );
    }

    #[test]
    fn per_store_errors_keep_the_temporary_kind_and_name_each_store() {
        assert!(per_store(vec![]).is_none());
        let e = per_store(vec![
            (
                "SecretStore/a".into(),
                Error::RateLimited {
                    message: "slow".into(),
                },
            ),
            (String::new(), Error::generic("whole object")),
        ])
        .unwrap();
        assert!(e.is_temporary());
        let text = e.to_string();
        assert!(
            text.contains("SecretStore/a: ") && text.contains("whole object"),
            "{text}"
        );
    }
}
