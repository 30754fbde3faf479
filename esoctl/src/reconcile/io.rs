//! What `esoctl reconcile` reads and writes: the manifests (validated up front) and the
//! `--state` directory kept between runs.

use super::*;

/// The state file inside `--state DIR`.
const STATE_FILE: &str = "state.json";

/// Version of the state file layout.
const STATE_VERSION: u64 = 1;

/// What a run reads from and writes to `--state DIR`.
#[derive(Debug, Default)]
pub(super) struct State {
    /// Tracked ESO objects by `Kind/namespace/name`: `uid`, `generation`, `spec`, `status`.
    pub(super) objects: BTreeMap<String, Value>,
    /// Every Secret of the cluster.
    pub(super) secrets: Vec<KubeSecret>,
    /// `namespace/name` of the Secrets the manifests supplied last time.
    pub(super) applied: BTreeSet<String>,
    /// In-memory store contents by `Kind/namespace/name` of the store, with the store spec
    /// they belong to.
    pub(super) stores: BTreeMap<String, (Value, Vec<StoredSecret>)>,
}

/// What the manifests hold.
#[derive(Debug, Default)]
pub(super) struct Input {
    /// ESO objects by key, in file order.
    pub(super) objects: Vec<(String, Value)>,
    pub(super) secrets: Vec<KubeSecret>,
    pub(super) config_maps: Vec<KubeConfigMap>,
    pub(super) namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

/// Reads and validates every document; any error stops the run before anything changes.
pub(super) fn load_input(paths: &[PathBuf]) -> Result<Input, Fatal> {
    let mut files = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut unreadable = Vec::new();
    for p in paths {
        crate::files::collect(p, true, &mut files, &mut unreadable);
    }
    for (path, message) in unreadable {
        errors.push(format!("{}: {message}", path.display()));
    }
    let mut input = Input::default();
    let mut seen = BTreeSet::new();
    for file in &files {
        let text = match crate::files::read_text(file) {
            Ok(t) => t,
            Err(message) => {
                errors.push(format!("{}: {message}", file.display()));
                continue;
            }
        };
        for (index, doc) in parse_documents(&text) {
            let at = format!("{}: document {index}", file.display());
            let doc = match doc {
                Ok(d) => d,
                Err(e) => {
                    errors.push(format!("{at}: {}", field(&e.path, &e.message)));
                    continue;
                }
            };
            let kind = doc.kind().to_owned();
            let name = doc.name().to_owned();
            let api_version = doc.api_version().to_owned();
            let mut value = doc.value;
            match Manifest::from_value(value.clone()) {
                Err(e) => errors.push(format!(
                    "{at}: {kind}/{name}: {}",
                    field(&e.path, &e.message)
                )),
                Ok(m) if m.is_eso() => {
                    if let Err(errs) = m.validate() {
                        for e in errs.0 {
                            errors.push(format!("{at}: {kind}/{name}: {e}"));
                        }
                        continue;
                    }
                    // Normalise (conversions from v1beta1, defaults) through the typed model.
                    value = m.to_value()?;
                    if !is_cluster_scoped(&kind) && value["metadata"]["namespace"].is_null() {
                        value["metadata"]["namespace"] = json!("default");
                    }
                    let ns = value["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let key = object_key(&kind, &ns, &name);
                    if !seen.insert(key.clone()) {
                        errors.push(format!("{at}: {kind}/{name}: defined more than once"));
                        continue;
                    }
                    input.objects.push((key, value));
                }
                Ok(_) if api_version == "v1" && kind == "Secret" => {
                    match secret_from_json(&value, "") {
                        Ok(s) => input.secrets.push(s),
                        Err(e) => errors.push(format!("{at}: Secret/{name}: {e}")),
                    }
                }
                Ok(_) if api_version == "v1" && kind == "ConfigMap" => {
                    match config_map_from_json(&value) {
                        Ok(c) => input.config_maps.push(c),
                        Err(e) => errors.push(format!("{at}: ConfigMap/{name}: {e}")),
                    }
                }
                Ok(_) if api_version == "v1" && kind == "Namespace" => {
                    let labels = string_map(&value["metadata"]["labels"], "metadata.labels")
                        .map_err(|e| Fatal(format!("{at}: Namespace/{name}: {e}")))?;
                    input.namespaces.insert(name, labels);
                }
                Ok(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(Fatal(format!(
            "the manifests are not usable, nothing was reconciled:\n  {}",
            errors.join("\n  ")
        )))
    }
}

fn field(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

fn string_map(v: &Value, path: &str) -> Result<BTreeMap<String, String>, String> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(format!("{path}.{k}: must be a string")),
            })
            .collect(),
        _ => Err(format!("{path}: must be a map of strings")),
    }
}

/// A `v1` Secret document (with `data` in base64 and/or `stringData`), through eso-kube's
/// one Secret conversion. A missing namespace is `default_ns` (else `default`); a
/// `resourceVersion` in the file is ignored.
fn secret_from_json(v: &Value, default_ns: &str) -> Result<KubeSecret, String> {
    let mut secret: Secret = serde_path_to_error::deserialize(v).map_err(|e| {
        let message = eso_core::api::redact_serde_message(&e.inner().to_string());
        field(&e.path().to_string(), &message)
    })?;
    let meta = &mut secret.metadata;
    if meta.name.as_deref().is_none_or(str::is_empty) {
        return Err("metadata.name: is required".to_owned());
    }
    if meta.namespace.as_deref().is_none_or(str::is_empty) {
        let ns = if default_ns.is_empty() {
            "default"
        } else {
            default_ns
        };
        meta.namespace = Some(ns.to_owned());
    }
    meta.resource_version = None;
    secret.type_ = secret.type_.filter(|t| !t.is_empty());
    Ok(eso_kube::secret_from_kube(secret))
}

/// A Secret as `kubectl get secret -o json` shows it (data in base64), without the
/// in-memory `resourceVersion`.
pub(super) fn secret_to_json(s: &KubeSecret) -> Value {
    let mut secret = eso_kube::secret_to_kube(s);
    secret.metadata.resource_version = None;
    serde_json::to_value(&secret).unwrap_or_default()
}

fn config_map_from_json(v: &Value) -> Result<KubeConfigMap, String> {
    let meta = &v["metadata"];
    let name = meta["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or("metadata.name: is required")?;
    let ns = meta["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    let mut cm = KubeConfigMap::new(ns, name);
    cm.labels = string_map(&meta["labels"], "metadata.labels")?;
    cm.data = string_map(&v["data"], "data")?;
    Ok(cm)
}

pub(super) fn read_state(dir: &Path) -> Result<State, Fatal> {
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
        Err(e) => return Err(Fatal(format!("{}: cannot read: {e}", path.display()))),
    };
    let bad = |what: &str| Fatal(format!("{}: {what}", path.display()));
    let v: Value =
        eso_core::api::parse_json(text.as_bytes()).map_err(|e| bad(&format!("not JSON: {e}")))?;
    if v["version"].as_u64() != Some(STATE_VERSION) {
        // Only a number is shown: the file holds secret values, none is quoted.
        let found = match &v["version"] {
            Value::Number(n) => n.to_string(),
            Value::Null => "none".to_owned(),
            _ => "a value that is not a number".to_owned(),
        };
        return Err(bad(&format!(
            "version: expected {STATE_VERSION}, found {found}"
        )));
    }
    let mut state = State::default();
    if let Some(objects) = v["objects"].as_object() {
        state.objects = objects
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
    }
    for (i, s) in v["secrets"].as_array().into_iter().flatten().enumerate() {
        let secret = secret_from_json(s, "").map_err(|e| bad(&format!("secrets[{i}]: {e}")))?;
        state.secrets.push(secret);
    }
    state.applied = v["applied"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    for (key, store) in v["stores"].as_object().into_iter().flatten() {
        let mut contents = Vec::new();
        for (i, e) in store["secrets"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("stores.{key}.secrets[{i}]");
            let mut s = StoredSecret::new(
                e["key"]
                    .as_str()
                    .ok_or_else(|| bad(&format!("{at}.key: is required")))?,
            );
            for (j, ver) in e["versions"].as_array().into_iter().flatten().enumerate() {
                let name = ver["version"].as_str().unwrap_or_default().to_owned();
                let value = B64
                    .decode(ver["value"].as_str().unwrap_or_default())
                    .map_err(|err| bad(&format!("{at}.versions[{j}].value: {err}")))?;
                s.versions.push((name, SecretValue::new(value)));
            }
            s.tags = string_map(&e["tags"], "tags").map_err(|err| bad(&format!("{at}: {err}")))?;
            contents.push(s);
        }
        state
            .stores
            .insert(key.clone(), (store["spec"].clone(), contents));
    }
    Ok(state)
}

/// Writes the state atomically (temporary file, then rename), readable by the owner only.
pub(super) fn write_state(dir: &Path, state: &State) -> Result<(), Fatal> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Fatal(format!("{}: cannot create: {e}", dir.display())))?;
    let stores: Map<String, Value> = state
        .stores
        .iter()
        .map(|(key, (spec, contents))| {
            let secrets: Vec<Value> = contents
                .iter()
                .map(|s| {
                    let versions: Vec<Value> = s
                        .versions
                        .iter()
                        .map(|(v, val)| json!({"version": v, "value": B64.encode(val.expose())}))
                        .collect();
                    json!({"key": s.key, "versions": versions, "tags": s.tags})
                })
                .collect();
            (key.clone(), json!({"spec": spec, "secrets": secrets}))
        })
        .collect();
    let doc = json!({
        "version": STATE_VERSION,
        "objects": state.objects,
        "secrets": state.secrets.iter().map(secret_to_json).collect::<Vec<_>>(),
        "applied": state.applied,
        "stores": stores,
    });
    let text = serde_json::to_string_pretty(&doc)?;
    let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
    write_private(&tmp, text.as_bytes())
        .map_err(|e| Fatal(format!("{}: cannot write: {e}", tmp.display())))?;
    let path = dir.join(STATE_FILE);
    std::fs::rename(&tmp, &path)
        .map_err(|e| Fatal(format!("{}: cannot write: {e}", path.display())))?;
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
