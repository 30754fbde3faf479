//! Reads against the Infisical test server: folders, properties, `dataFrom.extract`, `find`
//! with recursion, name regexp and path, and reference expansion.

mod common;

use eso_core::provider::{FindRef, Provider, RemoteRef};
use eso_core::testing::conformance::unique_prefix;
use serde_json::json;

fn text(v: &eso_core::SecretValue) -> &str {
    v.expose_str().unwrap()
}

#[tokio::test]
async fn folders_properties_find_and_references() {
    let Some(env) = common::env() else { return };
    // A folder tree of our own: /<top>/db below the root of the environment.
    let top = unique_prefix("reads");
    env.folder("/", &top).await;
    env.folder(&format!("/{top}"), "db").await;
    let base = format!("/{top}");
    let db = format!("{base}/db");
    env.seed(&base, "API_KEY", "k-123").await;
    env.seed(&base, "URL", "https://${DB_HOST}:5432/${dev.ROOT_NAME}")
        .await;
    env.seed(&db, "DB_HOST", "db.internal").await;
    env.seed(
        &db,
        "DB_JSON",
        r#"{"user": "app", "pass": "pw", "nested": {"port": 5432}}"#,
    )
    .await;
    env.seed(&base, "DB_HOST", "base-host").await;
    env.seed("/", "ROOT_NAME", "rootdb").await;

    let p = env.store(json!({"secretsPath": base})).await;
    // By key in the store's folder, in a sub-folder, and by absolute folder.
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("API_KEY")).await.unwrap()),
        "k-123"
    );
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("db/DB_HOST")).await.unwrap()),
        "db.internal"
    );
    let abs = format!("{db}/DB_HOST");
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new(abs)).await.unwrap()),
        "db.internal"
    );
    // References expanded (default on): same folder and another environment path.
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("URL")).await.unwrap()),
        "https://base-host:5432/rootdb"
    );
    // A property, and the whole JSON value as a map.
    let r = RemoteRef::new("db/DB_JSON").with_property("nested.port");
    assert_eq!(text(&p.get_secret(&r).await.unwrap()), "5432");
    let m = p
        .get_secret_map(&RemoteRef::new("db/DB_JSON"))
        .await
        .unwrap();
    assert_eq!(text(&m["user"]), "app");
    assert_eq!(text(&m["nested"]), r#"{"port":5432}"#);
    // Missing: NotFound.
    assert!(
        p.get_secret(&RemoteRef::new("NOPE"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    let r = RemoteRef::new("API_KEY").with_property("x");
    assert!(p.get_secret(&r).await.is_err());

    // find: the folder only, then recursive; by regexp; by folder path.
    let all = p.get_all_secrets(&FindRef::default()).await.unwrap();
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        ["API_KEY", "DB_HOST", "URL"]
    );
    assert_eq!(text(&all["DB_HOST"]), "base-host");
    let rec = env
        .store(json!({"secretsPath": base, "recursive": true}))
        .await;
    let all = rec.get_all_secrets(&FindRef::default()).await.unwrap();
    assert!(
        all.contains_key("DB_JSON") && all.contains_key("API_KEY"),
        "{:?}",
        all.keys()
    );
    let by_name = rec
        .get_all_secrets(&FindRef::default().with_name_regexp("^DB_").unwrap())
        .await
        .unwrap();
    assert!(by_name.keys().all(|k| k.starts_with("DB_")) && by_name.contains_key("DB_JSON"));
    let in_db = rec
        .get_all_secrets(&FindRef::default().with_path(db.clone()))
        .await
        .unwrap();
    assert_eq!(in_db.keys().collect::<Vec<_>>(), ["DB_HOST", "DB_JSON"]);
    assert_eq!(text(&in_db["DB_HOST"]), "db.internal");
    let tags = FindRef::default().with_tag("a", "b");
    assert!(rec.get_all_secrets(&tags).await.is_err());

    // Without expansion the reference text comes back.
    let raw = env
        .store(json!({"secretsPath": base, "expandSecretReferences": false}))
        .await;
    let v = raw.get_secret(&RemoteRef::new("URL")).await.unwrap();
    assert_eq!(text(&v), "https://${DB_HOST}:5432/${dev.ROOT_NAME}");
    assert_eq!(p.token_stats().logins, 1);
}
