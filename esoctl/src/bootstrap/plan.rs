//! The bootstrap plan (`esoctl.eso-rs.io/v1alpha1` `BootstrapPlan`): which Secrets to create
//! and where each key's value comes from. A plan holds no values, so it is safe to commit.
//!
//! ```yaml
//! apiVersion: esoctl.eso-rs.io/v1alpha1
//! kind: BootstrapPlan
//! secrets:
//!   - namespace: flux-system
//!     name: gitea-token
//!     type: Opaque                      # default Opaque
//!     labels: {team: platform}          # optional
//!     keys:
//!       - {name: username, prompt: "Gitea admin user"}
//!       - {name: password, prompt: "Gitea access token", hidden: true, confirm: true, pattern: "^[0-9a-f]{40}$"}
//!       - {name: ca.crt, keep: true}    # must already exist; never asked, never written
//!   - namespace: databases
//!     name: db-credentials
//!     keys:
//!       - {name: password, generate: {kind: Password, spec: {length: 32, digits: 5, symbols: 5}}}
//! vaultInit:                            # optional
//!   - store: {kind: ClusterSecretStore, name: vault-region1}
//!     keyShares: 5
//!     keyThreshold: 3
//!     rootTokenSecret: {namespace: vault-system, name: vault-token, key: token}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use eso_core::api::{GeneratorSpec, SecretStoreKind, is_dns1123_label, is_dns1123_subdomain};
use eso_core::api::{is_secret_key, parse_yaml};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

/// The `apiVersion` a plan must carry.
pub(crate) const API_VERSION: &str = "esoctl.eso-rs.io/v1alpha1";
/// The `kind` a plan must carry.
pub(crate) const KIND: &str = "BootstrapPlan";

/// A loaded and checked plan.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The Secrets, in plan order.
    pub(crate) secrets: Vec<PlanSecret>,
    /// The Vault/OpenBao initialisation steps, in plan order.
    pub(crate) vault_init: Vec<VaultInit>,
}

/// One Secret of the plan.
#[derive(Debug)]
pub(crate) struct PlanSecret {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) type_: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) keys: Vec<PlanKey>,
}

impl PlanSecret {
    /// `namespace/name`.
    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// One key of a planned Secret.
#[derive(Debug)]
pub(crate) struct PlanKey {
    pub(crate) name: String,
    pub(crate) source: Source,
}

/// Where a key's value comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Asked on the terminal (or read from the standard-input JSON).
    Prompt(PromptSpec),
    /// Made by a generator.
    Generate {
        kind: String,
        spec: Box<GeneratorSpec>,
        /// The generator output key to take (default: the only one, or the plan key's name).
        key: Option<String>,
    },
    /// The value the Secret already holds; never asked, never written.
    Keep,
}

/// How to ask for a value.
#[derive(Debug)]
pub(crate) struct PromptSpec {
    pub(crate) text: String,
    pub(crate) hidden: bool,
    pub(crate) confirm: bool,
    pub(crate) pattern: Option<Regex>,
}

/// One Vault/OpenBao initialisation step.
#[derive(Debug)]
pub(crate) struct VaultInit {
    /// The store whose server is initialised.
    pub(crate) store_kind: SecretStoreKind,
    pub(crate) store_name: String,
    /// The namespace of a `SecretStore` (required for that kind).
    pub(crate) store_namespace: Option<String>,
    pub(crate) key_shares: u8,
    pub(crate) key_threshold: u8,
    /// Where the root token goes; `None`: the store's `auth.tokenSecretRef`.
    pub(crate) root_token_secret: Option<SecretKeyRef>,
    /// Enable a KV engine at the store's `path` (its `version`) after initialising.
    pub(crate) mount_store_path: bool,
}

/// A key of a Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SecretKeyRef {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) key: String,
}

impl fmt::Display for SecretKeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} key {}", self.namespace, self.name, self.key)
    }
}

/// A bad plan: the field path and what is wrong with it.
#[derive(Debug)]
pub(crate) struct PlanError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

fn err(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        path: path.into(),
        message: message.into(),
    }
}

// The file's shape, as written.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawPlan {
    api_version: String,
    kind: String,
    /// Accepted (kubectl-like files have one) and not used.
    #[serde(default, rename = "metadata")]
    _metadata: Option<RawMetadata>,
    #[serde(default)]
    secrets: Vec<RawSecret>,
    #[serde(default)]
    vault_init: Vec<RawVaultInit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    /// Accepted (kubectl-like files have one) and not used.
    #[serde(default, rename = "name")]
    _name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawSecret {
    namespace: String,
    name: String,
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    keys: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawKey {
    name: String,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    confirm: Option<bool>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    generate: Option<RawGenerate>,
    #[serde(default)]
    keep: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawGenerate {
    kind: String,
    #[serde(default = "empty_object")]
    spec: Value,
    #[serde(default)]
    key: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawVaultInit {
    store: RawStoreRef,
    key_shares: u8,
    key_threshold: u8,
    #[serde(default)]
    root_token_secret: Option<RawKeyRef>,
    #[serde(default)]
    mount_store_path: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawStoreRef {
    #[serde(default)]
    kind: Option<SecretStoreKind>,
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawKeyRef {
    namespace: String,
    name: String,
    key: String,
}

impl Plan {
    /// Reads and checks a plan file.
    pub(crate) fn load(path: &Path) -> Result<Self, PlanError> {
        let text = crate::files::read_text(path).map_err(|e| err("", e))?;
        Self::parse(&text)
    }

    /// Parses and checks a plan; the error names the field.
    pub(crate) fn parse(text: &str) -> Result<Self, PlanError> {
        let value: Value = parse_yaml(text).map_err(|e| err("", e.to_string()))?;
        let raw: RawPlan = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            err(
                path,
                eso_core::api::redact_serde_message(&e.into_inner().to_string()),
            )
        })?;
        if raw.api_version != API_VERSION {
            return Err(err(
                "apiVersion",
                format!("must be {API_VERSION}, not {:?}", raw.api_version),
            ));
        }
        if raw.kind != KIND {
            return Err(err("kind", format!("must be {KIND}, not {:?}", raw.kind)));
        }
        if raw.secrets.is_empty() && raw.vault_init.is_empty() {
            return Err(err("secrets", "the plan names no Secret"));
        }
        let mut seen = BTreeSet::new();
        let mut secrets = Vec::new();
        for (i, s) in raw.secrets.into_iter().enumerate() {
            let secret = check_secret(&format!("secrets[{i}]"), s)?;
            if !seen.insert(secret.id()) {
                return Err(err(
                    format!("secrets[{i}]"),
                    format!("{} is planned twice", secret.id()),
                ));
            }
            secrets.push(secret);
        }
        let vault_init = raw
            .vault_init
            .into_iter()
            .enumerate()
            .map(|(i, v)| check_vault_init(&format!("vaultInit[{i}]"), v))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            secrets,
            vault_init,
        })
    }

    /// The planned Secret `namespace/name`.
    pub(crate) fn secret(&self, id: &str) -> Option<&PlanSecret> {
        self.secrets.iter().find(|s| s.id() == id)
    }
}

fn check_secret(path: &str, s: RawSecret) -> Result<PlanSecret, PlanError> {
    if !is_dns1123_label(&s.namespace) {
        return Err(err(
            format!("{path}.namespace"),
            format!("{:?} is not a namespace name (DNS-1123 label)", s.namespace),
        ));
    }
    if !is_dns1123_subdomain(&s.name) {
        return Err(err(
            format!("{path}.name"),
            format!("{:?} is not a Secret name (DNS-1123 subdomain)", s.name),
        ));
    }
    let type_ = s.type_.unwrap_or_else(|| "Opaque".to_owned());
    if type_.is_empty() {
        return Err(err(format!("{path}.type"), "must not be empty"));
    }
    if s.keys.is_empty() {
        return Err(err(format!("{path}.keys"), "names no key"));
    }
    let mut names = BTreeSet::new();
    let mut keys = Vec::new();
    for (j, k) in s.keys.into_iter().enumerate() {
        let kpath = format!("{path}.keys[{j}]");
        if !is_secret_key(&k.name) {
            return Err(err(
                format!("{kpath}.name"),
                format!("{:?} is not a Secret key ([-._a-zA-Z0-9]+)", k.name),
            ));
        }
        if !names.insert(k.name.clone()) {
            return Err(err(
                format!("{kpath}.name"),
                format!("key {:?} is planned twice", k.name),
            ));
        }
        keys.push(PlanKey {
            name: k.name.clone(),
            source: check_source(&kpath, k)?,
        });
    }
    Ok(PlanSecret {
        namespace: s.namespace,
        name: s.name,
        type_,
        labels: s.labels,
        keys,
    })
}

fn check_source(path: &str, k: RawKey) -> Result<Source, PlanError> {
    let keep = k.keep.unwrap_or(false);
    let sources =
        usize::from(k.prompt.is_some()) + usize::from(k.generate.is_some()) + usize::from(keep);
    if sources != 1 {
        return Err(err(
            path,
            "needs exactly one of prompt, generate or keep: true",
        ));
    }
    if k.prompt.is_none() {
        for (field, set) in [
            ("hidden", k.hidden.is_some()),
            ("confirm", k.confirm.is_some()),
            ("pattern", k.pattern.is_some()),
        ] {
            if set {
                return Err(err(format!("{path}.{field}"), "only applies to a prompt"));
            }
        }
    }
    if let Some(text) = k.prompt {
        if text.trim().is_empty() {
            return Err(err(format!("{path}.prompt"), "must not be empty"));
        }
        let pattern = k
            .pattern
            .map(|p| {
                Regex::new(&p).map_err(|e| {
                    err(
                        format!("{path}.pattern"),
                        format!("not a regular expression: {e}"),
                    )
                })
            })
            .transpose()?;
        return Ok(Source::Prompt(PromptSpec {
            text,
            hidden: k.hidden.unwrap_or(false),
            confirm: k.confirm.unwrap_or(false),
            pattern,
        }));
    }
    if let Some(g) = k.generate {
        let spec = GeneratorSpec::parse(&g.kind, g.spec).map_err(|e| match e {
            eso_core::Error::InvalidConfig { path: p, message } if p == "kind" => {
                err(format!("{path}.generate.kind"), message)
            }
            eso_core::Error::InvalidConfig { path: p, message } => {
                err(format!("{path}.generate.{p}"), message)
            }
            other => err(format!("{path}.generate"), other.to_string()),
        })?;
        if let Some(key) = &g.key
            && key.is_empty()
        {
            return Err(err(format!("{path}.generate.key"), "must not be empty"));
        }
        return Ok(Source::Generate {
            kind: g.kind,
            spec: Box::new(spec),
            key: g.key,
        });
    }
    Ok(Source::Keep)
}

fn check_vault_init(path: &str, v: RawVaultInit) -> Result<VaultInit, PlanError> {
    let kind = v.store.kind.unwrap_or(SecretStoreKind::ClusterSecretStore);
    if !is_dns1123_subdomain(&v.store.name) {
        return Err(err(
            format!("{path}.store.name"),
            format!("{:?} is not a store name", v.store.name),
        ));
    }
    match (kind, &v.store.namespace) {
        (SecretStoreKind::SecretStore, None) => {
            return Err(err(
                format!("{path}.store.namespace"),
                "is required for a SecretStore",
            ));
        }
        (SecretStoreKind::ClusterSecretStore, Some(_)) => {
            return Err(err(
                format!("{path}.store.namespace"),
                "does not apply to a ClusterSecretStore",
            ));
        }
        _ => {}
    }
    if v.key_shares == 0 {
        return Err(err(format!("{path}.keyShares"), "must be at least 1"));
    }
    if v.key_threshold == 0 || v.key_threshold > v.key_shares {
        return Err(err(
            format!("{path}.keyThreshold"),
            format!("must be between 1 and keyShares ({})", v.key_shares),
        ));
    }
    let root_token_secret = v
        .root_token_secret
        .map(|r| {
            let p = format!("{path}.rootTokenSecret");
            if !is_dns1123_label(&r.namespace) {
                return Err(err(format!("{p}.namespace"), "is not a namespace name"));
            }
            if !is_dns1123_subdomain(&r.name) {
                return Err(err(format!("{p}.name"), "is not a Secret name"));
            }
            if !is_secret_key(&r.key) {
                return Err(err(format!("{p}.key"), "is not a Secret key"));
            }
            Ok(SecretKeyRef {
                namespace: r.namespace,
                name: r.name,
                key: r.key,
            })
        })
        .transpose()?;
    Ok(VaultInit {
        store_kind: kind,
        store_name: v.store.name,
        store_namespace: v.store.namespace,
        key_shares: v.key_shares,
        key_threshold: v.key_threshold,
        root_token_secret,
        mount_store_path: v.mount_store_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_PLAN: &str = r#"
apiVersion: esoctl.eso-rs.io/v1alpha1
kind: BootstrapPlan
secrets:
  - namespace: flux-system
    name: gitea-token
    type: Opaque                      # default Opaque
    keys:
      - {name: username, prompt: "Gitea admin user"}
      - {name: password, prompt: "Gitea access token", hidden: true, confirm: true, pattern: "^[0-9a-f]{40}$"}
  - namespace: databases
    name: db-credentials
    keys:
      - {name: password, generate: {kind: Password, spec: {length: 32, digits: 5, symbols: 5}}}
"#;

    fn error_of(text: &str) -> String {
        Plan::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn the_issue_plan_loads() {
        let plan = Plan::parse(ISSUE_PLAN).unwrap();
        assert_eq!(plan.secrets.len(), 2);
        let gitea = &plan.secrets[0];
        assert_eq!(
            (gitea.id().as_str(), gitea.type_.as_str()),
            ("flux-system/gitea-token", "Opaque")
        );
        let Source::Prompt(p) = &gitea.keys[1].source else {
            panic!("a prompt")
        };
        assert!(p.hidden && p.confirm);
        assert!(p.pattern.as_ref().unwrap().is_match(&"a".repeat(40)));
        let Source::Generate { kind, spec, .. } = &plan.secrets[1].keys[0].source else {
            panic!("a generator")
        };
        assert_eq!(kind, "Password");
        assert_eq!(spec.password_spec.as_ref().unwrap().length, 32);
        assert_eq!(plan.secrets[1].type_, "Opaque");
    }

    #[test]
    fn the_example_plan_loads() {
        let plan = Plan::parse(include_str!("../../../examples/bootstrap/plan.yaml")).unwrap();
        assert_eq!(plan.secrets.len(), 3);
        assert_eq!(plan.vault_init.len(), 1);
        assert!(matches!(plan.secrets[2].keys[1].source, Source::Keep));
    }

    #[test]
    fn a_generator_without_spec_gets_the_defaults() {
        let plan = Plan::parse(
            "apiVersion: esoctl.eso-rs.io/v1alpha1\nkind: BootstrapPlan\nsecrets:\n  - {namespace: a, name: b, keys: [{name: id, generate: {kind: UUID}}]}\n",
        )
        .unwrap();
        let Source::Generate { spec, .. } = &plan.secrets[0].keys[0].source else {
            panic!("a generator")
        };
        assert!(spec.uuid_spec.is_some());
    }

    #[test]
    fn bad_plans_name_the_field() {
        let head = "apiVersion: esoctl.eso-rs.io/v1alpha1\nkind: BootstrapPlan\n";
        let cases = [
            (
                "apiVersion: v1\nkind: BootstrapPlan\nsecrets: []\n",
                "apiVersion: must be",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: Bad_NS, name: a, keys: [{{name: k, keep: true}}]}}\n"
                ),
                "secrets[0].namespace:",
            ),
            (
                &format!("{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k}}]}}\n"),
                "secrets[0].keys[0]: needs exactly one of",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k, prompt: x, pattern: '(' }}]}}\n"
                ),
                "secrets[0].keys[0].pattern: not a regular expression",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k, generate: {{kind: Password, spec: {{length: x}}}}}}]}}\n"
                ),
                "secrets[0].keys[0].generate.spec.length:",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k, generate: {{kind: Nope}}}}]}}\n"
                ),
                "secrets[0].keys[0].generate.kind:",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k, keep: true, hidden: true}}]}}\n"
                ),
                "secrets[0].keys[0].hidden: only applies to a prompt",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k, keep: true}}, {{name: k, keep: true}}]}}\n"
                ),
                "secrets[0].keys[1].name: key \"k\" is planned twice",
            ),
            (
                &format!(
                    "{head}secrets:\n  - {{namespace: a, name: b, keys: [{{name: k, keep: true, colour: red}}]}}\n"
                ),
                "secrets[0].keys[0].colour: unknown field `colour`",
            ),
            (
                &format!(
                    "{head}vaultInit:\n  - {{store: {{name: v}}, keyShares: 3, keyThreshold: 4}}\n"
                ),
                "vaultInit[0].keyThreshold: must be between 1 and keyShares (3)",
            ),
        ];
        for (text, want) in cases {
            let got = error_of(text);
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
    }
}
