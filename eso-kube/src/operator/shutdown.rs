//! A shutdown signal every controller (and the leader election) can wait on.

use std::future::Future;

use tokio::sync::watch;

/// A cloneable shutdown signal: [`Shutdown::wait`] resolves once it is triggered, in every
/// clone. The controllers pass it to kube-runtime's `graceful_shutdown_on`, so they stop
/// taking new work and let in-flight reconciles finish.
///
/// # Example
///
/// ```
/// use eso_kube::operator::Shutdown;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (trigger, shutdown) = Shutdown::new();
/// let waiter = shutdown.clone();
/// assert!(!waiter.is_triggered());
/// trigger.trigger();
/// waiter.wait().await;
/// assert!(shutdown.is_triggered());
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// Triggers the [`Shutdown`] it was created with. Dropping it triggers the shutdown too, so
/// a controller never outlives whoever was meant to stop it.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

impl ShutdownTrigger {
    /// Triggers the shutdown (again is a no-op).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }
}

impl Shutdown {
    /// A signal and the trigger that fires it.
    pub fn new() -> (ShutdownTrigger, Self) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger { tx }, Self { rx })
    }

    /// A signal that fires when `done` resolves (spawned on the current tokio runtime).
    pub fn on(done: impl Future<Output = ()> + Send + 'static) -> Self {
        let (trigger, shutdown) = Self::new();
        tokio::spawn(async move {
            done.await;
            trigger.trigger();
        });
        shutdown
    }

    /// A signal that fires on SIGINT (Ctrl-C) or, on Unix, SIGTERM (what the kubelet sends to
    /// a Pod being stopped). Must be called inside a tokio runtime.
    pub fn on_signals() -> Self {
        Self::on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => {}
                            _ = term.recv() => {}
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            tracing::info!("shutdown requested");
        })
    }

    /// True once the shutdown was triggered.
    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow() || self.rx.has_changed().is_err()
    }

    /// Resolves once the shutdown is triggered (at once if it already was).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + Sync + 'static {
        let mut rx = self.rx.clone();
        async move {
            loop {
                if *rx.borrow_and_update() {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_trigger_shuts_down() {
        let (trigger, shutdown) = Shutdown::new();
        drop(trigger);
        shutdown.wait().await;
        assert!(shutdown.is_triggered());
    }

    #[tokio::test]
    async fn on_a_future() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = Shutdown::on(async {
            let _ = rx.await;
        });
        assert!(!shutdown.is_triggered());
        let _ = tx.send(());
        shutdown.wait().await;
        shutdown.wait().await;
    }
}
