//! The controllers: eso-kube's [`Operator`] configured from ESO's flags, its HTTP endpoints,
//! and leader election when asked for.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use eso_kube::operator::{Controllers, LeaderElection, LeaderExit, Operator, Shutdown};

use crate::cli::ControllerArgs;

/// Runs the controllers until a signal (or, with leader election, the loss of the Lease:
/// then the exit code is 1 so the Pod restarts and queues for the Lease again).
pub(crate) async fn run(args: ControllerArgs) -> anyhow::Result<ExitCode> {
    if args.unsafe_allow_generic_targets {
        bail!(
            "--unsafe-allow-generic-targets=true: targets other than Secrets (spec.target.manifest) are not supported by eso-rs yet"
        );
    }
    let election = election_timing(&args)?;
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration (in-cluster or KUBECONFIG)")?;
    let operator = operator(client.clone(), &args);
    let leading = Arc::new(AtomicBool::new(!args.enable_leader_election));
    serve(&operator, &args, Arc::clone(&leading)).await?;
    let shutdown = Shutdown::on_signals();
    if !args.enable_leader_election {
        operator.run(shutdown).await;
        return Ok(ExitCode::SUCCESS);
    }
    let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "default".to_owned());
    let identity = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("eso-operator-{}", std::process::id()));
    tracing::info!(lease = %format_args!("{namespace}/{}", args.leader_election_id), %identity, "waiting for leadership");
    let (duration, grace) = election;
    let exit = LeaderElection::new(client, namespace, &args.leader_election_id, identity)
        .with_timing(duration, grace)
        .run(shutdown, |stop| {
            leading.store(true, Ordering::Relaxed);
            operator.run(stop)
        })
        .await?;
    Ok(match exit {
        LeaderExit::LeadershipLost => {
            tracing::error!("leadership lost; exiting so the Pod restarts");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    })
}

/// The operator ESO's flags describe.
fn operator(client: kube::Client, args: &ControllerArgs) -> Operator {
    let mut on = Controllers::default();
    on.secret_store = args.enable_secret_store_reconciler;
    on.cluster_secret_store = args.enable_cluster_store_reconciler;
    on.push_secret = args.enable_push_secret_reconciler;
    on.cluster_external_secret = args.enable_cluster_external_secret_reconciler;
    on.cluster_push_secret = args.enable_cluster_push_secret_reconciler;
    let mut operator = Operator::new(client, crate::providers::providers())
        .with_generators(crate::providers::generators())
        .with_concurrency(args.concurrent)
        .with_controller_class(&args.controller_class)
        .with_controllers(on)
        .with_namespace(&args.namespace)
        .with_store_requeue_interval(args.store_requeue_interval)
        .with_generator_states(args.enable_generator_state)
        .with_generator_gc_grace_period(args.generator_gc_grace_period)
        .with_read_window(args.read_window)
        .with_batch_gathering(args.batch_gather);
    if let Ok(token) = std::env::var("REFRESH_TOKEN") {
        operator = operator.with_refresh_token(token);
    }
    operator
}

/// The Lease timing of ESO's three flags, checked as client-go checks them. The Lease is
/// held for `--leader-election-lease-duration`; the leader renews every
/// `--leader-election-retry-period` (it renews `duration - retry` before expiry).
fn election_timing(args: &ControllerArgs) -> anyhow::Result<(Duration, Duration)> {
    let duration = args.leader_election_lease_duration;
    let deadline = args.leader_election_renew_deadline;
    let retry = args.leader_election_retry_period;
    if duration <= deadline {
        bail!(
            "--leader-election-lease-duration ({duration:?}) must be longer than --leader-election-renew-deadline ({deadline:?})"
        );
    }
    if deadline <= retry {
        bail!(
            "--leader-election-renew-deadline ({deadline:?}) must be longer than --leader-election-retry-period ({retry:?})"
        );
    }
    let whole = |d: Duration| Duration::from_secs(d.as_secs().max(1));
    let (duration, retry) = (whole(duration), whole(retry));
    Ok((
        duration,
        duration.saturating_sub(retry).max(Duration::from_secs(1)),
    ))
}

/// Serves the operator's endpoints (`/metrics`, `/healthz`, `/readyz`, `/refresh`) on
/// `--metrics-addr`, and `/healthz` and `/readyz` on `--live-addr`. There `/readyz` is ready
/// for a replica waiting for the Lease (it is ready to take over, as ESO's standby replicas
/// are) and for the leader once its caches are filled.
async fn serve(
    operator: &Operator,
    args: &ControllerArgs,
    leading: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let endpoints = operator.endpoints().clone();
    let ready = move || !leading.load(Ordering::Relaxed) || endpoints.is_ready();
    let live = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ok = ready();
                async move {
                    if ok {
                        (StatusCode::OK, "ok")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "caches not filled yet")
                    }
                }
            }),
        );
    if args.live_addr == args.metrics_addr {
        // One listener: the operator's own `/readyz` (ready once the caches are filled).
        let all = operator.endpoints().router();
        let bound = crate::http::serve(&args.metrics_addr, all).await?;
        tracing::info!(%bound, "serving /metrics, /healthz, /readyz, /refresh");
        return Ok(());
    }
    let bound = crate::http::serve(&args.metrics_addr, operator.endpoints().router()).await?;
    tracing::info!(%bound, "serving /metrics, /refresh");
    let bound = crate::http::serve(&args.live_addr, live).await?;
    tracing::info!(%bound, "serving /healthz, /readyz");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn controller(args: &[&str]) -> ControllerArgs {
        let mut all = vec!["eso-operator"];
        all.extend_from_slice(args);
        crate::cli::Cli::try_parse_from(all).unwrap().controller
    }

    #[test]
    fn esos_lease_defaults_renew_every_retry_period() {
        let (duration, grace) = election_timing(&controller(&[])).unwrap();
        assert_eq!((duration.as_secs(), grace.as_secs()), (15, 13));
    }

    #[test]
    fn inconsistent_lease_timing_is_refused() {
        let err = election_timing(&controller(&["--leader-election-renew-deadline=20s"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--leader-election-lease-duration"), "{err}");
        assert!(election_timing(&controller(&["--leader-election-retry-period=10s"])).is_err());
    }
}
