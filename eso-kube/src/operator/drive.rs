//! Running one kube-runtime controller per kind: the class filter, the refresh queue's
//! bookkeeping and the metrics around every reconcile, the same for all six kinds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use kube::api::DynamicObject;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::ObjectRef;

use super::class::{ClassFilter, ClassScoped};
use super::flows::{self, Context, ReconcileError};
use super::metrics::Metrics;
use super::object_metrics::Kind;
use super::queue::Tracked;
use super::{EsoObject, Shutdown, object_key};

/// What every controller of one operator shares.
pub(super) struct Drivers {
    pub(super) config: Config,
    pub(super) shutdown: Shutdown,
    pub(super) metrics: Arc<Metrics>,
    pub(super) filter: Arc<ClassFilter>,
    pub(super) ctx: Arc<Context>,
}

impl Drivers {
    /// Runs `controller` with `reconcile` for objects of `kind` until the shutdown, reporting
    /// objects the controller was asked for but found gone to `not_found`.
    pub(super) fn drive<K, R, Fut>(
        &self,
        controller: Controller<K>,
        kind: Kind,
        reconcile: R,
        not_found: impl Fn(&ObjectRef<DynamicObject>) + Send + 'static,
    ) -> BoxStream<'static, ()>
    where
        K: EsoObject + ClassScoped + Tracked,
        R: Fn(Arc<K>, Arc<Context>) -> Fut + Copy + Send + Sync + 'static,
        Fut: Future<Output = Result<Action, ReconcileError>> + Send + 'static,
    {
        let metrics = Arc::clone(&self.metrics);
        let filter = Arc::clone(&self.filter);
        controller
            .with_config(self.config.clone())
            .graceful_shutdown_on(self.shutdown.wait())
            .run(
                move |obj, ctx| {
                    let scope = Scope {
                        metrics: Arc::clone(&metrics),
                        filter: Arc::clone(&filter),
                        kind,
                    };
                    scope.reconcile(obj, ctx, reconcile)
                },
                flows::error_policy,
                Arc::clone(&self.ctx),
            )
            .map(move |res| {
                if let Err(kube::runtime::controller::Error::ObjectNotFound(r)) = res {
                    not_found(&r);
                }
            })
            .boxed()
    }
}

/// For controllers whose gone objects need no bookkeeping.
pub(super) fn ignore_gone(_: &ObjectRef<DynamicObject>) {}

/// What one reconcile needs besides the object and the context.
struct Scope {
    metrics: Arc<Metrics>,
    filter: Arc<ClassFilter>,
    kind: Kind,
}

impl Scope {
    /// Reconciles `obj` when it belongs to the operator's class, tells the refresh queue
    /// when it starts and finishes, and records the reconcile in the metrics.
    async fn reconcile<K, R, Fut>(
        self,
        obj: Arc<K>,
        ctx: Arc<Context>,
        reconcile: R,
    ) -> Result<Action, ReconcileError>
    where
        K: EsoObject + ClassScoped + Tracked,
        R: Fn(Arc<K>, Arc<Context>) -> Fut,
        Fut: Future<Output = Result<Action, ReconcileError>>,
    {
        let queue = ctx.refresh.clone();
        if let Some(q) = &queue {
            obj.started(q);
        }
        let out = match obj.belongs(&self.filter) {
            Some(true) => {
                let start = Instant::now();
                let out = reconcile(Arc::clone(&obj), ctx).await;
                let took = start.elapsed();
                self.metrics
                    .reconciled(self.kind, obj.as_ref(), took, out.is_err());
                if out.is_ok() {
                    tracing::debug!(object = %object_key(obj.as_ref()), ?took, "reconciled");
                }
                out
            }
            Some(false) => {
                let key = object_key(obj.as_ref());
                tracing::debug!(object = %key, "another controller class");
                // Stores only: one moving to this class hands its ExternalSecrets over.
                if matches!(self.kind, Kind::SecretStore | Kind::ClusterSecretStore) {
                    ctx.foreign(key);
                }
                Ok(Action::await_change())
            }
            // The stores are not listed yet: judge it once they are.
            None => Ok(Action::requeue(Duration::from_secs(1))),
        };
        if let Some(q) = &queue {
            obj.finished(q);
        }
        out
    }
}
