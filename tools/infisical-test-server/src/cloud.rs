//! The cloud-identity logins (AWS IAM, Azure, GCP ID token and IAM, OCI) and stand-ins for
//! the cloud services their proofs come from, served on a second, plain-HTTP listener: AWS
//! STS `AssumeRoleWithWebIdentity` and the container credentials endpoint (`/v1/credentials`),
//! Azure's instance metadata token endpoint, GCP's metadata server (ID tokens), Google's
//! OAuth token endpoint (JWT-bearer grant) and IAM credentials `signJwt`.
//!
//! The logins check what they receive the way Infisical's checks would fail on it: the AWS
//! request's SigV4 signature is recomputed with the identity's keys; the OCI signature is
//! verified with the API key; Azure and GCP tokens carry the identity's subject and
//! audience (tokens issued here are not signed; assertions sent to the token endpoint are,
//! and are verified).

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::ApiError;

/// The subject of the managed-identity tokens the Azure stand-in issues.
pub(crate) const AZURE_SUBJECT: &str = "eso-managed-identity";
/// The authorization token the container credentials stand-in accepts.
pub(crate) const CONTAINER_TOKEN: &str = "eso-pod-identity-token";
/// The IAM role of the instance the EC2 metadata stand-in describes.
pub(crate) const INSTANCE_ROLE: &str = "eso-node-role";
/// The region of that instance.
pub(crate) const INSTANCE_REGION: &str = "eu-west-1";
/// The service account of the ID tokens the GCP metadata stand-in issues.
pub(crate) const GCE_EMAIL: &str = "eso-gce@eso-project.iam.gserviceaccount.com";

/// Cloud identities and the state of the stand-ins.
#[derive(Debug, Default)]
pub(crate) struct Clouds {
    /// AWS: identity ID -> (access key ID, secret access key).
    pub(crate) aws: HashMap<String, (String, String)>,
    /// Azure: identity ID -> the token subject it accepts.
    pub(crate) azure: HashMap<String, String>,
    /// GCP: identity ID -> the service account email it accepts.
    pub(crate) gcp: HashMap<String, String>,
    /// OCI: identity ID -> `tenancy/user/fingerprint` of the API key it accepts.
    pub(crate) oci: HashMap<String, String>,
    /// The public key (PKCS#1 DER) of the GCP service-account key and the OCI API key.
    pub(crate) public_key: Option<Vec<u8>>,
    /// The access key ID (of `aws`) that assuming a role with a web identity or the container
    /// credentials endpoint hands out, with a session token.
    pub(crate) aws_assumable: Option<String>,
    /// What the stand-ins last received, by service (for tests).
    pub(crate) received: HashMap<&'static str, Value>,
    /// IMDSv2 session tokens issued.
    imds_tokens: Vec<String>,
    /// Google access tokens issued -> service account email.
    google_tokens: HashMap<String, String>,
    counter: u64,
}

fn b64url(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
}

/// An unsigned token with `claims` (the signature part is a placeholder).
fn token(claims: &Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64url(&json!({"alg": "RS256", "typ": "JWT"})),
        b64url(claims)
    )
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
}

/// The claims of a JWT (not verified).
pub(crate) fn claims(jwt: &str) -> Option<Value> {
    serde_json::from_slice(&b64url_decode(jwt.split('.').nth(1)?)?).ok()
}

/// Loads the public half of a PEM private key (PKCS#8).
pub(crate) fn public_key_of(pem_file: &str) -> Result<Vec<u8>, String> {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;
    let key = PrivateKeyDer::from_pem_file(pem_file).map_err(|e| e.to_string())?;
    let pair = match &key {
        PrivateKeyDer::Pkcs8(k) => aws_lc_rs::rsa::KeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => aws_lc_rs::rsa::KeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err("not an RSA key".into()),
    }
    .map_err(|e| e.to_string())?;
    Ok(pair.public_key().as_ref().to_vec())
}

impl Clouds {
    fn verify(&self, data: &[u8], sig: &[u8]) -> bool {
        self.public_key.as_ref().is_some_and(|k| {
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, k)
                .verify(data, sig)
                .is_ok()
        })
    }

    /// A request to the plain-HTTP listener: `(status, body)`.
    pub(crate) fn serve(
        &mut self,
        method: &str,
        path: &str,
        query: &HashMap<String, String>,
        headers: &HashMap<String, String>,
        body: &Value,
    ) -> (u16, Value) {
        let header = |n: &str| headers.get(n).map(String::as_str);
        match (method, path) {
            ("GET", "/metadata/identity/oauth2/token") => {
                if header("metadata") != Some("true") {
                    return (
                        400,
                        json!({"error": "bad_request", "error_description": "Required metadata header not specified"}),
                    );
                }
                if query.get("api-version").is_none() {
                    return (
                        400,
                        json!({"error": "invalid_request", "error_description": "api-version is required"}),
                    );
                }
                let resource = query.get("resource").cloned().unwrap_or_default();
                let t = token(
                    &json!({"sub": AZURE_SUBJECT, "aud": resource, "iss": "https://sts.windows.net/eso-tenant/"}),
                );
                (
                    200,
                    json!({"access_token": t, "token_type": "Bearer", "resource": resource}),
                )
            }
            ("GET", "/computeMetadata/v1/instance/service-accounts/default/identity") => {
                if header("metadata-flavor") != Some("Google") {
                    return (403, json!("Missing Metadata-Flavor:Google header"));
                }
                let Some(aud) = query.get("audience") else {
                    return (400, json!("non-empty audience parameter required"));
                };
                let t = token(&json!({"iss": "https://accounts.google.com", "aud": aud,
                    "email": GCE_EMAIL, "sub": "112233445566778899"}));
                (200, Value::String(t))
            }
            ("POST", "/token") => self.google_token(body),
            ("POST", "/") if body["Action"] == "AssumeRoleWithWebIdentity" => {
                self.assume_role_with_web_identity(body)
            }
            ("GET", "/v1/credentials") => self.container_credentials(header("authorization")),
            ("PUT", "/latest/api/token") => {
                self.imds_token(header("x-aws-ec2-metadata-token-ttl-seconds"))
            }
            ("GET", p) if p.starts_with("/latest/") => {
                self.instance_metadata(p, header("x-aws-ec2-metadata-token"))
            }
            ("POST", p) if p.starts_with("/v1/projects/-/serviceAccounts/") => {
                let email = p
                    .trim_start_matches("/v1/projects/-/serviceAccounts/")
                    .trim_end_matches(":signJwt");
                let bearer = header("authorization").and_then(|h| h.strip_prefix("Bearer "));
                match bearer.and_then(|t| self.google_tokens.get(t)) {
                    Some(owner) if owner == email => {}
                    _ => {
                        return (
                            401,
                            json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
                        );
                    }
                }
                let payload = body["payload"]
                    .as_str()
                    .and_then(|p| serde_json::from_str(p).ok());
                match payload {
                    Some(p @ Value::Object(_)) => {
                        (200, json!({"keyId": "key-1", "signedJwt": token(&p)}))
                    }
                    _ => (
                        400,
                        json!({"error": {"code": 400, "status": "INVALID_ARGUMENT"}}),
                    ),
                }
            }
            _ => (404, json!("not found")),
        }
    }

    /// STS `AssumeRoleWithWebIdentity` (IRSA): any role with a JWT hands out the assumable
    /// keys.
    fn assume_role_with_web_identity(&mut self, body: &Value) -> (u16, Value) {
        let sub =
            claims(body["WebIdentityToken"].as_str().unwrap_or_default()).map(|c| c["sub"].clone());
        self.received.insert(
            "sts",
            json!({"roleArn": body["RoleArn"], "roleSessionName": body["RoleSessionName"],
                "subject": sub}),
        );
        let error = |code: &str| {
            json!(format!(
                "<ErrorResponse><Error><Code>{code}</Code></Error></ErrorResponse>"
            ))
        };
        if body["RoleArn"].as_str().is_none_or(str::is_empty) || sub.is_none() {
            return (400, error("InvalidIdentityToken"));
        }
        match self.assumable() {
            Some((k, s, t)) => (
                200,
                Value::String(format!(
                    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                     <AccessKeyId>{k}</AccessKeyId><SecretAccessKey>{s}</SecretAccessKey>\
                     <SessionToken>{t}</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>\
                     </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                )),
            ),
            None => (403, error("AccessDenied")),
        }
    }

    /// The container credentials endpoint (EKS Pod Identity): the assumable keys for the
    /// right authorization token.
    fn container_credentials(&mut self, authorization: Option<&str>) -> (u16, Value) {
        self.received
            .insert("container", json!({"authorization": authorization}));
        if authorization != Some(CONTAINER_TOKEN) {
            return (401, json!({"Message": "invalid authorization token"}));
        }
        match self.assumable() {
            Some((k, s, t)) => (
                200,
                json!({"AccessKeyId": k, "SecretAccessKey": s, "Token": t,
                    "Expiration": "2030-01-01T00:00:00Z"}),
            ),
            None => (404, json!({"Message": "no role"})),
        }
    }

    /// IMDSv2's `PUT /latest/api/token`: a session token for a TTL of 1 to 21600 seconds.
    fn imds_token(&mut self, ttl: Option<&str>) -> (u16, Value) {
        match ttl.and_then(|t| t.parse::<u32>().ok()) {
            Some(1..=21600) => {
                self.counter += 1;
                let t = format!("eso-imds-token-{}", self.counter);
                self.imds_tokens.push(t.clone());
                (200, Value::String(t))
            }
            _ => (400, Value::String(String::new())),
        }
    }

    /// IMDSv2 reads (tokens required, as on an instance with `HttpTokens: required`): the
    /// region, the instance's role and that role's keys.
    fn instance_metadata(&mut self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.received
            .insert("imds", json!({"path": path, "token": token.is_some()}));
        if !token.is_some_and(|t| self.imds_tokens.iter().any(|i| i == t)) {
            return (401, Value::String(String::new()));
        }
        if path == "/latest/meta-data/placement/region" {
            return (200, Value::String(INSTANCE_REGION.to_owned()));
        }
        match path.strip_prefix("/latest/meta-data/iam/security-credentials/") {
            Some("") => (200, Value::String(INSTANCE_ROLE.to_owned())),
            Some(INSTANCE_ROLE) => match self.assumable() {
                Some((k, s, t)) => (
                    200,
                    Value::String(
                        json!({"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z",
                            "Type": "AWS-HMAC", "AccessKeyId": k, "SecretAccessKey": s,
                            "Token": t, "Expiration": "2030-01-01T00:00:00Z"})
                        .to_string(),
                    ),
                ),
                None => (404, Value::String(String::new())),
            },
            _ => (404, Value::String(String::new())),
        }
    }

    /// The assumable keys with a new session token.
    fn assumable(&mut self) -> Option<(String, String, String)> {
        let key = self.aws_assumable.clone()?;
        let secret = self.aws.values().find(|(k, _)| *k == key)?.1.clone();
        self.counter += 1;
        Some((key, secret, format!("eso-sts-session-{}", self.counter)))
    }

    /// Google's token endpoint: a JWT-bearer grant whose assertion the service-account key
    /// signed.
    fn google_token(&mut self, body: &Value) -> (u16, Value) {
        let invalid = |why: &str| {
            (
                400,
                json!({"error": "invalid_grant", "error_description": why}),
            )
        };
        if body["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
            return invalid("unsupported grant_type");
        }
        let assertion = body["assertion"].as_str().unwrap_or_default();
        let Some((signed, sig)) = assertion.rsplit_once('.') else {
            return invalid("malformed assertion");
        };
        if !b64url_decode(sig).is_some_and(|s| self.verify(signed.as_bytes(), &s)) {
            return invalid("Invalid JWT Signature.");
        }
        let c = claims(assertion).unwrap_or_default();
        let Some(iss) = c["iss"].as_str() else {
            return invalid("no iss");
        };
        if c["scope"].as_str().is_none() || c["exp"].as_u64().is_none() {
            return invalid("scope and exp are required");
        }
        self.counter += 1;
        let t = format!("ya29.eso-test-{}", self.counter);
        self.google_tokens.insert(t.clone(), iss.to_owned());
        (
            200,
            json!({"access_token": t, "expires_in": 3599, "token_type": "Bearer"}),
        )
    }

    /// `POST /api/v1/auth/aws-auth/login`: the replayable `GetCallerIdentity` request.
    pub(crate) fn aws_login(&self, body: &Value) -> Result<(String, Value), ApiError> {
        let id = body["identityId"].as_str().unwrap_or_default().to_owned();
        let bad = |m: &str| ApiError::bad_request(&format!("aws auth: {m}"));
        let b64 = |k: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(body[k].as_str().unwrap_or_default())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad(&format!("{k} is not base64 text")))
        };
        let req_body = b64("iamRequestBody")?;
        let headers: BTreeMap<String, String> = serde_json::from_str(&b64("iamRequestHeaders")?)
            .map_err(|_| bad("iamRequestHeaders is not a JSON object of strings"))?;
        // Clients write the names differently (Go: `X-Amz-Date`; others lower case).
        let lower: BTreeMap<String, &str> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
            .collect();
        let h = |k: &str| {
            lower
                .get(&k.to_ascii_lowercase())
                .copied()
                .unwrap_or_default()
        };
        if body["iamHttpRequestMethod"] != "POST" {
            return Err(bad("iamHttpRequestMethod must be POST"));
        }
        if req_body != "Action=GetCallerIdentity&Version=2011-06-15" {
            return Err(bad("the request is not GetCallerIdentity"));
        }
        let auth = h("Authorization");
        let date = h("X-Amz-Date");
        // AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/sts/aws4_request, SignedHeaders=..., Signature=hex
        let cred = auth
            .strip_prefix("AWS4-HMAC-SHA256 Credential=")
            .and_then(|r| r.split(',').next())
            .ok_or_else(|| bad("Authorization is not a SigV4 header"))?;
        let parts: Vec<&str> = cred.split('/').collect();
        let [key_id, day, region, "sts", "aws4_request"] = parts.as_slice() else {
            return Err(bad(
                "the SigV4 credential scope is not .../sts/aws4_request",
            ));
        };
        if date.len() != 16 || !date.starts_with(day) {
            return Err(bad("X-Amz-Date does not match the credential scope"));
        }
        // The region Infisical reads from the credential scope: what it checks first.
        let region_ok = !region.is_empty()
            && region.len() <= 20
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(ApiError::bad_request("Invalid AWS region"));
        }
        // Infisical replays the request to `https://sts.<region>.amazonaws.com`, so a
        // request without a Host header gets that one (Infisical's older Rust-core SDK
        // sends none); one naming another host is refused.
        let host = format!("sts.{region}.amazonaws.com");
        let mut lower = lower;
        match lower.get("host") {
            None => {
                lower.insert("host".to_owned(), &host);
            }
            Some(given) if *given != host => {
                return Err(bad("Host is not the region's STS endpoint"));
            }
            Some(_) => {}
        }
        let Some((want_key, secret)) = self.aws.get(&id) else {
            return Err(ApiError::not_found(&format!(
                "AWS auth method not found for identity with ID {id}"
            )));
        };
        if key_id != want_key {
            return Err(ApiError::unauthorized(
                "Access denied: AWS principal not allowed",
            ));
        }
        let at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", date)
            .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
            .map(|z| z.timestamp())
            .map_err(|_| bad("X-Amz-Date is not YYYYMMDDTHHMMSSZ"))?;
        let token = lower.get("x-amz-security-token").map(|t| (*t).to_owned());
        let length = req_body.len().to_string();
        let signed = signed_headers(auth, &lower, &length).map_err(|m| bad(&m))?;
        let expected = resign(
            key_id,
            secret,
            token,
            region,
            SystemTime::from(at),
            &signed,
            &req_body,
        )
        .map_err(|e| bad(&e))?;
        if expected != auth {
            return Err(ApiError::unauthorized(
                "Access denied: the SigV4 signature does not match",
            ));
        }
        let signed = auth
            .split("SignedHeaders=")
            .nth(1)
            .and_then(|r| r.split(',').next());
        Ok((
            id.clone(),
            json!({"identityId": id, "accessKeyId": key_id, "region": region,
                "signedHeaders": signed, "headerNames": headers.keys().collect::<Vec<_>>(),
                "sessionToken": lower.contains_key("x-amz-security-token")}),
        ))
    }

    /// `POST /api/v1/auth/azure-auth/login`: a managed-identity token for the identity.
    pub(crate) fn azure_login(&self, body: &Value) -> Result<(String, Value), ApiError> {
        let id = body["identityId"].as_str().unwrap_or_default().to_owned();
        let c = claims(body["jwt"].as_str().unwrap_or_default()).unwrap_or_default();
        let got = json!({"identityId": id, "subject": c["sub"], "audience": c["aud"]});
        match self.azure.get(&id) {
            None => Err(ApiError::not_found(&format!(
                "Azure auth method not found for identity with ID {id}"
            ))),
            Some(s) if c["sub"] == s.as_str() => Ok((id, got)),
            _ => Err(ApiError::unauthorized(
                "Access denied: Azure subject not allowed",
            )),
        }
    }

    /// `POST /api/v1/auth/gcp-auth/login`: an ID token (`email`) or a `signJwt` token
    /// (`sub`) of the identity's service account, with the identity as audience.
    pub(crate) fn gcp_login(&self, body: &Value) -> Result<(String, Value), ApiError> {
        let id = body["identityId"].as_str().unwrap_or_default().to_owned();
        let c = claims(body["jwt"].as_str().unwrap_or_default()).unwrap_or_default();
        let email = c["email"]
            .as_str()
            .or_else(|| c["sub"].as_str())
            .unwrap_or_default();
        let kind = if c["iss"] == "https://accounts.google.com" {
            "id-token"
        } else {
            "iam"
        };
        let got = json!({"identityId": id, "email": email, "audience": c["aud"], "kind": kind});
        match self.gcp.get(&id) {
            None => Err(ApiError::not_found(&format!(
                "GCP auth method not found for identity with ID {id}"
            ))),
            Some(e) if e == email && c["aud"] == id.as_str() => Ok((id, got)),
            _ => Err(ApiError::unauthorized(
                "Access denied: GCP service account or audience not allowed",
            )),
        }
    }

    /// `POST /api/v1/auth/oci-auth/login`: the signed headers of `GET /20160918/users/{user}`.
    pub(crate) fn oci_login(&self, body: &Value) -> Result<(String, Value), ApiError> {
        let id = body["identityId"].as_str().unwrap_or_default().to_owned();
        let user = body["userOcid"].as_str().unwrap_or_default();
        let h = |k: &str| body["headers"][k].as_str().unwrap_or_default();
        let bad = |m: &str| ApiError::bad_request(&format!("oci auth: {m}"));
        let auth = h("authorization");
        let field = |name: &str| {
            auth.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_default()
        };
        if !auth.starts_with("Signature ")
            || field("version") != "1"
            || field("algorithm") != "rsa-sha256"
        {
            return Err(bad("authorization is not an OCI signature"));
        }
        if field("headers") != "date (request-target) host" {
            return Err(bad(
                "the signature must cover date, (request-target) and host",
            ));
        }
        let key_id = field("keyId");
        let Some(want) = self.oci.get(&id) else {
            return Err(ApiError::not_found(&format!(
                "OCI auth method not found for identity with ID {id}"
            )));
        };
        if key_id != want || key_id.split('/').nth(1) != Some(user) {
            return Err(ApiError::unauthorized(
                "Access denied: OCI user or key not allowed",
            ));
        }
        let signing = format!(
            "date: {}\n(request-target): get /20160918/users/{user}\nhost: {}",
            h("date"),
            h("host")
        );
        let sig = base64::engine::general_purpose::STANDARD
            .decode(field("signature"))
            .map_err(|_| bad("signature is not base64"))?;
        if !oci_host(h("host")) {
            return Err(bad(
                "Invalid OCI host format. Expected format: identity.<region>.oraclecloud.com",
            ));
        }
        if !self.verify(signing.as_bytes(), &sig) {
            return Err(ApiError::unauthorized(
                "Access denied: the OCI signature does not verify",
            ));
        }
        Ok((
            id.clone(),
            json!({"identityId": id, "userOcid": user, "keyId": key_id, "host": h("host"),
                "headerNames": body["headers"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>())}),
        ))
    }
}

/// The headers the client signed (its `SignedHeaders`), besides those the signer adds itself
/// (`x-amz-date`, `x-amz-security-token`). Content-Length may be left out of the map
/// (Infisical's Python SDK does): the replayed request carries the body's `length`, as
/// Infisical's own replay does.
fn signed_headers<'a>(
    auth: &'a str,
    lower: &'a BTreeMap<String, &'a str>,
    length: &'a str,
) -> Result<Vec<(&'a str, &'a str)>, String> {
    let names = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_default();
    let mut signed = Vec::new();
    for name in names.split(';') {
        if name == "x-amz-date" || name == "x-amz-security-token" {
            continue;
        }
        let v = match lower.get(name) {
            Some(v) => *v,
            None if name == "content-length" => length,
            None => return Err(format!("signed header {name} missing")),
        };
        signed.push((name, v));
    }
    Ok(signed)
}

/// Whether `host` is `identity.<region>.oraclecloud.com` with a region like
/// `eu-frankfurt-1` (what Infisical accepts before replaying the request).
fn oci_host(host: &str) -> bool {
    let Some(region) = host
        .strip_prefix("identity.")
        .and_then(|r| r.strip_suffix(".oraclecloud.com"))
    else {
        return false;
    };
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    matches!(parts.as_slice(), [a, b, n] if a.len() == 2 && lower(a) && lower(b)
        && n.len() == 1 && (b'1'..=b'9').contains(&n.as_bytes()[0]))
}

/// The `Authorization` header of the SigV4 signature of the replayable request, with the
/// headers `signed` (and `x-amz-date` and the session token, which the signer adds).
fn resign(
    key_id: &str,
    secret: &str,
    session_token: Option<String>,
    region: &str,
    at: SystemTime,
    signed: &[(&str, &str)],
    body: &str,
) -> Result<String, String> {
    let host = signed
        .iter()
        .find(|(k, _)| *k == "host")
        .map(|(_, v)| *v)
        .ok_or("host is not signed")?;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity =
        aws_credential_types::Credentials::new(key_id, secret, session_token, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let req = SignableRequest::new(
        "POST",
        format!("https://{host}/"),
        signed.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(req, &params).map_err(|e| e.to_string())?.into_parts();
    instructions
        .headers()
        .find(|(k, _)| *k == "authorization")
        .map(|(_, v)| v.to_owned())
        .ok_or_else(|| "no authorization header".to_owned())
}
