//! Go's `time.Duration` text: `Duration.String()` and `time.ParseDuration`.

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
