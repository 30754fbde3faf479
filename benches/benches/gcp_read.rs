//! Reads per second from the Secret Manager emulator on loopback: through the `gcpsm`
//! provider (the official SDK client, a service-account key's self-signed JWT, a JSON
//! property), and beside it raw reqwest GETs of the same `versions/latest:access` path with
//! the same concurrency (the floor the provider is measured against). Needs
//! `eval "$(scripts/backends/gcp.sh start)"`; without `GCP_SECRET_MANAGER_REST_ENDPOINT` it
//! prints why and measures nothing.
//!
//! Each iteration is one batch of `CONCURRENCY` tasks doing `READS_PER_TASK` reads each;
//! criterion's throughput line gives reads/s for both, and their ratio is the provider's cost.

use std::sync::Arc;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eso_core::SecretValue;
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{
    DynProvider, ProviderFactory, PushRef, PushValue, RemoteRef, StoreContext, StoreIdentity,
    StoreScope,
};
use eso_provider_gcp::GcpFactory;

const CONCURRENCY: usize = 16;
const READS_PER_TASK: usize = 16;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A service-account key with a freshly generated RSA key.
fn sa_key() -> String {
    use aws_lc_rs::encoding::AsDer;
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("keygen");
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).expect("pkcs8");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    serde_json::json!({"type": "service_account", "project_id": "eso-test", "private_key_id": "bench",
        "private_key": pem, "client_email": "bench@eso-test.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token"})
    .to_string()
}

async fn provider(project: &str, key: &str) -> DynProvider {
    let cluster: DynCluster = Arc::new(
        MemoryCluster::new()
            .with_secret(KubeSecret::new("bench", "gcp-sa").with_data("key.json", sa_key())),
    );
    let spec: eso_core::api::SecretStoreProvider =
        serde_json::from_value(serde_json::json!({"gcpsm": {"projectID": project,
        "auth": {"secretRef": {"secretAccessKeySecretRef": {"name": "gcp-sa", "key": "key.json"}}}}}))
        .expect("a gcpsm provider block");
    let store = StoreIdentity::new(StoreScope::Namespaced, "bench", "gcp");
    let p = GcpFactory::new()
        .new_provider(&StoreContext::new(&store, &spec, "bench", &cluster))
        .await
        .expect("build the provider");
    p.push_secret(
        &PushValue::Single(SecretValue::from(
            r#"{"user":"app","password":"bench-password"}"#,
        )),
        &PushRef::new(key),
    )
    .await
    .expect("seed the bench secret");
    p
}

fn gcp_read(c: &mut Criterion) {
    let Ok(endpoint) = std::env::var("GCP_SECRET_MANAGER_REST_ENDPOINT") else {
        eprintln!(
            "gcp_read: skipped: GCP_SECRET_MANAGER_REST_ENDPOINT not set (run scripts/backends/gcp.sh start)"
        );
        return;
    };
    let project = std::env::var("GCP_PROJECT_ID").unwrap_or_else(|_| "eso-test".into());
    let key = format!("bench-gcp-read-{}", std::process::id());
    let rt = runtime();
    let p = rt.block_on(provider(&project, &key));
    let raw = reqwest::Client::new();
    let url = format!(
        "{}/v1/projects/{project}/secrets/{key}/versions/latest:access",
        endpoint.trim_end_matches('/')
    );

    let mut g = c.benchmark_group("gcp_read");
    g.sample_size(20);
    g.throughput(Throughput::Elements((CONCURRENCY * READS_PER_TASK) as u64));
    g.bench_function("provider get_secret (property)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONCURRENCY)
                    .map(|_| {
                        let p = Arc::clone(&p);
                        let key = key.clone();
                        tokio::spawn(async move {
                            let r = RemoteRef::new(key).with_property("password");
                            for _ in 0..READS_PER_TASK {
                                let got = p.get_secret(&r).await.expect("read");
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
                        tokio::spawn(async move {
                            for _ in 0..READS_PER_TASK {
                                let resp = http
                                    .get(&url)
                                    .bearer_auth("bench")
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

criterion_group!(benches, gcp_read);
criterion_main!(benches);
