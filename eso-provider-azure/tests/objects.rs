//! `cert/` and `key/` objects against the Key Vault test server (`scripts/backends/azure.sh
//! start`, which also writes a certificate with its key as PEM and PKCS#12).

mod common;

use base64::Engine as _;
use eso_core::provider::{MetadataPolicy, PushRef, PushValue, RemoteRef};
use eso_core::{Error, SecretValue};
use serde_json::{Value, json};

fn files() -> Option<(Vec<u8>, Vec<u8>)> {
    let pem = std::fs::read(std::env::var("AZURE_TEST_CERT_PEM").ok()?).ok()?;
    let p12 = std::fs::read(std::env::var("AZURE_TEST_CERT_P12").ok()?).ok()?;
    Some((pem, p12))
}

/// The DER of the first certificate in `pem`.
fn der_of(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let b64: String = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

async fn cert_version(env: &common::Env, name: &str) -> String {
    let c = env
        .certs()
        .get_certificate(name, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    c.id.unwrap().rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn certificates_imported_read_back_and_skipped_when_unchanged() {
    let env = require_azure!();
    let Some((pem, p12)) = files() else {
        return eso_core::testing::backend_unavailable(
            "AZURE_TEST_CERT_PEM",
            "scripts/backends/azure.sh start",
        );
    };
    let der = der_of(&pem);
    let p = env.provider().await;
    let name = common::unique("cert");
    let key = format!("cert/{name}");
    let r = PushRef::new(&key);
    p.push_secret(&PushValue::Single(SecretValue::new(pem.clone())), &r)
        .await
        .unwrap();
    let got = p.get_secret(&RemoteRef::new(&key)).await.unwrap();
    assert_eq!(got.expose(), der.as_slice());
    assert!(p.secret_exists(&r).await.unwrap());
    let tags = p
        .get_secret(
            &RemoteRef::new(&key)
                .with_metadata_policy(MetadataPolicy::Fetch)
                .with_property("managed-by"),
        )
        .await
        .unwrap();
    assert_eq!(tags.expose(), b"external-secrets");
    let v1 = cert_version(&env, &name).await;
    // The same certificate again (here as PKCS#12): no new version.
    p.push_secret(&PushValue::Single(SecretValue::new(p12.clone())), &r)
        .await
        .unwrap();
    assert_eq!(cert_version(&env, &name).await, v1);

    // PKCS#12 and a bare DER certificate to new names.
    let name2 = common::unique("cert-p12");
    p.push_secret(
        &PushValue::Single(SecretValue::new(p12)),
        &PushRef::new(format!("cert/{name2}")),
    )
    .await
    .unwrap();
    let got = p
        .get_secret(&RemoteRef::new(format!("cert/{name2}")))
        .await
        .unwrap();
    assert_eq!(got.expose(), der.as_slice());
    assert!(
        !p.secret_exists(&PushRef::new(format!("cert/{}", common::unique("none"))))
            .await
            .unwrap()
    );
    let e = p
        .push_secret(
            &PushValue::Single(SecretValue::from("not a certificate")),
            &PushRef::new(format!("cert/{name2}")),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conversion(_)), "{e}");
}

#[tokio::test]
async fn foreign_certificate_is_not_overwritten() {
    let env = require_azure!();
    let Some((pem, _)) = files() else {
        return eso_core::testing::backend_unavailable(
            "AZURE_TEST_CERT_PEM",
            "scripts/backends/azure.sh start",
        );
    };
    let name = common::unique("cert-foreign");
    let params = azure_security_keyvault_certificates::models::ImportCertificateParameters {
        base64_encoded_certificate: Some(String::from_utf8(pem.clone()).unwrap()),
        ..Default::default()
    };
    env.certs()
        .import_certificate(&name, params.try_into().unwrap(), None)
        .await
        .unwrap();
    let p = env.provider().await;
    let e = p
        .push_secret(
            &PushValue::Single(SecretValue::new(pem)),
            &PushRef::new(format!("cert/{name}")),
        )
        .await
        .unwrap_err();
    assert!(e.is_not_managed(), "{e}");
}

#[tokio::test]
async fn keys_read_as_public_jwk_and_imported_from_pem() {
    let env = require_azure!();
    let name = common::unique("key");
    let jwk: azure_security_keyvault_keys::models::JsonWebKey = serde_json::from_value(
        json!({"kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB", "d": "cHJpdmF0ZQ"}),
    )
    .unwrap();
    let params = azure_security_keyvault_keys::models::ImportKeyParameters {
        key: Some(jwk),
        ..Default::default()
    };
    env.keys()
        .import_key(&name, params.try_into().unwrap(), None)
        .await
        .unwrap();
    let p = env.provider().await;
    let key = format!("key/{name}");
    let got = p.get_secret(&RemoteRef::new(&key)).await.unwrap();
    let got: Value = serde_json::from_slice(got.expose()).unwrap();
    assert_eq!(got["kty"], "RSA");
    assert_eq!(got["e"], "AQAB");
    assert!(got.get("d").is_none(), "{got}");
    let kty = p
        .get_secret(&RemoteRef::new(&key).with_property("kty"))
        .await
        .unwrap();
    assert_eq!(kty.expose(), b"RSA");
    assert!(p.secret_exists(&PushRef::new(&key)).await.unwrap());
    let e = p
        .get_secret(&RemoteRef::new(format!("key/{}", common::unique("nokey"))))
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    // That key was imported directly (no managed-by tag): a push does not replace it.
    let Some((pem, _)) = files() else {
        return eso_core::testing::backend_unavailable(
            "AZURE_TEST_CERT_PEM",
            "scripts/backends/azure.sh start",
        );
    };
    let e = p
        .push_secret(
            &PushValue::Single(SecretValue::new(pem.clone())),
            &PushRef::new(&key),
        )
        .await
        .unwrap_err();
    assert!(e.is_not_managed(), "{e}");

    // A PEM private key pushed to a new name is imported as a JWK, once.
    let mine = format!("key/{}", common::unique("key-pushed"));
    let r = PushRef::new(&mine);
    p.push_secret(&PushValue::Single(SecretValue::new(pem.clone())), &r)
        .await
        .unwrap();
    let got: Value =
        serde_json::from_slice(p.get_secret(&RemoteRef::new(&mine)).await.unwrap().expose())
            .unwrap();
    assert_eq!(got["kty"], "RSA");
    assert!(got.get("d").is_none(), "{got}");
    let kid = |v: &Value| v["kid"].as_str().unwrap_or_default().to_owned();
    let first = kid(&got);
    p.push_secret(&PushValue::Single(SecretValue::new(pem)), &r)
        .await
        .unwrap();
    let again: Value =
        serde_json::from_slice(p.get_secret(&RemoteRef::new(&mine)).await.unwrap().expose())
            .unwrap();
    assert_eq!(kid(&again), first, "an unchanged key is not imported again");
    let e = p
        .push_secret(&PushValue::Single(SecretValue::from("x")), &r)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Conversion(_)), "{e}");
}
