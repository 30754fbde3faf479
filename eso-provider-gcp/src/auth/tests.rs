//! The auth paths that need Google's token services, against a token endpoint started by the
//! test on loopback: the requests it receives are checked (grant type, audience, subject
//! token, assertion claims and signature), and the tokens it returns must come out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use eso_core::api::{GCRAccessTokenSpec, GcpSmAuth, GeneratorSpec};
use eso_core::cluster::{
    Cluster, DynCluster, KubeConfigMap, KubeNamespace, KubeSecret, LabelQuery, MemoryCluster,
};
use eso_core::generator::{Generator, GeneratorContext};
use eso_core::provider::{Credentials, StoreScope};
use eso_core::{Result, SecretValue};
use google_cloud_auth::credentials::CacheableResource;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::auth::{Resolved, Services, resolve_with};
use crate::generator::access_token;

/// One request the token endpoint received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    head: String,
    form: BTreeMap<String, String>,
}

/// A loopback HTTP endpoint answering every POST with `reply`, recording the requests.
struct TokenServer {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

fn form_decode(body: &str) -> BTreeMap<String, String> {
    let dec = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (dec(k), dec(v)))
        .collect()
}

/// What the server answers for a path: status and body.
type Reply = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

impl TokenServer {
    /// Answers every request with `reply` (JSON).
    async fn start(reply: Value) -> Self {
        let body = reply.to_string();
        Self::start_with(Arc::new(move |_| (200, body.clone()))).await
    }

    async fn start_with(reply: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, len) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break (0, 0);
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (p + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let (status, out) = reply(&path);
                log.lock().unwrap().push(Received {
                    path,
                    head,
                    form: form_decode(&body),
                });
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{out}",
                    out.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        Self { url, seen }
    }

    fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }
}

/// A MemoryCluster that also answers TokenRequests with `sa-token:NS/NAME:AUDIENCES`.
#[derive(Debug)]
struct TokenCluster(MemoryCluster);

#[async_trait]
impl Cluster for TokenCluster {
    async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<KubeSecret>> {
        self.0.get_secret(namespace, name).await
    }
    async fn list_secrets(&self, namespace: &str, labels: &LabelQuery) -> Result<Vec<KubeSecret>> {
        self.0.list_secrets(namespace, labels).await
    }
    async fn create_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        self.0.create_secret(secret).await
    }
    async fn update_secret(&self, secret: KubeSecret) -> Result<KubeSecret> {
        self.0.update_secret(secret).await
    }
    async fn delete_secret(&self, namespace: &str, name: &str) -> Result<()> {
        self.0.delete_secret(namespace, name).await
    }
    async fn get_config_map(&self, namespace: &str, name: &str) -> Result<Option<KubeConfigMap>> {
        self.0.get_config_map(namespace, name).await
    }
    async fn list_namespaces(&self, labels: &LabelQuery) -> Result<Vec<KubeNamespace>> {
        self.0.list_namespaces(labels).await
    }
    async fn create_service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        _expiration_seconds: i64,
    ) -> Result<SecretValue> {
        Ok(SecretValue::from(format!(
            "sa-token:{namespace}/{name}:{}",
            audiences.join(",")
        )))
    }
}

fn creds(cluster: MemoryCluster) -> Credentials {
    let c: DynCluster = Arc::new(TokenCluster(cluster));
    Credentials::new(c, "apps", StoreScope::Namespaced)
}

fn auth(v: Value) -> GcpSmAuth {
    serde_json::from_value(v).unwrap()
}

async fn bearer(r: Resolved) -> String {
    let Resolved::Other(c) = r else {
        panic!("expected SDK credentials")
    };
    let CacheableResource::New { data, .. } = c.headers(Default::default()).await.unwrap() else {
        panic!("no headers")
    };
    data["authorization"].to_str().unwrap().to_owned()
}

fn services(sts_url: &str, metadata_host: &str) -> Services {
    Services {
        sts_url: sts_url.to_owned(),
        metadata_host: metadata_host.to_owned(),
    }
}

const STS_REPLY: &str = r#"{"access_token":"federated-token","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":3600}"#;

#[tokio::test]
async fn workload_identity_exchanges_a_service_account_token_at_sts() {
    let sts = TokenServer::start(serde_json::from_str(STS_REPLY).unwrap()).await;
    let a = auth(
        json!({"workloadIdentity": {"serviceAccountRef": {"name": "eso"},
        "clusterLocation": "europe-west1", "clusterName": "c1", "clusterProjectID": "proj"}}),
    );
    let r = resolve_with(
        Some(&a),
        "spec.provider.gcpsm.auth",
        &creds(MemoryCluster::new()),
        &services(&format!("{}/v1/token", sts.url), "127.0.0.1:9"),
    )
    .await
    .unwrap();
    assert_eq!(bearer(r).await, "Bearer federated-token");
    let got = sts.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path, "/v1/token");
    let f = &got[0].form;
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(
        f["audience"],
        "identitynamespace:proj.svc.id.goog:https://container.googleapis.com/v1/projects/proj/locations/europe-west1/clusters/c1"
    );
    assert_eq!(f["subject_token"], "sa-token:apps/eso:proj.svc.id.goog");
    assert_eq!(
        f["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert_eq!(f["scope"], "https://www.googleapis.com/auth/cloud-platform");

    // Values missing from the spec come from the metadata server; none reachable: an error
    // naming the field, temporary (the next reconcile retries).
    let missing = auth(json!({"workloadIdentity": {"serviceAccountRef": {"name": "eso"}}}));
    let e = resolve_with(
        Some(&missing),
        "spec.provider.gcpsm.auth",
        &creds(MemoryCluster::new()),
        &services(&sts.url, "127.0.0.1:9"),
    )
    .await
    .unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(
        e.to_string()
            .contains("spec.provider.gcpsm.auth.workloadIdentity.clusterProjectID: not set, and the metadata server gave none"),
        "{e}"
    );
}

#[tokio::test]
async fn workload_identity_reads_missing_cluster_values_from_the_metadata_server() {
    let sts = TokenServer::start(serde_json::from_str(STS_REPLY).unwrap()).await;
    let md = TokenServer::start_with(Arc::new(|path: &str| match path {
        "/computeMetadata/v1/project/project-id" => (200, "md-proj\n".to_owned()),
        "/computeMetadata/v1/instance/attributes/cluster-location" => {
            (200, "us-central1".to_owned())
        }
        "/computeMetadata/v1/instance/attributes/cluster-name" => (200, "md-cluster".to_owned()),
        _ => (404, String::new()),
    }))
    .await;
    let a = auth(
        json!({"workloadIdentity": {"serviceAccountRef": {"name": "eso"}, "clusterName": "c9"}}),
    );
    let host = md.url.trim_start_matches("http://").to_owned();
    let r = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(MemoryCluster::new()),
        &services(&sts.url, &host),
    )
    .await
    .unwrap();
    assert_eq!(bearer(r).await, "Bearer federated-token");
    let asked: Vec<String> = md.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        asked,
        [
            "/computeMetadata/v1/project/project-id",
            "/computeMetadata/v1/instance/attributes/cluster-location"
        ]
    );
    assert!(
        md.requests()
            .iter()
            .all(|r| r.head.to_lowercase().contains("metadata-flavor: google"))
    );
    assert_eq!(
        sts.requests()[0].form["audience"],
        "identitynamespace:md-proj.svc.id.goog:https://container.googleapis.com/v1/projects/md-proj/locations/us-central1/clusters/c9"
    );
}

#[tokio::test]
async fn federation_uses_the_cred_config_and_the_service_account_token() {
    let sts = TokenServer::start(serde_json::from_str(STS_REPLY).unwrap()).await;
    let config = json!({"type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/k8s",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/sts", sts.url),
        "credential_source": {"file": "/var/run/unused"}});
    let cluster = MemoryCluster::new().with_config_map(
        KubeConfigMap::new("apps", "wif").with_data("config.json", config.to_string()),
    );
    let a = auth(json!({"workloadIdentityFederation": {
        "credConfig": {"name": "wif", "key": "config.json"}, "serviceAccountRef": {"name": "eso"}}}));
    let r = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(cluster),
        &services("http://127.0.0.1:9/unused", "127.0.0.1:9"),
    )
    .await
    .unwrap();
    assert_eq!(bearer(r).await, "Bearer federated-token");
    let got = sts.requests();
    assert_eq!(got[0].path, "/sts");
    let f = &got[0].form;
    assert_eq!(f["audience"], config["audience"]);
    assert_eq!(
        f["subject_token"],
        format!("sa-token:apps/eso:{}", config["audience"].as_str().unwrap())
    );
    assert_eq!(
        f["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );

    // A URL-sourced configuration must name the store's externalTokenEndpoint.
    let url_config = json!({"type": "external_account", "audience": "a",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt", "token_url": "http://x/sts",
        "credential_source": {"url": "http://attacker.example/token"}});
    let cluster = MemoryCluster::new()
        .with_config_map(KubeConfigMap::new("apps", "wif").with_data("c", url_config.to_string()));
    let a = auth(
        json!({"workloadIdentityFederation": {"credConfig": {"name": "wif", "key": "c"},
        "externalTokenEndpoint": "http://idp.example/token"}}),
    );
    let e = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(cluster),
        &services(&sts.url, "127.0.0.1:9"),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("spec.auth.workloadIdentityFederation.externalTokenEndpoint"),
        "{e}"
    );

    let bad = MemoryCluster::new()
        .with_config_map(KubeConfigMap::new("apps", "wif").with_data("c", "not json"));
    let a =
        auth(json!({"workloadIdentityFederation": {"credConfig": {"name": "wif", "key": "c"}}}));
    let e = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(bad),
        &services(&sts.url, "127.0.0.1:9"),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("spec.auth.workloadIdentityFederation.credConfig:"),
        "{e}"
    );
}

fn test_key() -> (String, Vec<u8>) {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, kp.public_key().as_ref().to_vec())
}

#[tokio::test]
async fn gcr_token_from_a_key_is_a_jwt_bearer_grant_at_its_token_uri() {
    let server = TokenServer::start(
        json!({"access_token": "ya29.registry", "expires_in": 1800, "token_type": "Bearer"}),
    )
    .await;
    let (pem, public) = test_key();
    let token_uri = format!("{}/token", server.url);
    let key = json!({"type": "service_account", "client_email": "gsa@p.iam.gserviceaccount.com",
        "private_key_id": "kid-7", "private_key": pem, "token_uri": token_uri, "project_id": "p"});
    let cluster = MemoryCluster::new();
    cluster
        .create_secret(KubeSecret::new("apps", "sa").with_data("key.json", key.to_string()))
        .await
        .unwrap();
    let cluster: DynCluster = Arc::new(cluster);
    let spec = GeneratorSpec {
        gcr_access_token_spec: Some(GCRAccessTokenSpec {
            auth: auth(
                json!({"secretRef": {"secretAccessKeySecretRef": {"name": "sa", "key": "key.json"}}}),
            ),
            project_id: "p".into(),
        }),
        ..Default::default()
    };
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = crate::GcrAccessToken
        .generate(&GeneratorContext::new(&spec, "apps", &cluster))
        .await
        .unwrap();
    assert_eq!(out.data["username"].expose(), b"oauth2accesstoken");
    assert_eq!(out.data["password"].expose(), b"ya29.registry");
    let expiry: u64 = out.data["expiry"].expose_str().unwrap().parse().unwrap();
    assert!(
        (before + 1800..=before + 1805).contains(&expiry),
        "{expiry}"
    );

    let got = server.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/token");
    assert_eq!(
        got[0].form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let assertion = &got[0].form["assertion"];
    let parts: Vec<&str> = assertion.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": "kid-7"})
    );
    assert_eq!(claims["aud"], token_uri.as_str());
    assert_eq!(claims["iss"], "gsa@p.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        &public,
    )
    .verify(
        signed.as_bytes(),
        &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
    )
    .expect("the assertion is signed with the key");
}

#[tokio::test]
async fn gcr_token_through_federation() {
    let sts = TokenServer::start(serde_json::from_str(STS_REPLY).unwrap()).await;
    let a = auth(
        json!({"workloadIdentityFederation": {"serviceAccountRef": {"name": "eso"},
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"}}),
    );
    let r = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(MemoryCluster::new()),
        &services(&sts.url, "127.0.0.1:9"),
    )
    .await
    .unwrap();
    let (token, _) = access_token(r).await.unwrap();
    assert_eq!(token, "federated-token");
    assert_eq!(
        sts.requests()[0].form["subject_token"],
        "sa-token:apps/eso://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k"
    );
}

fn form_decode_one(s: &str) -> String {
    form_decode(&format!("v={s}"))["v"].clone()
}

#[tokio::test]
async fn federation_with_aws_credentials_sends_a_signed_get_caller_identity() {
    let sts = TokenServer::start(serde_json::from_str(STS_REPLY).unwrap()).await;
    let cluster = MemoryCluster::new();
    cluster
        .create_secret(
            KubeSecret::new("apps", "aws")
                .with_data("aws_access_key_id", "AKIDEXAMPLE")
                .with_data(
                    "aws_secret_access_key",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                )
                .with_data("aws_session_token", "session-token"),
        )
        .await
        .unwrap();
    let audience =
        "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/aws";
    let a = auth(json!({"workloadIdentityFederation": {"audience": audience,
        "awsSecurityCredentials": {"region": "eu-west-1", "awsCredentialsSecretRef": {"name": "aws"}}}}));
    let r = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(cluster),
        &services(&sts.url, "127.0.0.1:9"),
    )
    .await
    .unwrap();
    assert_eq!(bearer(r).await, "Bearer federated-token");
    let f = &sts.requests()[0].form;
    assert_eq!(f["audience"], audience);
    assert_eq!(
        f["subject_token_type"],
        "urn:ietf:params:aws:token-type:aws4_request"
    );
    // The subject token is the form-encoded JSON of the signed request.
    let req: Value = serde_json::from_str(&form_decode_one(&f["subject_token"])).unwrap();
    assert_eq!(
        req["url"],
        "https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15"
    );
    assert_eq!(req["method"], "POST");
    let headers: BTreeMap<String, String> = req["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["key"].as_str().unwrap().to_owned(),
                h["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let keys: Vec<&str> = req["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "Authorization",
            "host",
            "x-amz-date",
            "x-amz-security-token",
            "x-goog-cloud-target-resource"
        ]
    );
    assert_eq!(headers["host"], "sts.eu-west-1.amazonaws.com");
    assert_eq!(headers["x-amz-security-token"], "session-token");
    assert_eq!(headers["x-goog-cloud-target-resource"], audience);
    let date = &headers["x-amz-date"];
    let auth_header = &headers["Authorization"];
    assert!(auth_header.starts_with(&format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/eu-west-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource, Signature=",
        &date[..8]
    )), "{auth_header}");
    // The signature is the one the same keys give the same request at that time (the
    // signing itself is aws-sigv4's, checked against AWS's test suite in aws.rs).
    let at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", date)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    let again = super::aws::AwsSigner {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: Some("session-token".into()),
        region: "eu-west-1".into(),
        audience: audience.into(),
    }
    .signed_headers(std::time::SystemTime::from(at))
    .unwrap();
    let sig = again
        .iter()
        .find(|(k, _)| k == "Authorization")
        .map(|(_, v)| v.rsplit("Signature=").next().unwrap().to_owned())
        .unwrap();
    assert!(auth_header.ends_with(&sig), "{auth_header}");

    let a = auth(json!({"workloadIdentityFederation": {"audience": audience,
        "awsSecurityCredentials": {"region": "eu-west-1", "awsCredentialsSecretRef": {"name": "nope"}}}}));
    let e = resolve_with(
        Some(&a),
        "spec.auth",
        &creds(MemoryCluster::new()),
        &services(&sts.url, "127.0.0.1:9"),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "spec.auth.workloadIdentityFederation.awsSecurityCredentials.awsCredentialsSecretRef: Secret apps/nope not found"
    );
}

// Unit checks of the auth helpers.

#[test]
fn keys_are_checked_without_quoting_them() {
    let f = "spec.provider.gcpsm.auth.secretRef.secretAccessKeySecretRef";
    let e = service_account_key(b"-----BEGIN PRIVATE KEY----- hunter2", f).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{f}: is not a service-account JSON key (the value is not JSON)")
    );
    assert!(!e.to_string().contains("hunter2"));
    let e = service_account_key(br#"{"client_email":"a@b"}"#, f).unwrap_err();
    assert!(e.to_string().contains("no \"private_key\""), "{e}");
    let e = service_account_key(
        br#"{"type":"authorized_user","client_email":"a","private_key":"k"}"#,
        f,
    )
    .unwrap_err();
    assert!(e.to_string().contains("authorized_user"), "{e}");
}

#[test]
fn impersonation_urls() {
    assert_eq!(
        impersonated_email("https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/gsa@p.iam.gserviceaccount.com:generateAccessToken").as_deref(),
        Some("gsa@p.iam.gserviceaccount.com")
    );
}
