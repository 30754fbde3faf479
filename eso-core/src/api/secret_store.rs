//! `SecretStore` and `ClusterSecretStore` (`external-secrets.io/v1`).
//!
//! Both kinds share one spec shape. `kube::CustomResource` generates exactly one root per spec
//! type, so the cluster-scoped kind gets its own spec type, [`ClusterSecretStoreSpec`], a
//! `#[serde(transparent)]` newtype around [`SecretStoreSpec`]: it serializes, deserializes and
//! (with `kube`) produces a JSON schema identical to `SecretStoreSpec`, and it dereferences to
//! it, so code reads `css.spec.provider` the same way for both kinds. Code that handles either
//! kind uses the [`GenericStore`] trait.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use super::meta::{Condition, SecretStoreKind, SecretStoreRetrySettings};
use super::providers::{
    AwsProvider, AzureKvProvider, FakeProvider, GcpSmProvider, InfisicalProvider,
    KubernetesProvider, OnePasswordProvider, StoreScope, VaultProvider, WebhookProvider,
};
use super::validation::{Validate, ValidationErrors, check_regex, is_dns1123_label};
use super::{EsoResource, LabelSelector};
use crate::GoDuration;

/// Every provider key of ESO v2.9.0's `spec.provider`, in CRD order.
pub const PROVIDER_KEYS: [&str; 43] = [
    "aws",
    "azurekv",
    "akeyless",
    "bitwardensecretsmanager",
    "vault",
    "ovh",
    "gcpsm",
    "oracle",
    "ibm",
    "yandexcertificatemanager",
    "yandexlockbox",
    "github",
    "gitlab",
    "onepassword",
    "onepasswordSDK",
    "webhook",
    "kubernetes",
    "crd",
    "fake",
    "senhasegura",
    "scaleway",
    "doppler",
    "previder",
    "onboardbase",
    "keepersecurity",
    "conjur",
    "delinea",
    "secretserver",
    "chef",
    "pulumi",
    "fortanix",
    "passworddepot",
    "passbolt",
    "dvls",
    "infisical",
    "beyondtrust",
    "beyondtrustworkloadcredentials",
    "cloudrusm",
    "volcengine",
    "ngrok",
    "barbican",
    "nebiusmysterybox",
    "openBao",
];

/// Spec of a `SecretStore` (and, wrapped in [`ClusterSecretStoreSpec`], of a
/// `ClusterSecretStore`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "external-secrets.io",
        version = "v1",
        kind = "SecretStore",
        namespaced,
        status = "SecretStoreStatus",
        derive = "PartialEq",
        shortname = "ss",
        category = "external-secrets"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// Controller class: only an ESO instance started with this class handles the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    // Boxed: the block has a field for every provider ESO knows (about 9 KiB), and stores
    // are decoded deep inside watch streams, where every inline copy costs stack.
    /// The provider block (exactly one provider).
    pub provider: Box<SecretStoreProvider>,
    /// HTTP retry settings for the provider client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<SecretStoreRetrySettings>,
    /// How often the store is re-validated: whole seconds (legacy) or a Go duration string.
    /// Unset or zero means the controller default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<IntOrString>,
    /// Namespaces allowed to use a `ClusterSecretStore` (ignored for a `SecretStore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<ClusterSecretStoreCondition>>,
}

/// Spec of a `ClusterSecretStore`: the same shape as [`SecretStoreSpec`] (transparent newtype;
/// dereferences to it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "kube",
    derive(kube::CustomResource, schemars::JsonSchema),
    kube(
        group = "external-secrets.io",
        version = "v1",
        kind = "ClusterSecretStore",
        status = "SecretStoreStatus",
        derive = "PartialEq",
        shortname = "css",
        category = "external-secrets"
    )
)]
#[serde(transparent)]
pub struct ClusterSecretStoreSpec(pub SecretStoreSpec);

impl Deref for ClusterSecretStoreSpec {
    type Target = SecretStoreSpec;
    fn deref(&self) -> &SecretStoreSpec {
        &self.0
    }
}

impl DerefMut for ClusterSecretStoreSpec {
    fn deref_mut(&mut self) -> &mut SecretStoreSpec {
        &mut self.0
    }
}

impl From<SecretStoreSpec> for ClusterSecretStoreSpec {
    fn from(spec: SecretStoreSpec) -> Self {
        Self(spec)
    }
}

impl From<ClusterSecretStoreSpec> for SecretStoreSpec {
    fn from(spec: ClusterSecretStoreSpec) -> Self {
        spec.0
    }
}

/// One way to admit namespaces to a `ClusterSecretStore`; a namespace is admitted when any
/// condition matches (and all of one condition's set fields match).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreCondition {
    /// Namespaces whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Namespaces whose name matches one of these regular expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_regexes: Option<Vec<String>>,
}

/// What a store can do, as reported in its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub enum SecretStoreCapabilities {
    /// Read only.
    ReadOnly,
    /// Write (push) only.
    WriteOnly,
    /// Read and write.
    ReadWrite,
}

/// Observed state of a store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// Conditions (type `Ready`; reasons `InvalidStoreConfiguration`, `InvalidProviderConfig`,
    /// `ValidationFailed`, `ValidationUnknown`, `Valid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The provider's capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<SecretStoreCapabilities>,
}

/// The `spec.provider` block: typed blocks for the providers eso-rs implements, every other
/// provider key kept verbatim as JSON so the manifest still parses and round-trips.
///
/// # Example
///
/// ```
/// use eso_core::api::SecretStoreProvider;
///
/// let p: SecretStoreProvider = serde_json::from_str(r#"{"doppler":{"auth":{"secretRef":{"dopplerToken":{"name":"t"}}}}}"#).unwrap();
/// assert_eq!(p.kind(), Some("doppler"));
/// assert!(p.other.contains_key("doppler"));
/// assert_eq!(serde_json::to_value(&p).unwrap()["doppler"]["auth"]["secretRef"]["dopplerToken"]["name"], "t");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "kube", derive(schemars::JsonSchema))]
pub struct SecretStoreProvider {
    /// AWS Secrets Manager / Parameter Store / Certificate Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsProvider>,
    /// Azure Key Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azurekv: Option<AzureKvProvider>,
    /// HashiCorp Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultProvider>,
    /// Google Cloud Secret Manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcpsm: Option<GcpSmProvider>,
    /// Kubernetes Secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesProvider>,
    /// Static test data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake: Option<FakeProvider>,
    /// OpenBao (ESO models it as a subset of the Vault fields; the Vault type reads it).
    #[serde(default, rename = "openBao", skip_serializing_if = "Option::is_none")]
    pub open_bao: Option<VaultProvider>,
    /// ESO's generic HTTP provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookProvider>,
    /// Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infisical: Option<InfisicalProvider>,
    /// 1Password, through a 1Password Connect server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onepassword: Option<OnePasswordProvider>,
    /// Every other provider block, by key, as raw JSON.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl SecretStoreProvider {
    /// The provider keys present (typed ones first, then the raw ones in key order).
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = Vec::new();
        if self.aws.is_some() {
            keys.push("aws");
        }
        if self.azurekv.is_some() {
            keys.push("azurekv");
        }
        if self.vault.is_some() {
            keys.push("vault");
        }
        if self.gcpsm.is_some() {
            keys.push("gcpsm");
        }
        if self.kubernetes.is_some() {
            keys.push("kubernetes");
        }
        if self.fake.is_some() {
            keys.push("fake");
        }
        if self.open_bao.is_some() {
            keys.push("openBao");
        }
        if self.webhook.is_some() {
            keys.push("webhook");
        }
        if self.infisical.is_some() {
            keys.push("infisical");
        }
        if self.onepassword.is_some() {
            keys.push("onepassword");
        }
        keys.extend(self.other.keys().map(String::as_str));
        keys
    }

    /// The provider key (e.g. `vault`) when exactly one provider is set.
    pub fn kind(&self) -> Option<&str> {
        match self.keys().as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Validates the block at `path` (normally `spec.provider`) for a store of `scope`:
    /// exactly one known provider, then that provider's own rules.
    pub fn validate_at(&self, scope: StoreScope<'_>, path: &str, errors: &mut ValidationErrors) {
        let keys = self.keys();
        if keys.len() != 1 {
            let found = if keys.is_empty() {
                "none".to_owned()
            } else {
                format!("{} ({})", keys.len(), keys.join(", "))
            };
            errors.push(
                path,
                format!("exactly one provider must be set, found {found}"),
            );
        }
        for (key, value) in &self.other {
            let p = format!("{path}.{key}");
            if !PROVIDER_KEYS.contains(&key.as_str()) {
                errors.push(p, "unknown provider");
            } else if !value.is_object() {
                errors.push(p, "must be an object");
            }
        }
        if let Some(v) = &self.vault {
            v.validate_store(scope, &format!("{path}.vault"), errors);
        }
        if let Some(k) = &self.kubernetes {
            k.validate_store(scope, &format!("{path}.kubernetes"), errors);
        }
        if let Some(a) = &self.aws {
            a.validate_store(scope, &format!("{path}.aws"), errors);
        }
        if let Some(g) = &self.gcpsm {
            g.validate_store(scope, &format!("{path}.gcpsm"), errors);
        }
        if let Some(a) = &self.azurekv {
            a.validate_store(scope, &format!("{path}.azurekv"), errors);
        }
        if let Some(f) = &self.fake {
            f.validate_store(&format!("{path}.fake"), errors);
        }
        if let Some(v) = &self.open_bao {
            v.validate_store(scope, &format!("{path}.openBao"), errors);
        }
        if let Some(w) = &self.webhook {
            w.validate_store(scope, &format!("{path}.webhook"), errors);
        }
        if let Some(i) = &self.infisical {
            i.validate_store(scope, &format!("{path}.infisical"), errors);
        }
        if let Some(o) = &self.onepassword {
            o.validate_store(scope, &format!("{path}.onepassword"), errors);
        }
    }
}

impl SecretStoreSpec {
    /// The refresh interval: `None` when unset (controller default), else whole seconds or the
    /// parsed Go duration. Negative values and unparsable strings are
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) errors at `spec.refreshInterval`.
    pub fn refresh_interval(&self) -> crate::Result<Option<GoDuration>> {
        self.parse_refresh_interval()
            .map_err(|message| crate::Error::invalid_config("spec.refreshInterval", message))
    }

    /// [`SecretStoreSpec::refresh_interval`], with what is wrong as a message.
    fn parse_refresh_interval(&self) -> Result<Option<GoDuration>, String> {
        match &self.refresh_interval {
            None => Ok(None),
            Some(IntOrString::Int(secs)) if *secs < 0 => {
                Err(format!("{secs} must not be negative"))
            }
            Some(IntOrString::Int(secs)) => Ok(Some(GoDuration::from_secs(i64::from(*secs)))),
            Some(IntOrString::String(s)) => match GoDuration::parse(s) {
                Ok(d) if d.is_negative() => Err(format!("{s:?} must not be negative")),
                Ok(d) => Ok(Some(d)),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    /// Applies ESO's admission rules (CRD schema and store webhook) for a store of `scope`.
    pub fn validate_at(&self, scope: StoreScope<'_>, errors: &mut ValidationErrors) {
        for (ci, c) in self.conditions.iter().flatten().enumerate() {
            for (ni, ns) in c.namespaces.iter().flatten().enumerate() {
                if !is_dns1123_label(ns) {
                    errors.push(
                        format!("spec.conditions[{ci}].namespaces[{ni}]"),
                        "must be a DNS-1123 label",
                    );
                }
            }
            for (ri, re) in c.namespace_regexes.iter().flatten().enumerate() {
                check_regex(
                    errors,
                    &format!("spec.conditions[{ci}].namespaceRegexes[{ri}]"),
                    re,
                );
            }
        }
        if let Err(e) = self.parse_refresh_interval() {
            errors.push("spec.refreshInterval", e);
        }
        self.provider.validate_at(scope, "spec.provider", errors);
    }
}

/// Read access common to `SecretStore` and `ClusterSecretStore`.
pub trait GenericStore: EsoResource {
    /// The store kind.
    const STORE_KIND: SecretStoreKind;

    /// The shared spec.
    fn store_spec(&self) -> &SecretStoreSpec;

    /// The status, if any.
    fn store_status(&self) -> Option<&SecretStoreStatus>;

    /// Kind and namespace, for provider validation.
    fn scope(&self) -> StoreScope<'_> {
        StoreScope {
            kind: Self::STORE_KIND,
            namespace: if Self::STORE_KIND == SecretStoreKind::ClusterSecretStore {
                None
            } else {
                self.namespace()
            },
        }
    }
}

super::eso_resource! {
    /// A namespaced store: where ExternalSecrets and PushSecrets of its namespace read and
    /// write secrets.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{SecretStore, Validate};
    ///
    /// let yaml = r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: SecretStore
    /// metadata: {name: vault, namespace: team-a}
    /// spec:
    ///   provider:
    ///     vault:
    ///       server: https://vault.example.com
    ///       path: secret
    ///       auth: {tokenSecretRef: {name: vault-token, key: token}}
    /// "#;
    /// let store: SecretStore = serde_saphyr::from_str(yaml).unwrap();
    /// assert_eq!(store.spec.provider.kind(), Some("vault"));
    /// store.validate().unwrap();
    /// ```
    SecretStore { spec: SecretStoreSpec, status: SecretStoreStatus, api_version: "external-secrets.io/v1",
        kind: "SecretStore", namespaced: true }
}

super::eso_resource! {
    /// A cluster-wide store, usable from every namespace its `conditions` admit.
    ///
    /// # Example
    ///
    /// ```
    /// use eso_core::api::{ClusterSecretStore, Validate};
    ///
    /// let yaml = r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: ClusterSecretStore
    /// metadata: {name: fake}
    /// spec:
    ///   conditions: [{namespaceRegexes: ["^team-.*"]}]
    ///   provider:
    ///     fake:
    ///       data: [{key: /foo, value: bar}]
    /// "#;
    /// let store: ClusterSecretStore = serde_saphyr::from_str(yaml).unwrap();
    /// assert_eq!(store.spec.provider.kind(), Some("fake"));
    /// store.validate().unwrap();
    /// ```
    ClusterSecretStore { spec: ClusterSecretStoreSpec, status: SecretStoreStatus, api_version: "external-secrets.io/v1",
        kind: "ClusterSecretStore", namespaced: false }
}

impl GenericStore for SecretStore {
    const STORE_KIND: SecretStoreKind = SecretStoreKind::SecretStore;
    fn store_spec(&self) -> &SecretStoreSpec {
        &self.spec
    }
    fn store_status(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
}

impl GenericStore for ClusterSecretStore {
    const STORE_KIND: SecretStoreKind = SecretStoreKind::ClusterSecretStore;
    fn store_spec(&self) -> &SecretStoreSpec {
        &self.spec
    }
    fn store_status(&self) -> Option<&SecretStoreStatus> {
        self.status.as_ref()
    }
}

impl Validate for SecretStore {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.spec.validate_at(self.scope(), &mut errors);
        errors.into_result()
    }
}

impl Validate for ClusterSecretStore {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        self.spec.validate_at(self.scope(), &mut errors);
        errors.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(r: Result<(), ValidationErrors>) -> Vec<String> {
        match r {
            Ok(()) => vec![],
            Err(e) => e.errors().iter().map(|e| e.path.clone()).collect(),
        }
    }

    fn ss(v: serde_json::Value) -> SecretStore {
        serde_json::from_value(v).unwrap()
    }

    fn css(v: serde_json::Value) -> ClusterSecretStore {
        serde_json::from_value(v).unwrap()
    }

    fn fake() -> serde_json::Value {
        serde_json::json!({"fake": {"data": [{"key": "a", "value": "b"}]}})
    }

    #[test]
    fn exactly_one_provider() {
        let none = ss(serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": {}}}));
        assert_eq!(paths(none.validate()), ["spec.provider"]);
        let two = ss(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": {
            "fake": {"data": []}, "doppler": {}}}}),
        );
        let err = two.validate().unwrap_err();
        assert_eq!(err.errors()[0].path, "spec.provider");
        assert!(
            err.errors()[0].message.contains("found 2 (fake, doppler)"),
            "{err}"
        );
        assert_eq!(two.spec.provider.kind(), None);
    }

    #[test]
    fn unknown_provider_kept_raw_but_rejected() {
        let raw = serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": {"akeyless": {"akeylessGWApiURL": "https://x", "n": [1, {"a": null}]}}}});
        let s = ss(raw.clone());
        assert_eq!(s.spec.provider.kind(), Some("akeyless"));
        assert!(s.validate().is_ok());
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["spec"]["provider"], raw["spec"]["provider"]);
        assert_eq!(serde_json::from_value::<SecretStore>(back).unwrap(), s);

        let bogus = ss(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": {"nosuch": {}}}}),
        );
        assert_eq!(paths(bogus.validate()), ["spec.provider.nosuch"]);
        let scalar = ss(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": {"doppler": 3}}}),
        );
        assert_eq!(paths(scalar.validate()), ["spec.provider.doppler"]);
    }

    #[test]
    fn refresh_interval_int_or_string() {
        for (v, want) in [
            (serde_json::json!(60), Some(GoDuration::from_secs(60))),
            (serde_json::json!("1h"), Some(GoDuration::from_secs(3600))),
            (serde_json::json!(0), Some(GoDuration::ZERO)),
        ] {
            let s = ss(
                serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": fake(), "refreshInterval": v.clone()}}),
            );
            assert_eq!(s.spec.refresh_interval().unwrap(), want);
            assert_eq!(
                serde_json::to_value(&s).unwrap()["spec"]["refreshInterval"],
                v
            );
        }
        let bad = ss(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": fake(), "refreshInterval": "1d"}}),
        );
        assert_eq!(paths(bad.validate()), ["spec.refreshInterval"]);
        assert!(matches!(
            bad.spec.refresh_interval(),
            Err(crate::Error::InvalidConfig { path, .. }) if path == "spec.refreshInterval"
        ));
        let neg = ss(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": fake(), "refreshInterval": -5}}),
        );
        assert_eq!(paths(neg.validate()), ["spec.refreshInterval"]);
        let neg = ss(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": fake(), "refreshInterval": "-5m"}}),
        );
        assert_eq!(paths(neg.validate()), ["spec.refreshInterval"]);
    }

    #[test]
    fn conditions_rules() {
        let c = css(
            serde_json::json!({"metadata": {"name": "s"}, "spec": {"provider": fake(), "conditions": [
            {"namespaces": ["ok", "Not_OK"]}, {"namespaceRegexes": ["^a.*", "("]}]}}),
        );
        assert_eq!(
            paths(c.validate()),
            [
                "spec.conditions[0].namespaces[1]",
                "spec.conditions[1].namespaceRegexes[1]"
            ]
        );
    }

    #[test]
    fn scope_drives_referent_rules() {
        let spec = serde_json::json!({"provider": {"vault": {"server": "https://v",
            "auth": {"tokenSecretRef": {"name": "t", "key": "k", "namespace": "other"}}}}});
        let s = ss(
            serde_json::json!({"metadata": {"name": "s", "namespace": "mine"}, "spec": spec.clone()}),
        );
        assert_eq!(
            paths(s.validate()),
            ["spec.provider.vault.auth.tokenSecretRef.namespace"]
        );
        let c = css(serde_json::json!({"metadata": {"name": "s"}, "spec": spec}));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn capabilities_enum() {
        let st: SecretStoreStatus =
            serde_json::from_value(serde_json::json!({"capabilities": "ReadWrite"})).unwrap();
        assert_eq!(st.capabilities, Some(SecretStoreCapabilities::ReadWrite));
        assert!(
            serde_json::from_value::<SecretStoreStatus>(serde_json::json!({"capabilities": "All"}))
                .is_err()
        );
    }

    #[test]
    fn cluster_spec_is_transparent() {
        let v = serde_json::json!({"controller": "dev", "provider": fake()});
        let a: SecretStoreSpec = serde_json::from_value(v.clone()).unwrap();
        let b: ClusterSecretStoreSpec = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            serde_json::to_value(&a).unwrap()
        );
        assert_eq!(b.controller.as_deref(), Some("dev"));
        assert_eq!(SecretStoreSpec::from(b), a);
    }

    #[test]
    fn serializes_type_meta() {
        let c = css(serde_json::json!({"metadata": {"name": "x"}, "spec": {"provider": fake()}}));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["apiVersion"], "external-secrets.io/v1");
        assert_eq!(v["kind"], "ClusterSecretStore");
        assert!(v.get("status").is_none());
    }

    #[cfg(feature = "kube")]
    #[test]
    fn crds_share_the_spec_schema() {
        use kube::CustomResourceExt;
        let ss = SecretStore::crd();
        let css = ClusterSecretStore::crd();
        assert_eq!(ss.spec.scope, "Namespaced");
        assert_eq!(css.spec.scope, "Cluster");
        assert_eq!(
            ss.spec.names.short_names.as_deref(),
            Some(&["ss".to_owned()][..])
        );
        assert_eq!(
            css.spec.names.short_names.as_deref(),
            Some(&["css".to_owned()][..])
        );
        let spec_schema = |crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
            let v = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
            let mut spec = v["openAPIV3Schema"]["properties"]["spec"].clone();
            // Only the top-level description (the spec type's doc) differs.
            spec.as_object_mut().unwrap().remove("description");
            spec
        };
        let a = spec_schema(&ss);
        let provider = &a["properties"]["provider"];
        assert_eq!(provider["x-kubernetes-preserve-unknown-fields"], true);
        assert!(provider["properties"]["vault"].is_object());
        assert!(
            a == spec_schema(&css),
            "SecretStore and ClusterSecretStore spec schemas differ"
        );
    }
}
