//! The `Password` generator.

use std::collections::BTreeSet;

use async_trait::async_trait;
use base64::Engine as _;
use eso_core::api::{PASSWORD_DEFAULT_SYMBOLS, PasswordEncoding, PasswordSpec, ResolvedPassword};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::{Error, Result, SecretMap, SecretValue};
use rand::RngExt as _;
use rand::seq::SliceRandom as _;
use zeroize::Zeroizing;

use crate::encoding::{base32_encode, hex_encode};

/// Generates random passwords (kind `Password`).
///
/// Semantics follow ESO, which uses the go-password library:
///
/// - `length` (default 24; zero or negative also mean 24) characters in total, of which exactly
///   `digits` digits and `symbols` symbols (each defaulting to a quarter of the length, rounded
///   down); the rest are letters (lower-case only with `noUpper`).
/// - Symbols come from `symbolCharacters` (default ``~!@#$%^&*()_+`-={}|[]\:"<>?,./``; an empty
///   string also means the default).
/// - Unless `allowRepeat`, no character appears twice, so at most 52 (26 with `noUpper`) letters,
///   10 digits and as many symbols as there are distinct symbol characters fit; asking for more
///   is an error (go-password would loop forever on some of these specs). Without
///   `allowRepeat`, symbol characters that are also letters or digits are not used as symbols.
/// - One independent password per `secretKeys` entry (default `["password"]`; entries must be
///   non-empty and unique), each encoded with `encoding`: `raw` (default), `base64`,
///   `base64url` (padded), `base32` (padded) or `hex`.
///
/// Randomness comes from `rand`'s thread-local generator, a ChaCha12 stream cipher seeded and
/// regularly reseeded from the operating system, so the output is cryptographically secure.
/// Unlike go-password, symbol characters are taken as Unicode characters, not bytes.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::Password;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let spec = serde_json::json!({"length": 20, "digits": 4, "symbols": 0, "noUpper": true});
/// let spec = eso_core::api::GeneratorSpec::parse("Password", spec)?;
/// let out = Password::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// let pw = out.data["password"].expose_str().unwrap();
/// assert_eq!(pw.len(), 20);
/// assert_eq!(pw.chars().filter(char::is_ascii_digit).count(), 4);
/// assert!(pw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Password;

impl Password {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Generator for Password {
    fn kind(&self) -> &'static str {
        "Password"
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of("Password", |s| s.password_spec.as_ref())?;
        let resolved = resolve(spec)?;
        let mut data = SecretMap::new();
        for key in &resolved.secret_keys {
            let raw = generate_password(&resolved)?;
            data.insert(key.clone(), encode(raw, resolved.encoding));
        }
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

/// Applies the defaults and the go-password limits, turning problems into one error.
fn resolve(spec: &PasswordSpec) -> Result<ResolvedPassword> {
    let mut spec = spec.clone();
    // go-password falls back to its default symbol set for an empty one.
    if spec.symbol_characters.as_deref() == Some("") {
        spec.symbol_characters = Some(PASSWORD_DEFAULT_SYMBOLS.to_owned());
    }
    spec.resolved().map_err(|errs| match errs.as_slice() {
        [(field, msg)] => Error::invalid_config(format!("spec.{field}"), msg.clone()),
        _ => Error::invalid_config(
            "spec",
            errs.iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    })
}

/// One password: exactly `digits` digits, `symbols` symbols and letters for the rest, in a
/// uniformly random order. Without `allow_repeat` every character is distinct.
fn generate_password(p: &ResolvedPassword) -> Result<Zeroizing<Vec<char>>> {
    let mut letters: Vec<char> = ('a'..='z').collect();
    if !p.no_upper {
        letters.extend('A'..='Z');
    }
    let digits: Vec<char> = ('0'..='9').collect();
    let symbols: Vec<char> = p.symbol_characters.chars().collect();
    let n_letters = p.length.saturating_sub(p.digits + p.symbols);

    let mut rng = rand::rng();
    let mut out = Zeroizing::new(Vec::with_capacity(p.length));
    let classes = [
        (&letters, n_letters, "length"),
        (&digits, p.digits, "digits"),
        (&symbols, p.symbols, "symbols"),
    ];
    for (alphabet, count, field) in classes {
        if count == 0 {
            continue;
        }
        if p.allow_repeat {
            if alphabet.is_empty() {
                return Err(Error::invalid_config(
                    "spec.symbolCharacters",
                    "no symbol characters to choose from",
                ));
            }
            for _ in 0..count {
                out.push(alphabet[rng.random_range(0..alphabet.len())]);
            }
        } else {
            // Distinct characters; symbol characters that are also letters or digits are left
            // out, so the classes never compete for a character and feasibility is not luck.
            let mut pool: Vec<char> = alphabet
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .filter(|c| field != "symbols" || !(letters.contains(c) || digits.contains(c)))
                .collect();
            if pool.len() < count {
                return Err(Error::invalid_config(
                    format!("spec.{field}"),
                    format!(
                        "{count} distinct characters needed but only {} are available; set allowRepeat",
                        pool.len()
                    ),
                ));
            }
            let (chosen, _) = pool.partial_shuffle(&mut rng, count);
            out.extend_from_slice(chosen);
        }
    }
    out.shuffle(&mut rng);
    Ok(out)
}

fn encode(raw: Zeroizing<Vec<char>>, encoding: PasswordEncoding) -> SecretValue {
    let raw: Zeroizing<String> = Zeroizing::new(raw.iter().collect());
    let bytes = raw.as_bytes();
    let encoded = match encoding {
        PasswordEncoding::Raw => return SecretValue::from(bytes),
        PasswordEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        PasswordEncoding::Base64url => base64::engine::general_purpose::URL_SAFE.encode(bytes),
        PasswordEncoding::Base32 => base32_encode(bytes),
        PasswordEncoding::Hex => hex_encode(bytes),
    };
    SecretValue::from(encoded)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;
    use crate::test_util::{run, text};

    fn pw(spec: serde_json::Value) -> String {
        text(&run(&Password, spec).unwrap(), "password")
    }

    #[test]
    fn defaults() {
        let p = pw(json!({}));
        assert_eq!(p.chars().count(), 24);
        assert_eq!(p.chars().filter(char::is_ascii_digit).count(), 6);
        assert_eq!(
            p.chars()
                .filter(|c| PASSWORD_DEFAULT_SYMBOLS.contains(*c))
                .count(),
            6
        );
        assert_eq!(p.chars().collect::<BTreeSet<_>>().len(), 24);
    }

    #[test]
    fn zero_or_negative_length_means_default() {
        assert_eq!(pw(json!({"length": 0})).len(), 24);
        assert_eq!(pw(json!({"length": -3})).len(), 24);
    }

    #[test]
    fn passwords_differ() {
        assert_ne!(pw(json!({})), pw(json!({})));
        let out = run(&Password, json!({"secretKeys": ["a", "b"]})).unwrap();
        assert_ne!(text(&out, "a"), text(&out, "b"));
    }

    #[test]
    fn exhausting_the_alphabet_without_repeats_works() {
        // 26 letters, 10 digits and 3 symbols: every character exactly once.
        let p = pw(
            json!({"length": 39, "digits": 10, "symbols": 3, "symbolCharacters": "-_.", "noUpper": true}),
        );
        assert_eq!(p.chars().collect::<BTreeSet<_>>().len(), 39);
    }

    #[test]
    fn symbols_overlapping_letters_are_not_reused() {
        for _ in 0..20 {
            let p = pw(
                json!({"length": 29, "digits": 0, "symbols": 3, "symbolCharacters": "abc-_.", "noUpper": true}),
            );
            assert_eq!(p.chars().collect::<BTreeSet<_>>().len(), 29);
            assert_eq!(p.chars().filter(|c| "-_.".contains(*c)).count(), 3);
        }
        let e = run(
            &Password,
            json!({"length": 30, "digits": 0, "symbols": 4, "symbolCharacters": "abc-_.", "noUpper": true}),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("spec.symbols: "), "{e}");
        // With repeats allowed every symbol character counts.
        let p = pw(
            json!({"length": 10, "digits": 0, "symbols": 10, "symbolCharacters": "a", "allowRepeat": true}),
        );
        assert_eq!(p, "aaaaaaaaaa");
    }

    #[test]
    fn empty_symbol_characters_mean_the_default_set() {
        let p = pw(json!({"symbolCharacters": ""}));
        assert_eq!(
            p.chars()
                .filter(|c| PASSWORD_DEFAULT_SYMBOLS.contains(*c))
                .count(),
            6
        );
    }

    #[test]
    fn errors_name_fields() {
        let e = run(&Password, json!({"length": 8, "digits": 5, "symbols": 5})).unwrap_err();
        assert!(e.to_string().starts_with("spec.length: "), "{e}");
        let e = run(&Password, json!({"digits": 11, "symbols": 0})).unwrap_err();
        assert!(e.to_string().starts_with("spec.digits: "), "{e}");
        let e = run(&Password, json!({"secretKeys": ["a", "a"]})).unwrap_err();
        assert!(e.to_string().starts_with("spec.secretKeys: "), "{e}");
        let e = run(&Password, json!({"encoding": "rot13"})).unwrap_err();
        assert!(e.to_string().starts_with("spec.encoding: "), "{e}");
        let e = run(&Password, json!({"digits": -1, "symbols": -1})).unwrap_err();
        assert!(e.to_string().starts_with("spec: digits: "), "{e}");
    }

    #[test]
    fn encodings() {
        let b = pw(json!({"encoding": "hex", "length": 10}));
        assert_eq!(b.len(), 20);
        assert!(
            b.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let b = pw(json!({"encoding": "base64url", "length": 10}));
        assert!(b.ends_with('='));
    }

    #[test]
    fn cleanup_is_a_no_op() {
        let cluster: eso_core::cluster::DynCluster =
            std::sync::Arc::new(eso_core::cluster::MemoryCluster::new());
        let spec = eso_core::api::GeneratorSpec::parse("Password", json!({})).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(Password.cleanup(
            &GeneratorContext::new(&spec, "default", &cluster),
            &json!(null),
        ))
        .unwrap();
    }
}
