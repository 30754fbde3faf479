//! The reconcile function of each controller: the one place where the operator calls
//! eso-core's flows (everything else in `operator` is kube plumbing).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use eso_core::Error;
use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ExternalSecret, ExternalSecretDataFromRemoteRef,
    ExternalSecretDeletionPolicy, GeneratorRef, GenericStore, PushSecret, PushSecretDeletionPolicy,
    ROLLOUT_RESTART_ANNOTATION,
};
use eso_core::reconcile::{
    CLUSTER_EXTERNAL_SECRET_FINALIZER, EXTERNAL_SECRET_FINALIZER, FlowError, Outcome,
    PUSH_SECRET_FINALIZER, Pass, Reconciler, TargetAction,
};
use futures_util::future::BoxFuture;
use kube::ResourceExt as _;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{self, Event, finalizer};

use super::queue::RefreshQueue;
use super::{Backoff, EsoObject, object_key, patch_status, with_jitter};
use crate::error::map_error;

/// Finalizer of ClusterPushSecret objects, so the PushSecrets they stamped are removed when
/// they go (ESO has none and leaves that to garbage collection through owner references).
/// ClusterExternalSecrets carry ESO's own, [`CLUSTER_EXTERNAL_SECRET_FINALIZER`].
pub const CLUSTER_FINALIZER: &str = "external-secrets.io/cluster-cleanup";

/// Random jitter added to every periodic requeue, on top of the flows' stable per-object one.
const REQUEUE_JITTER: f64 = 0.05;

/// What every reconcile needs: one reconciler for the operator's lifetime (its catalog reads
/// the reflector caches, its provider registry keeps the clients), the client for status
/// patches and finalizers, and the back-off.
pub(super) struct Context {
    pub(super) client: kube::Client,
    pub(super) reconciler: Reconciler,
    pub(super) backoff: Backoff,
    pub(super) events: super::events::Events,
    /// Where synced ExternalSecrets wait for their next refresh.
    pub(super) refresh: Option<Arc<RefreshQueue>>,
    /// The generators the objects reference, read right before their reconcile (the
    /// catalog answers from it).
    pub(super) generators: Arc<crate::FetchedGenerators>,
    /// Reads shared by all ExternalSecret reconciles, and their refreshes grouped (none:
    /// a pass per reconcile).
    pub(super) shared: Option<super::shared_reads::SharedReads>,
    /// The ExternalSecrets (the controller's cache), to hand over those of a store that
    /// moves to this operator's class.
    pub(super) external_secrets: kube::runtime::reflector::Store<ExternalSecret>,
    /// Stores last judged to belong to another controller class.
    pub(super) foreign: std::sync::Mutex<std::collections::HashSet<String>>,
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
    /// Reads the generators `refs` names (from `namespace`) so the flow finds them current.
    async fn fetch_generators<'a>(
        &self,
        namespace: &str,
        refs: impl IntoIterator<Item = &'a GeneratorRef>,
    ) -> Result<(), ReconcileError> {
        let mut refs = refs.into_iter().peekable();
        if refs.peek().is_none() {
            return Ok(());
        }
        self.generators
            .fetch(&self.client, namespace, refs)
            .await
            .map_err(|e| map_error("get the referenced generators", e).into())
    }

    /// Records that the store `key` belongs to another controller class.
    pub(super) fn foreign(&self, key: String) {
        if let Ok(mut f) = self.foreign.lock() {
            f.insert(key);
        }
    }

    /// True when `key` was another class's and now is this operator's (its
    /// `spec.controller` moved here).
    fn moved_here(&self, key: &str) -> bool {
        self.foreign.lock().is_ok_and(|mut f| f.remove(key))
    }

    /// A store moved to this operator's class: its ExternalSecrets are queued as changes,
    /// so they are taken over now rather than at their next refresh (ESO waits for that).
    fn take_over<K: EsoObject + GenericStore>(&self, store: &K) {
        let Some(queue) = &self.refresh else { return };
        let kind = K::STORE_KIND;
        let name = store.name_any();
        let namespace = store.namespace();
        let mut moved = 0;
        for es in self.external_secrets.state() {
            if uses_store(&es, kind, &name, namespace) {
                queue.changed(kube::runtime::reflector::ObjectRef::from_obj(es.as_ref()));
                moved += 1;
            }
        }
        tracing::info!(store = %object_key(store), external_secrets = moved, "store moved to this controller class; taking its ExternalSecrets over");
    }

    /// The controller's answer to a flow outcome: requeue at the flow's interval on success,
    /// else an error for [`error_policy`] carrying the flow's retry hint.
    fn settle<S, D>(&self, key: &str, out: Outcome<S, D>) -> Result<Action, ReconcileError> {
        match flow_error(out.errors) {
            None => {
                self.backoff.succeeded(key);
                Ok(out.requeue_after.map_or_else(Action::await_change, |d| {
                    Action::requeue(with_jitter(d, REQUEUE_JITTER))
                }))
            }
            Some(error) => Err(ReconcileError {
                error,
                retry_after: out.requeue_after,
            }),
        }
    }

    /// The controller's action after a successful pass of `es` that wants a refresh after
    /// `requeue`: kept in the refresh queue (with up to 5 % random jitter) instead of the
    /// controller's own requeue, when the operator has a refresh queue.
    fn refresh_later(
        &self,
        es: &ExternalSecret,
        requeue: Option<Duration>,
        action: Action,
    ) -> Action {
        match (&self.refresh, requeue) {
            (Some(q), Some(d)) => {
                // On the store's beat when reads are shared; else the flow's interval with
                // random jitter on top of its stable one.
                let after = self
                    .shared
                    .as_ref()
                    .and_then(|s| s.next_refresh(es, now()))
                    .unwrap_or_else(|| with_jitter(d, REQUEUE_JITTER));
                q.schedule(kube::runtime::reflector::ObjectRef::from_obj(es), after);
                Action::await_change()
            }
            _ => action,
        }
    }

    /// The answer to a deletion flow: done (the finalizer goes) or an error (it stays).
    fn deleted<S, D>(&self, out: Outcome<S, D>) -> Result<Action, ReconcileError> {
        match flow_error(out.errors) {
            None => Ok(Action::await_change()),
            Some(error) => Err(ReconcileError {
                error,
                retry_after: out.requeue_after,
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
    let obj = super::finalizers::with_finalizer(&ctx.client, name, obj).await?;
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

/// An ExternalSecret carries ESO's finalizer only when its deletion has work to do: its
/// `deletionPolicy` is `Delete` (the target it controls is deleted) or it takes values from
/// a generator (its `GeneratorState`s are cleaned up). ESO puts it on every ExternalSecret;
/// for the others it only costs a write per new object and blocks their deletion while no
/// operator runs. A finalizer already on the object stays until the object goes, so states
/// of a generator it used before are still released.
fn needs_finalizer(es: &ExternalSecret) -> bool {
    es.spec.target.deletion_policy == ExternalSecretDeletionPolicy::Delete
        || es
            .spec
            .data_from
            .iter()
            .flatten()
            .any(|d| d.generator_ref().is_some())
        || es
            .finalizers()
            .iter()
            .any(|f| f == EXTERNAL_SECRET_FINALIZER)
}

pub(super) async fn external_secret(
    es: Arc<ExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if !needs_finalizer(&es) {
        if es.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        return external_secret_apply(&ctx, es).await;
    }
    finalized(&ctx, EXTERNAL_SECRET_FINALIZER, es, |event| async {
        match event {
            Event::Apply(es) => external_secret_apply(&ctx, es).await,
            Event::Cleanup(es) => {
                ctx.deleted(ctx.reconciler.delete_external_secret(&es, now()).await)
            }
        }
    })
    .await
}

async fn external_secret_apply(
    ctx: &Context,
    es: Arc<ExternalSecret>,
) -> Result<Action, ReconcileError> {
    let refs = es
        .spec
        .data_from
        .iter()
        .flatten()
        .filter_map(ExternalSecretDataFromRemoteRef::generator_ref);
    ctx.fetch_generators(&es.namespace().unwrap_or_default(), refs)
        .await?;
    let at = now();
    let pass = match &ctx.shared {
        Some(shared) => shared.pass_for(&es, at),
        None => Pass::new(),
    };
    let out = ctx
        .reconciler
        .reconcile_external_secret(&es, &pass, at)
        .await;
    // An unchanged status (a pass that was not due) costs no request.
    if es.status.as_ref() != Some(&out.status) {
        patch_status(&ctx.client, es.as_ref(), &out.status).await?;
    }
    ctx.events.external_secret(&es, &out);
    if out.detail == TargetAction::Updated {
        restart_workloads(ctx, &es).await;
    }
    let requeue = out.requeue_after;
    let action = ctx.settle(&object_key(es.as_ref()), out)?;
    Ok(ctx.refresh_later(es.as_ref(), requeue, action))
}

/// Restarts the workloads `es`'s `eso-rs.io/rollout-restart` annotation names (its target's
/// data just changed). A failure is a Warning event and a log line; the sync itself stands.
async fn restart_workloads(ctx: &Context, es: &ExternalSecret) {
    let targets = match es.rollout_restart_targets() {
        Ok(t) => t,
        Err(e) => {
            let note = format!("{ROLLOUT_RESTART_ANNOTATION}: {e}");
            ctx.events.rollout_failed(es, &note);
            return;
        }
    };
    let ns = es.namespace().unwrap_or_default();
    for target in targets {
        match crate::rollout_restart(&ctx.client, &ns, &target, now()).await {
            Ok(()) => {
                tracing::info!(object = %object_key(es), workload = %target, "rollout restarted");
            }
            Err(e) => {
                tracing::warn!(object = %object_key(es), workload = %target, error = %e, "rollout restart failed");
                ctx.events.rollout_failed(es, &e.to_string());
            }
        }
    }
}

/// True when `es` reads from the store `kind`/`name` (in `namespace` for a SecretStore).
fn uses_store(
    es: &ExternalSecret,
    kind: eso_core::api::SecretStoreKind,
    name: &str,
    namespace: Option<&str>,
) -> bool {
    if kind == eso_core::api::SecretStoreKind::SecretStore && es.namespace().as_deref() != namespace
    {
        return false;
    }
    let is = |r: &eso_core::api::SecretStoreRef| r.name == name && r.kind() == kind;
    let data = es
        .spec
        .data
        .iter()
        .flatten()
        .filter_map(|d| d.source_ref.as_ref()?.store_ref.as_ref());
    let data_from = es
        .spec
        .data_from
        .iter()
        .flatten()
        .filter_map(|d| d.source_ref.as_ref()?.store_ref.as_ref());
    es.spec.secret_store_ref.as_ref().is_some_and(is) || data.chain(data_from).any(is)
}

/// The push flow as a boxed `Send` future (pins down its lifetimes for the controller).
fn push_pass(
    ctx: Arc<Context>,
    ps: Arc<PushSecret>,
) -> BoxFuture<'static, eso_core::reconcile::PushSecretOutcome> {
    Box::pin(async move { ctx.reconciler.reconcile_push_secret(&ps, now()).await })
}

/// The push deletion flow as a boxed `Send` future.
fn push_delete(
    ctx: Arc<Context>,
    ps: Arc<PushSecret>,
) -> BoxFuture<'static, eso_core::reconcile::PushSecretOutcome> {
    Box::pin(async move { ctx.reconciler.delete_push_secret(&ps, now()).await })
}

/// A flow's errors as one: the only one as it is; several (one per store) joined, each store
/// named, temporary when every one of them is.
fn flow_error(errors: Vec<FlowError>) -> Option<Error> {
    if errors.len() <= 1 {
        return errors.into_iter().next().map(|e| match e.store {
            Some(store) => e.error.context(store),
            None => e.error,
        });
    }
    let temporary = errors.iter().all(|e| e.error.is_temporary());
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Some(if temporary {
        Error::Unavailable {
            message,
            source: None,
        }
    } else {
        Error::generic(message)
    })
}

/// A PushSecret carries ESO's finalizer only while `deletionPolicy` is `Delete` (ESO's rule):
/// otherwise there is nothing to clean up remotely, and a finalizer left from an earlier
/// policy is removed.
pub(super) async fn push_secret(
    ps: Arc<PushSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if ps.spec.deletion_policy != PushSecretDeletionPolicy::Delete {
        super::finalizers::remove(&ctx.client, ps.as_ref(), PUSH_SECRET_FINALIZER).await?;
        if ps.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        return push_apply(&ctx, ps).await;
    }
    finalized(&ctx, PUSH_SECRET_FINALIZER, ps, |event| async {
        match event {
            Event::Apply(ps) => push_apply(&ctx, ps).await,
            Event::Cleanup(ps) => ctx.deleted(push_delete(Arc::clone(&ctx), ps).await),
        }
    })
    .await
}

async fn push_apply(ctx: &Arc<Context>, ps: Arc<PushSecret>) -> Result<Action, ReconcileError> {
    ctx.fetch_generators(
        &ps.namespace().unwrap_or_default(),
        ps.spec.selector.generator_ref.as_ref(),
    )
    .await?;
    let out = push_pass(Arc::clone(ctx), Arc::clone(&ps)).await;
    patch_status(&ctx.client, ps.as_ref(), &out.status).await?;
    ctx.events.push_secret(&ps, &out);
    ctx.settle(&object_key(ps.as_ref()), out)
}

pub(super) async fn cluster_external_secret(
    ces: Arc<ClusterExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    finalized(
        &ctx,
        CLUSTER_EXTERNAL_SECRET_FINALIZER,
        ces,
        |event| async {
            let r = &ctx.reconciler;
            match event {
                Event::Apply(ces) => {
                    let out = r.reconcile_cluster_external_secret(&ces, now()).await;
                    patch_status(&ctx.client, ces.as_ref(), &out.status).await?;
                    ctx.settle(&object_key(ces.as_ref()), out)
                }
                Event::Cleanup(ces) => {
                    ctx.deleted(r.delete_cluster_external_secret(&ces, now()).await)
                }
            }
        },
    )
    .await
}

pub(super) async fn cluster_push_secret(
    cps: Arc<ClusterPushSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    finalized(&ctx, CLUSTER_FINALIZER, cps, |event| async {
        let r = &ctx.reconciler;
        match event {
            Event::Apply(cps) => {
                let out = r.reconcile_cluster_push_secret(&cps, now()).await;
                patch_status(&ctx.client, cps.as_ref(), &out.status).await?;
                ctx.settle(&object_key(cps.as_ref()), out)
            }
            Event::Cleanup(cps) => ctx.deleted(r.delete_cluster_push_secret(&cps, now()).await),
        }
    })
    .await
}

pub(super) async fn store<K: EsoObject + GenericStore>(
    store: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if ctx.moved_here(&object_key(store.as_ref())) {
        ctx.take_over::<K>(store.as_ref());
    }
    let out = ctx.reconciler.reconcile_store(store.as_ref(), now()).await;
    patch_status(&ctx.client, store.as_ref(), &out.status).await?;
    ctx.settle(&object_key(store.as_ref()), out)
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
        use eso_core::api::SecretStoreKind;
        use eso_core::reconcile::StoreKey;
        assert!(flow_error(vec![]).is_none());
        let store = || StoreKey::new(SecretStoreKind::SecretStore, "a");
        let one = flow_error(vec![FlowError::store(
            store(),
            Error::RateLimited {
                message: "slow".into(),
            },
        )])
        .unwrap();
        assert!(matches!(one, Error::RateLimited { .. }), "{one}");
        assert!(one.to_string().contains("SecretStore/a: slow"), "{one}");
        let e = flow_error(vec![
            FlowError::store(
                store(),
                Error::RateLimited {
                    message: "slow".into(),
                },
            ),
            FlowError::object(Error::Unavailable {
                message: "whole object".into(),
                source: None,
            }),
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
