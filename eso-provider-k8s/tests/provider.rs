//! Provider behaviour beyond the shared suite, against a real kube-apiserver: ownership and
//! adoption, PushSecretMetadata (labels, annotations, merge policies, remoteNamespace),
//! typed pushes and type changes, metadata reads, find by labels, validation, and an
//! unreachable server.

mod common;

use eso_core::Error;
use eso_core::SecretValue;
use eso_core::cluster::{DynCluster, KubeSecret};
use eso_core::provider::{
    FindRef, MetadataPolicy, PushRef, PushValue, RemoteRef, SourceMetadata, StoreScope, Validation,
};
use eso_provider_k8s::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use serde_json::json;

async fn setup(env: &common::Env) -> (DynCluster, kube::Client, String, String) {
    let client = env.client().await;
    let local = common::dyn_cluster(env.cluster().await);
    let creds = common::namespace(&client, "creds").await;
    let remote = common::namespace(&client, "remote").await;
    common::put_secret(
        local.as_ref(),
        &creds,
        "token",
        &[("token", &env.admin_token)],
    )
    .await;
    (local, client, creds, remote)
}

fn token_spec(env: &common::Env, remote: &str) -> serde_json::Value {
    json!({
        "server": {"url": env.server, "caBundle": env.ca_pem},
        "auth": {"token": {"bearerToken": {"name": "token", "key": "token", "namespace": "IGNORED"}}},
        "remoteNamespace": remote,
    })
}

fn meta(spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata", "spec": spec})
}

#[tokio::test]
async fn ownership_adoption_and_metadata() {
    let env = require_kube!();
    let (local, _, creds, remote) = setup(&env).await;
    let mut spec = token_spec(&env, &remote);
    spec["auth"]["token"]["bearerToken"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let p = common::provider(&local, &creds, &spec).await;
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);

    // A Secret someone else created: neither overwritten nor deleted.
    local
        .create_secret(
            KubeSecret::new(&remote, "foreign")
                .with_data("k", "v")
                .with_label("app", "x"),
        )
        .await
        .unwrap();
    let v = PushValue::Single(SecretValue::from("new"));
    let err = p
        .push_secret(&v, &PushRef::new("foreign").with_property("k"))
        .await
        .unwrap_err();
    assert!(err.is_not_managed(), "{err}");
    let err = p.delete_secret(&PushRef::new("foreign")).await.unwrap_err();
    assert!(err.is_not_managed(), "{err}");
    assert!(
        local
            .get_secret(&remote, "foreign")
            .await
            .unwrap()
            .is_some()
    );

    // Opt in by labelling it: adopted, other labels kept (Merge).
    let mut s = local.get_secret(&remote, "foreign").await.unwrap().unwrap();
    s.labels
        .insert(MANAGED_BY_LABEL.into(), MANAGED_BY_VALUE.into());
    local.update_secret(s).await.unwrap();
    let r = PushRef::new("foreign")
        .with_property("k")
        .with_secret_key("k")
        .with_metadata(meta(
            json!({"labels": {"team": "a"}, "annotations": {"note": "n"}}),
        ));
    p.push_secret(&v, &r).await.unwrap();
    let s = local.get_secret(&remote, "foreign").await.unwrap().unwrap();
    assert_eq!(s.data["k"].expose(), b"new");
    assert_eq!(s.labels["app"], "x");
    assert_eq!(s.labels["team"], "a");
    assert_eq!(s.annotations["note"], "n");

    // Metadata reads.
    let m = RemoteRef::new("foreign").with_metadata_policy(MetadataPolicy::Fetch);
    let all: serde_json::Value =
        serde_json::from_slice(p.get_secret(&m).await.unwrap().expose()).unwrap();
    assert_eq!(all["labels"]["team"], "a");
    assert_eq!(
        p.get_secret(&m.clone().with_property("annotations.note"))
            .await
            .unwrap()
            .expose(),
        b"n"
    );

    // Replace: labels become exactly the metadata's (plus the ownership label).
    let r = PushRef::new("foreign")
        .with_property("k")
        .with_secret_key("k")
        .with_metadata(meta(
            json!({"labels": {"only": "this"}, "targetMergePolicy": "Replace"}),
        ));
    p.push_secret(&v, &r).await.unwrap();
    let s = local.get_secret(&remote, "foreign").await.unwrap().unwrap();
    assert_eq!(s.labels.len(), 2, "{:?}", s.labels);
    assert_eq!(s.labels["only"], "this");
    // Ignore: labels stay.
    let r = PushRef::new("foreign")
        .with_property("k")
        .with_secret_key("k")
        .with_metadata(meta(
            json!({"labels": {"other": "1"}, "targetMergePolicy": "Ignore"}),
        ));
    p.push_secret(&v, &r).await.unwrap();
    let s = local.get_secret(&remote, "foreign").await.unwrap().unwrap();
    assert!(!s.labels.contains_key("other"));
    // A bad policy names the field.
    let r = PushRef::new("foreign")
        .with_property("k")
        .with_metadata(meta(json!({"targetMergePolicy": "Sometimes"})));
    let err = p.push_secret(&v, &r).await.unwrap_err();
    assert!(err.to_string().contains("targetMergePolicy"), "{err}");
    // secretKey without property: ESO's error.
    let err = p
        .push_secret(&v, &PushRef::new("foreign").with_secret_key("k"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("requires property"), "{err}");
    // remoteNamespace is for ClusterSecretStores only.
    let r = PushRef::new("x")
        .with_property("k")
        .with_metadata(meta(json!({"remoteNamespace": creds})));
    assert!(p.push_secret(&v, &r).await.is_err());

    // Find by labels.
    let found = p
        .get_all_secrets(&FindRef::default().with_tag("only", "this"))
        .await
        .unwrap();
    assert_eq!(found.keys().collect::<Vec<_>>(), ["foreign"]);

    // Deleting the last key deletes the Secret.
    p.delete_secret(&PushRef::new("foreign").with_property("k"))
        .await
        .unwrap();
    assert!(
        local
            .get_secret(&remote, "foreign")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cluster_store_remote_namespace_override() {
    let env = require_kube!();
    let (local, client, creds, remote) = setup(&env).await;
    let other = common::namespace(&client, "other").await;
    let mut spec = token_spec(&env, &remote);
    spec["auth"]["token"]["bearerToken"]["namespace"] = json!(creds);
    let p = common::provider_scoped(&local, "consumer-ns", &spec, StoreScope::Cluster).await;
    let r = PushRef::new("moved")
        .with_property("k")
        .with_metadata(meta(json!({"remoteNamespace": other})));
    p.push_secret(&PushValue::Single(SecretValue::from("v")), &r)
        .await
        .unwrap();
    assert!(local.get_secret(&other, "moved").await.unwrap().is_some());
    assert!(local.get_secret(&remote, "moved").await.unwrap().is_none());
    assert!(p.secret_exists(&r).await.unwrap());
    p.delete_secret(&r).await.unwrap();
    assert!(local.get_secret(&other, "moved").await.unwrap().is_none());
}

#[tokio::test]
async fn validate_refuses_credentials_without_secret_access() {
    let env = require_kube!();
    let (local, client, creds, remote) = setup(&env).await;
    let sas: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
        kube::Api::namespaced(client.clone(), &creds);
    sas.create(
        &Default::default(),
        &serde_json::from_value(json!({"metadata": {"name": "nobody"}})).unwrap(),
    )
    .await
    .unwrap();
    let spec = json!({
        "server": {"url": env.server, "caBundle": env.ca_pem},
        "auth": {"serviceAccount": {"name": "nobody"}},
        "remoteNamespace": remote,
    });
    let p = common::provider(&local, &creds, &spec).await;
    let err = p.validate().await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    let err = p.get_secret(&RemoteRef::new("x")).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
}

#[tokio::test]
async fn unreachable_server_is_temporary() {
    let env = require_kube!();
    let (local, _, creds, remote) = setup(&env).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut spec = token_spec(&env, &remote);
    spec["server"]["url"] = json!(format!("https://127.0.0.1:{port}"));
    spec["auth"]["token"]["bearerToken"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let p = common::provider(&local, &creds, &spec).await;
    let err = p.get_secret(&RemoteRef::new("x")).await.unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(err.to_string().contains("not reachable"), "{err}");
    assert!(!err.to_string().contains(&env.admin_token));
}

#[tokio::test]
async fn typed_pushes_and_type_changes() {
    let env = require_kube!();
    let (local, _, creds, remote) = setup(&env).await;
    let mut spec = token_spec(&env, &remote);
    spec["auth"]["token"]["bearerToken"]
        .as_object_mut()
        .unwrap()
        .remove("namespace");
    let p = common::provider(&local, &creds, &spec).await;
    let tls: eso_core::SecretMap = [("tls.crt", "c"), ("tls.key", "k")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), SecretValue::from(v)))
        .collect();
    let whole = PushValue::Map(tls);

    // First an Opaque Secret (no source type), then the same name as a TLS Secret: ours, so
    // it is deleted and created again with the new type and the source's metadata.
    p.push_secret(&whole, &PushRef::new("web")).await.unwrap();
    let first = local.get_secret(&remote, "web").await.unwrap().unwrap();
    assert_eq!(first.type_, "Opaque");
    let source = SourceMetadata::new("kubernetes.io/tls").with_annotation("from", "source");
    let r = PushRef::new("web")
        .with_source(source.clone())
        .with_metadata(meta(json!({"labels": {"team": "a"}})));
    p.push_secret(&whole, &r).await.unwrap();
    let second = local.get_secret(&remote, "web").await.unwrap().unwrap();
    assert_eq!(second.type_, "kubernetes.io/tls");
    assert_ne!(second.uid, first.uid);
    assert_eq!(second.data, first.data);
    assert_eq!(second.labels["team"], "a");
    assert_eq!(second.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert_eq!(second.annotations["from"], "source");
    // The same push again writes nothing.
    p.push_secret(&whole, &r).await.unwrap();
    let third = local.get_secret(&remote, "web").await.unwrap().unwrap();
    assert_eq!(third.resource_version, second.resource_version);

    // A Secret we do not own keeps its type and everything else.
    local
        .create_secret(KubeSecret::new(&remote, "theirs").with_data("tls.crt", "x"))
        .await
        .unwrap();
    let err = p
        .push_secret(&whole, &PushRef::new("theirs").with_source(source))
        .await
        .unwrap_err();
    assert!(err.is_not_managed(), "{err}");
    let theirs = local.get_secret(&remote, "theirs").await.unwrap().unwrap();
    assert_eq!(theirs.type_, "Opaque");
}
