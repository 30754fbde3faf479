//! Go `time.Duration` strings, parsed and printed exactly like Go does.
//!
//! ESO's manifests carry durations as Go strings (`refreshInterval: 1h30m`). Go accepts
//! forms that common Rust crates reject (`-1h30m`, `+5m`, `.5s`, `1.s`, `10µs`) and rejects
//! forms they accept (`1d`, `1h 30m`), so the parser here follows Go's `ParseDuration` rule
//! by rule, and [`GoDuration`]'s `Display` follows Go's `Duration.String`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A signed duration with nanosecond precision, as Go's `time.Duration` (an `i64` of ns).
///
/// # Example
///
/// ```
/// use eso_core::GoDuration;
///
/// let d: GoDuration = "1h30m".parse().unwrap();
/// assert_eq!(d.as_nanos(), 5_400_000_000_000);
/// assert_eq!(d.to_string(), "1h30m0s");
/// assert_eq!("0".parse::<GoDuration>().unwrap().to_string(), "0s");
/// assert!("1d".parse::<GoDuration>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration(i64);

/// Why a duration string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationParseError {
    input: String,
    reason: &'static str,
}

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000;
const MILLISECOND: u64 = 1_000_000;
const SECOND: u64 = 1_000_000_000;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;

impl GoDuration {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// From a count of nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    /// From whole seconds (saturating).
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(SECOND as i64))
    }

    /// Nanoseconds, possibly negative.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// True for zero (which ESO often reads as "disabled").
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True for a negative duration.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The duration as a `std::time::Duration`, or `None` if negative.
    pub fn to_std(self) -> Option<Duration> {
        u64::try_from(self.0).ok().map(Duration::from_nanos)
    }

    /// Parses a Go duration string.
    pub fn parse(s: &str) -> Result<Self, DurationParseError> {
        parse(s).map_err(|reason| DurationParseError {
            input: s.chars().take(64).collect(),
            reason,
        })
    }
}

impl From<Duration> for GoDuration {
    fn from(d: Duration) -> Self {
        Self(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

impl FromStr for GoDuration {
    type Err = DurationParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => NANOSECOND,
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

fn parse(input: &str) -> Result<GoDuration, &'static str> {
    let mut s = input;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(GoDuration(0));
    }
    if s.is_empty() {
        return Err("empty duration");
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        // Integer part.
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, rest) = s.split_at(int_len);
        s = rest;
        let mut value: u64 = 0;
        for b in int_digits.bytes() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or("overflow")?;
        }
        // Fraction.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut frac_len = 0;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            frac_len = s.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflowed = false;
            for b in s[..frac_len].bytes() {
                if overflowed {
                    continue;
                }
                if frac > (i64::MAX as u64) / 10 {
                    overflowed = true;
                    continue;
                }
                let next = frac * 10 + u64::from(b - b'0');
                if next > 1u64 << 63 {
                    overflowed = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            s = &s[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err("expected a number");
        }
        // Unit.
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err("missing unit");
        }
        let unit = unit_nanos(&s[..unit_len]).ok_or("unknown unit")?;
        s = &s[unit_len..];
        let mut v = value.checked_mul(unit).ok_or("overflow")?;
        if frac > 0 {
            // Go uses float64 arithmetic for the fractional part, then truncates.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let f = (frac as f64 * (unit as f64 / scale)) as u64;
            v = v.checked_add(f).ok_or("overflow")?;
        }
        total = total.checked_add(v).ok_or("overflow")?;
        if total > 1u64 << 63 {
            return Err("overflow");
        }
    }
    if neg {
        #[allow(clippy::cast_possible_wrap)]
        return Ok(GoDuration((total as i64).wrapping_neg()));
    }
    if total > i64::MAX as u64 {
        return Err("overflow");
    }
    #[allow(clippy::cast_possible_wrap)]
    Ok(GoDuration(total as i64))
}

/// Writes `v / 10^prec` with trailing zeros of the fraction removed, like Go's `fmtFrac`+`fmtInt`.
fn fmt_frac(out: &mut String, v: u64, prec: u32) -> u64 {
    let mut digits = String::new();
    let mut v = v;
    let mut printed = false;
    for _ in 0..prec {
        let digit = v % 10;
        printed = printed || digit != 0;
        if printed {
            digits.insert(0, char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        v /= 10;
    }
    if printed {
        out.push('.');
        out.push_str(&digits);
    }
    v
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let mut out = String::new();
        if u < SECOND {
            if u == 0 {
                return f.write_str("0s");
            }
            let (prec, unit) = if u < MICROSECOND {
                (0, "ns")
            } else if u < MILLISECOND {
                (3, "\u{b5}s")
            } else {
                (6, "ms")
            };
            let mut frac = String::new();
            let whole = fmt_frac(&mut frac, u, prec);
            out = format!("{whole}{frac}{unit}");
        } else {
            let mut frac = String::new();
            let secs_total = fmt_frac(&mut frac, u, 9);
            let secs = secs_total % 60;
            let mins_total = secs_total / 60;
            let mins = mins_total % 60;
            let hours = mins_total / 60;
            if hours > 0 {
                out.push_str(&format!("{hours}h"));
            }
            if hours > 0 || mins > 0 {
                out.push_str(&format!("{mins}m"));
            }
            out.push_str(&format!("{secs}{frac}s"));
        }
        if neg {
            f.write_str("-")?;
        }
        f.write_str(&out)
    }
}

impl serde::Serialize for GoDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "kube")]
impl schemars::JsonSchema for GoDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> i64 {
        GoDuration::parse(s)
            .unwrap_or_else(|e| panic!("{e}"))
            .as_nanos()
    }

    #[test]
    fn parses_like_go() {
        let s = SECOND as i64;
        assert_eq!(p("0"), 0);
        assert_eq!(p("-0"), 0);
        assert_eq!(p("5s"), 5 * s);
        assert_eq!(p("30s"), 30 * s);
        assert_eq!(p("1478s"), 1478 * s);
        assert_eq!(p("-5s"), -5 * s);
        assert_eq!(p("+5s"), 5 * s);
        assert_eq!(p("-0s"), 0);
        assert_eq!(p("5.0s"), 5 * s);
        assert_eq!(p("5.6s"), 5 * s + 600_000_000);
        assert_eq!(p("5.s"), 5 * s);
        assert_eq!(p(".5s"), 500_000_000);
        assert_eq!(p("1.0s"), s);
        assert_eq!(p("1.00s"), s);
        assert_eq!(p("1.004s"), s + 4_000_000);
        assert_eq!(p("100.00100s"), 100 * s + 1_000_000);
        assert_eq!(p("10ns"), 10);
        assert_eq!(p("11us"), 11_000);
        assert_eq!(p("12\u{b5}s"), 12_000);
        assert_eq!(p("12\u{3bc}s"), 12_000);
        assert_eq!(p("13ms"), 13_000_000);
        assert_eq!(p("14s"), 14 * s);
        assert_eq!(p("15m"), 15 * 60 * s);
        assert_eq!(p("16h"), 16 * 3600 * s);
        assert_eq!(p("3h30m"), (3 * 3600 + 30 * 60) * s);
        assert_eq!(p("10.5s4m"), 4 * 60 * s + 10 * s + 500_000_000);
        assert_eq!(p("-2m3.4s"), -(2 * 60 * s + 3 * s + 400_000_000));
        assert_eq!(p("1h2m3s4ms5us6ns"), 3_723_004_005_006);
        assert_eq!(p("39h9m14.425s"), 140_954_425_000_000);
        assert_eq!(p("52763797000ns"), 52_763_797_000);
        assert_eq!(p("0.3333333333333333333h"), 20 * 60 * s);
        assert_eq!(p("9007199254740993ns"), 9_007_199_254_740_993);
        assert_eq!(p("9223372036854775807ns"), i64::MAX);
        assert_eq!(p("-9223372036854775808ns"), i64::MIN);
        assert_eq!(p("0.100000000000000000000h"), 6 * 60 * s);
    }

    #[test]
    fn rejects_like_go() {
        for bad in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "1h 30m",
            "3000000h",
            "9223372036854775808ns",
            "9223372036854775.808us",
            "1x",
            "h1",
            "1.2.3s",
            " 1s",
        ] {
            assert!(
                GoDuration::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn prints_like_go() {
        let cases = [
            ("0s", 0),
            ("1ns", 1),
            ("1.1\u{b5}s", 1100),
            ("2.2ms", 2_200_000),
            ("3.3s", 3_300_000_000),
            ("4m5s", 245 * SECOND as i64),
            ("4m5.001s", 245_001_000_000),
            ("5h6m7.001s", 18_367_001_000_000),
            ("8m0.000000001s", 480 * SECOND as i64 + 1),
            ("2562047h47m16.854775807s", i64::MAX),
            ("-2562047h47m16.854775808s", i64::MIN),
            ("1h0m0s", 3600 * SECOND as i64),
            ("-1h30m0s", -5400 * SECOND as i64),
        ];
        for (want, ns) in cases {
            assert_eq!(GoDuration::from_nanos(ns).to_string(), want);
        }
    }

    #[test]
    fn error_names_input() {
        let e = GoDuration::parse("1d").unwrap_err();
        assert_eq!(e.to_string(), "invalid duration \"1d\": unknown unit");
    }

    proptest::proptest! {
        #[test]
        fn display_parses_back(ns in proptest::num::i64::ANY) {
            let d = GoDuration::from_nanos(ns);
            proptest::prop_assert_eq!(GoDuration::parse(&d.to_string()).map(GoDuration::as_nanos), Ok(ns));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = GoDuration::parse(&s);
        }
    }
}
