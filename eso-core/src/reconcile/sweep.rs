//! One pass over every object, in the order the flows depend on each other: [`Sweep`].

use std::collections::BTreeSet;

use super::{
    ClusterChanges, ClusterExternalSecretOutcome, ClusterPushSecretOutcome, ExternalSecretOutcome,
    Pass, PushSecretOutcome, Reconciler, StoreOutcome, WorkloadAction,
};
use crate::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, EsoResource, ExternalSecret,
    PushSecret, SecretStore,
};

/// The objects of one pass, in any order. [`Reconciler::sweep`] reconciles them in the order
/// the flows depend on each other.
///
/// Objects being deleted are the host's business (run the `delete_*` flows for them) and
/// should not be listed.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Sweep {
    /// SecretStores.
    pub secret_stores: Vec<SecretStore>,
    /// ClusterSecretStores.
    pub cluster_secret_stores: Vec<ClusterSecretStore>,
    /// ClusterExternalSecrets.
    pub cluster_external_secrets: Vec<ClusterExternalSecret>,
    /// ClusterPushSecrets.
    pub cluster_push_secrets: Vec<ClusterPushSecret>,
    /// PushSecrets.
    pub push_secrets: Vec<PushSecret>,
    /// ExternalSecrets.
    pub external_secrets: Vec<ExternalSecret>,
}

/// `namespace/name` of an object in a [`SweepReport`] (namespace empty for cluster kinds).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct ObjectKey {
    /// The namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `namespace/name` (an empty namespace for cluster-scoped kinds).
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    fn of(obj: &impl EsoResource) -> Self {
        Self {
            namespace: obj.namespace().unwrap_or_default().to_owned(),
            name: obj.name().to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// What a [`Reconciler::sweep`] did: one outcome per object, each with its key, kind by kind
/// in the order they ran. ExternalSecrets and PushSecrets that a cluster kind stamped out
/// during the pass are included.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct SweepReport {
    /// SecretStores.
    pub secret_stores: Vec<(ObjectKey, StoreOutcome)>,
    /// ClusterSecretStores.
    pub cluster_secret_stores: Vec<(ObjectKey, StoreOutcome)>,
    /// ClusterExternalSecrets.
    pub cluster_external_secrets: Vec<(ObjectKey, ClusterExternalSecretOutcome)>,
    /// ClusterPushSecrets.
    pub cluster_push_secrets: Vec<(ObjectKey, ClusterPushSecretOutcome)>,
    /// PushSecrets, those reading an ExternalSecret's target last.
    pub push_secrets: Vec<(ObjectKey, PushSecretOutcome)>,
    /// ExternalSecrets.
    pub external_secrets: Vec<(ObjectKey, ExternalSecretOutcome)>,
    /// Reads sent to providers in this pass (a batched read counts once).
    pub provider_reads: u64,
    /// The generator states collected at the end of the pass.
    pub generator_states: super::GeneratorStateReport,
}

impl SweepReport {
    /// How many objects failed.
    pub fn failures(&self) -> usize {
        let failed = |ok: bool| usize::from(!ok);
        self.secret_stores
            .iter()
            .chain(&self.cluster_secret_stores)
            .map(|(_, o)| failed(o.is_ok()))
            .chain(
                self.cluster_external_secrets
                    .iter()
                    .map(|(_, o)| failed(o.is_ok())),
            )
            .chain(
                self.cluster_push_secrets
                    .iter()
                    .map(|(_, o)| failed(o.is_ok())),
            )
            .chain(self.push_secrets.iter().map(|(_, o)| failed(o.is_ok())))
            .chain(self.external_secrets.iter().map(|(_, o)| failed(o.is_ok())))
            .sum()
    }
}

impl Reconciler {
    /// Reconciles every object of `sweep` once, in the order the flows depend on:
    ///
    /// 1. stores (their clients are built and validated, so the cache is warm);
    /// 2. ClusterExternalSecrets and ClusterPushSecrets (the objects they stamp out through
    ///    the [`WorkloadStore`](super::WorkloadStore) join this pass);
    /// 3. PushSecrets that do not read a Secret an ExternalSecret writes;
    /// 4. a batched read-ahead of what the due ExternalSecrets read ([`Reconciler::prefetch`]);
    /// 5. ExternalSecrets, all through one [`Pass`] (each distinct remote read once);
    /// 6. PushSecrets that read an ExternalSecret's target, so they push what step 5 wrote;
    /// 7. generator states past their deadline are cleaned up and deleted
    ///    ([`Reconciler::collect_generator_states`]).
    ///
    /// The statuses are in the report; persisting them is the host's job.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eso_core::api::{Manifest, parse_documents};
    /// use eso_core::cluster::{Cluster, MemoryCluster};
    /// use eso_core::reconcile::{MemoryCatalog, Reconciler, Sweep};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let yaml = r#"
    /// apiVersion: external-secrets.io/v1
    /// kind: SecretStore
    /// metadata: {name: mem, namespace: apps}
    /// spec: {provider: {fake: {data: [{key: db, value: s3cr3t}]}}}
    /// ---
    /// apiVersion: external-secrets.io/v1
    /// kind: ExternalSecret
    /// metadata: {name: db, namespace: apps}
    /// spec:
    ///   secretStoreRef: {name: mem}
    ///   data: [{secretKey: password, remoteRef: {key: db}}]
    /// "#;
    /// let mut catalog = MemoryCatalog::new();
    /// let mut sweep = Sweep::default();
    /// for (_, doc) in parse_documents(yaml) {
    ///     match Manifest::from_value(doc.unwrap().value).unwrap() {
    ///         Manifest::SecretStore(s) => {
    ///             sweep.secret_stores.push((*s).clone());
    ///             catalog.add(Manifest::SecretStore(s));
    ///         }
    ///         Manifest::ExternalSecret(es) => sweep.external_secrets.push(*es),
    ///         _ => {}
    ///     }
    /// }
    /// let cluster = Arc::new(MemoryCluster::new());
    /// let report = Reconciler::new(cluster.clone(), catalog)
    ///     .sweep(sweep, jiff::Timestamp::UNIX_EPOCH)
    ///     .await;
    /// assert_eq!(report.failures(), 0);
    /// let secret = cluster.get_secret("apps", "db").await.unwrap().unwrap();
    /// assert_eq!(secret.data["password"].expose(), b"s3cr3t");
    /// # });
    /// ```
    pub async fn sweep(&self, sweep: Sweep, now: jiff::Timestamp) -> SweepReport {
        let Sweep {
            secret_stores,
            cluster_secret_stores,
            cluster_external_secrets,
            cluster_push_secrets,
            mut push_secrets,
            mut external_secrets,
        } = sweep;
        let mut report = SweepReport::default();
        for s in &secret_stores {
            let out = self.reconcile_store(s, now).await;
            report.secret_stores.push((ObjectKey::of(s), out));
        }
        for s in &cluster_secret_stores {
            let out = self.reconcile_store(s, now).await;
            report.cluster_secret_stores.push((ObjectKey::of(s), out));
        }

        let mut known_es: BTreeSet<ObjectKey> =
            external_secrets.iter().map(ObjectKey::of).collect();
        for c in &cluster_external_secrets {
            let out = self.reconcile_cluster_external_secret(c, now).await;
            for key in stamped(&out.detail, &mut known_es) {
                let got = self
                    .workloads()
                    .get_external_secret(&key.namespace, &key.name);
                external_secrets.extend(got.await.ok().flatten());
            }
            report
                .cluster_external_secrets
                .push((ObjectKey::of(c), out));
        }
        let mut known_ps: BTreeSet<ObjectKey> = push_secrets.iter().map(ObjectKey::of).collect();
        for c in &cluster_push_secrets {
            let out = self.reconcile_cluster_push_secret(c, now).await;
            for key in stamped(&out.detail, &mut known_ps) {
                let got = self.workloads().get_push_secret(&key.namespace, &key.name);
                push_secrets.extend(got.await.ok().flatten());
            }
            report.cluster_push_secrets.push((ObjectKey::of(c), out));
        }

        // PushSecrets that read what an ExternalSecret writes run after the ExternalSecrets.
        let targets: BTreeSet<(String, String)> = external_secrets
            .iter()
            .map(|es| {
                let ns = es.namespace().unwrap_or("default").to_owned();
                let name = es
                    .spec
                    .target
                    .name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| es.name().to_owned());
                (ns, name)
            })
            .collect();
        let (late, early): (Vec<_>, Vec<_>) = push_secrets
            .into_iter()
            .partition(|ps| reads_external_secret_output(ps, &targets));
        for ps in &early {
            let out = self.reconcile_push_secret(ps, now).await;
            report.push_secrets.push((ObjectKey::of(ps), out));
        }

        let pass = Pass::new();
        self.prefetch(&pass, &external_secrets, now).await;
        for es in &external_secrets {
            let out = self.reconcile_external_secret(es, &pass, now).await;
            report.external_secrets.push((ObjectKey::of(es), out));
        }
        report.provider_reads = pass.provider_reads();

        for ps in &late {
            let out = self.reconcile_push_secret(ps, now).await;
            report.push_secrets.push((ObjectKey::of(ps), out));
        }
        report.generator_states = self.collect_generator_states(now).await;
        report
    }
}

/// The objects a cluster kind created, updated or kept that the pass does not know yet
/// (added to `known`).
fn stamped<T>(changes: &ClusterChanges<T>, known: &mut BTreeSet<ObjectKey>) -> Vec<ObjectKey> {
    changes
        .changes
        .iter()
        .filter(|c| c.action != WorkloadAction::Deleted)
        .map(|c| ObjectKey::new(c.namespace.clone(), c.name.clone()))
        .filter(|k| known.insert(k.clone()))
        .collect()
}

/// True when `ps` reads a Secret that an ExternalSecret of `targets` (namespace, name) writes,
/// or selects its source by label (which may match one).
fn reads_external_secret_output(ps: &PushSecret, targets: &BTreeSet<(String, String)>) -> bool {
    let sel = &ps.spec.selector;
    if sel.generator_ref.is_some() {
        return false;
    }
    let Some(src) = &sel.secret else {
        return false;
    };
    match src.name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => {
            let ns = ps.namespace().unwrap_or("default").to_owned();
            targets.contains(&(ns, name.to_owned()))
        }
        None => true,
    }
}
