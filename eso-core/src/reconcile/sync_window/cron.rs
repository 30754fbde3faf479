//! The cron dialect of `spec.syncWindows[].schedule`: [`CronSchedule`].
//!
//! The dialect is the one ESO parses (robfig/cron's standard parser): five fields
//! (minute, hour, day of month, month, day of week), each a comma list of `*`, `?`, `n`,
//! `a-b`, with an optional `/step` (`a/step` means `a-max/step`); month and weekday names
//! (`jan`, `mon`, ...) in any case; when either day field is `*` or `?` a day must match
//! both fields, otherwise either. Descriptors: `@yearly`, `@annually`, `@monthly`,
//! `@weekly`, `@daily`, `@midnight`, `@hourly` and `@every <Go duration>`. Times are UTC.
//!
//! Where we differ from ESO, on purpose:
//! - `@every D` fires at every multiple of `D` since the Unix epoch. ESO measures it from
//!   the instant being checked, so its `@every` windows are either always open (duration
//!   at least `D` minus a second) or never open.
//! - A day-of-week of `7` means Sunday, as in classic cron; ESO rejects it and then silently
//!   ignores the whole window.
//!
//! # Why our own parser
//!
//! The cron crates we looked at do not parse this dialect exactly, and a window that parses
//! differently opens at other times than in ESO:
//! - `croner` accepts Quartz extensions (`L`, `W`, `#`, optional seconds) that ESO rejects
//!   (such a window must never open), has no `@every`, and works on `chrono` types (a second
//!   date-time library next to `jiff`);
//! - `cron` requires a seconds field (six or seven fields), so ESO's five-field
//!   expressions do not parse;
//! - `saffron` has neither the `@` descriptors nor a search backwards for the previous
//!   firing, which is how we tell whether a window is open.
//!
//! What is here is small (bit sets per field, a day-by-day search bounded to 28 years) and
//! fuzzed (`fuzz/fuzz_targets/cron.rs`).

use std::fmt;
use std::str::FromStr;

use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp, civil};

use crate::{Error, GoDuration};

/// How many days ahead a cron schedule is searched for its next firing: 28 years, the cycle
/// after which dates fall on the same weekdays again (so `0 0 29 2 1` is still found).
const SEARCH_DAYS: u32 = 28 * 366;

/// A parsed sync-window schedule: one cron expression or descriptor.
///
/// Public only through `eso_core::testing` (for fuzzing); the flows parse every window of
/// `spec.syncWindows` with it.
///
/// # Example
///
/// ```
/// # #[cfg(feature = "testing")] {
/// use eso_core::testing::CronSchedule;
/// use jiff::Timestamp;
///
/// let s: CronSchedule = "*/15 9-17 * * 1-5".parse().unwrap();
/// let friday_evening: Timestamp = "2026-03-06T17:50:00Z".parse().unwrap();
/// let monday_morning: Timestamp = "2026-03-09T09:00:00Z".parse().unwrap();
/// assert_eq!(s.next_at_or_after(friday_evening), Some(monday_morning));
/// assert!("61 * * * *".parse::<CronSchedule>().is_err());
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(not(any(test, feature = "testing")), allow(unreachable_pub))]
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

#[cfg_attr(not(any(test, feature = "testing")), allow(unreachable_pub))]
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
    pub(super) fn open_until(&self, duration: SignedDuration, at: Timestamp) -> Option<Timestamp> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn sched(s: &str) -> CronSchedule {
        s.parse().unwrap()
    }

    fn next(s: &str, from: &str) -> Option<Timestamp> {
        sched(s).next_at_or_after(ts(from))
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
    fn weekday_business_hours() {
        let s = sched("*/15 9-17 * * 1-5");
        assert_eq!(
            s.next_at_or_after(ts("2026-03-06T17:50:00Z")),
            Some(ts("2026-03-09T09:00:00Z"))
        );
        assert!("61 * * * *".parse::<CronSchedule>().is_err());
    }
}
