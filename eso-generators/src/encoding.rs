//! Small encoders the base64 crate does not cover: RFC 4648 base32 and lower-case hex.

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 with `=` padding (Go's `base32.StdEncoding`).
#[cfg(any(test, feature = "password"))]
pub(crate) fn base32_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(5) * 8);
    for chunk in input.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        // Characters carrying data for 1..=5 input bytes.
        let used = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < used {
                let idx = ((bits >> (35 - i * 5)) & 0x1f) as usize;
                out.push(char::from(BASE32_ALPHABET[idx]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes RFC 4648 base32 (upper-case alphabet, padding optional). `None` on bad input.
#[cfg(any(test, feature = "mfa"))]
pub(crate) fn base32_decode(input: &str) -> Option<Vec<u8>> {
    let data = input.trim_end_matches('=');
    let mut out = Vec::with_capacity(data.len() * 5 / 8);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for c in data.bytes() {
        let v = BASE32_ALPHABET.iter().position(|a| *a == c)? as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    // A valid encoding never leaves a full character (5 bits) unused.
    if bits >= 5 {
        return None;
    }
    Some(out)
}

/// Lower-case hex.
#[cfg(any(test, feature = "password"))]
pub(crate) fn hex_encode(input: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(input.len() * 2);
    for b in input {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), plain.as_bytes());
            assert_eq!(
                base32_decode(enc.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        assert!(base32_decode("M1").is_none());
        assert!(base32_decode("M").is_none());
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex_encode(&[0x00, 0xab, 0xff]), "00abff");
    }
}
