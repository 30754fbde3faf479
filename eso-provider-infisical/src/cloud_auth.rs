//! The typed view of the cloud-identity auth blocks (`awsAuthCredentials`,
//! `azureAuthCredentials`, `gcpIdTokenAuthCredentials`, `gcpIamAuthCredentials`,
//! `ociAuthCredentials`) of the store model, and the [`Login`] each one becomes.

use std::path::PathBuf;

use eso_core::api::{
    InfisicalAuth, InfisicalAzureAuth as Azure, InfisicalGcpIamAuth as GcpIam,
    InfisicalIdentityAuth as IdentityOnly, InfisicalOciAuth as Oci, SecretKeySelector,
    ValidationErrors,
};
use eso_core::provider::Credentials;
use eso_core::{Error, Result};

use crate::auth::Login;
use crate::cloud::{AZURE_DEFAULT_RESOURCE, OciKey};
use crate::sign::RsaKey;

/// One cloud-identity method of a store.
pub(crate) enum CloudAuth {
    Aws(IdentityOnly),
    Azure(Azure),
    GcpIdToken(IdentityOnly),
    GcpIam(GcpIam),
    Oci(Box<Oci>),
}

/// A selector that is set (ESO treats one without a name as absent).
fn set(sel: Option<&SecretKeySelector>) -> Option<&SecretKeySelector> {
    sel.filter(|s| !s.name.is_empty())
}

impl CloudAuth {
    /// The cloud method of `auth`, if one is set.
    pub(crate) fn parse(auth: &InfisicalAuth) -> Option<Self> {
        Some(if let Some(v) = &auth.aws_auth_credentials {
            Self::Aws(v.clone())
        } else if let Some(v) = &auth.azure_auth_credentials {
            Self::Azure(v.clone())
        } else if let Some(v) = &auth.gcp_id_token_auth_credentials {
            Self::GcpIdToken(v.clone())
        } else if let Some(v) = &auth.gcp_iam_auth_credentials {
            Self::GcpIam(v.clone())
        } else if let Some(v) = &auth.oci_auth_credentials {
            Self::Oci(Box::new(v.clone()))
        } else {
            return None;
        })
    }

    fn key(&self) -> &'static str {
        match self {
            Self::Aws(_) => "awsAuthCredentials",
            Self::Azure(_) => "azureAuthCredentials",
            Self::GcpIdToken(_) => "gcpIdTokenAuthCredentials",
            Self::GcpIam(_) => "gcpIamAuthCredentials",
            Self::Oci(_) => "ociAuthCredentials",
        }
    }

    /// The selectors with the path each one has in the spec.
    fn selectors(&self) -> Vec<(&'static str, &SecretKeySelector)> {
        match self {
            Self::Aws(a) | Self::GcpIdToken(a) => vec![("identityId", &a.identity_id)],
            Self::Azure(a) => {
                let mut v = vec![("identityId", &a.identity_id)];
                v.extend(set(a.resource.as_ref()).map(|r| ("resource", r)));
                v
            }
            Self::GcpIam(g) => vec![
                ("identityId", &g.identity_id),
                (
                    "serviceAccountKeyFilePath",
                    &g.service_account_key_file_path,
                ),
            ],
            Self::Oci(o) => {
                let mut v = vec![
                    ("identityId", &o.identity_id),
                    ("privateKey", &o.private_key),
                    ("fingerprint", &o.fingerprint),
                    ("userId", &o.user_id),
                    ("tenancyId", &o.tenancy_id),
                    ("region", &o.region),
                ];
                v.extend(
                    set(o.private_key_passphrase.as_ref()).map(|r| ("privateKeyPassphrase", r)),
                );
                v
            }
        }
    }

    /// Records a selector without a name under `field` (the path of `auth`).
    pub(crate) fn validate(&self, field: &str, errors: &mut ValidationErrors) {
        // The formats and the referent rules are eso-core's `validate_store`
        // (`InfisicalAuth::secret_refs`); what it does not ask is a name.
        for (k, sel) in self.selectors() {
            if sel.name.is_empty() {
                errors.push(format!("{field}.{}.{k}.name", self.key()), "is required");
            }
        }
    }

    /// Reads the credentials from their Secrets into a [`Login`].
    pub(crate) async fn login(&self, creds: &Credentials, field: &str) -> Result<Login> {
        let f = |k: &str| format!("{field}.{}.{k}", self.key());
        let text =
            async |sel: &SecretKeySelector, k: &str| creds.secret_text(sel, None, &f(k)).await;
        Ok(match self {
            Self::Aws(a) => Login::Aws {
                identity_id: text(&a.identity_id, "identityId").await?,
            },
            Self::GcpIdToken(a) => Login::GcpIdToken {
                identity_id: text(&a.identity_id, "identityId").await?,
            },
            Self::Azure(a) => {
                let resource = match set(a.resource.as_ref()) {
                    Some(r) => text(r, "resource")
                        .await?
                        .expose_str()
                        .unwrap_or_default()
                        .to_owned(),
                    None => AZURE_DEFAULT_RESOURCE.to_owned(),
                };
                Login::Azure {
                    identity_id: text(&a.identity_id, "identityId").await?,
                    resource,
                }
            }
            Self::GcpIam(g) => {
                let path = text(
                    &g.service_account_key_file_path,
                    "serviceAccountKeyFilePath",
                )
                .await?;
                Login::GcpIam {
                    identity_id: text(&g.identity_id, "identityId").await?,
                    key_file: PathBuf::from(path.expose_str().unwrap_or_default()),
                }
            }
            Self::Oci(o) => {
                if let Some(p) = set(o.private_key_passphrase.as_ref()) {
                    // Read so a missing Secret is reported; an encrypted key is refused below.
                    text(p, "privateKeyPassphrase").await?;
                }
                let pem = creds.secret(&o.private_key, None, &f("privateKey")).await?;
                let key = RsaKey::from_pem(pem.expose())
                    .map_err(|why| Error::invalid_config(f("privateKey"), why))?;
                let s =
                    |v: eso_core::SecretValue| v.expose_str().unwrap_or_default().trim().to_owned();
                Login::Oci {
                    identity_id: text(&o.identity_id, "identityId").await?,
                    key: Box::new(OciKey {
                        user: s(text(&o.user_id, "userId").await?),
                        tenancy: s(text(&o.tenancy_id, "tenancyId").await?),
                        fingerprint: s(text(&o.fingerprint, "fingerprint").await?),
                        region: s(text(&o.region, "region").await?),
                        key,
                    }),
                }
            }
        })
    }
}
