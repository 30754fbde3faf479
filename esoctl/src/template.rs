//! `esoctl template`: render an ExternalSecret or PushSecret template offline, like ESO's
//! own `esoctl template`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eso_core::api::ExternalSecretTemplate;
use eso_core::template::{Map, TargetSecret, TemplateSources, Value, render_into, to_go_yaml};
use eso_core::{SecretMap, SecretValue};

/// Flags of `esoctl template` (the same names as ESO's esoctl).
#[derive(Debug, clap::Args)]
#[command(
    about = "given an input and a template provides an output",
    long_about = "Given an input that mimics a secret's data section and a template it produces an output of the rendered template."
)]
pub(crate) struct Args {
    /// File containing the object (ExternalSecret or PushSecret) that contains the template.
    #[arg(long = "source-templated-object", value_name = "FILE")]
    source_templated_object: Option<PathBuf>,
    /// File containing secret data as a map of key to base64 bytes.
    #[arg(long = "source-secret-data-file", value_name = "FILE")]
    source_secret_data_file: Option<PathBuf>,
    /// File containing the ConfigMap used for templateFrom.configMap.
    #[arg(long = "template-from-config-map", value_name = "FILE")]
    template_from_config_map: Option<PathBuf>,
    /// File containing the Secret used for templateFrom.secret.
    #[arg(long = "template-from-secret", value_name = "FILE")]
    template_from_secret: Option<PathBuf>,
    /// If set, the output is written to this file.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only print the version and exit.
    #[arg(long = "version")]
    show_version: bool,
}

fn read_yaml(path: &Option<PathBuf>, what: &str) -> Result<serde_json::Value> {
    let path = path
        .as_ref()
        .ok_or_else(|| anyhow!("could not read {what} file: no file given"))?;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {what} file {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    // The error names the file, line and column; it never quotes the file (secret data).
    eso_core::api::parse_yaml::<serde_json::Value>(&text)
        .map_err(|e| anyhow!("could not unmarshal {what}: {}: {e}", path.display()))
}

fn b64_map(v: Option<&serde_json::Value>, what: &str) -> Result<SecretMap> {
    let mut out = SecretMap::new();
    let Some(serde_json::Value::Object(m)) = v else {
        return Ok(out);
    };
    for (k, val) in m {
        let s = match val {
            serde_json::Value::String(s) => s.as_str(),
            serde_json::Value::Null => "",
            _ => bail!("could not unmarshal {what}: value of {k} is not a base64 string"),
        };
        let bytes = STANDARD.decode(s.trim()).map_err(|e| {
            anyhow!(
                "could not unmarshal {what}: illegal base64 data for key {k}: {}",
                base64_problem(&e)
            )
        })?;
        out.insert(k.clone(), SecretValue::new(bytes));
    }
    Ok(out)
}

/// `e` with the file it concerns in front.
fn in_file(e: anyhow::Error, path: &Option<PathBuf>) -> anyhow::Error {
    match path {
        Some(p) => anyhow!("{}: {e}", p.display()),
        None => e,
    }
}

/// A base64 error without the offending byte (it is part of a secret value).
fn base64_problem(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(at, _) => format!("invalid character at offset {at}"),
        base64::DecodeError::InvalidLength(len) => format!("invalid length {len}"),
        base64::DecodeError::InvalidLastSymbol(at, _) => {
            format!("invalid last character at offset {at}")
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_owned(),
    }
}

fn string_map(v: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(serde_json::Value::Object(m)) = v {
        for (k, val) in m {
            let s = match val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            out.insert(k.clone(), s);
        }
    }
    out
}

/// The rendered Secret as ESO v2.9.0's esoctl prints it: `sigs.k8s.io/yaml.Marshal` of a
/// `corev1.Secret` whose only set fields are `data`, labels and annotations (ESO's esoctl
/// never applies `template.type`, and `creationTimestamp` is omitted when zero, hence
/// `metadata: {}`).
fn secret_yaml(s: &TargetSecret) -> Result<String> {
    let strings = |m: &BTreeMap<String, String>| {
        Value::map(
            m.iter()
                .map(|(k, v)| (k.as_str().into(), Value::str(v)))
                .collect(),
        )
    };
    let mut meta = Map::new();
    if !s.annotations.is_empty() {
        meta.insert("annotations".into(), strings(&s.annotations));
    }
    if !s.labels.is_empty() {
        meta.insert("labels".into(), strings(&s.labels));
    }
    let mut root = Map::new();
    if !s.data.is_empty() {
        let data = s
            .data
            .iter()
            .map(|(k, v)| {
                let encoded = Value::string(STANDARD.encode(v.expose()));
                (k.as_str().into(), encoded)
            })
            .collect();
        root.insert("data".into(), Value::map(data));
    }
    root.insert("metadata".into(), Value::map(meta));
    to_go_yaml(&Value::map(root)).map_err(|e| anyhow!("could not marshal secret: {e}"))
}

fn run_inner(args: &Args) -> Result<String> {
    let obj = read_yaml(&args.source_templated_object, "template")?;
    let kind = obj.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    let tmpl = match kind {
        "ExternalSecret" => obj.pointer("/spec/target/template"),
        "PushSecret" => obj.pointer("/spec/template"),
        other => bail!("unsupported template kind {other}"),
    };
    let tmpl = match tmpl {
        Some(t) if !t.is_null() => t.clone(),
        _ => bail!("the {kind} has no template"),
    };
    // Only engine v2 exists; say so as ESO does rather than as a parse error.
    if let Some(v) = tmpl.get("engineVersion").and_then(|v| v.as_str())
        && v != "v2"
    {
        bail!("unsupported template engine version {v}");
    }
    // Likewise an unknown `templateAs` scope is ESO's execution error, not a parse error.
    for tf in tmpl
        .get("templateFrom")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let items = ["configMap", "secret"]
            .iter()
            .filter_map(|k| tf.pointer(&format!("/{k}/items")))
            .filter_map(|v| v.as_array())
            .flatten();
        for item in items {
            if let Some(scope) = item.get("templateAs").and_then(|v| v.as_str())
                && scope != "Values"
                && scope != "KeysAndValues"
            {
                bail!("unknown scope '{scope}': expected 'Values' or 'KeysAndValues'");
            }
        }
    }
    let spec: ExternalSecretTemplate =
        serde_json::from_value(tmpl).map_err(|e| anyhow!("could not unmarshal template: {e}"))?;

    let data_doc = read_yaml(&args.source_secret_data_file, "source secret")?;
    let data = b64_map(Some(&data_doc), "secret")
        .map_err(|e| in_file(e, &args.source_secret_data_file))?;

    let mut sources = TemplateSources::default();
    if args.template_from_config_map.is_some() {
        let cm = read_yaml(&args.template_from_config_map, "configmap")?;
        sources.any_config_map = Some(string_map(cm.get("data")));
    }
    if args.template_from_secret.is_some() {
        let sec = read_yaml(&args.template_from_secret, "secret")?;
        sources.any_secret = Some(
            b64_map(sec.get("data"), "secret")
                .map_err(|e| in_file(e, &args.template_from_secret))?,
        );
    }
    let mut target = TargetSecret::default();
    render_into(&spec, &data, &sources, &mut target)
        .map_err(|e| anyhow!("could not render template: {e}"))?;
    secret_yaml(&target)
}

/// Runs the subcommand: rendered Secret on stdout (or `--output`), errors on stderr.
pub(crate) fn run(args: &Args) -> std::process::ExitCode {
    if args.show_version {
        println!("version: {}", env!("CARGO_PKG_VERSION"));
        return std::process::ExitCode::SUCCESS;
    }
    match run_inner(args) {
        Ok(yaml) => {
            let res = match &args.output {
                Some(p) => std::fs::write(p, format!("{yaml}\n")).map_err(anyhow::Error::from),
                None => writeln!(std::io::stdout(), "{yaml}").map_err(anyhow::Error::from),
            };
            match res {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
