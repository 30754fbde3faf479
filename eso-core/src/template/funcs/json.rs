//! Go `encoding/json` output, and YAML reading/writing the way `sigs.k8s.io/yaml` (yaml.v2)
//! does it, for template values.

use std::collections::BTreeMap;

use base64::Engine as _;
use granit_parser::{Event, Parser, ScalarStyle};

use crate::template::value::{Map, Value, format_float_g, json_float, write_int};
use crate::yaml11::{Resolved, resolve_plain};

fn json_string(out: &mut Vec<u8>, b: &[u8], html: bool) {
    out.push(b'"');
    // The run of bytes that need no escape goes in one copy.
    let table = if html { &ESCAPE_HTML } else { &ESCAPE };
    let plain = b
        .iter()
        .position(|&c| table[usize::from(c)])
        .unwrap_or(b.len());
    out.extend_from_slice(&b[..plain]);
    if plain < b.len() {
        let s = String::from_utf8_lossy(&b[plain..]);
        let mut utf8 = [0u8; 4];
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '<' | '>' | '&' if html => unicode_escape(out, c),
                '\u{2028}' | '\u{2029}' => unicode_escape(out, c),
                c if (c as u32) < 0x20 => unicode_escape(out, c),
                c => out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
            }
        }
    }
    out.push(b'"');
}

/// Bytes `json_string` cannot copy as they are: controls, non-ASCII, `"` and `\\` (and with
/// Go's HTML escaping `<`, `>`, `&`).
static ESCAPE: [bool; 256] = escape_table(false);
static ESCAPE_HTML: [bool; 256] = escape_table(true);

const fn escape_table(html: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c < 0x20
            || c >= 0x7f
            || c == b'"'
            || c == b'\\'
            || (html && (c == b'<' || c == b'>' || c == b'&'));
        i += 1;
    }
    t
}

fn unicode_escape(out: &mut Vec<u8>, c: char) {
    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
}

fn write_json(
    out: &mut Vec<u8>,
    v: &Value,
    html: bool,
    indent: Option<usize>,
) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) | Value::Int64(i) => write_int(out, *i),
        Value::Uint(u) => write_int(out, *u),
        Value::Float(f) => out.extend_from_slice(json_float(*f)?.as_bytes()),
        Value::Str(s) => json_string(out, s, html),
        Value::Time(t) => json_string(out, t.rfc3339_nano().as_bytes(), html),
        Value::List(l) => {
            if l.is_empty() {
                out.extend_from_slice(b"[]");
                return Ok(());
            }
            out.push(b'[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let Some(n) = indent {
                    newline(out, n + 1);
                }
                write_json(out, e, html, indent.map(|n| n + 1))?;
            }
            if let Some(n) = indent {
                newline(out, n);
            }
            out.push(b']');
        }
        Value::Map(
            _,
            crate::template::value::MapKind::Struct(crate::template::value::StructKind::Semver),
        ) => {
            json_string(out, v.struct_text().unwrap_or_default().as_bytes(), html);
        }
        Value::Map(m, _) => {
            if m.is_empty() {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            out.push(b'{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let Some(n) = indent {
                    newline(out, n + 1);
                }
                json_string(out, k.as_bytes(), html);
                out.push(b':');
                if indent.is_some() {
                    out.push(b' ');
                }
                write_json(out, e, html, indent.map(|n| n + 1))?;
            }
            if let Some(n) = indent {
                newline(out, n);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn newline(out: &mut Vec<u8>, n: usize) {
    out.push(b'\n');
    for _ in 0..n {
        out.extend_from_slice(b"  ");
    }
}

/// Go's `json.Marshal` (`html`: with its HTML escaping; `pretty`: `MarshalIndent` with two
/// spaces) of a value, appended to `out`. On an error `out` is left as it was.
pub(crate) fn go_json_into(
    out: &mut Vec<u8>,
    v: &Value,
    html: bool,
    pretty: bool,
) -> Result<(), String> {
    let start = out.len();
    let r = write_json(out, v, html, pretty.then_some(0));
    if r.is_err() {
        out.truncate(start);
    }
    r
}

/// [`go_json_into`] as text.
pub(crate) fn go_json(v: &Value, html: bool, pretty: bool) -> Result<String, String> {
    let mut out = Vec::with_capacity(128);
    go_json_into(&mut out, v, html, pretty)?;
    // Only UTF-8 is written (invalid input bytes become U+FFFD).
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

// ---------------------------------------------------------------------------------------
// YAML reading

/// A parsed YAML node with enough presentation detail to apply YAML 1.1 resolution.
#[derive(Clone, Debug)]
pub(crate) enum YNode {
    Scalar {
        text: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Self>),
    Map(Vec<(Self, Self)>),
}

/// Parses the first YAML document of `src`. Empty input gives `None`.
pub(crate) fn parse_yaml(src: &str) -> Result<Option<YNode>, String> {
    let mut parser = Parser::new_from_str(src);
    let mut anchors: BTreeMap<usize, YNode> = BTreeMap::new();
    // stack of (node under construction, anchor id)
    enum Frame {
        Seq(Vec<YNode>, usize),
        Map(Vec<(YNode, YNode)>, Option<YNode>, usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut result: Option<YNode> = None;
    let mut events = 0usize;
    while let Some(ev) = parser.next_event() {
        events += 1;
        if events > 1_000_000 {
            return Err("yaml: document too large".into());
        }
        let (ev, span) = ev.map_err(|e| format!("yaml: {e}"))?;
        if let Event::Scalar(_, ScalarStyle::DoubleQuoted, ..) = &ev {
            crate::yaml11::check_escapes(src, &span)?;
        }
        let done: Option<YNode> = match ev {
            Event::StreamStart | Event::DocumentStart(..) => None,
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if result.is_some() {
                    break;
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Some(n.clone()),
                None => return Err("yaml: unknown anchor".into()),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let node = YNode::Scalar {
                    text: text.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| t.to_string()),
                };
                if anchor != 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            Event::SequenceStart(_, anchor, _) => {
                if stack.len() > 500 {
                    return Err("yaml: nesting too deep".into());
                }
                stack.push(Frame::Seq(Vec::new(), anchor));
                None
            }
            Event::MappingStart(_, anchor, _) => {
                if stack.len() > 500 {
                    return Err("yaml: nesting too deep".into());
                }
                stack.push(Frame::Map(Vec::new(), None, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(v, anchor)) => {
                    let n = YNode::Seq(v);
                    if anchor != 0 {
                        anchors.insert(anchor, n.clone());
                    }
                    Some(n)
                }
                _ => return Err("yaml: unbalanced sequence".into()),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(v, _, anchor)) => {
                    let n = YNode::Map(v);
                    if anchor != 0 {
                        anchors.insert(anchor, n.clone());
                    }
                    Some(n)
                }
                _ => return Err("yaml: unbalanced mapping".into()),
            },
            _ => None,
        };
        if let Some(node) = done {
            match stack.last_mut() {
                None => {
                    result = Some(node);
                }
                Some(Frame::Seq(v, _)) => v.push(node),
                Some(Frame::Map(v, key, _)) => match key.take() {
                    None => *key = Some(node),
                    Some(k) => v.push((k, node)),
                },
            }
        }
    }
    Ok(result)
}

fn resolve(n: &YNode) -> Option<Resolved> {
    match n {
        YNode::Scalar { text, plain, tag } => Some(match tag.as_deref() {
            Some(t) if t.ends_with(":str") => Resolved::Str(text.clone()),
            _ if *plain => resolve_plain(text),
            _ => Resolved::Str(text.clone()),
        }),
        _ => None,
    }
}

/// A key as `sigs.k8s.io/yaml` turns it into a JSON object key.
fn key_string(n: &YNode) -> Result<String, String> {
    match resolve(n) {
        Some(Resolved::Str(s)) => Ok(s),
        Some(Resolved::Int(i)) => Ok(i.to_string()),
        Some(Resolved::Bool(b)) => Ok(b.to_string()),
        Some(Resolved::Float(f)) => Ok(format_float_g(f, None, false)),
        Some(Resolved::Null) => Err("unsupported map key of type: <nil>".into()),
        None => Err("yaml: invalid map key: a mapping or sequence".into()),
    }
}

/// yaml.v2's merge key `<<` (plain, or tagged `!!merge`).
fn is_merge_key(n: &YNode) -> bool {
    matches!(n, YNode::Scalar { text, plain, tag } if text == "<<"
        && (tag.as_deref().is_some_and(|t| t.ends_with(":merge")) || (*plain && tag.is_none())))
}

/// Applies the value of a merge key as yaml.v2 does: a map's entries (or those of each map in
/// a sequence, the earlier maps winning) go into `m`, over what is there so far.
fn merge_into(m: &mut Map, n: &YNode) -> Result<(), String> {
    const WANT: &str = "map merge requires map or sequence of maps as the value";
    let maps: Vec<&YNode> = match n {
        YNode::Map(_) => vec![n],
        YNode::Seq(items) => items.iter().rev().collect(),
        YNode::Scalar { .. } => return Err(WANT.into()),
    };
    for item in maps {
        let Value::Map(inner, _) = ynode_to_value(item)? else {
            return Err(WANT.into());
        };
        for (k, e) in inner.iter() {
            m.insert(k.clone(), e.clone());
        }
    }
    Ok(())
}

/// A scalar tagged `!!binary`: its base64 text decoded.
fn binary_scalar(n: &YNode) -> Option<Result<Value, String>> {
    let YNode::Scalar { text, tag, .. } = n else {
        return None;
    };
    if !tag.as_deref()?.ends_with(":binary") {
        return None;
    }
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .map(Value::byte_vec)
            .map_err(|_| "!!binary value contains invalid base64 data".to_string()),
    )
}

/// Converts YAML to a Go `interface{}` after a JSON round trip (numbers become float64).
pub(crate) fn ynode_to_value(n: &YNode) -> Result<Value, String> {
    if let Some(bin) = binary_scalar(n) {
        return bin;
    }
    Ok(match n {
        YNode::Scalar { .. } => match resolve(n) {
            Some(Resolved::Null) | None => Value::Nil,
            Some(Resolved::Bool(b)) => Value::Bool(b),
            Some(Resolved::Int(i)) => Value::Float(i as f64),
            Some(Resolved::Float(f)) => {
                if !f.is_finite() {
                    return Err("json: unsupported value".into());
                }
                Value::Float(f)
            }
            Some(Resolved::Str(s)) => Value::string(s),
        },
        YNode::Seq(v) => Value::list(v.iter().map(ynode_to_value).collect::<Result<_, _>>()?),
        YNode::Map(v) => {
            let mut m = Map::new();
            for (k, e) in v {
                if is_merge_key(k) {
                    merge_into(&mut m, e)?;
                    continue;
                }
                m.insert(key_string(k)?.into(), ynode_to_value(e)?);
            }
            Value::map(m)
        }
    })
}

/// `fromYaml`-style parse of a YAML document into a Go value (`map[string]interface{}` etc.).
pub(crate) fn value_from_yaml_str(src: &str) -> Result<Value, String> {
    match parse_yaml(src)? {
        None => Ok(Value::Nil),
        Some(n) => ynode_to_value(&n),
    }
}

/// `yaml.Unmarshal` into `map[string]string` with `sigs.k8s.io/yaml` rules: scalars become
/// strings (`yes` -> `"true"`, `0x1F` -> `"31"`), nested values are an error.
pub fn yaml_to_string_map(src: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let Some(root) = parse_yaml(src)? else {
        return Ok(out);
    };
    let YNode::Map(entries) = root else {
        if let YNode::Scalar {
            plain: true,
            ref text,
            ..
        } = root
            && resolve_plain(text) == Resolved::Null
        {
            return Ok(out);
        }
        return Err(
            "error unmarshaling JSON: json: cannot unmarshal into Go value of type map[string]string"
                .into(),
        );
    };
    for (k, v) in &entries {
        let key = key_string(k)?;
        let val = match resolve(v) {
            Some(Resolved::Null) => String::new(),
            Some(Resolved::Bool(b)) => b.to_string(),
            Some(Resolved::Int(i)) => i.to_string(),
            Some(Resolved::Float(f)) => format_float_g(f32_round(f), None, false),
            Some(Resolved::Str(s)) => s,
            None => {
                return Err(format!(
                    "error unmarshaling JSON: json: cannot unmarshal {} into Go struct field of type string",
                    if matches!(v, YNode::Seq(_)) {
                        "array"
                    } else {
                        "object"
                    }
                ));
            }
        };
        out.insert(key, val);
    }
    Ok(out)
}

fn f32_round(f: f64) -> f64 {
    // sigs.k8s.io/yaml formats floats headed for string fields with 32-bit precision.
    let g = f as f32;
    let s = format!("{g}");
    s.parse::<f64>().unwrap_or(f)
}

/// Go's `json.Unmarshal` into `interface{}`, straight into a template value: objects become
/// `map[string]interface{}`, every number a float64 (so `-0` stays negative zero).
pub(crate) fn from_json(b: &[u8]) -> Result<Value, String> {
    // Text checked as UTF-8 once up front is not checked again string by string.
    match std::str::from_utf8(b) {
        Ok(text) => serde_json::from_str::<GoJson>(text),
        Err(_) => serde_json::from_slice::<GoJson>(b),
    }
    .map(|j| j.0)
    .map_err(|e| e.to_string())
}

struct GoJson(Value);

impl<'de> serde::Deserialize<'de> for GoJson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GoJsonVisitor).map(GoJson)
    }
}

struct GoJsonVisitor;

/// An object key, read straight into the map's shared key type.
struct JsonKey(std::sync::Arc<str>);

impl<'de> serde::Deserialize<'de> for JsonKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl serde::de::Visitor<'_> for KeyVisitor {
            type Value = JsonKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object key")
            }
            fn visit_str<E>(self, v: &str) -> Result<JsonKey, E> {
                Ok(JsonKey(v.into()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de> serde::de::Visitor<'de> for GoJsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Float(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::str(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(GoJson(e)) = seq.next_element()? {
            v.push(e);
        }
        Ok(Value::list(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some((JsonKey(k), GoJson(v))) = map.next_entry::<JsonKey, GoJson>()? {
            m.insert(k, v);
        }
        Ok(Value::map(m))
    }
}

/// `toYaml`: `sigs.k8s.io/yaml` text of a value, one trailing newline removed; `""` when the
/// value cannot be marshaled (ESO swallows the error).
pub(crate) fn go_yaml(v: &Value) -> String {
    match super::yaml_out::marshal(v) {
        Ok(s) => s.strip_suffix('\n').map(str::to_string).unwrap_or(s),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(json_float(5432.0).unwrap(), "5432");
        assert_eq!(json_float(1.5).unwrap(), "1.5");
        assert_eq!(json_float(1e21).unwrap(), "1e+21");
        assert_eq!(json_float(1e-7).unwrap(), "1e-7");
        assert_eq!(json_float(0.000001).unwrap(), "0.000001");
        assert_eq!(
            json_float(12345678901234567890.0).unwrap(),
            "12345678901234567000"
        );
    }

    #[test]
    fn string_map_yaml11() {
        let m = yaml_to_string_map("a: yes\nb: off\nc: 0x1F\nd: 1.50\ne: 'yes'\nf: ~\n").unwrap();
        assert_eq!(m["a"], "true");
        assert_eq!(m["b"], "false");
        assert_eq!(m["c"], "31");
        assert_eq!(m["d"], "1.5");
        assert_eq!(m["e"], "yes");
        assert_eq!(m["f"], "");
    }

    #[test]
    fn yaml_out() {
        let v = value_from_yaml_str("foo: bar\nnum: 3\nl:\n- a\n- b\nm:\n  x: 'true'\n").unwrap();
        assert_eq!(
            go_yaml(&v),
            "foo: bar\nl:\n- a\n- b\nm:\n  x: \"true\"\nnum: 3"
        );
    }
}
