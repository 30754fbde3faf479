//! The provider and 1Password's official Python Connect SDK (the venv
//! `scripts/backends/onepassword.sh` installs, `OP_PYTHON`) see the same items: what the
//! provider pushes the SDK reads, and what the SDK writes the provider reads.

mod common;

use std::path::Path;
use std::process::Command;

use eso_core::SecretValue;
use eso_core::provider::{Provider, PushRef, PushValue, RemoteRef};
use eso_core::testing::conformance::unique_prefix;

/// Runs one step of `scripts/backends/onepassword_smoke.py`; its standard output.
fn sdk(args: &[&str]) -> String {
    let py = std::env::var("OP_PYTHON")
        .unwrap_or_else(|_| panic!("OP_PYTHON is not set (scripts/backends/onepassword.sh start)"));
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/backends/onepassword_smoke.py");
    let out = Command::new(py)
        .arg(script)
        .args(args)
        .output()
        .expect("run the Python SDK");
    assert!(
        out.status.success(),
        "onepassword_smoke.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

#[tokio::test]
async fn provider_and_python_sdk_agree() {
    let Some(env) = common::env() else { return };
    let p = env.store().await;
    let title = unique_prefix("sdk");

    // Pushed by the provider, read by the SDK.
    let value = PushValue::Single(SecretValue::from("pushed-by-eso"));
    p.push_secret(&value, &PushRef::new(&title)).await.unwrap();
    let r = PushRef::new(&title).with_property("api key");
    p.push_secret(&PushValue::Single(SecretValue::from("k-1")), &r)
        .await
        .unwrap();
    assert_eq!(sdk(&["read-pushed", &title, "password"]), "pushed-by-eso");
    assert_eq!(sdk(&["read-pushed", &title, "api key"]), "k-1");
    p.delete_secret(&PushRef::new(&title)).await.unwrap();
    p.delete_secret(&r).await.unwrap();

    // Written by the SDK (a LOGIN item, then updated, with a file), read by the provider.
    let other = format!("{title}-sdk");
    sdk(&["create", &other]);
    sdk(&["update", &other]);
    sdk(&["files", &other]);
    let v = p.get_secret(&RemoteRef::new(&other)).await.unwrap();
    assert_eq!(v.expose(), b"v2");
    let m = p.get_secret_map(&RemoteRef::new(&other)).await.unwrap();
    assert_eq!(m.keys().collect::<Vec<_>>(), ["password", "username"]);
    let f = RemoteRef::new(&other).with_property("file/smoke.bin");
    assert_eq!(
        p.get_secret(&f).await.unwrap().expose(),
        b"smoke file \x00\x01"
    );
    sdk(&["delete", &other]);
    assert!(
        p.get_secret(&RemoteRef::new(&other))
            .await
            .unwrap_err()
            .is_not_found()
    );
}
