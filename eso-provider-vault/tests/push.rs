//! ESO's push/delete semantics against OpenBao: ownership marker, property merge, the clear
//! error for non-JSON values, check-and-set, KV v1's inline marker, metadata fetch.

mod common;

use eso_core::provider::{MetadataPolicy, Provider, PushRef, PushValue, RemoteRef};
use eso_core::testing::conformance::unique_prefix;
use eso_core::{Error, SecretValue};
use serde_json::json;

fn single(s: &str) -> PushValue {
    PushValue::Single(SecretValue::from(s))
}

#[tokio::test]
async fn ownership_marker_is_written_and_enforced() {
    let env = require_vault!();
    let root = env.root();
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    let prefix = unique_prefix("push");
    let ours = format!("{prefix}/ours");
    v.push_secret(&single("v1"), &PushRef::new(&ours).with_property("k"))
        .await
        .unwrap();
    let (_, meta) = root.read(&format!("secret/metadata/{ours}")).await;
    assert_eq!(
        meta["data"]["custom_metadata"]["managed-by"],
        "external-secrets"
    );

    // Someone else's secret, with custom metadata of its own.
    let theirs = format!("{prefix}/theirs");
    root.write(
        &format!("secret/data/{theirs}"),
        json!({"data": {"k": "orig"}}),
    )
    .await;
    root.write(
        &format!("secret/metadata/{theirs}"),
        json!({"custom_metadata": {"team": "a"}}),
    )
    .await;
    let err = v
        .push_secret(&single("x"), &PushRef::new(&theirs).with_property("k"))
        .await
        .unwrap_err();
    assert!(err.is_not_managed(), "{err:?}");
    assert!(
        err.to_string().contains("not managed by external-secrets"),
        "{err}"
    );
    // Delete leaves it alone too, and says so.
    let err = v.delete_secret(&PushRef::new(&theirs)).await.unwrap_err();
    assert!(err.is_not_managed(), "{err:?}");
    assert_eq!(
        v.get_secret(&RemoteRef::new(&theirs).with_property("k"))
            .await
            .unwrap()
            .expose(),
        b"orig"
    );
    // Adopting it: once marked, pushes work and keep the other custom metadata.
    root.write(
        &format!("secret/metadata/{theirs}"),
        json!({"custom_metadata": {"team": "a", "managed-by": "external-secrets"}}),
    )
    .await;
    v.push_secret(&single("new"), &PushRef::new(&theirs).with_property("k2"))
        .await
        .unwrap();
    let fetched = v
        .get_secret(&RemoteRef::new(&theirs).with_metadata_policy(MetadataPolicy::Fetch))
        .await
        .unwrap();
    let fetched: serde_json::Value = serde_json::from_slice(fetched.expose()).unwrap();
    assert_eq!(fetched["team"], "a");
    assert_eq!(fetched["current_version"], "2");
    assert!(fetched["created_time"].is_string());
    root.delete(&format!("secret/metadata/{theirs}")).await;
    v.delete_secret(&PushRef::new(&ours)).await.unwrap();
    let (status, _) = root.read(&format!("secret/metadata/{ours}")).await;
    assert_eq!(status, 404, "delete removes every version and the metadata");
}

#[tokio::test]
async fn single_non_json_value_without_property_gets_a_helpful_error() {
    let env = require_vault!();
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    let key = format!("{}/plain", unique_prefix("push"));
    let err = v
        .push_secret(
            &single("hunter2"),
            &PushRef::new(&key).with_secret_key("password"),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("remoteRef.property: "), "{msg}");
    assert!(msg.contains("set remoteRef.property"), "{msg}");
    assert!(!msg.contains("hunter2"));
    assert!(!v.secret_exists(&PushRef::new(&key)).await.unwrap());
    // The whole Secret (a map) and a JSON object value are fine.
    v.push_secret(&single(r#"{"a":{"b":1}}"#), &PushRef::new(&key))
        .await
        .unwrap();
    assert_eq!(
        v.get_secret(&RemoteRef::new(&key).with_property("a.b"))
            .await
            .unwrap()
            .expose(),
        b"1"
    );
    v.delete_secret(&PushRef::new(&key)).await.unwrap();
}

#[tokio::test]
async fn check_and_set_is_sent_and_enforced() {
    let env = require_vault!();
    let root = env.root();
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "checkAndSet": {"required": true},
               "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    let key = format!("{}/cas", unique_prefix("push"));
    // Make the server demand CAS for this secret, so a write without it would fail.
    root.write(
        &format!("secret/metadata/{key}"),
        json!({"cas_required": true, "custom_metadata": {"managed-by": "external-secrets"}}),
    )
    .await;
    for (i, val) in ["1", "2", "3"].into_iter().enumerate() {
        v.push_secret(&single(val), &PushRef::new(&key).with_property("n"))
            .await
            .unwrap_or_else(|e| panic!("push {i}: {e}"));
    }
    let (_, meta) = root.read(&format!("secret/metadata/{key}")).await;
    assert_eq!(meta["data"]["current_version"], 3);
    v.delete_secret(&PushRef::new(&key).with_property("n"))
        .await
        .unwrap();
    assert!(!v.secret_exists(&PushRef::new(&key)).await.unwrap());
}

#[tokio::test]
async fn kv1_keeps_the_marker_inline_and_hides_it_on_read() {
    let env = require_vault!();
    let root = env.root();
    let v = common::vault(
        json!({"server": env.addr, "path": "kv1", "version": "v1", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    let key = format!("{}/one", unique_prefix("push"));
    v.push_secret(&single("a"), &PushRef::new(&key).with_property("user"))
        .await
        .unwrap();
    let (_, raw) = root.read(&format!("kv1/{key}")).await;
    assert_eq!(
        raw["data"]["custom_metadata"]["managed-by"],
        "external-secrets"
    );
    let got = v.get_secret(&RemoteRef::new(&key)).await.unwrap();
    assert_eq!(got.expose(), br#"{"user":"a"}"#);
    let err = v
        .get_secret(&RemoteRef::new(&key).with_metadata_policy(MetadataPolicy::Fetch))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotSupported(_)), "{err:?}");
    // Deleting the last property removes the secret (and its lone marker).
    v.delete_secret(&PushRef::new(&key).with_property("user"))
        .await
        .unwrap();
    let (status, _) = root.read(&format!("kv1/{key}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn versions_and_deleted_versions() {
    let env = require_vault!();
    let root = env.root();
    let v = common::vault(
        json!({"server": env.addr, "path": "secret", "auth": common::token_auth()}),
        common::cluster_with_token(&env),
    )
    .await;
    let key = format!("{}/ver", unique_prefix("push"));
    root.write(&format!("secret/data/{key}"), json!({"data": {"v": "one"}}))
        .await;
    root.write(&format!("secret/data/{key}"), json!({"data": {"v": "two"}}))
        .await;
    let r = RemoteRef::new(&key).with_property("v");
    assert_eq!(v.get_secret(&r).await.unwrap().expose(), b"two");
    assert_eq!(
        v.get_secret(&r.clone().with_version("1"))
            .await
            .unwrap()
            .expose(),
        b"one"
    );
    // A soft-deleted latest version reads as NotFound (ESO's NoSecretError).
    root.delete(&format!("secret/data/{key}")).await;
    assert!(v.get_secret(&r).await.unwrap_err().is_not_found());
    assert!(!v.secret_exists(&PushRef::new(&key)).await.unwrap());
    // Paths given with the mount (and data/) resolve to the same secret.
    assert_eq!(
        v.get_secret(
            &RemoteRef::new(format!("secret/data/{key}"))
                .with_version("1")
                .with_property("v")
        )
        .await
        .unwrap()
        .expose(),
        b"one"
    );
    root.delete(&format!("secret/metadata/{key}")).await;
}
