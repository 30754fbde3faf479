//! sprig's `semver` and `semverCompare` with the rules of Masterminds/semver v3.4 (the version
//! ESO pins): loose version parsing (`v1`, `1.2`, leading zeros), constraints with `=`, `!=`,
//! `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, `x`/`*` wildcards, hyphen ranges, `,`/space (and) and
//! `||` (or), and pre-releases only matched by constraints that name one.
//!
//! `semver` returns the version's canonical text (what Go prints for the `*Version`); the
//! methods of Go's `*Version` (`.Major` ...) are not available on it.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::{FuncDef, S, fixed, text};
use crate::template::value::Value;

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn re(pattern: String) -> Regex {
    Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|e| panic!("{e}")))
}

static LOOSE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".into())
});
static ONE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"^\s*({OPS})\s*({CV})\s*$")));
static RANGE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"\s*({CV})\s+-\s+({CV})\s*")));
static FIND: LazyLock<Regex> = LazyLock::new(|| re(format!(r"({OPS})\s*({CV})")));
static VALID: LazyLock<Regex> = LazyLock::new(|| {
    re(format!(
        r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
    ))
});

#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    meta: String,
}

fn parse_version(v: &str) -> Result<Version, String> {
    let m = LOOSE
        .captures(v)
        .ok_or_else(|| "invalid semantic version".to_string())?;
    let num = |i: usize| -> Result<u64, String> {
        match m.get(i) {
            None => Ok(0),
            Some(s) => s
                .as_str()
                .trim_start_matches('.')
                .parse()
                .map_err(|e| format!("error parsing version segment: {e}")),
        }
    };
    let pre = m.get(5).map_or("", |x| x.as_str()).to_string();
    for part in pre.split('.').filter(|_| !pre.is_empty()) {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        }
        if part.bytes().all(|c| c.is_ascii_digit()) && part.len() > 1 && part.starts_with('0') {
            return Err("version segment starts with 0".into());
        }
    }
    Ok(Version {
        major: num(1)?,
        minor: num(2)?,
        patch: num(3)?,
        pre,
        meta: m.get(8).map_or("", |x| x.as_str()).to_string(),
    })
}

impl Version {
    /// The `*semver.Version` templates see: fields as its methods answer them.
    fn to_value(&self, original: &str) -> Value {
        let m: crate::template::value::Map = [
            ("Major", Value::Uint(self.major)),
            ("Minor", Value::Uint(self.minor)),
            ("Patch", Value::Uint(self.patch)),
            ("Prerelease", Value::str(&self.pre)),
            ("Metadata", Value::str(&self.meta)),
            ("Original", Value::str(original)),
            ("String", Value::string(self.to_go_string())),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect();
        Value::Map(
            std::sync::Arc::new(m),
            crate::template::value::MapKind::Struct(crate::template::value::StructKind::Semver),
        )
    }

    fn to_go_string(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.meta.is_empty() {
            s.push('+');
            s.push_str(&self.meta);
        }
        s
    }

    fn compare(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &o.pre),
            })
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..pa.len().max(pb.len()) {
        let (s, o) = (
            pa.get(i).copied().unwrap_or(""),
            pb.get(i).copied().unwrap_or(""),
        );
        if s == o {
            continue;
        }
        if s.is_empty() {
            return Ordering::Less;
        }
        if o.is_empty() {
            return Ordering::Greater;
        }
        return match (s.parse::<u64>(), o.parse::<u64>()) {
            (Ok(x), Ok(y)) => {
                if x > y {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (Err(_), Err(_)) => {
                if s > o {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
        };
    }
    Ordering::Equal
}

struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    let m = ONE
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    let con = parse_version(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op: g(1).to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    v.major == c.con.major && (v.minor == c.con.minor || c.minor_dirty)
}

fn check(v: &Version, c: &Constraint, include_pre: bool) -> bool {
    if !v.pre.is_empty() && !include_pre {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "" | "=" => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    return (!v.pre.is_empty() || !c.con.pre.is_empty())
                        && compare_pre(&v.pre, &c.con.pre) != Ordering::Equal;
                }
            }
            cmp != Ordering::Equal
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major != c.con.major {
                return v.major > c.con.major;
            }
            if c.minor_dirty {
                return false;
            }
            if c.patch_dirty {
                return v.minor > c.con.minor;
            }
            cmp == Ordering::Greater
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > c.con.major
                || v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty)
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let mut rewritten = constraint.to_string();
    for m in RANGE.captures_iter(constraint) {
        let (all, a, b) = (
            m.get(0).map_or("", |x| x.as_str()),
            m.get(1).map_or("", |x| x.as_str()),
            m.get(11).map_or("", |x| x.as_str()),
        );
        rewritten = rewritten.replacen(all, &format!(">= {a}, <= {b} "), 1);
    }
    let mut groups = Vec::new();
    for or in rewritten.split("||") {
        if !VALID.is_match(or) {
            return Err(format!("improper constraint: {or}"));
        }
        let mut cs: Vec<&str> = FIND.find_iter(or).map(|m| m.as_str()).collect();
        if cs.is_empty() {
            cs.push(or);
        }
        let parsed = cs
            .into_iter()
            .map(parse_constraint)
            .collect::<Result<Vec<_>, _>>()?;
        let has_pre = parsed.iter().any(|c| !c.con.pre.is_empty());
        groups.push((parsed, has_pre));
    }
    let v = parse_version(version)?;
    Ok(groups
        .iter()
        .any(|(cs, has_pre)| cs.iter().all(|c| check(&v, c, *has_pre))))
}

pub(crate) fn funcs() -> Vec<FuncDef> {
    vec![
        fixed("semver", &[S], |_, a| {
            let original = text(&a[0]);
            parse_version(&original).map(|v| v.to_value(&original))
        }),
        fixed("semverCompare", &[S, S], |_, a| {
            semver_compare(&text(&a[0]), &text(&a[1])).map(Value::Bool)
        }),
    ]
}
