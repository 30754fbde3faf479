//! Push, delete and SecretExists against the Connect test server, read back through the
//! API: fields, tags, the metadata's vault, no write when unchanged.

mod common;

use eso_core::SecretValue;
use eso_core::provider::{Provider, PushRef, PushValue, RemoteRef};
use eso_core::testing::conformance::unique_prefix;
use serde_json::json;

fn single(v: &str) -> PushValue {
    PushValue::Single(SecretValue::from(v))
}

fn meta(spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata",
        "spec": spec})
}

#[tokio::test]
async fn push_then_read_back_then_delete() {
    let Some(env) = common::env() else { return };
    let (primary, secondary) = (&env.vaults[0], &env.vaults[1]);
    let p = env.store().await;
    let title = unique_prefix("push");

    // A new item: a SERVER item in the first vault, the value in a concealed `password`
    // field, tags from the metadata.
    let r = PushRef::new(&title).with_metadata(meta(json!({"tags": ["eso", "team-a"]})));
    p.push_secret(&single("s3cret"), &r).await.unwrap();
    let items = env.items(primary, &title).await;
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item["category"], "SERVER");
    assert_eq!(item["tags"], json!(["eso", "team-a"]));
    let f = common::field(item, "password").unwrap();
    assert_eq!(
        (f["value"].as_str(), f["type"].as_str()),
        (Some("s3cret"), Some("CONCEALED"))
    );
    let got = p.get_secret(&RemoteRef::new(&title)).await.unwrap();
    assert_eq!(got.expose(), b"s3cret");

    // The same push again writes nothing: the item's version stays, no second item.
    p.push_secret(&single("s3cret"), &r).await.unwrap();
    let again = env.items(primary, &title).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["version"], item["version"]);

    // A property is another field of the same item; tags are replaced when given.
    let r = PushRef::new(&title)
        .with_property("username")
        .with_metadata(meta(json!({"tags": ["eso"]})));
    p.push_secret(&single("app"), &r).await.unwrap();
    let item = &env.items(primary, &title).await[0];
    assert_eq!(common::field(item, "username").unwrap()["value"], "app");
    assert_eq!(common::field(item, "password").unwrap()["value"], "s3cret");
    assert_eq!(item["tags"], json!(["eso"]));
    assert!(
        p.secret_exists(&PushRef::new(&title).with_property("username"))
            .await
            .unwrap()
    );
    assert!(
        !p.secret_exists(&PushRef::new(&title).with_property("nope"))
            .await
            .unwrap()
    );

    // Delete: the field, then the last field takes the item with it.
    p.delete_secret(&PushRef::new(&title)).await.unwrap();
    let item = &env.items(primary, &title).await[0];
    assert!(common::field(item, "password").is_none());
    p.delete_secret(&PushRef::new(&title).with_property("username"))
        .await
        .unwrap();
    assert!(env.items(primary, &title).await.is_empty());
    assert!(!p.secret_exists(&PushRef::new(&title)).await.unwrap());
    p.delete_secret(&PushRef::new(&title)).await.unwrap();

    // The metadata's vault receives a new item; a vault outside the store is refused.
    let other = format!("{title}-other");
    let r = PushRef::new(&other).with_metadata(meta(json!({"vault": secondary})));
    p.push_secret(&single("v"), &r).await.unwrap();
    assert_eq!(env.items(secondary, &other).await.len(), 1);
    assert!(env.items(primary, &other).await.is_empty());
    let r = PushRef::new(format!("{title}-x")).with_metadata(meta(json!({"vault": "nowhere"})));
    let e = p.push_secret(&single("v"), &r).await.unwrap_err();
    assert!(
        e.to_string().contains("spec.data[].metadata.spec.vault"),
        "{e}"
    );
    p.delete_secret(&PushRef::new(&other)).await.unwrap();
    assert!(env.items(secondary, &other).await.is_empty());
}

#[tokio::test]
async fn push_into_an_existing_item_keeps_what_it_does_not_touch() {
    let Some(env) = common::env() else { return };
    let primary = &env.vaults[0];
    let title = unique_prefix("existing");
    let id = env
        .seed(
            primary,
            json!({"title": title, "category": "LOGIN", "favorite": true,
            "urls": [{"href": "https://app.example.com", "primary": true}],
            "sections": [{"id": "s1", "label": "db"}],
            "fields": [{"label": "username", "value": "u", "purpose": "USERNAME"},
                {"label": "password", "value": "old", "purpose": "PASSWORD"},
                {"label": "host", "value": "db", "section": {"id": "s1"}}]}),
        )
        .await;
    env.attach(primary, &id, "ca.pem", b"pem").await;
    let p = env.store().await;
    p.push_secret(&single("new"), &PushRef::new(&title))
        .await
        .unwrap();
    let item = &env.items(primary, &title).await[0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(common::field(item, "password").unwrap()["value"], "new");
    assert_eq!(
        common::field(item, "password").unwrap()["purpose"],
        "PASSWORD"
    );
    assert_eq!(common::field(item, "host").unwrap()["section"]["id"], "s1");
    assert_eq!(item["urls"][0]["href"], "https://app.example.com");
    assert_eq!(item["favorite"], true);
    assert_eq!(item["files"][0]["name"], "ca.pem");
    // Removing every field keeps an item that still has a file and a section.
    for label in ["password", "username", "host"] {
        p.delete_secret(&PushRef::new(&title).with_property(label))
            .await
            .unwrap();
    }
    let item = &env.items(primary, &title).await[0];
    assert!(item["fields"].as_array().is_none_or(Vec::is_empty));

    // Whole-Secret pushes are refused, as ESO's provider refuses them.
    let map = [("a".to_owned(), SecretValue::from("1"))]
        .into_iter()
        .collect();
    let e = p
        .push_secret(&PushValue::Map(map), &PushRef::new(&title))
        .await
        .unwrap_err();
    assert!(matches!(e, eso_core::Error::NotSupported { .. }), "{e}");
}

#[tokio::test]
async fn concurrent_pushes_to_a_new_title_make_one_item() {
    let Some(env) = common::env() else { return };
    let p = env.store().await;
    let title = unique_prefix("concurrent");
    let (a, b) = (
        PushRef::new(&title).with_property("a"),
        PushRef::new(&title).with_property("b"),
    );
    let (one, two) = (single("1"), single("2"));
    let (ra, rb) = tokio::join!(p.push_secret(&one, &a), p.push_secret(&two, &b));
    ra.unwrap();
    rb.unwrap();
    let items = env.items(&env.vaults[0], &title).await;
    assert_eq!(items.len(), 1, "one item for one title");
    assert_eq!(common::field(&items[0], "a").unwrap()["value"], "1");
    assert_eq!(common::field(&items[0], "b").unwrap()["value"], "2");
    for r in [&a, &b] {
        p.delete_secret(r).await.unwrap();
    }
    assert!(env.items(&env.vaults[0], &title).await.is_empty());
}
