//! AWS as the identity provider of Workload Identity Federation
//! (`workloadIdentityFederation.awsSecurityCredentials`): the subject token is a
//! SigV4-signed `sts:GetCallerIdentity` request, in the form Google's STS expects, signed
//! with the static AWS keys of a Kubernetes Secret (ESO reads the same three keys).

use std::fmt;

use eso_core::SecretValue;
use google_cloud_auth::credentials::subject_token::{
    Builder as SubjectTokenBuilder, SubjectToken, SubjectTokenProvider,
};
use google_cloud_auth::errors::SubjectTokenProviderError;
use serde_json::json;

/// The subject token type of a signed AWS request.
pub(crate) const AWS_TOKEN_TYPE: &str = "urn:ietf:params:aws:token-type:aws4_request";
const SERVICE: &str = "sts";
const QUERY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// Static AWS credentials and where to prove them.
pub(crate) struct AwsSigner {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: SecretValue,
    pub(crate) session_token: Option<SecretValue>,
    pub(crate) region: String,
    /// The workload identity pool provider (`x-goog-cloud-target-resource`).
    pub(crate) audience: String,
}

impl fmt::Debug for AwsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSigner")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::sign(&k, data).as_ref().to_vec()
}

/// The SigV4 signature of `canonical_request` (hex), for the scope
/// `date_stamp/region/service/aws4_request`.
pub(crate) fn signature(
    secret: &[u8],
    amz_date: &str,
    date_stamp: &str,
    region: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    let scope = format!("{date_stamp}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut key = b"AWS4".to_vec();
    key.extend_from_slice(secret);
    let k = hmac(&key, date_stamp.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    hex(&hmac(&k, to_sign.as_bytes()))
}

/// `application/x-www-form-urlencoded` encoding of `s` (what Google's libraries apply to the
/// JSON request).
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl AwsSigner {
    /// The subject token at time `amz_date` (`YYYYMMDDTHHMMSSZ`).
    pub(crate) fn token_at(&self, amz_date: &str) -> String {
        let date_stamp = &amz_date[..8.min(amz_date.len())];
        let host = format!("sts.{}.amazonaws.com", self.region);
        let mut headers: Vec<(&str, String)> =
            vec![("host", host.clone()), ("x-amz-date", amz_date.to_owned())];
        if let Some(t) = self
            .session_token
            .as_ref()
            .and_then(SecretValue::expose_str)
        {
            headers.push(("x-amz-security-token", t.to_owned()));
        }
        headers.push(("x-goog-cloud-target-resource", self.audience.clone()));
        let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let canonical = format!(
            "POST\n/\n{QUERY}\n{canonical_headers}\n{signed}\n{}",
            sha256_hex(b"")
        );
        let sig = signature(
            self.secret_access_key.expose(),
            amz_date,
            date_stamp,
            &self.region,
            SERVICE,
            &canonical,
        );
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{date_stamp}/{}/{SERVICE}/aws4_request, SignedHeaders={signed}, Signature={sig}",
            self.access_key_id, self.region
        );
        let mut all: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        all.push(("Authorization".to_owned(), authorization));
        all.sort();
        let request = json!({
            "url": format!("https://{host}?{QUERY}"),
            "method": "POST",
            "headers": all.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        });
        form_encode(&request.to_string())
    }
}

/// Why a token could not be signed (never: kept for the trait).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SignError(String);

impl SubjectTokenProviderError for SignError {
    fn is_transient(&self) -> bool {
        false
    }
}

impl SubjectTokenProvider for AwsSigner {
    type Error = SignError;

    async fn subject_token(&self) -> Result<SubjectToken, SignError> {
        let now = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        Ok(SubjectTokenBuilder::new(self.token_at(&now)).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's SigV4 test suite, `get-vanilla` and `get-vanilla-query-order-key-case`.
    #[test]
    fn matches_the_aws_test_suite() {
        let secret = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let canonical = |query: &str| {
            format!(
                "GET\n/\n{query}\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{}",
                sha256_hex(b"")
            )
        };
        let sig = |q: &str| {
            signature(
                secret,
                "20150830T123600Z",
                "20150830",
                "us-east-1",
                "service",
                &canonical(q),
            )
        };
        assert_eq!(
            sig(""),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            sig("Param1=value1&Param2=value2"),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode(r#"{"a": "b/c"}"#),
            "%7B%22a%22%3A+%22b%2Fc%22%7D"
        );
    }
}
