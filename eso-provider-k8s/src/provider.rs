//! [`Kubernetes`]: the `kubernetes` provider, Secrets of a (possibly remote) cluster.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use crate::error::api_error;
use async_trait::async_trait;
use eso_core::api::KubernetesProvider;
use eso_core::provider::{
    Capabilities, Credentials, FindRef, MetadataPolicy, Provider, PushRef, PushValue, RemoteRef,
    Validation, property,
};
use eso_core::{Error, Result, SecretMap, SecretValue};
use k8s_openapi::api::authorization::v1::{SelfSubjectRulesReview, SelfSubjectRulesReviewSpec};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// The label this provider puts on every Secret it creates in the remote cluster. A Secret
/// without it is never overwritten or deleted; add it by hand to let a store adopt one.
pub const MANAGED_BY_LABEL: &str = "external-secrets.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "external-secrets";
/// The field manager of the provider's writes in the remote cluster.
pub const PROVIDER_FIELD_MANAGER: &str = "external-secrets-provider";

/// What the provider supports (no versions: Kubernetes Secrets have none).
pub(crate) const CAPABILITIES: Capabilities = {
    let mut c = Capabilities::ALL;
    c.versions = false;
    c
};

/// A Secret's data as a map.
pub(crate) fn data_of(s: &Secret) -> SecretMap {
    s.data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), SecretValue::new(v.0.clone())))
        .collect()
}

/// Reads and writes Secrets of one namespace (`remoteNamespace`) of a Kubernetes cluster.
///
/// Built by [`KubernetesFactory`](crate::KubernetesFactory) from a store's
/// `spec.provider.kubernetes`. The client is created on first use and re-created after the
/// server was unreachable or refused the credentials, so a store whose cluster (or
/// kubeconfig Secret) does not exist yet starts working as soon as it does; until then every
/// call fails with a temporary [`Error::Unavailable`].
///
/// Reads follow ESO: without a property a Secret reads as a JSON object of its (UTF-8) values;
/// a property is a data key, else `<key>.<json path>` into that key's JSON value;
/// `MetadataPolicy::Fetch` reads `{"labels": .., "annotations": ..}`.
///
/// Pushes write the source Secret's type (`kubernetes.io/tls`, `kubernetes.io/dockerconfigjson`,
/// ...; [`PushRef::source`]) and carry its labels and annotations over as ESO does: combined
/// with `PushSecretMetadata` labels and annotations per `sourceMergePolicy`, then with the
/// remote Secret's per `targetMergePolicy`. A Secret's type is immutable, so when it changes
/// the remote Secret is deleted (exactly the version read) and created again.
///
/// Unlike ESO, pushes and deletes only touch Secrets carrying [`MANAGED_BY_LABEL`]: a push
/// over any other Secret, or a delete of one, leaves it as it is and fails with
/// [`Error::NotManaged`]. Label a Secret `external-secrets.io/managed-by=external-secrets` to
/// let stores manage it.
///
/// # Example
///
/// ```no_run
/// use std::sync::Arc;
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::provider::{ProviderFactory, RemoteRef, StoreContext, StoreIdentity, StoreScope};
/// use eso_provider_k8s::KubernetesFactory;
///
/// # async fn run() -> eso_core::Result<()> {
/// // The local cluster holds the kubeconfig of the remote one.
/// let local: DynCluster = Arc::new(MemoryCluster::new().with_secret(
///     KubeSecret::new("default", "child-kubeconfig").with_data("value", "apiVersion: v1 ..."),
/// ));
/// let spec = serde_json::json!({"authRef": {"name": "child-kubeconfig", "key": "value"},
///                               "remoteNamespace": "apps"});
/// let store = StoreIdentity::new(StoreScope::Namespaced, "default", "child");
/// let spec: eso_core::api::SecretStoreProvider =
///     serde_json::from_value(serde_json::json!({"kubernetes": spec})).expect("a kubernetes block");
/// let provider = KubernetesFactory::new()
///     .new_provider(&StoreContext::new(&store, &spec, "default", &local))
///     .await?;
/// let password = provider.get_secret(&RemoteRef::new("db").with_property("password")).await?;
/// # let _ = password;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Kubernetes {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) spec: KubernetesProvider,
    pub(crate) creds: Credentials,
    pub(crate) field: String,
    pub(crate) client: Mutex<Option<(kube::Client, Instant)>>,
}

impl fmt::Debug for Kubernetes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kubernetes")
            .field("server", &self.inner.spec.server_url())
            .field("remote_namespace", &self.inner.spec.remote_namespace)
            .field("auth_ref", &self.inner.spec.auth_ref.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Kubernetes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kubernetes {} namespace {}",
            self.inner.spec.server_url(),
            self.inner.spec.remote_namespace
        )
    }
}

impl Kubernetes {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// The whole Secret as ESO renders it: a JSON object of its values as strings.
fn whole_json(data: &SecretMap) -> Result<SecretValue> {
    let obj: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                Value::String(String::from_utf8_lossy(v.expose()).into_owned()),
            )
        })
        .collect();
    serde_json::to_vec(&obj)
        .map(SecretValue::new)
        .map_err(|e| Error::Conversion(e.to_string()))
}

/// A property of a Secret's data: the exact key, else `<key>.<json path>` split at the first dot.
fn data_property(data: &SecretMap, name: &str, prop: &str) -> Result<SecretValue> {
    if let Some(v) = data.get(prop) {
        return Ok(v.clone());
    }
    let missing = || Error::not_found(format!("{name}#{prop}"));
    let (key, path) = prop.split_once('.').ok_or_else(missing)?;
    let v = data.get(key).ok_or_else(missing)?;
    property::extract(v, name, path)
}

fn metadata_json(s: &Secret) -> Value {
    json!({
        "labels": s.metadata.labels.clone().unwrap_or_default(),
        "annotations": s.metadata.annotations.clone().unwrap_or_default(),
    })
}

/// A property of the metadata: `labels`, `annotations`, `labels.<k>`, `annotations.<k>`, or a
/// bare label (then annotation) key.
fn metadata_property(s: &Secret, name: &str, prop: &str) -> Result<SecretValue> {
    let doc = metadata_json(s);
    if let Some(v) = doc.get(prop) {
        return Ok(SecretValue::new(v.to_string().into_bytes()));
    }
    for section in ["labels", "annotations"] {
        if let Some(k) = prop.strip_prefix(section).and_then(|r| r.strip_prefix('.'))
            && let Some(v) = doc[section].get(k)
        {
            return Ok(SecretValue::new(property::value_to_bytes(v)));
        }
    }
    for section in ["labels", "annotations"] {
        if let Some(v) = doc[section].get(prop) {
            return Ok(SecretValue::new(property::value_to_bytes(v)));
        }
    }
    Err(Error::not_found(format!("{name}#{prop}")))
}

#[async_trait]
impl Provider for Kubernetes {
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
        let s = self.must_get(&r.key).await?;
        match (r.metadata_policy, r.property()) {
            (MetadataPolicy::Fetch, None) => {
                Ok(SecretValue::new(metadata_json(&s).to_string().into_bytes()))
            }
            (MetadataPolicy::Fetch, Some(p)) => metadata_property(&s, &r.key, p),
            (_, None) => whole_json(&data_of(&s)),
            (_, Some(p)) => data_property(&data_of(&s), &r.key, p),
        }
    }

    async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
        let s = self.must_get(&r.key).await?;
        if r.metadata_policy == MetadataPolicy::Fetch {
            let doc = metadata_json(&s);
            let v = match r.property() {
                Some(p) => SecretValue::new(
                    property::get(&doc, p)
                        .ok_or_else(|| Error::not_found(format!("{}#{p}", r.key)))?
                        .to_string()
                        .into_bytes(),
                ),
                None => SecretValue::new(doc.to_string().into_bytes()),
            };
            return property::json_to_map(&v, &r.key);
        }
        let data = data_of(&s);
        match r.property() {
            None => Ok(data),
            Some(p) => {
                let v = data_property(&data, &r.key, p)?;
                property::json_to_map(&v, &r.key)
            }
        }
    }

    async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
        let sel: Vec<String> = find.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let lp = if sel.is_empty() {
            ListParams::default()
        } else {
            ListParams::default().labels(&sel.join(","))
        };
        let ns = self.namespace().to_owned();
        let r = match self.api(&ns).await {
            Ok(api) => api
                .list(&lp)
                .await
                .map_err(|e| api_error(&format!("list Secrets in {ns}"), e)),
            Err(e) => Err(e),
        };
        let list = self.observe(r).await?;
        let mut out = SecretMap::new();
        for s in list.items {
            let name = s.metadata.name.clone().unwrap_or_default();
            if find.matches_name(&name) && find.matches_path(&name) {
                out.insert(name, whole_json(&data_of(&s))?);
            }
        }
        Ok(out)
    }

    async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        self.push(value, r).await
    }

    async fn delete_secret(&self, r: &PushRef) -> Result<()> {
        self.delete(r).await
    }

    async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
        let meta = self.push_metadata(r)?;
        let ns = meta
            .remote_namespace
            .clone()
            .unwrap_or_else(|| self.namespace().to_owned());
        let Some(s) = self.get(&ns, &r.remote_key).await? else {
            return Ok(false);
        };
        Ok(match r.property() {
            None => true,
            Some(p) => s.data.as_ref().is_some_and(|d| d.contains_key(p)),
        })
    }

    async fn validate(&self) -> Result<Validation> {
        let ns = self.namespace().to_owned();
        let review = SelfSubjectRulesReview {
            spec: SelfSubjectRulesReviewSpec {
                namespace: Some(ns.clone()),
            },
            ..SelfSubjectRulesReview::default()
        };
        let r = match self.client().await {
            Ok(c) => {
                let api: Api<SelfSubjectRulesReview> = Api::all(c);
                api.create(&PostParams::default(), &review)
                    .await
                    .map_err(|e| api_error("create SelfSubjectRulesReview", e))
            }
            Err(e) => Err(e),
        };
        let review = self.observe(r).await?;
        let Some(status) = review.status else {
            return Ok(Validation::Unknown);
        };
        let any = |v: &[String], want: &str| v.iter().any(|x| x == want || x == "*");
        let allowed = status.resource_rules.iter().any(|rule| {
            any(&rule.verbs, "get")
                && any(rule.api_groups.as_deref().unwrap_or_default(), "")
                && any(rule.resources.as_deref().unwrap_or_default(), "secrets")
        });
        if allowed {
            Ok(Validation::Ready)
        } else if status.incomplete {
            Ok(Validation::Unknown)
        } else {
            Err(Error::PermissionDenied {
                message: format!(
                    "{}: the credentials may not get Secrets in namespace {ns}",
                    self.inner.field
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::provider::StoreScope;

    fn map(pairs: &[(&str, &str)]) -> SecretMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretValue::from(*v)))
            .collect()
    }

    #[test]
    fn properties() {
        let d = map(&[("a.b", "exact"), ("a", r#"{"b": {"c": 1}}"#), ("u", "x")]);
        assert_eq!(data_property(&d, "s", "a.b").unwrap().expose(), b"exact");
        assert_eq!(data_property(&d, "s", "a.b.c").unwrap().expose(), b"1");
        assert!(data_property(&d, "s", "nope").unwrap_err().is_not_found());
        assert!(data_property(&d, "s", "u.x").is_err());
        let whole = whole_json(&map(&[("k", "v")])).unwrap();
        assert_eq!(whole.expose(), br#"{"k":"v"}"#);
    }

    #[test]
    fn debug_hides_credentials() {
        let spec: KubernetesProvider = serde_json::from_value(serde_json::json!({
            "server": {"url": "https://child:6443", "caBundle": "not-secret-but-long"},
            "auth": {"token": {"bearerToken": {"name": "tok", "key": "token"}}}
        }))
        .unwrap();
        let k = Kubernetes::from_inner(Inner {
            spec,
            creds: Credentials::new(
                std::sync::Arc::new(eso_core::cluster::MemoryCluster::new()),
                "default",
                StoreScope::Namespaced,
            ),
            field: "spec.provider.kubernetes".into(),
            client: Mutex::new(None),
        });
        let dbg = format!("{k:?}");
        assert!(dbg.contains("https://child:6443"), "{dbg}");
        assert!(!dbg.contains("not-secret-but-long"), "{dbg}");
        assert_eq!(
            k.to_string(),
            "kubernetes https://child:6443 namespace default"
        );
    }

    #[test]
    fn metadata_properties() {
        let mut s = Secret::default();
        s.metadata.labels = Some([("team".to_owned(), "a".to_owned())].into());
        s.metadata.annotations = Some([("note".to_owned(), "n".to_owned())].into());
        assert_eq!(
            metadata_property(&s, "x", "labels.team").unwrap().expose(),
            b"a"
        );
        assert_eq!(metadata_property(&s, "x", "note").unwrap().expose(), b"n");
        assert_eq!(
            metadata_property(&s, "x", "labels").unwrap().expose(),
            br#"{"team":"a"}"#
        );
        assert!(
            metadata_property(&s, "x", "nope")
                .unwrap_err()
                .is_not_found()
        );
    }
}
