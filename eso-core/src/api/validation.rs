//! Admission validation: field-path errors collected from a whole object.

use std::fmt;

/// One invalid field: where (`spec.dataFrom[1]`) and why.
///
/// # Example
///
/// ```
/// use eso_core::api::FieldError;
///
/// let e = FieldError::new("spec.dataFrom[1]", "extract and find are mutually exclusive");
/// assert_eq!(e.to_string(), "spec.dataFrom[1]: extract and find are mutually exclusive");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field path, in the dotted/indexed form `kubectl explain` uses.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every invalid field of one object (never empty when returned as an error).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an error at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    /// Appends all errors from `other`.
    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded errors.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl From<ValidationErrors> for crate::Error {
    fn from(e: ValidationErrors) -> Self {
        match e.0.into_iter().next() {
            Some(first) => Self::InvalidConfig {
                path: first.path,
                message: first.message,
            },
            None => Self::generic("validation failed"),
        }
    }
}

/// ESO's admission rules for one kind.
pub trait Validate {
    /// Checks the object the way ESO's CRD schema and admission webhooks do, and returns every
    /// problem found, each naming its field path.
    fn validate(&self) -> Result<(), ValidationErrors>;
}

/// Checks a DNS-1123 subdomain (object names): lower-case alphanumerics, `-` and `.`, at most
/// 253 characters, starting and ending alphanumeric.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Checks a DNS-1123 label (namespaces): like a subdomain without dots, at most 63 characters.
pub fn is_dns1123_label(s: &str) -> bool {
    s.len() <= 63 && !s.contains('.') && is_dns1123_subdomain(s)
}

/// Checks a Secret data key: `[-._a-zA-Z0-9]+`, at most 253 characters.
pub fn is_secret_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Checks that `pattern` compiles as a regular expression (Go RE2 syntax is a subset of what
/// the `regex` crate accepts for the patterns ESO users write), recording an error at `path`.
pub fn check_regex(errors: &mut ValidationErrors, path: &str, pattern: &str) {
    if let Err(e) = regex::Regex::new(pattern) {
        // The regex crate's message spans several lines; keep the first useful one.
        let msg = e.to_string();
        let short = msg
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("invalid regular expression");
        errors.push(
            path,
            format!(
                "invalid regular expression: {}",
                short.trim_start_matches("error: ")
            ),
        );
    }
}

/// Checks that `value` is a Go duration, recording an error at `path`.
pub fn check_duration(errors: &mut ValidationErrors, path: &str, value: &str) {
    if let Err(e) = crate::GoDuration::parse(value) {
        errors.push(path, e.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_dns1123_subdomain("my-store.v1"));
        assert!(!is_dns1123_subdomain("My-Store"));
        assert!(!is_dns1123_subdomain("-a"));
        assert!(!is_dns1123_subdomain(""));
        assert!(is_dns1123_label("ns-1"));
        assert!(!is_dns1123_label("a.b"));
        assert!(is_secret_key("tls.crt"));
        assert!(!is_secret_key("a/b"));
    }

    #[test]
    fn regex_error_is_short() {
        let mut e = ValidationErrors::new();
        check_regex(&mut e, "spec.x", "(");
        assert_eq!(e.0.len(), 1);
        assert!(
            e.0[0]
                .to_string()
                .starts_with("spec.x: invalid regular expression")
        );
        assert!(!e.0[0].message.contains('\n'));
    }
}
