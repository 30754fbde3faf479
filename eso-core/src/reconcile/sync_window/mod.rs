//! `spec.syncWindows` of an ExternalSecret: when periodic refreshes may run.
//!
//! A window opens at every firing of its `schedule` (a 5-field cron expression in UTC, or a
//! descriptor such as `@daily` or `@every 1h`) and stays open for `duration`, both ends
//! included. With `kind: allow`, periodic refreshes run only while some window is open; with
//! `kind: deny`, they are blocked while any window is open. Only *periodic* refreshes are
//! gated: a never-synced ExternalSecret, a changed spec or labels, and the `CreatedOnce` /
//! `OnChange` policies ignore the windows, as in ESO.
//!
//! The cron dialect is the one ESO parses (robfig/cron's standard parser): five fields
//! (minute, hour, day of month, month, day of week), each a comma list of `*`, `?`, `n`,
//! `a-b`, with an optional `/step` (`a/step` means `a-max/step`); month and weekday names
//! (`jan`, `mon`, ...) in any case; when either day field is `*` or `?` a day must match
//! both fields, otherwise either. Descriptors: `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight`, `@hourly` and `@every <Go duration>`.
//!
//! Where we differ from ESO, on purpose:
//! - `@every D` fires at every multiple of `D` since the Unix epoch. ESO measures it from
//!   the instant being checked, so its `@every` windows are either always open (duration
//!   at least `D` minus a second) or never open.
//! - A day-of-week of `7` means Sunday, as in classic cron; ESO rejects it and then silently
//!   ignores the whole window.
//!
//! As in ESO, a schedule that does not parse is ignored (that window never opens), so with
//! `kind: allow` and only broken schedules no periodic refresh ever runs.
//!
//! # Example
//!
//! ```
//! use eso_core::api::{ExternalSecretSyncWindowEntry, ExternalSecretSyncWindows, SyncWindowKind};
//! use eso_core::reconcile::sync_window::SyncWindowSet;
//! use jiff::Timestamp;
//!
//! // No periodic refresh on weekdays between 08:00 and 18:00 UTC.
//! let windows = ExternalSecretSyncWindows {
//!     kind: SyncWindowKind::Deny,
//!     windows: vec![ExternalSecretSyncWindowEntry {
//!         schedule: "0 8 * * mon-fri".into(),
//!         duration: "10h".parse().unwrap(),
//!     }],
//! };
//! let set = SyncWindowSet::new(&windows);
//! let monday_noon: Timestamp = "2026-03-02T12:00:00Z".parse().unwrap();
//! assert!(!set.allows(monday_noon));
//! let opens: Timestamp = "2026-03-02T18:00:01Z".parse().unwrap();
//! assert_eq!(set.next_allowed(monday_noon), Some(opens));
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp, civil};

use crate::api::{
    ExternalSecret, ExternalSecretRefreshPolicy, ExternalSecretSyncWindows, SyncWindowKind,
};
use crate::{Error, GoDuration};

/// How many days ahead a cron schedule is searched for its next firing: 28 years, the cycle
/// after which dates fall on the same weekdays again (so `0 0 29 2 1` is still found).
const SEARCH_DAYS: u32 = 28 * 366;

/// How many window closings [`SyncWindowSet::next_allowed`] follows before giving up.
const MAX_CLOSINGS: usize = 10_000;

/// A parsed sync-window schedule.
///
/// # Example
///
/// ```
/// use eso_core::reconcile::sync_window::CronSchedule;
/// use jiff::Timestamp;
///
/// let s: CronSchedule = "*/15 9-17 * * 1-5".parse().unwrap();
/// let friday_evening: Timestamp = "2026-03-06T17:50:00Z".parse().unwrap();
/// let monday_morning: Timestamp = "2026-03-09T09:00:00Z".parse().unwrap();
/// assert_eq!(s.next_at_or_after(friday_evening), Some(monday_morning));
/// assert!("61 * * * *".parse::<CronSchedule>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CronSchedule {
    kind: ScheduleKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ScheduleKind {
    Fields(Fields),
    /// A fixed period in whole seconds (at least one).
    Every(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// The day-of-month or day-of-week field was `*`/`?`: a day must then match both.
    day_star: bool,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ScheduleKind::Every(s) => write!(f, "CronSchedule(@every {s}s)"),
            ScheduleKind::Fields(x) => f
                .debug_struct("CronSchedule")
                .field("minute", &format_args!("{:#x}", x.minute))
                .field("hour", &format_args!("{:#x}", x.hour))
                .field("dom", &format_args!("{:#x}", x.dom))
                .field("month", &format_args!("{:#x}", x.month))
                .field("dow", &format_args!("{:#x}", x.dow))
                .finish(),
        }
    }
}

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// An extra accepted value mapped onto another (7 -> 0 for weekdays).
    alias: Option<(u32, u32)>,
}

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    alias: None,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    alias: None,
};
const DOM: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
    alias: None,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    alias: None,
};
const DOW: FieldSpec = FieldSpec {
    name: "day of week",
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    alias: Some((7, 0)),
};

fn bad(schedule: &str, reason: impl fmt::Display) -> Error {
    let shown: String = schedule.chars().take(64).collect();
    Error::invalid_config("schedule", format!("invalid schedule {shown:?}: {reason}"))
}

impl FieldSpec {
    fn value(&self, s: &str) -> Option<u32> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            return u32::try_from(i).ok().map(|i| i + self.min);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u32>().ok()
    }

    fn upper(&self) -> u32 {
        match self.alias {
            Some((from, _)) => from.max(self.max),
            None => self.max,
        }
    }

    /// Parses one field into a bit set; the flag says whether it was a bare `*`/`?`.
    fn parse(&self, field: &str) -> std::result::Result<(u64, bool), String> {
        let mut bits = 0_u64;
        let mut star = false;
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => {
                    if s.contains('/') {
                        return Err(format!("{}: too many slashes in {part:?}", self.name));
                    }
                    let step = Some(s)
                        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|s| s.parse::<u32>().ok())
                        .filter(|s| *s > 0)
                        .ok_or_else(|| format!("{}: bad step in {part:?}", self.name))?;
                    (r, Some(step))
                }
                None => (part, None),
            };
            let (lo, hi, is_star) = if range == "*" || range == "?" {
                (self.min, self.max, true)
            } else {
                let (a, b) = match range.split_once('-') {
                    Some((a, b)) => {
                        if b.contains('-') {
                            return Err(format!("{}: too many hyphens in {part:?}", self.name));
                        }
                        (a, Some(b))
                    }
                    None => (range, None),
                };
                let lo = self
                    .value(a)
                    .ok_or_else(|| format!("{}: bad value {a:?}", self.name))?;
                let hi = match (b, step) {
                    (Some(b), _) => self
                        .value(b)
                        .ok_or_else(|| format!("{}: bad value {b:?}", self.name))?,
                    (None, Some(_)) => self.max,
                    (None, None) => lo,
                };
                (lo, hi, false)
            };
            if lo < self.min || hi > self.upper() {
                return Err(format!(
                    "{}: {part:?} is outside {}-{}",
                    self.name, self.min, self.max
                ));
            }
            if lo > hi {
                return Err(format!("{}: {part:?} starts after it ends", self.name));
            }
            let step = step.unwrap_or(1);
            if is_star && step == 1 {
                star = true;
            }
            let mut v = lo;
            while v <= hi {
                let bit = match self.alias {
                    Some((from, to)) if v == from => to,
                    _ => v,
                };
                bits |= 1 << bit;
                v = v.saturating_add(step);
            }
        }
        Ok((bits, star))
    }
}

impl FromStr for CronSchedule {
    type Err = Error;

    /// Parses a schedule; the error names the field and never panics on any input.
    fn from_str(s: &str) -> std::result::Result<Self, Error> {
        let descriptor = match s.trim() {
            "@yearly" | "@annually" => Some("0 0 1 1 *"),
            "@monthly" => Some("0 0 1 * *"),
            "@weekly" => Some("0 0 * * 0"),
            "@daily" | "@midnight" => Some("0 0 * * *"),
            "@hourly" => Some("0 * * * *"),
            _ => None,
        };
        if let Some(d) = descriptor {
            return d.parse();
        }
        if let Some(rest) = s.trim_start().strip_prefix("@every ") {
            let d = GoDuration::parse(rest.trim()).map_err(|e| bad(s, e))?;
            if d.as_nanos() <= 0 {
                return Err(bad(s, "@every needs a positive duration"));
            }
            // Whole seconds, at least one (as robfig/cron rounds it).
            let secs = (d.as_nanos() / 1_000_000_000).max(1);
            return Ok(Self {
                kind: ScheduleKind::Every(secs),
            });
        }
        if s.trim_start().starts_with('@') {
            return Err(bad(s, "unknown descriptor"));
        }
        let fields: Vec<&str> = s.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(bad(s, format!("expected 5 fields, found {}", fields.len())));
        }
        let p = |spec: &FieldSpec, f: &str| spec.parse(f).map_err(|e| bad(s, e));
        let (minute, _) = p(&MINUTE, fields[0])?;
        let (hour, _) = p(&HOUR, fields[1])?;
        let (dom, dom_star) = p(&DOM, fields[2])?;
        let (month, _) = p(&MONTH, fields[3])?;
        let (dow, dow_star) = p(&DOW, fields[4])?;
        Ok(Self {
            kind: ScheduleKind::Fields(Fields {
                minute,
                hour,
                dom,
                month,
                dow,
                day_star: dom_star || dow_star,
            }),
        })
    }
}

fn has(bits: u64, v: impl Into<i64>) -> bool {
    u32::try_from(v.into())
        .ok()
        .filter(|v| *v < 64)
        .is_some_and(|v| bits & (1 << v) != 0)
}

impl Fields {
    fn day_matches(&self, d: civil::Date) -> bool {
        if !has(self.month, d.month()) {
            return false;
        }
        let dom = has(self.dom, d.day());
        let dow = has(self.dow, d.weekday().to_sunday_zero_offset());
        if self.day_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn next(&self, start: Timestamp) -> Option<Timestamp> {
        // First whole minute at or after `start`.
        let secs = start.as_second();
        let mut minute = secs.div_euclid(60);
        if secs.rem_euclid(60) != 0 || start.subsec_nanosecond() > 0 {
            minute = minute.checked_add(1)?;
        }
        let first = Timestamp::from_second(minute.checked_mul(60)?).ok()?;
        let dt = Offset::UTC.to_datetime(first);
        let mut day = dt.date();
        for i in 0..SEARCH_DAYS {
            if self.day_matches(day) {
                let (h0, m0) = if i == 0 {
                    (dt.hour(), dt.minute())
                } else {
                    (0, 0)
                };
                for h in h0..24 {
                    if !has(self.hour, h) {
                        continue;
                    }
                    let from = if h == h0 { m0 } else { 0 };
                    if let Some(m) = (from..60).find(|m| has(self.minute, *m)) {
                        let at = day.at(h, m, 0, 0);
                        return Offset::UTC.to_timestamp(at).ok();
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    fn prev(&self, end: Timestamp) -> Option<Timestamp> {
        // Last whole minute at or before `end`.
        let minute = end.as_second().div_euclid(60);
        let last = Timestamp::from_second(minute.checked_mul(60)?).ok()?;
        let dt = Offset::UTC.to_datetime(last);
        let mut day = dt.date();
        for i in 0..SEARCH_DAYS {
            if self.day_matches(day) {
                let (h0, m0) = if i == 0 {
                    (dt.hour(), dt.minute())
                } else {
                    (23, 59)
                };
                for h in (0..=h0).rev() {
                    if !has(self.hour, h) {
                        continue;
                    }
                    let to = if h == h0 { m0 } else { 59 };
                    if let Some(m) = (0..=to).rev().find(|m| has(self.minute, *m)) {
                        let at = day.at(h, m, 0, 0);
                        return Offset::UTC.to_timestamp(at).ok();
                    }
                }
            }
            day = day.yesterday().ok()?;
        }
        None
    }
}

impl CronSchedule {
    /// The first firing at or after `t` (`None` if there is none in the next 28 years, e.g.
    /// `0 0 30 2 *`).
    pub fn next_at_or_after(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            ScheduleKind::Fields(f) => f.next(t),
            ScheduleKind::Every(secs) => {
                let period = i128::from(*secs) * 1_000_000_000;
                let tn = t.as_nanosecond();
                let mut k = tn.div_euclid(period);
                if tn.rem_euclid(period) != 0 {
                    k += 1;
                }
                Timestamp::from_nanosecond(k.checked_mul(period)?).ok()
            }
        }
    }

    /// The last firing at or before `t` (`None` if there is none in the previous 28 years).
    pub fn prev_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            ScheduleKind::Fields(f) => f.prev(t),
            ScheduleKind::Every(secs) => {
                let period = i128::from(*secs) * 1_000_000_000;
                let k = t.as_nanosecond().div_euclid(period);
                Timestamp::from_nanosecond(k.checked_mul(period)?).ok()
            }
        }
    }

    /// When the window open at `at` closes (the latest firing at or before `at`, plus
    /// `duration`), or `None` if no window is open at `at` (both ends included).
    fn open_until(&self, duration: SignedDuration, at: Timestamp) -> Option<Timestamp> {
        if duration.is_negative() {
            return None;
        }
        // A window that closes after the last representable instant never closes.
        let end = self
            .prev_at_or_before(at)?
            .checked_add(duration)
            .unwrap_or(Timestamp::MAX);
        (end >= at).then_some(end)
    }
}

/// The parsed `syncWindows` of one ExternalSecret.
///
/// # Example
///
/// ```
/// use eso_core::api::{ExternalSecretSyncWindowEntry, ExternalSecretSyncWindows, SyncWindowKind};
/// use eso_core::reconcile::sync_window::SyncWindowSet;
/// use jiff::Timestamp;
///
/// // Refresh only during a nightly hour.
/// let set = SyncWindowSet::new(&ExternalSecretSyncWindows {
///     kind: SyncWindowKind::Allow,
///     windows: vec![ExternalSecretSyncWindowEntry {
///         schedule: "@daily".into(),
///         duration: "1h".parse().unwrap(),
///     }],
/// });
/// let afternoon: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
/// assert!(!set.allows(afternoon));
/// assert_eq!(set.next_allowed(afternoon), Some("2026-03-03T00:00:00Z".parse().unwrap()));
/// ```
#[derive(Clone, Debug)]
pub struct SyncWindowSet {
    kind: SyncWindowKind,
    windows: Vec<(CronSchedule, SignedDuration)>,
    errors: Vec<(usize, String)>,
}

impl SyncWindowSet {
    /// Parses every window; a window whose schedule does not parse is ignored (see
    /// [`SyncWindowSet::errors`]).
    pub fn new(spec: &ExternalSecretSyncWindows) -> Self {
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
    pub fn errors(&self) -> &[(usize, String)] {
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
    pub fn allows(&self, at: Timestamp) -> bool {
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
    pub fn next_allowed(&self, at: Timestamp) -> Option<Timestamp> {
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
pub fn periodic_refresh_allowed(es: &ExternalSecret, now: Timestamp) -> bool {
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
pub fn blocked_requeue(es: &ExternalSecret, now: Timestamp) -> Option<Duration> {
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
    use crate::api::ExternalSecretSyncWindowEntry;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn sched(s: &str) -> CronSchedule {
        s.parse().unwrap()
    }

    fn next(s: &str, from: &str) -> Option<Timestamp> {
        sched(s).next_at_or_after(ts(from))
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

    #[test]
    fn parses_eso_dialect() {
        for ok in [
            "* * * * *",
            "? ? ? ? ?",
            "0 22 * * 1-5",
            "*/15 * * * *",
            "5/20 * * * *",
            "0 0 1,15 * *",
            "0 0 * JAN-mar Mon",
            "0 0 * * 7",
            "0-59/30 0-23/6 1-31/10 1-12/3 0-6/2",
            "  0  0 * * *  ",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
            "@every 1h30m",
            "@every 500ms",
        ] {
            assert!(ok.parse::<CronSchedule>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * 32 * *",
            "* * * 13 *",
            "* * * * 8",
            "*/0 * * * *",
            "5-1 * * * *",
            "1-2-3 * * * *",
            "1/2/3 * * * *",
            "a * * * *",
            "-1 * * * *",
            "+1 * * * *",
            "* * * foo *",
            "@often",
            "@every",
            "@every soon",
            "@every -1h",
            "@every 0s",
            ",,, * * * *",
        ] {
            let e = bad.parse::<CronSchedule>();
            assert!(e.is_err(), "{bad:?} parsed");
        }
        let msg = "61 * * * *"
            .parse::<CronSchedule>()
            .unwrap_err()
            .to_string();
        assert!(msg.contains("minute"), "{msg}");
    }

    #[test]
    fn next_firing() {
        // Same minute counts; seconds round up to the next minute.
        assert_eq!(
            next("30 10 * * *", "2026-03-02T10:30:00Z"),
            Some(ts("2026-03-02T10:30:00Z"))
        );
        assert_eq!(
            next("30 10 * * *", "2026-03-02T10:30:00.5Z"),
            Some(ts("2026-03-03T10:30:00Z"))
        );
        assert_eq!(
            next("*/15 * * * *", "2026-03-02T10:31:00Z"),
            Some(ts("2026-03-02T10:45:00Z"))
        );
        assert_eq!(
            next("5/20 * * * *", "2026-03-02T10:46:00Z"),
            Some(ts("2026-03-02T11:05:00Z"))
        );
        // Year and month rollover.
        assert_eq!(
            next("0 0 1 1 *", "2026-03-02T00:00:00Z"),
            Some(ts("2027-01-01T00:00:00Z"))
        );
        assert_eq!(
            next("@monthly", "2026-01-31T23:59:01Z"),
            Some(ts("2026-02-01T00:00:00Z"))
        );
        // 2026-03-02 is a Monday; Sunday as 0 and 7.
        assert_eq!(
            next("0 9 * * sun", "2026-03-02T00:00:00Z"),
            Some(ts("2026-03-08T09:00:00Z"))
        );
        assert_eq!(
            next("0 9 * * 7", "2026-03-02T00:00:00Z"),
            Some(ts("2026-03-08T09:00:00Z"))
        );
        // Both day fields restricted: either matches (the 10th, or a Friday).
        assert_eq!(
            next("0 0 10 * fri", "2026-03-02T00:00:00Z"),
            Some(ts("2026-03-06T00:00:00Z"))
        );
        // One day field is a star: both must match, so the other one decides.
        assert_eq!(
            next("0 0 13 * ?", "2026-03-14T00:00:00Z"),
            Some(ts("2026-04-13T00:00:00Z"))
        );
        assert_eq!(
            next("0 0 ? * 5", "2026-03-14T00:00:00Z"),
            Some(ts("2026-03-20T00:00:00Z"))
        );
        // A stepped star is not a star.
        assert_eq!(
            next("0 0 */2 * mon", "2026-03-02T00:00:01Z"),
            Some(ts("2026-03-03T00:00:00Z"))
        );
        // Leap day; a date that never exists.
        assert_eq!(
            next("0 0 29 2 *", "2026-03-02T00:00:00Z"),
            Some(ts("2028-02-29T00:00:00Z"))
        );
        assert_eq!(next("0 0 30 2 *", "2026-03-02T00:00:00Z"), None);
        // @every is anchored at the Unix epoch.
        assert_eq!(
            next("@every 1h", "2026-03-02T10:00:01Z"),
            Some(ts("2026-03-02T11:00:00Z"))
        );
        assert_eq!(
            next("@every 90m", "1970-01-01T01:00:00Z"),
            Some(ts("1970-01-01T01:30:00Z"))
        );
        // Backwards.
        let prev = |s: &str, from: &str| sched(s).prev_at_or_before(ts(from));
        assert_eq!(
            prev("30 10 * * *", "2026-03-02T10:30:59Z"),
            Some(ts("2026-03-02T10:30:00Z"))
        );
        assert_eq!(
            prev("30 10 * * *", "2026-03-02T10:29:59Z"),
            Some(ts("2026-03-01T10:30:00Z"))
        );
        assert_eq!(
            prev("0 0 29 2 *", "2026-03-02T00:00:00Z"),
            Some(ts("2024-02-29T00:00:00Z"))
        );
        assert_eq!(
            prev("@every 1h", "2026-03-02T10:59:59Z"),
            Some(ts("2026-03-02T10:00:00Z"))
        );
        assert_eq!(prev("0 0 31 4 *", "2026-03-02T00:00:00Z"), None);
        // Extreme instants do not panic.
        assert_eq!(sched("* * * * *").prev_at_or_before(Timestamp::MIN), None);
        assert_eq!(sched("* * * * *").next_at_or_after(Timestamp::MAX), None);
        assert!(
            sched("@every 1h")
                .next_at_or_after(Timestamp::MIN)
                .is_some()
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
