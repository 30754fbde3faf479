//! The access token against the Infisical test server: renewed before it expires (once, not
//! per read), and replaced by one new login after the server refuses it. One test in this
//! binary: it expires every token on the server.

mod common;

use std::time::Duration;

use common::Env;
use eso_core::provider::{Provider, RemoteRef};
use eso_provider_infisical::InfisicalFactory;
use serde_json::json;

#[tokio::test]
async fn renewed_before_expiry_and_new_login_after_refusal() {
    let Some(env) = common::env() else { return };
    env.seed("/", "TOKEN_TEST", "v").await;
    // This identity's tokens live 4 s: renewal is due after 3.2 s.
    let spec = env.spec(Env::universal("shortId", "shortSecret"), json!({}));
    let p = env
        .build_with(&InfisicalFactory::new(), &spec)
        .await
        .unwrap();
    let read = || async { p.get_secret(&RemoteRef::new("TOKEN_TEST")).await.unwrap() };
    for _ in 0..5 {
        read().await;
    }
    assert_eq!((p.token_stats().logins, p.token_stats().renewals), (1, 0));
    tokio::time::sleep(Duration::from_millis(3400)).await;
    for _ in 0..5 {
        read().await;
    }
    assert_eq!(
        (p.token_stats().logins, p.token_stats().renewals),
        (1, 1),
        "renewed once"
    );

    // The server refuses every token: one new login, then reads go on.
    env.expire_tokens().await;
    for _ in 0..3 {
        read().await;
    }
    assert_eq!((p.token_stats().logins, p.token_stats().renewals), (2, 1));
}
