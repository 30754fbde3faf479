//! Gathering single reads into batch calls: reads of a provider that batches
//! ([`Provider::supports_batch_reads`](crate::provider::Provider::supports_batch_reads)),
//! arriving from many reconciles within a few milliseconds, go to the backend as one
//! [`get_batch`](crate::provider::Provider::get_batch) call (AWS Secrets Manager: 20
//! secrets per `BatchGetSecretValue`).
//!
//! Every read joins the open batch of its store and credential namespace, waits the
//! gathering delay, and then the first reader to wake sends the whole batch; the others get
//! their results from it. No task is spawned: if the reader that would have sent the batch
//! is cancelled, the next one to wake sends it.
//!
//! The gatherer also remembers which reads were asked of each store lately
//! ([`Gatherer::expected`]), so the read that opens a batch can fill the call with the ones
//! the reconciles of that store are about to ask for again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::provider::{BatchRead, BatchValue, DynProvider, StoreIdentity};
use crate::{Error, Result};

type Waiting = Vec<(BatchRead, oneshot::Sender<Result<BatchValue>>)>;

/// How long a read asked of a store is remembered as one its reconciles will ask for
/// again (longer than the usual refresh intervals; a remembered read that is no longer
/// wanted costs a slot in calls made anyway, never a call).
const REMEMBERED_FOR: Duration = Duration::from_secs(3600);

/// Open batches, per store and credential namespace.
#[derive(Debug)]
pub(super) struct Gatherer {
    delay: Duration,
    open: Mutex<HashMap<(StoreIdentity, String), Waiting>>,
    /// The reads asked of each store and credential namespace, and when last.
    asked: Mutex<HashMap<(StoreIdentity, String), HashMap<BatchRead, Instant>>>,
}

impl Gatherer {
    /// Gathers reads for `delay` before sending them.
    pub(super) fn new(delay: Duration) -> Self {
        Self {
            delay,
            open: Mutex::new(HashMap::new()),
            asked: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers that a reconcile asked `store` in `namespace` for `read`.
    pub(super) fn remember(&self, store: &StoreIdentity, namespace: &str, read: &BatchRead) {
        if let Ok(mut asked) = self.asked.lock() {
            let of_store = asked
                .entry((store.clone(), namespace.to_owned()))
                .or_default();
            match of_store.get_mut(read) {
                Some(at) => *at = Instant::now(),
                None => {
                    of_store.insert(read.clone(), Instant::now());
                }
            }
        }
    }

    /// Forgets `read` (it failed: it rides no more batches until asked for again).
    pub(super) fn forget(&self, store: &StoreIdentity, namespace: &str, read: &BatchRead) {
        if let Ok(mut asked) = self.asked.lock()
            && let Some(of_store) = asked.get_mut(&(store.clone(), namespace.to_owned()))
        {
            of_store.remove(read);
        }
    }

    /// Up to `room` reads asked of `store` in `namespace` within [`REMEMBERED_FOR`] that
    /// `wanted` accepts, the longest-unasked first (reads older than that are dropped).
    pub(super) fn expected(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        room: usize,
        wanted: impl Fn(&BatchRead) -> bool,
    ) -> Vec<BatchRead> {
        if room == 0 {
            return Vec::new();
        }
        let Ok(mut asked) = self.asked.lock() else {
            return Vec::new();
        };
        let Some(of_store) = asked.get_mut(&(store.clone(), namespace.to_owned())) else {
            return Vec::new();
        };
        let now = Instant::now();
        of_store.retain(|_, at| now.duration_since(*at) <= REMEMBERED_FOR);
        let mut candidates: Vec<(&BatchRead, &Instant)> =
            of_store.iter().filter(|(r, _)| wanted(r)).collect();
        candidates.sort_by_key(|(_, at)| **at);
        candidates
            .into_iter()
            .take(room)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Adds `read` to the open batch of `store` in `namespace` (opening one when there is
    /// none). Returns where its result arrives and how many reads the batch held before it
    /// (0: this read opened the batch).
    pub(super) fn enqueue(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        read: BatchRead,
    ) -> Result<(oneshot::Receiver<Result<BatchValue>>, usize)> {
        let (tx, rx) = oneshot::channel();
        let mut open = self
            .open
            .lock()
            .map_err(|_| Error::generic("batch reads: lock poisoned"))?;
        let batch = open
            .entry((store.clone(), namespace.to_owned()))
            .or_default();
        let before = batch.len();
        batch.push((read, tx));
        Ok((rx, before))
    }

    /// Waits the gathering delay, sends the batch of `store` in `namespace` unless another
    /// reader of it already did, and returns the result `rx` receives and whether this caller
    /// sent the batch.
    pub(super) async fn complete(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        rx: oneshot::Receiver<Result<BatchValue>>,
    ) -> (Result<BatchValue>, bool) {
        tokio::time::sleep(self.delay).await;
        let key = (store.clone(), namespace.to_owned());
        let batch = self.open.lock().ok().and_then(|mut open| open.remove(&key));
        let sent = batch.is_some();
        if let Some(batch) = batch {
            let (reads, senders): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            let results = provider.get_batch(&reads).await;
            let mut results = results.into_iter();
            for tx in senders {
                let r = results.next().unwrap_or_else(|| {
                    Err(Error::generic(
                        "the provider answered fewer batch reads than asked",
                    ))
                });
                let _ = tx.send(r);
            }
        }
        let result = rx.await.unwrap_or_else(|_| {
            Err(Error::Unavailable {
                message: "the batch this read was part of was cancelled".into(),
                source: None,
            })
        });
        (result, sent)
    }
}
