//! The command line: ESO's controller and webhook flags, with ESO's names and defaults where
//! they mean the same thing.
//!
//! ESO's binary is a Go program whose flags follow pflag: `--flag=value` or `--flag value`,
//! and booleans as `--flag` or `--flag=false`. These do the same. ESO's flags that
//! eso-operator does not honour are refused with the reason ([`refuse_unsupported`]), never
//! silently ignored; zap's logging flags (`--zap-*`, which ESO's chart always passes) are
//! accepted with a warning ([`strip_zap_flags`]).

use std::ffi::OsString;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `eso-operator`: runs the controllers (no subcommand) or the admission webhook.
#[derive(Debug, Parser)]
#[command(
    name = "eso-operator",
    version,
    about = "The External Secrets operator of eso-rs: ESO's controllers and webhook, in Rust",
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    /// The webhook mode; without it the controllers run.
    #[command(subcommand)]
    pub(crate) mode: Option<Mode>,
    /// The controllers' flags.
    #[command(flatten)]
    pub(crate) controller: ControllerArgs,
}

/// What to run besides the controllers.
#[derive(Debug, Subcommand)]
pub(crate) enum Mode {
    /// ESO's validating admission webhook, with its certificate managed in a Secret (ESO's
    /// cert-controller's job) or read from files (cert-manager).
    Webhook(WebhookArgs),
}

/// Logging flags every mode has.
#[derive(Debug, Args, Clone)]
pub(crate) struct LogArgs {
    /// The log level: debug, info, warn, error (ESO's dpanic, panic and fatal mean error).
    #[arg(long, default_value = "info", value_parser = parse_level)]
    pub(crate) loglevel: tracing::Level,
    /// JSON lines like ESO's (`level`, `ts`, `logger`, `msg`, fields), or plain text.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub(crate) log_format: LogFormat,
}

/// How log lines look.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// One JSON object per line, with ESO's (zap's) field names.
    Json,
    /// Human-readable lines.
    Text,
}

/// The controllers' flags (ESO's root command).
#[derive(Debug, Args, Clone)]
pub(crate) struct ControllerArgs {
    /// The number of objects of each kind reconciled at once.
    #[arg(long, default_value_t = 1)]
    pub(crate) concurrent: u16,
    /// Reconcile only stores whose `spec.controller` is empty or this class, and what uses
    /// them.
    #[arg(long, default_value = "default")]
    pub(crate) controller_class: String,
    /// Watch ExternalSecrets, PushSecrets, SecretStores and Secrets in this namespace only.
    #[arg(long, default_value = "")]
    pub(crate) namespace: String,
    /// Run only while holding the leader Lease (for more than one replica).
    #[arg(long, default_value = "false", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_leader_election: bool,
    /// The name of the Lease (in the namespace of `POD_NAMESPACE`).
    #[arg(long, default_value = "external-secrets-controller")]
    pub(crate) leader_election_id: String,
    /// How long a Lease is held without renewal before another replica may take it.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub(crate) leader_election_lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leadership.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) leader_election_renew_deadline: Duration,
    /// How often the leader renews and a candidate tries to acquire.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) leader_election_retry_period: Duration,
    /// Where `/metrics` is served (also `/healthz`, `/readyz`, `/refresh`).
    #[arg(long, default_value = ":8080")]
    pub(crate) metrics_addr: String,
    /// Where `/healthz` and `/readyz` are served.
    #[arg(long, default_value = ":8082")]
    pub(crate) live_addr: String,
    /// Run the ClusterSecretStore controller.
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_cluster_store_reconciler: bool,
    /// Run the SecretStore controller.
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_secret_store_reconciler: bool,
    /// Run the ClusterExternalSecret controller.
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_cluster_external_secret_reconciler: bool,
    /// Run the PushSecret controller.
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_push_secret_reconciler: bool,
    /// Run the ClusterPushSecret controller.
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_cluster_push_secret_reconciler: bool,
    /// How often a store without its own `refreshInterval` is checked again.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub(crate) store_requeue_interval: Duration,
    /// Record what stateful generators produce as GeneratorStates, and collect them.
    #[arg(long, default_value = "true", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) enable_generator_state: bool,
    /// How long a generator state the consumer moved away from is kept before its cleanup.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    pub(crate) generator_gc_grace_period: Duration,
    /// Targets other than Secrets (`spec.target.manifest`): not supported by eso-rs yet, so
    /// only `false` is accepted.
    #[arg(long, default_value = "false", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub(crate) unsafe_allow_generic_targets: bool,
    /// Ours: share provider reads between reconciles for this long and group the refreshes
    /// of each store on its beat (0: every reconcile reads for itself).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) read_window: Duration,
    /// Ours: gather single reads of providers that batch (AWS Secrets Manager) for this long
    /// into one batch call (0: off).
    #[arg(long, default_value = "5ms", value_parser = parse_duration)]
    pub(crate) batch_gather: Duration,
    /// Logging.
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// The webhook's flags (ESO's `webhook` and `certcontroller` commands in one).
#[derive(Debug, Args, Clone)]
pub(crate) struct WebhookArgs {
    /// The HTTPS port the API server calls.
    #[arg(long, default_value_t = 10250)]
    pub(crate) port: u16,
    /// The DNS name the serving certificate is made for (the webhook Service's
    /// `<name>.<namespace>.svc`).
    #[arg(long, default_value = "localhost")]
    pub(crate) dns_name: String,
    /// Where `tls.crt` and `tls.key` are read from when the certificate is provided (by
    /// cert-manager): used when `--secret-name` is empty.
    #[arg(long, default_value = "/tmp/k8s-webhook-server/serving-certs")]
    pub(crate) cert_dir: String,
    /// How often the certificate is checked (renewed, reloaded, the `caBundle` re-patched).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub(crate) check_interval: Duration,
    /// Renew the serving certificate (and the CA) when it expires within this.
    #[arg(long, default_value = "2160h", value_parser = parse_duration)]
    pub(crate) lookahead_interval: Duration,
    /// Where `/healthz` and `/readyz` are served.
    #[arg(long, default_value = ":8081")]
    pub(crate) healthz_addr: String,
    /// Where `/metrics` is served.
    #[arg(long, default_value = ":8080")]
    pub(crate) metrics_addr: String,
    /// The lowest TLS version accepted: 1.2 or 1.3.
    #[arg(long, default_value = "1.2")]
    pub(crate) tls_min_version: String,
    /// The Secret holding the CA and the serving certificate the webhook creates and rotates
    /// itself; empty: the certificate comes from `--cert-dir`.
    #[arg(long, default_value = "")]
    pub(crate) secret_name: String,
    /// The namespace of `--secret-name` (default: `POD_NAMESPACE`, else `default`).
    #[arg(long, default_value = "")]
    pub(crate) secret_namespace: String,
    /// The ValidatingWebhookConfiguration whose `caBundle` is kept pointing at the CA (with
    /// `--secret-name`).
    #[arg(long, default_value = "")]
    pub(crate) webhook_config_name: String,
    /// How long a serving certificate the webhook makes is valid.
    #[arg(long, default_value = "8760h", value_parser = parse_duration)]
    pub(crate) cert_lifetime: Duration,
    /// How long a CA the webhook makes is valid.
    #[arg(long, default_value = "87600h", value_parser = parse_duration)]
    pub(crate) ca_lifetime: Duration,
    /// Logging.
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

/// A Go duration (`90s`, `5m`, `1h30m`), as ESO's flags take them.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = eso_core::GoDuration::parse(s).map_err(|e| e.to_string())?;
    d.to_std()
        .ok_or_else(|| format!("{s:?} is negative; a positive duration is needed"))
}

/// ESO's log levels (zap's), as `tracing` levels.
fn parse_level(s: &str) -> Result<tracing::Level, String> {
    match s.to_ascii_lowercase().as_str() {
        "debug" => Ok(tracing::Level::DEBUG),
        "info" => Ok(tracing::Level::INFO),
        "warn" | "warning" => Ok(tracing::Level::WARN),
        "error" | "dpanic" | "panic" | "fatal" => Ok(tracing::Level::ERROR),
        other => Err(format!(
            "{other:?} is not a log level (debug, info, warn, error, dpanic, panic, fatal)"
        )),
    }
}

/// ESO's flags that eso-operator does not honour, each with the reason.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "metrics-auth",
        "the metrics endpoint has no RBAC-based authentication; protect it with a NetworkPolicy",
    ),
    (
        "metrics-secure",
        "the metrics endpoint is served over plain HTTP only",
    ),
    (
        "metrics-cert-dir",
        "the metrics endpoint is served over plain HTTP only",
    ),
    (
        "metrics-cert-name",
        "the metrics endpoint is served over plain HTTP only",
    ),
    (
        "metrics-key-name",
        "the metrics endpoint is served over plain HTTP only",
    ),
    (
        "client-qps",
        "the Kubernetes client has no client-side rate limit; the API server's priority and fairness applies",
    ),
    (
        "client-burst",
        "the Kubernetes client has no client-side rate limit; the API server's priority and fairness applies",
    ),
    (
        "enable-secrets-caching",
        "Secrets are watched as metadata only and their data read when needed; there is no full Secret cache to turn on",
    ),
    (
        "enable-configmaps-caching",
        "ConfigMaps are read when needed; there is no ConfigMap cache to turn on",
    ),
    (
        "enable-managed-secrets-caching",
        "managed Secrets are always tracked by a metadata-only watch; this cannot be changed",
    ),
    (
        "enable-secret-api-read-on-cache-mismatch",
        "there is no partial Secret cache whose mismatches this would settle",
    ),
    (
        "enable-flood-gate",
        "ExternalSecrets of a store that is not ready are always reconciled (and fail with the store's error)",
    ),
    (
        "enable-extended-metric-labels",
        "metrics carry ESO's default labels only",
    ),
    ("enable-http2", "the HTTP endpoints speak HTTP/1.1 only"),
    (
        "enable-vault-token-cache",
        "Vault clients (and their tokens) are always cached per store revision",
    ),
    (
        "vault-token-cache-size",
        "Vault clients (and their tokens) are always cached per store revision",
    ),
    (
        "experimental-enable-aws-session-cache",
        "AWS clients are always cached per store revision",
    ),
    (
        "tls-ciphers",
        "the cipher suites are rustls's safe defaults; choose the TLS version with --tls-min-version",
    ),
    (
        "healthz-addr",
        "the controllers serve /healthz on --live-addr (the webhook takes --healthz-addr)",
    ),
    (
        "crd-requeue-interval",
        "the webhook manages its certificate itself (--secret-name, --check-interval); there is no CRD conversion webhook to patch",
    ),
    (
        "enable-partial-cache",
        "the webhook reads only its own Secret; there is no cache to narrow",
    ),
];

/// ESO's `certcontroller` command: folded into `webhook`.
const CERTCONTROLLER: &str = "ESO's certcontroller is part of `eso-operator webhook` here: it creates and rotates its certificate in the Secret named by --secret-name and patches the caBundle of --webhook-config-name";

/// Refuses ESO's flags that are not honoured (and ESO's `certcontroller` command), with the
/// reason. A flag set to its ESO default in a way that changes nothing is still refused:
/// the message says what to remove.
pub(crate) fn refuse_unsupported(args: &[OsString]) -> Result<(), String> {
    let mut mode = "controller";
    for (i, arg) in args.iter().enumerate().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        if i == 1 && arg == "certcontroller" {
            return Err(CERTCONTROLLER.to_owned());
        }
        if i == 1 && arg == "webhook" {
            mode = "webhook";
        }
        let Some(name) = arg.strip_prefix("--") else {
            continue;
        };
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        // `--healthz-addr` is a webhook flag; only the controllers refuse it.
        if name == "healthz-addr" && mode == "webhook" {
            continue;
        }
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
            return Err(format!(
                "flag --{name} is one of ESO's, but eso-operator does not honour it: {why}. Remove it."
            ));
        }
    }
    Ok(())
}

/// Removes zap's logging flags (`--zap-devel`, `--zap-encoder`, `--zap-log-level`,
/// `--zap-stacktrace-level`, `--zap-time-encoding`, with `=value` or a separate value) and
/// returns the rest, with the names of those removed.
pub(crate) fn strip_zap_flags(args: Vec<OsString>) -> (Vec<OsString>, Vec<String>) {
    let mut kept = Vec::with_capacity(args.len());
    let mut removed = Vec::new();
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        let Some(flag) = arg.to_str().and_then(|a| a.strip_prefix("--zap-")) else {
            kept.push(arg);
            continue;
        };
        let (name, has_value) = flag
            .split_once('=')
            .map_or((flag, false), |(n, _)| (n, true));
        removed.push(format!("--zap-{name}"));
        // `--zap-devel` is a boolean; the others take a value, maybe as the next argument.
        if !has_value && name != "devel" {
            let next_is_value = iter
                .peek()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('-'));
            if next_is_value {
                iter.next();
            }
        }
    }
    (kept, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn esos_chart_arguments_parse_with_esos_defaults() {
        let (args, zap) = strip_zap_flags(os(&[
            "eso-operator",
            "--concurrent=4",
            "--enable-leader-election=true",
            "--metrics-addr=:8080",
            "--loglevel=info",
            "--zap-time-encoding=epoch",
            "--zap-devel",
            "--zap-log-level",
            "debug",
            "--enable-push-secret-reconciler=false",
        ]));
        assert_eq!(
            zap,
            ["--zap-time-encoding", "--zap-devel", "--zap-log-level"]
        );
        refuse_unsupported(&args).unwrap();
        let cli = Cli::try_parse_from(args).unwrap();
        let c = cli.controller;
        assert!(cli.mode.is_none());
        assert_eq!(c.concurrent, 4);
        assert!(c.enable_leader_election);
        assert!(!c.enable_push_secret_reconciler);
        assert!(c.enable_cluster_store_reconciler);
        assert_eq!(c.controller_class, "default");
        assert_eq!(c.leader_election_id, "external-secrets-controller");
        assert_eq!(c.leader_election_lease_duration, Duration::from_secs(15));
        assert_eq!(c.store_requeue_interval, Duration::from_secs(300));
        assert_eq!(c.live_addr, ":8082");
    }

    #[test]
    fn flags_not_honoured_are_refused_with_the_reason() {
        let err = refuse_unsupported(&os(&["eso-operator", "--client-qps=100"])).unwrap_err();
        assert!(
            err.contains("--client-qps") && err.contains("rate limit"),
            "{err}"
        );
        let err = refuse_unsupported(&os(&["eso-operator", "certcontroller"])).unwrap_err();
        assert!(err.contains("webhook"), "{err}");
        refuse_unsupported(&os(&["eso-operator", "webhook", "--healthz-addr=:8081"])).unwrap();
        assert!(refuse_unsupported(&os(&["eso-operator", "--healthz-addr=:8081"])).is_err());
        // A flag nobody has is clap's error.
        assert!(Cli::try_parse_from(os(&["eso-operator", "--no-such-flag"])).is_err());
    }

    #[test]
    fn the_webhook_takes_esos_webhook_flags() {
        let cli = Cli::try_parse_from(os(&[
            "eso-operator",
            "webhook",
            "--port=9443",
            "--dns-name=eso-webhook.eso.svc",
            "--check-interval=1m",
            "--secret-name=eso-webhook",
        ]))
        .unwrap();
        let Some(Mode::Webhook(w)) = cli.mode else {
            panic!("not the webhook")
        };
        assert_eq!(w.port, 9443);
        assert_eq!(w.check_interval, Duration::from_secs(60));
        assert_eq!(w.lookahead_interval, Duration::from_secs(2160 * 3600));
        assert_eq!(w.secret_name, "eso-webhook");
    }

    #[test]
    fn bad_values_name_the_flag() {
        let err = Cli::try_parse_from(os(&["eso-operator", "--store-requeue-interval=5x"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--store-requeue-interval"), "{err}");
        let err = Cli::try_parse_from(os(&["eso-operator", "--loglevel=loud"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a log level"), "{err}");
    }
}
