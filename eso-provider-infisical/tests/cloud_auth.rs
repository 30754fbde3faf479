//! The cloud-identity auth methods against the Infisical test server and its cloud
//! stand-ins (`INFISICAL_CLOUD_URL`), checking what each login endpoint received; refused
//! proofs; no secret in errors.

mod common;

use std::sync::Arc;

use common::{CloudEnv, Env};
use eso_core::Error;
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{Provider, Validation};
use eso_provider_infisical::{CloudEndpoints, Infisical, InfisicalFactory};
use serde_json::{Value, json};

fn factory(c: &CloudEnv) -> InfisicalFactory {
    let mut e = CloudEndpoints::default();
    e.azure_imds = format!("{}/metadata/identity/oauth2/token", c.url);
    e.gcp_metadata = c.url.clone();
    e.gcp_iam_credentials = c.url.clone();
    InfisicalFactory::new()
        .with_cloud_endpoints(e)
        .with_environment([("AWS_REGION", "eu-west-1")])
}

fn sel(key: &str) -> Value {
    json!({"name": "cloud", "key": key})
}

/// A cluster with the Secret `cloud` holding `data`.
fn cluster(data: &[(&str, &str)]) -> DynCluster {
    let mut s = KubeSecret::new("apps", "cloud");
    for (k, v) in data {
        s = s.with_data(*k, *v);
    }
    Arc::new(MemoryCluster::new().with_secret(s))
}

async fn build(
    env: &Env,
    f: &InfisicalFactory,
    auth: Value,
    data: &[(&str, &str)],
) -> eso_core::Result<Infisical> {
    env.build_in(f, &env.spec(auth, json!({})), cluster(data))
        .await
}

async fn last(env: &Env, method: &str) -> Value {
    env.stats().await["lastLogin"][method].clone()
}

/// What the last login of `identity` sent (for methods two tests share).
async fn last_of(env: &Env, identity: &str) -> Value {
    env.stats().await["lastLoginByIdentity"][identity].clone()
}

#[tokio::test]
async fn aws_auth_sends_a_signed_get_caller_identity() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let auth = json!({"awsAuthCredentials": {"identityId": sel("id")}});
    let data = [("id", c.aws_identity.as_str())];
    let f = factory(&c).with_environment([
        ("AWS_ACCESS_KEY_ID", c.aws_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", c.aws_secret.as_str()),
        ("AWS_SESSION_TOKEN", "eso-session-token"),
        ("AWS_REGION", "eu-west-1"),
    ]);
    let p = build(&env, &f, auth.clone(), &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = last_of(&env, &c.aws_identity).await;
    assert_eq!(got["identityId"], c.aws_identity.as_str());
    assert_eq!(got["accessKeyId"], c.aws_key_id.as_str());
    assert_eq!(got["region"], "eu-west-1");
    assert_eq!(got["signedHeaders"], "host;x-amz-date;x-amz-security-token");
    assert_eq!(
        got["headerNames"],
        json!([
            "Authorization",
            "Content-Length",
            "Content-Type",
            "Host",
            "X-Amz-Date",
            "X-Amz-Security-Token"
        ])
    );

    // A wrong secret key gives a signature the server does not accept.
    let f = factory(&c).with_environment([
        ("AWS_ACCESS_KEY_ID", c.aws_key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
        ("AWS_REGION", "eu-west-1"),
    ]);
    let p = build(&env, &f, auth.clone(), &data).await.unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
    assert_eq!(
        last_of(&env, &c.aws_identity).await["refused"],
        "Access denied: the SigV4 signature does not match"
    );

    // No AWS keys in the environment and the metadata service turned off: said before
    // anything is sent.
    let f = factory(&c).with_environment([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let p = build(&env, &f, auth, &data).await.unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(e.to_string().contains("AWS_ACCESS_KEY_ID"), "{e}");
    assert!(!e.to_string().contains("metadata"), "{e}");
}

#[tokio::test]
async fn aws_auth_with_the_instance_role() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let auth = json!({"awsAuthCredentials": {"identityId": sel("id")}});
    let data = [("id", c.aws_role_identity.as_str())];

    // Nothing in the environment but the metadata service's address: the region and the
    // role's keys come from IMDSv2 (a session token first).
    let f = factory(&c).with_environment([("AWS_EC2_METADATA_SERVICE_ENDPOINT", c.url.as_str())]);
    let p = build(&env, &f, auth.clone(), &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let stats = env.stats().await;
    assert_eq!(stats["cloud"]["imds"]["token"], true);
    assert_eq!(
        stats["cloud"]["imds"]["path"],
        "/latest/meta-data/iam/security-credentials/eso-node-role"
    );
    let got = &stats["lastLoginByIdentity"][&c.aws_role_identity];
    assert_eq!(got["accessKeyId"], c.aws_role_key_id.as_str());
    assert_eq!(got["region"], "eu-west-1");
    assert_eq!(got["sessionToken"], true);

    // No metadata service where it is looked for: the error names every source tried.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let f = factory(&c).with_environment([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed.as_str()),
    ]);
    let p = build(&env, &f, auth.clone(), &data).await.unwrap();
    let e = p.validate().await.unwrap_err().to_string();
    assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
    assert!(e.contains("the instance metadata service"), "{e}");
    let f = factory(&c).with_environment([("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed.as_str())]);
    let p = build(&env, &f, auth, &data).await.unwrap();
    let e = p.validate().await.unwrap_err().to_string();
    assert!(e.contains("no AWS region"), "{e}");
}

#[tokio::test]
async fn aws_auth_with_a_web_identity_or_container_credentials() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let dir = std::env::temp_dir().join(format!("eso-infisical-aws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(
        &token_file,
        common::jwt("system:serviceaccount:eso:controller"),
    )
    .unwrap();
    let auth = json!({"awsAuthCredentials": {"identityId": sel("id")}});
    let data = [("id", c.aws_role_identity.as_str())];
    let role = "arn:aws:iam::123456789012:role/eso";

    // IRSA: AssumeRoleWithWebIdentity at the STS endpoint, then the assumed keys sign.
    let f = factory(&c).with_environment([
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ROLE_ARN", role),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file.to_string_lossy()),
        ("AWS_ENDPOINT_URL_STS", &format!("{}/", c.url)),
    ]);
    let p = build(&env, &f, auth.clone(), &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let stats = env.stats().await;
    assert_eq!(stats["cloud"]["sts"]["roleArn"], role);
    assert_eq!(stats["cloud"]["sts"]["roleSessionName"], "eso-rs-infisical");
    assert_eq!(
        stats["cloud"]["sts"]["subject"],
        "system:serviceaccount:eso:controller"
    );
    let got = &stats["lastLoginByIdentity"][&c.aws_role_identity];
    assert_eq!(got["identityId"], c.aws_role_identity.as_str());
    assert_eq!(got["accessKeyId"], c.aws_role_key_id.as_str());
    assert_eq!(got["sessionToken"], true);

    // EKS Pod Identity: the container credentials endpoint with its authorization token.
    let auth_file = dir.join("eks-pod-identity-token");
    std::fs::write(&auth_file, "eso-pod-identity-token\n").unwrap();
    let f = factory(&c).with_environment([
        ("AWS_REGION", "eu-west-1"),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/v1/credentials", c.url),
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            &auth_file.to_string_lossy(),
        ),
    ]);
    let p = build(&env, &f, auth.clone(), &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = last_of(&env, &c.aws_role_identity).await;
    assert_eq!(got["accessKeyId"], c.aws_role_key_id.as_str());
    assert_eq!(got["sessionToken"], true);

    // A wrong authorization token: the endpoint refuses, and the error says which service.
    let f = factory(&c).with_environment([
        ("AWS_REGION", "eu-west-1"),
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            &format!("{}/v1/credentials", c.url),
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "not-the-token"),
    ]);
    let p = build(&env, &f, auth, &data).await.unwrap();
    let e = p.validate().await.unwrap_err().to_string();
    assert!(
        e.contains("container credentials endpoint answered HTTP 401"),
        "{e}"
    );
    assert!(!e.contains("not-the-token"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn azure_auth_sends_the_managed_identity_token() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let data = [
        ("id", c.azure_identity.as_str()),
        ("resource", "api://infisical"),
        ("other", "identity-nobody"),
    ];
    let auth = json!({"azureAuthCredentials": {"identityId": sel("id")}});
    let p = build(&env, &factory(&c), auth, &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = last(&env, "azure").await;
    assert_eq!(got["identityId"], c.azure_identity.as_str());
    assert_eq!(got["subject"], "eso-managed-identity");
    assert_eq!(got["audience"], "https://management.azure.com/");

    let auth =
        json!({"azureAuthCredentials": {"identityId": sel("id"), "resource": sel("resource")}});
    let p = build(&env, &factory(&c), auth, &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    assert_eq!(last(&env, "azure").await["audience"], "api://infisical");

    let auth = json!({"azureAuthCredentials": {"identityId": sel("other")}});
    let p = build(&env, &factory(&c), auth, &data).await.unwrap();
    assert!(p.validate().await.unwrap_err().is_not_found());

    // The metadata service unreachable: unavailable, naming it.
    let mut e = CloudEndpoints::default();
    e.azure_imds = "http://127.0.0.1:9/metadata/identity/oauth2/token".into();
    let f = InfisicalFactory::new().with_cloud_endpoints(e);
    let auth = json!({"azureAuthCredentials": {"identityId": sel("id")}});
    let p = build(&env, &f, auth, &data).await.unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(
        e.to_string().contains("Azure instance metadata service"),
        "{e}"
    );
}

#[tokio::test]
async fn gcp_id_token_auth_sends_the_metadata_servers_token() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let data = [("id", c.gcp_id_identity.as_str())];
    let auth = json!({"gcpIdTokenAuthCredentials": {"identityId": sel("id")}});
    let p = build(&env, &factory(&c), auth, &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = last_of(&env, &c.gcp_id_identity).await;
    assert_eq!(got["identityId"], c.gcp_id_identity.as_str());
    assert_eq!(got["audience"], c.gcp_id_identity.as_str());
    assert_eq!(got["email"], "eso-gce@eso-project.iam.gserviceaccount.com");
    assert_eq!(got["kind"], "id-token");
}

#[tokio::test]
async fn gcp_iam_auth_sends_a_jwt_signed_for_the_keys_service_account() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let dir = std::env::temp_dir().join(format!("eso-infisical-gcp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.json");
    let key = json!({"type": "service_account", "client_email": c.gcp_iam_email,
        "private_key": c.signing_key_pem, "private_key_id": "k1",
        "token_uri": format!("{}/token", c.url)});
    std::fs::write(&key_file, key.to_string()).unwrap();
    let not_a_key = dir.join("other.json");
    std::fs::write(&not_a_key, "hunter2").unwrap();
    let path = key_file.to_string_lossy().into_owned();
    let other = not_a_key.to_string_lossy().into_owned();
    let data = [
        ("id", c.gcp_iam_identity.as_str()),
        ("path", path.as_str()),
        ("other", other.as_str()),
    ];
    let auth = |p: &str| {
        json!({"gcpIamAuthCredentials": {"identityId": sel("id"),
        "serviceAccountKeyFilePath": sel(p)}})
    };
    let p = build(&env, &factory(&c), auth("path"), &data)
        .await
        .unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = last_of(&env, &c.gcp_iam_identity).await;
    assert_eq!(got["identityId"], c.gcp_iam_identity.as_str());
    assert_eq!(got["audience"], c.gcp_iam_identity.as_str());
    assert_eq!(got["email"], c.gcp_iam_email.as_str());
    assert_eq!(got["kind"], "iam");

    // A file that is not a key is refused without quoting it.
    let p = build(&env, &factory(&c), auth("other"), &data)
        .await
        .unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(
        e.to_string().contains("not a service account JSON key"),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn oci_auth_sends_a_request_signed_with_the_api_key() {
    let Some(env) = common::env() else { return };
    let c = common::cloud_env();
    let other_key = {
        use aws_lc_rs::encoding::AsDer;
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&kp).unwrap();
        eso_core::pem::encode("PRIVATE KEY", der.as_ref())
    };
    let data = [
        ("id", c.oci_identity.as_str()),
        ("key", c.signing_key_pem.as_str()),
        ("pkcs1Key", c.signing_key_pkcs1_pem.as_str()),
        ("otherKey", other_key.as_str()),
        ("fingerprint", c.oci_fingerprint.as_str()),
        ("user", c.oci_user.as_str()),
        ("tenancy", c.oci_tenancy.as_str()),
        ("region", "eu-frankfurt-1"),
        ("badRegion", "frankfurt"),
        (
            "junk",
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXN0dWZm\n-----END PRIVATE KEY-----\n",
        ),
    ];
    let auth = |key: &str| {
        json!({"ociAuthCredentials": {"identityId": sel("id"), "privateKey": sel(key),
        "fingerprint": sel("fingerprint"), "userId": sel("user"), "tenancyId": sel("tenancy"),
        "region": sel("region")}})
    };
    let p = build(&env, &factory(&c), auth("key"), &data).await.unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = last(&env, "oci").await;
    assert_eq!(got["identityId"], c.oci_identity.as_str());
    assert_eq!(got["userOcid"], c.oci_user.as_str());
    assert_eq!(
        got["keyId"],
        format!("{}/{}/{}", c.oci_tenancy, c.oci_user, c.oci_fingerprint)
    );
    assert_eq!(got["host"], "identity.eu-frankfurt-1.oraclecloud.com");
    assert_eq!(got["headerNames"], json!(["authorization", "date", "host"]));

    // The same key as PKCS#1 ("RSA PRIVATE KEY", what older OCI tooling writes).
    assert!(c.signing_key_pkcs1_pem.contains("BEGIN RSA PRIVATE KEY"));
    let p = build(&env, &factory(&c), auth("pkcs1Key"), &data)
        .await
        .unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);

    // Another key's signature does not verify.
    let p = build(&env, &factory(&c), auth("otherKey"), &data)
        .await
        .unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");

    // A region Infisical does not accept in the host.
    let mut bad_region = auth("key");
    bad_region["ociAuthCredentials"]["region"] = sel("badRegion");
    let p = build(&env, &factory(&c), bad_region, &data).await.unwrap();
    let e = p.validate().await.unwrap_err().to_string();
    assert!(e.contains("Invalid OCI host format"), "{e}");

    // A private key that is not one: refused when the store is built, without quoting it.
    let e = build(&env, &factory(&c), auth("junk"), &data)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("spec.provider.infisical.auth.ociAuthCredentials.privateKey"),
        "{e}"
    );
    assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
}
