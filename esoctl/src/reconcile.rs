//! `esoctl reconcile`: one pass of every flow over manifests, optionally keeping the cluster
//! side and the in-memory stores between runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use base64::Engine as _;
use eso_core::SecretValue;
use eso_core::api::{Manifest, parse_documents};
use eso_core::cluster::{Cluster, KubeConfigMap, KubeNamespace, KubeSecret, MemoryCluster};
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::{
    InMemory, InMemoryFactory, ProviderRegistry, StoreIdentity, StoreScope, StoredSecret,
};
use eso_core::reconcile::{
    FlowError, MemoryCatalog, MemoryWorkloads, ObjectKey, Reconciler, Sweep,
};
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Map, Value, json};

mod io;
mod kube;
mod output;
mod steps;

use output::print_items;
pub(crate) use output::{Fatal, Format};

use io::{State, load_input, read_state, secret_to_json, write_state};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Arguments of `esoctl reconcile`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Manifest files or directories (searched recursively for .yaml, .yml and .json files):
    /// stores, generators, ExternalSecrets, PushSecrets, and plain Secrets, ConfigMaps and
    /// Namespaces.
    #[arg(
        short = 'f',
        long = "filename",
        required_unless_present = "kubeconfig",
        value_name = "FILE|DIR"
    )]
    pub(crate) files: Vec<PathBuf>,
    /// Run one pass against the cluster of this kubeconfig instead of files: read the stores
    /// and ESO objects from the API server, write target Secrets there and patch the
    /// objects' status.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["files", "state"])]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME", requires = "kubeconfig")]
    pub(crate) context: Option<String>,
    /// Keep the cluster side (Secrets, object statuses, in-memory store contents) in this
    /// directory between runs. The file it writes holds secret values: keep it private.
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Yaml)]
    pub(crate) output: Format,
    /// The time of this pass (RFC 3339, e.g. 2026-01-01T00:00:00Z) instead of the clock:
    /// lets refresh intervals elapse between runs.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run_async(args)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failures) => {
            eprintln!("{failures} object(s) failed to reconcile");
            ExitCode::FAILURE
        }
        Err(Fatal(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// One ESO object as loaded and tracked across runs.
#[derive(Debug, Clone)]
struct Object {
    /// Position in the input (file order), for stable output.
    order: usize,
    /// The object as JSON, with metadata completed and the status of the previous run.
    value: Value,
}

/// `Kind/namespace/name` (namespace empty for cluster-scoped kinds).
fn object_key(kind: &str, namespace: &str, name: &str) -> String {
    format!("{kind}/{namespace}/{name}")
}

fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "ClusterSecretStore" | "ClusterExternalSecret" | "ClusterPushSecret" | "ClusterGenerator"
    )
}

async fn run_async(args: &Args) -> Result<usize, Fatal> {
    let now = match &args.now {
        Some(t) => t
            .parse::<jiff::Timestamp>()
            .map_err(|e| Fatal(format!("--now {t:?}: not an RFC 3339 time: {e}")))?,
        None => jiff::Timestamp::now(),
    };
    match &args.kubeconfig {
        Some(path) => kube::run(path, args.context.as_deref(), args.output, now).await,
        None => steps::run_files(args, now).await,
    }
}

/// What a ClusterExternalSecret or ClusterPushSecret pass (or its deletion) produced: its new
/// status, its error, and the objects it deleted (whose own deletion logic must still run).
type ClusterKindOutcome = (Value, Vec<FlowError>, Vec<Manifest>);

/// Reconciles (or, with `delete`, deletes) a cluster kind; `None` for other kinds.
async fn run_cluster_kind(
    reconciler: &Reconciler,
    m: &Manifest,
    now: jiff::Timestamp,
    delete: bool,
) -> Result<Option<ClusterKindOutcome>, Fatal> {
    Ok(match m {
        Manifest::ClusterExternalSecret(ces) => {
            let out = if delete {
                reconciler.delete_cluster_external_secret(ces, now).await
            } else {
                reconciler.reconcile_cluster_external_secret(ces, now).await
            };
            let status = serde_json::to_value(&out.status)?;
            let deleted = out.detail.deleted.into_iter();
            let deleted = deleted.map(|es| Manifest::ExternalSecret(Box::new(es)));
            Some((status, out.errors, deleted.collect()))
        }
        Manifest::ClusterPushSecret(cps) => {
            let out = if delete {
                reconciler.delete_cluster_push_secret(cps, now).await
            } else {
                reconciler.reconcile_cluster_push_secret(cps, now).await
            };
            let status = serde_json::to_value(&out.status)?;
            let deleted = out.detail.deleted.into_iter();
            let deleted = deleted.map(|ps| Manifest::PushSecret(Box::new(ps)));
            Some((status, out.errors, deleted.collect()))
        }
        _ => None,
    })
}

/// `Kind/namespace/name` as `Kind namespace/name` (or `Kind name`) for messages.
fn describe(key: &str) -> String {
    let mut parts = key.splitn(3, '/');
    let kind = parts.next().unwrap_or_default();
    let ns = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    if ns.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {ns}/{name}")
    }
}

/// A stable UID for an object first seen in this run (a UUID-shaped hash of its key).
fn derived_uid(key: &str) -> String {
    let h = eso_core::reconcile::string_hash(key);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn store_identity(key: &str, value: &Value) -> Option<StoreIdentity> {
    let generation = value["metadata"]["generation"].as_i64().unwrap_or(0);
    let mut parts = key.splitn(3, '/');
    let kind = parts.next()?;
    let ns = parts.next()?;
    let name = parts.next()?;
    let scope = match kind {
        "SecretStore" => StoreScope::Namespaced,
        "ClusterSecretStore" => StoreScope::Cluster,
        _ => return None,
    };
    Some(StoreIdentity::new(scope, ns, name).with_generation(generation))
}
