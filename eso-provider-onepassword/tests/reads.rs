//! Reads against the Connect test server: vault search order, fields by label, files,
//! whole-item extraction and find by regexp, path and tags.

mod common;

use eso_core::provider::{FindRef, Provider, RemoteRef};
use eso_core::testing::conformance::unique_prefix;
use serde_json::json;

fn text(v: &eso_core::SecretValue) -> &str {
    v.expose_str().unwrap()
}

#[tokio::test]
async fn vault_order_fields_and_extract() {
    let Some(env) = common::env() else { return };
    let (primary, secondary) = (&env.vaults[0], &env.vaults[1]);
    let t = unique_prefix("reads");
    let both = format!("{t}-both");
    let only2 = format!("{t}-only-secondary");
    let dup = format!("{t}-dup");
    env.seed(
        secondary,
        json!({"title": both, "category": "LOGIN",
        "fields": [{"label": "password", "value": "from-secondary"}]}),
    )
    .await;
    let id = env
        .seed(
            primary,
            json!({"title": both, "category": "LOGIN", "tags": ["team-a"],
            "fields": [{"label": "username", "value": "app"},
                {"label": "password", "value": "from-primary", "purpose": "PASSWORD"},
                {"label": "dot.key", "value": "d"},
                {"label": "twice", "value": "1"}, {"label": "twice", "value": "2"},
                {"label": "", "value": "unlabelled"}]}),
        )
        .await;
    env.seed(
        secondary,
        json!({"title": only2, "category": "SERVER",
        "fields": [{"label": "password", "value": "s2"}]}),
    )
    .await;
    for _ in 0..2 {
        env.seed(
            primary,
            json!({"title": dup, "category": "LOGIN",
            "fields": [{"label": "password", "value": "x"}]}),
        )
        .await;
    }

    let p = env.store().await;
    // The first vault in order that has the title wins; the ID reads the same item.
    let v = p.get_secret(&RemoteRef::new(&both)).await.unwrap();
    assert_eq!(text(&v), "from-primary");
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new(&id)).await.unwrap()),
        "from-primary"
    );
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new(&only2)).await.unwrap()),
        "s2"
    );
    // The order numbers decide, not the names: secondary first.
    let spec = env.spec(json!({primary: 5, secondary: 2}), "token");
    let rev = env.build(&spec).await.unwrap();
    let v = rev.get_secret(&RemoteRef::new(&both)).await.unwrap();
    assert_eq!(text(&v), "from-secondary");

    // Fields by label (a dot is part of the label, not a path).
    let r = RemoteRef::new(&both).with_property("username");
    assert_eq!(text(&p.get_secret(&r).await.unwrap()), "app");
    let r = RemoteRef::new(&both).with_property("field/dot.key");
    assert_eq!(text(&p.get_secret(&r).await.unwrap()), "d");
    let e = p
        .get_secret(&RemoteRef::new(&both).with_property("nope"))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = p
        .get_secret(&RemoteRef::new(&both).with_property("twice"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("2 fields labelled \"twice\""), "{e}");
    // Two items with one title in one vault are an error naming the store; none is NotFound.
    let e = p.get_secret(&RemoteRef::new(&dup)).await.unwrap_err();
    assert!(!e.is_not_found());
    assert!(
        e.to_string()
            .contains("SecretStore apps/op: 2 items are titled"),
        "{e}"
    );
    let e = p
        .get_secret(&RemoteRef::new(format!("{t}-missing")))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = p
        .get_secret(&RemoteRef::new(&both).with_version("2"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("remoteRef.version"), "{e}");

    // dataFrom.extract: every labelled field; a duplicated label is an error.
    let e = p.get_secret_map(&RemoteRef::new(&both)).await.unwrap_err();
    assert!(e.to_string().contains("\"twice\""), "{e}");
    let m = p.get_secret_map(&RemoteRef::new(&only2)).await.unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["password"]);
    let m = p
        .get_secret_map(&RemoteRef::new(&both).with_property("username"))
        .await
        .unwrap();
    assert_eq!(text(&m["username"]), "app");
    assert_eq!(m.len(), 1);
}

#[tokio::test]
async fn files_and_documents() {
    let Some(env) = common::env() else { return };
    let primary = &env.vaults[0];
    let t = unique_prefix("files");
    let login = format!("{t}-login");
    let doc = format!("{t}-doc");
    let id = env
        .seed(
            primary,
            json!({"title": login, "category": "LOGIN",
            "fields": [{"label": "password", "value": "pw"}]}),
        )
        .await;
    env.attach(primary, &id, "tls.crt", b"-----BEGIN CERT-----")
        .await;
    env.attach(primary, &id, "blob.bin", &[0, 159, 146, 150])
        .await;
    let did = env
        .seed(primary, json!({"title": doc, "category": "DOCUMENT"}))
        .await;
    env.attach(primary, &did, "config.yaml", b"a: 1\n").await;
    env.attach(primary, &did, "other.txt", b"second").await;

    let p = env.store().await;
    let r = RemoteRef::new(&login).with_property("file/tls.crt");
    assert_eq!(
        text(&p.get_secret(&r).await.unwrap()),
        "-----BEGIN CERT-----"
    );
    let r = RemoteRef::new(&login).with_property("file/blob.bin");
    assert_eq!(p.get_secret(&r).await.unwrap().expose(), [0, 159, 146, 150]);
    let r = RemoteRef::new(&login).with_property("file/none.txt");
    assert!(p.get_secret(&r).await.unwrap_err().is_not_found());
    // A DOCUMENT's property names a file; without one, its first file.
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new(&doc)).await.unwrap()),
        "a: 1\n"
    );
    let r = RemoteRef::new(&doc).with_property("other.txt");
    assert_eq!(text(&p.get_secret(&r).await.unwrap()), "second");
    // Extract: files by name.
    let m = p.get_secret_map(&RemoteRef::new(&doc)).await.unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["config.yaml", "other.txt"]);
    let m = p
        .get_secret_map(&RemoteRef::new(&login).with_property("file/"))
        .await
        .unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["blob.bin", "tls.crt"]);
}

#[tokio::test]
async fn find_by_regexp_path_and_tags() {
    let Some(env) = common::env() else { return };
    let (primary, secondary) = (&env.vaults[0], &env.vaults[1]);
    let t = unique_prefix("find").replace('-', "_");
    let a = format!("{t}_a");
    let b = format!("{t}_b");
    let aid = env
        .seed(
            primary,
            json!({"title": a, "category": "LOGIN", "tags": ["eso-find", t],
            "fields": [{"label": format!("{t}_user"), "value": "u-primary"},
                {"label": "unrelated", "value": "x"}]}),
        )
        .await;
    env.attach(primary, &aid, &format!("{t}_cert.pem"), b"pem")
        .await;
    env.seed(
        secondary,
        json!({"title": b, "category": "LOGIN", "tags": [t],
        "fields": [{"label": format!("{t}_user"), "value": "u-secondary"},
            {"label": format!("{t}_token"), "value": "tok"}]}),
    )
    .await;

    let p = env.store().await;
    // name.regexp matches field labels and file names over every item of every vault; the
    // first vault wins a key both hold.
    let find = FindRef::default()
        .with_name_regexp(&format!("^{t}_"))
        .unwrap();
    let m = p.get_all_secrets(&find).await.unwrap();
    let keys: Vec<_> = m.keys().cloned().collect();
    assert_eq!(
        keys,
        [
            format!("{t}_cert.pem"),
            format!("{t}_token"),
            format!("{t}_user")
        ]
    );
    assert_eq!(text(&m[&format!("{t}_user")]), "u-primary");
    // path: one item by title.
    let find = FindRef::default()
        .with_path(&b)
        .with_name_regexp(&format!("^{t}_"))
        .unwrap();
    let m = p.get_all_secrets(&find).await.unwrap();
    assert_eq!(text(&m[&format!("{t}_user")]), "u-secondary");
    assert_eq!(m.len(), 2);
    // tags: every vault is searched (ESO stops after the first); tag values are ignored.
    let find = FindRef::default().with_tag(&t, "ignored");
    let m = p.get_all_secrets(&find).await.unwrap();
    assert_eq!(text(&m[&format!("{t}_token")]), "tok");
    assert_eq!(text(&m["unrelated"]), "x");
    let find = FindRef::default().with_tag(&t, "").with_tag("eso-find", "");
    let m = p.get_all_secrets(&find).await.unwrap();
    assert!(!m.contains_key(&format!("{t}_token")), "{:?}", m.keys());
    assert!(m.contains_key(&format!("{t}_cert.pem")));
}
