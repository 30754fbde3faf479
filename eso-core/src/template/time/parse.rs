//! Go's `time.Parse` for the layouts `toDate` gets (the default location is UTC).

use std::sync::Arc;

use super::{Chunk, DAYS, GoTime, MONTHS, days_from_civil, days_in_month, next_chunk};

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
