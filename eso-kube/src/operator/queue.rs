//! [`RefreshQueue`]: periodic refreshes of ExternalSecrets wait here, not in the controller's
//! queue, so a new or changed ExternalSecret never waits behind a backlog of refreshes.
//!
//! A synced ExternalSecret is not requeued in kube-runtime's scheduler; its next refresh
//! (the flows' interval with their stable per-object jitter, plus up to 5 % random jitter) is
//! kept here, and handed to the controller only when it is due **and** the controller has a
//! free slot, with at most `concurrency - 1` refreshes handed over and unfinished at once.
//! Watch events (a new object, a spec, label or annotation change such as `force-sync`, a
//! deleted target) go to the controller directly, so they find a slot at once instead of
//! queueing behind every refresh that fell due before them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eso_core::api::ExternalSecret;
use futures_util::Stream;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long a refresh handed to the controller counts as in flight if its reconcile never
/// reports back (the object was deleted meanwhile).
const HANDED_OVER_TTL: Duration = Duration::from_secs(60);

type Ref = ObjectRef<ExternalSecret>;

#[derive(Default)]
struct State {
    due: BTreeMap<(Instant, u64), Ref>,
    by_ref: HashMap<Ref, (Instant, u64)>,
    handed_over: HashMap<Ref, Instant>,
    seq: u64,
}

/// The ExternalSecret controller's queue of periodic refreshes (see the module docs).
pub(super) struct RefreshQueue {
    state: Mutex<State>,
    wake: Notify,
    in_flight: AtomicUsize,
    concurrency: usize,
}

impl RefreshQueue {
    /// A queue for a controller running `concurrency` reconciles at once (0: unbounded).
    pub(super) fn new(concurrency: u16) -> Self {
        Self {
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            in_flight: AtomicUsize::new(0),
            concurrency: if concurrency == 0 {
                usize::MAX
            } else {
                usize::from(concurrency)
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refreshes `r` after `after` (replacing an earlier schedule of it).
    pub(super) fn schedule(&self, r: Ref, after: Duration) {
        let mut s = self.lock();
        s.seq += 1;
        let key = (Instant::now() + after, s.seq);
        if let Some(old) = s.by_ref.insert(r.clone(), key) {
            s.due.remove(&old);
        }
        s.due.insert(key, r);
        drop(s);
        self.wake.notify_one();
    }

    /// A reconcile of `r` started.
    pub(super) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A reconcile of `r` finished (whatever triggered it).
    pub(super) fn finished(&self, r: &Ref) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.lock().handed_over.remove(r);
        self.wake.notify_one();
    }

    /// The next due refresh, if the controller may take it now; else when to look again.
    fn take(&self) -> Result<Ref, Option<Instant>> {
        let now = Instant::now();
        let mut s = self.lock();
        s.handed_over
            .retain(|_, t| now.duration_since(*t) < HANDED_OVER_TTL);
        let busy = self.in_flight.load(Ordering::Relaxed);
        if busy >= self.concurrency || s.handed_over.len() + 1 >= self.concurrency.max(2) {
            return Err(None);
        }
        let Some((&key, _)) = s.due.first_key_value() else {
            return Err(None);
        };
        if key.0 > now {
            return Err(Some(key.0));
        }
        let Some(r) = s.due.remove(&key) else {
            return Err(None);
        };
        s.by_ref.remove(&r);
        s.handed_over.insert(r.clone(), now);
        Ok(r)
    }

    async fn next(&self) -> Ref {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.take() {
                Ok(r) => return r,
                Err(Some(at)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = woken => {}
                    }
                }
                // Full, or nothing queued: a finished reconcile or a new schedule wakes us
                // (and a periodic look covers a handed-over entry that expires).
                Err(None) => {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = woken => {}
                    }
                }
            }
        }
    }

    /// The due refreshes, as the controller's `reconcile_on` trigger.
    pub(super) fn stream(self: std::sync::Arc<Self>) -> impl Stream<Item = Ref> + Send + 'static {
        futures_util::stream::unfold(self, |q| async move {
            let r = q.next().await;
            Some((r, q))
        })
    }

    /// Refreshes queued.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().due.len()
    }
}

impl super::flows::Context {
    /// The controller's action after a successful pass of `es` that wants a refresh after
    /// `requeue`: kept in the refresh queue (with up to 5 % random jitter) instead of the
    /// controller's own requeue, when the operator has a refresh queue.
    pub(super) fn refresh_later(
        &self,
        es: &ExternalSecret,
        requeue: Option<Duration>,
        action: kube::runtime::controller::Action,
    ) -> kube::runtime::controller::Action {
        match (&self.refresh, requeue) {
            (Some(q), Some(d)) => {
                q.schedule(
                    ObjectRef::from_obj(es),
                    super::with_jitter(d, super::flows::REQUEUE_JITTER),
                );
                kube::runtime::controller::Action::await_change()
            }
            _ => action,
        }
    }
}

/// What the refresh queue learns of each reconcile (only ExternalSecrets are tracked).
pub(super) trait Tracked {
    /// A reconcile of this object starts.
    fn started(&self, _queue: &RefreshQueue) {}
    /// A reconcile of this object finished.
    fn finished(&self, _queue: &RefreshQueue) {}
}

impl Tracked for ExternalSecret {
    fn started(&self, queue: &RefreshQueue) {
        queue.started();
    }
    fn finished(&self, queue: &RefreshQueue) {
        queue.finished(&ObjectRef::from_obj(self));
    }
}

impl Tracked for eso_core::api::PushSecret {}
impl Tracked for eso_core::api::SecretStore {}
impl Tracked for eso_core::api::ClusterSecretStore {}
impl Tracked for eso_core::api::ClusterExternalSecret {}
impl Tracked for eso_core::api::ClusterPushSecret {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::StreamExt as _;

    use super::*;

    fn r(name: &str) -> Ref {
        ObjectRef::new(name).within("ns")
    }

    #[tokio::test]
    async fn hands_over_due_refreshes_in_order_and_only_with_a_free_slot() {
        let q = Arc::new(RefreshQueue::new(3));
        q.schedule(r("late"), Duration::from_secs(3600));
        q.schedule(r("early"), Duration::from_secs(3600));
        q.schedule(r("early"), Duration::ZERO); // rescheduled, not duplicated
        assert_eq!(q.len(), 2);
        let first = Arc::clone(&q).stream().boxed().next().await.unwrap();
        assert_eq!(first.name, "early");
        // Three reconciles (changes) take every slot: nothing is handed over.
        q.schedule(r("due"), Duration::ZERO);
        for _ in 0..3 {
            q.started();
        }
        assert!(
            matches!(q.take(), Err(None)),
            "no free slot: the refresh waits"
        );
        q.finished(&r("x"));
        q.finished(&r("y"));
        // One slot free, but "early" is still handed over and unfinished: with 3 slots at
        // most 2 refreshes are in the controller's hands.
        assert_eq!(q.take().unwrap().name, "due");
        q.finished(&first);
        match q.take() {
            Err(Some(at)) => assert!(at > Instant::now(), "late is not due"),
            other => panic!("{other:?}"),
        }
        assert_eq!(q.len(), 1);
    }
}
