//! The token lifecycle against OpenBao: one login, renewal before expiry, a fresh login at the
//! max TTL, a new login after an external revocation, revocation on close and on drop.

mod common;

use std::time::Duration;

use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::provider::{Provider, RemoteRef};
use eso_core::testing::conformance::unique_prefix;
use eso_provider_vault::Vault;
use serde_json::json;

/// A userpass user of its own (so its tokens can be told apart), with the given token TTLs.
async fn user(env: &common::Env, ttl: &str, max_ttl: &str) -> (String, MemoryCluster) {
    let name = unique_prefix("lc").replace('-', "_");
    env.root()
        .write(
            &format!("auth/userpass/users/{name}"),
            json!({"password": "pw-lifecycle", "token_policies": "eso", "token_ttl": ttl, "token_max_ttl": max_ttl}),
        )
        .await;
    let cluster = MemoryCluster::new()
        .with_secret(KubeSecret::new("default", "up").with_data("password", "pw-lifecycle"));
    (name, cluster)
}

async fn provider(env: &common::Env, name: &str, cluster: MemoryCluster) -> Vault {
    common::vault(
        json!({"server": env.addr, "path": "secret",
               "auth": {"userPass": {"username": name, "secretRef": {"name": "up", "key": "password"}}}}),
        cluster,
    )
    .await
}

/// Accessors of the live tokens of `user`.
async fn live_tokens(env: &common::Env, user: &str) -> Vec<String> {
    let root = env.root();
    let (_, list) = root
        .send(
            reqwest::Method::GET,
            "auth/token/accessors?list=true",
            None,
            None,
        )
        .await;
    let mut out = Vec::new();
    for a in list["data"]["keys"].as_array().cloned().unwrap_or_default() {
        let (status, info) = root
            .send(
                reqwest::Method::POST,
                "auth/token/lookup-accessor",
                None,
                Some(json!({"accessor": a})),
            )
            .await;
        if status == 200 && info["data"]["display_name"] == format!("userpass-{user}").as_str() {
            out.push(a.as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

async fn read_ok(v: &Vault) {
    match v.get_secret(&RemoteRef::new("lifecycle/none")).await {
        Err(e) if e.is_not_found() => {}
        other => panic!("expected NotFound through a valid token, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renews_then_logs_in_again_at_max_ttl() {
    let env = require_vault!();
    let (name, cluster) = user(&env, "3s", "8s").await;
    let v = provider(&env, &name, cluster).await;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        read_ok(&v).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let s = v.token_stats();
    println!("{s:?}");
    assert!(s.renewals >= 2, "{s:?}");
    assert!(s.logins >= 2, "a new login once the max TTL is near: {s:?}");
    assert!(s.logins <= 3, "no login per call: {s:?}");
    v.close().await.unwrap();
    assert!(live_tokens(&env, &name).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_replaced_transparently() {
    let env = require_vault!();
    let (name, cluster) = user(&env, "1h", "2h").await;
    let v = provider(&env, &name, cluster).await;
    read_ok(&v).await;
    let live = live_tokens(&env, &name).await;
    assert_eq!(live.len(), 1);
    env.root()
        .write("auth/token/revoke-accessor", json!({"accessor": live[0]}))
        .await;
    read_ok(&v).await;
    assert_eq!(v.token_stats().logins, 2);
    v.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_provider_revokes_its_token() {
    let env = require_vault!();
    let (name, cluster) = user(&env, "1h", "2h").await;
    let v = provider(&env, &name, cluster).await;
    read_ok(&v).await;
    let clone = v.clone();
    drop(v);
    assert_eq!(live_tokens(&env, &name).await.len(), 1, "a clone keeps it");
    drop(clone);
    for _ in 0..50 {
        if live_tokens(&env, &name).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the token of a dropped provider was not revoked");
}
