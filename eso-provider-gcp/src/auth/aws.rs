//! AWS as the identity provider of Workload Identity Federation
//! (`workloadIdentityFederation.awsSecurityCredentials`): the subject token is a
//! SigV4-signed `sts:GetCallerIdentity` request, in the form Google's STS expects, signed
//! with the static AWS keys of a Kubernetes Secret (ESO reads the same three keys).

use std::fmt;
use std::time::SystemTime;

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
    /// The headers of the signed request at `at` (sorted by name, `Authorization` as
    /// Google's libraries write it).
    pub(crate) fn signed_headers(
        &self,
        at: SystemTime,
    ) -> Result<Vec<(String, String)>, SignError> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let host = format!("sts.{}.amazonaws.com", self.region);
        let identity = aws_credential_types::Credentials::new(
            &self.access_key_id,
            self.secret_access_key.expose_str().unwrap_or_default(),
            self.session_token
                .as_ref()
                .and_then(SecretValue::expose_str)
                .map(str::to_owned),
            None,
            "eso-rs-secret",
        )
        .into();
        let err = |e: &dyn fmt::Display| SignError(format!("cannot sign the AWS request: {e}"));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| err(&e))?
            .into();
        let headers = [
            ("host", host.as_str()),
            ("x-goog-cloud-target-resource", self.audience.as_str()),
        ];
        let request = SignableRequest::new(
            "POST",
            format!("https://{host}/?{QUERY}"),
            headers.into_iter(),
            SignableBody::Bytes(b""),
        )
        .map_err(|e| err(&e))?;
        let (instructions, _) = sign(request, &params).map_err(|e| err(&e))?.into_parts();
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in instructions.headers() {
            let k = if k == "authorization" {
                "Authorization"
            } else {
                k
            };
            all.push((k.to_owned(), v.to_owned()));
        }
        all.sort();
        Ok(all)
    }

    /// The subject token at `at`: the form-encoded JSON of the signed request.
    pub(crate) fn token_at(&self, at: SystemTime) -> Result<String, SignError> {
        let all = self.signed_headers(at)?;
        let request = json!({
            "url": format!("https://sts.{}.amazonaws.com?{QUERY}", self.region),
            "method": "POST",
            "headers": all.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        });
        Ok(form_encode(&request.to_string()))
    }
}

/// Why a token could not be signed.
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
        Ok(SubjectTokenBuilder::new(self.token_at(SystemTime::now())?).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's SigV4 test suite (`get-vanilla`), through the same crate and settings: the
    /// signing itself is aws-sigv4's; this checks how it is called.
    #[test]
    fn matches_the_aws_test_suite() {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let identity = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )
        .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("service")
            .time(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160))
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let req = SignableRequest::new(
            "GET",
            "https://example.amazonaws.com/",
            [("host", "example.amazonaws.com")].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        let (_, sig) = sign(req, &params).unwrap().into_parts();
        assert_eq!(
            sig,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn signs_get_caller_identity_with_the_session_token() {
        let signer = AwsSigner {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: SecretValue::from("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(SecretValue::from("session-token")),
            region: "eu-west-1".into(),
            audience: "//iam.googleapis.com/pool".into(),
        };
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        let h: std::collections::BTreeMap<String, String> =
            signer.signed_headers(at).unwrap().into_iter().collect();
        assert_eq!(h["x-amz-date"], "20150830T123600Z");
        assert_eq!(h["x-amz-security-token"], "session-token");
        assert!(
            h["Authorization"].starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/sts/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource, \
                 Signature="
            ),
            "{}",
            h["Authorization"]
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
