//! Leader election on a `coordination.k8s.io/v1` Lease, on the kube-lease-manager crate.

use std::future::Future;
use std::time::Duration;

use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};

use super::Shutdown;

/// How [`LeaderElection::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaderExit {
    /// The work returned by itself.
    Finished,
    /// Another candidate took the Lease (this one stopped renewing in time, or the Lease was
    /// taken over by hand); the work was stopped. The process should exit (and be restarted)
    /// or call `run` again.
    LeadershipLost,
    /// The shutdown signal fired; the work was stopped and the Lease released.
    Shutdown,
}

/// Leader election errors (the Lease could not be read or written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaderError {
    /// `duration` and `grace` must be whole seconds with `0 < grace < duration`.
    #[error(
        "leader election: lease duration {duration:?} must be longer than grace {grace:?}, both at least 1 s"
    )]
    InvalidTiming {
        /// The lease duration asked for.
        duration: Duration,
        /// The grace period asked for.
        grace: Duration,
    },
    /// The Lease could not be created, read or written.
    #[error("leader election on Lease {lease}: {source}")]
    Lease {
        /// `namespace/name` of the Lease.
        lease: String,
        /// What failed.
        #[source]
        source: LeaseManagerError,
    },
}

/// Leader election on a `coordination.k8s.io/v1` Lease: one candidate at a time runs the
/// work; the others wait and take over when the holder releases the Lease or stops renewing
/// it for the lease duration.
///
/// Built on [kube-lease-manager](https://docs.rs/kube-lease-manager) (server-side apply, so
/// two candidates can never both hold the Lease). The holder renews `grace` before expiry.
///
/// # Example
///
/// ```no_run
/// use eso_kube::operator::{LeaderElection, LeaderExit, Shutdown};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = kube::Client::try_default().await?;
/// let election = LeaderElection::new(client, "eso-system", "eso-rs-operator", "pod-a");
/// let exit = election
///     .run(Shutdown::on_signals(), |stop| async move {
///         // Run the controllers until `stop` fires.
///         stop.wait().await;
///     })
///     .await?;
/// assert_ne!(exit, LeaderExit::Finished);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LeaderElection {
    client: kube::Client,
    namespace: String,
    name: String,
    identity: String,
    duration: Duration,
    grace: Duration,
}

impl std::fmt::Debug for LeaderElection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElection")
            .field("lease", &format_args!("{}/{}", self.namespace, self.name))
            .field("identity", &self.identity)
            .field("duration", &self.duration)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl LeaderElection {
    /// Candidate `identity` (unique per replica, e.g. the Pod name) for Lease
    /// `namespace/name`; a 15 s lease renewed 5 s before it expires.
    pub fn new(
        client: kube::Client,
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            client,
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
            grace: Duration::from_secs(5),
        }
    }

    /// Holds the Lease for `duration` after each renewal and renews it `grace` before that
    /// runs out (whole seconds, `0 < grace < duration`; checked by [`run`](Self::run)).
    #[must_use]
    pub fn with_timing(mut self, duration: Duration, grace: Duration) -> Self {
        self.duration = duration;
        self.grace = grace;
        self
    }

    /// The candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Waits for leadership, then runs `work` until it returns; `work` gets a [`Shutdown`]
    /// that fires when `shutdown` does or when leadership is lost, and should then wind down
    /// (the controllers finish their in-flight reconciles). The Lease is released on the way
    /// out, so a successor need not wait for it to expire.
    ///
    /// # Errors
    ///
    /// [`LeaderError`] when the timing is invalid or the Lease API fails before leadership
    /// was acquired.
    pub async fn run<F, Fut>(self, shutdown: Shutdown, work: F) -> Result<LeaderExit, LeaderError>
    where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = ()>,
    {
        let lease = format!("{}/{}", self.namespace, self.name);
        let secs = |d: Duration| d.as_secs();
        let (duration, grace) = (secs(self.duration), secs(self.grace));
        if grace == 0 || grace >= duration {
            return Err(LeaderError::InvalidTiming {
                duration: self.duration,
                grace: self.grace,
            });
        }
        let lease_err = |source| LeaderError::Lease {
            lease: lease.clone(),
            source,
        };
        let manager = LeaseManagerBuilder::new(self.client, &self.name)
            .with_namespace(&self.namespace)
            .with_identity(&self.identity)
            .with_field_manager(format!("eso-kube-{}", self.identity))
            .with_duration(duration)
            .with_grace(grace)
            .build()
            .await
            .map_err(lease_err)?;
        let (mut leader, task) = manager.watch().await;

        // Wait for leadership (or shutdown).
        loop {
            if *leader.borrow_and_update() {
                break;
            }
            tokio::select! {
                changed = leader.changed() => {
                    if changed.is_err() {
                        // The manager's task ended: it failed.
                        return match task.await {
                            Ok(Err(e)) => Err(lease_err(e)),
                            _ => Ok(LeaderExit::Shutdown),
                        };
                    }
                }
                () = shutdown.wait() => {
                    drop(leader);
                    let _ = task.await;
                    return Ok(LeaderExit::Shutdown);
                }
            }
        }
        tracing::info!(lease = %lease, identity = %self.identity, "acquired leadership");

        let (trigger, stop) = Shutdown::new();
        let work = work(stop);
        tokio::pin!(work);
        let mut exit = LeaderExit::Finished;
        loop {
            tokio::select! {
                () = &mut work => break,
                () = shutdown.wait(), if exit == LeaderExit::Finished => {
                    exit = LeaderExit::Shutdown;
                    trigger.trigger();
                }
                changed = leader.changed(), if exit == LeaderExit::Finished => {
                    if changed.is_err() || !*leader.borrow_and_update() {
                        tracing::warn!(lease = %lease, identity = %self.identity, "lost leadership");
                        exit = LeaderExit::LeadershipLost;
                        trigger.trigger();
                    }
                }
            }
        }
        // Closing the channel makes the manager release the Lease and end.
        drop(leader);
        match task.await {
            Ok(Ok(_)) => tracing::info!(lease = %lease, "released leadership"),
            Ok(Err(e)) => tracing::warn!(lease = %lease, error = %e, "releasing the Lease failed"),
            Err(e) => tracing::warn!(lease = %lease, error = %e, "lease manager task failed"),
        }
        Ok(exit)
    }
}
