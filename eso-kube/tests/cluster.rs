//! `KubeCluster` and `KubeWorkloads` against a real kube-apiserver, and the ExternalSecret
//! flow end to end with `KubeCluster`.

mod common;

use std::sync::Arc;

use eso_core::Error;
use eso_core::api::{ExternalSecret, Manifest, parse_documents};
use eso_core::cluster::{Cluster, KubeSecret, LabelExpression, LabelQuery, OwnerRef};
use eso_core::reconcile::{
    MemoryCatalog, Pass, Reconciler, TargetAction, WorkloadStore, field_manager,
};
use eso_kube::{KubeCluster, KubeWorkloads};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

#[tokio::test]
async fn secret_crud_conflicts_immutability_and_field_managers() {
    let env = require_kube!();
    let client = env.client().await;
    let c = env.cluster().await;
    let ns = common::namespace(&client, "crud").await;

    assert!(c.get_secret(&ns, "db").await.unwrap().is_none());
    let mut s = KubeSecret::new(&ns, "db")
        .with_data("username", "app")
        .with_data("password", "first")
        .with_label("team", "a")
        .with_annotation("note", "n")
        .with_type("kubernetes.io/basic-auth");
    s.owner_references.push(OwnerRef::controller(
        "external-secrets.io/v1",
        "ExternalSecret",
        "db-es",
        "uid-123",
    ));
    let created = c.create_secret(s.clone()).await.unwrap();
    assert!(!created.resource_version.is_empty());
    assert!(!created.uid.is_empty());
    assert_eq!(created.type_, "kubernetes.io/basic-auth");
    assert_eq!(created.owner_references, s.owner_references);
    assert!(matches!(
        c.create_secret(s.clone()).await,
        Err(Error::Conflict(_))
    ));

    // The write is attributed to the owning ExternalSecret's field manager.
    let raw: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let managers: Vec<String> = raw
        .get("db")
        .await
        .unwrap()
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&field_manager("db-es")), "{managers:?}");

    // Update, then a stale update conflicts.
    let mut next = created.clone();
    next.data.insert("pass".into(), "hunter2".into());
    let updated = c.update_secret(next).await.unwrap();
    assert_ne!(updated.resource_version, created.resource_version);
    assert_eq!(updated.data["pass"].expose(), b"hunter2");
    let mut stale = created.clone();
    stale.data.insert("x".into(), "y".into());
    let err = c.update_secret(stale).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(err.is_temporary());
    // No secret value in the error.
    assert!(!err.to_string().contains("hunter2"));

    // Label queries (server-side selector plus client-side filter).
    c.create_secret(KubeSecret::new(&ns, "other").with_label("team", "b"))
        .await
        .unwrap();
    let mut q = LabelQuery::default();
    q.match_labels.insert("team".into(), "a".into());
    let names = |v: Vec<KubeSecret>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(c.list_secrets(&ns, &q).await.unwrap()), ["db"]);
    let mut q = LabelQuery::default();
    q.match_expressions.push(LabelExpression::In(
        "team".into(),
        vec!["a".into(), "b".into()],
    ));
    assert_eq!(
        names(c.list_secrets(&ns, &q).await.unwrap()),
        ["db", "other"]
    );
    let mut q = LabelQuery::default();
    q.match_expressions
        .push(LabelExpression::In("team".into(), vec![]));
    assert!(c.list_secrets(&ns, &q).await.unwrap().is_empty());

    // Immutable Secrets: the API server refuses data changes.
    let mut imm = KubeSecret::new(&ns, "frozen").with_data("k", "v1");
    imm.immutable = true;
    let imm = c.create_secret(imm).await.unwrap();
    assert!(imm.immutable);
    let mut changed = imm.clone();
    changed.data.insert("k".into(), "v2".into());
    assert!(c.update_secret(changed).await.is_err());

    // Delete (twice), update of a gone Secret is NotFound.
    c.delete_secret(&ns, "db").await.unwrap();
    c.delete_secret(&ns, "db").await.unwrap();
    assert!(c.update_secret(updated).await.unwrap_err().is_not_found());

    // Namespaces and ConfigMaps.
    let mut q = LabelQuery::default();
    q.match_labels
        .insert("kubernetes.io/metadata.name".into(), ns.clone());
    let nss = c.list_namespaces(&q).await.unwrap();
    assert_eq!(nss.len(), 1);
    assert!(c.get_config_map(&ns, "nope").await.unwrap().is_none());
}

#[tokio::test]
async fn token_request() {
    let env = require_kube!();
    let c = env.cluster().await;
    let t = c
        .create_service_account_token(&env.sa_namespace, &env.sa_name, &["eso-test".into()], 600)
        .await
        .unwrap();
    assert_eq!(
        t.expose().iter().filter(|b| **b == b'.').count(),
        2,
        "a JWT"
    );
    let err = c
        .create_service_account_token(&env.sa_namespace, "no-such-sa", &[], 600)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn workloads_apply_get_delete() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let ns = common::namespace(&client, "wl").await;
    let w = KubeWorkloads::new(client.clone());
    let es: ExternalSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "db", "namespace": ns, "labels": {"a": "1"}},
        "spec": {"secretStoreRef": {"name": "s"}, "target": {"name": "db"},
                 "data": [{"secretKey": "k", "remoteRef": {"key": "x"}}]}
    }))
    .unwrap();
    let stored = w.apply_external_secret(es.clone()).await.unwrap();
    assert_eq!(stored.metadata.generation, Some(1));
    let same = w.apply_external_secret(stored.clone()).await.unwrap();
    assert_eq!(same.metadata.generation, Some(1));
    let mut changed = es.clone();
    changed.spec.data.as_mut().unwrap()[0].secret_key = "k2".into();
    let changed = w.apply_external_secret(changed).await.unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    // The first stored version is now stale: a conflict.
    assert!(matches!(
        w.apply_external_secret(stored.clone()).await,
        Err(Error::Conflict(_))
    ));
    let got = w.get_external_secret(&ns, "db").await.unwrap().unwrap();
    assert_eq!(got.spec.data.unwrap()[0].secret_key, "k2");
    w.delete_external_secret(&ns, "db").await.unwrap();
    w.delete_external_secret(&ns, "db").await.unwrap();
    assert!(w.get_external_secret(&ns, "db").await.unwrap().is_none());
    assert!(w.get_push_secret(&ns, "none").await.unwrap().is_none());
}

/// The ExternalSecret flow with `KubeCluster`: a `fake` store feeds a target Secret; the
/// target carries ESO's labels, annotations and owner reference, an unchanged pass writes
/// nothing, and a target edited by hand is repaired on the next pass.
#[tokio::test]
async fn external_secret_end_to_end_with_kube_cluster() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let cluster = Arc::new(KubeCluster::new(client.clone()));
    let app = common::namespace(&client, "app").await;
    let yaml = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: fake, namespace: {app}}}
spec:
  provider:
    fake:
      data:
      - key: user-credentials
        value: '{{"username":"app","password":"s3cret"}}'
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: creds, namespace: {app}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: fake, kind: SecretStore}}
  target: {{name: creds}}
  data:
  - secretKey: password
    remoteRef: {{key: user-credentials, property: password}}
  dataFrom:
  - extract: {{key: user-credentials}}
"#
    );
    let mut catalog = MemoryCatalog::default();
    let mut es = None;
    for (_, doc) in parse_documents(&yaml) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es = Some(*e),
            other => catalog.add(other),
        }
    }
    // Store the ExternalSecret so the owner reference carries a real UID.
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), &app);
    let es = es_api
        .create(&PostParams::default(), &es.unwrap())
        .await
        .unwrap();
    let r = Reconciler::new(cluster.clone(), catalog);
    let pass = || async {
        r.reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
            .await
    };

    let out = pass().await;
    assert!(out.error().is_none(), "{:?}", out.errors);
    assert_eq!(out.detail, TargetAction::Created);
    let target = cluster.get_secret(&app, "creds").await.unwrap().unwrap();
    assert_eq!(target.data["password"].expose(), b"s3cret");
    assert_eq!(target.data["username"].expose(), b"app");
    assert_eq!(
        target.labels["reconcile.external-secrets.io/managed"],
        "true"
    );
    assert!(
        target
            .annotations
            .contains_key("reconcile.external-secrets.io/data-hash")
    );
    let owner = &target.owner_references[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("ExternalSecret", true)
    );
    assert_eq!(Some(&owner.uid), es.metadata.uid.as_ref());

    // Unchanged: nothing written.
    let out = pass().await;
    assert_eq!(out.detail, TargetAction::Unchanged, "{:?}", out.errors);

    // Edited by hand: repaired.
    let mut tampered = target.clone();
    tampered.data.insert("password".into(), "edited".into());
    cluster.update_secret(tampered).await.unwrap();
    let out = pass().await;
    assert_eq!(out.detail, TargetAction::Updated, "{:?}", out.errors);
    let target = cluster.get_secret(&app, "creds").await.unwrap().unwrap();
    assert_eq!(target.data["password"].expose(), b"s3cret");
}
