//! The `MFA` generator: TOTP (RFC 6238).

use async_trait::async_trait;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::{Error, Result, SecretMap, SecretValue};
use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

use crate::encoding::base32_decode;

/// Generates a time-based one-time password (kind `MFA`, RFC 6238).
///
/// The base32 seed is read from the Secret `spec.secret.name`, key `spec.secret.key`, in the
/// consumer's namespace (spaces are removed and letters upper-cased first; `=` padding is
/// accepted). `length` (default 6) and `timePeriod` (default 30 seconds) apply when positive;
/// `when` (RFC 3339) pins the time instead of now.
///
/// Output: `token` (zero-padded to `length` digits) and `timeLeft` (seconds until the token
/// expires), as ESO.
///
/// `algorithm` selects the HMAC hash: `sha1` (default), `sha256`, `sha384`, `sha512` or
/// `sha512_256`, case-insensitive. ESO parses this field but always uses SHA-1; eso-rs honours
/// it, so a token matches an authenticator configured with the same algorithm.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::Mfa;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // The RFC 6238 test seed "12345678901234567890", base32-encoded.
/// let cluster: DynCluster = Arc::new(MemoryCluster::new().with_secret(
///     KubeSecret::new("default", "totp").with_data("seed", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
/// ));
/// let spec = serde_json::json!({
///     "secret": {"name": "totp", "key": "seed"},
///     "length": 8,
///     "when": "1970-01-01T00:00:59Z",
/// });
/// let spec = eso_core::api::GeneratorSpec::parse("MFA", spec)?;
/// let out = Mfa::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// assert_eq!(out.data["token"].expose(), b"94287082");
/// assert_eq!(out.data["timeLeft"].expose(), b"1");
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Mfa;

impl Mfa {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

/// The longest token: HOTP values have 31 bits, so longer tokens would only add zeros.
const MAX_LENGTH: i64 = 18;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Sha512_256,
}

impl Algorithm {
    fn parse(value: Option<&str>) -> Result<Self> {
        let v = value.unwrap_or("").to_ascii_lowercase();
        Ok(match v.as_str() {
            "" | "sha1" => Self::Sha1,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            "sha512_256" => Self::Sha512_256,
            _ => {
                return Err(Error::invalid_config(
                    "spec.algorithm",
                    format!(
                        "unsupported algorithm {:?}; use sha1, sha256, sha384, sha512 or sha512_256",
                        value.unwrap_or_default()
                    ),
                ));
            }
        })
    }

    fn hmac(self, key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
            // HMAC accepts keys of any length, so this never fails.
            match <M as hmac::digest::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(message);
                    Zeroizing::new(mac.finalize().into_bytes().to_vec())
                }
                Err(_) => Zeroizing::new(Vec::new()),
            }
        }
        match self {
            Self::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Self::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Self::Sha384 => run::<Hmac<sha2::Sha384>>(key, message),
            Self::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
            Self::Sha512_256 => run::<Hmac<sha2::Sha512_256>>(key, message),
        }
    }
}

#[async_trait]
impl Generator for Mfa {
    fn kind(&self) -> &'static str {
        "MFA"
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of("MFA", |s| s.mfa_spec.as_ref())?;
        let algorithm = Algorithm::parse(spec.algorithm.as_deref())?;
        let length = match spec.length {
            Some(l) if l > MAX_LENGTH => {
                return Err(Error::invalid_config(
                    "spec.length",
                    format!("must be at most {MAX_LENGTH}"),
                ));
            }
            Some(l) if l > 0 => l,
            _ => 6,
        };
        let period = spec.time_period.filter(|p| *p > 0).unwrap_or(30);
        let now = match &spec.when {
            Some(w) => w
                .parse::<jiff::Timestamp>()
                .map_err(|_| Error::invalid_config("spec.when", "must be an RFC 3339 date-time"))?,
            None => jiff::Timestamp::now(),
        };

        let seed = ctx
            .credentials()
            .secret(&spec.secret, None, "spec.secret")
            .await?;
        let seed = Zeroizing::new(
            seed.expose()
                .iter()
                .filter(|b| **b != b' ')
                .map(u8::to_ascii_uppercase)
                .collect::<Vec<u8>>(),
        );
        let seed = std::str::from_utf8(&seed)
            .ok()
            .and_then(base32_decode)
            .map(Zeroizing::new)
            .ok_or_else(|| {
                Error::invalid_config("spec.secret.key", "the seed is not valid base32")
            })?;

        let (token, time_left) = totp(
            &seed,
            algorithm,
            now.as_second(),
            period,
            u32::try_from(length).unwrap_or(6),
        );
        Ok(GeneratorOutput::new(SecretMap::from([
            ("token".to_owned(), SecretValue::from(token)),
            (
                "timeLeft".to_owned(),
                SecretValue::from(time_left.to_string()),
            ),
        ])))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

/// The TOTP token for `unix` seconds, and the seconds it stays valid.
fn totp(seed: &[u8], algorithm: Algorithm, unix: i64, period: i64, digits: u32) -> (String, i64) {
    let counter = unix.div_euclid(period);
    let time_left = period - unix.rem_euclid(period);
    let counter = u64::try_from(counter).unwrap_or(0);
    let sum = algorithm.hmac(seed, &counter.to_be_bytes());
    // Dynamic truncation (RFC 4226 section 5.3).
    let offset = sum.last().map_or(0, |b| usize::from(b & 0x0f));
    let value = sum.get(offset..offset + 4).map_or(0, |b| {
        (u64::from(b[0] & 0x7f) << 24)
            | (u64::from(b[1]) << 16)
            | (u64::from(b[2]) << 8)
            | u64::from(b[3])
    });
    let code = value % 10u64.pow(digits.min(19));
    (
        format!("{code:0width$}", width = digits as usize),
        time_left,
    )
}

#[cfg(test)]
mod tests {
    use eso_core::cluster::{KubeSecret, MemoryCluster};
    use serde_json::json;

    use super::*;
    use crate::encoding::base32_encode;
    use crate::test_util::{run_with, text};

    const SEED20: &[u8] = b"12345678901234567890";
    const SEED32: &[u8] = b"12345678901234567890123456789012";
    const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B.
    #[test]
    fn rfc6238_vectors() {
        let rows: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in rows {
            assert_eq!(totp(SEED20, Algorithm::Sha1, t, 30, 8).0, sha1);
            assert_eq!(totp(SEED32, Algorithm::Sha256, t, 30, 8).0, sha256);
            assert_eq!(totp(SEED64, Algorithm::Sha512, t, 30, 8).0, sha512);
        }
    }

    fn cluster(seed: &str) -> MemoryCluster {
        MemoryCluster::new().with_secret(KubeSecret::new("default", "otp").with_data("seed", seed))
    }

    #[test]
    fn generator_honours_algorithm_length_and_period() {
        let seed = base32_encode(SEED32).to_lowercase();
        // Spaces and lower case are tolerated, like ESO.
        let seed = format!("{} {}", &seed[..8], &seed[8..]);
        let out = run_with(
            &Mfa,
            json!({"secret": {"name": "otp", "key": "seed"}, "algorithm": "SHA256", "length": 8,
                   "when": "2005-03-18T01:58:29Z"}),
            cluster(&seed),
        )
        .unwrap();
        assert_eq!(text(&out, "token"), "68084774");
        assert_eq!(text(&out, "timeLeft"), "1");

        let out = run_with(
            &Mfa,
            json!({"secret": {"name": "otp", "key": "seed"}, "timePeriod": 60,
                   "when": "1970-01-01T00:00:59Z"}),
            cluster(&base32_encode(SEED20)),
        )
        .unwrap();
        assert_eq!(text(&out, "token").len(), 6);
        assert_eq!(text(&out, "timeLeft"), "1");
        assert_eq!(
            text(&out, "token"),
            totp(SEED20, Algorithm::Sha1, 59, 60, 6).0
        );
    }

    #[test]
    fn default_is_now_with_six_digits() {
        let out = run_with(
            &Mfa,
            json!({"secret": {"name": "otp", "key": "seed"}}),
            cluster(&base32_encode(SEED20)),
        )
        .unwrap();
        let token = text(&out, "token");
        assert_eq!(token.len(), 6);
        assert!(token.chars().all(|c| c.is_ascii_digit()));
        let left: i64 = text(&out, "timeLeft").parse().unwrap();
        assert!((1..=30).contains(&left));
    }

    #[test]
    fn errors_name_fields_and_hide_the_seed() {
        let spec = json!({"secret": {"name": "otp", "key": "seed"}});
        let e = run_with(&Mfa, spec.clone(), MemoryCluster::new()).unwrap_err();
        assert_eq!(e.to_string(), "spec.secret: Secret default/otp not found");
        let e = run_with(
            &Mfa,
            json!({"secret": {"name": "otp", "key": "other"}}),
            cluster("GEZA"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("spec.secret: key \"other\" not found in Secret default/otp"),
            "{e}"
        );
        let e = run_with(&Mfa, spec.clone(), cluster("not-base32!")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "spec.secret.key: the seed is not valid base32"
        );
        let mut bad = spec.clone();
        bad["algorithm"] = json!("md5");
        let e = run_with(&Mfa, bad, cluster("GEZA")).unwrap_err();
        assert!(e.to_string().starts_with("spec.algorithm: "), "{e}");
        let mut bad = spec.clone();
        bad["length"] = json!(40);
        let e = run_with(&Mfa, bad, cluster("GEZA")).unwrap_err();
        assert!(e.to_string().starts_with("spec.length: "), "{e}");
        let mut bad = spec;
        bad["when"] = json!("yesterday");
        let e = run_with(&Mfa, bad, cluster("GEZA")).unwrap_err();
        assert!(e.to_string().starts_with("spec.when: "), "{e}");
    }
}
