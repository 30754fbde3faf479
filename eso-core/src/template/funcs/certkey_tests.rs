//! EC and Ed25519 keys through the `...WithKey` certificate functions: the certificates parse,
//! carry the given key and verify under the issuer's key.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, ED25519, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _, UnparsedPublicKey, VerificationAlgorithm,
};
use x509_parser::oid_registry::{
    OID_KEY_TYPE_EC_PUBLIC_KEY, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer as _, X509Certificate};

use crate::template::{Template, Value};

fn render(tpl: &str) -> Vec<String> {
    let t = Template::parse("t", tpl).expect("parses");
    let out = t.render(&Value::Nil).expect("renders");
    String::from_utf8(out)
        .expect("utf-8")
        .split('|')
        .map(str::to_string)
        .collect()
}

fn der(pem: &str, label: &str) -> Vec<u8> {
    let (block, _) = crate::pem::decode(pem.as_bytes());
    let block = block.expect("a PEM block");
    assert_eq!(block.label, label);
    block.der
}

/// Parses `cert_pem`, checks its public key is `public` and its signature verifies under
/// `issuer_public` with `alg`; returns the certificate's subject CN.
fn check(
    cert_pem: &str,
    public: &[u8],
    issuer_public: &[u8],
    alg: &'static dyn VerificationAlgorithm,
) -> String {
    let der = der(cert_pem, "CERTIFICATE");
    let (rest, cert) = X509Certificate::from_der(&der).expect("certificate parses");
    assert!(rest.is_empty());
    assert_eq!(cert.public_key().subject_public_key.data.as_ref(), public);
    UnparsedPublicKey::new(alg, issuer_public)
        .verify(
            cert.tbs_certificate.as_ref(),
            cert.signature_value.data.as_ref(),
        )
        .expect("signature verifies");
    assert_eq!(
        cert.signature_algorithm.algorithm,
        cert.tbs_certificate.signature.algorithm
    );
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn ec_keys_make_self_signed_ca_and_signed_certificates() {
    let parts = render(
        r#"{{- $k := genPrivateKey "ecdsa" -}}
{{- $lk := genPrivateKey "ecdsa" -}}
{{- $self := genSelfSignedCertWithKey "self" (list "10.0.0.1") (list "a.example") 30 $k -}}
{{- $ca := genCAWithKey "ca" 30 $k -}}
{{- $leaf := genSignedCertWithKey "leaf" nil (list "b.example") 30 $ca $lk -}}
{{ $k }}|{{ $lk }}|{{ $self.Cert }}|{{ $self.Key }}|{{ $ca.Cert }}|{{ $leaf.Cert }}|{{ $leaf.Key }}"#,
    );
    let [k, lk, self_cert, self_key, ca_cert, leaf_cert, leaf_key] = &parts[..] else {
        panic!("seven parts: {parts:?}");
    };
    let key = |pem: &str| {
        EcdsaKeyPair::from_private_key_der(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &der(pem, "EC PRIVATE KEY"),
        )
        .expect("an EC P-256 key")
    };
    let (k, lk) = (key(k), key(lk));
    let (pk, plk) = (k.public_key().as_ref(), lk.public_key().as_ref());
    assert_eq!(check(self_cert, pk, pk, &ECDSA_P256_SHA256_ASN1), "self");
    assert_eq!(check(ca_cert, pk, pk, &ECDSA_P256_SHA256_ASN1), "ca");
    assert_eq!(check(leaf_cert, plk, pk, &ECDSA_P256_SHA256_ASN1), "leaf");
    assert_eq!(key(self_key).public_key().as_ref(), pk);
    assert_eq!(key(leaf_key).public_key().as_ref(), plk);
    let d = der(leaf_cert, "CERTIFICATE");
    let (_, cert) = X509Certificate::from_der(&d).expect("parses");
    assert_eq!(
        cert.signature_algorithm.algorithm,
        OID_SIG_ECDSA_WITH_SHA256
    );
    assert_eq!(
        cert.public_key().algorithm.algorithm,
        OID_KEY_TYPE_EC_PUBLIC_KEY
    );
    // The signature algorithm has no parameters (Go writes none for ECDSA).
    assert!(cert.signature_algorithm.parameters.is_none());
}

#[test]
fn ed25519_keys_and_mixed_issuers() {
    let parts = render(
        r#"{{- $ed := genPrivateKey "ed25519" -}}
{{- $ca := genCAWithKey "ca" 30 $ed -}}
{{- $leaf := genSignedCertWithKey "leaf" nil nil 30 $ca (genPrivateKey "ecdsa") -}}
{{ $ed }}|{{ $ca.Cert }}|{{ $ca.Key }}|{{ $leaf.Cert }}|{{ $leaf.Key }}"#,
    );
    let [ed, ca_cert, ca_key, leaf_cert, leaf_key] = &parts[..] else {
        panic!("five parts: {parts:?}");
    };
    let ed_der = der(ed, "PRIVATE KEY");
    assert_eq!(der(ca_key, "PRIVATE KEY"), ed_der);
    let ed = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&ed_der).expect("an Ed25519 key");
    let ped = ed.public_key().as_ref();
    assert_eq!(check(ca_cert, ped, ped, &ED25519), "ca");
    let leaf = EcdsaKeyPair::from_private_key_der(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &der(leaf_key, "EC PRIVATE KEY"),
    )
    .expect("an EC key");
    assert_eq!(
        check(leaf_cert, leaf.public_key().as_ref(), ped, &ED25519),
        "leaf"
    );
    let d = der(leaf_cert, "CERTIFICATE");
    let (_, cert) = X509Certificate::from_der(&d).expect("parses");
    assert_eq!(cert.signature_algorithm.algorithm, OID_SIG_ED25519);
}

#[test]
fn keys_sprig_does_not_read_are_refused() {
    let dsa = "{{ genCAWithKey \"ca\" 30 \"-----BEGIN DSA PRIVATE KEY-----\\nAAAA\\n-----END DSA PRIVATE KEY-----\\n\" }}";
    let t = Template::parse("t", dsa).expect("parses");
    let err = t
        .render(&Value::Nil)
        .expect_err("DSA is refused")
        .to_string();
    assert!(err.contains("invalid private key type DSA"), "{err}");
    let t = Template::parse("t", r#"{{ genCAWithKey "ca" 30 "no pem" }}"#).expect("parses");
    let err = t.render(&Value::Nil).expect_err("no PEM").to_string();
    assert!(err.contains("no PEM data in input"), "{err}");
}
