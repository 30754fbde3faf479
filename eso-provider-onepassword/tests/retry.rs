//! Connect's passing "403 Authorization" answers are retried (its own test binary: the
//! server's count of such answers is shared by every caller).

mod common;

use eso_core::provider::Provider;

#[tokio::test]
async fn passing_403_answers_are_retried() {
    let Some(env) = common::env() else { return };
    let p = env.store().await;
    env.flaky_403(2).await;
    p.validate().await.unwrap();
    assert_eq!(env.stats().await["flaky403Left"], 0);
    // More than the retries allow: the 403 comes through as PermissionDenied.
    env.flaky_403(10).await;
    let e = p.validate().await.unwrap_err();
    assert!(matches!(e, eso_core::Error::PermissionDenied { .. }), "{e}");
    assert_eq!(env.stats().await["flaky403Left"], 6);
    env.flaky_403(0).await;
}
