//! Applying an ExternalSecret / PushSecret template to an in-memory Secret, as ESO does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Template, Value};
use crate::{Error, Result, SecretMap, SecretValue};

/// `templateAs`: how a templateFrom item is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Render each item as the value of its own key.
    Values,
    /// Render once and read the output as a YAML map of keys and values.
    KeysAndValues,
}

impl Scope {
    fn parse(s: Option<&str>) -> Result<Self> {
        match s.unwrap_or("") {
            "Values" => Ok(Self::Values),
            "KeysAndValues" => Ok(Self::KeysAndValues),
            other => Err(Error::Template(format!(
                "unknown scope '{other}': expected 'Values' or 'KeysAndValues'"
            ))),
        }
    }
}

/// The template part of an ExternalSecret (`spec.target.template`) or PushSecret (`spec.template`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSpec {
    /// Secret type to set.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Template engine version (only `v2` is supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    /// Labels, annotations and finalizers for the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// `Replace` (default) or `Merge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_policy: Option<String>,
    /// Templates per target key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Templates taken from ConfigMaps, Secrets or literals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_from: Vec<TemplateFrom>,
}

/// `template.metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMetadata {
    /// Templated labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Templated annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Finalizers to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// One `templateFrom` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Items from a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Items from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// `Data`, `Annotations`, `Labels` (case-insensitive) or a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// An inline KeysAndValues template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// Decoding applied to each rendered value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_decoding_strategy: Option<String>,
}

/// A ConfigMap or Secret reference with the items to use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// Object name.
    #[serde(default)]
    pub name: String,
    /// Keys to use.
    #[serde(default)]
    pub items: Vec<TemplateRefItem>,
}

/// One templateFrom item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// Key in the ConfigMap/Secret.
    pub key: String,
    /// `Values` or `KeysAndValues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_as: Option<String>,
}

/// The contents of the ConfigMaps and Secrets templateFrom refers to, by name.
#[derive(Clone, Debug, Default)]
pub struct TemplateSources {
    /// ConfigMap `data` by ConfigMap name.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secret `data` by Secret name.
    pub secrets: BTreeMap<String, SecretMap>,
    /// When set, used for every configMap reference whatever its name (esoctl's behaviour).
    pub any_config_map: Option<BTreeMap<String, String>>,
    /// When set, used for every secret reference whatever its name (esoctl's behaviour).
    pub any_secret: Option<SecretMap>,
}

/// The parts of a Secret a template writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetSecret {
    /// Secret type.
    pub type_: Option<String>,
    /// Secret data.
    pub data: SecretMap,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Finalizers.
    pub finalizers: Vec<String>,
}

enum Target {
    Data,
    Labels,
    Annotations,
}

fn parse_target(t: &str) -> Result<Target> {
    match t.to_ascii_lowercase().as_str() {
        "data" => Ok(Target::Data),
        "labels" => Ok(Target::Labels),
        "annotations" => Ok(Target::Annotations),
        _ => {
            check_target_path(t)?;
            Err(Error::Template(format!(
                "failed to apply to target: target path {t:?} cannot be applied to a Secret"
            )))
        }
    }
}

/// ESO's validation of a dotted target path with `[i]` indices.
fn check_target_path(target: &str) -> Result<()> {
    let bad = |m: String| Err(Error::Template(format!("invalid path {target:?}: {m}")));
    let mut first_is_key = None;
    for seg in target.split('.') {
        if seg.is_empty() {
            return bad("empty segment".into());
        }
        let (name, mut rest) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            first_is_key.get_or_insert(true);
        } else if rest.is_empty() {
            return bad("empty segment".into());
        }
        while !rest.is_empty() {
            if !rest.starts_with('[') {
                return bad(format!("expected '[' near {rest:?}"));
            }
            let Some(end) = rest.find(']') else {
                return bad("unterminated '['".into());
            };
            let idx = &rest[1..end];
            let Ok(n) = idx.parse::<i64>() else {
                return bad(format!("bad index {idx:?}"));
            };
            if n < 0 {
                return bad(format!("negative index {n}"));
            }
            if n > 10000 {
                return bad(format!("index {n} exceeds maximum (10000)"));
            }
            first_is_key.get_or_insert(false);
            rest = &rest[end + 1..];
        }
    }
    if first_is_key != Some(true) {
        return bad("path must start with a key".into());
    }
    Ok(())
}

fn data_value(data: &SecretMap) -> Value {
    super::exec::string_map_value(data.iter().map(|(k, v)| (k.as_str(), v.expose())))
}

fn render(name: &str, tpl: &str, data: &Value) -> Result<Vec<u8>> {
    let t = Template::parse(name, tpl)
        .map_err(|e| Error::Template(format!("unable to parse template at key {name}: {e}")))?;
    t.render(data)
        .map_err(|e| Error::Template(format!("unable to execute template at key {name}: {e}")))
}

fn put(target: &Target, k: &str, v: Vec<u8>, secret: &mut TargetSecret) {
    match target {
        Target::Data => {
            secret.data.insert(k.to_string(), SecretValue::new(v));
        }
        Target::Labels => {
            secret
                .labels
                .insert(k.to_string(), String::from_utf8_lossy(&v).into_owned());
        }
        Target::Annotations => {
            secret
                .annotations
                .insert(k.to_string(), String::from_utf8_lossy(&v).into_owned());
        }
    }
}

/// ESO's `Execute` for one template map.
fn execute(
    tpl: &BTreeMap<String, Vec<u8>>,
    data: &Value,
    scope: Scope,
    target: &str,
    decoding: &str,
    secret: &mut TargetSecret,
) -> Result<()> {
    match scope {
        Scope::Values => {
            for (k, v) in tpl {
                let src = String::from_utf8_lossy(v);
                let out = render(k, &src, data).map_err(|e| {
                    Error::Template(format!(
                        "unable to execute template at key {k}: {}",
                        strip(&e)
                    ))
                })?;
                let out = crate::strategy::decode(decoding, &out).map_err(|e| {
                    Error::Template(format!(
                        "failed to decode rendered template value for key {k}: {}",
                        strip(&e)
                    ))
                })?;
                let t = parse_target(target)?;
                put(&t, k, out, secret);
            }
        }
        Scope::KeysAndValues => {
            for v in tpl.values() {
                let src = String::from_utf8_lossy(v);
                let out = render(&src, &src, data).map_err(|e| {
                    Error::Template(format!(
                        "unable to execute template at key {src}: {}",
                        strip(&e)
                    ))
                })?;
                let t = parse_target(target)?;
                let text = String::from_utf8_lossy(&out);
                let map = super::funcs::json::yaml_to_string_map(&text).map_err(|e| {
                    Error::Template(format!(
                        "could not unmarshal template to 'map[string][]byte': {e}"
                    ))
                })?;
                for (k, val) in map {
                    let dv = crate::strategy::decode(decoding, val.as_bytes()).map_err(|e| {
                        Error::Template(format!(
                            "failed to decode rendered template value for key {k}: {}",
                            strip(&e)
                        ))
                    })?;
                    put(&t, &k, dv, secret);
                }
            }
        }
    }
    Ok(())
}

fn strip(e: &Error) -> String {
    match e {
        Error::Template(m) | Error::Conversion(m) => m.clone(),
        other => other.to_string(),
    }
}

fn apply_template_from(
    spec: &TemplateSpec,
    data: &Value,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    for tf in &spec.template_from {
        let target = tf.target.as_deref().unwrap_or("");
        let dec = tf.values_decoding_strategy.as_deref().unwrap_or("");
        if let Some(cm) = &tf.config_map {
            let src = sources
                .any_config_map
                .as_ref()
                .or_else(|| sources.config_maps.get(&cm.name))
                .ok_or_else(|| Error::not_found(format!("configmap {}", cm.name)))?;
            for item in &cm.items {
                let Some(val) = src.get(&item.key) else {
                    return Err(Error::Template(format!(
                        "error in configmap {}: missing key {}",
                        cm.name, item.key
                    )));
                };
                let scope = Scope::parse(item.template_as.as_deref())?;
                let mut m = BTreeMap::new();
                match scope {
                    Scope::Values => m.insert(item.key.clone(), val.as_bytes().to_vec()),
                    Scope::KeysAndValues => m.insert(val.clone(), val.as_bytes().to_vec()),
                };
                execute(&m, data, scope, target, dec, secret)?;
            }
        }
        if let Some(sr) = &tf.secret {
            let src = sources
                .any_secret
                .as_ref()
                .or_else(|| sources.secrets.get(&sr.name))
                .ok_or_else(|| Error::not_found(format!("secret {}", sr.name)))?;
            for item in &sr.items {
                let Some(val) = src.get(&item.key) else {
                    return Err(Error::Template(format!(
                        "error in secret {}: missing key {}",
                        sr.name, item.key
                    )));
                };
                let scope = Scope::parse(item.template_as.as_deref())?;
                let mut m = BTreeMap::new();
                match scope {
                    Scope::Values => m.insert(item.key.clone(), val.expose().to_vec()),
                    Scope::KeysAndValues => m.insert(
                        String::from_utf8_lossy(val.expose()).into_owned(),
                        val.expose().to_vec(),
                    ),
                };
                execute(&m, data, scope, target, dec, secret)?;
            }
        }
        if let Some(lit) = &tf.literal {
            let m = BTreeMap::from([(lit.clone(), lit.as_bytes().to_vec())]);
            execute(&m, data, Scope::KeysAndValues, target, dec, secret)?;
        }
    }
    Ok(())
}

fn merge_map(
    tpl: &BTreeMap<String, String>,
    target: &str,
    data: &Value,
    secret: &mut TargetSecret,
) -> Result<()> {
    let m: BTreeMap<String, Vec<u8>> = tpl
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    execute(&m, data, Scope::Values, target, "", secret)
        .map_err(|e| Error::Template(format!("could not execute template: {}", strip(&e))))
}

fn check_engine(spec: &TemplateSpec) -> Result<()> {
    match spec.engine_version.as_deref() {
        Some("v2") => Ok(()),
        other => Err(Error::Template(format!(
            "unsupported template engine version {}",
            other.unwrap_or("")
        ))),
    }
}

/// Renders `spec` over `data` into `secret` the way ESO's ExternalSecret controller does
/// (steps 5-7 of ESO's `ApplyTemplate`): type, fetched keys first when `mergePolicy: Merge` or
/// the template has neither `data` nor `templateFrom`, then templateFrom in order, then
/// `data` (wins), then templated labels and annotations.
///
/// Starting `secret.data` empty or not (creationPolicy Merge) is the caller's choice.
pub fn apply(
    spec: &TemplateSpec,
    data: &SecretMap,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    check_engine(spec)?;
    if let Some(t) = spec.type_.as_deref().filter(|t| !t.is_empty()) {
        secret.type_ = Some(t.to_string());
    }
    let no_templates =
        spec.data.as_ref().is_none_or(BTreeMap::is_empty) && spec.template_from.is_empty();
    if spec.merge_policy.as_deref() == Some("Merge") || no_templates {
        for (k, v) in data {
            secret.data.insert(k.clone(), v.clone());
        }
    }
    render_into(spec, data, sources, secret)
}

/// Renders a PushSecret template on top of the source Secret: `type` is set to the template's
/// type (even if empty), metadata merged in, templateFrom and data rendered over the original data.
pub fn apply_push(
    spec: &TemplateSpec,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    check_engine(spec)?;
    secret.type_ = spec.type_.clone();
    let data = secret.data.clone();
    render_into(spec, &data, sources, secret)
}

/// Renders templateFrom, data, labels and annotations into `secret` (what `esoctl template` does).
pub fn render_into(
    spec: &TemplateSpec,
    data: &SecretMap,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    check_engine(spec)?;
    let dv = data_value(data);
    apply_template_from(spec, &dv, sources, secret)
        .map_err(|e| Error::Template(format!("could not merge template: {}", strip(&e))))?;
    if let Some(d) = &spec.data {
        merge_map(d, "Data", &dv, secret)
            .map_err(|e| Error::Template(format!("could not merge data: {}", strip(&e))))?;
    }
    if let Some(md) = &spec.metadata {
        merge_map(&md.labels, "Labels", &dv, secret)
            .map_err(|e| Error::Template(format!("could not merge labels: {}", strip(&e))))?;
        merge_map(&md.annotations, "Annotations", &dv, secret)
            .map_err(|e| Error::Template(format!("could not merge annotations: {}", strip(&e))))?;
        for f in &md.finalizers {
            if !secret.finalizers.contains(f) {
                secret.finalizers.push(f.clone());
            }
        }
    }
    Ok(())
}

/// Renders a rewrite `transform` template for one key (data `{"value": key}`).
pub fn render_rewrite_key(tpl: &Template, key: &str) -> Result<String> {
    let data = Value::map([("value".to_string(), Value::str(key))].into());
    let out = tpl
        .render(&data)
        .map_err(|e| Error::Template(format!("error executing template: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
