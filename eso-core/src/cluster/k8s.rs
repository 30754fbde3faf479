//! The one conversion between the flows' Secret ([`KubeSecret`]) and a k8s-openapi
//! [`Secret`]: `eso_kube::KubeCluster`, `esoctl` (manifests in files) and the examples all go
//! through these two functions. It needs nothing but k8s-openapi, so it lives here rather than
//! in the host crate: a program that only prints or reads Secret manifests does not pull a kube
//! client.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::{KubeSecret, ManagedKeys, OwnerRef};
use crate::SecretValue;

/// A k8s-openapi Secret as the flows see it.
///
/// A missing `type` reads as `Opaque`; `stringData` (write-only on the server, but present in
/// manifests) is merged over `data`, as the API server does.
///
/// # Example
///
/// ```
/// use k8s_openapi::api::core::v1::Secret;
///
/// let secret: Secret = serde_json::from_value(serde_json::json!({
///     "metadata": {"name": "db", "namespace": "default"},
///     "data": {"user": "YXBw"},
///     "stringData": {"password": "hunter2"},
/// })).unwrap();
/// let s = eso_core::cluster::secret_from_kube(secret);
/// assert_eq!((s.type_.as_str(), s.data["user"].expose()), ("Opaque", &b"app"[..]));
/// assert_eq!(s.data["password"].expose(), b"hunter2");
/// ```
pub fn secret_from_kube(s: Secret) -> KubeSecret {
    let meta = s.metadata;
    let mut out = KubeSecret::new(
        meta.namespace.unwrap_or_default(),
        meta.name.unwrap_or_default(),
    );
    out.type_ = s.type_.unwrap_or_else(|| "Opaque".to_owned());
    out.labels = meta.labels.unwrap_or_default();
    out.annotations = meta.annotations.unwrap_or_default();
    out.owner_references = meta
        .owner_references
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            let mut r = OwnerRef::controller(o.api_version, o.kind, o.name, o.uid);
            r.controller = o.controller.unwrap_or(false);
            r.block_owner_deletion = o.block_owner_deletion.unwrap_or(false);
            r
        })
        .collect();
    out.immutable = s.immutable.unwrap_or(false);
    out.data = s
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, SecretValue::new(v.0)))
        .collect();
    // stringData is write-only on the server; a Secret read back never carries it, but an
    // object built by a caller might.
    for (k, v) in s.string_data.unwrap_or_default() {
        out.data.insert(k, SecretValue::from(v.as_str()));
    }
    out.resource_version = meta.resource_version.unwrap_or_default();
    out.uid = meta.uid.unwrap_or_default();
    for entry in meta.managed_fields.unwrap_or_default() {
        let (Some(manager), Some(fields)) = (entry.manager, entry.fields_v1) else {
            continue;
        };
        out.managed_fields
            .entry(manager)
            .or_default()
            .extend(managed_keys(&fields.0));
    }
    out
}

/// The data keys, labels and annotations a `fieldsV1` entry of `managedFields` names
/// (`{"f:data": {"f:k": {}}, "f:metadata": {"f:labels": {"f:l": {}}, ...}}`).
fn managed_keys(fields: &serde_json::Value) -> ManagedKeys {
    let keys = |v: Option<&serde_json::Value>| -> BTreeSet<String> {
        v.and_then(serde_json::Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("f:").map(str::to_owned))
            .collect()
    };
    let meta = fields.get("f:metadata");
    ManagedKeys {
        data: keys(fields.get("f:data")),
        labels: keys(meta.and_then(|m| m.get("f:labels"))),
        annotations: keys(meta.and_then(|m| m.get("f:annotations"))),
    }
}

/// The k8s-openapi Secret for a flow's Secret (empty label, annotation and owner lists are
/// left out; an empty `resourceVersion` or `uid` too, so the result can be created).
///
/// # Example
///
/// ```
/// use eso_core::cluster::KubeSecret;
///
/// let s = KubeSecret::new("default", "db").with_data("password", "hunter2");
/// let secret = eso_core::cluster::secret_to_kube(&s);
/// assert_eq!(secret.type_.as_deref(), Some("Opaque"));
/// assert_eq!(eso_core::cluster::secret_from_kube(secret), s);
/// ```
pub fn secret_to_kube(s: &KubeSecret) -> Secret {
    let non_empty = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| m.clone());
    Secret {
        metadata: ObjectMeta {
            namespace: Some(s.namespace.clone()),
            name: Some(s.name.clone()),
            labels: non_empty(&s.labels),
            annotations: non_empty(&s.annotations),
            owner_references: (!s.owner_references.is_empty()).then(|| {
                s.owner_references
                    .iter()
                    .map(|o| OwnerReference {
                        api_version: o.api_version.clone(),
                        kind: o.kind.clone(),
                        name: o.name.clone(),
                        uid: o.uid.clone(),
                        controller: Some(o.controller),
                        block_owner_deletion: Some(o.block_owner_deletion),
                    })
                    .collect()
            }),
            resource_version: Some(s.resource_version.clone()).filter(|v| !v.is_empty()),
            uid: Some(s.uid.clone()).filter(|v| !v.is_empty()),
            ..ObjectMeta::default()
        },
        type_: Some(if s.type_.is_empty() {
            "Opaque".to_owned()
        } else {
            s.type_.clone()
        }),
        immutable: s.immutable.then_some(true),
        data: Some(
            s.data
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.expose().to_vec())))
                .collect(),
        ),
        string_data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trip() {
        let mut s = KubeSecret::new("ns", "db")
            .with_data("k", "v")
            .with_label("l", "1")
            .with_annotation("a", "2")
            .with_type("kubernetes.io/basic-auth");
        s.immutable = true;
        s.owner_references
            .push(OwnerRef::controller("v1", "ExternalSecret", "es", "uid-1"));
        s.resource_version = "7".into();
        assert_eq!(secret_from_kube(secret_to_kube(&s)), s);
    }

    #[test]
    fn managed_fields_by_manager() {
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "s", "namespace": "ns", "managedFields": [
                {"manager": "externalsecrets.external-secrets.io/es", "operation": "Update",
                 "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:data": {".": {}, "f:a": {}, "f:b": {}},
                    "f:metadata": {"f:labels": {".": {}, "f:l": {}},
                                   "f:annotations": {"f:n": {}}}}},
                {"manager": "externalsecrets.external-secrets.io/es", "operation": "Apply",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:c": {}}}},
                {"manager": "kubectl", "operation": "Update",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:d": {}}, "f:type": {}}}
            ]},
        }))
        .unwrap();
        let s = secret_from_kube(secret);
        let es = &s.managed_fields["externalsecrets.external-secrets.io/es"];
        assert_eq!(es.data.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(es.labels.iter().collect::<Vec<_>>(), ["l"]);
        assert_eq!(es.annotations.iter().collect::<Vec<_>>(), ["n"]);
        assert_eq!(
            s.managed_fields["kubectl"].data.iter().collect::<Vec<_>>(),
            ["d"]
        );
    }
}
