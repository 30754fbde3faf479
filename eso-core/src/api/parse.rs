//! Parsing text that may hold secret values, with errors that never quote it.
//!
//! YAML and JSON libraries make helpful errors: a source snippet around the problem, or the
//! offending scalar (`invalid type: string "hunter2", expected a map`). For a Secret, a
//! kubeconfig, a `--source-secret-data-file` or a provider's response that helpfulness is a
//! leak. Everything here reports the line and column and what was wrong, never the text:
//! [`parse_yaml`], [`parse_json`] and, for errors made elsewhere, [`redact_serde_message`].

use serde::de::DeserializeOwned;

/// A parse failure: where (line and column from 1, when the parser knows them) and why,
/// with no text of the input in it.
///
/// # Example
///
/// ```
/// use eso_core::api::parse_yaml;
///
/// let err = parse_yaml::<serde_json::Value>("user: admin\npassword: [hunter2\n").unwrap_err();
/// assert!(!err.to_string().contains("hunter2"));
/// assert!(err.line.is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", position(*line, *column))]
#[non_exhaustive]
pub struct ParseError {
    /// Line of the problem, from 1.
    pub line: Option<usize>,
    /// Column of the problem, from 1.
    pub column: Option<usize>,
    /// What is wrong, without any of the input's text.
    pub message: String,
}

impl ParseError {
    /// The same error with its line moved down by `lines` (for a document that starts
    /// further down its file).
    pub fn offset_lines(mut self, lines: usize) -> Self {
        self.line = self.line.map(|l| l + lines);
        self
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

/// Parses one YAML document into `T`. The error names the line and column and never
/// echoes the document (no source snippet, no scalar values).
///
/// # Example
///
/// ```
/// use eso_core::api::parse_yaml;
///
/// let v: serde_json::Value = parse_yaml("a: 1\n").unwrap();
/// assert_eq!(v["a"], 1);
/// let e = parse_yaml::<std::collections::BTreeMap<String, u32>>("a: s3cr3t\n").unwrap_err();
/// assert_eq!(e.line, Some(1));
/// assert!(!e.to_string().contains("s3cr3t"), "{e}");
/// ```
pub fn parse_yaml<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    // As ESO reads YAML (sigs.k8s.io/yaml on yaml.v2): YAML 1.1 octals (`0755`), the last of
    // duplicate keys wins. YAML 1.1 booleans (`yes`, `off` ...) are serde-saphyr's default;
    // the scalars it would still read differently are rewritten first (boolean and number
    // map keys, `oN`, `_` in numbers, `\/`).
    let text = crate::yaml11::as_yaml_v2_reads(text).map_err(|e| ParseError {
        line: Some(e.line),
        column: Some(e.column),
        message: e.message,
    })?;
    let options = serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    serde_saphyr::from_str_with_options::<T>(&text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (Some(l.line() as usize), Some(l.column() as usize)))
            .unwrap_or((None, None));
        let rendered = e.without_snippet().to_string();
        ParseError {
            line,
            column,
            message: redact_serde_message(&strip_position(first_line(&rendered))),
        }
    })
}

/// Parses JSON into `T`, with the same guarantees as [`parse_yaml`].
///
/// # Example
///
/// ```
/// use eso_core::api::parse_json;
///
/// let e = parse_json::<Vec<u8>>(br#""s3cr3t""#).unwrap_err();
/// assert_eq!((e.line, e.column), (Some(1), Some(8)));
/// assert!(!e.to_string().contains("s3cr3t"), "{e}");
/// ```
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ParseError> {
    serde_json::from_slice(bytes).map_err(|e| ParseError {
        line: (e.line() > 0).then_some(e.line()),
        column: (e.column() > 0).then_some(e.column()),
        message: redact_serde_message(&strip_position(&e.to_string())),
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("invalid input")
}

/// Drops a trailing "at line N column M" (the position is reported in its own fields).
fn strip_position(msg: &str) -> String {
    let lower = msg.to_ascii_lowercase();
    match lower.rfind(" at line ") {
        Some(i) => msg[..i].trim_end_matches([',', ' ']).to_owned(),
        None => msg.to_owned(),
    }
}

/// Removes input text from a serde error message: every quoted (`"..."`, `'...'`) or
/// backticked span before `, expected` is replaced with `<hidden>`, except field names
/// (`unknown field \`x\``, `missing field \`x\``) and enum variants (`unknown variant
/// \`Sometimes\``: a value of a field whose values are names from the model, such as a
/// policy, never secret data). What follows `expected` comes from the target type, not from
/// the input, and is kept.
///
/// # Example
///
/// ```
/// use eso_core::api::redact_serde_message;
///
/// assert_eq!(
///     redact_serde_message(r#"invalid type: string "hunter2", expected a sequence"#),
///     "invalid type: string <hidden>, expected a sequence"
/// );
/// assert_eq!(
///     redact_serde_message("unknown field `pasword`, expected one of `password`"),
///     "unknown field `pasword`, expected one of `password`"
/// );
/// ```
pub fn redact_serde_message(msg: &str) -> String {
    let (head, tail) = match msg.find(", expected") {
        Some(i) => msg.split_at(i),
        None => (msg, ""),
    };
    let mut out = String::with_capacity(msg.len());
    let mut rest = head;
    while let Some(start) = rest.find(['"', '\'', '`']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        let before = &rest[..start];
        let Some(len) = quoted_len(&rest[start + 1..], quote) else {
            // An unclosed quote: hide everything after it.
            out.push_str(before);
            out.push_str("<hidden>");
            rest = "";
            break;
        };
        let span = &rest[start..start + 1 + len + 1];
        out.push_str(before);
        let is_field_name = quote == '`'
            && (before.trim_end().ends_with("field") || before.trim_end().ends_with("variant"));
        // A quoted punctuation mark is the parser naming a token (`unclosed bracket '['`).
        let is_token = len == 1 && span[1..2].bytes().all(|b| b.is_ascii_punctuation());
        if is_field_name || is_token {
            out.push_str(span);
        } else {
            out.push_str("<hidden>");
        }
        rest = &rest[start + span.len()..];
    }
    out.push_str(rest);
    out.push_str(tail);
    hide_base64_symbol(out)
}

/// The base64 crate's `Invalid symbol 33, offset 2.` (through k8s-openapi's `ByteString`)
/// names a byte of the value: keep the offset, drop the byte.
fn hide_base64_symbol(msg: String) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg.as_str();
    while let Some(i) = rest.find("symbol ") {
        let after = &rest[i + "symbol ".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..i]);
        if digits > 0 {
            out.push_str("character");
            rest = &after[digits..];
        } else {
            out.push_str("symbol ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Length of a quoted span's content up to its closing quote (backslash escapes skipped
/// inside double quotes).
fn quoted_len(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const CANARY: &str = "c4n4ry-Vx7";

    #[test]
    fn syntax_errors_name_the_place_only() {
        let text = format!("a: 1\nb: \"{CANARY}\n  c: [\n");
        let e = parse_yaml::<serde_json::Value>(&text).unwrap_err();
        assert!(!e.to_string().contains(CANARY), "{e}");
        assert!(!e.to_string().contains("Vx7"), "{e}");
        assert!(e.line.is_some(), "{e:?}");
        let text = format!("a: {CANARY}\n  b: {CANARY}\n");
        let e = parse_yaml::<serde_json::Value>(&text).unwrap_err();
        assert!(!e.to_string().contains(CANARY), "{e}");
        assert_eq!(e.line, Some(2), "{e:?}");
    }

    #[test]
    fn type_errors_hide_the_scalar() {
        let e = parse_yaml::<BTreeMap<String, Vec<String>>>(&format!("k: {CANARY}\n")).unwrap_err();
        assert!(!e.to_string().contains(CANARY), "{e}");
        let e = parse_json::<BTreeMap<String, u8>>(format!(r#"{{"k": "{CANARY}"}}"#).as_bytes())
            .unwrap_err();
        assert!(!e.to_string().contains(CANARY), "{e}");
        assert_eq!(e.line, Some(1));
        let e =
            parse_json::<serde_json::Value>(format!(r#"{{"k": "{CANARY}"#).as_bytes()).unwrap_err();
        assert!(!e.to_string().contains(CANARY), "{e}");
    }

    #[test]
    fn redaction_rules() {
        assert_eq!(
            redact_serde_message("unknown variant `Sometimes`, expected `A` or `B`"),
            "unknown variant `Sometimes`, expected `A` or `B`"
        );
        assert_eq!(
            redact_serde_message("invalid value: integer `42`, expected u8"),
            "invalid value: integer <hidden>, expected u8"
        );
        assert_eq!(
            redact_serde_message(r#"invalid type: string "a\"b", expected x"#),
            "invalid type: string <hidden>, expected x"
        );
        assert_eq!(redact_serde_message("oops 'unclosed"), "oops <hidden>");
        assert_eq!(
            redact_serde_message("unclosed bracket '['"),
            "unclosed bracket '['"
        );
        assert_eq!(
            redact_serde_message("Invalid symbol 33, offset 2."),
            "Invalid character, offset 2."
        );
        assert_eq!(
            redact_serde_message("Invalid last symbol 66, offset 3."),
            "Invalid last character, offset 3."
        );
        assert_eq!(
            redact_serde_message("missing field `data`"),
            "missing field `data`"
        );
    }

    #[test]
    fn offsets_move_the_line() {
        let e = parse_yaml::<serde_json::Value>("a: [\n").unwrap_err();
        let l = e.line.unwrap();
        assert_eq!(e.offset_lines(10).line, Some(l + 10));
    }
}
