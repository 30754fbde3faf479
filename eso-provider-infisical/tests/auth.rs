//! Auth methods against the Infisical test server, checking what its login endpoint
//! received; refused credentials; validation of the cloud methods' fields.

mod common;

use base64::Engine as _;
use common::Env;
use eso_core::Error;
use eso_core::provider::{
    Provider, ProviderFactory, RemoteRef, StoreIdentity, StoreScope, Validation,
};
use eso_provider_infisical::InfisicalFactory;
use serde_json::json;

#[tokio::test]
async fn universal_auth_sends_client_id_secret_and_organization() {
    let Some(env) = common::env() else { return };
    let p = env.store(json!({})).await;
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = &env.stats().await["lastLogin"]["universal"];
    assert_eq!(got["clientId"], env.client_id.as_str());
    assert_eq!(got["clientSecretLength"], env.client_secret.len());
    assert_eq!(got["organizationSlug"], env.org.as_str());

    let bad = env.spec(Env::universal("clientId", "wrong"), json!({}));
    let p = env
        .build_with(&InfisicalFactory::new(), &bad)
        .await
        .unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
}

#[tokio::test]
async fn token_auth_uses_the_access_token() {
    let Some(env) = common::env() else { return };
    let spec = env.spec(
        json!({"tokenAuthCredentials": {"accessToken": {"name": "infisical", "key": "token"}}}),
        json!({}),
    );
    let p = env
        .build_with(&InfisicalFactory::new(), &spec)
        .await
        .unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    assert!(
        p.get_secret(&RemoteRef::new("NOPE"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(p.token_stats().logins, 0, "token auth does not log in");
}

#[tokio::test]
async fn kubernetes_auth_sends_the_service_account_token() {
    let Some(env) = common::env() else { return };
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let jwt = |sub: &str| {
        format!(
            "{}.{}.c2ln",
            b64(json!({"alg": "RS256"})),
            b64(json!({"sub": sub}))
        )
    };
    let dir = std::env::temp_dir().join(format!("eso-infisical-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(&file, jwt(&env.k8s_subject)).unwrap();
    let factory = InfisicalFactory::new().with_service_account_token_file(&file);
    let auth = json!({"kubernetesAuthCredentials": {"identityId": {"name": "infisical", "key": "identityId"}}});
    let p = env
        .build_with(&factory, &env.spec(auth.clone(), json!({})))
        .await
        .unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = &env.stats().await["lastLogin"]["kubernetes"];
    assert_eq!(got["identityId"], env.k8s_identity.as_str());
    assert_eq!(got["subject"], env.k8s_subject.as_str());

    // Another ServiceAccount's token is refused.
    std::fs::write(&file, jwt("system:serviceaccount:default:other")).unwrap();
    let p = env
        .build_with(&factory, &env.spec(auth.clone(), json!({})))
        .await
        .unwrap();
    assert!(matches!(
        p.validate().await.unwrap_err(),
        Error::Unauthenticated { .. }
    ));

    // A token path read from a Secret is refused (it would send a file of the controller).
    let mut with_path = auth;
    with_path["kubernetesAuthCredentials"]["serviceAccountTokenPath"] =
        json!({"name": "infisical", "key": "wrong"});
    let e = env
        .build_with(&factory, &env.spec(with_path, json!({})))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("serviceAccountTokenPath"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn jwt_auth_sends_the_jwt_for_the_identity() {
    let Some(env) = common::env() else { return };
    let auth = json!({"jwtAuthCredentials": {"identityId": {"name": "infisical", "key": "jwtIdentity"},
        "jwt": {"name": "infisical", "key": "jwt"}}});
    let p = env
        .build_with(&InfisicalFactory::new(), &env.spec(auth.clone(), json!({})))
        .await
        .unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = &env.stats().await["lastLogin"]["jwt"];
    assert_eq!(got["identityId"], env.jwt_identity.as_str());
    assert_eq!(got["subject"], env.jwt_subject.as_str());
    let mut other = auth;
    other["jwtAuthCredentials"]["jwt"]["key"] = json!("otherJwt");
    let p = env
        .build_with(&InfisicalFactory::new(), &env.spec(other, json!({})))
        .await
        .unwrap();
    assert!(matches!(
        p.validate().await.unwrap_err(),
        Error::Unauthenticated { .. }
    ));
}

#[tokio::test]
async fn ldap_auth_sends_user_and_password() {
    let Some(env) = common::env() else { return };
    let auth = |pass: &str| {
        json!({"ldapAuthCredentials": {
        "identityId": {"name": "infisical", "key": "ldapIdentity"},
        "ldapUsername": {"name": "infisical", "key": "ldapUser"},
        "ldapPassword": {"name": "infisical", "key": pass}}})
    };
    let p = env
        .build_with(
            &InfisicalFactory::new(),
            &env.spec(auth("ldapPass"), json!({})),
        )
        .await
        .unwrap();
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let got = &env.stats().await["lastLogin"]["ldap"];
    assert_eq!(got["identityId"], env.ldap_identity.as_str());
    assert_eq!(got["username"], env.ldap_user.as_str());
    assert_eq!(got["passwordLength"], env.ldap_pass.len());
    let p = env
        .build_with(
            &InfisicalFactory::new(),
            &env.spec(auth("wrong"), json!({})),
        )
        .await
        .unwrap();
    let e = p.validate().await.unwrap_err();
    assert!(matches!(e, Error::Unauthenticated { .. }), "{e}");
    assert!(!e.to_string().contains("not-the-secret"), "{e}");
}

#[test]
fn cloud_methods_missing_fields_are_named() {
    let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "infisical");
    for (m, missing) in [
        ("azureAuthCredentials", None),
        ("gcpIdTokenAuthCredentials", None),
        ("gcpIamAuthCredentials", Some("serviceAccountKeyFilePath")),
        ("ociAuthCredentials", Some("privateKey")),
        ("awsAuthCredentials", None),
    ] {
        let spec = serde_json::from_value::<eso_core::api::SecretStoreProvider>(
            json!({"infisical": {"auth": {m: {"identityId": {"name": "x", "key": "id"}}},
            "secretsScope": {"projectSlug": "p", "environmentSlug": "dev"}}}),
        );
        match missing {
            None => {
                let r = InfisicalFactory::new().validate_store(&spec.unwrap(), &store);
                assert_eq!(r.unwrap(), Vec::<String>::new(), "{m}");
            }
            // The store model is typed: a missing required selector fails the manifest's
            // decoding, naming the field.
            Some(f) => {
                let e = spec.unwrap_err().to_string();
                assert!(e.contains(f), "{m}: {e}");
            }
        }
    }
    // A selector without a name is caught at validation, with its path.
    let spec = serde_json::from_value(json!({"infisical": {
        "auth": {"awsAuthCredentials": {"identityId": {"name": "", "key": "id"}}},
        "secretsScope": {"projectSlug": "p", "environmentSlug": "dev"}}}))
    .unwrap();
    let e = InfisicalFactory::new()
        .validate_store(&spec, &store)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("spec.provider.infisical.auth.awsAuthCredentials"),
        "{e}"
    );
}
