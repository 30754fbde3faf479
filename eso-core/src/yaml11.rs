//! YAML as ESO reads it: `sigs.k8s.io/yaml` on yaml.v2 (YAML 1.1). One home for the rules the
//! template engine's `fromYaml` and the manifest loader ([`crate::api::parse_yaml`]) share:
//! how a plain scalar resolves ([`resolve_plain`]), the escapes a double-quoted scalar may use
//! ([`check_escapes`]), and [`as_yaml_v2_reads`], which rewrites the few scalars where the
//! loader's YAML 1.2 reader would read differently.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::template::value::format_float_g;

/// yaml.v2 reads YAML 1.1 escapes: `\/` (added in YAML 1.2) is an unknown escape there.
/// `span` is a double-quoted scalar's source range in `src`.
pub(crate) fn check_escapes(src: &str, span: &Span) -> Result<(), String> {
    let Some(raw) = span.byte_range().and_then(|r| src.as_bytes().get(r)) else {
        return Ok(());
    };
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            if raw.get(i + 1) == Some(&b'/') {
                return Err("yaml: found unknown escape character".into());
            }
            i += 1;
        }
        i += 1;
    }
    Ok(())
}

/// A plain scalar as yaml.v2 resolves it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// yaml.v2's resolution of a plain scalar.
pub(crate) fn resolve_plain(s: &str) -> Resolved {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Resolved::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Resolved::Str(s.to_string());
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    // Go's strconv.ParseInt(s, 0, 64): 0x / 0o / 0b prefixes in either case
    let radix_body = |p: &str| {
        body.get(..2)
            .filter(|b| b.eq_ignore_ascii_case(p))
            .map(|_| &body[2..])
    };
    let int = if let Some(h) = radix_body("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = radix_body("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = radix_body("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else if !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit()) {
        body.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Resolved::Int(if neg { -i } else { i });
    }
    // float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let b = body.as_bytes();
    let mut i = 0;
    let digits_before = {
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i - st
    };
    let mut digits_after = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits_after = i - st;
    } else if digits_before == 0 {
        return Resolved::Str(s.to_string());
    }
    if digits_before == 0 && digits_after == 0 {
        return Resolved::Str(s.to_string());
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let st = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == st {
            return Resolved::Str(s.to_string());
        }
    }
    if i != b.len() {
        return Resolved::Str(s.to_string());
    }
    match plain.parse::<f64>() {
        Ok(f) => Resolved::Float(f),
        Err(_) => Resolved::Str(s.to_string()),
    }
}

/// Where [`as_yaml_v2_reads`] stopped: a scalar yaml.v2 refuses.
#[derive(Debug)]
pub(crate) struct Refused {
    /// Line from 1.
    pub(crate) line: usize,
    /// Column from 1.
    pub(crate) column: usize,
    /// yaml.v2's (or sigs.k8s.io/yaml's) reason.
    pub(crate) message: String,
}

/// The document as a YAML 1.2 reader (serde-saphyr) must see it to read what yaml.v2 reads,
/// as sigs.k8s.io/yaml turns it into JSON:
///
/// - a plain map key that yaml.v2 resolves to a bool or a number becomes the string Go's JSON
///   conversion makes of it (`yes:`, `y:` and `on:` are the key `"true"`, `0x10:` is `"16"`);
///   a null key (`~:`) is refused, as Go refuses it;
/// - a plain value yaml.v2 reads as a string is quoted where a YAML 1.2 reader could take it
///   for something else (`oN`, `nO`: yaml.v2 has only three spellings of each boolean);
/// - `_` in a number (`685_230.15`) is dropped, as yaml.v2 drops it;
/// - `\/` in a double-quoted scalar is refused (an unknown escape in YAML 1.1).
///
/// Only single-line plain scalars without a tag are rewritten, in place, so lines keep their
/// numbers. Text the parser cannot read comes back unchanged: the loader reports the error.
pub(crate) fn as_yaml_v2_reads(src: &str) -> Result<Cow<'_, str>, Refused> {
    // true: the next node of this mapping is a key
    let mut maps: Vec<Option<bool>> = Vec::new();
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut parser = Parser::new_from_str(src);
    let refused = |span: &Span, message: String| Refused {
        line: span.start.line(),
        column: span.start.col() + 1,
        message,
    };
    while let Some(ev) = parser.next_event() {
        let Ok((ev, span)) = ev else {
            return Ok(Cow::Borrowed(src));
        };
        let in_key = matches!(maps.last(), Some(Some(true)));
        let done = match ev {
            Event::Scalar(text, style, _, tag) => {
                if style == ScalarStyle::DoubleQuoted {
                    check_escapes(src, &span).map_err(|m| refused(&span, m))?;
                }
                let range = span
                    .byte_range()
                    .filter(|r| src.get(r.clone()) == Some(&*text));
                if let (ScalarStyle::Plain, None, Some(range)) = (style, tag, range) {
                    match plain_edit(&text, in_key) {
                        Ok(Some(new)) => edits.push((range, new)),
                        Ok(None) => {}
                        Err(m) => return Err(refused(&span, m)),
                    }
                }
                true
            }
            Event::Alias(_) => true,
            Event::SequenceStart(..) => {
                maps.push(None);
                false
            }
            Event::MappingStart(..) => {
                maps.push(Some(true));
                false
            }
            Event::SequenceEnd | Event::MappingEnd => {
                maps.pop();
                true
            }
            _ => false,
        };
        if let (true, Some(Some(key_next))) = (done, maps.last_mut()) {
            *key_next = !*key_next;
        }
    }
    if edits.is_empty() {
        return Ok(Cow::Borrowed(src));
    }
    let mut out = String::with_capacity(src.len() + 8 * edits.len());
    let mut at = 0;
    for (range, new) in edits {
        out.push_str(&src[at..range.start]);
        out.push_str(&new);
        at = range.end;
    }
    out.push_str(&src[at..]);
    Ok(Cow::Owned(out))
}

/// The replacement of one plain scalar (see [`as_yaml_v2_reads`]), if it needs one.
fn plain_edit(text: &str, in_key: bool) -> Result<Option<String>, String> {
    Ok(match resolve_plain(text) {
        Resolved::Bool(b) if in_key => Some(quoted(&b.to_string())),
        Resolved::Int(i) if in_key => Some(quoted(&i.to_string())),
        Resolved::Float(f) if in_key && f.is_finite() => {
            Some(quoted(&format_float_g(f, None, false)))
        }
        Resolved::Null if in_key => {
            return Err("unsupported map key of type: <nil>".into());
        }
        Resolved::Int(_) | Resolved::Float(_) if text.contains('_') => Some(text.replace('_', "")),
        Resolved::Str(_) if !in_key && may_read_as_non_string(text) => Some(quoted(text)),
        _ => None,
    })
}

/// A plain scalar a YAML 1.2 reader might take for a boolean, null or number, in some case
/// spelling yaml.v2 reads as a string.
fn may_read_as_non_string(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "yes", "n", "no", "on", "off", "true", "false", "null", "~",
    ];
    WORDS.iter().any(|w| text.eq_ignore_ascii_case(w))
        || text
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.'))
}

/// A YAML double-quoted scalar holding `text` (one line, as plain scalars are).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_what_yaml_v2_reads_differently() {
        let cases = [
            ("a: 1\nb: yes\n", "a: 1\nb: yes\n"),
            (
                "yes: 1\non: 2\nn: 3\n",
                "\"true\": 1\n\"true\": 2\n\"false\": 3\n",
            ),
            (
                "m: {x: 1, y: 2, 0x10: 3, 1.50: 4}\n",
                "m: {x: 1, \"true\": 2, \"16\": 3, \"1.5\": 4}\n",
            ),
            (
                "d: oN\nf: nO\ng: 685_230.15\n",
                "d: \"oN\"\nf: \"nO\"\ng: 685230.15\n",
            ),
            ("- &a y\n- *a\n- !!str oN\n", "- &a y\n- *a\n- !!str oN\n"),
            ("k: 1h\nq: \"yes\"\n", "k: \"1h\"\nq: \"yes\"\n"),
        ];
        for (src, want) in cases {
            let got = as_yaml_v2_reads(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
            assert_eq!(got, want, "{src}");
        }
    }

    #[test]
    fn refuses_what_yaml_v2_refuses() {
        let e = as_yaml_v2_reads("a: 1\nb: \"x\\/\"\n").err();
        assert_eq!(e.map(|e| (e.line, e.column)), Some((2, 4)));
        assert!(as_yaml_v2_reads("{~: a}").is_err());
        // Not YAML at all: left to the loader to report.
        assert!(as_yaml_v2_reads("a: [").is_ok());
    }
}
