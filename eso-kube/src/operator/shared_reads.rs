//! Provider reads shared across the operator's ExternalSecret reconciles, and refreshes
//! grouped so that they share them.
//!
//! - **One pass for all reconciles** ([`Pass::shared`]): the same remote read (store,
//!   credential namespace, key, property, version) made by reconciles within the read
//!   window goes to the provider once; no reconcile takes a value older than the window, nor
//!   older than its own ExternalSecret's `refreshInterval`. Single reads of providers that
//!   batch (AWS Secrets Manager) are gathered for a few milliseconds into one batch call,
//!   filled up to the batch size with the store's other recently asked secrets.
//! - **Refreshes on the store's beat**: the periodic refreshes of the ExternalSecrets of one
//!   store and one `refreshInterval` happen together, at the store's ticks: every
//!   `refreshInterval`, at an offset within it that is a hash of the store (so different
//!   stores refresh at different moments). At each tick every such ExternalSecret refreshes,
//!   a little early rather than late when its own refresh would fall before the next tick,
//!   so no value is ever older than its interval. Within a tick (a second at most) the
//!   ExternalSecrets come in the order of the first secret they read, so the readers of one
//!   secret reconcile one after another and share its read even when the whole tick's
//!   reconciles outlast the read window. The reads of one tick are made once per distinct
//!   secret, where the per-object jitter used without sharing spreads them, and their reads,
//!   over the whole interval.
//!
//! Without sharing (a zero read window) each reconcile has a pass of its own and refreshes
//! keep the per-object jitter.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use eso_core::api::{ExternalSecret, ExternalSecretRefreshPolicy};
use eso_core::reconcile::Pass;
use kube::ResourceExt as _;

/// The operator's shared reads (present when the read window is not zero).
#[derive(Clone, Debug)]
pub(super) struct SharedReads {
    pass: Pass,
    window: Duration,
}

impl SharedReads {
    /// Reads shared within `window`, batching reads gathered for `gather`; `None` for a zero
    /// window.
    pub(super) fn new(window: Duration, gather: Duration) -> Option<Self> {
        (!window.is_zero()).then(|| Self {
            pass: Pass::shared(window, gather),
            window,
        })
    }

    /// The pass `es`'s reconcile at `now` reads through: nothing older than its interval,
    /// and its refresh made now when it falls due before the store's next tick.
    pub(super) fn pass_for(&self, es: &ExternalSecret, now: jiff::Timestamp) -> Pass {
        let Some(interval) = periodic_interval(es) else {
            return self.pass.at_most(self.window);
        };
        let pass = self.pass.at_most(self.window.min(interval));
        match next_tick(es, interval, now) {
            Some(tick) => pass.refreshing_ahead(until(now, tick)),
            None => pass,
        }
    }

    /// How long until `es`'s next refresh: the store's next tick after `now` (`None` when it
    /// does not refresh periodically).
    pub(super) fn next_refresh(
        &self,
        es: &ExternalSecret,
        now: jiff::Timestamp,
    ) -> Option<Duration> {
        let interval = periodic_interval(es)?;
        next_tick(es, interval, now).map(|tick| until(now, tick))
    }
}

/// `es`'s refresh interval when it refreshes periodically.
fn periodic_interval(es: &ExternalSecret) -> Option<Duration> {
    let periodic = matches!(
        es.spec.refresh_policy,
        None | Some(ExternalSecretRefreshPolicy::Periodic)
    );
    let interval = es.spec.refresh_interval.to_std().unwrap_or_default();
    (periodic && !interval.is_zero()).then_some(interval)
}

fn until(now: jiff::Timestamp, tick: jiff::Timestamp) -> Duration {
    Duration::try_from(tick.duration_since(now)).unwrap_or_default()
}

/// The longest spread of one store's tick: the ExternalSecrets reading one remote secret
/// refresh at the same moment within it, so their reconciles follow each other and share
/// that read, however long the whole tick's reconciles take.
const KEY_SPREAD_MS: u64 = 1000;

/// The first remote key `es` reads (its first `data` entry, else its first `dataFrom`
/// extract), which orders its refresh within its store's tick.
fn first_remote_key(es: &ExternalSecret) -> Option<&str> {
    let data = es
        .spec
        .data
        .iter()
        .flatten()
        .map(|d| d.remote_ref.key.as_str());
    let extract = es
        .spec
        .data_from
        .iter()
        .flatten()
        .filter_map(|d| d.extract.as_ref());
    data.chain(extract.map(|r| r.key.as_str())).next()
}

/// The first tick of `es` after `now`: ticks are `interval` apart, at an offset that is a
/// hash of the store `es` reads from (of `es` itself when it names no store), plus a spread
/// of at most a second (a tenth of the interval when shorter) that is a hash of the first
/// remote key `es` reads, so a store's refreshes come in the order of their secrets.
fn next_tick(
    es: &ExternalSecret,
    interval: Duration,
    now: jiff::Timestamp,
) -> Option<jiff::Timestamp> {
    let period = i64::try_from(interval.as_millis())
        .ok()
        .filter(|p| *p > 0)?;
    let mut h = DefaultHasher::new();
    es.namespace().hash(&mut h);
    match &es.spec.secret_store_ref {
        Some(store) => (store.kind(), &store.name).hash(&mut h),
        None => es.name_any().hash(&mut h),
    }
    let store_offset = h.finish() % period.unsigned_abs();
    let spread = KEY_SPREAD_MS.min(period.unsigned_abs() / 10).max(1);
    let mut k = DefaultHasher::new();
    first_remote_key(es).hash(&mut k);
    let key_offset = k.finish() % spread;
    let offset = i64::try_from((store_offset + key_offset) % period.unsigned_abs()).ok()?;
    let t = now.as_millisecond();
    let k = (t - offset).div_euclid(period) + 1;
    jiff::Timestamp::from_millisecond(offset + k * period).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es(name: &str, store: &str, interval: &str) -> ExternalSecret {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"refreshInterval": interval, "secretStoreRef": {"name": store}}
        }))
        .unwrap()
    }

    fn at(ms: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(ms).unwrap()
    }

    #[test]
    fn the_external_secrets_of_a_store_share_its_ticks() {
        let shared = SharedReads::new(Duration::from_secs(10), Duration::ZERO).unwrap();
        let now = at(1_800_000_000_000);
        let a = shared.next_refresh(&es("a", "aws", "1m"), now).unwrap();
        let b = shared.next_refresh(&es("b", "aws", "1m"), now).unwrap();
        assert_eq!(a, b, "one store, one interval: one tick");
        assert!(a <= Duration::from_secs(60));
        let other = shared.next_refresh(&es("a", "vault", "1m"), now).unwrap();
        assert_ne!(a, other, "another store ticks at another moment");
        // Right after a tick, the next one is a whole interval away.
        let tick = now + jiff::SignedDuration::try_from(a).unwrap();
        assert_eq!(
            shared.next_refresh(&es("a", "aws", "1m"), tick).unwrap(),
            Duration::from_secs(60)
        );
        // At the tick, a refresh due before the next tick is made now.
        let pass = shared.pass_for(&es("a", "aws", "1m"), tick);
        assert_eq!(pass.refresh_ahead(), Duration::from_secs(60));
    }

    fn reading(name: &str, key: &str) -> ExternalSecret {
        let mut e = es(name, "aws", "1m");
        e.spec.data = Some(vec![
            serde_json::from_value(
                serde_json::json!({"secretKey": "v", "remoteRef": {"key": key}}),
            )
            .unwrap(),
        ]);
        e
    }

    #[test]
    fn within_a_tick_the_readers_of_one_secret_refresh_together() {
        let shared = SharedReads::new(Duration::from_secs(10), Duration::ZERO).unwrap();
        let now = at(1_800_000_000_000);
        let a = shared.next_refresh(&reading("a", "db"), now).unwrap();
        let b = shared.next_refresh(&reading("b", "db"), now).unwrap();
        assert_eq!(a, b, "one store, one secret: one moment");
        // Other secrets of the store: within a second of it, at most, every interval.
        for key in ["api", "cache", "queue", "mail"] {
            let other = shared.next_refresh(&reading("c", key), now).unwrap();
            let apart = a.abs_diff(other);
            assert!(
                apart < Duration::from_secs(1) || apart > Duration::from_secs(59),
                "{key}: {apart:?}"
            );
            let later = now + jiff::SignedDuration::try_from(other).unwrap();
            assert_eq!(
                shared.next_refresh(&reading("c", key), later).unwrap(),
                Duration::from_secs(60)
            );
        }
    }

    #[test]
    fn no_ticks_without_a_periodic_refresh_and_no_sharing_without_a_window() {
        let shared = SharedReads::new(Duration::from_secs(10), Duration::ZERO).unwrap();
        assert!(shared.next_refresh(&es("a", "aws", "0s"), at(0)).is_none());
        let mut once = es("a", "aws", "1m");
        once.spec.refresh_policy = Some(ExternalSecretRefreshPolicy::CreatedOnce);
        assert!(shared.next_refresh(&once, at(0)).is_none());
        assert!(SharedReads::new(Duration::ZERO, Duration::ZERO).is_none());
    }
}
