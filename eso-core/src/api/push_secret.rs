//! `PushSecret` (`external-secrets.io/v1alpha1`): copies keys of a Kubernetes Secret (or a
//! generator's output) into one or more secret stores.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::external_secret::{DEFAULT_REFRESH_INTERVAL, default_refresh_interval};
use super::validation::{Validate, ValidationErrors, check_regex, is_dns1123_subdomain};
use super::{
    Condition, ExternalSecretRewriteRegexp, ExternalSecretRewriteTransform, ExternalSecretTemplate,
    GeneratorRef, LabelSelector, SecretStoreKind,
};
use crate::GoDuration;

/// Desired state of a [`PushSecret`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "external-secrets.io",
        version = "v1alpha1",
        kind = "PushSecret",
        namespaced,
        status = "PushSecretStatus",
        derive = "PartialEq",
        shortname = "ps",
        category = "external-secrets",
        printcolumn = r#"{"name":"AGE","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
        printcolumn = r#"{"name":"Last Sync","type":"date","jsonPath":".status.refreshTime"}"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSpec {
    /// How often the push is repeated (default `1h0m0s`; `0s` pushes once).
    #[serde(default = "default_refresh_interval")]
    pub refresh_interval: GoDuration,
    /// The stores to push to, by name or label selector.
    pub secret_store_refs: Vec<PushSecretStoreRef>,
    /// Whether existing provider secrets are overwritten (default `Replace`).
    #[serde(default)]
    pub update_policy: PushSecretUpdatePolicy,
    /// Whether provider secrets are deleted with the PushSecret (default `None`).
    #[serde(default)]
    pub deletion_policy: PushSecretDeletionPolicy,
    /// The source: a Secret or a generator.
    pub selector: PushSecretSelector,
    /// Explicit key-to-remote mappings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<PushSecretData>>,
    /// Bulk rules expanding source keys into provider entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_to: Option<Vec<PushSecretDataTo>>,
    /// Template applied to the source before pushing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
}

impl Default for PushSecretSpec {
    fn default() -> Self {
        Self {
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            secret_store_refs: Vec::new(),
            update_policy: PushSecretUpdatePolicy::default(),
            deletion_policy: PushSecretDeletionPolicy::default(),
            selector: PushSecretSelector::default(),
            data: None,
            data_to: None,
            template: None,
        }
    }
}

super::eso_resource! {
    /// Pushes keys of a Kubernetes Secret (or a generator's output) to secret stores.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{PushSecret, Validate};
    ///
    /// let ps: PushSecret = serde_saphyr::from_str(r#"
    /// apiVersion: external-secrets.io/v1alpha1
    /// kind: PushSecret
    /// metadata: {name: push-db, namespace: app}
    /// spec:
    ///   secretStoreRefs: [{name: vault}]
    ///   selector: {secret: {name: db}}
    ///   data:
    ///     - match: {secretKey: password, remoteRef: {remoteKey: app/db, property: password}}
    /// "#).unwrap();
    /// assert_eq!(ps.spec.refresh_interval.to_string(), "1h0m0s");
    /// assert!(ps.validate().is_ok());
    /// ```
    PushSecret { spec: PushSecretSpec, status: PushSecretStatus,
        api_version: "external-secrets.io/v1alpha1", kind: "PushSecret", namespaced: true }
}

/// A store (or set of stores) to push to: by `name` or by `labelSelector`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStoreRef {
    /// Store name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Select stores by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// Store kind (default `SecretStore`).
    #[serde(default)]
    pub kind: SecretStoreKind,
}

/// Whether existing provider secrets are overwritten.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum PushSecretUpdatePolicy {
    /// Always write (the default).
    #[default]
    Replace,
    /// Write only secrets that do not exist yet.
    IfNotExists,
}

/// Whether provider secrets are deleted when no longer pushed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum PushSecretDeletionPolicy {
    /// Delete them.
    Delete,
    /// Leave them (the default).
    #[default]
    None,
}

/// How key names are converted before pushing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum PushSecretConversionStrategy {
    /// Unchanged (the default).
    #[default]
    None,
    /// Turn `_U<hex>_` sequences back into the characters (undoes `Unicode` conversion).
    ReverseUnicode,
}

/// The source of a push: exactly one of `secret` or `generatorRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSelector {
    /// A Secret of the PushSecret's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<PushSecretSecret>,
    /// A generator whose output is pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// The source Secret(s): by `name`, or every Secret matching `selector`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretSecret {
    /// Secret name (same namespace as the PushSecret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Select Secrets by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Where a value goes in the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretRemoteRef {
    /// Name of the provider secret.
    pub remote_key: String,
    /// Property inside the provider secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// A source key and its destination.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretMatch {
    /// Source key; unset pushes the whole Secret as a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// The destination.
    pub remote_ref: PushSecretRemoteRef,
}

#[cfg(feature = "kube")]
fn free_form_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// One explicit push: a source key, its destination and provider-specific metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretData {
    /// Source key and destination.
    #[serde(rename = "match")]
    pub match_: PushSecretMatch,
    /// Provider-specific metadata (free-form JSON, often a `PushSecretMetadata` object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "kube", schemars(schema_with = "free_form_schema"))]
    pub metadata: Option<serde_json::Value>,
    /// Key conversion (default `None`).
    #[serde(default)]
    pub conversion_strategy: PushSecretConversionStrategy,
}

/// A bulk push rule: every matching source key, rewritten, to one store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretDataTo {
    /// The store(s) this rule pushes to; must name an entry of `secretStoreRefs` or select
    /// by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<PushSecretStoreRef>,
    /// Bundle mode: all matched keys go into this one provider secret as a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_key: Option<String>,
    /// Which source keys (default: all).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_: Option<PushSecretDataToMatch>,
    /// Key rewrites, applied in order (per-key mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<PushSecretRewrite>>,
    /// Provider-specific metadata (free-form JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "kube", schemars(schema_with = "free_form_schema"))]
    pub metadata: Option<serde_json::Value>,
    /// Key conversion (default `None`).
    #[serde(default)]
    pub conversion_strategy: PushSecretConversionStrategy,
}

/// Key selection of a bulk push rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretDataToMatch {
    /// Regular expression on source key names (unset matches all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// One key rewrite of a bulk push rule: exactly one of `regexp` or `transform`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretRewrite {
    /// Regexp replace on the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<ExternalSecretRewriteRegexp>,
    /// Template rendered on the key (`{{ .value }}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<ExternalSecretRewriteTransform>,
}

/// Per store (`"<Kind>/<name>"`), per destination (`"<remoteKey>"` or
/// `"<remoteKey>/<property>"`), what was pushed.
pub type SyncedPushSecretsMap = BTreeMap<String, BTreeMap<String, PushSecretData>>;

/// Observed state of a [`PushSecret`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PushSecretStatus {
    /// When the last push happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
    /// Resource version of the PushSecret last synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// What was pushed where (including secrets that already existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_push_secrets: Option<SyncedPushSecretsMap>,
    /// Conditions (`Ready`; reasons `Synced`, `Errored`, `SourceDeleted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

// ----------------------------------------------------------------------------------------------
// Validation
// ----------------------------------------------------------------------------------------------

const SUBDOMAIN_RULE: &str =
    "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253 characters)";

fn check_name(errors: &mut ValidationErrors, path: String, name: Option<&str>) {
    if let Some(name) = name
        && !is_dns1123_subdomain(name)
    {
        errors.push(path, SUBDOMAIN_RULE);
    }
}

impl PushSecretStoreRef {
    fn name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.is_empty())
    }
}

impl PushSecretSpec {
    /// Applies ESO's CRD schema and CEL rules, and the checks its controller makes before
    /// pushing anything; records errors under `path` (`spec`, or `spec.pushSecretSpec` for a
    /// ClusterPushSecret).
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        for (i, r) in self.secret_store_refs.iter().enumerate() {
            let p = format!("{path}.secretStoreRefs[{i}]");
            check_name(errors, format!("{p}.name"), r.name.as_deref());
            if r.name().is_none() && r.label_selector.is_none() {
                errors.push(p, "one of name or labelSelector must be set");
            }
        }

        let sel = &self.selector;
        let sp = format!("{path}.selector");
        match (&sel.secret, &sel.generator_ref) {
            (Some(_), Some(_)) => {
                errors.push(sp.clone(), "secret and generatorRef are mutually exclusive")
            }
            (None, None) => errors.push(sp.clone(), "one of secret or generatorRef must be set"),
            _ => {}
        }
        if let Some(s) = &sel.secret {
            check_name(errors, format!("{sp}.secret.name"), s.name.as_deref());
            if s.name.as_deref().is_none_or(str::is_empty) && s.selector.is_none() {
                errors.push(
                    format!("{sp}.secret"),
                    "one of name or selector must be set",
                );
            }
        }
        if let Some(g) = &sel.generator_ref {
            g.validate_at(&format!("{sp}.generatorRef"), errors);
        }

        // The controller refuses two entries writing the same (remoteKey, property).
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, d) in self.data.iter().flatten().enumerate() {
            let r = &d.match_.remote_ref;
            let key = (r.remote_key.as_str(), r.property.as_deref().unwrap_or(""));
            if let Some(first) = seen.get(&key) {
                errors.push(
                    format!("{path}.data[{i}].match.remoteRef"),
                    format!("same remoteKey and property as {path}.data[{first}]"),
                );
            } else {
                seen.insert(key, i);
            }
        }

        for (i, d) in self.data_to.iter().flatten().enumerate() {
            self.validate_data_to(&format!("{path}.dataTo[{i}]"), d, errors);
        }

        if let Some(t) = &self.template {
            t.validate_at(&format!("{path}.template"), errors);
        }
    }

    fn validate_data_to(&self, p: &str, d: &PushSecretDataTo, errors: &mut ValidationErrors) {
        match &d.store_ref {
            None => errors.push(format!("{p}.storeRef"), "is required"),
            Some(r) => {
                check_name(errors, format!("{p}.storeRef.name"), r.name.as_deref());
                match r.name() {
                    None if r.label_selector.is_none() => errors.push(
                        format!("{p}.storeRef"),
                        "one of name or labelSelector must be set",
                    ),
                    Some(name) => {
                        let listed = self
                            .secret_store_refs
                            .iter()
                            .any(|s| s.name() == Some(name) && s.kind == r.kind);
                        if !listed {
                            errors.push(
                                format!("{p}.storeRef.name"),
                                format!(
                                    "{} {name:?} is not named in secretStoreRefs",
                                    r.kind.as_str()
                                ),
                            );
                        }
                    }
                    None => {}
                }
            }
        }
        let rewrites = d.rewrite.as_deref().unwrap_or_default();
        if d.remote_key.is_some() && !rewrites.is_empty() {
            errors.push(
                format!("{p}.rewrite"),
                "remoteKey and rewrite are mutually exclusive (rewrite only applies without remoteKey)",
            );
        }
        if let Some(re) = d.match_.as_ref().and_then(|m| m.regexp.as_deref()) {
            check_regex(errors, &format!("{p}.match.regexp"), re);
        }
        for (i, rw) in rewrites.iter().enumerate() {
            let rp = format!("{p}.rewrite[{i}]");
            if rw.regexp.is_some() == rw.transform.is_some() {
                errors.push(rp.clone(), "exactly one of regexp or transform must be set");
            }
            if let Some(re) = &rw.regexp {
                check_regex(errors, &format!("{rp}.regexp.source"), &re.source);
            }
        }
    }
}

impl Validate for PushSecret {
    /// ESO has no PushSecret webhook: these are its CRD schema and CEL rules, plus the checks
    /// its controller makes from the manifest alone (store refs need a name or selector, a
    /// named `dataTo` store must be listed in `secretStoreRefs`, regexps compile, no two
    /// `data[]` entries share a destination).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.spec.validate_at("spec", &mut errors);
        errors.into_result()
    }
}
