//! [`RefreshQueue`]: the ExternalSecret controller's work queue. Changes go first, in the
//! order they arrived; periodic refreshes wait here, not in the controller's queue, so a new
//! or changed ExternalSecret never waits behind a backlog of refreshes.
//!
//! Every trigger of the controller comes from here and is handed over only while the
//! controller has a free slot, so kube-runtime's scheduler never holds a backlog of its own
//! (it picks held objects in hash order, which under load left some new objects waiting
//! for the whole burst):
//!
//! - **changes** (a new object, a spec, label or annotation change such as `force-sync`, a
//!   deletion mark: the watch after its predicate filter, [`RefreshQueue::changed`]) wait in
//!   a first-in, first-out lane, each object once, and go ahead of every refresh;
//! - **refreshes**: a synced ExternalSecret is not requeued in kube-runtime's scheduler; its
//!   next refresh (the flows' interval with their stable per-object jitter, plus up to 5 %
//!   random jitter) is kept here and handed over once due, with at most `concurrency - 1`
//!   refreshes handed over and unfinished at once, so a change always finds a slot soon.
//!
//! Retries after a failure (the controller's own back-off requeue) and wake-ups from a
//! target Secret go to the controller directly; they take slots like the rest, which the
//! queue counts through [`RefreshQueue::started`] and [`RefreshQueue::finished`].

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eso_core::api::ExternalSecret;
use futures_util::Stream;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How long an object handed to the controller counts as in flight if its reconcile never
/// reports back (the object was deleted meanwhile).
const HANDED_OVER_TTL: Duration = Duration::from_secs(60);

type Ref = ObjectRef<ExternalSecret>;

/// An object handed to the controller and not finished yet.
struct Handed {
    at: Instant,
    refresh: bool,
    started: bool,
}

#[derive(Default)]
struct State {
    /// Scheduled refreshes in due order, and each object's place in that order: one
    /// shared copy of the reference, without its uid and resourceVersion (the queue keeps
    /// one per ExternalSecret).
    due: BTreeMap<(Instant, u64), Arc<Ref>>,
    by_ref: HashMap<Arc<Ref>, (Instant, u64)>,
    changed: VecDeque<Ref>,
    changed_set: HashSet<Ref>,
    handed_over: HashMap<Ref, Handed>,
    seq: u64,
}

impl State {
    /// Records `r` as handed to the controller (a refresh or a change) and returns it.
    fn hand_over(&mut self, r: Ref, refresh: bool, at: Instant) -> Ref {
        let handed = Handed {
            at,
            refresh,
            started: false,
        };
        self.handed_over.insert(r.clone(), handed);
        r
    }
}

/// The ExternalSecret controller's work queue (see the module docs).
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
    pub(super) fn schedule(&self, mut r: Ref, after: Duration) {
        r.extra.uid = None;
        r.extra.resource_version = None;
        let r = Arc::new(r);
        let mut s = self.lock();
        s.seq += 1;
        let key = (Instant::now() + after, s.seq);
        // Removed first: an insert over an entry would keep the old copy of the reference.
        if let Some(old) = s.by_ref.remove(r.as_ref()) {
            s.due.remove(&old);
        }
        s.by_ref.insert(Arc::clone(&r), key);
        s.due.insert(key, r);
        drop(s);
        self.wake.notify_one();
    }

    /// `r` changed: it is reconciled as soon as a slot is free, after the changes queued
    /// before it (an object already waiting keeps its place).
    pub(super) fn changed(&self, r: Ref) {
        let mut s = self.lock();
        if s.changed_set.insert(r.clone()) {
            s.changed.push_back(r);
        }
        drop(s);
        self.wake.notify_one();
    }

    /// A reconcile of `r` started (whatever triggered it).
    pub(super) fn started(&self, r: &Ref) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if let Some(h) = self.lock().handed_over.get_mut(r) {
            h.started = true;
        }
    }

    /// A reconcile of `r` finished (whatever triggered it).
    pub(super) fn finished(&self, r: &Ref) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.lock().handed_over.remove(r);
        self.wake.notify_one();
    }

    /// The controller found no object for `r` (deleted after it was queued): it holds no
    /// slot any more.
    pub(super) fn gone(&self, r: &ObjectRef<kube::api::DynamicObject>) {
        let mut key = Ref::new(&r.name);
        if let Some(ns) = &r.namespace {
            key = key.within(ns);
        }
        self.lock().handed_over.remove(&key);
        self.wake.notify_one();
    }

    /// The next change, or due refresh, if the controller may take it now; else when to
    /// look again.
    fn take(&self) -> Result<Ref, Option<Instant>> {
        let now = Instant::now();
        let mut s = self.lock();
        s.handed_over
            .retain(|_, h| now.duration_since(h.at) < HANDED_OVER_TTL);
        // Slots taken: reconciles running, plus objects handed over that have not started.
        let waiting = s.handed_over.values().filter(|h| !h.started).count();
        if self.in_flight.load(Ordering::Relaxed) + waiting >= self.concurrency {
            return Err(None);
        }
        if let Some(r) = s.changed.pop_front() {
            s.changed_set.remove(&r);
            // This pass covers a refresh that was due too; the pass schedules the next one.
            if let Some(key) = s.by_ref.remove(&r) {
                s.due.remove(&key);
            }
            return Ok(s.hand_over(r, false, now));
        }
        let refreshes = s.handed_over.values().filter(|h| h.refresh).count();
        if refreshes + 1 >= self.concurrency.max(2) {
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
        s.by_ref.remove(r.as_ref());
        Ok(s.hand_over(Arc::unwrap_or_clone(r), true, now))
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
                // Full, or nothing queued: a finished reconcile or a new entry wakes us
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

    /// The changes and due refreshes, as the controller's `reconcile_on` trigger.
    pub(super) fn stream(self: Arc<Self>) -> impl Stream<Item = Ref> + Send + 'static {
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

/// What the refresh queue learns of each reconcile (only ExternalSecrets are tracked).
pub(super) trait Tracked {
    /// A reconcile of this object starts.
    fn started(&self, _queue: &RefreshQueue) {}
    /// A reconcile of this object finished.
    fn finished(&self, _queue: &RefreshQueue) {}
}

impl Tracked for ExternalSecret {
    fn started(&self, queue: &RefreshQueue) {
        queue.started(&ObjectRef::from_obj(self));
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
        for name in ["x", "y", "z"] {
            q.started(&r(name));
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

    #[tokio::test]
    async fn changes_go_first_in_arrival_order_each_once() {
        let q = Arc::new(RefreshQueue::new(2));
        q.schedule(r("refresh"), Duration::ZERO);
        q.changed(r("a"));
        q.changed(r("b"));
        q.changed(r("a")); // already waiting: keeps its place
        q.changed(r("refresh")); // a change covers its due refresh
        assert_eq!(q.take().unwrap().name, "a");
        assert_eq!(q.take().unwrap().name, "b");
        // Two handed over and not started yet: both slots are taken.
        assert!(matches!(q.take(), Err(None)));
        q.started(&r("a"));
        q.finished(&r("a"));
        assert_eq!(q.take().unwrap().name, "refresh");
        assert_eq!(q.len(), 0, "the change replaced the due refresh");
        // An object deleted before its reconcile gives its slot back.
        q.gone(
            &ObjectRef::<kube::api::DynamicObject>::new_with(
                "b",
                kube::api::ApiResource::erase::<ExternalSecret>(&()),
            )
            .within("ns"),
        );
        q.changed(r("c"));
        assert_eq!(q.take().unwrap().name, "c");
    }
}
