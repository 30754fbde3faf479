//! What the plan needs given what exists, gathering the values, and writing the Secrets.
//!
//! Every value is gathered before the first write; each Secret is then written whole in one
//! server-side apply (field manager [`FIELD_MANAGER`]), so an interruption leaves each Secret
//! either as it was or fully written.

use std::collections::BTreeMap;
use std::sync::Arc;

use eso_core::SecretValue;
use eso_core::cluster::{DynCluster, KubeSecret};
use eso_core::generator::{GeneratorContext, GeneratorRegistry};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};

use super::plan::{Plan, PlanSecret, Source};
use super::prompt::{InputValues, PromptError, Terminal};
use super::{Failure, Interrupt};

/// The field manager of every write `esoctl bootstrap` makes.
pub(crate) const FIELD_MANAGER: &str = "esoctl-bootstrap";

/// What happens to one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyAction {
    /// The existing value stays.
    Keep,
    /// A new value is needed: the key is missing.
    Create,
    /// A new value is needed: `--rotate` asked for it.
    Rotate,
}

impl KeyAction {
    fn needs_value(self) -> bool {
        self != Self::Keep
    }
}

/// What happens to one planned Secret.
#[derive(Debug)]
pub(crate) struct SecretWork {
    /// Index into the plan's Secrets.
    pub(crate) index: usize,
    /// The Secret as it is now, if it exists.
    pub(crate) existing: Option<KubeSecret>,
    /// One action per plan key, in plan order.
    pub(crate) actions: Vec<KeyAction>,
    /// True when the plan's labels are not all on the Secret.
    pub(crate) labels_differ: bool,
}

impl SecretWork {
    /// True when this Secret gets written.
    pub(crate) fn writes(&self) -> bool {
        self.labels_differ || self.actions.iter().any(|a| a.needs_value())
    }
}

/// A `--rotate` argument: `NAMESPACE/NAME[/KEY]`.
#[derive(Clone, Debug)]
pub(crate) struct Rotate {
    pub(crate) secret: String,
    pub(crate) key: Option<String>,
}

impl std::str::FromStr for Rotate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [ns, name] if !ns.is_empty() && !name.is_empty() => Ok(Self {
                secret: format!("{ns}/{name}"),
                key: None,
            }),
            [ns, name, key] if !ns.is_empty() && !name.is_empty() && !key.is_empty() => Ok(Self {
                secret: format!("{ns}/{name}"),
                key: Some((*key).to_owned()),
            }),
            _ => Err(format!("{s:?} is not NAMESPACE/NAME or NAMESPACE/NAME/KEY")),
        }
    }
}

/// Reads the planned Secrets and decides, per key, what happens. Fails (before anything is
/// written) on a `--rotate` that names nothing planned, a `keep` key that is missing, or an
/// existing Secret of another type.
pub(crate) async fn survey(
    plan: &Plan,
    cluster: &DynCluster,
    rotate: &[Rotate],
) -> Result<Vec<SecretWork>, Failure> {
    for r in rotate {
        let Some(s) = plan.secret(&r.secret) else {
            return Err(Failure::usage(format!(
                "--rotate {}: the plan has no Secret {}",
                r.secret, r.secret
            )));
        };
        if let Some(k) = &r.key {
            match s.keys.iter().find(|pk| &pk.name == k) {
                None => {
                    return Err(Failure::usage(format!(
                        "--rotate {}/{k}: the plan has no key {k} in {}",
                        r.secret, r.secret
                    )));
                }
                Some(pk) if matches!(pk.source, Source::Keep) => {
                    return Err(Failure::usage(format!(
                        "--rotate {}/{k}: the key is `keep: true` in the plan; esoctl never writes it",
                        r.secret
                    )));
                }
                Some(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    for (index, s) in plan.secrets.iter().enumerate() {
        let existing = cluster
            .get_secret(&s.namespace, &s.name)
            .await
            .map_err(|e| Failure::run(format!("read Secret {}: {e}", s.id())))?;
        if let Some(e) = &existing
            && e.type_ != s.type_
        {
            return Err(Failure::usage(format!(
                "secrets[{index}].type: {} exists with type {}, the plan says {} (the type of a Secret cannot change)",
                s.id(),
                e.type_,
                s.type_
            )));
        }
        let mut actions = Vec::new();
        for (j, k) in s.keys.iter().enumerate() {
            let has = existing
                .as_ref()
                .is_some_and(|e| e.data.contains_key(&k.name));
            let rotated = rotate
                .iter()
                .any(|r| r.secret == s.id() && r.key.as_ref().is_none_or(|rk| rk == &k.name));
            let action = match (&k.source, has) {
                (Source::Keep, true) => KeyAction::Keep,
                (Source::Keep, false) => {
                    return Err(Failure::usage(format!(
                        "secrets[{index}].keys[{j}]: {} has no key {} and the plan says keep: true",
                        s.id(),
                        k.name
                    )));
                }
                (_, false) => KeyAction::Create,
                (_, true) if rotated => KeyAction::Rotate,
                (_, true) => KeyAction::Keep,
            };
            actions.push(action);
        }
        let labels_differ = s
            .labels
            .iter()
            .any(|(k, v)| existing.as_ref().is_none_or(|e| e.labels.get(k) != Some(v)));
        out.push(SecretWork {
            index,
            existing,
            actions,
            labels_differ,
        });
    }
    Ok(out)
}

/// The plan table: one line per key with its source and what happens to it.
pub(crate) fn describe(plan: &Plan, work: &[SecretWork]) -> String {
    let mut rows = vec![[
        "SECRET".to_owned(),
        "KEY".to_owned(),
        "SOURCE".to_owned(),
        "ACTION".to_owned(),
    ]];
    for w in work {
        let s = &plan.secrets[w.index];
        for (k, action) in s.keys.iter().zip(&w.actions) {
            let source = match &k.source {
                Source::Prompt(p) if p.hidden => "prompt (hidden)".to_owned(),
                Source::Prompt(_) => "prompt".to_owned(),
                Source::Generate { kind, .. } => format!("generate {kind}"),
                Source::Keep => "keep".to_owned(),
            };
            let action = match action {
                KeyAction::Keep => "keep (exists)",
                KeyAction::Create if w.existing.is_some() => "create (key missing)",
                KeyAction::Create => "create (Secret missing)",
                KeyAction::Rotate => "rotate",
            };
            rows.push([s.id(), k.name.clone(), source, action.to_owned()]);
        }
        if w.labels_differ && !w.actions.iter().any(|a| a.needs_value()) {
            rows.push([
                s.id(),
                "-".to_owned(),
                "labels".to_owned(),
                "set labels".to_owned(),
            ]);
        }
    }
    super::table(&rows)
}

/// A Secret ready to be written: its complete data (kept values included, `keep` keys
/// left out: they belong to someone else).
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) index: usize,
    pub(crate) data: BTreeMap<String, SecretValue>,
}

/// Where prompted values come from.
#[derive(Debug)]
pub(crate) enum Answers<'a> {
    /// Asked on this terminal.
    Terminal(&'a Terminal),
    /// Taken from the standard-input JSON.
    Input(&'a mut InputValues),
    /// Nothing may be asked (no terminal, no `--values-from-stdin`).
    None,
}

/// Gathers every value the plan needs, Secret by Secret, before anything is written.
pub(crate) async fn gather(
    plan: &Plan,
    work: &[SecretWork],
    cluster: &DynCluster,
    generators: &GeneratorRegistry,
    answers: &mut Answers<'_>,
    interrupt: &Interrupt,
) -> Result<Vec<Ready>, Failure> {
    let mut out = Vec::new();
    for w in work.iter().filter(|w| w.writes()) {
        let s = &plan.secrets[w.index];
        let mut data = BTreeMap::new();
        for (k, action) in s.keys.iter().zip(&w.actions) {
            if interrupt.is_set() {
                return Err(Failure::Interrupted);
            }
            let value = match (&k.source, action) {
                (Source::Keep, _) => continue,
                (_, KeyAction::Keep) => match w.existing.as_ref().and_then(|e| e.data.get(&k.name))
                {
                    Some(v) => v.clone(),
                    None => continue,
                },
                (Source::Prompt(p), _) => ask(s, &k.name, p, answers)?,
                (Source::Generate { kind, spec, key }, _) => {
                    generate(s, &k.name, kind, spec, key.as_deref(), cluster, generators).await?
                }
            };
            data.insert(k.name.clone(), value);
        }
        out.push(Ready {
            index: w.index,
            data,
        });
    }
    if let Answers::Input(values) = answers {
        for (id, keys) in values.iter() {
            for key in keys.keys() {
                eprintln!(
                    "note: standard input has a value for {id} {key}, which is not asked for: ignored (use --rotate to replace an existing value)"
                );
            }
        }
    }
    Ok(out)
}

fn ask(
    s: &PlanSecret,
    key: &str,
    spec: &super::plan::PromptSpec,
    answers: &mut Answers<'_>,
) -> Result<SecretValue, Failure> {
    let label = format!("{} {key}", s.id());
    match answers {
        Answers::Terminal(t) => {
            t.say(&format!("{label}\n"));
            t.ask(&label, spec).map_err(|e| match e {
                PromptError::Interrupted => Failure::Interrupted,
                other => Failure::run(format!("{label}: {other}")),
            })
        }
        Answers::Input(values) => {
            let id = s.id();
            let v = values
                .get_mut(&id)
                .and_then(|m| m.remove(key))
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "--values-from-stdin: no value for {label} (give it as {{\"{id}\": {{\"{key}\": \"...\"}}}})"
                    ))
                })?;
            if values.get(&id).is_some_and(BTreeMap::is_empty) {
                values.remove(&id);
            }
            let text = v.0.expose_str().ok_or_else(|| {
                Failure::usage(format!("--values-from-stdin: {label}: not UTF-8 text"))
            })?;
            if text.is_empty() {
                return Err(Failure::usage(format!(
                    "--values-from-stdin: {label}: the value is empty"
                )));
            }
            if let Some(p) = &spec.pattern
                && !p.is_match(text)
            {
                return Err(Failure::usage(format!(
                    "--values-from-stdin: {label}: the value does not match the pattern {}",
                    p.as_str()
                )));
            }
            Ok(v.0)
        }
        Answers::None => Err(Failure::usage(format!(
            "{label} has to be asked, but standard input is not a terminal: run esoctl bootstrap on a terminal, or give the values as JSON on standard input with --values-from-stdin ({{\"{}\": {{\"{key}\": \"...\"}}}}, piped from a secret manager, never typed on a command line)",
            s.id()
        ))),
    }
}

async fn generate(
    s: &PlanSecret,
    key: &str,
    kind: &str,
    spec: &eso_core::api::GeneratorSpec,
    pick: Option<&str>,
    cluster: &DynCluster,
    generators: &GeneratorRegistry,
) -> Result<SecretValue, Failure> {
    let label = format!("{} {key}", s.id());
    let generator = generators
        .get(kind)
        .map_err(|e| Failure::usage(format!("{label}: generate: {e}")))?;
    let ctx = GeneratorContext::new(spec, &s.namespace, cluster);
    let mut out = generator
        .generate(&ctx)
        .await
        .map_err(|e| Failure::run(format!("{label}: generate {kind}: {e}")))?;
    let chosen = match pick {
        Some(p) => p.to_owned(),
        None if out.data.len() == 1 => out.data.keys().next().cloned().unwrap_or_default(),
        None => key.to_owned(),
    };
    out.data.remove(&chosen).ok_or_else(|| {
        let keys: Vec<&str> = out.data.keys().map(String::as_str).collect();
        Failure::usage(format!(
            "{label}: the {kind} generator made no key {chosen:?} (it made {}); set generate.key",
            keys.join(", ")
        ))
    })
}

/// The Secret object one server-side apply sends.
fn apply_object(s: &PlanSecret, data: &BTreeMap<String, SecretValue>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            namespace: Some(s.namespace.clone()),
            name: Some(s.name.clone()),
            labels: (!s.labels.is_empty()).then(|| s.labels.clone()),
            ..ObjectMeta::default()
        },
        type_: Some(s.type_.clone()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.expose().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

/// Applies one key of a Secret (the Vault root token): only that key is claimed.
pub(crate) async fn apply_key(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    key: &str,
    value: &SecretValue,
) -> Result<(), String> {
    let obj = Secret {
        metadata: ObjectMeta {
            namespace: Some(namespace.to_owned()),
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            key.to_owned(),
            ByteString(value.expose().to_vec()),
        )])),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client.clone(), namespace)
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&obj),
        )
        .await
        .map(drop)
        .map_err(|e| format!("write Secret {namespace}/{name}: {e}"))
}

/// What writing did: the Secrets written (plan indexes) and the first error, if any.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub(crate) written: Vec<usize>,
    pub(crate) error: Option<String>,
    pub(crate) interrupted: bool,
}

/// Writes each ready Secret in one server-side apply, in plan order; stops at the first
/// error or when interrupted (the Secret being written when Ctrl-C comes is finished).
pub(crate) async fn write(
    plan: &Plan,
    ready: &[Ready],
    client: &kube::Client,
    interrupt: &Interrupt,
) -> Written {
    let mut out = Written::default();
    for r in ready {
        if interrupt.is_set() {
            out.interrupted = true;
            break;
        }
        let s = &plan.secrets[r.index];
        let obj = apply_object(s, &r.data);
        let api: Api<Secret> = Api::namespaced(client.clone(), &s.namespace);
        match api
            .patch(
                &s.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
        {
            Ok(_) => out.written.push(r.index),
            Err(e) => {
                out.error = Some(format!("write Secret {}: {e}", s.id()));
                break;
            }
        }
    }
    out
}

/// The cluster handle the flows use, with this tool's field manager.
pub(crate) fn cluster(client: &kube::Client) -> DynCluster {
    Arc::new(eso_kube::KubeCluster::new(client.clone()).with_field_manager(FIELD_MANAGER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_arguments() {
        let r: Rotate = "databases/db-credentials".parse().unwrap();
        assert_eq!(
            (r.secret.as_str(), r.key),
            ("databases/db-credentials", None)
        );
        let r: Rotate = "flux-system/gitea-token/password".parse().unwrap();
        assert_eq!(r.key.as_deref(), Some("password"));
        for bad in ["db-credentials", "a//b", "a/b/c/d", "/b"] {
            assert!(bad.parse::<Rotate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_applied_object_holds_type_labels_and_every_value() {
        let plan = Plan::parse(
            "apiVersion: esoctl.eso-rs.io/v1alpha1\nkind: BootstrapPlan\nsecrets:\n  - {namespace: a, name: b, type: kubernetes.io/basic-auth, labels: {app: x}, keys: [{name: username, prompt: U}, {name: password, prompt: P}]}\n",
        )
        .unwrap();
        let data = BTreeMap::from([
            ("username".to_owned(), SecretValue::from("u")),
            ("password".to_owned(), SecretValue::from("p")),
        ]);
        let obj = apply_object(&plan.secrets[0], &data);
        assert_eq!(obj.type_.as_deref(), Some("kubernetes.io/basic-auth"));
        assert_eq!(obj.metadata.labels.unwrap()["app"], "x");
        let d = obj.data.unwrap();
        assert_eq!(
            (d["username"].0.as_slice(), d["password"].0.as_slice()),
            (&b"u"[..], &b"p"[..])
        );
    }
}
