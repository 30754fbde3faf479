//! The cloud-identity logins: what each one proves to Infisical and where the proof comes
//! from (the controller's AWS keys, Azure's instance metadata service, GCP's metadata server
//! or IAM credentials API, an OCI API key).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use eso_core::{Error, Result, SecretValue};
use serde::Deserialize;
use serde_json::{Value, json};

/// The endpoints of the cloud services the cloud-identity logins call. The defaults are the
/// real services; tests point them at stand-ins.
///
/// # Example
///
/// ```
/// use eso_provider_infisical::CloudEndpoints;
///
/// let mut e = CloudEndpoints::default();
/// e.azure_imds = "http://127.0.0.1:8080/metadata/identity/oauth2/token".into();
/// assert_eq!(e.gcp_metadata, "http://metadata.google.internal");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloudEndpoints {
    /// Azure's managed-identity token endpoint (`azureAuthCredentials`).
    pub azure_imds: String,
    /// GCP's metadata server, without a path (`gcpIdTokenAuthCredentials`).
    pub gcp_metadata: String,
    /// GCP's IAM credentials API, without a path (`signJwt` for `gcpIamAuthCredentials`).
    pub gcp_iam_credentials: String,
}

impl Default for CloudEndpoints {
    fn default() -> Self {
        Self {
            azure_imds: "http://169.254.169.254/metadata/identity/oauth2/token".to_owned(),
            gcp_metadata: "http://metadata.google.internal".to_owned(),
            gcp_iam_credentials: "https://iamcredentials.googleapis.com".to_owned(),
        }
    }
}

/// Where the controller's ambient settings (`AWS_*`) are read: the process environment, or
/// a fixed set given to the factory.
#[derive(Clone, Default)]
pub(crate) struct Environment(Option<Arc<BTreeMap<String, String>>>);

impl Environment {
    pub(crate) fn fixed(vars: BTreeMap<String, String>) -> Self {
        Self(Some(Arc::new(vars)))
    }

    pub(crate) fn var(&self, name: &str) -> Option<String> {
        match &self.0 {
            Some(m) => m.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
        .filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("Environment(process)"),
            Some(m) => f.debug_tuple("Environment").field(&m.keys()).finish(),
        }
    }
}

/// The HTTP client, endpoints and environment of the cloud-identity logins.
#[derive(Clone, Debug)]
pub(crate) struct Cloud {
    pub(crate) client: reqwest::Client,
    pub(crate) endpoints: CloudEndpoints,
    pub(crate) env: Environment,
}

/// Timeout of each call to a cloud service.
pub(crate) const CLOUD_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn failed(method: &str, what: impl fmt::Display) -> Error {
    Error::Unavailable {
        message: format!("infisical {method}: {what}"),
        source: None,
    }
}

/// Sends `req` and returns the body of a 2xx answer (the body of an error is not quoted: it
/// is not ours to show).
pub(crate) async fn fetch(
    method: &str,
    service: &str,
    req: reqwest::RequestBuilder,
) -> Result<Vec<u8>> {
    fetch_within(service, req, CLOUD_TIMEOUT)
        .await
        .map_err(|why| failed(method, why))
}

/// [`fetch`] with its own timeout, the error being what went wrong (naming `service`), for
/// callers that say more around it.
pub(crate) async fn fetch_within(
    service: &str,
    req: reqwest::RequestBuilder,
    timeout: Duration,
) -> std::result::Result<Vec<u8>, String> {
    let resp = req.timeout(timeout).send().await.map_err(|e| {
        format!(
            "{service}: {}",
            eso_core::provider::error_chain(&e.without_url())
        )
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{service} answered HTTP {}", status.as_u16()));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("{service}: {}", eso_core::provider::error_chain(&e)))?;
    Ok(body.to_vec())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

// --- Azure managed identity ---

/// The resource Azure tokens are asked for when `resource` is not set.
pub(crate) const AZURE_DEFAULT_RESOURCE: &str = "https://management.azure.com/";

/// `azureAuthCredentials`: a managed-identity token from the instance metadata service.
pub(crate) async fn azure_login(cloud: &Cloud, identity_id: &str, resource: &str) -> Result<Value> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
    }
    let m = "azure auth";
    let req = cloud
        .client
        .get(&cloud.endpoints.azure_imds)
        .query(&[("api-version", "2018-02-01"), ("resource", resource)])
        .header("Metadata", "true")
        .header("Accept", "application/json");
    let body = fetch(m, "the Azure instance metadata service", req).await?;
    let a: Answer = serde_json::from_slice(&body).map_err(|_| {
        failed(
            m,
            "the Azure instance metadata service sent no access_token",
        )
    })?;
    Ok(json!({"identityId": identity_id, "jwt": a.access_token}))
}

// --- GCP ---

/// `gcpIdTokenAuthCredentials`: an ID token of the instance's service account from the
/// metadata server, with the identity ID as its audience.
pub(crate) async fn gcp_id_token_login(cloud: &Cloud, identity_id: &str) -> Result<Value> {
    let m = "gcp id token auth";
    let url = format!(
        "{}/computeMetadata/v1/instance/service-accounts/default/identity",
        cloud.endpoints.gcp_metadata.trim_end_matches('/')
    );
    let req = cloud
        .client
        .get(url)
        .query(&[("audience", identity_id), ("format", "full")])
        .header("Metadata-Flavor", "Google");
    let body = fetch(m, "the GCP metadata server", req).await?;
    let jwt = String::from_utf8(body).map_err(|_| failed(m, "the ID token is not text"))?;
    Ok(json!({"identityId": identity_id, "jwt": jwt.trim()}))
}

/// The fields of a service-account JSON key this login uses.
#[derive(Deserialize)]
struct ServiceAccountKey {
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
    #[serde(default = "default_token_uri")]
    token_uri: String,
}

fn default_token_uri() -> String {
    "https://oauth2.googleapis.com/token".to_owned()
}

/// `gcpIamAuthCredentials`: a JWT `{"sub": <service account>, "aud": <identity ID>}` signed
/// by Google for the service account of the key file (IAM credentials `signJwt`, called with
/// an access token the key obtains).
pub(crate) async fn gcp_iam_login(
    cloud: &Cloud,
    identity_id: &str,
    key_file: &Path,
) -> Result<Value> {
    let m = "gcp iam auth";
    let raw = tokio::fs::read(key_file).await.map_err(|e| {
        failed(
            m,
            format_args!(
                "cannot read the service account key file {}: {e}",
                key_file.display()
            ),
        )
    })?;
    let key: ServiceAccountKey = serde_json::from_slice(&raw).map_err(|_| {
        failed(
            m,
            format_args!(
                "{} is not a service account JSON key (client_email and private_key)",
                key_file.display()
            ),
        )
    })?;
    let access = google_access_token(cloud, &key).await?;
    let url = format!(
        "{}/v1/projects/-/serviceAccounts/{}:signJwt",
        cloud.endpoints.gcp_iam_credentials.trim_end_matches('/'),
        key.client_email
    );
    let payload = json!({"sub": key.client_email, "aud": identity_id}).to_string();
    let req = cloud
        .client
        .post(url)
        .bearer_auth(access.expose_str().unwrap_or_default())
        .json(&json!({"payload": payload}));
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Signed {
        signed_jwt: String,
    }
    let body = fetch(m, "the IAM credentials API (signJwt)", req).await?;
    let s: Signed = serde_json::from_slice(&body)
        .map_err(|_| failed(m, "the IAM credentials API sent no signedJwt"))?;
    Ok(json!({"identityId": identity_id, "jwt": s.signed_jwt}))
}

/// An OAuth access token for the key's service account: a self-signed assertion exchanged
/// at the key's `token_uri` (the JWT-bearer grant).
async fn google_access_token(cloud: &Cloud, key: &ServiceAccountKey) -> Result<SecretValue> {
    let m = "gcp iam auth";
    let signer = crate::sign::RsaKey::from_pem(key.private_key.as_bytes()).map_err(|why| {
        failed(
            m,
            format_args!("the service account key's private_key: {why}"),
        )
    })?;
    let now = unix_now();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.private_key_id});
    let claims = json!({"iss": key.client_email, "scope": "https://www.googleapis.com/auth/cloud-platform",
        "aud": key.token_uri, "iat": now, "exp": now + 3600});
    let unsigned = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = signer
        .sign_sha256(unsigned.as_bytes())
        .map_err(|why| failed(m, why))?;
    let assertion = format!("{unsigned}.{}", b64url(&sig));
    let req = cloud.client.post(&key.token_uri).form(&[
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion.as_str()),
    ]);
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
    }
    let body = fetch(m, "the service account's token endpoint", req).await?;
    let a: Answer = serde_json::from_slice(&body)
        .map_err(|_| failed(m, "the token endpoint sent no access_token"))?;
    Ok(SecretValue::from(a.access_token))
}

// --- OCI ---

/// What `ociAuthCredentials` reads from Secrets.
pub(crate) struct OciKey {
    pub(crate) user: String,
    pub(crate) tenancy: String,
    pub(crate) fingerprint: String,
    pub(crate) region: String,
    pub(crate) key: crate::sign::RsaKey,
}

/// `ociAuthCredentials`: the headers of a signed `GET` of the user at OCI's identity API
/// (HTTP signature over `date`, `(request-target)` and `host`), which Infisical replays.
pub(crate) fn oci_login(identity_id: &str, k: &OciKey) -> Result<Value> {
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let headers = oci_headers(k, &date).map_err(|why| failed("oci auth", why))?;
    Ok(json!({"identityId": identity_id, "userOcid": k.user, "headers": headers}))
}

/// The signed headers at `date` (an HTTP date).
pub(crate) fn oci_headers(
    k: &OciKey,
    date: &str,
) -> std::result::Result<BTreeMap<&'static str, String>, String> {
    let host = format!("identity.{}.oraclecloud.com", k.region);
    let signing = format!(
        "date: {date}\n(request-target): get /20160918/users/{}\nhost: {host}",
        k.user
    );
    let sig = k.key.sign_sha256(signing.as_bytes())?;
    let authorization = format!(
        "Signature version=\"1\",headers=\"date (request-target) host\",keyId=\"{}/{}/{}\",algorithm=\"rsa-sha256\",signature=\"{}\"",
        k.tenancy,
        k.user,
        k.fingerprint,
        base64::engine::general_purpose::STANDARD.encode(sig)
    );
    Ok(BTreeMap::from([
        ("authorization", authorization),
        ("date", date.to_owned()),
        ("host", host),
    ]))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;

    use super::*;

    #[test]
    fn oci_headers_carry_a_verifiable_signature() {
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
        let pem = eso_core::pem::encode("PRIVATE KEY", der.as_ref());
        let k = OciKey {
            user: "ocid1.user.oc1..u".into(),
            tenancy: "ocid1.tenancy.oc1..t".into(),
            fingerprint: "aa:bb".into(),
            region: "eu-frankfurt-1".into(),
            key: crate::sign::RsaKey::from_pem(pem.as_bytes()).unwrap(),
        };
        let date = "Mon, 07 Dec 2026 14:42:54 GMT";
        let h = oci_headers(&k, date).unwrap();
        assert_eq!(h["host"], "identity.eu-frankfurt-1.oraclecloud.com");
        assert_eq!(h["date"], date);
        let auth = &h["authorization"];
        assert!(auth.starts_with(
            "Signature version=\"1\",headers=\"date (request-target) host\",\
             keyId=\"ocid1.tenancy.oc1..t/ocid1.user.oc1..u/aa:bb\",algorithm=\"rsa-sha256\",signature=\""
        ), "{auth}");
        let sig = auth
            .rsplit("signature=\"")
            .next()
            .unwrap()
            .trim_end_matches('"');
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        let signed = format!(
            "date: {date}\n(request-target): get /20160918/users/ocid1.user.oc1..u\n\
             host: identity.eu-frankfurt-1.oraclecloud.com"
        );
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            kp.public_key().as_ref(),
        )
        .verify(signed.as_bytes(), &sig)
        .unwrap();
    }
}
