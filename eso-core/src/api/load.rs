//! Reading ESO manifests from YAML or JSON: [`parse_documents`] and [`Manifest`].
//!
//! Multi-document YAML is split into documents; each is parsed on its own, so one broken
//! document does not hide the others. Documents of other kinds (Deployments, ...) are kept as
//! [`Manifest::Other`]. `external-secrets.io/v1beta1` ExternalSecrets, SecretStores and
//! ClusterSecretStores are converted to `v1` on load.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;

/// The largest document accepted, in bytes. The Kubernetes API server refuses request
/// bodies above 3 MiB, so no real manifest is larger.
pub const MAX_DOCUMENT_BYTES: usize = 3 * 1024 * 1024;

/// Why a document could not be loaded: where (a field path, when known) and why.
///
/// # Example
///
/// ```
/// use eso_core::api::Manifest;
///
/// let doc = serde_json::json!({
///     "apiVersion": "external-secrets.io/v1",
///     "kind": "ExternalSecret",
///     "metadata": {"name": "x"},
///     "spec": {"target": {"creationPolicy": "Sometimes"}}
/// });
/// let err = Manifest::from_value(doc).unwrap_err();
/// assert_eq!(err.path, "spec.target.creationPolicy");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct LoadError {
    /// The field path (`spec.data[0].remoteRef`), or empty for a document-level problem.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl LoadError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// One YAML document of a file, parsed as JSON.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Document {
    /// Position of the document in its file, from 0.
    pub index: usize,
    /// The document (never `null`: empty documents are skipped).
    pub value: Value,
}

impl Document {
    /// `apiVersion`, or `""`.
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `kind`, or `""`.
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name`, or `""`.
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Splits a YAML stream into documents and parses each. Empty documents are skipped; a
/// document that is not valid YAML, is too large or too deeply nested gives an error at its
/// index and the others are still returned.
///
/// # Example
///
/// ```
/// use eso_core::api::parse_documents;
///
/// let docs = parse_documents("a: 1\n---\n[unclosed\n---\nb: 2\n");
/// assert_eq!(docs.len(), 3);
/// assert!(docs[1].1.is_err());
/// assert_eq!(docs[2].1.as_ref().unwrap().value["b"], 2);
/// ```
pub fn parse_documents(input: &str) -> Vec<(usize, Result<Document, LoadError>)> {
    let mut out = Vec::new();
    for (index, (line, text)) in split_documents(input).into_iter().enumerate() {
        if text.len() > MAX_DOCUMENT_BYTES {
            out.push((
                index,
                Err(LoadError::new(
                    "",
                    format!(
                        "document is {} bytes, more than the {MAX_DOCUMENT_BYTES} bytes the Kubernetes API accepts",
                        text.len()
                    ),
                )),
            ));
            continue;
        }
        if text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---" || t == "..." || t.starts_with("%")
        }) {
            continue;
        }
        match super::parse_yaml::<Value>(text) {
            Ok(Value::Null) => {}
            Ok(value) => out.push((index, Ok(Document { index, value }))),
            Err(e) => {
                // Lines counted in the file, not in the document; the text is never quoted
                // (a Secret's data may be in it).
                let e = e.offset_lines(line);
                out.push((index, Err(LoadError::new("", format!("invalid YAML: {e}")))));
            }
        }
    }
    out
}

/// Splits at `---` document markers at the start of a line (YAML's rule: inside a document
/// such a line can only be content of a quoted scalar, which ESO manifests never have).
/// Each document comes with the number of lines before it in the input.
fn split_documents(input: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let (mut start, mut start_line) = (0, 0);
    let mut pos = 0;
    for (line_no, line) in input.split_inclusive('\n').enumerate() {
        let is_marker =
            line.starts_with("---") && line[3..].chars().next().is_none_or(|c| c.is_whitespace());
        if is_marker && pos > 0 {
            docs.push((start_line, &input[start..pos]));
            (start, start_line) = (pos, line_no);
        }
        pos += line.len();
    }
    docs.push((start_line, &input[start..]));
    docs
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, LoadError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        // ESO's kinds hold references to secrets, not secret values: their messages keep
        // the offending value (`invalid duration "1d"`), which is what a user needs to fix it.
        LoadError::new(path, short_serde_message(&e.into_inner().to_string()))
    })
}

/// serde's messages list every expected variant; keep them but cap the length.
fn short_serde_message(msg: &str) -> String {
    const MAX: usize = 300;
    if msg.len() <= MAX {
        return msg.to_owned();
    }
    let mut end = MAX;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &msg[..end])
}

macro_rules! manifests {
    ($( $variant:ident($ty:ty) ),* $(,)?) => {
        /// A loaded ESO object of any kind, or another kind's document.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        #[allow(clippy::large_enum_variant)]
        pub enum Manifest {
            $(
                #[doc = concat!("A `", stringify!($variant), "`.")]
                $variant(Box<$ty>),
            )*
            /// A document of a kind outside ESO's API groups.
            Other {
                /// Its `apiVersion`.
                api_version: String,
                /// Its `kind`.
                kind: String,
            },
        }

        impl Manifest {
            fn from_known(kind: &str, value: Value) -> Option<Result<Self, LoadError>> {
                match kind {
                    $( stringify!($variant) => Some(typed::<$ty>(value).map(|o| Self::$variant(Box::new(o)))), )*
                    _ => None,
                }
            }

            fn expected_api_version(kind: &str) -> Option<&'static str> {
                match kind {
                    $( stringify!($variant) => Some(<$ty as EsoResource>::API_VERSION), )*
                    _ => None,
                }
            }

            /// Checks ESO's admission rules (`Ok` for [`Manifest::Other`]).
            pub fn validate(&self) -> Result<(), ValidationErrors> {
                match self {
                    $( Self::$variant(o) => o.validate(), )*
                    Self::Other { .. } => Ok(()),
                }
            }

            /// Serializes back to JSON (with `apiVersion` and `kind`).
            pub fn to_value(&self) -> Result<Value, crate::Error> {
                let v = match self {
                    $( Self::$variant(o) => serde_json::to_value(o), )*
                    Self::Other { api_version, kind } => Ok(serde_json::json!({"apiVersion": api_version, "kind": kind})),
                };
                v.map_err(|e| crate::Error::Conversion(e.to_string()))
            }
        }
    };
}

manifests! {
    ExternalSecret(ExternalSecret),
    ClusterExternalSecret(ClusterExternalSecret),
    PushSecret(PushSecret),
    ClusterPushSecret(ClusterPushSecret),
    SecretStore(SecretStore),
    ClusterSecretStore(ClusterSecretStore),
    ACRAccessToken(ACRAccessToken),
    BeyondtrustWorkloadCredentialsDynamicSecret(BeyondtrustWorkloadCredentialsDynamicSecret),
    CloudsmithAccessToken(CloudsmithAccessToken),
    ECRAuthorizationToken(ECRAuthorizationToken),
    Fake(Fake),
    GCRAccessToken(GCRAccessToken),
    GithubAccessToken(GithubAccessToken),
    GitlabDeployToken(GitlabDeployToken),
    QuayAccessToken(QuayAccessToken),
    Password(Password),
    SSHKey(SSHKey),
    STSSessionToken(STSSessionToken),
    UUID(UUID),
    VaultDynamicSecret(VaultDynamicSecret),
    Webhook(Webhook),
    Grafana(Grafana),
    MFA(MFA),
    ClusterGenerator(ClusterGenerator),
    GeneratorState(GeneratorState),
}

const ESO_GROUP: &str = "external-secrets.io";
const GENERATORS_GROUP: &str = "generators.external-secrets.io";

impl Manifest {
    /// Loads one document. Kinds outside ESO's API groups give [`Manifest::Other`]; an ESO
    /// group with an unknown kind or unserved version is an error.
    pub fn from_value(value: Value) -> Result<Self, LoadError> {
        let Value::Object(obj) = &value else {
            return Err(LoadError::new("", "a manifest must be a mapping"));
        };
        let api_version = match obj.get("apiVersion") {
            Some(Value::String(s)) => s.clone(),
            None => return Err(LoadError::new("apiVersion", "is required")),
            Some(_) => return Err(LoadError::new("apiVersion", "must be a string")),
        };
        let kind = match obj.get("kind") {
            Some(Value::String(s)) => s.clone(),
            None => return Err(LoadError::new("kind", "is required")),
            Some(_) => return Err(LoadError::new("kind", "must be a string")),
        };
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        if group != ESO_GROUP && group != GENERATORS_GROUP {
            return Ok(Self::Other { api_version, kind });
        }
        let Some(expected) = Self::expected_api_version(&kind) else {
            return Err(LoadError::new(
                "kind",
                format!("{kind:?} is not a kind of the {group} API group"),
            ));
        };
        let value = if api_version == expected {
            value
        } else if api_version == V1BETA1 || api_version == V1ALPHA1 {
            let value = if api_version == V1ALPHA1 {
                v1alpha1_to_v1beta1(value, &kind).map_err(|e| LoadError::new(e.path, e.message))?
            } else {
                value
            };
            match kind.as_str() {
                "ExternalSecret" => {
                    super::v1beta1_external_secret::external_secret_v1beta1_to_v1(value)
                        .map_err(|e| LoadError::new(e.path, e.message))?
                }
                "ClusterExternalSecret" => {
                    super::v1beta1_external_secret::cluster_external_secret_v1beta1_to_v1(value)
                        .map_err(|e| LoadError::new(e.path, e.message))?
                }
                "SecretStore" | "ClusterSecretStore" => {
                    super::v1beta1_secret_store::secret_store_v1beta1_to_v1(value)
                        .map_err(|e| LoadError::new(e.path, e.message))?
                }
                _ => return Err(unserved(&api_version, &kind, expected)),
            }
        } else {
            return Err(unserved(&api_version, &kind, expected));
        };
        match Self::from_known(&kind, value) {
            Some(r) => r,
            None => Err(unserved(&api_version, &kind, expected)),
        }
    }

    /// The kind name.
    pub fn kind(&self) -> &str {
        match self.to_meta() {
            Some((k, _)) => k,
            None => match self {
                Self::Other { kind, .. } => kind,
                _ => "",
            },
        }
    }

    fn to_meta(&self) -> Option<(&'static str, &ObjectMeta)> {
        macro_rules! arms {
            ($($v:ident),*) => {
                match self {
                    $( Self::$v(o) => Some((stringify!($v), o.meta())), )*
                    Self::Other { .. } => None,
                }
            };
        }
        arms!(
            ExternalSecret,
            ClusterExternalSecret,
            PushSecret,
            ClusterPushSecret,
            SecretStore,
            ClusterSecretStore,
            ACRAccessToken,
            BeyondtrustWorkloadCredentialsDynamicSecret,
            CloudsmithAccessToken,
            ECRAuthorizationToken,
            Fake,
            GCRAccessToken,
            GithubAccessToken,
            GitlabDeployToken,
            QuayAccessToken,
            Password,
            SSHKey,
            STSSessionToken,
            UUID,
            VaultDynamicSecret,
            Webhook,
            Grafana,
            MFA,
            ClusterGenerator,
            GeneratorState
        )
    }

    /// `metadata` of an ESO object (`None` for [`Manifest::Other`]).
    pub fn metadata(&self) -> Option<&ObjectMeta> {
        self.to_meta().map(|(_, m)| m)
    }

    /// True for ESO kinds.
    pub fn is_eso(&self) -> bool {
        !matches!(self, Self::Other { .. })
    }
}

const V1BETA1: &str = "external-secrets.io/v1beta1";
const V1ALPHA1: &str = "external-secrets.io/v1alpha1";

/// Lifts an `external-secrets.io/v1alpha1` ExternalSecret or store to the v1beta1 shape, which
/// the v1beta1 converters then take to v1. ESO stopped serving v1alpha1 long ago, but its own
/// docs still carry such manifests. The one structural change is `dataFrom`: in v1alpha1 each
/// entry is a remote reference, in later versions it sits under `extract`. The removed
/// template engine v1 (v1alpha1's default) is refused when a template is present.
fn v1alpha1_to_v1beta1(mut value: Value, kind: &str) -> Result<Value, FieldError> {
    if !matches!(
        kind,
        "ExternalSecret" | "SecretStore" | "ClusterSecretStore"
    ) {
        return Err(FieldError::new(
            "apiVersion",
            format!("{kind} has no {V1ALPHA1} version"),
        ));
    }
    if let Some(obj) = value.as_object_mut() {
        obj.insert("apiVersion".to_owned(), Value::String(V1BETA1.to_owned()));
    }
    if kind == "ExternalSecret" {
        if let Some(template) = value.pointer_mut("/spec/target/template")
            && let Some(t) = template.as_object_mut()
            && !t.contains_key("engineVersion")
        {
            t.insert("engineVersion".to_owned(), Value::String("v1".to_owned()));
        }
        if let Some(Value::Array(items)) = value.pointer_mut("/spec/dataFrom") {
            for item in items.iter_mut() {
                if item.get("key").is_some() {
                    let remote = std::mem::take(item);
                    *item = serde_json::json!({ "extract": remote });
                }
            }
        }
    }
    Ok(value)
}

fn unserved(api_version: &str, kind: &str, expected: &str) -> LoadError {
    LoadError::new(
        "apiVersion",
        format!("{kind} is not served as {api_version:?}; use {expected:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents() {
        let docs = split_documents("---\na: 1\n---\nb: 2\n--- # c\nc: 3\n----x: 1\n");
        assert_eq!(
            docs,
            [
                (0, "---\na: 1\n"),
                (2, "---\nb: 2\n"),
                (4, "--- # c\nc: 3\n----x: 1\n")
            ]
        );
    }

    #[test]
    fn syntax_errors_give_the_file_line_and_hide_the_text() {
        let text = "a: 1\n---\nkind: Secret\nstringData:\n  password: \"s3cr3t-Q\n  x: [\n";
        let docs = parse_documents(text);
        let err = docs[1].1.as_ref().unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.starts_with("invalid YAML: line "), "{err}");
        let line: usize = err["invalid YAML: line ".len()..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(line >= 3, "line in the file, not in the document: {err}");
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let docs = parse_documents(&deep);
        assert_eq!(docs.len(), 1);
        assert!(docs[0].1.is_err());
        let deep_block: String = (0..2000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(parse_documents(&deep_block)[0].1.is_err());
    }

    #[test]
    fn oversized_document_is_an_error() {
        let big = format!("a: \"{}\"\n", "x".repeat(MAX_DOCUMENT_BYTES));
        let docs = parse_documents(&big);
        assert!(docs[0].1.as_ref().unwrap_err().message.contains("bytes"));
    }

    #[test]
    fn other_kinds_pass_through() {
        let m = Manifest::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Secret"}))
            .unwrap();
        assert!(!m.is_eso());
        assert!(m.validate().is_ok());
    }

    #[test]
    fn unknown_eso_kind_and_version() {
        let e = Manifest::from_value(
            serde_json::json!({"apiVersion": "external-secrets.io/v1", "kind": "Nope"}),
        )
        .unwrap_err();
        assert_eq!(e.path, "kind");
        let e = Manifest::from_value(
            serde_json::json!({"apiVersion": "external-secrets.io/v9", "kind": "ExternalSecret"}),
        )
        .unwrap_err();
        assert_eq!(e.path, "apiVersion");
    }
}
