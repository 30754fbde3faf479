//! sprig's date functions: `now`, `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`,
//! `dateModify`, `mustDateModify`, `ago`, `duration`, `durationRound`, `toDate`, `mustToDate`,
//! `unixEpoch`, with Go's argument rules (a date argument may be a `time.Time` or an `int`
//! of Unix seconds; anything else means "now").

use std::sync::Arc;

use super::{A, Ctx, FnResult, FuncDef, S, T, fixed, text};
use crate::template::time::{self, GoTime, Zone};
use crate::template::value::Value;

/// sprig's `switch date.(type)`: a time, Unix seconds, or now.
fn time_of(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => t.as_ref().clone(),
        Value::Int(i) | Value::Int64(i) => GoTime::unix(*i, 0),
        _ => GoTime::now(),
    }
}

fn time_arg(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => t.as_ref().clone(),
        _ => GoTime::zero(),
    }
}

fn date_in_zone(layout: &str, date: &Value, zone: &str) -> FnResult {
    let t = time_of(date);
    let zone = Zone::load(zone).unwrap_or(Zone::Utc);
    Ok(Value::string(t.in_zone(&zone).format(layout)))
}

fn time_value(t: GoTime) -> Value {
    Value::Time(Arc::new(t))
}

/// Go's `Duration.Round(time.Second)`.
fn round_second(d: i64) -> i64 {
    const M: i64 = 1_000_000_000;
    let r = d % M;
    if d < 0 {
        let r = -r;
        if r + r < M {
            return d + r;
        }
        return d.checked_sub(M - r).unwrap_or(i64::MIN);
    }
    if r + r < M {
        return d - r;
    }
    d.checked_add(M - r).unwrap_or(i64::MAX)
}

fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    let units: [(u64, &str); 6] = [
        (SECOND * 3600 * 24 * 365, "y"),
        (SECOND * 3600 * 24 * 30, "mo"),
        (SECOND * 3600 * 24, "d"),
        (SECOND * 3600, "h"),
        (SECOND * 60, "m"),
        (SECOND, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

fn to_date(layout: &str, value: &str) -> Result<GoTime, String> {
    time::parse(layout, value)
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("now", &[], |_, _| Ok(time_value(GoTime::now()))),
        fixed("date", &[S, A], |_, a| {
            date_in_zone(&text(&a[0]), &a[1], "Local")
        }),
        fixed("dateInZone", &[S, A, S], |_, a| {
            date_in_zone(&text(&a[0]), &a[1], &text(&a[2]))
        }),
        fixed("date_in_zone", &[S, A, S], |_, a| {
            date_in_zone(&text(&a[0]), &a[1], &text(&a[2]))
        }),
        fixed("htmlDate", &[A], |_, a| {
            date_in_zone("2006-01-02", &a[0], "Local")
        }),
        fixed("htmlDateInZone", &[A, S], |_, a| {
            date_in_zone("2006-01-02", &a[0], &text(&a[1]))
        }),
        fixed("dateModify", &[S, T], date_modify),
        fixed("date_modify", &[S, T], date_modify),
        fixed("mustDateModify", &[S, T], must_date_modify),
        fixed("must_date_modify", &[S, T], must_date_modify),
        fixed("ago", &[A], |_, a| {
            let t = match &a[0] {
                Value::Time(t) => t.as_ref().clone(),
                Value::Int(i) | Value::Int64(i) => GoTime::unix(*i, 0),
                _ => GoTime::now(),
            };
            Ok(Value::string(time::duration_string(round_second(
                t.since(),
            ))))
        }),
        fixed("duration", &[A], |_, a| {
            // Go: a string of seconds or an int64; any other type (an `int` literal, a float)
            // counts as 0.
            let n = match &a[0] {
                Value::Str(s) => String::from_utf8_lossy(s).parse::<i64>().unwrap_or(0),
                Value::Int64(i) => *i,
                _ => 0,
            };
            Ok(Value::string(time::duration_string(
                n.saturating_mul(1_000_000_000),
            )))
        }),
        fixed("durationRound", &[A], |_, a| {
            let d = match &a[0] {
                Value::Str(s) => time::parse_duration(&String::from_utf8_lossy(s)).unwrap_or(0),
                Value::Time(t) => t.since(),
                // An int64 is nanoseconds (Go's `time.Duration(n)`).
                Value::Int64(n) => *n,
                _ => 0,
            };
            Ok(Value::string(duration_round(d)))
        }),
        fixed("toDate", &[S, S], |_, a| {
            Ok(time_value(
                to_date(&text(&a[0]), &text(&a[1])).unwrap_or_else(|_| GoTime::zero()),
            ))
        }),
        fixed("mustToDate", &[S, S], |_, a| {
            to_date(&text(&a[0]), &text(&a[1])).map(time_value)
        }),
        fixed("unixEpoch", &[T], |_, a| {
            Ok(Value::string(time_arg(&a[0]).unix_secs().to_string()))
        }),
    ]
}

fn date_modify(_: &Ctx, a: super::Args) -> FnResult {
    let t = time_arg(&a[1]);
    Ok(time_value(match time::parse_duration(&text(&a[0])) {
        Ok(d) => t.add(d),
        Err(_) => t,
    }))
}

fn must_date_modify(_: &Ctx, a: super::Args) -> FnResult {
    let d = time::parse_duration(&text(&a[0]))?;
    Ok(time_value(time_arg(&a[1]).add(d)))
}
