//! Per-object exponential back-off and requeue jitter.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::Duration;

/// Exponential back-off per object key: the n-th consecutive failure of an object waits
/// `base * 2^(n-1)`, at most `max`, plus up to `jitter` of that (so objects that failed
/// together do not retry together). A success resets the object's count.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use eso_kube::operator::Backoff;
///
/// let b = Backoff::new(Duration::from_secs(5), Duration::from_secs(300)).with_jitter(0.0);
/// assert_eq!(b.failed("ExternalSecret/ns/db"), Duration::from_secs(5));
/// assert_eq!(b.failed("ExternalSecret/ns/db"), Duration::from_secs(10));
/// b.succeeded("ExternalSecret/ns/db");
/// assert_eq!(b.failed("ExternalSecret/ns/db"), Duration::from_secs(5));
/// ```
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: f64,
    failures: Mutex<HashMap<String, u32>>,
}

impl Default for Backoff {
    /// 5 s doubling to 5 min, plus up to 20 % jitter.
    fn default() -> Self {
        Self::new(Duration::from_secs(5), Duration::from_secs(300))
    }
}

impl Backoff {
    /// Back-off from `base` doubling to `max`, with 20 % jitter.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            jitter: 0.2,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Adds up to `fraction` (0.0 to 1.0) of each delay as random jitter.
    #[must_use]
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Records a failure of `key` and returns how long to wait before retrying it.
    pub fn failed(&self, key: &str) -> Duration {
        let n = {
            let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            let n = f.entry(key.to_owned()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let doublings = n.saturating_sub(1).min(20);
        let delay = self.base.saturating_mul(1 << doublings).min(self.max);
        with_jitter(delay, self.jitter)
    }

    /// Records a success of `key` (its next failure starts again at `base`).
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The consecutive failures recorded for `key`.
    pub fn failures(&self, key: &str) -> u32 {
        self.failures
            .lock()
            .map(|f| f.get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// `delay` plus a random part of up to `fraction` of it (`fraction` clamped to 0.0..=1.0), so
/// requeues of many objects spread out instead of arriving together.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// let d = eso_kube::operator::with_jitter(Duration::from_secs(60), 0.1);
/// assert!(d >= Duration::from_secs(60) && d <= Duration::from_secs(66));
/// ```
pub fn with_jitter(delay: Duration, fraction: f64) -> Duration {
    let fraction = fraction.clamp(0.0, 1.0);
    if fraction == 0.0 {
        return delay;
    }
    // A fresh random hasher key per call: randomness without a dependency.
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    #[allow(clippy::cast_precision_loss)]
    let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
    delay + delay.mul_f64(fraction * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_maximum_and_resets() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8)).with_jitter(0.0);
        let got: Vec<u64> = (0..6).map(|_| b.failed("k").as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 8, 8]);
        assert_eq!(b.failures("k"), 6);
        assert_eq!(b.failed("other").as_secs(), 1, "keys are independent");
        b.succeeded("k");
        assert_eq!(b.failures("k"), 0);
        assert_eq!(b.failed("k").as_secs(), 1);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let b = Backoff::new(Duration::from_secs(5), Duration::from_secs(300)).with_jitter(0.0);
        for _ in 0..100 {
            b.failed("k");
        }
        assert_eq!(b.failed("k"), Duration::from_secs(300));
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let base = Duration::from_secs(100);
        let all: Vec<Duration> = (0..50).map(|_| with_jitter(base, 0.2)).collect();
        assert!(all.iter().all(|d| *d >= base && *d <= base.mul_f64(1.2)));
        assert!(all.iter().any(|d| *d != all[0]), "not constant");
        assert_eq!(with_jitter(base, 0.0), base);
        assert!(with_jitter(base, 7.0) <= base * 2, "fraction is clamped");
    }
}
