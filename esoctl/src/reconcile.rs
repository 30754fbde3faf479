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

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Format {
    Yaml,
    Json,
}

/// A failure that stops the run before anything is written.
#[derive(Debug)]
pub(crate) struct Fatal(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
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
    if let Some(path) = &args.kubeconfig {
        return crate::reconcile_kube::run(path, args.context.as_deref(), args.output, now).await;
    }
    let input = load_input(&args.files)?;
    let previous = match &args.state {
        Some(dir) => read_state(dir)?,
        None => State::default(),
    };

    // Complete metadata: uid and generation (bumped when the spec changed since last run),
    // and carry the previous status.
    let mut objects: BTreeMap<String, Object> = BTreeMap::new();
    for (order, (key, mut value)) in input.objects.into_iter().enumerate() {
        let old = previous.objects.get(&key);
        let spec = value.get("spec").cloned().unwrap_or(Value::Null);
        let generation = match old {
            Some(o) if o.get("spec") == Some(&spec) => o["generation"].as_i64().unwrap_or(1),
            Some(o) => o["generation"].as_i64().unwrap_or(1) + 1,
            None => 1,
        };
        let uid = old
            .and_then(|o| o["uid"].as_str())
            .map_or_else(|| derived_uid(&key), str::to_owned);
        let meta = value
            .as_object_mut()
            .and_then(|o| o.get_mut("metadata"))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Fatal(format!("{key}: metadata must be an object")))?;
        meta.insert("generation".into(), json!(generation));
        meta.insert("uid".into(), json!(uid));
        if let Some(status) = old.and_then(|o| o.get("status")).filter(|s| !s.is_null()) {
            value["status"] = status.clone();
        }
        objects.insert(key, Object { order, value });
    }

    // The cluster: Secrets of earlier runs, then the manifests' Secrets on top; Secrets the
    // manifests supplied before but no longer do are removed (like `kubectl apply --prune`).
    let mut cluster = MemoryCluster::new();
    let supplied: BTreeSet<String> = input
        .secrets
        .iter()
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect();
    for s in previous.secrets {
        let id = format!("{}/{}", s.namespace, s.name);
        if previous.applied.contains(&id) && !supplied.contains(&id) {
            continue;
        }
        cluster = cluster.with_secret(s);
    }
    for mut s in input.secrets {
        if let Some(old) = cluster.get_secret(&s.namespace, &s.name).await? {
            s.uid = old.uid;
        }
        cluster = cluster.with_secret(s);
    }
    for cm in input.config_maps {
        cluster = cluster.with_config_map(cm);
    }
    let mut namespaces: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for o in objects.values() {
        if let Some(ns) = o.value["metadata"]["namespace"].as_str() {
            namespaces.entry(ns.to_owned()).or_default();
        }
    }
    for s in cluster.secrets() {
        namespaces.entry(s.namespace.clone()).or_default();
    }
    namespaces.extend(input.namespaces);
    for (name, labels) in namespaces {
        cluster = cluster.with_namespace(KubeNamespace::new(name, labels));
    }

    // Typed objects and the catalog.
    let mut catalog = MemoryCatalog::new();
    let mut typed: Vec<(String, usize, Manifest)> = Vec::new();
    for (key, o) in &objects {
        let m = Manifest::from_value(o.value.clone())
            .map_err(|e| Fatal(format!("{key}: {}: {}", e.path, e.message)))?;
        typed.push((key.clone(), o.order, m.clone()));
        catalog.add(m);
    }
    typed.sort_by_key(|(_, order, _)| *order);

    // Providers: the in-memory `fake` kind, with the contents of earlier runs restored while
    // the store spec is unchanged.
    let memory = InMemoryFactory::default();
    for (key, o) in &objects {
        let Some((spec, contents)) = previous.stores.get(key) else {
            continue;
        };
        if o.value.get("spec") != Some(spec) {
            continue;
        }
        if let Some(id) = store_identity(key, &o.value) {
            memory.with_store(id, InMemory::import(contents.iter().cloned()));
        }
    }
    let mut registry = ProviderRegistry::empty();
    registry.register(Arc::new(memory.clone()));
    crate::providers::register_providers(&mut registry);
    let mut generators = GeneratorRegistry::new();
    crate::providers::register_generators(&mut generators);
    let reconciler = Reconciler::new(Arc::new(cluster.clone()), catalog)
        .with_providers(Arc::new(registry))
        .with_generators(Arc::new(generators));

    let mut failures = 0usize;
    let mut report = |what: &str, e: &dyn std::fmt::Display| {
        failures += 1;
        eprintln!("{what}: {e}");
    };

    // ExternalSecrets and PushSecrets, as ClusterExternalSecrets and ClusterPushSecrets see
    // them: the manifests' own, plus those the cluster kinds generated in earlier runs.
    let mut workloads = MemoryWorkloads::new();
    for (_, _, m) in &typed {
        match m {
            Manifest::ExternalSecret(es) => {
                workloads = workloads.with_external_secret((**es).clone())
            }
            Manifest::PushSecret(ps) => workloads = workloads.with_push_secret((**ps).clone()),
            _ => {}
        }
    }
    for (key, old) in &previous.objects {
        if old["generated"] != json!(true) || objects.contains_key(key) {
            continue;
        }
        match Manifest::from_value(old["object"].clone()) {
            Ok(Manifest::ExternalSecret(es)) => workloads = workloads.with_external_secret(*es),
            Ok(Manifest::PushSecret(ps)) => workloads = workloads.with_push_secret(*ps),
            _ => {}
        }
    }
    let reconciler = reconciler.with_workloads(Arc::new(workloads.clone()));

    // Objects that left the manifests: run their deletion (finalizer) logic, then collect
    // the Secrets they owned, as the API server's garbage collector would.
    let mut deleted_uids = BTreeSet::new();
    // (Generated objects are the cluster kinds' business: they delete them below.)
    let mut removed: Vec<(String, Manifest)> = Vec::new();
    for (key, old) in &previous.objects {
        if objects.contains_key(key) || old["generated"] == json!(true) {
            continue;
        }
        if let Ok(m) = Manifest::from_value(old["object"].clone()) {
            removed.push((key.clone(), m));
        }
    }
    let mut cluster_statuses: BTreeMap<String, Value> = BTreeMap::new();
    let mut doomed: Vec<Manifest> = Vec::new();
    for (key, m) in &removed {
        match run_cluster_kind(&reconciler, m, now, true).await? {
            Some((_, errors, deleted)) => {
                for e in &errors {
                    report(&describe(key), e);
                }
                doomed.extend(deleted);
            }
            None => doomed.push(m.clone()),
        }
    }
    // The cluster kinds of the manifests: create, update or delete the objects they own.
    for (key, _, m) in &typed {
        if let Some((status, errors, deleted)) =
            run_cluster_kind(&reconciler, m, now, false).await?
        {
            for e in &errors {
                report(&describe(key), e);
            }
            cluster_statuses.insert(key.clone(), status);
            doomed.extend(deleted);
        }
    }
    for m in &doomed {
        let key = m
            .metadata()
            .map(|meta| {
                object_key(
                    m.kind(),
                    meta.namespace.as_deref().unwrap_or_default(),
                    meta.name.as_deref().unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        if let Some(uid) = m.metadata().and_then(|meta| meta.uid.clone()) {
            deleted_uids.insert(uid);
        }
        match m {
            Manifest::ExternalSecret(es) => {
                for e in reconciler.delete_external_secret(es, now).await.errors {
                    report(&describe(&key), &e);
                }
            }
            Manifest::PushSecret(ps) => {
                for e in reconciler.delete_push_secret(ps, now).await.errors {
                    report(&describe(&key), &e);
                }
            }
            _ => {}
        }
    }
    // What the cluster kinds own now joins the pass.
    let mut generated = BTreeSet::new();
    let owned = workloads
        .external_secrets()
        .into_iter()
        .map(|es| Manifest::ExternalSecret(Box::new(es)))
        .chain(
            workloads
                .push_secrets()
                .into_iter()
                .map(|ps| Manifest::PushSecret(Box::new(ps))),
        );
    for m in owned {
        let Some(meta) = m.metadata() else { continue };
        let key = object_key(
            m.kind(),
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
        );
        if objects.contains_key(&key) {
            continue;
        }
        // A stable UID across runs (the in-memory workload store numbers from 1 each run).
        let mut value = m.to_value()?;
        let uid = previous
            .objects
            .get(&key)
            .and_then(|o| o["uid"].as_str())
            .map_or_else(|| derived_uid(&key), str::to_owned);
        value["metadata"]["uid"] = json!(uid);
        let m = Manifest::from_value(value.clone())
            .map_err(|e| Fatal(format!("{key}: {}: {}", e.path, e.message)))?;
        let order = objects.len() + 1_000_000;
        objects.insert(key.clone(), Object { order, value });
        generated.insert(key.clone());
        typed.push((key, order, m));
    }

    for s in cluster.secrets() {
        if !s.owner_references.is_empty()
            && s.owner_references
                .iter()
                .all(|o| deleted_uids.contains(&o.uid))
        {
            cluster.delete_secret(&s.namespace, &s.name).await?;
        }
    }

    // One pass in the library's order (stores, pushes, read-ahead, ExternalSecrets, pushes
    // of their targets); the cluster kinds already ran above, with the file-specific
    // bookkeeping of deletions and stable UIDs.
    let mut sweep = Sweep::default();
    let mut keys: BTreeMap<(&str, String), String> = BTreeMap::new();
    for (key, _, m) in &typed {
        let (kind, k) = match m {
            Manifest::SecretStore(s) => {
                sweep.secret_stores.push((**s).clone());
                ("SecretStore", s.metadata.clone())
            }
            Manifest::ClusterSecretStore(s) => {
                sweep.cluster_secret_stores.push((**s).clone());
                ("ClusterSecretStore", s.metadata.clone())
            }
            Manifest::PushSecret(ps) => {
                sweep.push_secrets.push((**ps).clone());
                ("PushSecret", ps.metadata.clone())
            }
            Manifest::ExternalSecret(es) => {
                sweep.external_secrets.push((**es).clone());
                ("ExternalSecret", es.metadata.clone())
            }
            _ => continue,
        };
        let at = format!(
            "{}/{}",
            k.namespace.unwrap_or_default(),
            k.name.unwrap_or_default()
        );
        keys.insert((kind, at), key.clone());
    }
    let swept = reconciler.sweep(sweep, now).await;
    let mut statuses: BTreeMap<String, Value> = BTreeMap::new();
    let mut record = |kind: &'static str,
                      at: &ObjectKey,
                      status: Value,
                      errors: &[FlowError]|
     -> Result<(), Fatal> {
        let at = format!("{}/{}", at.namespace, at.name);
        let Some(key) = keys.get(&(kind, at)) else {
            return Ok(());
        };
        for e in errors {
            report(&describe(key), &e.to_string());
        }
        statuses.insert(key.clone(), status);
        Ok(())
    };
    for (at, out) in &swept.secret_stores {
        record(
            "SecretStore",
            at,
            serde_json::to_value(&out.status)?,
            &out.errors,
        )?;
    }
    for (at, out) in &swept.cluster_secret_stores {
        record(
            "ClusterSecretStore",
            at,
            serde_json::to_value(&out.status)?,
            &out.errors,
        )?;
    }
    for (at, out) in &swept.push_secrets {
        record(
            "PushSecret",
            at,
            serde_json::to_value(&out.status)?,
            &out.errors,
        )?;
    }
    for (at, out) in &swept.external_secrets {
        record(
            "ExternalSecret",
            at,
            serde_json::to_value(&out.status)?,
            &out.errors,
        )?;
    }

    // Assemble the new objects and the output.
    let mut items = Vec::new();
    let mut next = State::default();
    let mut ordered: Vec<(&String, &Object)> = objects.iter().collect();
    ordered.sort_by_key(|(_, o)| o.order);
    for (key, o) in ordered {
        let mut value = o.value.clone();
        if let Some(status) = statuses.get(key).or_else(|| cluster_statuses.get(key)) {
            value["status"] = status.clone();
        }
        next.objects.insert(
            key.clone(),
            json!({
                "uid": value["metadata"]["uid"],
                "generation": value["metadata"]["generation"],
                "spec": value.get("spec").cloned().unwrap_or(Value::Null),
                "status": value.get("status").cloned().unwrap_or(Value::Null),
                "generated": generated.contains(key),
                "object": value,
            }),
        );
        items.push(value);
    }
    next.secrets = cluster.secrets();
    for s in &next.secrets {
        items.push(secret_to_json(s));
    }
    next.applied = supplied;
    for (id, store) in memory.stores() {
        let key = match id.scope {
            StoreScope::Cluster => object_key("ClusterSecretStore", "", &id.name),
            _ => object_key("SecretStore", &id.namespace, &id.name),
        };
        if let Some(o) = objects.get(&key) {
            let spec = o.value.get("spec").cloned().unwrap_or(Value::Null);
            next.stores.insert(key, (spec, store.export()));
        }
    }

    print_items(&items, args.output)?;
    if let Some(dir) = &args.state {
        write_state(dir, &next)?;
    }
    Ok(failures)
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

pub(crate) fn print_items(items: &[Value], format: Format) -> Result<(), Fatal> {
    match format {
        Format::Json => {
            let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        Format::Yaml => {
            let mut out = String::new();
            for item in items {
                out.push_str("---\n");
                out.push_str(&serde_saphyr::to_string(item)?);
            }
            print!("{out}");
        }
    }
    Ok(())
}
