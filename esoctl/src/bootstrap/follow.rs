//! Following the PushSecrets that select the planned Secrets: which PushSecret x store is
//! expected, its state from ESO's status (`Synced`, `Errored`, or pending), and, with
//! `--push-now`, running the push flow in-process and writing that status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eso_core::api::{
    ClusterSecretStore, LabelSelector, Manifest, PushSecret, PushSecretStatus, SecretStore,
    SecretStoreKind,
};
use eso_core::cluster::LabelQuery;
use eso_core::generator::GeneratorRegistry;
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{MemoryCatalog, Reconciler};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::Interrupt;
use super::plan::Plan;

/// One PushSecret that selects a planned Secret, and the stores it pushes to.
#[derive(Debug)]
pub(crate) struct Push {
    /// `namespace/name` of the PushSecret.
    pub(crate) id: String,
    /// The PushSecret as last read (or as the in-process push left it).
    pub(crate) object: PushSecret,
    /// The planned Secrets it selects (`namespace/name`).
    pub(crate) secrets: Vec<String>,
    /// The stores, as `Kind/name` (the keys of `status.syncedPushSecrets`).
    pub(crate) stores: Vec<String>,
    /// A status older than this does not count (a source Secret was just written).
    pub(crate) fresh_after: Option<jiff::Timestamp>,
    /// The state per store.
    pub(crate) states: BTreeMap<String, PushState>,
}

/// The state of one PushSecret x store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PushState {
    /// Not (yet) synced since the write.
    Pending,
    /// Pushed.
    Synced,
    /// The status reports an error for this store (or for the whole PushSecret).
    Errored(String),
}

impl std::fmt::Display for PushState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pending => f.write_str("Pending"),
            Self::Synced => f.write_str("Synced"),
            Self::Errored(m) => write!(f, "Errored: {m}"),
        }
    }
}

fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    LabelQuery::from_selector(sel, "selector").is_ok_and(|q| q.matches(labels))
}

/// Finds the PushSecrets selecting the planned Secrets (by name or label selector), given
/// each Secret's labels now (`labels`, by `namespace/name`) and the Secrets just written
/// (with the time of the write).
pub(crate) async fn find(
    plan: &Plan,
    labels: &BTreeMap<String, BTreeMap<String, String>>,
    written: &BTreeMap<String, jiff::Timestamp>,
    client: &kube::Client,
) -> Result<Vec<Push>, String> {
    let mut namespaces: Vec<&str> = plan.secrets.iter().map(|s| s.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let cluster_stores: Vec<ClusterSecretStore> = Api::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .map_err(|e| format!("list ClusterSecretStores: {e}"))?;
    let mut out = Vec::new();
    for ns in namespaces {
        let pss: Vec<PushSecret> = Api::namespaced(client.clone(), ns)
            .list(&ListParams::default())
            .await
            .map(|l| l.items)
            .map_err(|e| format!("list PushSecrets in {ns}: {e}"))?;
        let mut stores_here: Option<Vec<SecretStore>> = None;
        for ps in pss {
            if ps.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some(sel) = &ps.spec.selector.secret else {
                continue;
            };
            let secrets: Vec<String> = plan
                .secrets
                .iter()
                .filter(|s| s.namespace == ns)
                .filter(|s| {
                    sel.name.as_deref() == Some(s.name.as_str())
                        || sel.selector.as_ref().is_some_and(|q| {
                            labels.get(&s.id()).is_some_and(|l| selector_matches(q, l))
                        })
                })
                .map(super::plan::PlanSecret::id)
                .collect();
            if secrets.is_empty() {
                continue;
            }
            let mut stores = Vec::new();
            for r in &ps.spec.secret_store_refs {
                if let Some(name) = r.name.as_deref().filter(|n| !n.is_empty()) {
                    stores.push(format!("{}/{name}", r.kind.as_str()));
                } else if let Some(q) = &r.label_selector {
                    match r.kind {
                        SecretStoreKind::ClusterSecretStore => {
                            for s in &cluster_stores {
                                if selector_matches(q, s.labels()) {
                                    stores.push(format!("ClusterSecretStore/{}", s.name_any()));
                                }
                            }
                        }
                        SecretStoreKind::SecretStore => {
                            if stores_here.is_none() {
                                stores_here = Some(
                                    Api::<SecretStore>::namespaced(client.clone(), ns)
                                        .list(&ListParams::default())
                                        .await
                                        .map(|l| l.items)
                                        .map_err(|e| format!("list SecretStores in {ns}: {e}"))?,
                                );
                            }
                            for s in stores_here.iter().flatten() {
                                if selector_matches(q, s.labels()) {
                                    stores.push(format!("SecretStore/{}", s.name_any()));
                                }
                            }
                        }
                    }
                }
            }
            stores.sort();
            stores.dedup();
            let fresh_after = secrets.iter().filter_map(|s| written.get(s)).max().copied();
            let mut push = Push {
                id: format!("{ns}/{}", ps.name_any()),
                object: ps,
                secrets,
                stores,
                fresh_after,
                states: BTreeMap::new(),
            };
            push.evaluate();
            out.push(push);
        }
    }
    Ok(out)
}

impl Push {
    /// Recomputes the per-store states from the object's status.
    fn evaluate(&mut self) {
        let status = self.object.status.clone().unwrap_or_default();
        self.states = self
            .stores
            .iter()
            .map(|store| (store.clone(), state_of(&status, store, self.fresh_after)))
            .collect();
    }

    /// True when every store is synced.
    pub(crate) fn done(&self) -> bool {
        self.states.values().all(|s| *s == PushState::Synced)
    }
}

/// The state of `store` in a PushSecret status; a status from before `fresh_after` counts
/// as pending (ESO writes `refreshTime` at second precision).
fn state_of(
    status: &PushSecretStatus,
    store: &str,
    fresh_after: Option<jiff::Timestamp>,
) -> PushState {
    let ready = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let Some(ready) = ready else {
        return PushState::Pending;
    };
    let fresh = fresh_after.is_none_or(|t| {
        status
            .refresh_time
            .as_deref()
            .and_then(|r| r.parse::<jiff::Timestamp>().ok())
            .is_some_and(|r| r.as_second() >= t.as_second())
    });
    let in_synced = status
        .synced_push_secrets
        .as_ref()
        .is_some_and(|m| m.contains_key(store));
    if ready.status == "True" {
        return if fresh && in_synced {
            PushState::Synced
        } else {
            PushState::Pending
        };
    }
    let message = ready.message.clone().unwrap_or_default();
    // The flows write one "Kind/name: error" part per failing store.
    let prefix = format!("{store}: ");
    if let Some(part) = message.split("; ").find(|p| p.starts_with(&prefix)) {
        return PushState::Errored(part[prefix.len()..].to_owned());
    }
    let store_like =
        |p: &str| p.starts_with("SecretStore/") || p.starts_with("ClusterSecretStore/");
    if message.split("; ").any(store_like) {
        // Other stores failed; this one keeps its entries.
        return if in_synced && fresh {
            PushState::Synced
        } else {
            PushState::Pending
        };
    }
    PushState::Errored(message)
}

/// True when `--push-now` runs this PushSecret: its source was just written, or a store is
/// not synced yet (a failed push of an earlier run is tried again).
pub(crate) fn wants_push(p: &Push) -> bool {
    p.fresh_after.is_some() || !p.done()
}

/// Runs the push flow of each PushSecret that [`wants_push`], in-process, through the
/// providers of this build, and writes the status ESO would; returns their ids.
pub(crate) async fn push_now(
    pushes: &mut [Push],
    client: &kube::Client,
    generators: Arc<GeneratorRegistry>,
) -> Result<Vec<String>, String> {
    let mut catalog = MemoryCatalog::new();
    let stores: Vec<SecretStore> = Api::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .map_err(|e| format!("list SecretStores: {e}"))?;
    for s in stores {
        catalog.add(Manifest::SecretStore(Box::new(s)));
    }
    let cluster_stores: Vec<ClusterSecretStore> = Api::all(client.clone())
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .map_err(|e| format!("list ClusterSecretStores: {e}"))?;
    for s in cluster_stores {
        catalog.add(Manifest::ClusterSecretStore(Box::new(s)));
    }
    let mut providers = ProviderRegistry::new();
    crate::providers::register_providers(&mut providers);
    let reconciler = Reconciler::new(super::apply::cluster(client), catalog)
        .with_providers(Arc::new(providers))
        .with_generators(generators);
    let mut pushed = Vec::new();
    for push in pushes.iter_mut().filter(|p| wants_push(p)) {
        let mut forced = push.object.clone();
        // Due now, whatever the refresh interval says: the source just changed.
        if let Some(st) = forced.status.as_mut() {
            st.refresh_time = None;
        }
        let now = jiff::Timestamp::now();
        let outcome = reconciler.reconcile_push_secret(&forced, now).await;
        eso_kube::status::patch_status(client, &push.object, &outcome.status)
            .await
            .map_err(|e| format!("PushSecret {}: {e}", push.id))?;
        push.object.status = Some(outcome.status);
        push.evaluate();
        pushed.push(push.id.clone());
    }
    Ok(pushed)
}

/// Re-reads every unfinished PushSecret until all are synced, `timeout` passes or Ctrl-C;
/// prints each state change as it is seen.
pub(crate) async fn watch(
    pushes: &mut [Push],
    client: &kube::Client,
    timeout: Duration,
    interrupt: &Interrupt,
    print: &dyn Fn(&Push, &str, &PushState),
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if pushes.iter().all(Push::done) || interrupt.is_set() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return,
            () = interrupt.wait() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        for p in pushes.iter_mut().filter(|p| !p.done()) {
            let (ns, name) = p.id.split_once('/').unwrap_or_default();
            let Ok(obj) = Api::<PushSecret>::namespaced(client.clone(), ns)
                .get(name)
                .await
            else {
                continue;
            };
            p.object = obj;
            let before = p.states.clone();
            p.evaluate();
            for (store, state) in &p.states {
                if before.get(store) != Some(state) {
                    print(p, store, state);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eso_core::api::Condition;

    fn status(
        ready: &str,
        message: &str,
        refresh: Option<&str>,
        synced: &[&str],
    ) -> PushSecretStatus {
        let mut s = PushSecretStatus::default();
        let c: Condition = serde_json::from_value(serde_json::json!(
            {"type": "Ready", "status": ready, "message": message}))
        .unwrap();
        s.conditions = Some(vec![c]);
        s.refresh_time = refresh.map(str::to_owned);
        s.synced_push_secrets = Some(
            synced
                .iter()
                .map(|k| ((*k).to_owned(), BTreeMap::new()))
                .collect(),
        );
        s
    }

    #[test]
    fn states_follow_the_status() {
        let t: jiff::Timestamp = "2026-01-01T00:00:10.5Z".parse().unwrap();
        let r1 = "ClusterSecretStore/r1";
        let ok = status("True", "ok", Some("2026-01-01T00:00:10Z"), &[r1]);
        assert_eq!(state_of(&ok, r1, Some(t)), PushState::Synced);
        let old = status("True", "ok", Some("2026-01-01T00:00:09Z"), &[r1]);
        assert_eq!(state_of(&old, r1, Some(t)), PushState::Pending);
        assert_eq!(state_of(&old, r1, None), PushState::Synced);
        let err = status(
            "False",
            "ClusterSecretStore/r2: connection refused",
            None,
            &[r1],
        );
        assert_eq!(
            state_of(&err, "ClusterSecretStore/r2", None),
            PushState::Errored("connection refused".into())
        );
        assert_eq!(state_of(&err, r1, None), PushState::Synced);
        let whole = status("False", "could not get source secret", None, &[]);
        assert!(matches!(state_of(&whole, r1, None), PushState::Errored(_)));
        assert_eq!(
            state_of(&PushSecretStatus::default(), r1, None),
            PushState::Pending
        );
    }
}
