//! Secret bytes never appear in Debug, Display or error output.

use eso_core::cluster::{Cluster, KubeSecret, MemoryCluster};
use eso_core::provider::{
    InMemory, Provider, ProviderExt, PushRef, PushValue, RemoteRef, property,
};
use eso_core::{SecretMap, SecretValue};

const SECRET: &str = "s3cr3t-Zq9-never-print-me";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaked the secret: {text}");
    assert!(
        !text.contains("Zq9"),
        "{what} leaked part of the secret: {text}"
    );
}

#[test]
fn secret_value_and_map_are_redacted() {
    let v = SecretValue::from(SECRET);
    assert_clean("Debug", &format!("{v:?}"));
    assert_clean("Display", &format!("{v}"));
    assert_clean("alternate Debug", &format!("{v:#?}"));
    let mut m = SecretMap::new();
    m.insert("password".into(), v.clone());
    assert_clean("map Debug", &format!("{m:?}"));
    assert_clean(
        "PushValue Debug",
        &format!("{:?}", PushValue::Single(v.clone())),
    );
    assert_clean("PushValue map Debug", &format!("{:?}", PushValue::Map(m)));
    let s = KubeSecret::new("ns", "n").with_data("password", SECRET);
    assert_clean("KubeSecret Debug", &format!("{s:?}"));
}

#[tokio::test]
async fn errors_do_not_carry_values() {
    let store = InMemory::new()
        .with_secret("plain", SECRET)
        .with_secret("json", format!(r#"{{"a":"{SECRET}"}}"#));
    // Property of a non-JSON value.
    let e = store
        .get_secret(&RemoteRef::new("plain").with_property("p"))
        .await
        .unwrap_err();
    assert_clean("property error", &format!("{e} {e:?}"));
    // Map of a non-object.
    let e = store
        .get_secret_map(&RemoteRef::new("plain"))
        .await
        .unwrap_err();
    assert_clean("map error", &format!("{e} {e:?}"));
    // Missing property.
    let e = store
        .get_secret(&RemoteRef::new("json").with_property("zz"))
        .await
        .unwrap_err();
    assert_clean("not found error", &format!("{e} {e:?}"));
    // JSON decode through the ext trait.
    let e = store
        .get_json::<Vec<u8>>(&RemoteRef::new("plain"))
        .await
        .unwrap_err();
    assert_clean("get_json error", &format!("{e} {e:?}"));
    // Property push into a non-JSON value.
    let e = store
        .push_secret(
            &PushValue::Single(SecretValue::from("x")),
            &PushRef::new("plain").with_property("p"),
        )
        .await
        .unwrap_err();
    assert_clean("push error", &format!("{e} {e:?}"));
    let e = property::json_to_map(&SecretValue::from(SECRET), "k").unwrap_err();
    assert_clean("json_to_map error", &format!("{e} {e:?}"));
    // Immutable Secret change.
    let cluster = MemoryCluster::new();
    let mut s = KubeSecret::new("ns", "n").with_data("k", "old");
    s.immutable = true;
    let s = cluster.create_secret(s).await.unwrap();
    let e = cluster
        .update_secret(s.with_data("k", SECRET))
        .await
        .unwrap_err();
    assert_clean("immutable error", &format!("{e} {e:?}"));
}
