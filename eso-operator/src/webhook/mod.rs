//! `eso-operator webhook`: ESO's validating admission webhook over HTTPS, answering from
//! eso-core's validation ([`eso_kube::admission`]).
//!
//! - **Paths**: `POST /validate` and any `POST /validate-<anything>` (ESO's per-kind paths
//!   such as `/validate-external-secrets-io-v1-externalsecret` work unchanged); every path
//!   validates whatever ESO kind it receives.
//! - **Certificate**: with `--secret-name`, the webhook makes and renews its own CA and
//!   serving certificate in that Secret and keeps the `caBundle` of
//!   `--webhook-config-name` pointing at the CA ([`certs`]); without it, `tls.crt` and
//!   `tls.key` are read from `--cert-dir` (cert-manager's). Either way the certificate is
//!   checked every `--check-interval` and a new one is served without a restart.
//! - **Health and metrics**: `/healthz` and `/readyz` (ready once a certificate is loaded) on
//!   `--healthz-addr`; `/metrics` on `--metrics-addr` with controller-runtime's webhook
//!   metric names (`controller_runtime_webhook_requests_total{code,webhook}`,
//!   `controller_runtime_webhook_requests_in_flight{webhook}`).

mod certs;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, anyhow};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_server::tls_rustls::RustlsConfig;
use eso_kube::operator::Shutdown;
use prometheus::{Encoder as _, IntCounterVec, IntGaugeVec, Opts, Registry};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::cli::WebhookArgs;
use certs::{Bundle, Policy};

/// Runs the webhook until a signal.
pub(crate) async fn run(args: WebhookArgs) -> anyhow::Result<ExitCode> {
    let tls13_only = match args.tls_min_version.as_str() {
        "1.2" => false,
        "1.3" => true,
        other => anyhow::bail!("--tls-min-version={other}: only 1.2 and 1.3 are supported"),
    };
    let source = Source::from_args(&args).await?;
    let bundle = source.load().await?;
    let tls = RustlsConfig::from_config(Arc::new(server_config(&bundle, tls13_only)?));
    let state = Hooks::new()?;
    state.ready.store(true, Ordering::Relaxed);
    let health = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    let metrics = Router::new().route("/metrics", get(metrics));
    if args.metrics_addr == args.healthz_addr {
        let all = health.merge(metrics).with_state(state.clone());
        let bound = crate::http::serve(&args.healthz_addr, all).await?;
        tracing::info!(%bound, "serving /healthz, /readyz and /metrics");
    } else {
        let bound =
            crate::http::serve(&args.healthz_addr, health.with_state(state.clone())).await?;
        tracing::info!(%bound, "serving /healthz and /readyz");
        let bound =
            crate::http::serve(&args.metrics_addr, metrics.with_state(state.clone())).await?;
        tracing::info!(%bound, "serving /metrics");
    }
    let shutdown = Shutdown::on_signals();
    let handle = axum_server::Handle::new();
    tokio::spawn(rotate(
        source,
        bundle,
        tls.clone(),
        tls13_only,
        args.check_interval,
        shutdown.clone(),
    ));
    {
        let handle = handle.clone();
        let stop = shutdown.wait();
        tokio::spawn(async move {
            stop.await;
            handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
    }
    let addr = std::net::SocketAddr::from(([0, 0, 0, 0], args.port));
    tracing::info!(%addr, "serving the admission webhook");
    let app = Router::new()
        .route("/{hook}", post(validate))
        .with_state(state);
    axum_server::bind_rustls(addr, tls)
        .handle(handle)
        .serve(app.into_make_service())
        .await
        .with_context(|| format!("the webhook server on {addr} stopped"))?;
    Ok(ExitCode::SUCCESS)
}

/// Where the certificate comes from (one per process, so the size difference of the
/// variants does not matter).
#[allow(clippy::large_enum_variant)]
enum Source {
    /// Made and renewed in a Secret, the CA put in a ValidatingWebhookConfiguration.
    Managed {
        client: kube::Client,
        secret: certs::SecretStore,
        policy: Policy,
        webhook_config: String,
    },
    /// `tls.crt` and `tls.key` in a directory (cert-manager).
    Files { dir: std::path::PathBuf },
}

impl Source {
    async fn from_args(args: &WebhookArgs) -> anyhow::Result<Self> {
        if args.secret_name.is_empty() {
            return Ok(Self::Files {
                dir: args.cert_dir.clone().into(),
            });
        }
        let client = kube::Client::try_default()
            .await
            .context("no Kubernetes client configuration (in-cluster or KUBECONFIG)")?;
        let namespace = if args.secret_namespace.is_empty() {
            std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "default".to_owned())
        } else {
            args.secret_namespace.clone()
        };
        Ok(Self::Managed {
            secret: certs::SecretStore::new(client.clone(), &namespace, &args.secret_name),
            client,
            policy: Policy {
                dns_name: args.dns_name.clone(),
                lookahead: args.lookahead_interval,
                cert_lifetime: args.cert_lifetime,
                ca_lifetime: args.ca_lifetime,
            },
            webhook_config: args.webhook_config_name.clone(),
        })
    }

    /// The current bundle (renewed first when due), with the `caBundle` patched.
    async fn load(&self) -> anyhow::Result<Bundle> {
        match self {
            Self::Files { dir } => {
                let read = |f: &str| {
                    let path = dir.join(f);
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))
                };
                Ok(Bundle {
                    ca: String::new(),
                    ca_key: String::new(),
                    cert: read("tls.crt")?,
                    key: read("tls.key")?,
                })
            }
            Self::Managed {
                client,
                secret,
                policy,
                webhook_config,
            } => {
                let bundle = secret.ensure(policy).await?;
                if !webhook_config.is_empty()
                    && certs::patch_ca_bundle(client, webhook_config, &bundle.ca).await?
                {
                    tracing::info!(config = %webhook_config, "caBundle patched");
                }
                Ok(bundle)
            }
        }
    }
}

/// Checks the certificate every `interval` and serves a new one when it changed.
async fn rotate(
    source: Source,
    mut current: Bundle,
    tls: RustlsConfig,
    tls13_only: bool,
    interval: std::time::Duration,
    shutdown: Shutdown,
) {
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(interval) => {}
        }
        let next = match source.load().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:#}"),
                    "webhook certificate check failed; will retry"
                );
                continue;
            }
        };
        if next == current {
            continue;
        }
        match server_config(&next, tls13_only) {
            Ok(config) => {
                tls.reload_from_config(Arc::new(config));
                tracing::info!("serving a new webhook certificate");
                current = next;
            }
            Err(e) => tracing::warn!(error = format!("{e:#}"), "the new certificate is unusable"),
        }
    }
}

/// A rustls server configuration for `bundle` (aws-lc-rs, TLS 1.2 and 1.3 or 1.3 only).
fn server_config(bundle: &Bundle, tls13_only: bool) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_slice_iter(bundle.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("the serving certificate is not PEM: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(bundle.key.as_bytes())
        .map_err(|e| anyhow!("the serving key is not PEM: {e}"))?;
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12, &rustls::version::TLS13]
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the serving certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The webhook's shared state: readiness and metrics.
#[derive(Clone)]
struct Hooks {
    ready: Arc<AtomicBool>,
    registry: Registry,
    requests: IntCounterVec,
    in_flight: IntGaugeVec,
}

impl Hooks {
    fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "controller_runtime_webhook_requests_total",
                "Total number of admission requests by HTTP status code.",
            ),
            &["code", "webhook"],
        )?;
        let in_flight = IntGaugeVec::new(
            Opts::new(
                "controller_runtime_webhook_requests_in_flight",
                "Current number of admission requests being served.",
            ),
            &["webhook"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(Self {
            ready: Arc::new(AtomicBool::new(false)),
            registry,
            requests,
            in_flight,
        })
    }
}

async fn readyz(State(hooks): State<Hooks>) -> impl IntoResponse {
    if hooks.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "no certificate yet")
    }
}

async fn metrics(State(hooks): State<Hooks>) -> impl IntoResponse {
    let mut out = Vec::new();
    let families = hooks.registry.gather();
    match prometheus::TextEncoder::new().encode(&families, &mut out) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            out,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            e.to_string().into_bytes(),
        ),
    }
}

/// `POST /validate` and `POST /validate-...`: one AdmissionReview.
async fn validate(
    State(hooks): State<Hooks>,
    Path(hook): Path<String>,
    body: Bytes,
) -> impl IntoResponse {
    let path = format!("/{hook}");
    if hook != "validate" && !hook.starts_with("validate-") {
        hooks.requests.with_label_values(&["404", &path]).inc();
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            b"not a webhook path: use /validate".to_vec(),
        );
    }
    let gauge = hooks.in_flight.with_label_values(&[&path]);
    gauge.inc();
    let answer = eso_kube::admission::review(&body);
    gauge.dec();
    hooks.requests.with_label_values(&["200", &path]).inc();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        answer,
    )
}
