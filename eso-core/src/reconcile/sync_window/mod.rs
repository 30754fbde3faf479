//! `spec.syncWindows` of an ExternalSecret: when periodic refreshes may run.
//!
//! A window opens at every firing of its `schedule` (a 5-field cron expression in UTC, or a
//! descriptor such as `@daily` or `@every 1h`) and stays open for `duration`, both ends
//! included. With `kind: allow`, periodic refreshes run only while some window is open; with
//! `kind: deny`, they are blocked while any window is open. Only *periodic* refreshes are
//! gated: a never-synced ExternalSecret, a changed spec or labels, and the `CreatedOnce` /
//! `OnChange` policies ignore the windows, as in ESO.
//!
//! The schedules are parsed by [`cron`] (ESO's robfig/cron dialect, with the two
//! differences its docs list). As in ESO, a schedule that does not parse is ignored (that
//! window never opens), so with `kind: allow` and only broken schedules no periodic refresh
//! ever runs.
//!
//! The flows call [`periodic_refresh_allowed`] and [`blocked_requeue`]; the module is
//! private (fuzzing reaches [`CronSchedule`] through `eso_core::testing`).

pub(crate) mod cron;

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub(crate) use self::cron::CronSchedule;
use crate::api::{
    ExternalSecret, ExternalSecretRefreshPolicy, ExternalSecretSyncWindows, SyncWindowKind,
};

/// How many window closings [`SyncWindowSet::next_allowed`] follows before giving up.
const MAX_CLOSINGS: usize = 10_000;

/// The parsed `syncWindows` of one ExternalSecret.
#[derive(Clone, Debug)]
pub(crate) struct SyncWindowSet {
    kind: SyncWindowKind,
    windows: Vec<(CronSchedule, SignedDuration)>,
    errors: Vec<(usize, String)>,
}

impl SyncWindowSet {
    /// Parses every window; a window whose schedule does not parse is ignored (see
    /// [`SyncWindowSet::errors`]).
    pub(crate) fn new(spec: &ExternalSecretSyncWindows) -> Self {
        let mut windows = Vec::new();
        let mut errors = Vec::new();
        for (i, w) in spec.windows.iter().enumerate() {
            match w.schedule.parse::<CronSchedule>() {
                Ok(s) => windows.push((s, SignedDuration::from_nanos(w.duration.as_nanos()))),
                Err(e) => errors.push((i, e.to_string())),
            }
        }
        Self {
            kind: spec.kind,
            windows,
            errors,
        }
    }

    /// The windows whose schedule was rejected, by index in `spec.syncWindows.windows`.
    pub(crate) fn errors(&self) -> &[(usize, String)] {
        &self.errors
    }

    /// The latest closing time of the windows open at `at`, if any is open.
    fn open_until(&self, at: Timestamp) -> Option<Timestamp> {
        self.windows
            .iter()
            .filter_map(|(s, d)| s.open_until(*d, at))
            .max()
    }

    /// Whether a periodic refresh may run at `at`.
    pub(crate) fn allows(&self, at: Timestamp) -> bool {
        let open = self
            .windows
            .iter()
            .any(|(s, d)| s.open_until(*d, at).is_some());
        match self.kind {
            SyncWindowKind::Allow => open,
            SyncWindowKind::Deny => !open,
        }
    }

    /// The earliest instant at or after `at` when a periodic refresh may run: `at` itself
    /// when allowed; for `allow`, the next window opening; for `deny`, the first whole
    /// second after the blocking windows close. `None` when that never happens (e.g. deny
    /// windows that always overlap, or allow windows that never fire).
    pub(crate) fn next_allowed(&self, at: Timestamp) -> Option<Timestamp> {
        match self.kind {
            SyncWindowKind::Allow => {
                if self.allows(at) {
                    return Some(at);
                }
                self.windows
                    .iter()
                    .filter_map(|(s, d)| {
                        (!d.is_negative()).then(|| s.next_at_or_after(at)).flatten()
                    })
                    .min()
            }
            SyncWindowKind::Deny => {
                let mut t = at;
                for _ in 0..MAX_CLOSINGS {
                    match self.open_until(t) {
                        None => return Some(t),
                        Some(end) => {
                            // Allowed strictly after the end; step to the next whole second.
                            let next = end.checked_add(SignedDuration::from_secs(1)).ok()?;
                            let whole = Timestamp::from_second(next.as_second()).ok()?;
                            t = whole.max(t.checked_add(SignedDuration::from_secs(1)).ok()?);
                        }
                    }
                }
                None
            }
        }
    }
}

/// Whether the sync windows of `es` allow a periodic refresh at `now` (always true without
/// windows).
pub(crate) fn periodic_refresh_allowed(es: &ExternalSecret, now: Timestamp) -> bool {
    match &es.spec.sync_windows {
        Some(w) if !w.windows.is_empty() => {
            let set = SyncWindowSet::new(w);
            for (i, e) in set.errors() {
                tracing::debug!(
                    namespace = es.metadata.namespace.as_deref().unwrap_or(""),
                    name = es.metadata.name.as_deref().unwrap_or(""),
                    "ignoring spec.syncWindows.windows[{i}]: {e}"
                );
            }
            set.allows(now)
        }
        _ => true,
    }
}

/// When a periodic refresh of `es` that is due but blocked by its sync windows at `now`
/// should be retried: the time until the windows next allow it. `None` when the windows do
/// not block (or there are none, or the refresh policy is not periodic).
pub(crate) fn blocked_requeue(es: &ExternalSecret, now: Timestamp) -> Option<Duration> {
    if matches!(
        es.spec.refresh_policy,
        Some(ExternalSecretRefreshPolicy::CreatedOnce | ExternalSecretRefreshPolicy::OnChange)
    ) {
        return None;
    }
    let set = SyncWindowSet::new(
        es.spec
            .sync_windows
            .as_ref()
            .filter(|w| !w.windows.is_empty())?,
    );
    if set.allows(now) {
        return None;
    }
    let next = set.next_allowed(now)?;
    Duration::try_from(next.duration_since(now))
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GoDuration;
    use crate::api::ExternalSecretSyncWindowEntry;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn set(kind: SyncWindowKind, windows: &[(&str, &str)]) -> SyncWindowSet {
        SyncWindowSet::new(&ExternalSecretSyncWindows {
            kind,
            windows: windows
                .iter()
                .map(|(s, d)| ExternalSecretSyncWindowEntry {
                    schedule: (*s).to_owned(),
                    duration: d.parse().unwrap(),
                })
                .collect(),
        })
    }

    /// No periodic refresh on weekdays between 08:00 and 18:00 UTC; then refresh only
    /// during a nightly hour.
    #[test]
    fn office_hours_and_nightly_windows() {
        let office = set(SyncWindowKind::Deny, &[("0 8 * * mon-fri", "10h")]);
        let monday_noon = ts("2026-03-02T12:00:00Z");
        assert!(!office.allows(monday_noon));
        assert_eq!(
            office.next_allowed(monday_noon),
            Some(ts("2026-03-02T18:00:01Z"))
        );
        let nightly = set(SyncWindowKind::Allow, &[("@daily", "1h")]);
        let afternoon = ts("2026-03-02T15:00:00Z");
        assert!(!nightly.allows(afternoon));
        assert_eq!(
            nightly.next_allowed(afternoon),
            Some(ts("2026-03-03T00:00:00Z"))
        );
    }

    #[test]
    fn deny_window() {
        let s = set(SyncWindowKind::Deny, &[("0 22 * * *", "2h")]);
        assert!(s.allows(ts("2026-03-02T21:59:59Z")));
        assert!(!s.allows(ts("2026-03-02T22:00:00Z")));
        assert!(!s.allows(ts("2026-03-02T23:30:00Z")));
        assert!(!s.allows(ts("2026-03-03T00:00:00Z")));
        assert!(s.allows(ts("2026-03-03T00:00:00.001Z")));
        assert_eq!(
            s.next_allowed(ts("2026-03-02T23:00:00Z")),
            Some(ts("2026-03-03T00:00:01Z"))
        );
        assert_eq!(
            s.next_allowed(ts("2026-03-02T12:00:00Z")),
            Some(ts("2026-03-02T12:00:00Z"))
        );
    }

    #[test]
    fn deny_windows_chain() {
        // Overlapping windows: the refresh waits for the last one to close.
        let s = set(
            SyncWindowKind::Deny,
            &[
                ("0 8 * * *", "2h"),
                ("30 9 * * *", "1h"),
                ("0 10 * * *", "30m"),
            ],
        );
        assert_eq!(
            s.next_allowed(ts("2026-03-02T08:10:00Z")),
            Some(ts("2026-03-02T10:30:01Z"))
        );
        // Firings every minute, each open 5 minutes: always blocked.
        let long = set(SyncWindowKind::Deny, &[("* * * * *", "8760h")]);
        assert_eq!(long.next_allowed(ts("2026-03-02T08:10:00Z")), None);
        let always = set(SyncWindowKind::Deny, &[("* * * * *", "5m")]);
        assert!(!always.allows(ts("2026-03-02T08:10:30Z")));
        assert_eq!(always.next_allowed(ts("2026-03-02T08:10:00Z")), None);
    }

    #[test]
    fn allow_window() {
        let s = set(
            SyncWindowKind::Allow,
            &[("0 2 * * sat,sun", "4h"), ("0 12 * * 3", "10m")],
        );
        // Monday.
        assert!(!s.allows(ts("2026-03-02T03:00:00Z")));
        assert_eq!(
            s.next_allowed(ts("2026-03-02T03:00:00Z")),
            Some(ts("2026-03-04T12:00:00Z"))
        );
        assert!(s.allows(ts("2026-03-04T12:10:00Z")));
        assert!(!s.allows(ts("2026-03-04T12:10:01Z")));
        assert_eq!(
            s.next_allowed(ts("2026-03-04T12:10:01Z")),
            Some(ts("2026-03-07T02:00:00Z"))
        );
        assert!(s.allows(ts("2026-03-08T05:59:00Z")));
    }

    #[test]
    fn broken_schedules_are_ignored() {
        let s = set(
            SyncWindowKind::Deny,
            &[("0 25 * * *", "1h"), ("0 1 * * *", "1h")],
        );
        assert_eq!(s.errors().len(), 1);
        assert_eq!(s.errors()[0].0, 0);
        assert!(s.allows(ts("2026-03-02T00:30:00Z")));
        assert!(!s.allows(ts("2026-03-02T01:30:00Z")));
        let never = set(SyncWindowKind::Allow, &[("nope * * * *", "1h")]);
        assert!(!never.allows(ts("2026-03-02T00:30:00Z")));
        assert_eq!(never.next_allowed(ts("2026-03-02T00:30:00Z")), None);
    }

    #[test]
    fn every_windows() {
        let s = set(SyncWindowKind::Allow, &[("@every 1h", "10m")]);
        assert!(s.allows(ts("2026-03-02T05:10:00Z")));
        assert!(!s.allows(ts("2026-03-02T05:11:00Z")));
        assert_eq!(
            s.next_allowed(ts("2026-03-02T05:11:00Z")),
            Some(ts("2026-03-02T06:00:00Z"))
        );
    }

    #[test]
    fn zero_and_negative_durations() {
        let zero = set(SyncWindowKind::Allow, &[("0 * * * *", "0s")]);
        assert!(zero.allows(ts("2026-03-02T05:00:00Z")));
        assert!(!zero.allows(ts("2026-03-02T05:00:00.1Z")));
        let neg = SyncWindowSet::new(&ExternalSecretSyncWindows {
            kind: SyncWindowKind::Deny,
            windows: vec![ExternalSecretSyncWindowEntry {
                schedule: "* * * * *".into(),
                duration: GoDuration::from_secs(-60),
            }],
        });
        assert!(neg.allows(ts("2026-03-02T05:00:00Z")));
    }
}
