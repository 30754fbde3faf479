//! PEM text: reading blocks out of a bundle and writing one block, the way Go's
//! `encoding/pem` does.
//!
//! [`blocks`] walks a text like repeated calls of Go's `pem.Decode`: text before, between and
//! after blocks is skipped, and so is a block Go would not decode (no matching `END` line, bad
//! base64, junk after the `END` line); such a block is reported as an [`Error`] item, so a
//! caller that wants Go's tolerance keeps the `Ok` items only and a strict caller stops at the
//! first error. RFC 1421 headers (`Proc-Type: ...` lines up to a blank line) are skipped.
//!
//! [`encode`] writes Go's `pem.Encode` text without headers: base64 in lines of 64 columns,
//! every line ending in `\n`.
//!
//! Both are plain text work (no cryptography) and need no crate feature.
//!
//! # Example
//!
//! ```
//! use eso_core::pem;
//!
//! let bundle = format!(
//!     "leaf:\n{}junk\n{}",
//!     pem::encode("CERTIFICATE", b"leaf-der"),
//!     pem::encode("PRIVATE KEY", &[7u8; 60]),
//! );
//! let blocks: Vec<pem::Block> = pem::blocks(&bundle).collect::<Result<_, _>>().unwrap();
//! assert_eq!(blocks.len(), 2);
//! assert_eq!(blocks[0].label, "CERTIFICATE");
//! assert_eq!(blocks[0].der, b"leaf-der");
//! assert_eq!(blocks[1].label, "PRIVATE KEY");
//! assert!(pem::encode("PRIVATE KEY", &[7u8; 60]).lines().all(|l| l.len() <= 64));
//!
//! // A block without its END line is reported, and the blocks after it still come out.
//! let broken = format!("-----BEGIN CERTIFICATE-----\nAAAA\n{}", pem::encode("KEY", b"k"));
//! let items: Vec<_> = pem::blocks(&broken).collect();
//! assert!(items[0].is_err());
//! assert_eq!(items[1].as_ref().unwrap().label, "KEY");
//! ```

use std::fmt;

use base64::Engine as _;

/// One PEM block: its type label (`CERTIFICATE`, `PRIVATE KEY`, ...) and the decoded bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    /// The type label between `-----BEGIN ` and `-----`.
    pub label: String,
    /// The base64-decoded body (DER for keys and certificates).
    pub der: Vec<u8>,
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may be a private key: show its size only.
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("der_len", &self.der.len())
            .finish()
    }
}

/// A block that starts with a `-----BEGIN ` line but cannot be decoded. Go's `pem.Decode`
/// skips such a block silently.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed PEM block at byte {offset}: {reason}")]
pub struct Error {
    /// Byte offset of the block's `-----BEGIN ` line in the input.
    pub offset: usize,
    /// What is wrong, in a few words (never any of the block's content).
    pub reason: &'static str,
}

/// Iterates over the PEM blocks of `input` (see the [module docs](self)).
pub fn blocks<T: AsRef<[u8]> + ?Sized>(input: &T) -> Blocks<'_> {
    let input = input.as_ref();
    Blocks {
        input,
        pos: 0,
        done: false,
    }
}

/// Writes one block the way Go's `pem.Encode` does (no headers): 64-column base64 lines.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        // base64 text is ASCII: any byte index is a char boundary
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The iterator [`blocks`] returns.
#[derive(Clone, Debug)]
pub struct Blocks<'a> {
    input: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Blocks<'a> {
    /// The input not consumed yet: after the iterator has ended, the text from where no
    /// further block was found (what Go's `pem.Decode` returns as `rest` with a nil block).
    pub fn rest(&self) -> &'a [u8] {
        &self.input[self.pos..]
    }
}

impl Iterator for Blocks<'_> {
    type Item = Result<Block, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let data = &self.input[self.pos..];
        let Some(start) = begin_at(data) else {
            self.done = true;
            return None;
        };
        let offset = self.pos + start;
        match decode_at(&data[start..]) {
            Decoded::Block(block, consumed) => {
                self.pos += start + consumed;
                Some(Ok(block))
            }
            Decoded::Skip(consumed, reason) => {
                self.pos += start + consumed;
                Some(Err(Error { offset, reason }))
            }
        }
    }
}

/// Go's `pem.Decode` on bytes: the first block (malformed ones skipped) and the rest after it,
/// or `None` and the whole input.
pub(crate) fn decode(data: &[u8]) -> (Option<Block>, &[u8]) {
    let mut it = blocks(data);
    match it.by_ref().flatten().next() {
        Some(block) => (Some(block), it.rest()),
        None => (None, data),
    }
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";

/// Go's `base64.StdEncoding` (padded, non-canonical trailing bits accepted).
const GO_STD: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Where the next `-----BEGIN ` at the start of a line is.
fn begin_at(data: &[u8]) -> Option<usize> {
    if data.starts_with(BEGIN) {
        return Some(0);
    }
    find(data, b"\n-----BEGIN ").map(|i| i + 1)
}

enum Decoded {
    /// A block and the bytes consumed through its END line.
    Block(Block, usize),
    /// A malformed block: the bytes to skip (its BEGIN line) and why.
    Skip(usize, &'static str),
}

/// Splits off one line (without its `\n`).
fn line(b: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b'\n', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[b.len()..]),
    }
}

/// Decodes the block whose BEGIN line starts `data`.
fn decode_at(data: &[u8]) -> Decoded {
    let (first, rest) = line(&data[BEGIN.len()..]);
    let skip = data.len() - rest.len();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let Some(label) = first.strip_suffix(b"-----") else {
        return Decoded::Skip(skip, "BEGIN line does not end in -----");
    };
    // Skip RFC 1421 headers (lines with ':' up to a blank line).
    let mut body = rest;
    if let Some(nl) = memchr::memchr(b'\n', body)
        && body[..nl].contains(&b':')
    {
        match find(body, b"\n\n").or_else(|| find(body, b"\r\n\r\n")) {
            Some(i) => body = &body[i..],
            None => return Decoded::Skip(skip, "headers without a blank line"),
        }
    }
    let (end_idx, end_len) = if body.starts_with(END) {
        (0, 0)
    } else {
        match find(body, b"\n-----END ") {
            Some(i) => (i, 1),
            None => return Decoded::Skip(skip, "no END line"),
        }
    };
    let b64 = &body[..end_idx];
    let trailer = &body[end_idx + end_len + END.len()..];
    let Some(tail) = trailer
        .strip_prefix(label)
        .and_then(|t| t.strip_prefix(b"-----"))
    else {
        return Decoded::Skip(skip, "END line does not match the BEGIN line");
    };
    // The rest of the END line must be white space.
    let (eol, remaining) = line(tail);
    if !eol.iter().all(|c| is_ws(*c)) {
        return Decoded::Skip(skip, "text after the END line");
    }
    match GO_STD.decode(strip_ws(b64)) {
        Ok(der) => Decoded::Block(
            Block {
                label: String::from_utf8_lossy(label).into_owned(),
                der,
            },
            data.len() - remaining.len(),
        ),
        Err(_) => Decoded::Skip(skip, "invalid base64"),
    }
}

/// The base64 body without line breaks and white space.
fn strip_ws(b64: &[u8]) -> Vec<u8> {
    let mut clean = Vec::with_capacity(b64.len());
    let mut lines = b64;
    while !lines.is_empty() {
        let (l, next) = line(lines);
        if memchr::memchr3(b' ', b'\t', b'\r', l).is_some() {
            clean.extend(l.iter().copied().filter(|c| !is_ws(*c)));
        } else {
            clean.extend_from_slice(l);
        }
        lines = next;
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_line_width() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(text.lines().nth(1).map(str::len), Some(64));
        let got: Vec<_> = blocks(&text).collect();
        assert_eq!(
            got,
            vec![Ok(Block {
                label: "CERTIFICATE".into(),
                der
            })]
        );
    }

    #[test]
    fn empty_body_and_crlf() {
        let text = "-----BEGIN X-----\r\n-----END X-----\r\n";
        let b = blocks(text).next().unwrap().unwrap();
        assert_eq!((b.label.as_str(), b.der.len()), ("X", 0));
        let text = "-----BEGIN X-----\r\nAQID\r\n-----END X-----\r\n";
        assert_eq!(blocks(text).next().unwrap().unwrap().der, [1, 2, 3]);
    }

    #[test]
    fn skips_like_go() {
        // mismatched END label, then a good block
        let text = format!(
            "-----BEGIN A-----\nAQID\n-----END B-----\n{}",
            encode("C", b"c")
        );
        let items: Vec<_> = blocks(&text).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap_err().offset, 0);
        assert_eq!(items[1].as_ref().unwrap().label, "C");
        let (b, rest) = decode(text.as_bytes());
        assert_eq!(b.unwrap().der, b"c");
        assert!(rest.is_empty());
        // nothing found: the whole input comes back
        let (b, rest) = decode(b"no pem here");
        assert!(b.is_none());
        assert_eq!(rest, b"no pem here");
    }

    #[test]
    fn headers_are_skipped() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: x\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(blocks(text).next().unwrap().unwrap().der, [1, 2, 3]);
    }

    #[test]
    fn debug_hides_the_body() {
        let b = Block {
            label: "PRIVATE KEY".into(),
            der: b"secret".to_vec(),
        };
        let d = format!("{b:?}");
        assert!(!d.contains("secret") && d.contains("der_len: 6"));
    }
}
