//! Template values: the dynamic data a Go template works on.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::time::GoTime;

/// A Go string: arbitrary bytes, usually (but not necessarily) UTF-8.
pub type Bytes = Arc<[u8]>;

/// A map with string keys, sorted like Go sorts map keys when printing or ranging. Keys are
/// shared strings: ranging over a map hands each key to the template without a copy.
pub type Map = BTreeMap<Arc<str>, Value>;

/// The Go element type of a map, which decides what a missing key yields for `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `map[string]string`: a missing key is `""`.
    Strings,
    /// `map[string]interface{}`: a missing key is nil.
    Any,
    /// A Go struct a function returns: templates read its fields (`.Cert`), Go's `%v` and
    /// JSON show it as the struct does.
    Struct(StructKind),
}

/// The Go type of a struct value (see [`MapKind::Struct`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StructKind {
    /// Masterminds/semver's `*semver.Version` (sprig's `semver`): `.Major`, `.Minor`, `.Patch`
    /// (uint64), `.Prerelease`, `.Metadata`, `.Original`; prints and marshals as its
    /// `String()`.
    Semver,
    /// sprig's `certificate` (`genCA`, `genSignedCert` ...): `.Cert` and `.Key`; prints as
    /// `{CERT KEY}`.
    Certificate,
}

/// A value inside the template engine, modelled on the Go values ESO's templates see.
///
/// Cloning is cheap: strings, lists and maps are reference counted.
#[derive(Clone, Default)]
pub enum Value {
    /// A nil interface value (Go's `<nil>` / `<no value>`).
    #[default]
    Nil,
    /// A Go `bool`.
    Bool(bool),
    /// A Go `int` (integer literals, `len`, `atoi`, `int`, range indexes).
    Int(i64),
    /// A Go `int64` (sprig's `int64`, `add`, `sub`, `max` ...). It acts as an `int` except
    /// where Go tells the two types apart: functions that switch on the type (`duration`
    /// reads seconds only from an `int64`), parameters typed `int`, `typeOf` and deep
    /// equality (`has`, `uniq`).
    Int64(i64),
    /// A Go unsigned integer (`uint64`, `uint8`, ...).
    Uint(u64),
    /// A Go `float64`.
    Float(f64),
    /// A Go `string` (bytes).
    Str(Bytes),
    /// A Go slice.
    List(Arc<Vec<Self>>),
    /// A Go map with string keys.
    Map(Arc<Map>, MapKind),
    /// A Go `time.Time` (sprig's date functions).
    Time(Arc<GoTime>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may hold secret data: show only the shape.
        write!(f, "Value({})", self.type_name())
    }
}

impl Value {
    /// A string value from text.
    pub fn str(s: &str) -> Self {
        Self::Str(Arc::from(s.as_bytes()))
    }

    /// A string value from bytes.
    pub fn bytes(b: &[u8]) -> Self {
        Self::Str(Arc::from(b))
    }

    /// A string value taking ownership of a `String`.
    pub fn string(s: String) -> Self {
        Self::Str(Arc::from(s.as_bytes()))
    }

    /// A string value taking ownership of bytes.
    pub fn byte_vec(b: Vec<u8>) -> Self {
        Self::Str(Arc::from(b.as_slice()))
    }

    /// A `[]interface{}` list.
    pub fn list(v: Vec<Self>) -> Self {
        Self::List(Arc::new(v))
    }

    /// A `map[string]interface{}`.
    pub fn map(m: Map) -> Self {
        Self::Map(Arc::new(m), MapKind::Any)
    }

    /// A `map[string]string` from string pairs.
    pub fn string_map(m: Map) -> Self {
        Self::Map(Arc::new(m), MapKind::Strings)
    }

    /// The Go type name, as Go error messages print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Nil => "<nil>",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Int64(_) => "int64",
            Self::Uint(_) => "uint64",
            Self::Float(_) => "float64",
            Self::Str(_) => "string",
            Self::List(_) => "[]interface {}",
            Self::Map(_, MapKind::Strings) => "map[string]string",
            Self::Map(_, MapKind::Any) => "map[string]interface {}",
            Self::Map(_, MapKind::Struct(StructKind::Semver)) => "*semver.Version",
            Self::Map(_, MapKind::Struct(StructKind::Certificate)) => "sprig.certificate",
            Self::Time(_) => "time.Time",
        }
    }

    /// The Go `reflect.Kind` name (sprig's `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Nil => "invalid",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Int64(_) => "int64",
            Self::Uint(_) => "uint64",
            Self::Float(_) => "float64",
            Self::Str(_) => "string",
            Self::List(_) => "slice",
            Self::Map(_, MapKind::Struct(StructKind::Semver)) => "ptr",
            Self::Map(_, MapKind::Struct(_)) => "struct",
            Self::Map(..) => "map",
            Self::Time(_) => "struct",
        }
    }

    /// Go's template truth: non-zero numbers, non-empty strings/lists/maps, true.
    pub fn truth(&self) -> bool {
        match self {
            Self::Nil => false,
            Self::Bool(b) => *b,
            Self::Int(i) | Self::Int64(i) => *i != 0,
            Self::Uint(i) => *i != 0,
            Self::Float(f) => *f != 0.0,
            Self::Str(s) => !s.is_empty(),
            Self::List(l) => !l.is_empty(),
            Self::Map(_, MapKind::Struct(_)) => true,
            Self::Map(m, _) => !m.is_empty(),
            Self::Time(_) => true,
        }
    }

    /// The bytes of a string value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a string value (lossy for invalid UTF-8).
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        self.as_bytes().map(String::from_utf8_lossy)
    }

    /// True for [`Value::Nil`].
    pub fn is_nil(&self) -> bool {
        matches!(self, Self::Nil)
    }

    /// The text Go's `%v` prints for a struct value (`None` for anything else).
    pub(crate) fn struct_text(&self) -> Option<String> {
        let Self::Map(m, MapKind::Struct(kind)) = self else {
            return None;
        };
        let field = |k: &str| {
            m.get(k)
                .map(|v| String::from_utf8_lossy(&v.to_go_string()).into_owned())
        };
        Some(match kind {
            StructKind::Semver => {
                let mut s = format!(
                    "{}.{}.{}",
                    field("Major").unwrap_or_default(),
                    field("Minor").unwrap_or_default(),
                    field("Patch").unwrap_or_default()
                );
                for (sep, k) in [('-', "Prerelease"), ('+', "Metadata")] {
                    if let Some(x) = field(k).filter(|x| !x.is_empty()) {
                        s.push(sep);
                        s.push_str(&x);
                    }
                }
                s
            }
            StructKind::Certificate => format!(
                "{{{} {}}}",
                field("Cert").unwrap_or_default(),
                field("Key").unwrap_or_default()
            ),
        })
    }

    /// Formats the value like Go's `fmt.Sprint` of one operand (`%v`).
    pub fn to_go_string(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_value(&mut out, self);
        out
    }
}

/// Go's `reflect.DeepEqual` (sprig's `has`, `uniq`, `deepEqual`): an `int` never equals an
/// `int64`. Templates' `eq` compares numbers by value instead (see `compare.rs`).
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Nil, Self::Nil) => true,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) | (Self::Int64(a), Self::Int64(b)) => a == b,
            (Self::Uint(a), Self::Uint(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => a == b,
            (Self::Str(a), Self::Str(b)) => a == b,
            (Self::List(a), Self::List(b)) => a == b,
            (Self::Map(a, _), Self::Map(b, _)) => a == b,
            (Self::Time(a), Self::Time(b)) => a == b,
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Self::string(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

impl From<&serde_json::Value> for Value {
    /// Converts JSON the way Go's `encoding/json` decodes into `interface{}`: numbers become float64.
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Self::Nil,
            serde_json::Value::Bool(b) => Self::Bool(*b),
            serde_json::Value::Number(n) => Self::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Self::str(s),
            serde_json::Value::Array(a) => Self::list(a.iter().map(Self::from).collect()),
            serde_json::Value::Object(o) => Self::map(
                o.iter()
                    .map(|(k, v)| (k.as_str().into(), Self::from(v)))
                    .collect(),
            ),
        }
    }
}

/// Writes a float the way Go's `%v` does (`strconv.FormatFloat(f, 'g', -1, 64)` with fmt's exponent rule).
pub(crate) fn write_float_v(out: &mut Vec<u8>, f: f64) {
    // Whole numbers below 1e6 print as integers (`%v` switches to `e` notation from an
    // exponent of 6 on): the common case of a JSON number, without the digit search.
    if f.fract() == 0.0 && f.abs() < 1e6 && !(f == 0.0 && f.is_sign_negative()) {
        write_int(out, f as i64);
        return;
    }
    out.extend_from_slice(format_float_g(f, None, false).as_bytes());
}

/// Splits a finite, non-negative float into its shortest decimal digits and decimal exponent
/// (value = 0.d1d2d3... * 10^dp).
pub(crate) fn shortest_digits(f: f64) -> (String, i32) {
    // Rust's `{:e}` gives the shortest round-trip representation.
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0').to_string();
    if digits.is_empty() {
        return ("0".to_string(), 1);
    }
    (digits, exp + 1)
}

/// Rounds decimal digits to `n` significant digits, returning new digits and exponent.
pub(crate) fn round_digits(f: f64, n: usize) -> (String, i32) {
    // `{:.*e}` rounds correctly (round half to even on exact decimal value).
    let s = format!("{:.*e}", n.saturating_sub(1), f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    (digits, exp + 1)
}

fn exp_suffix(e: i32, upper: bool) -> String {
    let sign = if e < 0 { '-' } else { '+' };
    let a = e.unsigned_abs();
    format!(
        "{}{}{}{}",
        if upper { 'E' } else { 'e' },
        sign,
        if a < 10 { "0" } else { "" },
        a
    )
}

/// Go's `%e` with digits `d` (first digit is before the point) and exponent.
fn fmt_e_digits(digits: &str, dp: i32, prec_digits: usize, upper: bool) -> String {
    let mut s = String::new();
    let mut chars = digits.chars();
    s.push(chars.next().unwrap_or('0'));
    let rest: String = chars.collect();
    let mut frac = rest;
    while frac.len() < prec_digits {
        frac.push('0');
    }
    if !frac.is_empty() {
        s.push('.');
        s.push_str(&frac);
    }
    let e = if digits == "0" { 0 } else { dp - 1 };
    s.push_str(&exp_suffix(e, upper));
    s
}

/// Go's `%f` layout of digits/dp with `frac` digits after the point (digits already rounded).
fn fmt_f_digits(digits: &str, dp: i32, frac: usize) -> String {
    let mut s = String::new();
    if dp <= 0 {
        s.push('0');
    } else {
        for i in 0..dp as usize {
            s.push(digits.as_bytes().get(i).map_or('0', |b| *b as char));
        }
    }
    if frac > 0 {
        s.push('.');
        for i in 0..frac as i64 {
            let idx = dp as i64 + i;
            let c = if idx < 0 {
                '0'
            } else {
                digits
                    .as_bytes()
                    .get(idx as usize)
                    .map_or('0', |b| *b as char)
            };
            s.push(c);
        }
    }
    s
}

/// Go's JSON text of a float (`encoding/json` float64 encoder).
pub(crate) fn json_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float_g(f, None, false)
        ));
    }
    let abs = f.abs();
    let (digits, dp) = shortest_digits(f);
    // Go keeps the sign of negative zero (`-0`).
    let neg = if f.is_sign_negative() { "-" } else { "" };
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = String::from(neg);
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let e = dp - 1;
        s.push('e');
        s.push(if e < 0 { '-' } else { '+' });
        s.push_str(&e.unsigned_abs().to_string());
        return Ok(s);
    }
    if digits == "0" {
        return Ok(format!("{neg}0"));
    }
    let mut s = String::from(neg);
    if dp <= 0 {
        s.push_str("0.");
        for _ in 0..(-dp) {
            s.push('0');
        }
        s.push_str(&digits);
    } else {
        let dpu = dp as usize;
        if digits.len() <= dpu {
            s.push_str(&digits);
            for _ in digits.len()..dpu {
                s.push('0');
            }
        } else {
            s.push_str(&digits[..dpu]);
            s.push('.');
            s.push_str(&digits[dpu..]);
        }
    }
    Ok(s)
}

/// Go `strconv.FormatFloat(f, 'g', prec, 64)` plus fmt's `%v` shortest rule (`None` precision).
pub(crate) fn format_float_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative();
    let (digits, dp, eprec) = match prec {
        None => {
            let (d, dp) = shortest_digits(f);
            (d, dp, 6)
        }
        Some(p) => {
            let p = p.max(1);
            let (d, dp) = round_digits(f, p);
            let d = d.trim_end_matches('0').to_string();
            let d = if d.is_empty() { "0".to_string() } else { d };
            let mut eprec = p;
            if eprec > d.len() && d.len() as i32 >= dp {
                eprec = d.len();
            }
            (d, dp, eprec)
        }
    };
    let exp = if digits == "0" { 0 } else { dp - 1 };
    let body = if exp < -4 || exp >= eprec as i32 {
        fmt_e_digits(&digits, dp, 0, upper)
    } else {
        let frac = (digits.len() as i32 - dp).max(0) as usize;
        fmt_f_digits(&digits, if digits == "0" { 1 } else { dp }, frac)
    };
    if neg { format!("-{body}") } else { body }
}

/// Go `%e` / `%E` with precision.
pub(crate) fn format_float_e(f: f64, prec: usize, upper: bool) -> String {
    if !f.is_finite() {
        return format_float_g(f, None, upper);
    }
    let (d, dp) = round_digits(f, prec + 1);
    let body = fmt_e_digits(&d, dp, prec, upper);
    if f.is_sign_negative() {
        format!("-{body}")
    } else {
        body
    }
}

/// Go `%f` with precision.
pub(crate) fn format_float_f(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return format_float_g(f, None, false);
    }
    format!("{f:.prec$}")
}

/// Appends an integer's decimal digits (without the formatting machinery: numbers are
/// printed often, in JSON and in the output).
pub(crate) fn write_int(out: &mut Vec<u8>, i: impl Into<i128>) {
    let i: i128 = i.into();
    if i < 0 {
        out.push(b'-');
    }
    // the callers pass an i64 or a u64: the magnitude fits 64 bits
    let mut n = i.unsigned_abs() as u64;
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// Writes `v` like Go's `fmt.Fprint` (`%v`).
pub(crate) fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Nil => out.extend_from_slice(b"<nil>"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) | Value::Int64(i) => write_int(out, *i),
        Value::Uint(i) => write_int(out, *i),
        Value::Float(f) => write_float_v(out, *f),
        Value::Str(s) => out.extend_from_slice(s),
        Value::List(l) => {
            out.push(b'[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_value(out, e);
            }
            out.push(b']');
        }
        Value::Time(t) => out.extend_from_slice(t.go_string().as_bytes()),
        Value::Map(_, MapKind::Struct(_)) => {
            out.extend_from_slice(v.struct_text().unwrap_or_default().as_bytes());
        }
        Value::Map(m, _) => {
            out.extend_from_slice(b"map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(k.as_bytes());
                out.push(b':');
                write_value(out, e);
            }
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_v() {
        let cases = [
            (1000.0, "1000"),
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (5432.0, "5432"),
            (1234567.0, "1.234567e+06"),
            (999999.0, "999999"),
            (-42.0, "-42"),
            (-0.0, "-0"),
        ];
        for (f, want) in cases {
            let mut o = Vec::new();
            write_float_v(&mut o, f);
            assert_eq!(String::from_utf8(o).unwrap(), want, "{f}");
        }
    }

    #[test]
    fn float_g_prec() {
        assert_eq!(format_float_g(1.23456, Some(3), false), "1.23");
        assert_eq!(format_float_e(1234.5678, 2, false), "1.23e+03");
        assert_eq!(format_float_f(2.5, 2), "2.50");
    }
}
