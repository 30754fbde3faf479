//! Batched read-ahead for a pass: the `data[]` and `dataFrom[].extract` reads of many
//! ExternalSecrets, grouped per store, sent as a few batch calls to providers that batch.

use std::collections::BTreeMap;

use super::external_secret::remote_ref;
use super::hash::resource_version;
use super::{Pass, Reconciler};
use crate::api::{EsoResource, ExternalSecret};
use crate::provider::{BatchRead, BatchValue, DynProvider, RemoteRef, StoreIdentity};

/// The reads one store will serve in this pass.
struct StoreReads {
    store: StoreIdentity,
    namespace: String,
    provider: DynProvider,
    reads: Vec<BatchRead>,
}

impl Reconciler {
    /// Reads ahead, in batches, what `external_secrets` will read from their stores in
    /// `pass`, so that their reconciles find the values in the pass instead of asking the
    /// provider one secret at a time.
    ///
    /// Only ExternalSecrets that are due for a refresh at `now` count, and only stores whose
    /// provider [batches reads](crate::provider::Provider::supports_batch_reads) (AWS Secrets
    /// Manager's `BatchGetSecretValue`); other stores are left to the reconciles, which still
    /// read each distinct secret once per pass. For each store and credential namespace, the
    /// distinct `data[].remoteRef`s and `dataFrom[].extract`s go to one [`get_batch`] call;
    /// the provider reads each distinct secret once, in as few backend calls as its API
    /// allows (20 secrets each for AWS Secrets Manager).
    ///
    /// Nothing fails here: a store that cannot be built, or a read that fails (including
    /// `NotFound`), is simply not prefilled, and the reconcile reports it as usual. Returns
    /// how many reads were prefilled.
    ///
    /// [`get_batch`]: crate::provider::Provider::get_batch
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eso_core::api::{Manifest, parse_documents};
    /// use eso_core::cluster::MemoryCluster;
    /// use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let yaml = r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: SecretStore
    /// metadata: {name: fake, namespace: default}
    /// spec: {provider: {fake: {data: [{key: db, value: hunter2}]}}}
    /// ---
    /// apiVersion: external-secrets.io/v1
    /// kind: ExternalSecret
    /// metadata: {name: db, namespace: default}
    /// spec:
    ///   secretStoreRef: {name: fake}
    ///   data: [{secretKey: pass, remoteRef: {key: db}}]
    /// "#;
    /// let mut catalog = MemoryCatalog::default();
    /// let mut external_secrets = Vec::new();
    /// for (_, doc) in parse_documents(yaml) {
    ///     match Manifest::from_value(doc.unwrap().value).unwrap() {
    ///         Manifest::ExternalSecret(es) => external_secrets.push(*es),
    ///         other => catalog.add(other),
    ///     }
    /// }
    /// let reconciler = Reconciler::new(Arc::new(MemoryCluster::new()), catalog);
    /// let pass = Pass::new();
    /// let now = jiff::Timestamp::UNIX_EPOCH;
    /// // The in-memory provider does not batch, so nothing is read ahead.
    /// assert_eq!(reconciler.prefetch(&pass, &external_secrets, now).await, 0);
    /// for es in &external_secrets {
    ///     reconciler.reconcile_external_secret(es, &pass, now).await;
    /// }
    /// assert_eq!(pass.provider_reads(), 1);
    /// # });
    /// ```
    pub async fn prefetch(
        &self,
        pass: &Pass,
        external_secrets: &[ExternalSecret],
        now: jiff::Timestamp,
    ) -> usize {
        let mut groups: BTreeMap<(StoreIdentity, String), StoreReads> = BTreeMap::new();
        for es in external_secrets {
            if !self.due_for_refresh(es, now).await {
                continue;
            }
            let ns = es.namespace().unwrap_or("default").to_owned();
            let default_ref = es.spec.secret_store_ref.clone().unwrap_or_default();
            let mut wanted: Vec<(bool, &crate::api::SecretStoreRef, RemoteRef)> = Vec::new();
            for entry in es.spec.data_from.iter().flatten() {
                let source = entry.source_ref.as_ref();
                if source.is_some_and(|s| s.generator_ref.is_some()) {
                    continue;
                }
                if let Some(x) = &entry.extract {
                    let store_ref = source
                        .and_then(|s| s.store_ref.as_ref())
                        .unwrap_or(&default_ref);
                    wanted.push((true, store_ref, remote_ref(x)));
                }
            }
            for entry in es.spec.data.iter().flatten() {
                let store_ref = entry
                    .source_ref
                    .as_ref()
                    .and_then(|s| s.store_ref.as_ref())
                    .unwrap_or(&default_ref);
                wanted.push((false, store_ref, remote_ref(&entry.remote_ref)));
            }
            for (map, store_ref, r) in wanted {
                let Ok((store, provider)) = self.store_provider(store_ref, &ns, "").await else {
                    continue;
                };
                if !provider.supports_batch_reads() || pass.holds(&store, &ns, &r, map) {
                    continue;
                }
                let group = groups
                    .entry((store.clone(), ns.clone()))
                    .or_insert_with(|| StoreReads {
                        store,
                        namespace: ns.clone(),
                        provider,
                        reads: Vec::new(),
                    });
                let read = if map {
                    BatchRead::Map(r)
                } else {
                    BatchRead::Value(r)
                };
                if !group.reads.contains(&read) {
                    group.reads.push(read);
                }
            }
        }
        let mut filled = 0;
        for g in groups.into_values() {
            if g.reads.is_empty() {
                continue;
            }
            pass.count_batch();
            let results = g.provider.get_batch(&g.reads).await;
            for (read, res) in g.reads.iter().zip(results) {
                match (read, res) {
                    (BatchRead::Value(r), Ok(BatchValue::Value(v))) => {
                        pass.prefill_value(&g.store, &g.namespace, r, v);
                        filled += 1;
                    }
                    (BatchRead::Map(r), Ok(BatchValue::Map(m))) => {
                        pass.prefill_map(&g.store, &g.namespace, r, m);
                        filled += 1;
                    }
                    _ => {}
                }
            }
        }
        filled
    }

    /// Whether `reconcile_external_secret` at `now` would fetch data (and not skip).
    async fn due_for_refresh(&self, es: &ExternalSecret, now: jiff::Timestamp) -> bool {
        if es.spec.target.manifest.is_some() {
            return false;
        }
        let ns = es.namespace().unwrap_or("default");
        let target = es
            .spec
            .target
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| es.name().to_owned());
        let Ok(existing) = self.cluster().get_secret(ns, &target).await else {
            return false;
        };
        let status = es.status.clone().unwrap_or_default();
        let interval = es.spec.refresh_interval.to_std().unwrap_or_default();
        let labels = es.metadata.labels.clone().unwrap_or_default();
        let annotations = es.metadata.annotations.clone().unwrap_or_default();
        let rv = resource_version(es.metadata.generation.unwrap_or(0), &labels, &annotations);
        self.should_refresh(es, &status, &rv, now, interval, std::time::Duration::ZERO)
            || !self.is_secret_valid(es, existing.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::api::{Manifest, parse_documents};
    use crate::cluster::{Cluster as _, MemoryCluster};
    use crate::provider::{
        Capabilities, FindRef, InMemory, InMemoryFactory, Provider, ProviderFactory,
        ProviderRegistry, PushRef, PushValue, StoreContext, Validation,
    };
    use crate::reconcile::MemoryCatalog;
    use crate::{Result, SecretMap, SecretValue};

    /// InMemory that declares batch reads and counts calls.
    #[derive(Debug, Default)]
    struct Counting {
        inner: InMemory,
        single: AtomicUsize,
        batches: AtomicUsize,
        batched_refs: AtomicUsize,
    }

    #[async_trait]
    impl Provider for Counting {
        fn capabilities(&self) -> Capabilities {
            Capabilities::ALL
        }
        async fn get_secret(&self, r: &RemoteRef) -> Result<SecretValue> {
            self.single.fetch_add(1, Ordering::SeqCst);
            self.inner.get_secret(r).await
        }
        async fn get_secret_map(&self, r: &RemoteRef) -> Result<SecretMap> {
            self.single.fetch_add(1, Ordering::SeqCst);
            self.inner.get_secret_map(r).await
        }
        async fn get_all_secrets(&self, find: &FindRef) -> Result<SecretMap> {
            self.inner.get_all_secrets(find).await
        }
        async fn push_secret(&self, value: &PushValue, r: &PushRef) -> Result<()> {
            self.inner.push_secret(value, r).await
        }
        async fn delete_secret(&self, r: &PushRef) -> Result<()> {
            self.inner.delete_secret(r).await
        }
        async fn secret_exists(&self, r: &PushRef) -> Result<bool> {
            self.inner.secret_exists(r).await
        }
        async fn validate(&self) -> Result<Validation> {
            Ok(Validation::Ready)
        }
        fn supports_batch_reads(&self) -> bool {
            true
        }
        async fn get_batch(&self, reads: &[BatchRead]) -> Vec<Result<BatchValue>> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            self.batched_refs.fetch_add(reads.len(), Ordering::SeqCst);
            self.inner.get_batch(reads).await
        }
    }

    #[derive(Debug)]
    struct CountingFactory(Arc<Counting>);

    #[async_trait]
    impl ProviderFactory for CountingFactory {
        fn kind(&self) -> &'static str {
            InMemoryFactory::KIND
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::ALL
        }
        fn validate_store(
            &self,
            _: &crate::api::SecretStoreProvider,
            _: &crate::provider::StoreIdentity,
        ) -> Result<Vec<String>> {
            Ok(Vec::new())
        }
        async fn new_provider(&self, _: &StoreContext<'_>) -> Result<DynProvider> {
            Ok(Arc::clone(&self.0) as DynProvider)
        }
    }

    fn load(yaml: &str) -> (MemoryCatalog, Vec<ExternalSecret>) {
        let mut catalog = MemoryCatalog::default();
        let mut es = Vec::new();
        for (_, doc) in parse_documents(yaml) {
            match Manifest::from_value(doc.unwrap().value).unwrap() {
                Manifest::ExternalSecret(e) => es.push(*e),
                other => catalog.add(other),
            }
        }
        (catalog, es)
    }

    fn es(name: &str, body: &str) -> String {
        format!(
            "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  secretStoreRef: {{name: mem}}\n{body}\n"
        )
    }

    #[tokio::test]
    async fn many_external_secrets_one_batch_call() {
        let mut yaml = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: mem, namespace: default}\nspec: {provider: {fake: {data: []}}}\n".to_owned();
        for i in 0..6 {
            let key = format!("k{}", i % 3);
            yaml += &es(
                &format!("es{i}"),
                &format!(
                    "  data: [{{secretKey: a, remoteRef: {{key: {key}, property: user}}}}, {{secretKey: b, remoteRef: {{key: {key}}}}}]\n  dataFrom: [{{extract: {{key: {key}}}}}]"
                ),
            );
        }
        // One ExternalSecret reads a secret that does not exist: not prefilled, and the
        // reconcile reads it itself.
        yaml += &es(
            "missing",
            "  data: [{secretKey: a, remoteRef: {key: nope}}]",
        );
        let (catalog, external_secrets) = load(&yaml);
        let mut inner = InMemory::new();
        for i in 0..3 {
            inner = inner.with_secret(format!("k{i}"), format!(r#"{{"user":"u{i}"}}"#));
        }
        let counting = Arc::new(Counting {
            inner,
            ..Counting::default()
        });
        let mut registry = ProviderRegistry::empty();
        registry.register(Arc::new(CountingFactory(Arc::clone(&counting))));
        let cluster = Arc::new(MemoryCluster::new());
        let r = Reconciler::new(cluster.clone(), catalog).with_providers(Arc::new(registry));
        let pass = Pass::new();
        let now = jiff::Timestamp::UNIX_EPOCH;

        // 3 keys x (property, whole) values + 3 maps.
        assert_eq!(r.prefetch(&pass, &external_secrets, now).await, 9);
        assert_eq!(counting.batches.load(Ordering::SeqCst), 1);
        assert_eq!(counting.batched_refs.load(Ordering::SeqCst), 6 + 1 + 3);
        assert_eq!(counting.single.load(Ordering::SeqCst), 0);
        for e in &external_secrets {
            let out = r.reconcile_external_secret(e, &pass, now).await;
            assert_eq!(
                out.error().is_none(),
                e.name() != "missing",
                "{:?}",
                out.error()
            );
        }
        // Only the missing secret was read again (and NotFound is not remembered).
        assert_eq!(counting.single.load(Ordering::SeqCst), 1);
        assert_eq!(pass.provider_reads(), 2);
        let s = cluster.get_secret("default", "es4").await.unwrap().unwrap();
        assert_eq!(s.data["a"].expose(), b"u1");
        assert_eq!(s.data["user"].expose(), b"u1");

        // A second prefetch in the same pass only asks again for the missing secret;
        // ExternalSecrets that are synced and not due are skipped in a new pass.
        assert_eq!(r.prefetch(&pass, &external_secrets, now).await, 0);
        assert_eq!(counting.batches.load(Ordering::SeqCst), 2);
        assert_eq!(counting.batched_refs.load(Ordering::SeqCst), 6 + 1 + 3 + 1);
        let mut synced = Vec::new();
        for e in external_secrets.iter().filter(|e| e.name() != "missing") {
            let mut e = e.clone();
            e.status = Some(
                r.reconcile_external_secret(&e, &Pass::new(), now)
                    .await
                    .status,
            );
            synced.push(e);
        }
        for e in &synced {
            assert!(
                !r.due_for_refresh(e, now).await,
                "{} {:?}",
                e.name(),
                e.status
            );
        }
        let before = counting.batches.load(Ordering::SeqCst);
        r.prefetch(&Pass::new(), &synced, now).await;
        assert_eq!(counting.batches.load(Ordering::SeqCst), before);
    }

    #[tokio::test]
    async fn providers_without_batch_reads_are_left_alone() {
        let yaml = "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: mem, namespace: default}\nspec: {provider: {fake: {data: [{key: k, value: v}]}}}\n".to_owned()
            + &es("a", "  data: [{secretKey: a, remoteRef: {key: k}}]");
        let (catalog, external_secrets) = load(&yaml);
        let r = Reconciler::new(Arc::new(MemoryCluster::new()), catalog);
        let pass = Pass::new();
        let now = jiff::Timestamp::UNIX_EPOCH;
        assert_eq!(r.prefetch(&pass, &external_secrets, now).await, 0);
        assert_eq!(pass.provider_reads(), 0);
    }
}
