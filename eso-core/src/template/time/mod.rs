//! Go's `time.Time` and `time.Duration` as the template functions see them (sprig's `now`,
//! `date`, `toDate`, `dateModify`, `ago`, `duration` ...): Go layouts (`2006-01-02T15:04:05Z07:00`)
//! for formatting and parsing, `Time.String()`, `Duration.String()` and `ParseDuration`.
//!
//! Go's `Local` zone is UTC here (the zone ESO's container runs in); named zones are read from
//! the system's zoneinfo files, as Go's `time.LoadLocation` does.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

/// A Go `time.Time`: an instant, the zone it is shown in, and (for `now`) a monotonic reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoTime {
    secs: i64,
    nanos: u32,
    offset: i32,
    zone: Arc<str>,
    mono: Option<i64>,
}

static START: LazyLock<Instant> = LazyLock::new(Instant::now);

const NANOS: i64 = 1_000_000_000;

impl GoTime {
    /// Go's `time.Now()` (in UTC, with a monotonic reading relative to the process start).
    pub fn now() -> Self {
        let start = *START;
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
            offset: 0,
            zone: Arc::from("UTC"),
            mono: Some(i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX)),
        }
    }

    /// Go's `time.Unix(secs, nanos)` in UTC.
    pub fn unix(secs: i64, nanos: u32) -> Self {
        Self {
            secs,
            nanos,
            offset: 0,
            zone: Arc::from("UTC"),
            mono: None,
        }
    }

    /// Go's zero `time.Time` (`0001-01-01 00:00:00 +0000 UTC`).
    pub fn zero() -> Self {
        Self::unix(-62_135_596_800, 0)
    }

    /// Seconds since the Unix epoch (`Time.Unix()`).
    pub fn unix_secs(&self) -> i64 {
        self.secs
    }

    /// The same instant shown in `zone` (Go's `In`; drops the monotonic reading).
    pub(crate) fn in_zone(&self, zone: &Zone) -> Self {
        let (offset, abbr) = zone.at(self.secs);
        Self {
            secs: self.secs,
            nanos: self.nanos,
            offset,
            zone: abbr,
            mono: None,
        }
    }

    /// Go's `Add` (keeps the zone and the monotonic reading).
    pub(crate) fn add(&self, d: i64) -> Self {
        let total =
            i128::from(self.secs) * i128::from(NANOS) + i128::from(self.nanos) + i128::from(d);
        let secs = total.div_euclid(i128::from(NANOS));
        Self {
            secs: i64::try_from(secs).unwrap_or(i64::MAX),
            nanos: total.rem_euclid(i128::from(NANOS)) as u32,
            offset: self.offset,
            zone: Arc::clone(&self.zone),
            mono: self.mono.map(|m| m.saturating_add(d)),
        }
    }

    /// Nanoseconds from `self` to now (Go's `time.Since`).
    pub(crate) fn since(&self) -> i64 {
        let now = Self::now();
        let a = i128::from(now.secs) * i128::from(NANOS) + i128::from(now.nanos);
        let b = i128::from(self.secs) * i128::from(NANOS) + i128::from(self.nanos);
        i64::try_from(a - b).unwrap_or(if a > b { i64::MAX } else { i64::MIN })
    }

    fn civil(&self) -> Civil {
        Civil::from_local_secs(self.secs + i64::from(self.offset), self.nanos)
    }

    /// Go's `Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST` (+ ` m=+0.001`).
    pub fn go_string(&self) -> String {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            s.push_str(&format!(
                " m={sign}{}.{:09}",
                m / 1_000_000_000,
                m % 1_000_000_000
            ));
        }
        s
    }

    /// Go's `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let c = self.civil();
        let mut out = String::with_capacity(layout.len() + 10);
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, tail) = next_chunk(rest);
            out.push_str(prefix);
            rest = tail;
            let Some(chunk) = chunk else { break };
            self.write_chunk(&mut out, &c, chunk);
        }
        out
    }

    fn write_chunk(&self, out: &mut String, c: &Civil, chunk: Chunk) {
        use std::fmt::Write as _;
        let hour12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        let _ = match chunk {
            Chunk::LongMonth => write!(out, "{}", MONTHS[c.month as usize - 1]),
            Chunk::Month => write!(out, "{}", &MONTHS[c.month as usize - 1][..3]),
            Chunk::NumMonth => write!(out, "{}", c.month),
            Chunk::ZeroMonth => write!(out, "{:02}", c.month),
            Chunk::LongWeekDay => write!(out, "{}", DAYS[c.weekday as usize]),
            Chunk::WeekDay => write!(out, "{}", &DAYS[c.weekday as usize][..3]),
            Chunk::Day => write!(out, "{}", c.day),
            Chunk::UnderDay => write!(out, "{:>2}", c.day),
            Chunk::ZeroDay => write!(out, "{:02}", c.day),
            Chunk::UnderYearDay => write!(out, "{:>3}", c.yday),
            Chunk::ZeroYearDay => write!(out, "{:03}", c.yday),
            Chunk::Hour => write!(out, "{:02}", c.hour),
            Chunk::Hour12 => write!(out, "{hour12}"),
            Chunk::ZeroHour12 => write!(out, "{hour12:02}"),
            Chunk::Minute => write!(out, "{}", c.minute),
            Chunk::ZeroMinute => write!(out, "{:02}", c.minute),
            Chunk::Second => write!(out, "{}", c.second),
            Chunk::ZeroSecond => write!(out, "{:02}", c.second),
            Chunk::LongYear => {
                if c.year < 0 {
                    write!(out, "-{:04}", -c.year)
                } else {
                    write!(out, "{:04}", c.year)
                }
            }
            Chunk::Year => write!(out, "{:02}", c.year.rem_euclid(100)),
            Chunk::PM => out.write_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => out.write_str(if c.hour >= 12 { "pm" } else { "am" }),
            Chunk::Tz => {
                if self.zone.is_empty() {
                    write_offset(out, self.offset, false, true, false, false);
                    Ok(())
                } else {
                    out.write_str(&self.zone)
                }
            }
            Chunk::Offset {
                z,
                colon,
                secs,
                hours_only,
            } => {
                if z && self.offset == 0 {
                    out.push('Z');
                } else {
                    write_offset(out, self.offset, colon, !hours_only, secs, hours_only);
                }
                Ok(())
            }
            Chunk::Frac { digits, trim, sep } => {
                let frac = format!("{:09}", self.nanos);
                let mut f = &frac[..digits.min(9)];
                if trim {
                    f = f.trim_end_matches('0');
                    if f.is_empty() {
                        return;
                    }
                }
                out.push(sep);
                out.push_str(f);
                Ok(())
            }
        };
    }

    /// RFC 3339 with nanoseconds, as Go's `MarshalJSON` writes a time (without quotes).
    pub(crate) fn rfc3339_nano(&self) -> String {
        self.format("2006-01-02T15:04:05.999999999Z07:00")
    }
}

fn write_offset(
    out: &mut String,
    offset: i32,
    colon: bool,
    minutes: bool,
    secs: bool,
    hours_only: bool,
) {
    let sign = if offset < 0 { '-' } else { '+' };
    let o = offset.unsigned_abs();
    out.push(sign);
    out.push_str(&format!("{:02}", o / 3600));
    if hours_only {
        return;
    }
    if minutes {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", o / 60 % 60));
    }
    if secs {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", o % 60));
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Civil fields of a local time.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    yday: u32,
    weekday: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Civil {
    fn from_local_secs(secs: i64, _nanos: u32) -> Self {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        Self {
            year,
            month,
            day,
            yday,
            weekday: (days + 4).rem_euclid(7) as u32,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
        }
    }
}

/// A layout element (Go's `std*` constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    Offset {
        z: bool,
        colon: bool,
        secs: bool,
        hours_only: bool,
    },
    Frac {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// Go's `nextStdChunk`: (literal prefix, element, rest).
fn next_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    for i in 0..b.len() {
        let found: Option<(Chunk, usize)> = match b[i] {
            b'J' if starts(i, "January") => Some((Chunk::LongMonth, 7)),
            b'J' if starts(i, "Jan") => Some((Chunk::Month, 3)),
            b'M' if starts(i, "Monday") => Some((Chunk::LongWeekDay, 6)),
            b'M' if starts(i, "Mon") => Some((Chunk::WeekDay, 3)),
            b'M' if starts(i, "MST") => Some((Chunk::Tz, 3)),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => Some((
                [
                    Chunk::ZeroMonth,
                    Chunk::ZeroDay,
                    Chunk::ZeroHour12,
                    Chunk::ZeroMinute,
                    Chunk::ZeroSecond,
                    Chunk::Year,
                ][(b[i + 1] - b'1') as usize],
                2,
            )),
            b'0' if starts(i, "002") => Some((Chunk::ZeroYearDay, 3)),
            b'1' if starts(i, "15") => Some((Chunk::Hour, 2)),
            b'1' => Some((Chunk::NumMonth, 1)),
            b'2' if starts(i, "2006") => Some((Chunk::LongYear, 4)),
            b'2' => Some((Chunk::Day, 1)),
            b'_' if starts(i, "_2") && !starts(i, "_2006") => Some((Chunk::UnderDay, 2)),
            b'_' if starts(i, "__2") => Some((Chunk::UnderYearDay, 3)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if starts(i, "PM") => Some((Chunk::PM, 2)),
            b'p' if starts(i, "pm") => Some((Chunk::Pm, 2)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let forms: [(&str, bool, bool, bool); 5] = [
                    ("07:00:00", true, true, false),
                    ("070000", false, true, false),
                    ("07:00", true, false, false),
                    ("0700", false, false, false),
                    ("07", false, false, true),
                ];
                forms.iter().find(|f| starts(i + 1, f.0)).map(|f| {
                    (
                        Chunk::Offset {
                            z,
                            colon: f.1,
                            secs: f.2,
                            hours_only: f.3,
                        },
                        1 + f.0.len(),
                    )
                })
            }
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((
                        Chunk::Frac {
                            digits: j - i - 1,
                            trim: ch == b'9',
                            sep: b[i] as char,
                        },
                        j - i,
                    ))
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
    }
    (layout, None, "")
}

/// A location for `In`: UTC or a zoneinfo time zone.
pub(crate) enum Zone {
    Utc,
    Tz(jiff::tz::TimeZone),
}

impl Zone {
    /// Go's `time.LoadLocation` (`""` and `UTC` are UTC; `Local` is UTC here).
    pub(crate) fn load(name: &str) -> Option<Self> {
        match name {
            "" | "UTC" | "Local" => return Some(Self::Utc),
            _ => {}
        }
        if name.contains("..") || name.starts_with('/') || name.contains('\\') {
            return None;
        }
        let dirs = [
            "/usr/share/zoneinfo",
            "/usr/share/lib/zoneinfo",
            "/usr/lib/locale/TZ",
        ];
        for dir in dirs {
            if let Ok(data) = std::fs::read(format!("{dir}/{name}"))
                && data.len() < 1 << 20
                && let Ok(tz) = jiff::tz::TimeZone::tzif(name, &data)
            {
                return Some(Self::Tz(tz));
            }
        }
        None
    }

    fn at(&self, secs: i64) -> (i32, Arc<str>) {
        match self {
            Self::Utc => (0, Arc::from("UTC")),
            Self::Tz(tz) => {
                let ts = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let info = tz.to_offset_info(ts);
                (info.offset().seconds(), Arc::from(info.abbreviation()))
            }
        }
    }
}

mod duration;
mod parse;

pub(crate) use duration::{duration_string, parse_duration};
pub(crate) use parse::parse;
