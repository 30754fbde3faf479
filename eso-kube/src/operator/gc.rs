//! The generator-state collector: ESO's generatorstate controller as one periodic task.

use std::sync::Arc;
use std::time::Duration;

use eso_core::cluster::GeneratorStateQuery;

use super::Shutdown;
use super::flows::Context;

/// How often the collector looks at most: a deadline is never missed by more than this, and
/// states whose deletion a garbage collector requested are cleaned up within it.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How soon it looks again at least (a deadline just ahead, or a failed cleanup).
const MIN_WAIT: Duration = Duration::from_secs(1);

/// Cleans up and deletes due `GeneratorState` objects until `shutdown` fires.
/// `namespace` limits it to one namespace (an operator scoped to it).
pub(super) async fn collect_generator_states(
    ctx: Arc<Context>,
    shutdown: Shutdown,
    namespace: Option<String>,
) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let now = jiff::Timestamp::now();
        let query = namespace
            .as_deref()
            .map_or(GeneratorStateQuery::All, GeneratorStateQuery::Namespace);
        let report = ctx.reconciler.collect_generator_states_in(query, now).await;
        for e in &report.errors {
            tracing::warn!(error = %e, "generator state cleanup failed; will retry");
        }
        if report.collected > 0 {
            tracing::debug!(
                collected = report.collected,
                waiting = report.waiting,
                "generator states collected"
            );
        }
        let wait = report
            .next_deadline
            .and_then(|d| Duration::try_from(d.duration_since(now)).ok())
            .map_or(MAX_WAIT, |d| d.clamp(MIN_WAIT, MAX_WAIT));
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}
