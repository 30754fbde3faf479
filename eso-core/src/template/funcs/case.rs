//! Go's per-rune simple case mapping (`unicode.ToUpper`, `ToLower`, `ToTitle`), as used by
//! `strings.ToUpper`, `strings.ToLower` and `strings.Title` (sprig's `upper`, `lower`,
//! `title`). Unlike Rust's `str::to_uppercase`, every rune maps to exactly one rune: `ß`
//! stays `ß`, `İ` lowers to `i`, and there is no final-sigma rule.

/// Go's `unicode.ToUpper`.
pub(crate) fn upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        // Full mappings with several runes: the simple mapping is the rune itself, except for
        // the Greek letters with ypogegrammeni, whose simple uppercase is one titlecase rune.
        _ => match c as u32 {
            0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => {
                char::from_u32(c as u32 + 8).unwrap_or(c)
            }
            0x1FB3 => '\u{1FBC}',
            0x1FC3 => '\u{1FCC}',
            0x1FF3 => '\u{1FFC}',
            _ => c,
        },
    }
}

/// Go's `unicode.ToLower`.
pub(crate) fn lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        // U+0130 (İ) is the only rune whose full lowercase has several runes.
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

/// Go's `unicode.ToTitle`.
pub(crate) fn title_rune(c: char) -> char {
    match c as u32 {
        0x1C4..=0x1C6 => '\u{1C5}',
        0x1C7..=0x1C9 => '\u{1C8}',
        0x1CA..=0x1CC => '\u{1CB}',
        0x1F1..=0x1F3 => '\u{1F2}',
        _ => upper(c),
    }
}

/// Go's `strings.ToUpper`.
pub(crate) fn to_upper(s: &str) -> String {
    s.chars().map(upper).collect()
}

/// Go's `strings.ToLower`.
pub(crate) fn to_lower(s: &str) -> String {
    s.chars().map(lower).collect()
}

/// The separator test of Go's (deprecated) `strings.Title`.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's `strings.Title`: title-case the first rune of every word.
pub(crate) fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_rune(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed with Go 1.26 (`strings.ToUpper/ToLower/Title`) in a harness
    // outside the repository.
    #[test]
    fn go_case_mapping() {
        assert_eq!(to_upper("straße ǆ ᾀ"), "STRAßE Ǆ ᾈ");
        assert_eq!(to_lower("İSTANBUL ΟΔΟΣ"), "istanbul οδοσ");
        assert_eq!(
            title("hello wORLD it's ǆungla_x-y"),
            "Hello WORLD It'S ǅungla_x-Y"
        );
    }
}
