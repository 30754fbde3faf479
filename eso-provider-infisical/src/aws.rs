//! AWS IAM auth: the controller's AWS credentials (environment keys, a web identity token
//! as IRSA mounts it, the container credentials endpoint as EKS Pod Identity and ECS
//! provide it, or the node's role from EC2's instance metadata service) and the
//! SigV4-signed `sts:GetCallerIdentity` request Infisical replays.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use eso_core::{Result, SecretValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cloud::{Cloud, Environment, failed, fetch, fetch_within};

const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
const M: &str = "aws auth";
/// Where ECS and EKS Pod Identity serve container credentials for a relative URI.
const CONTAINER_HOST: &str = "http://169.254.170.2";
/// EC2's instance metadata service, unless `AWS_EC2_METADATA_SERVICE_ENDPOINT` says otherwise.
const IMDS_HOST: &str = "http://169.254.169.254";
/// How long one call to the instance metadata service may take. Short, as in AWS's SDKs:
/// off EC2 nothing answers at that address.
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);

/// AWS keys.
struct Keys {
    key_id: String,
    secret: SecretValue,
    session_token: Option<String>,
}

/// `awsAuthCredentials`: a SigV4-signed `sts:GetCallerIdentity` request (signed with the
/// controller's AWS credentials, not sent by us), handed to Infisical, which sends it to AWS
/// to learn who we are.
pub(crate) async fn aws_login(cloud: &Cloud, identity_id: &str) -> Result<Value> {
    let env = &cloud.env;
    let region = match env
        .var("AWS_REGION")
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
    {
        Some(r) => r,
        None => imds_region(cloud).await?,
    };
    let k = credentials(cloud, &region).await?;
    let signed = sign_get_caller_identity(
        &k.key_id,
        k.secret.expose_str().unwrap_or_default(),
        k.session_token,
        &region,
        SystemTime::now(),
    )
    .map_err(|why| failed(M, why))?;
    let headers = serde_json::to_string(&signed).map_err(|e| failed(M, e))?;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    Ok(json!({
        "identityId": identity_id,
        "iamHttpRequestMethod": "POST",
        "iamRequestBody": b64(STS_BODY),
        "iamRequestHeaders": b64(&headers),
    }))
}

/// The controller's credentials, from the first source that is configured (the order of
/// AWS's default chain): keys in the environment, a web identity token file with a role,
/// the container credentials endpoint, the instance metadata service (unless
/// `AWS_EC2_METADATA_DISABLED=true`).
async fn credentials(cloud: &Cloud, region: &str) -> Result<Keys> {
    let env = &cloud.env;
    if let (Some(key_id), Some(secret)) = (
        env.var("AWS_ACCESS_KEY_ID"),
        env.var("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok(Keys {
            key_id,
            secret: SecretValue::from(secret),
            session_token: env.var("AWS_SESSION_TOKEN"),
        });
    }
    if let (Some(file), Some(role)) = (
        env.var("AWS_WEB_IDENTITY_TOKEN_FILE"),
        env.var("AWS_ROLE_ARN"),
    ) {
        return web_identity(cloud, region, &file, &role).await;
    }
    let full = env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI").or_else(|| {
        env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .map(|r| format!("{CONTAINER_HOST}{r}"))
    });
    if let Some(url) = full {
        return container(cloud, &url).await;
    }
    const NONE: &str = "no AWS credentials in the controller's environment: set \
        AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE and \
        AWS_ROLE_ARN (IRSA), or AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity)";
    if imds_disabled(env) {
        return Err(failed(M, NONE));
    }
    instance_role(cloud)
        .await
        .map_err(|e| failed(M, format_args!("{NONE}; and the node's role: {e}")))
}

fn imds_disabled(env: &Environment) -> bool {
    env.var("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A session with EC2's instance metadata service (IMDSv2: a token first, then reads with
/// it), at `AWS_EC2_METADATA_SERVICE_ENDPOINT` or the usual address.
struct Imds<'a> {
    cloud: &'a Cloud,
    base: String,
    token: String,
}

impl<'a> Imds<'a> {
    async fn open(cloud: &'a Cloud) -> std::result::Result<Self, String> {
        let base = cloud
            .env
            .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|| IMDS_HOST.to_owned());
        let base = base.trim_end_matches('/').to_owned();
        let req = cloud
            .client
            .put(format!("{base}/latest/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "21600");
        let token = Self::text(req).await?;
        Ok(Self { cloud, base, token })
    }

    async fn get(&self, path: &str) -> std::result::Result<String, String> {
        let req = self
            .cloud
            .client
            .get(format!("{}/latest/{path}", self.base))
            .header("X-aws-ec2-metadata-token", &self.token);
        Self::text(req).await
    }

    async fn text(req: reqwest::RequestBuilder) -> std::result::Result<String, String> {
        let what = "the instance metadata service";
        let body = fetch_within(what, req, IMDS_TIMEOUT).await?;
        String::from_utf8(body)
            .map(|b| b.trim().to_owned())
            .map_err(|_| format!("{what} answered with something other than text"))
    }
}

/// The region the node runs in, when the environment names none.
async fn imds_region(cloud: &Cloud) -> Result<String> {
    const NONE: &str = "no AWS region in the controller's environment (AWS_REGION)";
    if imds_disabled(&cloud.env) {
        return Err(failed(M, NONE));
    }
    let imds = Imds::open(cloud)
        .await
        .map_err(|e| failed(M, format_args!("{NONE}, and the node's: {e}")))?;
    imds.get("meta-data/placement/region")
        .await
        .map_err(|e| failed(M, format_args!("{NONE}, and the node's: {e}")))
}

/// The credentials of the node's role (an EC2 instance profile).
async fn instance_role(cloud: &Cloud) -> std::result::Result<Keys, String> {
    let imds = Imds::open(cloud).await?;
    let roles = imds.get("meta-data/iam/security-credentials/").await?;
    let role = roles
        .lines()
        .next()
        .filter(|r| !r.is_empty())
        .ok_or("the instance has no IAM role")?;
    let body = imds
        .get(&format!("meta-data/iam/security-credentials/{role}"))
        .await?;
    let a: RoleKeys = serde_json::from_str(&body)
        .map_err(|_| "the instance metadata service sent no credentials".to_owned())?;
    Ok(a.into())
}

/// Temporary keys as the container credentials endpoint and the instance metadata service
/// send them.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleKeys {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default)]
    token: Option<String>,
}

impl From<RoleKeys> for Keys {
    fn from(a: RoleKeys) -> Self {
        Self {
            key_id: a.access_key_id,
            secret: SecretValue::from(a.secret_access_key),
            session_token: a.token,
        }
    }
}

/// `AssumeRoleWithWebIdentity` with the token file (IRSA); the STS endpoint is the
/// region's, or `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL` as in AWS's SDKs.
async fn web_identity(cloud: &Cloud, region: &str, file: &str, role: &str) -> Result<Keys> {
    let token = tokio::fs::read_to_string(file).await.map_err(|e| {
        failed(
            M,
            format_args!("cannot read the web identity token file {file}: {e}"),
        )
    })?;
    let env = &cloud.env;
    let url = env
        .var("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com/"));
    let session = env
        .var("AWS_ROLE_SESSION_NAME")
        .unwrap_or_else(|| "eso-rs-infisical".to_owned());
    let req = cloud.client.post(url).form(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role),
        ("RoleSessionName", session.as_str()),
        ("WebIdentityToken", token.trim()),
    ]);
    let body = fetch(M, "STS (AssumeRoleWithWebIdentity)", req).await?;
    let xml = String::from_utf8_lossy(&body);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open)? + open.len();
        let end = start + xml[start..].find(&format!("</{name}>"))?;
        Some(xml[start..end].trim().to_owned())
    };
    match (
        tag("AccessKeyId"),
        tag("SecretAccessKey"),
        tag("SessionToken"),
    ) {
        (Some(key_id), Some(secret), Some(token)) => Ok(Keys {
            key_id,
            secret: SecretValue::from(secret),
            session_token: Some(token),
        }),
        _ => Err(failed(
            M,
            "STS answered AssumeRoleWithWebIdentity without credentials",
        )),
    }
}

/// The container credentials endpoint (EKS Pod Identity, ECS), with the authorization token
/// from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
async fn container(cloud: &Cloud, url: &str) -> Result<Keys> {
    let env = &cloud.env;
    let token = match env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(f) => Some(tokio::fs::read_to_string(&f).await.map_err(|e| {
            failed(
                M,
                format_args!("cannot read the container authorization token file {f}: {e}"),
            )
        })?),
        None => env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    let mut req = cloud.client.get(url);
    if let Some(t) = token {
        req = req.header("Authorization", t.trim());
    }
    let body = fetch(M, "the container credentials endpoint", req).await?;
    let a: RoleKeys = serde_json::from_slice(&body)
        .map_err(|_| failed(M, "the container credentials endpoint sent no credentials"))?;
    Ok(a.into())
}

/// The headers of a signed `POST https://sts.{region}.amazonaws.com/` carrying
/// `GetCallerIdentity`, named as Go's HTTP library writes them (what Infisical replays).
pub(crate) fn sign_get_caller_identity(
    key_id: &str,
    secret: &str,
    session_token: Option<String>,
    region: &str,
    at: SystemTime,
) -> std::result::Result<BTreeMap<&'static str, String>, String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let host = format!("sts.{region}.amazonaws.com");
    let identity = aws_credential_types::Credentials::new(
        key_id,
        secret,
        session_token,
        None,
        "eso-rs-environment",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        "POST",
        format!("https://{host}/"),
        [("host", host.as_str())].into_iter(),
        SignableBody::Bytes(STS_BODY.as_bytes()),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    let mut headers = BTreeMap::new();
    for (name, value) in instructions.headers() {
        let name = match name {
            "authorization" => "Authorization",
            "x-amz-date" => "X-Amz-Date",
            "x-amz-security-token" => "X-Amz-Security-Token",
            other => return Err(format!("unexpected signed header {other}")),
        };
        headers.insert(name, value.to_owned());
    }
    headers.insert("Host", host);
    headers.insert(
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
    );
    headers.insert("Content-Length", STS_BODY.len().to_string());
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn the_signed_request_has_go_style_header_names() {
        let at = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let h = sign_get_caller_identity(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session".into()),
            "eu-west-1",
            at,
        )
        .unwrap();
        assert_eq!(
            h.keys().copied().collect::<Vec<_>>(),
            [
                "Authorization",
                "Content-Length",
                "Content-Type",
                "Host",
                "X-Amz-Date",
                "X-Amz-Security-Token"
            ]
        );
        assert_eq!(h["Host"], "sts.eu-west-1.amazonaws.com");
        assert_eq!(h["X-Amz-Date"], "20150830T123600Z");
        assert_eq!(h["Content-Length"], STS_BODY.len().to_string());
        assert!(
            h["Authorization"].starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/sts/aws4_request, \
                 SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{}",
            h["Authorization"]
        );
    }
}
