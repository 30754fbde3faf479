//! The steps of one `esoctl reconcile` pass over files, in the order [`run_files`] takes
//! them: complete the objects, set up the cluster and the stores, run the cluster kinds and
//! deletions, sweep, and assemble the output and the next state.

use std::fmt::Display;

use super::*;

/// Runs one pass over the manifests of `args` at `now`; the number of objects that failed.
pub(super) async fn run_files(args: &Args, now: jiff::Timestamp) -> Result<usize, Fatal> {
    let input = load_input(&args.files)?;
    let previous = match &args.state {
        Some(dir) => read_state(dir)?,
        None => State::default(),
    };
    let mut objects = complete_objects(input.objects, &previous)?;
    let supplied: BTreeSet<String> = input
        .secrets
        .iter()
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect();
    let cluster = seed_cluster(
        input.secrets,
        input.config_maps,
        input.namespaces,
        &previous,
        &supplied,
        &objects,
    )
    .await?;
    let (catalog, mut typed) = typed_objects(&objects)?;
    let memory = restore_stores(&objects, &previous);
    let workloads = seed_workloads(&typed, &objects, &previous);
    let reconciler = Reconciler::new(Arc::new(cluster.clone()), catalog)
        .with_providers(Arc::new(registry(&memory)))
        .with_generators(generators())
        .with_workloads(Arc::new(workloads.clone()));

    let mut failures = Failures::default();
    let (cluster_statuses, doomed) =
        run_cluster_kinds(&reconciler, &typed, &objects, &previous, now, &mut failures).await?;
    let deleted_uids = delete_doomed(&reconciler, &doomed, now, &mut failures).await;
    let generated = adopt_owned(&workloads, &mut objects, &mut typed, &previous)?;
    collect_garbage(&cluster, &deleted_uids).await?;
    let statuses = sweep(&reconciler, &typed, now, &mut failures).await?;

    let mut next = State::default();
    let items = assemble(
        &objects,
        &statuses,
        &cluster_statuses,
        &generated,
        &mut next,
    );
    let items = finish_state(items, &mut next, &cluster, supplied, &memory, &objects);
    print_items(&items, args.output)?;
    if let Some(dir) = &args.state {
        write_state(dir, &next)?;
    }
    Ok(failures.0)
}

/// One typed object: its key, its position in the input, the manifest.
type Typed = (String, usize, Manifest);

/// Counts the objects that failed, reporting each error on stderr.
#[derive(Debug, Default)]
struct Failures(usize);

impl Failures {
    fn report(&mut self, what: &str, e: &dyn Display) {
        self.0 += 1;
        eprintln!("{what}: {e}");
    }
}

/// Completes metadata: uid and generation (bumped when the spec changed since last run), and
/// carries the previous status.
fn complete_objects(
    input: Vec<(String, Value)>,
    previous: &State,
) -> Result<BTreeMap<String, Object>, Fatal> {
    let mut objects: BTreeMap<String, Object> = BTreeMap::new();
    for (order, (key, mut value)) in input.into_iter().enumerate() {
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
    Ok(objects)
}

/// The cluster: Secrets of earlier runs, then the manifests' Secrets on top; Secrets the
/// manifests supplied before but no longer do are removed (like `kubectl apply --prune`).
/// Every namespace an object or Secret is in exists.
async fn seed_cluster(
    secrets: Vec<KubeSecret>,
    config_maps: Vec<KubeConfigMap>,
    input_namespaces: BTreeMap<String, BTreeMap<String, String>>,
    previous: &State,
    supplied: &BTreeSet<String>,
    objects: &BTreeMap<String, Object>,
) -> Result<MemoryCluster, Fatal> {
    let mut cluster = MemoryCluster::new();
    for s in &previous.secrets {
        let id = format!("{}/{}", s.namespace, s.name);
        if previous.applied.contains(&id) && !supplied.contains(&id) {
            continue;
        }
        cluster = cluster.with_secret(s.clone());
    }
    for mut s in secrets {
        if let Some(old) = cluster.get_secret(&s.namespace, &s.name).await? {
            s.uid = old.uid;
        }
        cluster = cluster.with_secret(s);
    }
    for cm in config_maps {
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
    namespaces.extend(input_namespaces);
    for (name, labels) in namespaces {
        cluster = cluster.with_namespace(KubeNamespace::new(name, labels));
    }
    Ok(cluster)
}

/// The objects typed (in input order, with their keys) and the catalog of stores and
/// generators they form.
fn typed_objects(objects: &BTreeMap<String, Object>) -> Result<(MemoryCatalog, Vec<Typed>), Fatal> {
    let mut catalog = MemoryCatalog::new();
    let mut typed: Vec<Typed> = Vec::new();
    for (key, o) in objects {
        let m = Manifest::from_value(o.value.clone())
            .map_err(|e| Fatal(format!("{key}: {}: {}", e.path, e.message)))?;
        typed.push((key.clone(), o.order, m.clone()));
        catalog.add(m);
    }
    typed.sort_by_key(|(_, order, _)| *order);
    Ok((catalog, typed))
}

/// The in-memory `fake` kind, with the contents of earlier runs restored while the store
/// spec is unchanged.
fn restore_stores(objects: &BTreeMap<String, Object>, previous: &State) -> InMemoryFactory {
    let memory = InMemoryFactory::default();
    for (key, o) in objects {
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
    memory
}

/// The providers: `memory` for the `fake` kind, then every provider esoctl links.
fn registry(memory: &InMemoryFactory) -> ProviderRegistry {
    let mut registry = ProviderRegistry::empty();
    registry.register(Arc::new(memory.clone()));
    crate::providers::register_providers(&mut registry);
    registry
}

/// Every generator esoctl links.
fn generators() -> GeneratorRegistry {
    let mut generators = GeneratorRegistry::new();
    crate::providers::register_generators(&mut generators);
    generators
}

/// ExternalSecrets and PushSecrets, as ClusterExternalSecrets and ClusterPushSecrets see
/// them: the manifests' own, plus those the cluster kinds generated in earlier runs.
fn seed_workloads(
    typed: &[Typed],
    objects: &BTreeMap<String, Object>,
    previous: &State,
) -> MemoryWorkloads {
    let mut workloads = MemoryWorkloads::new();
    for (_, _, m) in typed {
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
    workloads
}

/// Runs the deletion (finalizer) logic of the cluster kinds that left the manifests, then
/// the cluster kinds of the manifests (which create, update or delete the objects they
/// own). Returns their statuses by key and the objects whose own deletion must still run:
/// those the cluster kinds deleted, and other kinds that left the manifests.
async fn run_cluster_kinds(
    reconciler: &Reconciler,
    typed: &[Typed],
    objects: &BTreeMap<String, Object>,
    previous: &State,
    now: jiff::Timestamp,
    failures: &mut Failures,
) -> Result<(BTreeMap<String, Value>, Vec<Manifest>), Fatal> {
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
        match run_cluster_kind(reconciler, m, now, true).await? {
            Some((_, errors, deleted)) => {
                for e in &errors {
                    failures.report(&describe(key), e);
                }
                doomed.extend(deleted);
            }
            None => doomed.push(m.clone()),
        }
    }
    for (key, _, m) in typed {
        if let Some((status, errors, deleted)) = run_cluster_kind(reconciler, m, now, false).await?
        {
            for e in &errors {
                failures.report(&describe(key), e);
            }
            cluster_statuses.insert(key.clone(), status);
            doomed.extend(deleted);
        }
    }
    Ok((cluster_statuses, doomed))
}

/// Runs the deletion logic of `doomed`; the UIDs of the objects deleted.
async fn delete_doomed(
    reconciler: &Reconciler,
    doomed: &[Manifest],
    now: jiff::Timestamp,
    failures: &mut Failures,
) -> BTreeSet<String> {
    let mut deleted_uids = BTreeSet::new();
    for m in doomed {
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
                    failures.report(&describe(&key), &e);
                }
            }
            Manifest::PushSecret(ps) => {
                for e in reconciler.delete_push_secret(ps, now).await.errors {
                    failures.report(&describe(&key), &e);
                }
            }
            _ => {}
        }
    }
    deleted_uids
}

/// What the cluster kinds own now joins the pass, with a stable UID across runs (the
/// in-memory workload store numbers from 1 each run). Returns the keys of those objects.
fn adopt_owned(
    workloads: &MemoryWorkloads,
    objects: &mut BTreeMap<String, Object>,
    typed: &mut Vec<Typed>,
    previous: &State,
) -> Result<BTreeSet<String>, Fatal> {
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
    Ok(generated)
}

/// Deletes the Secrets whose owners were all deleted, as the API server's garbage collector
/// would.
async fn collect_garbage(
    cluster: &MemoryCluster,
    deleted_uids: &BTreeSet<String>,
) -> Result<(), Fatal> {
    for s in cluster.secrets() {
        if !s.owner_references.is_empty()
            && s.owner_references
                .iter()
                .all(|o| deleted_uids.contains(&o.uid))
        {
            cluster.delete_secret(&s.namespace, &s.name).await?;
        }
    }
    Ok(())
}

/// One pass in the library's order (stores, pushes, read-ahead, ExternalSecrets, pushes of
/// their targets); the cluster kinds already ran, with the file-specific bookkeeping of
/// deletions and stable UIDs. Returns the new statuses by key.
async fn sweep(
    reconciler: &Reconciler,
    typed: &[Typed],
    now: jiff::Timestamp,
    failures: &mut Failures,
) -> Result<BTreeMap<String, Value>, Fatal> {
    let mut sweep = Sweep::default();
    let mut keys: BTreeMap<(&str, String), String> = BTreeMap::new();
    for (key, _, m) in typed {
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
    let mut record = |kind: &'static str, at: &ObjectKey, status: Value, errors: &[FlowError]| {
        let at = format!("{}/{}", at.namespace, at.name);
        let Some(key) = keys.get(&(kind, at)) else {
            return;
        };
        for e in errors {
            failures.report(&describe(key), &e.to_string());
        }
        statuses.insert(key.clone(), status);
    };
    for (at, out) in &swept.secret_stores {
        let status = serde_json::to_value(&out.status)?;
        record("SecretStore", at, status, &out.errors);
    }
    for (at, out) in &swept.cluster_secret_stores {
        let status = serde_json::to_value(&out.status)?;
        record("ClusterSecretStore", at, status, &out.errors);
    }
    for (at, out) in &swept.push_secrets {
        let status = serde_json::to_value(&out.status)?;
        record("PushSecret", at, status, &out.errors);
    }
    for (at, out) in &swept.external_secrets {
        let status = serde_json::to_value(&out.status)?;
        record("ExternalSecret", at, status, &out.errors);
    }
    Ok(statuses)
}

/// The objects with their new status, in input order, for the output; records each in
/// `next`.
fn assemble(
    objects: &BTreeMap<String, Object>,
    statuses: &BTreeMap<String, Value>,
    cluster_statuses: &BTreeMap<String, Value>,
    generated: &BTreeSet<String>,
    next: &mut State,
) -> Vec<Value> {
    let mut items = Vec::new();
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
    items
}

/// Adds the cluster's Secrets to `items` and completes `next` with them, the Secrets the
/// manifests supplied, and the in-memory stores' contents (by store key, with its spec).
fn finish_state(
    mut items: Vec<Value>,
    next: &mut State,
    cluster: &MemoryCluster,
    supplied: BTreeSet<String>,
    memory: &InMemoryFactory,
    objects: &BTreeMap<String, Object>,
) -> Vec<Value> {
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
    items
}
