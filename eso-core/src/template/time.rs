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

// ---------------------------------------------------------------------------------------
// parsing (Go's time.Parse, in UTC as the default location)

fn getnum(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn lookup<'a>(names: &[&str], s: &'a str, short: bool) -> Option<(usize, &'a str)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { &n[..3] } else { n };
        if s.len() >= n.len() && s[..n.len()].eq_ignore_ascii_case(n) {
            return Some((i, &s[n.len()..]));
        }
    }
    None
}

/// Go's `time.Parse(layout, value)` (with `Local` = UTC). The error is Go's message.
pub(crate) fn parse(layout: &str, value: &str) -> Result<GoTime, String> {
    let err = |elem: &str, v: &str| {
        format!("parsing time {value:?} as {layout:?}: cannot parse {v:?} as {elem:?}")
    };
    let (mut year, mut month, mut day) = (1i64, 1u32, 1u32);
    let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut rest = layout;
    let mut v = value;
    loop {
        let (prefix, chunk, tail) = next_chunk(rest);
        let Some(after) = v.strip_prefix(prefix) else {
            return Err(err(prefix, v));
        };
        v = after;
        let elem = &rest[prefix.len()..rest.len() - tail.len()];
        rest = tail;
        let Some(chunk) = chunk else {
            if !v.is_empty() {
                return Err(format!("parsing time {value:?}: extra text: {v:?}"));
            }
            break;
        };
        let bad = || err(elem, v);
        match chunk {
            Chunk::LongYear => {
                let (y, r) = getnum(v, 4, 4).ok_or_else(bad)?;
                year = y;
                v = r;
            }
            Chunk::Year => {
                let (y, r) = getnum(v, 2, 2).ok_or_else(bad)?;
                year = if y >= 69 { 1900 + y } else { 2000 + y };
                v = r;
            }
            Chunk::LongMonth | Chunk::Month => {
                let (i, r) = lookup(&MONTHS, v, chunk == Chunk::Month).ok_or_else(bad)?;
                month = i as u32 + 1;
                v = r;
            }
            Chunk::NumMonth | Chunk::ZeroMonth => {
                let min = if chunk == Chunk::ZeroMonth { 2 } else { 1 };
                let (m, r) = getnum(v, min, 2).ok_or_else(bad)?;
                if !(1..=12).contains(&m) {
                    return Err(format!("parsing time {value:?}: month out of range"));
                }
                month = m as u32;
                v = r;
            }
            Chunk::LongWeekDay | Chunk::WeekDay => {
                let (_, r) = lookup(&DAYS, v, chunk == Chunk::WeekDay).ok_or_else(bad)?;
                v = r;
            }
            Chunk::Day | Chunk::UnderDay | Chunk::ZeroDay => {
                if chunk == Chunk::UnderDay && v.starts_with(' ') {
                    v = &v[1..];
                }
                let min = if chunk == Chunk::ZeroDay { 2 } else { 1 };
                let (d, r) = getnum(v, min, 2).ok_or_else(bad)?;
                day = d as u32;
                v = r;
            }
            Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                let v2 = v.trim_start_matches(' ');
                let (_, r) = getnum(v2, 3, 3).ok_or_else(bad)?;
                v = r;
            }
            Chunk::Hour => {
                let (h, r) = getnum(v, 1, 2).ok_or_else(bad)?;
                if h > 23 {
                    return Err(format!("parsing time {value:?}: hour out of range"));
                }
                hour = h as u32;
                v = r;
            }
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let min = if chunk == Chunk::ZeroHour12 { 2 } else { 1 };
                let (h, r) = getnum(v, min, 2).ok_or_else(bad)?;
                if h > 12 {
                    return Err(format!("parsing time {value:?}: hour out of range"));
                }
                hour = h as u32;
                v = r;
            }
            Chunk::Minute | Chunk::ZeroMinute | Chunk::Second | Chunk::ZeroSecond => {
                let min = if matches!(chunk, Chunk::ZeroMinute | Chunk::ZeroSecond) {
                    2
                } else {
                    1
                };
                let (n, r) = getnum(v, min, 2).ok_or_else(bad)?;
                if n > 59 {
                    return Err(format!(
                        "parsing time {value:?}: {} out of range",
                        if matches!(chunk, Chunk::Minute | Chunk::ZeroMinute) {
                            "minute"
                        } else {
                            "second"
                        }
                    ));
                }
                v = r;
                if matches!(chunk, Chunk::Minute | Chunk::ZeroMinute) {
                    minute = n as u32;
                } else {
                    second = n as u32;
                    // Go accepts a fractional second after the seconds even if the layout has none.
                    if let Some(fr) = v.strip_prefix(['.', ','])
                        && fr.starts_with(|c: char| c.is_ascii_digit())
                        && !matches!(next_chunk(rest).1, Some(Chunk::Frac { .. }))
                    {
                        let n = fr.bytes().take_while(u8::is_ascii_digit).count();
                        nanos = frac_nanos(&fr[..n]);
                        v = &fr[n..];
                    }
                }
            }
            Chunk::PM | Chunk::Pm => {
                let word = v.get(..2).ok_or_else(bad)?;
                pm = Some(match word {
                    "PM" | "pm"
                        if chunk == Chunk::PM && word == "PM"
                            || chunk == Chunk::Pm && word == "pm" =>
                    {
                        true
                    }
                    "AM" | "am"
                        if chunk == Chunk::PM && word == "AM"
                            || chunk == Chunk::Pm && word == "am" =>
                    {
                        false
                    }
                    _ => return Err(bad()),
                });
                v = &v[2..];
            }
            Chunk::Tz => {
                if v.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    offset = Some(0);
                    v = &v[3..];
                } else {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if !(3..=5).contains(&n) {
                        return Err(bad());
                    }
                    zone_name = Some(v[..n].to_string());
                    v = &v[n..];
                }
            }
            Chunk::Offset {
                z,
                colon,
                secs,
                hours_only,
            } => {
                if z && v.starts_with('Z') {
                    offset = Some(0);
                    zone_name = Some("UTC".into());
                    v = &v[1..];
                    continue;
                }
                let sign = match v.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad()),
                };
                let mut r = &v[1..];
                let (h, r2) = getnum(r, 2, 2).ok_or_else(bad)?;
                r = r2;
                let mut total = h * 3600;
                if !hours_only {
                    if colon {
                        r = r.strip_prefix(':').ok_or_else(bad)?;
                    }
                    let (m, r2) = getnum(r, 2, 2).ok_or_else(bad)?;
                    r = r2;
                    total += m * 60;
                    if secs {
                        if colon {
                            r = r.strip_prefix(':').ok_or_else(bad)?;
                        }
                        let (s, r2) = getnum(r, 2, 2).ok_or_else(bad)?;
                        r = r2;
                        total += s;
                    }
                }
                offset = Some(i32::try_from(sign * total).map_err(|_| bad())?);
                v = r;
            }
            Chunk::Frac { digits, trim, .. } => {
                let Some(fr) = v.strip_prefix(['.', ',']) else {
                    if trim {
                        continue;
                    }
                    return Err(bad());
                };
                let n = fr.bytes().take_while(u8::is_ascii_digit).count();
                if !trim && n != digits {
                    return Err(bad());
                }
                nanos = frac_nanos(&fr[..n]);
                v = &fr[n..];
            }
        }
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("parsing time {value:?}: day out of range"));
    }
    let local =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let off = offset.unwrap_or(0);
    let zone: Arc<str> = match (&zone_name, offset) {
        (Some(n), _) => Arc::from(n.as_str()),
        (None, Some(0)) | (None, None) => Arc::from("UTC"),
        (None, Some(_)) => Arc::from(""),
    };
    Ok(GoTime {
        secs: local - i64::from(off),
        nanos,
        offset: off,
        zone,
        mono: None,
    })
}

fn frac_nanos(digits: &str) -> u32 {
    let mut n = 0u32;
    for (i, c) in digits.bytes().take(9).enumerate() {
        n += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
    }
    n
}

// ---------------------------------------------------------------------------------------
// durations

/// Go's `Duration.String()` of nanoseconds.
pub(crate) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut s = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = match u {
            0 => return "0s".into(),
            1..=999 => ("ns", 1),
            1_000..=999_999 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        s.push_str(&(u / div).to_string());
        let frac = u % div;
        if frac > 0 {
            let width = div.ilog10() as usize;
            let f = format!("{frac:0width$}");
            s.push('.');
            s.push_str(f.trim_end_matches('0'));
        }
        s.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            s.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            s.push_str(&format!("{m}m"));
        }
        s.push_str(&sec.to_string());
        if frac > 0 {
            s.push('.');
            s.push_str(format!("{frac:09}").trim_end_matches('0'));
        }
        s.push('s');
    }
    if neg { format!("-{s}") } else { s }
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "time: invalid duration {}",
            crate::template::gofmt::go_quote(text.as_bytes())
        )
    };
    let (neg, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int: u128 = if int_len > 0 {
            s[..int_len].parse().map_err(|_| bad())?
        } else {
            0
        };
        s = &s[int_len..];
        let mut frac = "";
        if let Some(r) = s.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..n];
            s = &r[n..];
            if int_len == 0 && n == 0 {
                return Err(bad());
            }
        } else if int_len == 0 {
            return Err(bad());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit: u128 = match &s[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::template::gofmt::go_quote(text.as_bytes())
                ));
            }
            u => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::template::gofmt::go_quote(u.as_bytes()),
                    crate::template::gofmt::go_quote(text.as_bytes())
                ));
            }
        };
        s = &s[unit_len..];
        let mut v = int.checked_mul(unit).ok_or_else(bad)?;
        let mut scale = unit;
        for c in frac.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            v += u128::from(c - b'0') * scale;
        }
        total = total.checked_add(v).ok_or_else(bad)?;
        if total > 1u128 << 63 {
            return Err(bad());
        }
    }
    let total = i128::try_from(total).map_err(|_| bad())?;
    let signed = if neg { -total } else { total };
    i64::try_from(signed).map_err(|_| bad())
}
