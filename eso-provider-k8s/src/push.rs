//! Pushes and deletes on the remote cluster, and what a push writes: the remote Secret's
//! data, type, labels and annotations, computed as ESO's Kubernetes provider does
//! (`PushSecretMetadata` with `sourceMergePolicy` / `targetMergePolicy`), plus this crate's
//! ownership label. A Secret without that label is never overwritten nor deleted
//! ([`Error::NotManaged`]).

use std::collections::BTreeMap;

use eso_core::provider::{PushRef, PushValue, SourceMetadata, StoreScope, property};
use eso_core::{Error, Result, SecretMap};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, PostParams};
use serde::Deserialize;

use crate::error::{api_error, is_status};
use crate::provider::{
    Kubernetes, MANAGED_BY_LABEL, MANAGED_BY_VALUE, PROVIDER_FIELD_MANAGER, data_of,
};

type StringMap = BTreeMap<String, String>;

/// How the source Secret's labels and annotations combine with the metadata's
/// (`sourceMergePolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SourcePolicy {
    /// The source's, with the metadata's on top (ESO's default).
    #[default]
    Merge,
    /// The metadata's only.
    Replace,
}

/// How the result combines with the remote Secret's own labels and annotations
/// (`targetMergePolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum TargetPolicy {
    /// The remote's, with the source's on top (ESO's default).
    #[default]
    Merge,
    /// The source's only.
    Replace,
    /// The remote's, unchanged.
    Ignore,
}

/// `spec.data[].metadata.spec` of a PushSecret for this provider, typed.
#[derive(Debug, Default)]
pub(crate) struct PushMetadata {
    pub(crate) labels: StringMap,
    pub(crate) annotations: StringMap,
    pub(crate) source_policy: SourcePolicy,
    pub(crate) target_policy: TargetPolicy,
    pub(crate) remote_namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    labels: StringMap,
    #[serde(default)]
    annotations: StringMap,
    #[serde(default)]
    source_merge_policy: Option<String>,
    #[serde(default)]
    target_merge_policy: Option<String>,
    #[serde(default)]
    remote_namespace: Option<String>,
}

impl PushMetadata {
    /// Parses a push's metadata; `scope` is the store's (`remoteNamespace` is for
    /// ClusterSecretStores only). Errors name the field.
    pub(crate) fn parse(r: &PushRef, scope: StoreScope) -> Result<Self> {
        // The one PushSecretMetadata parser (errors name `spec.data[].metadata.spec`).
        let Some(spec) = r.metadata_spec::<RawSpec>()? else {
            return Ok(Self::default());
        };
        let field = |name: &str| format!("spec.data[].metadata.spec.{name}");
        let unknown = |name: &str, p: &str, allowed: &str| {
            Error::invalid_config(
                field(name),
                format!("unknown merge policy {p:?} (one of {allowed})"),
            )
        };
        let source_policy = match spec.source_merge_policy.as_deref().unwrap_or_default() {
            "" | "Merge" => SourcePolicy::Merge,
            "Replace" => SourcePolicy::Replace,
            p => return Err(unknown("sourceMergePolicy", p, "Merge, Replace")),
        };
        let target_policy = match spec.target_merge_policy.as_deref().unwrap_or_default() {
            "" | "Merge" => TargetPolicy::Merge,
            "Replace" => TargetPolicy::Replace,
            "Ignore" => TargetPolicy::Ignore,
            p => return Err(unknown("targetMergePolicy", p, "Merge, Replace, Ignore")),
        };
        let remote_namespace = spec.remote_namespace.filter(|n| !n.is_empty());
        if remote_namespace.is_some() && scope != StoreScope::Cluster {
            return Err(Error::invalid_config(
                field("remoteNamespace"),
                "may only be set for a ClusterSecretStore",
            ));
        }
        Ok(Self {
            labels: spec.labels,
            annotations: spec.annotations,
            source_policy,
            target_policy,
            remote_namespace,
        })
    }

    /// The remote Secret's labels and annotations after a push of `source` over `existing`:
    /// first the source's metadata combined with this metadata (`sourceMergePolicy`), then
    /// that combined with the remote Secret's (`targetMergePolicy`); the ownership label is
    /// always set.
    pub(crate) fn remote_metadata(
        &self,
        source: &SourceMetadata,
        existing: Option<&Secret>,
    ) -> (StringMap, StringMap) {
        let from_source = |own: &StringMap, extra: &StringMap| match self.source_policy {
            SourcePolicy::Merge => merged(own, extra),
            SourcePolicy::Replace => extra.clone(),
        };
        let src_labels = from_source(&source.labels, &self.labels);
        let src_annotations = from_source(&source.annotations, &self.annotations);
        let remote = |m: Option<&StringMap>| m.cloned().unwrap_or_default();
        let old_labels = remote(existing.and_then(|s| s.metadata.labels.as_ref()));
        let old_annotations = remote(existing.and_then(|s| s.metadata.annotations.as_ref()));
        let onto_target = |old: StringMap, src: StringMap| match self.target_policy {
            TargetPolicy::Merge => merged(&old, &src),
            TargetPolicy::Replace => src,
            TargetPolicy::Ignore => old,
        };
        let mut labels = onto_target(old_labels, src_labels);
        labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned());
        (labels, onto_target(old_annotations, src_annotations))
    }
}

/// `base` with `over` on top.
fn merged(base: &StringMap, over: &StringMap) -> StringMap {
    let mut out = base.clone();
    out.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The remote Secret's data after pushing `value` per `r` over `existing` data: a whole
/// Secret replaces the data; a property sets one key (a whole Secret as a JSON object).
pub(crate) fn remote_data(
    value: &PushValue,
    r: &PushRef,
    mut data: SecretMap,
) -> Result<SecretMap> {
    match (value, r.property()) {
        (PushValue::Map(m), None) => Ok(m.clone()),
        (PushValue::Map(m), Some(p)) => {
            data.insert(p.to_owned(), PushValue::Map(m.clone()).to_bytes()?);
            Ok(data)
        }
        (PushValue::Single(v), Some(p)) => {
            data.insert(p.to_owned(), v.clone());
            Ok(data)
        }
        (PushValue::Single(_), None) if r.secret_key.is_some() => Err(Error::invalid_config(
            "spec.data[].match.remoteRef.property",
            "requires property in RemoteRef to push secret value if secret key is defined",
        )),
        (PushValue::Single(v), None) => {
            // A whole JSON object: one data key per top-level field.
            property::json_to_map(v, &r.remote_key).map_err(|_| {
                Error::invalid_config(
                    "spec.data[].match.remoteRef.property",
                    "a single value without a property must be a JSON object",
                )
            })
        }
        (_, _) => Err(Error::not_supported("this kind of push value")),
    }
}

impl Kubernetes {
    pub(crate) fn push_metadata(&self, r: &PushRef) -> Result<PushMetadata> {
        PushMetadata::parse(r, self.inner.creds.scope())
    }

    /// Writes `value` to the remote Secret (see [`Kubernetes`] for what it keeps).
    pub(crate) async fn push(&self, value: &PushValue, r: &PushRef) -> Result<()> {
        let meta = self.push_metadata(r)?;
        let ns = meta
            .remote_namespace
            .clone()
            .unwrap_or_else(|| self.namespace().to_owned());
        let name = &r.remote_key;
        let type_ = r.source.secret_type();
        let existing = self.get(&ns, name).await?;
        if existing.as_ref().is_some_and(|s| !is_owned(s)) {
            return Err(r.not_managed());
        }
        let data = remote_data(value, r, existing.as_ref().map(data_of).unwrap_or_default())?;
        let (labels, annotations) = meta.remote_metadata(&r.source, existing.as_ref());
        let new_data: BTreeMap<String, ByteString> = data
            .iter()
            .map(|(k, v)| (k.clone(), ByteString(v.expose().to_vec())))
            .collect();
        let old_type = existing
            .as_ref()
            .map(|s| s.type_.as_deref().unwrap_or("Opaque"));
        let mut obj = existing.clone().unwrap_or_default();
        if old_type == Some(type_)
            && obj.data.as_ref().is_some_and(|d| *d == new_data)
            && obj.metadata.labels.as_ref() == Some(&labels)
            && obj.metadata.annotations.clone().unwrap_or_default() == annotations
        {
            return Ok(());
        }
        obj.metadata.name = Some(name.clone());
        obj.metadata.namespace = Some(ns.clone());
        obj.metadata.labels = Some(labels);
        obj.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
        obj.metadata.managed_fields = None;
        obj.data = Some(new_data);
        obj.string_data = None;
        obj.type_ = Some(type_.to_owned());
        let pp = PostParams {
            dry_run: false,
            field_manager: Some(PROVIDER_FIELD_MANAGER.to_owned()),
        };
        let api = self.api(&ns).await?;
        let r = match old_type {
            // A Secret's type cannot change: ours is deleted (only the version we read) and
            // created again with the new type.
            Some(old) if old != type_ => self.recreate(&api, &ns, obj, &pp).await,
            Some(_) => api
                .replace(name, &pp, &obj)
                .await
                .map(|_| ())
                .map_err(|e| api_error(&format!("update Secret {ns}/{name}"), e)),
            None => api
                .create(&pp, &obj)
                .await
                .map(|_| ())
                .map_err(|e| api_error(&format!("create Secret {ns}/{name}"), e)),
        };
        self.observe(r).await
    }

    /// Deletes the remote Secret, or one key of it (the Secret goes with its last key).
    pub(crate) async fn delete(&self, r: &PushRef) -> Result<()> {
        let meta = self.push_metadata(r)?;
        let ns = meta
            .remote_namespace
            .clone()
            .unwrap_or_else(|| self.namespace().to_owned());
        let name = &r.remote_key;
        let Some(mut s) = self.get(&ns, name).await? else {
            return Ok(());
        };
        if !is_owned(&s) {
            return Err(r.not_managed());
        }
        let api = self.api(&ns).await?;
        if let Some(p) = r.property() {
            let data = s.data.get_or_insert_with(BTreeMap::new);
            if data.remove(p).is_none() {
                return Ok(());
            }
            if !data.is_empty() {
                s.metadata.managed_fields = None;
                let pp = PostParams {
                    dry_run: false,
                    field_manager: Some(PROVIDER_FIELD_MANAGER.to_owned()),
                };
                let r = api
                    .replace(name, &pp, &s)
                    .await
                    .map(|_| ())
                    .map_err(|e| api_error(&format!("update Secret {ns}/{name}"), e));
                return self.observe(r).await;
            }
        }
        let r = match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            Err(e) => Err(api_error(&format!("delete Secret {ns}/{name}"), e)),
        };
        self.observe(r).await
    }
}

/// Whether the remote Secret carries our ownership label.
pub(crate) fn is_owned(s: &Secret) -> bool {
    s.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> StringMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse(spec: serde_json::Value) -> Result<PushMetadata> {
        let r = PushRef::new("k").with_metadata(json!({"spec": spec}));
        PushMetadata::parse(&r, StoreScope::Namespaced)
    }

    fn remote(labels: &[(&str, &str)]) -> Secret {
        let mut s = Secret::default();
        s.metadata.labels = Some(map(labels));
        s
    }

    #[test]
    fn source_and_target_policies_as_eso() {
        let source = SourceMetadata::new("kubernetes.io/tls")
            .with_label("app", "web")
            .with_label("tier", "src")
            .with_annotation("a", "src");
        let existing = remote(&[("tier", "remote"), ("keep", "1")]);
        let with = |spec| {
            parse(spec)
                .unwrap()
                .remote_metadata(&source, Some(&existing))
        };

        // Defaults: source over remote, metadata over source.
        let (l, a) = with(json!({"labels": {"tier": "meta"}}));
        assert_eq!(
            l,
            map(&[
                ("app", "web"),
                ("keep", "1"),
                ("tier", "meta"),
                (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
            ])
        );
        assert_eq!(a, map(&[("a", "src")]));
        // sourceMergePolicy Replace: the source's own labels are dropped.
        let (l, a) = with(json!({"labels": {"x": "1"}, "sourceMergePolicy": "Replace"}));
        assert_eq!(
            l,
            map(&[
                ("keep", "1"),
                ("tier", "remote"),
                ("x", "1"),
                (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
            ])
        );
        assert!(a.is_empty());
        // targetMergePolicy Replace: the remote's are dropped.
        let (l, _) = with(json!({"targetMergePolicy": "Replace"}));
        assert_eq!(
            l,
            map(&[
                ("app", "web"),
                ("tier", "src"),
                (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
            ])
        );
        // targetMergePolicy Ignore: the remote's stay as they are.
        let (l, a) = with(json!({"labels": {"x": "1"}, "targetMergePolicy": "Ignore"}));
        assert_eq!(
            l,
            map(&[
                ("keep", "1"),
                ("tier", "remote"),
                (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
            ])
        );
        assert!(a.is_empty());
        // No metadata at all: the source's labels on a new Secret.
        let (l, _) = PushMetadata::default().remote_metadata(&source, None);
        assert_eq!(l["app"], "web");
    }

    #[test]
    fn bad_policies_name_the_field() {
        let e = parse(json!({"sourceMergePolicy": "Both"})).unwrap_err();
        assert!(e.to_string().contains("spec.sourceMergePolicy"), "{e}");
        let e = parse(json!({"targetMergePolicy": "Sometimes"})).unwrap_err();
        assert!(e.to_string().contains("spec.targetMergePolicy"), "{e}");
        assert!(parse(json!({"sourceMergePolicy": ""})).is_ok());
        let e = parse(json!({"remoteNamespace": "other"})).unwrap_err();
        assert!(e.to_string().contains("ClusterSecretStore"), "{e}");
    }
}
