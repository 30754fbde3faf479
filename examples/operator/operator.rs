//! An External Secrets operator on kube-runtime, in a few lines of wiring: eso-kube's
//! [`Operator`] runs the controllers for ExternalSecret, PushSecret, ClusterExternalSecret,
//! ClusterPushSecret, SecretStore and ClusterSecretStore (watches, finalizers, status
//! patches, requeue and back-off with jitter, bounded concurrency, graceful shutdown), and
//! [`LeaderElection`] runs it only while this replica holds a `coordination.k8s.io` Lease.
//!
//! It ships every provider crate of the workspace (feature `all-providers`, on by default);
//! an operator author copies this file and keeps one line per provider crate they want in
//! [`operator`].
//!
//! Run against the cluster in `KUBECONFIG` (CRDs must be installed: `esoctl crd | kubectl
//! apply -f -`): `cargo run -p eso-examples-operator --example operator`. `POD_NAMESPACE` names the
//! Lease's namespace (default `default`), `HOSTNAME` this replica (a Pod's name),
//! `METRICS_ADDR` where `/metrics`, `/healthz`, `/readyz` and `/refresh` are served (default
//! `127.0.0.1:8080`), `REFRESH_TOKEN` the bearer token `/refresh` wants (unset: `/refresh`
//! answers 401), `CONTROLLER_CLASS` the controller class, `RUST_LOG` the log filter.

use std::process::ExitCode;

use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_kube::operator::{LeaderElection, LeaderError, LeaderExit, Operator, Shutdown};

/// The name of the Lease the replicas compete for.
pub const LEASE_NAME: &str = "eso-rs-operator";

/// The operator with the providers and generators this binary ships.
pub fn operator(client: kube::Client) -> Operator {
    let mut providers = ProviderRegistry::new();
    // One line per provider crate.
    eso_provider_k8s::register(&mut providers);
    eso_provider_webhook::register(&mut providers);
    eso_provider_infisical::register(&mut providers);
    eso_provider_onepassword::register(&mut providers);
    let mut generators = GeneratorRegistry::new();
    eso_generators::register_generators(&mut generators);
    eso_provider_webhook::register_generators(&mut generators);
    #[cfg(feature = "all-providers")]
    {
        eso_provider_vault::register(&mut providers);
        eso_provider_aws::register(&mut providers);
        eso_provider_gcp::register(&mut providers);
        eso_provider_azure::register(&mut providers);
        eso_provider_vault::register_generators(&mut generators);
        eso_provider_aws::register_generators(&mut generators);
        eso_provider_gcp::register_generators(&mut generators);
        eso_provider_azure::register_generators(&mut generators);
    }
    Operator::new(client, providers).with_generators(generators)
}

/// Waits for leadership, then runs the operator until `shutdown` fires or leadership is lost
/// (in-flight reconciles finish, and the Lease is released, either way).
pub async fn run_with_leader_election(
    client: kube::Client,
    election: LeaderElection,
    shutdown: Shutdown,
) -> Result<LeaderExit, LeaderError> {
    let operator = operator(client);
    election.run(shutdown, |stop| operator.run(stop)).await
}

/// Serves the operator's `/metrics`, `/healthz`, `/readyz` (and `/refresh` when the operator
/// has a refresh token) on `addr`, in the background.
pub async fn serve_endpoints(
    operator: &Operator,
    addr: &str,
) -> Result<std::net::SocketAddr, std::io::Error> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = operator.endpoints().router();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the HTTP endpoints stopped");
        }
    });
    Ok(bound)
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`; e.g.
/// `RUST_LOG=eso_kube=debug,kube=warn`). The operator never logs secret values.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    init_logging();
    let client = kube::Client::try_default().await?;
    let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "default".to_owned());
    let identity = std::env::var("HOSTNAME")
        .unwrap_or_else(|_| format!("eso-operator-{}", std::process::id()));
    let election = LeaderElection::new(client.clone(), namespace, LEASE_NAME, identity);
    let mut operator = operator(client);
    if let Ok(token) = std::env::var("REFRESH_TOKEN") {
        operator = operator.with_refresh_token(token);
    }
    if let Ok(class) = std::env::var("CONTROLLER_CLASS") {
        operator = operator.with_controller_class(class);
    }
    let addr = std::env::var("METRICS_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let bound = serve_endpoints(&operator, &addr).await?;
    tracing::info!(%bound, "serving /metrics, /healthz, /readyz, /refresh");
    let exit = election
        .run(Shutdown::on_signals(), |stop| operator.run(stop))
        .await?;
    match exit {
        // Exit non-zero so Kubernetes restarts the Pod, which then queues for the Lease again.
        LeaderExit::LeadershipLost => Ok(ExitCode::FAILURE),
        _ => Ok(ExitCode::SUCCESS),
    }
}
