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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::provider::{BatchRead, BatchValue, DynProvider, StoreIdentity};
use crate::{Error, Result};

type Waiting = Vec<(BatchRead, oneshot::Sender<Result<BatchValue>>)>;

/// Open batches, per store and credential namespace.
#[derive(Debug)]
pub(super) struct Gatherer {
    delay: Duration,
    open: Mutex<HashMap<(StoreIdentity, String), Waiting>>,
}

impl Gatherer {
    /// Gathers reads for `delay` before sending them.
    pub(super) fn new(delay: Duration) -> Self {
        Self {
            delay,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Reads `read` from `provider` as part of the batch of `store` in `namespace`.
    /// Returns the result and whether this caller sent the batch (to count calls).
    pub(super) async fn read(
        &self,
        store: &StoreIdentity,
        namespace: &str,
        provider: &DynProvider,
        read: BatchRead,
    ) -> (Result<BatchValue>, bool) {
        let key = (store.clone(), namespace.to_owned());
        let (tx, rx) = oneshot::channel();
        match self.open.lock() {
            Ok(mut open) => open.entry(key.clone()).or_default().push((read, tx)),
            Err(_) => return (Err(Error::generic("batch reads: lock poisoned")), false),
        }
        tokio::time::sleep(self.delay).await;
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
