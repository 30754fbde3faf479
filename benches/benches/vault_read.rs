//! Reads per second from OpenBao on loopback: through the Vault provider, and beside it raw
//! reqwest GETs of the same KV v2 path with the same concurrency (the floor the provider is
//! measured against). Needs `eval "$(scripts/backends/openbao.sh start)"`; without
//! `VAULT_ADDR` it prints why and measures nothing.
//!
//! Each iteration is one batch of `CONCURRENCY` tasks doing `READS_PER_TASK` reads each;
//! criterion's throughput line gives reads/s for both, and their ratio is the provider's cost.

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eso_core::SecretValue;
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{
    Provider, PushRef, PushValue, RemoteRef, StoreContext, StoreIdentity, StoreScope,
};
use eso_provider_vault::{Vault, VaultFactory};

const CONCURRENCY: usize = 16;
const READS_PER_TASK: usize = 32;
const KEY: &str = "bench/vault-read";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn provider(addr: &str, token: &str) -> Vault {
    let cluster: DynCluster = Arc::new(
        MemoryCluster::new()
            .with_secret(KubeSecret::new("bench", "vault-token").with_data("token", token)),
    );
    let spec: eso_core::api::SecretStoreProvider =
        serde_json::from_value(serde_json::json!({"vault": {
        "server": addr, "path": "secret", "version": "v2",
        "auth": {"tokenSecretRef": {"name": "vault-token", "key": "token"}}}}))
        .expect("a vault provider block");
    let store = StoreIdentity::new(StoreScope::Namespaced, "bench", "vault");
    let vault = VaultFactory::new()
        .build(&StoreContext::new(&store, &spec, "bench", &cluster))
        .await
        .expect("build the provider");
    vault
        .push_secret(
            &PushValue::Single(SecretValue::from(
                r#"{"user":"app","password":"bench-password"}"#,
            )),
            &PushRef::new(KEY),
        )
        .await
        .expect("seed the bench secret");
    vault
}

fn vault_read(c: &mut Criterion) {
    let (Ok(addr), Ok(token)) = (std::env::var("VAULT_ADDR"), std::env::var("VAULT_TOKEN")) else {
        eprintln!(
            "vault_read: skipped: VAULT_ADDR/VAULT_TOKEN not set (run scripts/backends/openbao.sh start)"
        );
        return;
    };
    let rt = runtime();
    let vault = rt.block_on(provider(&addr, &token));
    let raw = reqwest::Client::new();
    let url = format!("{addr}/v1/secret/data/{KEY}");

    let mut g = c.benchmark_group("vault_read");
    g.throughput(Throughput::Elements((CONCURRENCY * READS_PER_TASK) as u64));
    g.bench_function("provider get_secret (property)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONCURRENCY)
                    .map(|_| {
                        let v = vault.clone();
                        tokio::spawn(async move {
                            let r = RemoteRef::new(KEY).with_property("password");
                            for _ in 0..READS_PER_TASK {
                                let got = v.get_secret(&r).await.expect("read");
                                assert_eq!(got.expose(), b"bench-password");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
            });
        });
    });
    g.bench_function("raw reqwest GET (same path)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONCURRENCY)
                    .map(|_| {
                        let http = raw.clone();
                        let url = url.clone();
                        let token = token.clone();
                        tokio::spawn(async move {
                            for _ in 0..READS_PER_TASK {
                                let resp = http
                                    .get(&url)
                                    .header("X-Vault-Token", &token)
                                    .send()
                                    .await
                                    .expect("GET");
                                assert!(resp.status().is_success());
                                let body = resp.bytes().await.expect("body");
                                assert!(!body.is_empty());
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
            });
        });
    });
    g.finish();
}

criterion_group!(benches, vault_read);
criterion_main!(benches);
