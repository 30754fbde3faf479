//! Secret bytes: [`SecretValue`] and [`SecretMap`].

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

/// The bytes of one secret value.
///
/// The buffer is zeroed when the value is dropped, and `Debug`/`Display` print `[REDACTED]`,
/// so a secret cannot reach a log line or an error message by accident. Read the bytes
/// with [`SecretValue::expose`]. Cloning copies the bytes into a new zeroizing buffer.
///
/// # Example
///
/// ```
/// use eso_core::SecretValue;
///
/// let v = SecretValue::from("hunter2");
/// assert_eq!(format!("{v:?} {v}"), "[REDACTED] [REDACTED]");
/// assert_eq!(v.expose(), b"hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The secret bytes. Do not log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes as UTF-8, if they are.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Moves the bytes out. The caller is now responsible for them.
    pub fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut *self.0)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

impl From<&[u8]> for SecretValue {
    fn from(v: &[u8]) -> Self {
        Self::new(v.to_vec())
    }
}

impl From<String> for SecretValue {
    fn from(v: String) -> Self {
        Self::new(v.into_bytes())
    }
}

impl From<&str> for SecretValue {
    fn from(v: &str) -> Self {
        Self::new(v.as_bytes().to_vec())
    }
}

/// Secret values by key, sorted by key (like a Kubernetes Secret's `data`).
pub type SecretMap = BTreeMap<String, SecretValue>;
