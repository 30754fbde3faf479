//! Reconcile benches:
//! - one pass over 10,000 ExternalSecrets on the in-memory store (time, and memory retained
//!   per object beyond the secret data, measured with a counting allocator);
//! - one PushSecret to 1, 2 and 8 stores that each answer after 20 ms.

#![allow(unsafe_code)] // the counting allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use eso_core::api::{ExternalSecret, Manifest, PushSecret, parse_documents};
use eso_core::cluster::{KubeSecret, MemoryCluster};
use eso_core::provider::{
    Capabilities, DynProvider, InMemory, InMemoryFactory, Latency, ProviderFactory,
    ProviderRegistry, StoreContext,
};
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};

/// A global allocator that counts live and peak bytes, forwarding to the system allocator.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds the `GlobalAlloc`
// contract; the counters are plain atomics and never affect the returned pointers.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: usize = 10_000;

fn load(yaml: &str) -> (MemoryCatalog, Vec<ExternalSecret>, Vec<PushSecret>) {
    let mut catalog = MemoryCatalog::new();
    let (mut es, mut ps) = (Vec::new(), Vec::new());
    for (_, doc) in parse_documents(yaml) {
        match Manifest::from_value(doc.map(|d| d.value).unwrap_or_default()) {
            Ok(Manifest::ExternalSecret(e)) => es.push(*e),
            Ok(Manifest::PushSecret(p)) => ps.push(*p),
            Ok(other) => catalog.add(other),
            Err(e) => panic!("{e}"),
        }
    }
    (catalog, es, ps)
}

fn external_secrets() -> (MemoryCatalog, Vec<ExternalSecret>) {
    let mut data = String::new();
    for i in 0..1000 {
        data.push_str(&format!(
            "        - {{key: app-{i}, value: '{{\"user\":\"u{i}\",\"password\":\"p{i}\"}}'}}\n"
        ));
    }
    let store = format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: mem, namespace: bench}}\nspec:\n  provider:\n    fake:\n      data:\n{data}"
    );
    let (catalog, _, _) = load(&store);
    let template: ExternalSecret = serde_json::from_value(serde_json::json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "es", "namespace": "bench"},
        "spec": {"secretStoreRef": {"name": "mem"}, "refreshInterval": "1h",
                 "target": {"name": "t"},
                 "data": [{"secretKey": "password", "remoteRef": {"key": "app-0", "property": "password"}}],
                 "dataFrom": [{"extract": {"key": "app-0"}}]}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let list = (0..N)
        .map(|i| {
            let mut e = template.clone();
            e.metadata.name = Some(format!("es-{i}"));
            e.spec.target.name = Some(format!("target-{i}"));
            let key = format!("app-{}", i % 1000);
            if let Some(d) = e.spec.data.as_mut() {
                d[0].remote_ref.key.clone_from(&key);
            }
            if let Some(d) = e.spec.data_from.as_mut()
                && let Some(x) = d[0].extract.as_mut()
            {
                x.key = key;
            }
            e
        })
        .collect();
    (catalog, list)
}

async fn one_pass(r: &Reconciler, list: &[ExternalSecret]) -> u64 {
    let pass = Pass::new();
    let now = jiff::Timestamp::UNIX_EPOCH;
    for e in list {
        let out = r.reconcile_external_secret(e, &pass, now).await;
        assert!(out.error().is_none());
    }
    pass.provider_reads()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn reconcile_10k(c: &mut Criterion) {
    let rt = rt();
    let (catalog, list) = external_secrets();
    // Memory: everything retained after one pass (target Secrets, status, caches), minus the
    // secret bytes themselves, divided by the number of objects.
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let cluster = Arc::new(MemoryCluster::new());
    let r = Reconciler::new(cluster.clone(), catalog.clone());
    let started = std::time::Instant::now();
    let reads = rt.block_on(one_pass(&r, &list));
    let first_pass = started.elapsed();
    let retained = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let secret_bytes: usize = cluster
        .secrets()
        .iter()
        .map(|s| s.data.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>())
        .sum();
    eprintln!(
        "reconcile/10k: first pass (counting allocator on) {first_pass:?}; provider reads {reads} for {N} \
         ExternalSecrets (1000 distinct keys x 2 read kinds); \
         retained {:.0} B/object beyond {:.0} B/object of secret data; peak {:.0} B/object",
        (retained.saturating_sub(secret_bytes)) as f64 / N as f64,
        secret_bytes as f64 / N as f64,
        peak as f64 / N as f64,
    );
    let mut group = c.benchmark_group("reconcile");
    group.sample_size(10);
    group.bench_function("external_secrets_10k_first_pass", |b| {
        b.iter_batched(
            || Reconciler::new(Arc::new(MemoryCluster::new()), catalog.clone()),
            |r| rt.block_on(one_pass(&r, &list)),
            criterion::BatchSize::PerIteration,
        );
    });
    group.bench_function("external_secrets_10k_steady_pass", |b| {
        b.iter(|| rt.block_on(one_pass(&r, &list)));
    });
    group.finish();
}

/// Serves the `fake` kind with a fixed latency on every call.
#[derive(Debug)]
struct SlowFactory(Duration);

#[async_trait]
impl ProviderFactory for SlowFactory {
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    fn validate_store(
        &self,
        spec: &eso_core::api::SecretStoreProvider,
        store: &eso_core::provider::StoreIdentity,
    ) -> eso_core::Result<Vec<String>> {
        InMemoryFactory::default().validate_store(spec, store)
    }
    async fn new_provider(&self, _ctx: &StoreContext<'_>) -> eso_core::Result<DynProvider> {
        Ok(Arc::new(Latency::new(InMemory::new(), self.0)))
    }
}

fn push_fanout(c: &mut Criterion) {
    let rt = rt();
    let mut group = c.benchmark_group("push");
    group.sample_size(20);
    for stores in [1usize, 2, 8] {
        let mut yaml = String::new();
        let mut refs = Vec::new();
        for i in 0..stores {
            yaml.push_str(&format!(
                "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: region-{i}, namespace: bench}}\nspec: {{provider: {{fake: {{data: []}}}}}}\n---\n"
            ));
            refs.push(format!("{{name: region-{i}}}"));
        }
        yaml.push_str(&format!(
            "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {{name: p, namespace: bench}}\nspec:\n  refreshInterval: 1h\n  secretStoreRefs: [{}]\n  selector: {{secret: {{name: src}}}}\n  data:\n    - match: {{secretKey: password, remoteRef: {{remoteKey: db/password}}}}\n",
            refs.join(", ")
        ));
        let (catalog, _, ps) = load(&yaml);
        let mut registry = ProviderRegistry::empty();
        registry.register(Arc::new(SlowFactory(Duration::from_millis(20))));
        let cluster = Arc::new(
            MemoryCluster::new()
                .with_secret(KubeSecret::new("bench", "src").with_data("password", "s3cr3t")),
        );
        let r = Reconciler::new(cluster, catalog).with_providers(Arc::new(registry));
        let ps = ps[0].clone();
        group.bench_function(format!("stores_{stores}_20ms"), |b| {
            b.iter(|| {
                let out = rt.block_on(r.reconcile_push_secret(&ps, jiff::Timestamp::UNIX_EPOCH));
                assert!(out.errors.is_empty());
            });
        });
    }
    group.finish();
}

criterion_group!(benches, reconcile_10k, push_fanout);
criterion_main!(benches);
