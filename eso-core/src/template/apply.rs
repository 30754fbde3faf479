//! Applying an ExternalSecret / PushSecret template to an in-memory Secret, as ESO does.

use std::collections::BTreeMap;

use super::{Template, Value};
use crate::api::{
    ExternalSecretDecodingStrategy, ExternalSecretTemplate, TemplateMergePolicy, TemplateScope,
};
use crate::{Error, Result, SecretMap, SecretValue};

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
    scope: TemplateScope,
    target: &str,
    decoding: ExternalSecretDecodingStrategy,
    secret: &mut TargetSecret,
) -> Result<()> {
    match scope {
        TemplateScope::Values => {
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
        TemplateScope::KeysAndValues => {
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
    spec: &ExternalSecretTemplate,
    data: &Value,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    for tf in spec.template_from.iter().flatten() {
        let target = tf.target.as_str();
        let dec = tf.values_decoding_strategy.unwrap_or_default();
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
                let scope = item.template_as;
                let mut m = BTreeMap::new();
                match scope {
                    TemplateScope::Values => m.insert(item.key.clone(), val.as_bytes().to_vec()),
                    TemplateScope::KeysAndValues => m.insert(val.clone(), val.as_bytes().to_vec()),
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
                let scope = item.template_as;
                let mut m = BTreeMap::new();
                match scope {
                    TemplateScope::Values => m.insert(item.key.clone(), val.expose().to_vec()),
                    TemplateScope::KeysAndValues => m.insert(
                        String::from_utf8_lossy(val.expose()).into_owned(),
                        val.expose().to_vec(),
                    ),
                };
                execute(&m, data, scope, target, dec, secret)?;
            }
        }
        if let Some(lit) = &tf.literal {
            let m = BTreeMap::from([(lit.clone(), lit.as_bytes().to_vec())]);
            execute(&m, data, TemplateScope::KeysAndValues, target, dec, secret)?;
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
    execute(
        &m,
        data,
        TemplateScope::Values,
        target,
        ExternalSecretDecodingStrategy::None,
        secret,
    )
    .map_err(|e| Error::Template(format!("could not execute template: {}", strip(&e))))
}

/// Renders `spec` over `data` into `secret` the way ESO's ExternalSecret controller does
/// (steps 5-7 of ESO's `ApplyTemplate`): type, fetched keys first when `mergePolicy: Merge` or
/// the template has neither `data` nor `templateFrom`, then templateFrom in order, then
/// `data` (wins), then templated labels and annotations.
///
/// Starting `secret.data` empty or not (creationPolicy Merge) is the caller's choice.
pub fn apply(
    spec: &ExternalSecretTemplate,
    data: &SecretMap,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    if let Some(t) = spec.type_.as_deref().filter(|t| !t.is_empty()) {
        secret.type_ = Some(t.to_string());
    }
    let no_templates = spec.data.as_ref().is_none_or(BTreeMap::is_empty)
        && spec.template_from.as_ref().is_none_or(Vec::is_empty);
    if spec.merge_policy == TemplateMergePolicy::Merge || no_templates {
        for (k, v) in data {
            secret.data.insert(k.clone(), v.clone());
        }
    }
    render_into(spec, data, sources, secret)
}

/// Renders a PushSecret template on top of the source Secret: `type` is set to the template's
/// type (even if empty), metadata merged in, templateFrom and data rendered over the original data.
pub fn apply_push(
    spec: &ExternalSecretTemplate,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    secret.type_ = spec.type_.clone();
    let data = secret.data.clone();
    render_into(spec, &data, sources, secret)
}

/// Renders templateFrom, data, labels and annotations into `secret` (what `esoctl template` does).
pub fn render_into(
    spec: &ExternalSecretTemplate,
    data: &SecretMap,
    sources: &TemplateSources,
    secret: &mut TargetSecret,
) -> Result<()> {
    let dv = data_value(data);
    apply_template_from(spec, &dv, sources, secret)
        .map_err(|e| Error::Template(format!("could not merge template: {}", strip(&e))))?;
    if let Some(d) = &spec.data {
        merge_map(d, "Data", &dv, secret)
            .map_err(|e| Error::Template(format!("could not merge data: {}", strip(&e))))?;
    }
    if let Some(md) = &spec.metadata {
        let empty = BTreeMap::new();
        merge_map(md.labels.as_ref().unwrap_or(&empty), "Labels", &dv, secret)
            .map_err(|e| Error::Template(format!("could not merge labels: {}", strip(&e))))?;
        merge_map(
            md.annotations.as_ref().unwrap_or(&empty),
            "Annotations",
            &dv,
            secret,
        )
        .map_err(|e| Error::Template(format!("could not merge annotations: {}", strip(&e))))?;
        for f in md.finalizers.iter().flatten() {
            if !secret.finalizers.contains(f) {
                secret.finalizers.push(f.clone());
            }
        }
    }
    Ok(())
}

/// Renders a rewrite `transform` template for one key (data `{"value": key}`).
pub fn render_rewrite_key(tpl: &Template, key: &str) -> Result<String> {
    let data = Value::map([("value".into(), Value::str(key))].into());
    let out = tpl
        .render(&data)
        .map_err(|e| Error::Template(format!("error executing template: {e}")))?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}
