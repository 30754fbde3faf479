//! Provider behaviour against the Secret Manager emulator beyond the shared suite: ownership,
//! version selection, push metadata, no-op pushes, auth errors.

mod common;

use eso_core::SecretValue;
use eso_core::provider::{MetadataPolicy, PushRef, PushValue, RemoteRef};
use serde_json::json;

fn single(v: &str) -> PushValue {
    PushValue::Single(SecretValue::from(v))
}

#[tokio::test]
async fn a_secret_without_our_label_is_neither_overwritten_nor_deleted() {
    let env = require_gcp!();
    let p = common::provider(&env, json!({})).await;
    let name = common::unique("foreign");
    env.seed(&name, json!({"team": "other"}), r#"{"a":"1"}"#)
        .await;

    for r in [PushRef::new(&name), PushRef::new(&name).with_property("b")] {
        let e = p.push_secret(&single("x"), &r).await.unwrap_err();
        assert!(e.is_not_managed(), "{e}");
        assert!(e.to_string().contains(&format!("\"{name}")), "{e}");
        assert!(
            e.to_string().contains("is not managed by external-secrets"),
            "{e}"
        );
    }
    let e = p.delete_secret(&PushRef::new(&name)).await.unwrap_err();
    assert!(e.is_not_managed(), "{e}");
    assert!(e.to_string().contains(&name), "{e}");
    let e = p
        .delete_secret(&PushRef::new(&name).with_property("a"))
        .await
        .unwrap_err();
    assert!(e.is_not_managed(), "{e}");

    // Untouched: one version, same value, same labels (no managed-by added).
    assert_eq!(
        env.versions(&name).await,
        [("1".to_owned(), "ENABLED".to_owned())]
    );
    let v = p.get_secret(&RemoteRef::new(&name)).await.unwrap();
    assert_eq!(v.expose(), br#"{"a":"1"}"#);
    assert_eq!(env.labels(&name).await, json!({"team": "other"}));
}

#[tokio::test]
async fn latest_or_fetch_reads_the_newest_enabled_version() {
    let env = require_gcp!();
    let name = common::unique("fetch");
    env.seed(&name, json!({"managed-by": "external-secrets"}), "one")
        .await;
    env.add_version(&name, "two").await;
    let (s, b) = env
        .call(
            "POST",
            &format!("secrets/{name}/versions/2:disable"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let fetch = common::provider(
        &env,
        json!({"secretVersionSelectionPolicy": "LatestOrFetch"}),
    )
    .await;
    assert_eq!(
        fetch
            .get_secret(&RemoteRef::new(&name))
            .await
            .unwrap()
            .expose(),
        b"one"
    );
    // An explicit version is read as asked; a disabled one is an error, never a fallback.
    assert!(
        fetch
            .get_secret(&RemoteRef::new(&name).with_version("2"))
            .await
            .is_err()
    );
    assert_eq!(
        fetch
            .get_secret(&RemoteRef::new(&name).with_version("1"))
            .await
            .unwrap()
            .expose(),
        b"one"
    );
    // The emulator resolves `latest` to the newest *enabled* version by itself, so the real
    // API's FAILED_PRECONDITION for LatestOrFail cannot be reproduced here: see the unit tests
    // in src/stub_tests.rs.
}

#[tokio::test]
async fn versions_properties_and_metadata() {
    let env = require_gcp!();
    let p = common::provider(&env, json!({})).await;
    let name = common::unique("versions");
    p.push_secret(
        &single(r#"{"db":{"user":"u1"},"x.y":"dot"}"#),
        &PushRef::new(&name),
    )
    .await
    .unwrap();
    p.push_secret(&single("u2"), &PushRef::new(&name).with_property("db.user"))
        .await
        .unwrap();
    let r = RemoteRef::new(&name);
    assert_eq!(
        p.get_secret(&r.clone().with_property("db.user"))
            .await
            .unwrap()
            .expose(),
        b"u2"
    );
    assert_eq!(
        p.get_secret(&r.clone().with_property("db.user").with_version("1"))
            .await
            .unwrap()
            .expose(),
        b"u1"
    );
    assert_eq!(
        p.get_secret(&r.clone().with_property("x.y"))
            .await
            .unwrap()
            .expose(),
        b"dot"
    );
    let missing = p
        .get_secret(&r.clone().with_version("9"))
        .await
        .unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    let meta = r.clone().with_metadata_policy(MetadataPolicy::Fetch);
    let all: serde_json::Value =
        serde_json::from_slice(p.get_secret(&meta).await.unwrap().expose()).unwrap();
    assert_eq!(all["labels"]["managed-by"], "external-secrets");
    let label = p
        .get_secret(&meta.clone().with_property("labels.managed-by"))
        .await
        .unwrap();
    assert_eq!(label.expose(), b"external-secrets");
    assert!(
        p.get_secret(&meta.with_property("labels.nope"))
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn push_metadata_labels_and_no_op_pushes() {
    let env = require_gcp!();
    let p = common::provider(&env, json!({})).await;
    let name = common::unique("meta");
    let md = |labels: serde_json::Value, policy: &str| {
        json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
               "spec": {"labels": labels, "mergePolicy": policy}})
    };
    let r = PushRef::new(&name).with_metadata(md(json!({"team": "a"}), "Replace"));
    p.push_secret(&single("v1"), &r).await.unwrap();
    assert_eq!(
        env.labels(&name).await,
        json!({"team": "a", "managed-by": "external-secrets"})
    );
    // Same value again: no new version.
    p.push_secret(&single("v1"), &r).await.unwrap();
    assert_eq!(env.versions(&name).await.len(), 1);
    // Merge keeps the existing labels; Replace drops them (ours and the marker stay).
    let r = PushRef::new(&name).with_metadata(md(json!({"env": "prod"}), "Merge"));
    p.push_secret(&single("v1"), &r).await.unwrap();
    assert_eq!(
        env.labels(&name).await,
        json!({"team": "a", "env": "prod", "managed-by": "external-secrets"})
    );
    let r = PushRef::new(&name).with_metadata(md(json!({"env": "dev"}), "Replace"));
    p.push_secret(&single("v2"), &r).await.unwrap();
    assert_eq!(
        env.labels(&name).await,
        json!({"env": "dev", "managed-by": "external-secrets"})
    );
    assert_eq!(env.versions(&name).await.len(), 2);
    // Metadata and a property together are refused (ESO rule).
    let e = p
        .push_secret(&single("x"), &r.clone().with_property("p"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("metadata"), "{e}");
    // Delete removes the whole secret.
    p.delete_secret(&PushRef::new(&name)).await.unwrap();
    assert!(
        p.get_secret(&RemoteRef::new(&name))
            .await
            .unwrap_err()
            .is_not_found()
    );
    p.delete_secret(&PushRef::new(&name)).await.unwrap();
}

#[tokio::test]
async fn a_key_that_is_not_json_names_the_store_field() {
    let env = require_gcp!();
    let cluster = common::cluster_with_key("-----BEGIN PRIVATE KEY-----\nMIIE\n").await;
    let e = common::try_provider_in(&env, json!({}), cluster)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef: is not a service-account JSON key (the value is not JSON)"
    );
    assert!(!e.to_string().contains("MIIE"));
    let e = common::try_provider(&env, json!({"projectID": ""}))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "spec.provider.gcpsm.projectID: is required");
}

#[tokio::test]
async fn many_stores_in_parallel() {
    // One client per store, no process-wide lock: 8 stores read concurrently.
    let env = require_gcp!();
    let name = common::unique("parallel");
    env.seed(&name, json!({}), "shared").await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let env = env.clone();
        let name = name.clone();
        tasks.push(tokio::spawn(async move {
            let p = common::provider(&env, json!({})).await;
            for _ in 0..5 {
                assert_eq!(
                    p.get_secret(&RemoteRef::new(&name)).await.unwrap().expose(),
                    b"shared"
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
