//! Asking for values on the terminal, and reading them from standard input as JSON.
//!
//! The terminal is put in a raw-ish mode (no echo, no line editing, no signals) for each
//! answer: esoctl echoes visible answers itself, prints nothing for hidden ones, handles
//! backspace and Ctrl-U, and sees Ctrl-C as a key press, so an interrupted prompt always
//! restores the terminal and nothing is written. Typed bytes go straight into a zeroizing
//! buffer (unbuffered reads: no copy stays in a standard-input buffer).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;

use eso_core::SecretValue;
use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::plan::PromptSpec;

/// Why no value was read.
#[derive(Debug)]
pub(crate) enum PromptError {
    /// Ctrl-C was pressed.
    Interrupted,
    /// The input ended (Ctrl-D on an empty line, or the terminal went away).
    Closed,
    /// Reading or setting up the terminal failed.
    Io(String),
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Interrupted => f.write_str("interrupted"),
            Self::Closed => f.write_str("input closed"),
            Self::Io(e) => write!(f, "terminal: {e}"),
        }
    }
}

/// The terminal on standard input; prompts and notes go to standard error.
#[derive(Debug)]
pub(crate) struct Terminal {
    _private: (),
}

/// Restores the terminal's settings when dropped.
struct RawGuard(termios::Termios);

impl Drop for RawGuard {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.0);
    }
}

impl Terminal {
    /// The terminal, when standard input is one.
    pub(crate) fn open() -> Option<Self> {
        termios::isatty(std::io::stdin()).then_some(Self { _private: () })
    }

    /// Writes `text` to standard error (the terminal's side channel: prompts, notes).
    pub(crate) fn say(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// Reads one line with echo (`echo`) or without.
    fn read_line(&self, echo: bool) -> Result<Zeroizing<Vec<u8>>, PromptError> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).map_err(|e| PromptError::Io(e.to_string()))?;
        let mut raw = saved.clone();
        raw.local_modes &=
            !(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG | LocalModes::IEXTEN);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        termios::tcsetattr(&stdin, OptionalActions::Now, &raw)
            .map_err(|e| PromptError::Io(e.to_string()))?;
        let _guard = RawGuard(saved);
        let mut line: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(128));
        loop {
            let b = read_byte()?;
            match b {
                b'\r' | b'\n' => break,
                0x03 => {
                    self.say("^C\n");
                    return Err(PromptError::Interrupted);
                }
                0x04 if line.is_empty() => return Err(PromptError::Closed),
                0x7f | 0x08 => {
                    if pop_char(&mut line) && echo {
                        self.say("\x08 \x08");
                    }
                }
                0x15 => {
                    while pop_char(&mut line) {
                        if echo {
                            self.say("\x08 \x08");
                        }
                    }
                }
                0x1b => skip_escape_sequence()?,
                b if b < 0x20 => {}
                b => {
                    line.push(b);
                    if echo {
                        let mut err = std::io::stderr().lock();
                        let _ = err.write_all(&[b]);
                        let _ = err.flush();
                    }
                }
            }
        }
        self.say("\n");
        Ok(line)
    }

    /// Asks for one value as `spec` says: hidden input, typed twice, checked against the
    /// pattern; a wrong answer is asked again (the value is never shown in the message).
    pub(crate) fn ask(&self, label: &str, spec: &PromptSpec) -> Result<SecretValue, PromptError> {
        loop {
            self.say(&format!("{}: ", spec.text.trim_end_matches(':')));
            let first = self.read_line(!spec.hidden)?;
            let Ok(text) = std::str::from_utf8(&first) else {
                self.say("The value is not UTF-8 text; try again.\n");
                continue;
            };
            if text.is_empty() {
                self.say(&format!("A value is required for {label}; try again.\n"));
                continue;
            }
            if let Some(p) = &spec.pattern
                && !p.is_match(text)
            {
                self.say(&format!(
                    "The value does not match the pattern {}; try again.\n",
                    p.as_str()
                ));
                continue;
            }
            if spec.confirm {
                self.say(&format!("{} (again): ", spec.text.trim_end_matches(':')));
                let second = self.read_line(!spec.hidden)?;
                if *second != *first {
                    self.say("The two entries differ; try again.\n");
                    continue;
                }
            }
            return Ok(SecretValue::new(first.to_vec()));
        }
    }

    /// Shows `text` and waits for Enter (Ctrl-C interrupts).
    pub(crate) fn pause(&self, text: &str) -> Result<(), PromptError> {
        self.say(text);
        self.read_line(false).map(drop)
    }
}

/// One byte from standard input, unbuffered.
fn read_byte() -> Result<u8, PromptError> {
    let mut b = [0u8; 1];
    loop {
        match rustix::io::read(std::io::stdin(), &mut b) {
            Ok(0) => return Err(PromptError::Closed),
            Ok(_) => return Ok(b[0]),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(PromptError::Io(e.to_string())),
        }
    }
}

/// Drops the rest of an escape sequence (arrow keys and the like: `ESC [ ... final`).
fn skip_escape_sequence() -> Result<(), PromptError> {
    let b = read_byte()?;
    if b == b'[' || b == b'O' {
        loop {
            let c = read_byte()?;
            if (0x40..=0x7e).contains(&c) {
                break;
            }
        }
    }
    Ok(())
}

/// Removes the last UTF-8 character; false when the line was empty.
fn pop_char(line: &mut Vec<u8>) -> bool {
    if line.is_empty() {
        return false;
    }
    while let Some(b) = line.pop() {
        if b & 0xc0 != 0x80 {
            break;
        }
    }
    true
}

/// One value of the standard-input JSON: read straight into a [`SecretValue`].
#[derive(Debug)]
pub(crate) struct InputValue(pub(crate) SecretValue);

impl<'de> Deserialize<'de> for InputValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = InputValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<InputValue, E> {
                Ok(InputValue(SecretValue::from(v)))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<InputValue, E> {
                Ok(InputValue(SecretValue::from(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The values given on standard input: `{"namespace/name": {"key": "value"}}`.
pub(crate) type InputValues = BTreeMap<String, BTreeMap<String, InputValue>>;

/// Reads the values JSON from standard input (at most 1 MiB); the error never quotes it.
pub(crate) fn read_stdin_values() -> Result<InputValues, String> {
    use std::io::Read as _;
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(1 << 20)
        .read_to_end(&mut buf)
        .map_err(|e| format!("--values-from-stdin: {e}"))?;
    eso_core::api::parse_json::<InputValues>(&buf).map_err(|e| {
        format!(
            "--values-from-stdin: {e} (expected {{\"namespace/name\": {{\"key\": \"value\"}}}})"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_char_removes_whole_utf8_characters() {
        let mut line = "aé".as_bytes().to_vec();
        assert!(pop_char(&mut line));
        assert_eq!(line, b"a");
        assert!(pop_char(&mut line));
        assert!(!pop_char(&mut line));
    }

    #[test]
    fn stdin_values_parse_without_quoting_them() {
        let v: InputValues = eso_core::api::parse_json(br#"{"a/b": {"k": "hunter2"}}"#).unwrap();
        assert_eq!(v["a/b"]["k"].0.expose(), b"hunter2");
        let e = eso_core::api::parse_json::<InputValues>(br#"{"a/b": "hunter2"}"#).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
