//! The webhook's certificate, as ESO's cert-controller keeps it: a CA and a serving
//! certificate for the webhook Service's DNS name, in one Secret (`ca.crt`, `ca.key`,
//! `tls.crt`, `tls.key`), renewed before they expire, and the CA put in the `caBundle` of
//! the ValidatingWebhookConfiguration so the API server trusts the webhook.
//!
//! Several webhook replicas share the Secret: each reads it, and only when something is due
//! writes a renewed one with the `resourceVersion` it read, so two replicas never both
//! renew; the one that loses the race reads the winner's.
//!
//! A renewed CA is added in front of the old one in `ca.crt` (while the old one is still
//! valid), and the `caBundle` is patched before the new serving certificate is used, so
//! the API server trusts both the certificate it has seen and the new one.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ObjectMeta, Patch, PatchParams, PostParams};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The PEM texts the webhook serves with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Bundle {
    /// The CA certificates: the current one first, then the previous one while valid.
    pub(crate) ca: String,
    /// The current CA's private key.
    pub(crate) ca_key: String,
    /// The serving certificate.
    pub(crate) cert: String,
    /// The serving certificate's private key.
    pub(crate) key: String,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle").finish_non_exhaustive()
    }
}

/// What certificates to make and when to renew them.
#[derive(Clone, Debug)]
pub(crate) struct Policy {
    /// The DNS name the serving certificate is for.
    pub(crate) dns_name: String,
    /// Renew what expires within this.
    pub(crate) lookahead: Duration,
    /// The serving certificate's lifetime.
    pub(crate) cert_lifetime: Duration,
    /// The CA's lifetime.
    pub(crate) ca_lifetime: Duration,
}

/// The expiry of the first certificate in `pem`, and whether it names `dns` (when given).
fn inspect(pem: &str, dns: Option<&str>) -> Option<(jiff::Timestamp, bool)> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = block.parse_x509().ok()?;
    let not_after = jiff::Timestamp::from_second(cert.validity().not_after.timestamp()).ok()?;
    let names = match dns {
        None => true,
        Some(dns) => cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .is_some_and(|san| {
                san.value.general_names.iter().any(
                    |n| matches!(n, x509_parser::extensions::GeneralName::DNSName(d) if *d == dns),
                )
            }),
    };
    Some((not_after, names))
}

/// True when the first certificate of `pem` is unreadable, expires within `lookahead`, or
/// does not name `dns`.
fn due(pem: &str, dns: Option<&str>, lookahead: Duration) -> bool {
    let Some((not_after, names)) = inspect(pem, dns) else {
        return true;
    };
    let limit =
        jiff::Timestamp::now() + jiff::SignedDuration::try_from(lookahead).unwrap_or_default();
    !names || not_after <= limit
}

/// The first PEM block of `pem` (the current CA of a bundle).
fn first_block(pem: &str) -> &str {
    const END: &str = "-----END CERTIFICATE-----";
    pem.find(END).map_or(pem, |i| &pem[..i + END.len()])
}

fn validity(params: &mut CertificateParams, lifetime: Duration) {
    let now = time::OffsetDateTime::now_utc();
    // A minute back, for clocks a little behind ours.
    params.not_before = now - time::Duration::minutes(1);
    params.not_after = now + time::Duration::try_from(lifetime).unwrap_or(time::Duration::DAY);
}

/// A new self-signed CA: certificate and key PEM.
fn new_ca(lifetime: Duration) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "eso-rs webhook CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, lifetime);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A new serving certificate for `dns`, signed by the CA: certificate and key PEM.
fn new_serving(
    ca: &str,
    ca_key: &str,
    dns: &str,
    lifetime: Duration,
) -> anyhow::Result<(String, String)> {
    let ca_key = KeyPair::from_pem(ca_key).context("the CA key in the Secret")?;
    let issuer =
        Issuer::from_ca_cert_pem(first_block(ca), ca_key).context("the CA in the Secret")?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![dns.to_owned()])?;
    params.distinguished_name.push(DnType::CommonName, dns);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut params, lifetime);
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// `current`, renewed where due under `policy` (None: nothing was due).
pub(crate) fn renew(current: Option<&Bundle>, policy: &Policy) -> anyhow::Result<Option<Bundle>> {
    let lookahead = policy.lookahead;
    let ca_due = current.is_none_or(|b| {
        b.ca_key.is_empty() || due(first_block(&b.ca), None, lookahead.saturating_mul(2))
    });
    let (ca, ca_key) = if ca_due {
        let (pem, key) = new_ca(policy.ca_lifetime)?;
        // Keep the previous CA in the bundle while it is valid.
        let previous = current
            .map(|b| first_block(&b.ca))
            .filter(|old| !due(old, None, Duration::ZERO));
        let bundle = match previous {
            Some(old) => format!("{pem}{old}\n"),
            None => pem,
        };
        (bundle, key)
    } else {
        let b = current.ok_or_else(|| anyhow!("no current bundle"))?;
        (b.ca.clone(), b.ca_key.clone())
    };
    let serving_due =
        ca_due || current.is_none_or(|b| due(&b.cert, Some(&policy.dns_name), lookahead));
    if !serving_due {
        return Ok(None);
    }
    let (cert, key) = new_serving(&ca, &ca_key, &policy.dns_name, policy.cert_lifetime)?;
    Ok(Some(Bundle {
        ca,
        ca_key,
        cert,
        key,
    }))
}

/// The Secret holding the bundle.
pub(crate) struct SecretStore {
    api: Api<Secret>,
    name: String,
}

fn text(data: &BTreeMap<String, ByteString>, key: &str) -> String {
    data.get(key)
        .and_then(|b| String::from_utf8(b.0.clone()).ok())
        .unwrap_or_default()
}

impl SecretStore {
    /// The Secret `namespace/name`.
    pub(crate) fn new(client: kube::Client, namespace: &str, name: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
        }
    }

    /// The bundle in the Secret (None when the Secret does not exist), and its
    /// `resourceVersion`.
    async fn read(&self) -> anyhow::Result<(Option<Bundle>, Option<String>)> {
        let Some(secret) =
            self.api.get_opt(&self.name).await.with_context(|| {
                format!("cannot read the webhook certificate Secret {}", self.name)
            })?
        else {
            return Ok((None, None));
        };
        let data = secret.data.unwrap_or_default();
        let bundle = Bundle {
            ca: text(&data, "ca.crt"),
            ca_key: text(&data, "ca.key"),
            cert: text(&data, "tls.crt"),
            key: text(&data, "tls.key"),
        };
        let bundle = (!bundle.cert.is_empty() && !bundle.key.is_empty()).then_some(bundle);
        Ok((bundle, secret.metadata.resource_version))
    }

    /// The bundle to serve with: the Secret's, renewed and written back when something is
    /// due. A replica that loses the race to write reads the winner's bundle.
    pub(crate) async fn ensure(&self, policy: &Policy) -> anyhow::Result<Bundle> {
        for _ in 0..3 {
            let (current, version) = self.read().await?;
            let Some(renewed) = renew(current.as_ref(), policy)? else {
                return current.ok_or_else(|| anyhow!("the Secret holds no certificate"));
            };
            match self.write(&renewed, version).await {
                Ok(()) => {
                    tracing::info!(secret = %self.name, dns = %policy.dns_name, "webhook certificate renewed");
                    return Ok(renewed);
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    tracing::debug!("another replica renewed the certificate first; reading it");
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot write the webhook certificate Secret {}", self.name)
                    });
                }
            }
        }
        Err(anyhow!(
            "the webhook certificate Secret {} keeps changing under us",
            self.name
        ))
    }

    /// Writes `bundle`: a merge patch of the data carrying the `resourceVersion` read (so
    /// a concurrent writer makes it fail with 409), or a new Secret when there was none.
    /// Only `get` and `patch` on an existing Secret are needed (the chart creates it).
    async fn write(&self, bundle: &Bundle, version: Option<String>) -> Result<(), kube::Error> {
        let data: BTreeMap<String, ByteString> = [
            ("ca.crt", &bundle.ca),
            ("ca.key", &bundle.ca_key),
            ("tls.crt", &bundle.cert),
            ("tls.key", &bundle.key),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), ByteString(v.clone().into_bytes())))
        .collect();
        let labels = BTreeMap::from([(
            "app.kubernetes.io/managed-by".to_owned(),
            "eso-operator".to_owned(),
        )]);
        let Some(version) = version else {
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                data: Some(data),
                type_: Some("kubernetes.io/tls".to_owned()),
                ..Secret::default()
            };
            return self
                .api
                .create(&PostParams::default(), &secret)
                .await
                .map(drop);
        };
        let patch = serde_json::json!({
            "metadata": {"resourceVersion": version, "labels": labels},
            "data": data,
        });
        self.api
            .patch(&self.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(drop)
    }
}

/// Puts `ca` in the `caBundle` of every webhook of the ValidatingWebhookConfiguration
/// `name` (when it is not there already). Returns whether it changed anything.
pub(crate) async fn patch_ca_bundle(
    client: &kube::Client,
    name: &str,
    ca: &str,
) -> anyhow::Result<bool> {
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    for _ in 0..3 {
        let config = api
            .get(name)
            .await
            .with_context(|| format!("cannot read ValidatingWebhookConfiguration {name}"))?;
        let wanted = ByteString(ca.as_bytes().to_vec());
        // A JSON patch of the webhooks whose caBundle differs, guarded by a test of the
        // resourceVersion read (only `get` and `patch` are needed).
        let mut ops = vec![serde_json::json!({
            "op": "test", "path": "/metadata/resourceVersion",
            "value": config.metadata.resource_version,
        })];
        for (i, hook) in config.webhooks.iter().flatten().enumerate() {
            if hook.client_config.ca_bundle.as_ref() != Some(&wanted) {
                ops.push(serde_json::json!({
                    "op": "add", "path": format!("/webhooks/{i}/clientConfig/caBundle"),
                    "value": wanted,
                }));
            }
        }
        if ops.len() == 1 {
            return Ok(false);
        }
        let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops))?;
        match api
            .patch(name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
        {
            Ok(_) => return Ok(true),
            // The test failed (someone changed it since the read): read again.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 422 => continue,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot patch the caBundle of ValidatingWebhookConfiguration {name}")
                });
            }
        }
    }
    Err(anyhow!(
        "ValidatingWebhookConfiguration {name} keeps changing under us"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(lookahead: Duration) -> Policy {
        Policy {
            dns_name: "eso-webhook.eso.svc".into(),
            lookahead,
            cert_lifetime: Duration::from_secs(3600),
            ca_lifetime: Duration::from_secs(36_000),
        }
    }

    #[test]
    fn a_new_bundle_is_made_then_kept_until_due() {
        let p = policy(Duration::from_secs(60));
        let b = renew(None, &p).unwrap().unwrap();
        let (_, names) = inspect(&b.cert, Some("eso-webhook.eso.svc")).unwrap();
        assert!(names);
        assert!(renew(Some(&b), &p).unwrap().is_none(), "nothing is due");
        // Due within the lookahead: the serving certificate is renewed, the CA kept.
        let soon = policy(Duration::from_secs(7200));
        let r = renew(Some(&b), &soon).unwrap().unwrap();
        assert_eq!(r.ca, b.ca);
        assert_ne!(r.cert, b.cert);
        // Another DNS name: renewed too.
        let mut other = p.clone();
        other.dns_name = "elsewhere.svc".into();
        assert!(renew(Some(&b), &other).unwrap().is_some());
    }

    #[test]
    fn a_renewed_ca_keeps_the_previous_one_in_the_bundle() {
        let b = renew(None, &policy(Duration::from_secs(60)))
            .unwrap()
            .unwrap();
        let r = renew(Some(&b), &policy(Duration::from_secs(30_000)))
            .unwrap()
            .unwrap();
        assert_ne!(first_block(&r.ca), first_block(&b.ca));
        assert!(r.ca.contains(first_block(&b.ca)), "old CA kept");
        assert_eq!(r.ca.matches("BEGIN CERTIFICATE").count(), 2);
    }

    #[test]
    fn the_serving_certificate_verifies_against_the_bundle() {
        use rustls::client::danger::ServerCertVerifier as _;
        use rustls::pki_types::pem::PemObject as _;
        let b = renew(None, &policy(Duration::from_secs(60)))
            .unwrap()
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(b.ca.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            provider,
        )
        .build()
        .unwrap();
        let leaf = rustls::pki_types::CertificateDer::from_pem_slice(b.cert.as_bytes()).unwrap();
        let name = rustls::pki_types::ServerName::try_from("eso-webhook.eso.svc").unwrap();
        verifier
            .verify_server_cert(&leaf, &[], &name, &[], rustls::pki_types::UnixTime::now())
            .unwrap();
    }
}
