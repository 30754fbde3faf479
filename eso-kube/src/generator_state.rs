//! Generator states as `generators.external-secrets.io/v1alpha1` `GeneratorState` objects:
//! the [`KubeCluster`](crate::KubeCluster) side of
//! [`Cluster::create_generator_state`](eso_core::cluster::Cluster::create_generator_state)
//! and its siblings.
//!
//! An object looks as ESO writes it: `generateName: gen-<consumer kind>-<consumer name>-`,
//! the `generators.external-secrets.io/owner-key` label, an owner reference to the consumer,
//! ESO's finalizer (so a garbage collector that removes the consumer leaves the state until
//! its cleanup ran), `spec.resource` (the generator manifest), `spec.state` and
//! `spec.garbageCollectionDeadline`. One addition: the annotation [`ANNOTATION_CREATED_AT`]
//! orders the states of one entry below the second (`creationTimestamp` has whole seconds).

use eso_core::api::{
    GENERATOR_STATE_OWNER_KEY_LABEL, GeneratorSpec, GeneratorState, GeneratorStateSpec, Manifest,
};
use eso_core::cluster::{
    GENERATOR_STATE_FINALIZER, GeneratorStateQuery, KubeGeneratorState, OwnerRef,
};
use eso_core::{Error, Result};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::error::{is_status, map_error};

/// Annotation holding when the flow recorded a state (RFC 3339 with sub-second precision).
pub const ANNOTATION_CREATED_AT: &str = "eso-rs/created-at";

const GENERATORS_API_VERSION: &str = "generators.external-secrets.io/v1alpha1";

fn api(client: &kube::Client, namespace: &str) -> Api<GeneratorState> {
    Api::namespaced(client.clone(), namespace)
}

/// The generator manifest a state's `spec.resource` holds.
fn resource_of(s: &KubeGeneratorState) -> Result<serde_json::Value> {
    let kind = s.generator.kind().ok_or_else(|| {
        Error::invalid_config("spec.resource", "the generator holds no single spec")
    })?;
    // The one-of form serializes as `{"<kind>Spec": {...}}`: its only value is the spec.
    let spec = match serde_json::to_value(&s.generator) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().next().map(|(_, v)| v),
        _ => None,
    }
    .ok_or_else(|| Error::invalid_config("spec.resource.spec", "cannot be serialized"))?;
    Ok(json!({
        "apiVersion": GENERATORS_API_VERSION,
        "kind": kind.as_str(),
        "metadata": {"name": s.generator_name, "namespace": s.namespace},
        "spec": spec,
    }))
}

fn to_kube(s: &KubeGeneratorState) -> Result<GeneratorState> {
    let owner = &s.owner;
    let owner_references = (!owner.uid.is_empty()).then(|| {
        vec![OwnerReference {
            api_version: owner.api_version.clone(),
            kind: owner.kind.clone(),
            name: owner.name.clone(),
            uid: owner.uid.clone(),
            controller: Some(owner.controller),
            block_owner_deletion: Some(owner.block_owner_deletion),
        }]
    });
    let metadata = ObjectMeta {
        generate_name: Some(s.generate_name()),
        namespace: Some(s.namespace.clone()),
        labels: Some(
            [(
                GENERATOR_STATE_OWNER_KEY_LABEL.to_owned(),
                s.owner_key.clone(),
            )]
            .into(),
        ),
        annotations: s
            .created
            .map(|t| [(ANNOTATION_CREATED_AT.to_owned(), t.to_string())].into()),
        owner_references,
        finalizers: Some(vec![GENERATOR_STATE_FINALIZER.to_owned()]),
        ..ObjectMeta::default()
    };
    let mut gs = GeneratorState::new(
        "",
        GeneratorStateSpec {
            garbage_collection_deadline: s.garbage_collection_deadline.map(rfc3339),
            resource: resource_of(s)?,
            state: s.state.clone(),
        },
    );
    gs.metadata = metadata;
    Ok(gs)
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn from_kube(gs: GeneratorState) -> Result<KubeGeneratorState> {
    let namespace = gs.metadata.namespace.clone().unwrap_or_default();
    let name = gs.metadata.name.clone().unwrap_or_default();
    let at = |field: &str, msg: String| {
        Error::invalid_config(format!("GeneratorState {namespace}/{name}: {field}"), msg)
    };
    let generator_name = gs.spec.resource["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let manifest = Manifest::from_value(gs.spec.resource.clone())
        .map_err(|e| at(&format!("spec.resource.{}", e.path), e.message))?;
    let generator = GeneratorSpec::from_manifest(manifest)
        .ok_or_else(|| at("spec.resource.kind", "is not a generator kind".to_owned()))?;
    let deadline = gs
        .spec
        .garbage_collection_deadline
        .as_deref()
        .map(|d| {
            d.parse::<jiff::Timestamp>().map_err(|_| {
                at(
                    "spec.garbageCollectionDeadline",
                    format!("{d:?} is not a time"),
                )
            })
        })
        .transpose()?;
    let owner = gs
        .metadata
        .owner_references
        .iter()
        .flatten()
        .next()
        .map(|o| {
            let mut r = OwnerRef::controller(&o.api_version, &o.kind, &o.name, &o.uid);
            r.controller = o.controller.unwrap_or(false);
            r.block_owner_deletion = o.block_owner_deletion.unwrap_or(false);
            r
        })
        .unwrap_or_default();
    let created = gs
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_CREATED_AT))
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .or_else(|| gs.metadata.creation_timestamp.as_ref().map(|t| t.0));
    let owner_key = gs
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(GENERATOR_STATE_OWNER_KEY_LABEL))
        .cloned()
        .unwrap_or_default();
    let mut out = KubeGeneratorState::new(namespace, owner, "", generator, gs.spec.state);
    out.name = name;
    out.owner_key = owner_key;
    out.generator_name = generator_name;
    out.garbage_collection_deadline = deadline;
    out.created = created;
    out.deleting = gs.metadata.deletion_timestamp.is_some();
    Ok(out)
}

pub(crate) async fn create(
    client: &kube::Client,
    state: KubeGeneratorState,
) -> Result<KubeGeneratorState> {
    let what = format!(
        "create GeneratorState {}{{random}} in {}",
        state.generate_name(),
        state.namespace
    );
    let obj = to_kube(&state).map_err(|e| e.context(&what))?;
    let pp = PostParams {
        dry_run: false,
        field_manager: Some(crate::DEFAULT_FIELD_MANAGER.to_owned()),
    };
    let created = api(client, &state.namespace)
        .create(&pp, &obj)
        .await
        .map_err(|e| map_error(&what, e))?;
    from_kube(created)
}

pub(crate) async fn list(
    client: &kube::Client,
    query: GeneratorStateQuery<'_>,
) -> Result<Vec<KubeGeneratorState>> {
    let (api, lp, what) = match query {
        GeneratorStateQuery::Namespace(ns) => (
            api(client, ns),
            ListParams::default(),
            format!("list GeneratorStates in {ns}"),
        ),
        GeneratorStateQuery::OwnerKey(ns, key) => (
            api(client, ns),
            ListParams::default().labels(&format!("{GENERATOR_STATE_OWNER_KEY_LABEL}={key}")),
            format!("list GeneratorStates in {ns}"),
        ),
        _ => (
            Api::all(client.clone()),
            ListParams::default(),
            "list GeneratorStates".to_owned(),
        ),
    };
    let list = match api.list(&lp).await {
        Ok(l) => l,
        // The GeneratorState CRD is not installed: there are no states (and a consumer's
        // deletion must not wait for them).
        Err(e) if is_status(&e, 404) => {
            tracing::debug!("{what}: the GeneratorState kind is not served; no states");
            return Ok(Vec::new());
        }
        Err(e) => return Err(map_error(&what, e)),
    };
    let mut out = Vec::with_capacity(list.items.len());
    for gs in list.items {
        match from_kube(gs) {
            Ok(s) => out.push(s),
            // A state this build cannot read cannot be cleaned up by it either: leave it.
            Err(e) => tracing::warn!(error = %e, "skipping a GeneratorState"),
        }
    }
    Ok(out)
}

pub(crate) async fn flag(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    deadline: jiff::Timestamp,
) -> Result<()> {
    let patch = json!({"spec": {"garbageCollectionDeadline": rfc3339(deadline)}});
    api(client, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| map_error(&format!("flag GeneratorState {namespace}/{name}"), e))
}

pub(crate) async fn delete(client: &kube::Client, namespace: &str, name: &str) -> Result<()> {
    let api = api(client, namespace);
    let what = format!("delete GeneratorState {namespace}/{name}");
    let Some(current) = api.get_opt(name).await.map_err(|e| map_error(&what, e))? else {
        return Ok(());
    };
    let finalizers = current.metadata.finalizers.unwrap_or_default();
    if finalizers.iter().any(|f| f == GENERATOR_STATE_FINALIZER) {
        let rest: Vec<&String> = finalizers
            .iter()
            .filter(|f| *f != GENERATOR_STATE_FINALIZER)
            .collect();
        let patch = json!({"metadata": {
            "finalizers": rest,
            "resourceVersion": current.metadata.resource_version,
        }});
        match api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(e) if is_status(&e, 404) => return Ok(()),
            Err(e) => return Err(map_error(&what, e)),
        }
    }
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(e) if is_status(&e, 404) => Ok(()),
        Err(e) => Err(map_error(&what, e)),
    }
}
