//! `ExternalSecret` (`external-secrets.io/v1`): which provider values to fetch and how to write
//! them into a Kubernetes Secret (or, with `target.manifest`, another object).
//!
//! The template types ([`ExternalSecretTemplate`] and friends) and the remote-ref types are
//! also used by `PushSecret` and `ClusterExternalSecret`.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::LocalObjectReference;
use serde::{Deserialize, Serialize};

use super::validation::{
    Validate, ValidationErrors, check_regex, is_dns1123_subdomain, is_secret_key,
};
use super::{Condition, GeneratorRef, SecretStoreRef};
use crate::GoDuration;

/// The CRD default of `refreshInterval` (ExternalSecret and PushSecret): one hour.
pub const DEFAULT_REFRESH_INTERVAL: GoDuration = GoDuration::from_secs(3600);

pub(crate) fn default_refresh_interval() -> GoDuration {
    DEFAULT_REFRESH_INTERVAL
}

/// Desired state of an [`ExternalSecret`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "external-secrets.io",
        version = "v1",
        kind = "ExternalSecret",
        namespaced,
        status = "ExternalSecretStatus",
        derive = "PartialEq",
        shortname = "es",
        category = "external-secrets",
        printcolumn = r#"{"name":"StoreType","type":"string","jsonPath":".spec.secretStoreRef.kind"}"#,
        printcolumn = r#"{"name":"Store","type":"string","jsonPath":".spec.secretStoreRef.name"}"#,
        printcolumn = r#"{"name":"Refresh Interval","type":"string","jsonPath":".spec.refreshInterval"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
        printcolumn = r#"{"name":"Last Sync","type":"date","jsonPath":".status.refreshTime"}"#
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// The default store for `data[]` and `dataFrom[]` entries without their own `sourceRef`.
    /// An ExternalSecret that only uses generators needs none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<SecretStoreRef>,
    /// The object to write (CRD default `{creationPolicy: Owner, deletionPolicy: Retain}`).
    #[serde(default)]
    pub target: ExternalSecretTarget,
    /// When to refresh; unset behaves like `Periodic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<ExternalSecretRefreshPolicy>,
    /// How long to wait between two reads of the provider (default `1h0m0s`; `0s` syncs once).
    #[serde(default = "default_refresh_interval")]
    pub refresh_interval: GoDuration,
    /// Optional cron windows that allow or deny periodic refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<ExternalSecretSyncWindows>,
    /// Single values: one Secret key per entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<ExternalSecretData>>,
    /// Bulk sources (extract, find, generators), merged in order; later entries win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_from: Option<Vec<ExternalSecretDataFromRemoteRef>>,
}

impl Default for ExternalSecretSpec {
    fn default() -> Self {
        Self {
            secret_store_ref: None,
            target: ExternalSecretTarget::default(),
            refresh_policy: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            sync_windows: None,
            data: None,
            data_from: None,
        }
    }
}

super::eso_resource! {
    /// Fetches values from a secret store (or a generator) and keeps a Kubernetes Secret in
    /// sync with them.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{ExternalSecret, Validate};
    ///
    /// let es: ExternalSecret = serde_saphyr::from_str(r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: ExternalSecret
    /// metadata: {name: db, namespace: app}
    /// spec:
    ///   secretStoreRef: {name: vault, kind: ClusterSecretStore}
    ///   refreshInterval: 15m
    ///   data:
    ///     - secretKey: password
    ///       remoteRef: {key: db/prod, property: password}
    /// "#).unwrap();
    /// assert_eq!(es.spec.refresh_interval.to_string(), "15m0s");
    /// assert!(es.validate().is_ok());
    /// ```
    ExternalSecret { spec: ExternalSecretSpec, status: ExternalSecretStatus,
        api_version: "external-secrets.io/v1", kind: "ExternalSecret", namespaced: true }
}

/// How the target Secret is created and owned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretCreationPolicy {
    /// Create the Secret with an owner reference to the ExternalSecret (the default).
    #[default]
    Owner,
    /// Create the Secret without owner reference; it survives the ExternalSecret.
    Orphan,
    /// Never create the Secret; merge the data into an existing one.
    Merge,
    /// Create nothing.
    None,
    /// Create the Secret when missing (no owner reference), otherwise merge into it.
    CreateOrMerge,
}

/// What happens to the target when the provider no longer returns data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretDeletionPolicy {
    /// Delete the Secret once every provider value is gone.
    Delete,
    /// Remove the vanished keys but keep the Secret.
    Merge,
    /// Keep the Secret and report an error (the default).
    #[default]
    Retain,
}

/// When an ExternalSecret is refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretRefreshPolicy {
    /// Create the Secret once and never update it.
    CreatedOnce,
    /// Refresh every `refreshInterval`.
    Periodic,
    /// Refresh only when the ExternalSecret itself changes.
    OnChange,
}

/// The object an ExternalSecret writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    /// Name of the managed object; defaults to the ExternalSecret's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the object is created (default `Owner`).
    #[serde(default)]
    pub creation_policy: ExternalSecretCreationPolicy,
    /// What happens when the provider data disappears (default `Retain`).
    #[serde(default)]
    pub deletion_policy: ExternalSecretDeletionPolicy,
    /// Blueprint of the written object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<ExternalSecretTemplate>,
    /// Write an arbitrary object (ConfigMap, custom resource) instead of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestReference>,
    /// Make the Secret immutable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
}

/// The type of a non-Secret target object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ManifestReference {
    /// API version of the object, e.g. `v1` or `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// Kind of the object, e.g. `ConfigMap`.
    pub kind: String,
}

impl ManifestReference {
    /// True when the manifest names a core `v1` Secret.
    pub fn is_secret(&self) -> bool {
        self.api_version == "v1" && self.kind == "Secret"
    }
}

/// Template engine version; only `v2` exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum TemplateEngineVersion {
    /// The Go `text/template` + sprig engine (the default).
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// How rendered template output combines with the fetched data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum TemplateMergePolicy {
    /// Only the template output is written (the default).
    #[default]
    Replace,
    /// The fetched keys are written too, the template output on top.
    Merge,
}

/// Blueprint of the written Secret (or object): type, metadata and templated data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplate {
    /// Secret type, e.g. `kubernetes.io/tls`; unset keeps the existing type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Template engine (default `v2`).
    #[serde(default)]
    pub engine_version: TemplateEngineVersion,
    /// Labels, annotations and finalizers of the written object (values are templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ExternalSecretTemplateMetadata>,
    /// How the template output combines with the fetched data (default `Replace`).
    #[serde(default)]
    pub merge_policy: TemplateMergePolicy,
    /// Secret key to template of its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
    /// Further templates from ConfigMaps, Secrets or literals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_from: Option<Vec<TemplateFrom>>,
}

/// Metadata of the templated object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTemplateMetadata {
    /// Annotations (values are templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels (values are templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Finalizers to set on the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
}

/// Default `templateFrom[].target`.
pub const TEMPLATE_TARGET_DATA: &str = "Data";
/// `templateFrom[].target` writing annotations.
pub const TEMPLATE_TARGET_ANNOTATIONS: &str = "Annotations";
/// `templateFrom[].target` writing labels.
pub const TEMPLATE_TARGET_LABELS: &str = "Labels";

fn default_template_target() -> String {
    TEMPLATE_TARGET_DATA.to_owned()
}

/// One source of templates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Templates held in keys of a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Templates held in keys of a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// Where the output goes (default `Data`). For Secrets only `Data`, `Annotations` or
    /// `Labels` (any case); for manifest targets also a dotted path like `spec.config`.
    #[serde(default = "default_template_target")]
    pub target: String,
    /// An inline template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// Decoding applied to the rendered values (unset means none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_decoding_strategy: Option<ExternalSecretDecodingStrategy>,
}

impl Default for TemplateFrom {
    fn default() -> Self {
        Self {
            config_map: None,
            secret: None,
            target: default_template_target(),
            literal: None,
            values_decoding_strategy: None,
        }
    }
}

/// A ConfigMap or Secret holding templates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// Object name.
    pub name: String,
    /// The keys to use as templates.
    pub items: Vec<TemplateRefItem>,
}

/// How the keys of a template source are used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum TemplateScope {
    /// The value is a template; the key is used as is (the default).
    #[default]
    Values,
    /// The value is a template rendering a whole map of keys and values.
    KeysAndValues,
}

/// One key of a template source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// Key in the ConfigMap/Secret.
    pub key: String,
    /// How the key is used (default `Values`).
    #[serde(default)]
    pub template_as: TemplateScope,
}

/// Whether sync windows allow or deny periodic refreshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SyncWindowKind {
    /// Periodic refreshes happen only while a window is open.
    Allow,
    /// Periodic refreshes are blocked while a window is open.
    Deny,
}

/// Restricts when periodic refreshes may happen (evaluated in UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSyncWindows {
    /// Allow or deny, for every window of the list.
    pub kind: SyncWindowKind,
    /// The windows (at least one).
    pub windows: Vec<ExternalSecretSyncWindowEntry>,
}

/// One window: opens at every firing of `schedule` and stays open for `duration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSyncWindowEntry {
    /// A 5-field cron expression (UTC) or a descriptor such as `@daily` or `@every 1h`.
    pub schedule: String,
    /// How long the window stays open.
    pub duration: GoDuration,
}

/// One `data[]` entry: a Secret key and the provider value behind it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// Key in the target Secret.
    pub secret_key: String,
    /// The provider value.
    pub remote_ref: ExternalSecretDataRemoteRef,
    /// Reads from another store than `spec.secretStoreRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// Whether provider metadata (tags, labels) is fetched instead of the value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretMetadataPolicy {
    /// Fetch the value (what unset means).
    #[default]
    None,
    /// Fetch the metadata.
    Fetch,
}

/// How key names from `extract`/`find` are made valid Secret keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretConversionStrategy {
    /// Invalid characters become `_` (what unset means).
    #[default]
    Default,
    /// Invalid characters become `_U<hex>_`.
    Unicode,
}

/// How fetched values are decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretDecodingStrategy {
    /// Base64 or base64url when the value decodes, else unchanged.
    Auto,
    /// Standard base64.
    Base64,
    /// URL-safe base64.
    #[serde(rename = "Base64URL")]
    Base64Url,
    /// No decoding (what unset means).
    #[default]
    None,
}

/// Whether fetched bytes may contain NUL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretNullBytePolicy {
    /// Accept NUL bytes (what unset means).
    #[default]
    Ignore,
    /// Fail the sync when a value contains a NUL byte.
    Fail,
}

/// A provider value: key, property, version and the fetch/convert/decode policies.
///
/// Used by `data[].remoteRef` and `dataFrom[].extract`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataRemoteRef {
    /// Provider key (path, name, ...).
    pub key: String,
    /// Fetch metadata instead of the value (unset means `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_policy: Option<ExternalSecretMetadataPolicy>,
    /// A field inside a structured value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Provider version of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Key-name conversion (only for `extract`; unset means `Default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ExternalSecretConversionStrategy>,
    /// Value decoding (unset means `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<ExternalSecretDecodingStrategy>,
    /// NUL-byte handling (unset means `Ignore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<ExternalSecretNullBytePolicy>,
}

/// Store override of a `data[]` entry: exactly one of `storeRef` or `generatorRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoreSourceRef {
    /// The store to read from.
    #[serde(rename = "storeRef", default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Deprecated and not implemented for `data[]` by ESO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// Source override of a `dataFrom[]` entry: exactly one of `storeRef` or `generatorRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoreGeneratorSourceRef {
    /// The store to read from (with `extract` or `find`).
    #[serde(rename = "storeRef", default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// A generator whose output is used as is (without `extract`/`find`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// One `dataFrom[]` entry: exactly one of `extract`, `find` or `sourceRef.generatorRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretDataFromRemoteRef {
    /// Every key/value pair of one structured provider value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<ExternalSecretDataRemoteRef>,
    /// Every provider secret matching a name regexp, tags and/or path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<ExternalSecretFind>,
    /// Key rewrites, applied in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Vec<ExternalSecretRewrite>>,
    /// Another store, or a generator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreGeneratorSourceRef>,
}

impl ExternalSecretDataFromRemoteRef {
    /// The generator this entry reads from, if any.
    pub fn generator_ref(&self) -> Option<&GeneratorRef> {
        self.source_ref.as_ref()?.generator_ref.as_ref()
    }
}

/// Search of provider secrets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretFind {
    /// Root path or prefix to search under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Match secret names against a regexp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FindName>,
    /// Match secrets carrying all these tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// Key-name conversion (unset means `Default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ExternalSecretConversionStrategy>,
    /// Value decoding (unset means `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<ExternalSecretDecodingStrategy>,
    /// NUL-byte handling (unset means `Ignore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<ExternalSecretNullBytePolicy>,
}

/// Name criterion of a find.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FindName {
    /// A Go RE2 regular expression on the secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// One key rewrite: exactly one of `merge`, `regexp` or `transform`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretRewrite {
    /// Merge every (JSON object) value into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<ExternalSecretRewriteMerge>,
    /// Regexp replace on every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<ExternalSecretRewriteRegexp>,
    /// Template rendered on every key (`{{ .value }}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<ExternalSecretRewriteTransform>,
}

/// Regexp rewrite: every match of `source` in a key is replaced by `target` (`$1` expands).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretRewriteRegexp {
    /// The regular expression.
    pub source: String,
    /// The replacement.
    pub target: String,
}

/// Template rewrite of key names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretRewriteTransform {
    /// The template; `.value` is the key name.
    pub template: String,
}

/// What a merge does when a `priority` key is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretRewriteMergePriorityPolicy {
    /// Skip missing keys.
    IgnoreNotFound,
    /// Fail on missing keys (the default).
    #[default]
    Strict,
}

/// What a merge does when two values set the same key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretRewriteMergeConflictPolicy {
    /// Later values win silently.
    Ignore,
    /// Fail (the default).
    #[default]
    Error,
}

/// The output of a merge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum ExternalSecretRewriteMergeStrategy {
    /// Every merged field becomes a Secret key (the default).
    #[default]
    Extract,
    /// The merged object is written as JSON under the key `into`.
    #[serde(rename = "JSON")]
    Json,
}

/// Merge rewrite: parses every value as a JSON object and merges them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretRewriteMerge {
    /// Key of the merged JSON (required with strategy `JSON`; default "").
    #[serde(default)]
    pub into: String,
    /// Keys merged last, in this order (they win conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Vec<String>>,
    /// Handling of missing priority keys (default `Strict`).
    #[serde(default)]
    pub priority_policy: ExternalSecretRewriteMergePriorityPolicy,
    /// Handling of conflicting keys (default `Error`).
    #[serde(default)]
    pub conflict_policy: ExternalSecretRewriteMergeConflictPolicy,
    /// Output shape (default `Extract`).
    #[serde(default)]
    pub strategy: ExternalSecretRewriteMergeStrategy,
}

/// Observed state of an [`ExternalSecret`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatus {
    /// When the provider was last read and the target updated (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
    /// `"<generation>-<hash of labels and annotations>"` of the last synced ExternalSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// Conditions; `Ready` is the one that matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The target Secret (servicebinding.io provisioned service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<LocalObjectReference>,
}

// ----------------------------------------------------------------------------------------------
// Validation
// ----------------------------------------------------------------------------------------------

const SECRET_KEY_RULE: &str = "must match ^[-._a-zA-Z0-9]+$ (at most 253 characters)";
const SUBDOMAIN_RULE: &str =
    "must be a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.', at most 253 characters)";

/// The CRD pattern of a sync-window schedule.
const SCHEDULE_PATTERN: &str = r"^(@(annually|yearly|monthly|weekly|daily|midnight|hourly)|@every [^\s]+.*|[^\s]+( [^\s]+){4})$";

fn check_subdomain(errors: &mut ValidationErrors, path: String, name: &str) {
    if !is_dns1123_subdomain(name) {
        errors.push(path, SUBDOMAIN_RULE);
    }
}

/// Checks a store reference's name (when set).
pub(crate) fn check_store_ref(errors: &mut ValidationErrors, path: &str, r: &SecretStoreRef) {
    if !r.name.is_empty() {
        check_subdomain(errors, format!("{path}.name"), &r.name);
    }
}

fn count_set(flags: &[bool]) -> usize {
    flags.iter().filter(|b| **b).count()
}

impl ExternalSecretTemplate {
    /// Checks the CRD rules of a template (names and keys of `templateFrom` sources); records
    /// errors under `path`.
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        for (i, tf) in self.template_from.iter().flatten().enumerate() {
            let p = format!("{path}.templateFrom[{i}]");
            for (field, r) in [("configMap", &tf.config_map), ("secret", &tf.secret)] {
                let Some(r) = r else { continue };
                check_subdomain(errors, format!("{p}.{field}.name"), &r.name);
                for (j, item) in r.items.iter().enumerate() {
                    if !is_secret_key(&item.key) {
                        errors.push(format!("{p}.{field}.items[{j}].key"), SECRET_KEY_RULE);
                    }
                }
            }
        }
    }

    /// ESO's rules for a template rendering into a Secret: no service-account token bound to
    /// an account through annotations, no bootstrap token, and `templateFrom[].target` limited
    /// to `Data`, `Annotations` or `Labels`. `check_targets` is false for manifest targets
    /// that are not Secrets.
    pub fn validate_secret_rules_at(
        &self,
        path: &str,
        check_targets: bool,
        errors: &mut ValidationErrors,
    ) {
        match self.type_.as_deref() {
            Some("kubernetes.io/service-account-token") => {
                let named = self
                    .metadata
                    .as_ref()
                    .and_then(|m| m.annotations.as_ref())
                    .is_some_and(|a| a.contains_key("kubernetes.io/service-account.name"));
                if named {
                    errors.push(
                        format!("{path}.metadata.annotations"),
                        "the annotation kubernetes.io/service-account.name is not allowed with type kubernetes.io/service-account-token",
                    );
                }
                for (i, tf) in self.template_from.iter().flatten().enumerate() {
                    if tf.target.eq_ignore_ascii_case(TEMPLATE_TARGET_ANNOTATIONS) {
                        errors.push(
                            format!("{path}.templateFrom[{i}].target"),
                            "target Annotations is not allowed with type kubernetes.io/service-account-token",
                        );
                    }
                }
            }
            Some("bootstrap.kubernetes.io/token") => {
                errors.push(
                    format!("{path}.type"),
                    "type bootstrap.kubernetes.io/token is not allowed",
                );
            }
            _ => {}
        }
        if check_targets {
            for (i, tf) in self.template_from.iter().flatten().enumerate() {
                let ok = tf.target.is_empty()
                    || [
                        TEMPLATE_TARGET_DATA,
                        TEMPLATE_TARGET_ANNOTATIONS,
                        TEMPLATE_TARGET_LABELS,
                    ]
                    .iter()
                    .any(|t| tf.target.eq_ignore_ascii_case(t));
                if !ok {
                    errors.push(
                        format!("{path}.templateFrom[{i}].target"),
                        format!(
                            "{:?} is not allowed when the target is a Secret; use Data, Annotations or Labels",
                            tf.target
                        ),
                    );
                }
            }
        }
    }
}

fn validate_rewrites(
    path: &str,
    rewrites: &[ExternalSecretRewrite],
    errors: &mut ValidationErrors,
) {
    for (i, rw) in rewrites.iter().enumerate() {
        let p = format!("{path}.rewrite[{i}]");
        let n = count_set(&[
            rw.merge.is_some(),
            rw.regexp.is_some(),
            rw.transform.is_some(),
        ]);
        if n != 1 {
            errors.push(
                p.clone(),
                "exactly one of merge, regexp or transform must be set",
            );
        }
        if let Some(re) = &rw.regexp {
            check_regex(errors, &format!("{p}.regexp.source"), &re.source);
        }
        if let Some(m) = &rw.merge
            && m.strategy == ExternalSecretRewriteMergeStrategy::Json
            && m.into.is_empty()
        {
            errors.push(
                format!("{p}.merge.into"),
                "must be set when strategy is JSON",
            );
        }
    }
}

impl ExternalSecretSpec {
    /// Applies ESO's CRD schema and admission-webhook rules to this spec; records errors under
    /// `path` (`spec` for an ExternalSecret, `spec.externalSecretSpec` for a
    /// ClusterExternalSecret).
    pub fn validate_at(&self, path: &str, errors: &mut ValidationErrors) {
        if let Some(r) = &self.secret_store_ref {
            check_store_ref(errors, &format!("{path}.secretStoreRef"), r);
        }
        self.validate_target(path, errors);
        if let Some(sw) = &self.sync_windows {
            let p = format!("{path}.syncWindows");
            if sw.windows.is_empty() {
                errors.push(format!("{p}.windows"), "must have at least one window");
            }
            // The pattern is a constant that compiles; a failure would only skip the check.
            if let Ok(re) = regex::Regex::new(SCHEDULE_PATTERN) {
                for (i, w) in sw.windows.iter().enumerate() {
                    if !re.is_match(&w.schedule) {
                        errors.push(
                            format!("{p}.windows[{i}].schedule"),
                            "must be a 5-field cron expression or a descriptor like @daily or @every 1h",
                        );
                    }
                }
            }
        }
        let data = self.data.as_deref().unwrap_or_default();
        let data_from = self.data_from.as_deref().unwrap_or_default();
        if data.is_empty() && data_from.is_empty() {
            errors.push(
                format!("{path}.data"),
                "either data or dataFrom must be set",
            );
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, d) in data.iter().enumerate() {
            let p = format!("{path}.data[{i}]");
            if !is_secret_key(&d.secret_key) {
                errors.push(format!("{p}.secretKey"), SECRET_KEY_RULE);
            }
            if self.target.deletion_policy == ExternalSecretDeletionPolicy::Retain {
                if let Some(first) = seen.get(d.secret_key.as_str()) {
                    errors.push(
                        format!("{p}.secretKey"),
                        format!(
                            "duplicate secretKey {:?} (also in {path}.data[{first}]); not allowed with deletionPolicy Retain",
                            d.secret_key
                        ),
                    );
                } else {
                    seen.insert(&d.secret_key, i);
                }
            }
            if let Some(sr) = &d.source_ref {
                let sp = format!("{p}.sourceRef");
                match (&sr.store_ref, &sr.generator_ref) {
                    (Some(_), Some(_)) => errors.push(
                        sp.clone(),
                        "storeRef and generatorRef are mutually exclusive",
                    ),
                    (None, None) => {
                        errors.push(sp.clone(), "one of storeRef or generatorRef must be set")
                    }
                    _ => {}
                }
                if let Some(r) = &sr.store_ref {
                    check_store_ref(errors, &format!("{sp}.storeRef"), r);
                }
                if let Some(g) = &sr.generator_ref {
                    g.validate_at(&format!("{sp}.generatorRef"), errors);
                }
            }
        }
        for (i, df) in data_from.iter().enumerate() {
            validate_data_from(&format!("{path}.dataFrom[{i}]"), df, errors);
        }
    }

    fn validate_target(&self, path: &str, errors: &mut ValidationErrors) {
        use ExternalSecretCreationPolicy as C;
        use ExternalSecretDeletionPolicy as D;
        let t = &self.target;
        let p = format!("{path}.target");
        if let Some(name) = &t.name {
            check_subdomain(errors, format!("{p}.name"), name);
        }
        match (t.deletion_policy, t.creation_policy) {
            (D::Delete, c @ (C::Merge | C::None | C::CreateOrMerge)) => errors.push(
                format!("{p}.deletionPolicy"),
                format!(
                    "Delete is not allowed with creationPolicy {c:?}: the controller does not own the secret (use creationPolicy Owner)"
                ),
            ),
            (D::Merge, C::None) => errors.push(
                format!("{p}.deletionPolicy"),
                "Merge is not allowed with creationPolicy None: there is no secret to merge with",
            ),
            _ => {}
        }
        if let Some(m) = &t.manifest {
            if m.api_version.is_empty() {
                errors.push(format!("{p}.manifest.apiVersion"), "must not be empty");
            }
            if m.kind.is_empty() {
                errors.push(format!("{p}.manifest.kind"), "must not be empty");
            }
        }
        if let Some(tpl) = &t.template {
            let tp = format!("{p}.template");
            tpl.validate_at(&tp, errors);
            let secret_target = t.manifest.as_ref().is_none_or(ManifestReference::is_secret);
            tpl.validate_secret_rules_at(&tp, secret_target, errors);
        }
    }
}

fn validate_data_from(
    p: &str,
    df: &ExternalSecretDataFromRemoteRef,
    errors: &mut ValidationErrors,
) {
    let generator = df.generator_ref().is_some();
    if count_set(&[df.extract.is_some(), df.find.is_some(), generator]) > 1 {
        errors.push(
            p.to_owned(),
            "extract, find and sourceRef.generatorRef are mutually exclusive",
        );
    }
    if df.extract.is_none() && df.find.is_none() && df.source_ref.is_none() {
        errors.push(
            p.to_owned(),
            "one of extract, find or sourceRef must be set",
        );
    }
    if let Some(sr) = &df.source_ref {
        let sp = format!("{p}.sourceRef");
        match (&sr.store_ref, &sr.generator_ref) {
            (None, None) => errors.push(sp.clone(), "one of storeRef or generatorRef must be set"),
            (Some(_), Some(_)) => errors.push(
                sp.clone(),
                "storeRef and generatorRef are mutually exclusive",
            ),
            _ => {}
        }
        if let Some(r) = &sr.store_ref {
            check_store_ref(errors, &format!("{sp}.storeRef"), r);
        }
        if let Some(g) = &sr.generator_ref {
            g.validate_at(&format!("{sp}.generatorRef"), errors);
        }
    }
    if let Some(find) = &df.find
        && let Some(re) = find.name.as_ref().and_then(|n| n.regexp.as_deref())
    {
        check_regex(errors, &format!("{p}.find.name.regexp"), re);
    }
    if let Some(rw) = &df.rewrite {
        validate_rewrites(p, rw, errors);
    }
}

impl Validate for ExternalSecret {
    /// ESO's CRD schema and admission-webhook rules, plus checks of what ESO would only reject
    /// at sync time but is decidable from the manifest (regexps that do not compile, a JSON
    /// merge without `into`).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.spec.validate_at("spec", &mut errors);
        self.validate_rollout_annotation(&mut errors);
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn es(spec: Value) -> ExternalSecret {
        serde_json::from_value(json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "es", "namespace": "ns"},
            "spec": spec,
        }))
        .unwrap()
    }

    /// The error paths of `spec`'s validation (empty when valid).
    fn paths(spec: Value) -> Vec<String> {
        match es(spec).validate() {
            Ok(()) => Vec::new(),
            Err(e) => e.0.into_iter().map(|e| e.path).collect(),
        }
    }

    fn data() -> Value {
        json!([{"secretKey": "k", "remoteRef": {"key": "path"}}])
    }

    /// `(path, message)` of a deserialization error, as the manifest loader reports it.
    fn parse_error(doc: Value) -> (String, String) {
        match serde_path_to_error::deserialize::<_, ExternalSecret>(doc) {
            Ok(_) => panic!("parsed"),
            Err(e) => (e.path().to_string(), e.inner().to_string()),
        }
    }

    #[test]
    fn minimal_is_valid_and_gets_crd_defaults() {
        let e = es(json!({"secretStoreRef": {"name": "vault"}, "data": data()}));
        assert!(e.validate().is_ok());
        assert_eq!(e.spec.refresh_interval, DEFAULT_REFRESH_INTERVAL);
        assert_eq!(
            e.spec.target.creation_policy,
            ExternalSecretCreationPolicy::Owner
        );
        assert_eq!(
            e.spec.target.deletion_policy,
            ExternalSecretDeletionPolicy::Retain
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["apiVersion"], "external-secrets.io/v1");
        assert_eq!(v["kind"], "ExternalSecret");
        assert_eq!(v["spec"]["refreshInterval"], "1h0m0s");
        assert_eq!(
            v["spec"]["target"],
            json!({"creationPolicy": "Owner", "deletionPolicy": "Retain"})
        );
        assert!(v.get("status").is_none());
        assert_eq!(
            ExternalSecretSpec::default().refresh_interval.to_string(),
            "1h0m0s"
        );
    }

    #[test]
    fn nested_defaults() {
        let e = es(json!({
            "data": data(),
            "target": {"template": {"templateFrom": [{"configMap": {"name": "cm", "items": [{"key": "a"}]}}]}},
            "dataFrom": [
                {"sourceRef": {"generatorRef": {"kind": "Password", "name": "pw"}}},
                {"extract": {"key": "x"}, "rewrite": [{"merge": {}}]}
            ]
        }));
        let tpl = e.spec.target.template.as_ref().unwrap();
        assert_eq!(tpl.engine_version, TemplateEngineVersion::V2);
        assert_eq!(tpl.merge_policy, TemplateMergePolicy::Replace);
        let tf = &tpl.template_from.as_ref().unwrap()[0];
        assert_eq!(tf.target, "Data");
        assert_eq!(
            tf.config_map.as_ref().unwrap().items[0].template_as,
            TemplateScope::Values
        );
        let df = e.spec.data_from.as_ref().unwrap();
        assert_eq!(
            df[0].generator_ref().unwrap().api_version,
            "generators.external-secrets.io/v1alpha1"
        );
        let merge = df[1].rewrite.as_ref().unwrap()[0].merge.as_ref().unwrap();
        assert_eq!(merge.into, "");
        assert_eq!(
            merge.priority_policy,
            ExternalSecretRewriteMergePriorityPolicy::Strict
        );
        assert_eq!(
            merge.conflict_policy,
            ExternalSecretRewriteMergeConflictPolicy::Error
        );
        assert_eq!(merge.strategy, ExternalSecretRewriteMergeStrategy::Extract);
        assert!(e.validate().is_ok());
    }

    #[test]
    fn enum_spellings_are_esos() {
        let e = es(json!({
            "data": [{"secretKey": "k", "remoteRef": {
                "key": "p", "decodingStrategy": "Base64URL", "conversionStrategy": "Unicode",
                "metadataPolicy": "Fetch", "nullBytePolicy": "Fail"}}],
            "refreshPolicy": "OnChange",
            "syncWindows": {"kind": "deny", "windows": [{"schedule": "@daily", "duration": "8h"}]},
            "target": {"creationPolicy": "CreateOrMerge", "template": {"templateFrom": [
                {"literal": "x", "valuesDecodingStrategy": "Auto"}]}},
            "dataFrom": [{"extract": {"key": "x"}, "rewrite": [{"merge": {"strategy": "JSON", "into": "all",
                "conflictPolicy": "Ignore", "priorityPolicy": "IgnoreNotFound"}}]}]
        }));
        let r = &e.spec.data.as_ref().unwrap()[0].remote_ref;
        assert_eq!(
            r.decoding_strategy,
            Some(ExternalSecretDecodingStrategy::Base64Url)
        );
        assert_eq!(
            e.spec.sync_windows.as_ref().unwrap().kind,
            SyncWindowKind::Deny
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v["spec"]["data"][0]["remoteRef"]["decodingStrategy"],
            "Base64URL"
        );
        assert_eq!(v["spec"]["syncWindows"]["kind"], "deny");
        assert_eq!(v["spec"]["syncWindows"]["windows"][0]["duration"], "8h0m0s");
        assert_eq!(
            v["spec"]["dataFrom"][0]["rewrite"][0]["merge"]["strategy"],
            "JSON"
        );
        assert_eq!(v["spec"]["target"]["template"]["engineVersion"], "v2");
        assert!(e.validate().is_ok());
    }

    #[test]
    fn unknown_enum_values_are_parse_errors_with_paths() {
        let cases = [
            (
                json!({"target": {"creationPolicy": "Always"}}),
                "spec.target.creationPolicy",
            ),
            (
                json!({"target": {"deletionPolicy": "Keep"}}),
                "spec.target.deletionPolicy",
            ),
            (json!({"refreshPolicy": "Never"}), "spec.refreshPolicy"),
            (
                json!({"target": {"template": {"engineVersion": "v1"}}}),
                "spec.target.template.engineVersion",
            ),
            (
                json!({"data": [{"secretKey": "k", "remoteRef": {"key": "p", "decodingStrategy": "Hex"}}]}),
                "spec.data[0].remoteRef.decodingStrategy",
            ),
            (
                json!({"dataFrom": [{"sourceRef": {"generatorRef": {"kind": "Nope", "name": "x"}}}]}),
                "spec.dataFrom[0].sourceRef.generatorRef.kind",
            ),
            (
                json!({"syncWindows": {"kind": "Allow", "windows": []}}),
                "spec.syncWindows.kind",
            ),
        ];
        for (spec, path) in cases {
            let (p, msg) = parse_error(json!({"metadata": {"name": "x"}, "spec": spec}));
            assert_eq!(p, path, "{msg}");
            assert!(msg.contains("unknown variant"), "{msg}");
        }
    }

    #[test]
    fn missing_required_fields_and_wrong_types_are_parse_errors() {
        let cases = [
            (
                json!({"data": [{"remoteRef": {"key": "p"}}]}),
                "spec.data[0]",
                "secretKey",
            ),
            (
                json!({"data": [{"secretKey": "k"}]}),
                "spec.data[0]",
                "remoteRef",
            ),
            (
                json!({"data": [{"secretKey": "k", "remoteRef": {}}]}),
                "spec.data[0].remoteRef",
                "key",
            ),
            (
                json!({"target": {"manifest": {"kind": "ConfigMap"}}}),
                "spec.target.manifest",
                "apiVersion",
            ),
            (
                json!({"dataFrom": [{"rewrite": [{"regexp": {"source": "a"}}]}]}),
                "spec.dataFrom[0].rewrite[0].regexp",
                "target",
            ),
            (json!({"data": "oops"}), "spec.data", "invalid type"),
        ];
        for (spec, path, what) in cases {
            let (p, msg) = parse_error(json!({"metadata": {"name": "x"}, "spec": spec}));
            assert_eq!(p, path, "{msg}");
            assert!(msg.contains(what), "{msg}");
        }
        let (p, _) = parse_error(json!({"metadata": {"name": "x"}}));
        assert_eq!(p, ".");
    }

    #[test]
    fn bad_durations_are_parse_errors() {
        let (p, _) = parse_error(json!({"spec": {"refreshInterval": "1d"}}));
        assert_eq!(p, "spec.refreshInterval");
        let (p, _) = parse_error(
            json!({"spec": {"syncWindows": {"kind": "allow", "windows": [{"schedule": "@daily", "duration": "soon"}]}}}),
        );
        assert_eq!(p, "spec.syncWindows.windows[0].duration");
        assert!(
            es(json!({"refreshInterval": "0", "data": data()}))
                .spec
                .refresh_interval
                .is_zero()
        );
    }

    #[test]
    fn policies() {
        for creation in ["Merge", "None", "CreateOrMerge"] {
            assert_eq!(
                paths(
                    json!({"data": data(), "target": {"creationPolicy": creation, "deletionPolicy": "Delete"}})
                ),
                ["spec.target.deletionPolicy"],
                "{creation}"
            );
        }
        assert_eq!(
            paths(
                json!({"data": data(), "target": {"creationPolicy": "None", "deletionPolicy": "Merge"}})
            ),
            ["spec.target.deletionPolicy"]
        );
        for (creation, deletion) in [
            ("Owner", "Delete"),
            ("Orphan", "Delete"),
            ("Merge", "Merge"),
            ("CreateOrMerge", "Merge"),
            ("None", "Retain"),
        ] {
            assert!(
                paths(json!({"data": data(), "target": {"creationPolicy": creation, "deletionPolicy": deletion}}))
                    .is_empty(),
                "{creation}/{deletion}"
            );
        }
    }

    #[test]
    fn needs_data_or_data_from() {
        assert_eq!(paths(json!({})), ["spec.data"]);
        assert_eq!(paths(json!({"data": [], "dataFrom": []})), ["spec.data"]);
        assert!(paths(json!({"dataFrom": [{"extract": {"key": "k"}}]})).is_empty());
    }

    #[test]
    fn privileged_templates() {
        let sa = |tpl: Value| paths(json!({"data": data(), "target": {"template": tpl}}));
        assert_eq!(
            sa(json!({"type": "kubernetes.io/service-account-token",
                "metadata": {"annotations": {"kubernetes.io/service-account.name": "default"}}})),
            ["spec.target.template.metadata.annotations"]
        );
        assert_eq!(
            sa(json!({"type": "kubernetes.io/service-account-token",
                "templateFrom": [{"literal": "a: b", "target": "annotations"}]})),
            ["spec.target.template.templateFrom[0].target"]
        );
        assert!(
            sa(json!({"type": "kubernetes.io/service-account-token",
            "metadata": {"annotations": {"other": "x"}}}))
            .is_empty()
        );
        assert_eq!(
            sa(json!({"type": "bootstrap.kubernetes.io/token"})),
            ["spec.target.template.type"]
        );
        assert!(sa(json!({"type": "kubernetes.io/tls"})).is_empty());
    }

    #[test]
    fn template_from_targets() {
        let tf = |target: &str, manifest: Option<Value>| {
            let mut t = json!({"template": {"templateFrom": [{"literal": "x", "target": target}]}});
            if let Some(m) = manifest {
                t["manifest"] = m;
            }
            paths(json!({"data": data(), "target": t}))
        };
        for ok in ["Data", "data", "ANNOTATIONS", "Labels", ""] {
            assert!(tf(ok, None).is_empty(), "{ok}");
        }
        for bad in ["type", "immutable", "metadata.ownerReferences", "spec.x"] {
            assert_eq!(
                tf(bad, None),
                ["spec.target.template.templateFrom[0].target"],
                "{bad}"
            );
        }
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert!(tf("spec.rules[0].host", Some(cm)).is_empty());
        let secret = json!({"apiVersion": "v1", "kind": "Secret"});
        assert_eq!(
            tf("type", Some(secret)),
            ["spec.target.template.templateFrom[0].target"]
        );
        assert_eq!(
            paths(json!({"data": data(), "target": {"manifest": {"apiVersion": "", "kind": ""}}})),
            [
                "spec.target.manifest.apiVersion",
                "spec.target.manifest.kind"
            ]
        );
    }

    #[test]
    fn data_from_sources() {
        let df = |entry: Value| paths(json!({"dataFrom": [entry]}));
        let gen_ref = json!({"kind": "Password", "name": "pw"});
        assert_eq!(
            df(json!({"extract": {"key": "a"}, "find": {"path": "p"}})),
            ["spec.dataFrom[0]"]
        );
        assert_eq!(
            df(json!({"find": {"path": "p"}, "sourceRef": {"generatorRef": gen_ref}})),
            ["spec.dataFrom[0]"]
        );
        assert_eq!(
            df(json!({"extract": {"key": "a"}, "sourceRef": {"generatorRef": gen_ref}})),
            ["spec.dataFrom[0]"]
        );
        assert_eq!(df(json!({})), ["spec.dataFrom[0]"]);
        assert_eq!(df(json!({"rewrite": []})), ["spec.dataFrom[0]"]);
        assert_eq!(df(json!({"sourceRef": {}})), ["spec.dataFrom[0].sourceRef"]);
        assert_eq!(
            df(json!({"sourceRef": {"storeRef": {"name": "s"}, "generatorRef": gen_ref}})),
            ["spec.dataFrom[0].sourceRef"]
        );
        assert!(
            df(json!({"extract": {"key": "a"}, "sourceRef": {"storeRef": {"name": "s"}}}))
                .is_empty()
        );
        assert!(df(json!({"find": {"tags": {"a": "b"}}})).is_empty());
        assert!(df(json!({"sourceRef": {"generatorRef": gen_ref}})).is_empty());
        // A storeRef alone passes ESO's webhook (it has nothing to read, but is not rejected).
        assert!(df(json!({"sourceRef": {"storeRef": {"name": "s"}}})).is_empty());
        assert_eq!(
            df(json!({"sourceRef": {"storeRef": {"name": "Bad_Name"}}})),
            ["spec.dataFrom[0].sourceRef.storeRef.name"]
        );
        assert_eq!(
            df(
                json!({"sourceRef": {"generatorRef": {"apiVersion": "v1", "kind": "UUID", "name": "u"}}})
            ),
            ["spec.dataFrom[0].sourceRef.generatorRef.apiVersion"]
        );
    }

    #[test]
    fn find_and_rewrites() {
        let df = |entry: Value| paths(json!({"dataFrom": [entry]}));
        assert_eq!(
            df(json!({"find": {"name": {"regexp": "(unclosed"}}})),
            ["spec.dataFrom[0].find.name.regexp"]
        );
        assert!(df(json!({"find": {"name": {"regexp": "^db-.*$"}}})).is_empty());
        let rw = |rewrite: Value| df(json!({"extract": {"key": "a"}, "rewrite": rewrite}));
        assert_eq!(rw(json!([{}])), ["spec.dataFrom[0].rewrite[0]"]);
        assert_eq!(
            rw(
                json!([{"regexp": {"source": "a", "target": "b"}}, {"regexp": {"source": "a", "target": "b"}, "transform": {"template": "x"}}])
            ),
            ["spec.dataFrom[0].rewrite[1]"]
        );
        assert_eq!(
            rw(json!([{"regexp": {"source": "[", "target": "b"}}])),
            ["spec.dataFrom[0].rewrite[0].regexp.source"]
        );
        assert_eq!(
            rw(json!([{"merge": {"strategy": "JSON"}}])),
            ["spec.dataFrom[0].rewrite[0].merge.into"]
        );
        assert!(rw(json!([{"merge": {"strategy": "JSON", "into": "all"}}, {"transform": {"template": "{{ .value | upper }}"}}])).is_empty());
    }

    #[test]
    fn data_entries() {
        assert_eq!(
            paths(json!({"data": [{"secretKey": "a/b", "remoteRef": {"key": "p"}}]})),
            ["spec.data[0].secretKey"]
        );
        let dup = json!([
            {"secretKey": "k", "remoteRef": {"key": "a"}},
            {"secretKey": "other", "remoteRef": {"key": "b"}},
            {"secretKey": "k", "remoteRef": {"key": "c"}}
        ]);
        assert_eq!(paths(json!({"data": dup})), ["spec.data[2].secretKey"]);
        let e = es(json!({"data": dup})).validate().unwrap_err();
        assert!(e.0[0].message.contains("spec.data[0]"), "{e}");
        for deletion in ["Delete", "Merge"] {
            assert!(paths(json!({"data": dup, "target": {"deletionPolicy": deletion}})).is_empty());
        }
        let src = |sr: Value| {
            paths(json!({"data": [{"secretKey": "k", "remoteRef": {"key": "a"}, "sourceRef": sr}]}))
        };
        assert_eq!(src(json!({})), ["spec.data[0].sourceRef"]);
        assert_eq!(
            src(json!({"storeRef": {"name": "s"}, "generatorRef": {"kind": "UUID", "name": "u"}})),
            ["spec.data[0].sourceRef"]
        );
        assert!(src(json!({"storeRef": {"name": "s", "kind": "ClusterSecretStore"}})).is_empty());
    }

    #[test]
    fn names_and_keys() {
        assert_eq!(
            paths(
                json!({"data": data(), "secretStoreRef": {"name": "Vault"}, "target": {"name": "my_secret"}})
            ),
            ["spec.secretStoreRef.name", "spec.target.name"]
        );
        assert_eq!(
            paths(
                json!({"data": data(), "target": {"template": {"templateFrom": [
                    {"configMap": {"name": "CM", "items": [{"key": "ok"}, {"key": "no/slash"}]}},
                    {"secret": {"name": "s", "items": [{"key": "", "templateAs": "KeysAndValues"}]}}
                ]}}})
            ),
            [
                "spec.target.template.templateFrom[0].configMap.name",
                "spec.target.template.templateFrom[0].configMap.items[1].key",
                "spec.target.template.templateFrom[1].secret.items[0].key"
            ]
        );
    }

    #[test]
    fn sync_windows() {
        let sw = |windows: Value| {
            paths(json!({"data": data(), "syncWindows": {"kind": "allow", "windows": windows}}))
        };
        assert_eq!(sw(json!([])), ["spec.syncWindows.windows"]);
        for ok in [
            "0 22 * * 1-5",
            "@daily",
            "@every 1h",
            "*/5 * * * *",
            "@midnight",
        ] {
            assert!(
                sw(json!([{"schedule": ok, "duration": "1h"}])).is_empty(),
                "{ok}"
            );
        }
        for bad in ["0 22 * *", "@sometimes", "", "0 22 * * 1-5 extra"] {
            assert_eq!(
                sw(json!([{"schedule": bad, "duration": "1h"}])),
                ["spec.syncWindows.windows[0].schedule"],
                "{bad}"
            );
        }
    }

    #[test]
    fn collects_every_error() {
        let got = paths(json!({
            "target": {"name": "BAD", "creationPolicy": "None", "deletionPolicy": "Delete"},
            "dataFrom": [{"extract": {"key": "a"}, "find": {}}, {}]
        }));
        assert_eq!(
            got,
            [
                "spec.target.name",
                "spec.target.deletionPolicy",
                "spec.dataFrom[0]",
                "spec.dataFrom[1]"
            ]
        );
    }

    #[test]
    fn status_round_trips() {
        let doc = json!({
            "apiVersion": "external-secrets.io/v1",
            "kind": "ExternalSecret",
            "metadata": {"name": "es"},
            "spec": {"data": data()},
            "status": {
                "refreshTime": "2026-01-02T03:04:05Z",
                "syncedResourceVersion": "1-abc",
                "binding": {"name": "es"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                    "message": "secret synced", "lastTransitionTime": "2026-01-02T03:04:05Z"}]
            }
        });
        let e: ExternalSecret = serde_json::from_value(doc.clone()).unwrap();
        let status = e.status.as_ref().unwrap();
        assert_eq!(status.binding.as_ref().unwrap().name, "es");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["status"], doc["status"]);
        // Go writes a zero refreshTime as null.
        let e: ExternalSecret = serde_json::from_value(json!({
            "metadata": {"name": "es"}, "spec": {}, "status": {"refreshTime": null, "binding": {}}
        }))
        .unwrap();
        assert_eq!(e.status.unwrap().refresh_time, None);
    }

    #[cfg(feature = "kube")]
    #[test]
    fn crd() {
        use kube::CustomResourceExt;
        let crd = ExternalSecret::crd();
        assert_eq!(crd.spec.group, "external-secrets.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(crd.spec.versions[0].name, "v1");
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&["es".to_owned()][..])
        );
        assert_eq!(
            crd.spec.names.categories.as_deref(),
            Some(&["external-secrets".to_owned()][..])
        );
        assert_eq!(
            crd.spec.versions[0]
                .additional_printer_columns
                .as_ref()
                .map(Vec::len),
            Some(6)
        );
    }
}
