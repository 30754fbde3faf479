//! ESO's template engine (v2): Go `text/template` with `missingkey=error`, the sprig subset ESO
//! ships and ESO's own functions, plus applying templates to a Secret (see [`apply`]).
//!
//! Parse once with [`Template::parse`], render many times with [`Template::render`]. A parsed
//! template is `Send + Sync`.
//!
//! # Example
//!
//! ```
//! use eso_core::template::{Template, Value};
//!
//! let t = Template::parse("key", r#"{{ .user | upper }}:{{ index . "pass-word" }}"#).unwrap();
//! let data = Value::string_map(
//!     [("user".into(), Value::str("bob")), ("pass-word".into(), Value::str("pw"))].into(),
//! );
//! assert_eq!(t.render(&data).unwrap(), b"BOB:pw");
//! assert!(t.render(&Value::string_map(Default::default())).is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;

mod alias;
mod apply;
mod compare;
mod exec;
mod funcs;
mod gofmt;
mod lex;
mod limits;
mod literal;
mod parse;
mod time;
pub(crate) mod value;

pub use apply::{
    TargetSecret, TemplateSources, apply, apply_push, render_into, render_rewrite_key,
};
pub use funcs::function_names;
pub use funcs::json::yaml_to_string_map;
pub use limits::Limits;
pub use time::GoTime;
pub use value::{Bytes, Map, MapKind, StructKind, Value};

use parse::{Node, Parser};

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`.
pub(crate) fn format_float_plain(f: f64) -> String {
    if !f.is_finite() {
        return value::format_float_g(f, None, false);
    }
    let (digits, dp) = value::shortest_digits(f);
    let neg = if f.is_sign_negative() && f != 0.0 {
        "-"
    } else {
        ""
    };
    if digits == "0" {
        return "0".into();
    }
    let body = if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if digits.len() <= dp as usize {
        format!("{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{neg}{body}")
}

/// Marshals a value the way `sigs.k8s.io/yaml.Marshal` does (yaml.v2 after a JSON round trip):
/// the text of ESO's `toYaml` (before it trims the final newline) and of ESO's
/// `esoctl template` output. Fails only for values JSON cannot hold (NaN, infinities).
pub fn to_go_yaml(v: &Value) -> Result<String, String> {
    funcs::yaml_out::marshal(v)
}

/// Go JSON text of a value without HTML escaping.
pub(crate) fn go_json_text(v: &Value) -> Result<String, String> {
    funcs::go_json(v, false, false)
}

/// A template failure, with Go's message text (`template: NAME:LINE:COL: ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// True for a parse (syntax) error, false for an execution error.
    pub parse: bool,
    /// The message, formatted like Go's `text/template` errors. Contains no data values.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

impl From<TemplateError> for crate::Error {
    fn from(e: TemplateError) -> Self {
        Self::Template(e.message)
    }
}

/// A parsed template (with the templates it `define`s), ready to render many times.
#[derive(Debug)]
pub struct Template {
    name: String,
    src: String,
    trees: BTreeMap<String, Vec<Node>>,
    limits: Limits,
    /// Length of the last output, to size the next one's buffer.
    out_hint: std::sync::atomic::AtomicUsize,
}

impl Template {
    /// Parses `src` with the default delimiters; `name` is used in error messages.
    pub fn parse(name: &str, src: &str) -> Result<Self, TemplateError> {
        Self::parse_with_delims(name, src, "{{", "}}")
    }

    /// Parses `src` with custom delimiters (ESO's `--template-left-delimiter` / `-right-`).
    pub fn parse_with_delims(
        name: &str,
        src: &str,
        left: &str,
        right: &str,
    ) -> Result<Self, TemplateError> {
        let trees = Parser::new(src, left, right)
            .parse(name)
            .map_err(|e| TemplateError {
                parse: true,
                message: format!("template: {name}:{}: {}", e.line, e.msg),
            })?;
        Ok(Self {
            name: name.to_string(),
            src: src.to_string(),
            trees,
            limits: Limits::default(),
            out_hint: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Replaces the render limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renders the template over `data` (usually a `map[string]string`, see [`Value::string_map`]).
    pub fn render(&self, data: &Value) -> Result<Vec<u8>, TemplateError> {
        exec::execute(self, data.clone(), self.limits).map_err(|e| self.exec_error(e))
    }

    /// Renders over secret data the way ESO passes it: each value as a Go string.
    pub fn render_secret_map(&self, data: &crate::SecretMap) -> Result<Vec<u8>, TemplateError> {
        let v = exec::string_map_value(data.iter().map(|(k, v)| (k.as_str(), v.expose())));
        self.render(&v)
    }

    #[allow(clippy::boxed_local)] // errors travel boxed through the evaluator
    fn exec_error(&self, e: Box<exec::ExecError>) -> TemplateError {
        let message = match e.pos {
            None => format!("template: {}: {}", e.tree, e.msg),
            Some((start, end)) => {
                let before = self.src.get(..start).unwrap_or("");
                let line = 1 + before.matches('\n').count();
                let col = match before.rfind('\n') {
                    Some(i) => start - i - 1,
                    None => start,
                };
                let ctx = self.src.get(start..end).unwrap_or("");
                format!(
                    "template: {}:{line}:{col}: executing {:?} at <{ctx}>: {}",
                    self.name, e.tree, e.msg
                )
            }
        };
        TemplateError {
            parse: false,
            message,
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_go;
