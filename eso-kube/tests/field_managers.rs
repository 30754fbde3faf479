//! Target Secrets and field managers against a real kube-apiserver, as ESO writes them: each
//! ExternalSecret writes as its own field manager (`externalsecrets.external-secrets.io/<name>`)
//! under every creation policy, and what that manager set last time and no longer renders
//! (a data key, a label) leaves the Secret, found through `managedFields`; keys other
//! writers set stay. A Merge into a Secret another ExternalSecret owns is refused, as ESO
//! v2.9.0 does (ESO issue #4225).

mod common;

use std::sync::Arc;

use eso_core::api::{ExternalSecret, Manifest, parse_documents};
use eso_core::cluster::{Cluster, KubeSecret};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler, TargetAction, field_manager};
use eso_kube::KubeCluster;
use kube::api::{Api, PostParams};

fn load(yaml: &str) -> (MemoryCatalog, Vec<ExternalSecret>) {
    let mut catalog = MemoryCatalog::default();
    let mut es = Vec::new();
    for (_, doc) in parse_documents(yaml) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(e) => es.push(*e),
            other => catalog.add(other),
        }
    }
    (catalog, es)
}

fn keys(s: &KubeSecret) -> Vec<&str> {
    s.data.keys().map(String::as_str).collect()
}

fn es_yaml(ns: &str, name: &str, target: &str, policy: &str, template: &str) -> String {
    format!(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: {name}, namespace: {ns}}}
spec:
  refreshInterval: 1h
  secretStoreRef: {{name: fake, kind: SecretStore}}
  target:
    name: {target}
    creationPolicy: {policy}
    template: {template}
  data:
  - secretKey: password
    remoteRef: {{key: db, property: password}}
"#
    )
}

#[tokio::test]
async fn merge_targets_drop_what_their_template_no_longer_renders() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let cluster = Arc::new(KubeCluster::new(client.clone()));
    let ns = common::namespace(&client, "fm").await;
    let store = format!(
        r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: fake, namespace: {ns}}}
spec:
  provider:
    fake:
      data:
      - key: db
        value: '{{"password":"s3cret"}}'
"#
    );
    let a_v1 =
        r#"{data: {a1: "{{ .password }}", a2: static}, metadata: {labels: {from-a: "yes"}}}"#;
    let a_v2 = r#"{data: {a1: "{{ .password }}"}}"#;
    let b = r#"{data: {b1: "b-{{ .password }}"}}"#;
    let yaml = [
        store,
        es_yaml(&ns, "merge-a", "shared", "Merge", a_v1),
        es_yaml(&ns, "merge-a", "shared", "Merge", a_v2),
        es_yaml(&ns, "merge-b", "shared", "Merge", b),
    ]
    .join("\n---\n");
    let (catalog, es) = load(&yaml);
    let [a1, a2, b] = <[ExternalSecret; 3]>::try_from(es).unwrap();
    let r = Reconciler::new(cluster.clone(), catalog);
    let pass = |es: ExternalSecret| {
        let r = &r;
        async move {
            r.reconcile_external_secret(&es, &Pass::new(), jiff::Timestamp::now())
                .await
        }
    };

    // The Secret exists, written by someone else (Merge never creates).
    KubeCluster::new(client.clone())
        .with_field_manager("kubectl-create")
        .create_secret(KubeSecret::new(&ns, "shared").with_data("foreign", "x"))
        .await
        .unwrap();

    let out = pass(a1).await;
    assert_eq!(out.detail, TargetAction::Updated, "{:?}", out.errors);
    let s = cluster.get_secret(&ns, "shared").await.unwrap().unwrap();
    assert_eq!(keys(&s), ["a1", "a2", "foreign"]);
    assert_eq!(s.labels["from-a"], "yes");
    let mine = &s.managed_fields[&field_manager("merge-a")];
    assert_eq!(
        mine.data.iter().map(String::as_str).collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    assert!(mine.labels.contains("from-a"));
    assert!(s.managed_fields["kubectl-create"].data.contains("foreign"));

    // A second ExternalSecret merges its own key next to them.
    let out = pass(b.clone()).await;
    assert_eq!(out.detail, TargetAction::Updated, "{:?}", out.errors);
    let s = cluster.get_secret(&ns, "shared").await.unwrap().unwrap();
    assert_eq!(keys(&s), ["a1", "a2", "b1", "foreign"]);
    assert_eq!(s.data["b1"].expose(), b"b-s3cret");

    // merge-a's template drops a2 and its label: they leave the Secret; b1 and foreign stay.
    let out = pass(a2).await;
    assert_eq!(out.detail, TargetAction::Updated, "{:?}", out.errors);
    let s = cluster.get_secret(&ns, "shared").await.unwrap().unwrap();
    assert_eq!(keys(&s), ["a1", "b1", "foreign"]);
    assert!(!s.labels.contains_key("from-a"), "{:?}", s.labels);
    assert_eq!(s.data["a1"].expose(), b"s3cret");

    // merge-b again: nothing of its own changed, nothing written.
    let out = pass(b).await;
    assert_eq!(out.detail, TargetAction::Unchanged, "{:?}", out.errors);
}

#[tokio::test]
async fn merge_into_a_secret_another_external_secret_owns_is_refused() {
    let env = require_kube!();
    let client = env.client().await;
    common::install_crds(&client).await;
    let cluster = Arc::new(KubeCluster::new(client.clone()));
    let ns = common::namespace(&client, "own").await;
    let yaml = [
        format!(
            r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {{name: fake, namespace: {ns}}}
spec:
  provider:
    fake:
      data:
      - key: db
        value: '{{"password":"s3cret"}}'
"#
        ),
        es_yaml(
            &ns,
            "owner",
            "credentials",
            "Owner",
            r#"{data: {password: "{{ .password }}"}}"#,
        ),
        es_yaml(
            &ns,
            "merger",
            "credentials",
            "Merge",
            r#"{data: {ca: "{{ .password }}"}}"#,
        ),
    ]
    .join("\n---\n");
    let (catalog, es) = load(&yaml);
    let api: Api<ExternalSecret> = Api::namespaced(client.clone(), &ns);
    let mut stored = Vec::new();
    for e in es {
        stored.push(api.create(&PostParams::default(), &e).await.unwrap());
    }
    let r = Reconciler::new(cluster.clone(), catalog);
    let out = r
        .reconcile_external_secret(&stored[0], &Pass::new(), jiff::Timestamp::now())
        .await;
    assert_eq!(out.detail, TargetAction::Created, "{:?}", out.errors);
    let before = cluster
        .get_secret(&ns, "credentials")
        .await
        .unwrap()
        .unwrap();
    assert!(before.managed_fields.contains_key(&field_manager("owner")));

    let out = r
        .reconcile_external_secret(&stored[1], &Pass::new(), jiff::Timestamp::now())
        .await;
    let err = out.error().expect("refused");
    assert!(
        err.to_string().contains("owned by ExternalSecret owner"),
        "{err}"
    );
    let ready = out
        .status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    let message = ready.message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("target is owned by another ExternalSecret"),
        "{message}"
    );
    let after = cluster
        .get_secret(&ns, "credentials")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.resource_version, before.resource_version);
    assert_eq!(keys(&after), ["password"]);
}
