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
    #[cfg_attr(
        feature = "kube",
        schemars(schema_with = "super::meta::free_form_schema")
    )]
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
    #[cfg_attr(
        feature = "kube",
        schemars(schema_with = "super::meta::free_form_schema")
    )]
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn base() -> Value {
        json!({
            "secretStoreRefs": [{"name": "vault"}],
            "selector": {"secret": {"name": "src"}},
            "data": [{"match": {"secretKey": "k", "remoteRef": {"remoteKey": "r"}}}]
        })
    }

    fn ps(spec: Value) -> PushSecret {
        serde_json::from_value(json!({"metadata": {"name": "ps", "namespace": "ns"}, "spec": spec}))
            .unwrap()
    }

    fn with(patch: Value) -> Vec<String> {
        let mut spec = base();
        for (k, v) in patch.as_object().unwrap() {
            spec[k] = v.clone();
        }
        match ps(spec).validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.0.into_iter().map(|e| e.path).collect(),
        }
    }

    fn parse_error(spec: Value) -> (String, String) {
        let doc = json!({"metadata": {"name": "ps"}, "spec": spec});
        match serde_path_to_error::deserialize::<_, PushSecret>(doc) {
            Ok(_) => panic!("parsed"),
            Err(e) => (e.path().to_string(), e.inner().to_string()),
        }
    }

    #[test]
    fn minimal_is_valid_and_gets_crd_defaults() {
        let p = ps(base());
        assert!(p.validate().is_ok());
        assert_eq!(p.spec.refresh_interval, DEFAULT_REFRESH_INTERVAL);
        assert_eq!(p.spec.update_policy, PushSecretUpdatePolicy::Replace);
        assert_eq!(p.spec.deletion_policy, PushSecretDeletionPolicy::None);
        assert_eq!(
            p.spec.secret_store_refs[0].kind,
            SecretStoreKind::SecretStore
        );
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["apiVersion"], "external-secrets.io/v1alpha1");
        assert_eq!(v["kind"], "PushSecret");
        assert_eq!(v["spec"]["refreshInterval"], "1h0m0s");
        assert_eq!(v["spec"]["updatePolicy"], "Replace");
        assert_eq!(v["spec"]["deletionPolicy"], "None");
        assert_eq!(v["spec"]["secretStoreRefs"][0]["kind"], "SecretStore");
        assert_eq!(v["spec"]["data"][0]["conversionStrategy"], "None");
        assert_eq!(
            PushSecretSpec::default().refresh_interval.to_string(),
            "1h0m0s"
        );
    }

    #[test]
    fn enums_and_free_form_metadata() {
        let meta = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
            "spec": {"labels": {"a": "b"}, "nested": [1, {"x": null}]}});
        let p = ps(json!({
            "refreshInterval": "10s",
            "secretStoreRefs": [{"labelSelector": {"matchLabels": {"push": "yes"}}, "kind": "ClusterSecretStore"}],
            "updatePolicy": "IfNotExists",
            "deletionPolicy": "Delete",
            "selector": {"generatorRef": {"kind": "Password", "name": "pw"}},
            "data": [{"match": {"remoteRef": {"remoteKey": "all"}}, "metadata": meta, "conversionStrategy": "ReverseUnicode"}]
        }));
        assert!(p.validate().is_ok());
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["spec"]["data"][0]["metadata"], meta);
        assert_eq!(v["spec"]["data"][0]["conversionStrategy"], "ReverseUnicode");
        assert_eq!(v["spec"]["updatePolicy"], "IfNotExists");
        assert_eq!(v["spec"]["refreshInterval"], "10s");
    }

    #[test]
    fn parse_errors() {
        let mut spec = base();
        spec["updatePolicy"] = json!("Sometimes");
        let (p, msg) = parse_error(spec);
        assert_eq!(p, "spec.updatePolicy");
        assert!(msg.contains("unknown variant"), "{msg}");
        let mut spec = base();
        spec["deletionPolicy"] = json!("Retain");
        assert_eq!(parse_error(spec).0, "spec.deletionPolicy");
        let mut spec = base();
        spec["secretStoreRefs"][0]["kind"] = json!("Vault");
        assert_eq!(parse_error(spec).0, "spec.secretStoreRefs[0].kind");
        let mut spec = base();
        spec["data"][0]["conversionStrategy"] = json!("Unicode");
        assert_eq!(parse_error(spec).0, "spec.data[0].conversionStrategy");
        let mut spec = base();
        spec.as_object_mut().unwrap().remove("selector");
        let (p, msg) = parse_error(spec);
        assert_eq!(
            (p.as_str(), msg.contains("selector")),
            ("spec", true),
            "{msg}"
        );
        let mut spec = base();
        spec.as_object_mut().unwrap().remove("secretStoreRefs");
        assert!(parse_error(spec).1.contains("secretStoreRefs"));
        let mut spec = base();
        spec["data"][0]["match"]["remoteRef"] = json!({"property": "p"});
        let (p, msg) = parse_error(spec);
        assert_eq!(p, "spec.data[0].match.remoteRef");
        assert!(msg.contains("remoteKey"), "{msg}");
        let mut spec = base();
        spec["refreshInterval"] = json!("5 minutes");
        assert_eq!(parse_error(spec).0, "spec.refreshInterval");
    }

    #[test]
    fn store_refs() {
        assert_eq!(
            with(json!({"secretStoreRefs": [{"kind": "ClusterSecretStore"}, {"name": ""}]})),
            [
                "spec.secretStoreRefs[0]",
                "spec.secretStoreRefs[1].name",
                "spec.secretStoreRefs[1]"
            ]
        );
        assert_eq!(
            with(json!({"secretStoreRefs": [{"name": "Vault"}]})),
            ["spec.secretStoreRefs[0].name"]
        );
        assert!(with(json!({"secretStoreRefs": [{"labelSelector": {}}]})).is_empty());
    }

    #[test]
    fn selector() {
        assert_eq!(with(json!({"selector": {}})), ["spec.selector"]);
        assert_eq!(
            with(
                json!({"selector": {"secret": {"name": "s"}, "generatorRef": {"kind": "UUID", "name": "u"}}})
            ),
            ["spec.selector"]
        );
        assert_eq!(
            with(json!({"selector": {"secret": {}}})),
            ["spec.selector.secret"]
        );
        assert_eq!(
            with(json!({"selector": {"secret": {"name": "SECRET_NAME"}}})),
            ["spec.selector.secret.name"]
        );
        assert!(
            with(json!({"selector": {"secret": {"selector": {"matchLabels": {"a": "b"}}}}}))
                .is_empty()
        );
        assert_eq!(
            with(
                json!({"selector": {"generatorRef": {"apiVersion": "v1", "kind": "UUID", "name": "u"}}})
            ),
            ["spec.selector.generatorRef.apiVersion"]
        );
    }

    #[test]
    fn duplicate_destinations() {
        let m = |key: &str, remote: &str, prop: Option<&str>| {
            let mut r = json!({"remoteKey": remote});
            if let Some(p) = prop {
                r["property"] = json!(p);
            }
            json!({"match": {"secretKey": key, "remoteRef": r}})
        };
        assert_eq!(
            with(json!({"data": [m("a", "r", None), m("b", "r", None)]})),
            ["spec.data[1].match.remoteRef"]
        );
        assert_eq!(
            with(
                json!({"data": [m("a", "r", Some("p")), m("b", "r", Some("q")), m("c", "r", Some("p"))]})
            ),
            ["spec.data[2].match.remoteRef"]
        );
        assert!(with(json!({"data": [m("a", "r", Some("p")), m("a", "r", Some("q")), m("a", "r2", None)]})).is_empty());
    }

    #[test]
    fn data_to() {
        let dt = |entry: Value| with(json!({"dataTo": [entry]}));
        assert!(dt(json!({"storeRef": {"name": "vault"}})).is_empty());
        assert!(dt(json!({"storeRef": {"labelSelector": {"matchLabels": {"a": "b"}}}, "match": {"regexp": "^db_"}})).is_empty());
        assert_eq!(dt(json!({})), ["spec.dataTo[0].storeRef"]);
        assert_eq!(dt(json!({"storeRef": {}})), ["spec.dataTo[0].storeRef"]);
        assert_eq!(
            dt(json!({"storeRef": {"name": "other"}})),
            ["spec.dataTo[0].storeRef.name"]
        );
        // Same name, other kind: not listed.
        assert_eq!(
            dt(json!({"storeRef": {"name": "vault", "kind": "ClusterSecretStore"}})),
            ["spec.dataTo[0].storeRef.name"]
        );
        assert_eq!(
            dt(json!({"storeRef": {"name": "vault"}, "remoteKey": "bundle",
                "rewrite": [{"transform": {"template": "x"}}]})),
            ["spec.dataTo[0].rewrite"]
        );
        assert!(
            dt(json!({"storeRef": {"name": "vault"}, "remoteKey": "bundle", "rewrite": []}))
                .is_empty()
        );
        assert_eq!(
            dt(json!({"storeRef": {"name": "vault"}, "rewrite": [{},
                {"regexp": {"source": "a", "target": "b"}, "transform": {"template": "x"}},
                {"regexp": {"source": "(", "target": "b"}}]})),
            [
                "spec.dataTo[0].rewrite[0]",
                "spec.dataTo[0].rewrite[1]",
                "spec.dataTo[0].rewrite[2].regexp.source"
            ]
        );
        assert_eq!(
            dt(json!({"storeRef": {"name": "vault"}, "match": {"regexp": "*"}})),
            ["spec.dataTo[0].match.regexp"]
        );
    }

    #[test]
    fn template_names_are_checked() {
        assert_eq!(
            with(json!({"template": {"templateFrom": [{"secret": {"name": "Bad", "items": []}}]}})),
            ["spec.template.templateFrom[0].secret.name"]
        );
        // PushSecret has no webhook: ESO's Secret-target rules do not apply to its template.
        assert!(with(json!({"template": {"type": "bootstrap.kubernetes.io/token"}})).is_empty());
    }

    #[test]
    fn status_round_trips() {
        let status = json!({
            "refreshTime": "2026-01-02T03:04:05Z",
            "syncedResourceVersion": "1-abc",
            "syncedPushSecrets": {"SecretStore/vault": {
                "r/p": {"match": {"secretKey": "k", "remoteRef": {"remoteKey": "r", "property": "p"}}, "conversionStrategy": "None"}
            }},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Synced", "message": "PushSecret synced successfully"}]
        });
        let p: PushSecret = serde_json::from_value(
            json!({"metadata": {"name": "ps"}, "spec": base(), "status": status}),
        )
        .unwrap();
        let synced = p
            .status
            .as_ref()
            .unwrap()
            .synced_push_secrets
            .as_ref()
            .unwrap();
        assert_eq!(
            synced["SecretStore/vault"]["r/p"]
                .match_
                .remote_ref
                .property
                .as_deref(),
            Some("p")
        );
        assert_eq!(serde_json::to_value(&p).unwrap()["status"], status);
    }

    #[cfg(feature = "kube")]
    #[test]
    fn crd() {
        use kube::CustomResourceExt;
        let crd = PushSecret::crd();
        assert_eq!(crd.spec.versions[0].name, "v1alpha1");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&["ps".to_owned()][..])
        );
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
        let text = schema.to_string();
        assert!(
            text.contains("x-kubernetes-preserve-unknown-fields"),
            "{text}"
        );
    }
}
