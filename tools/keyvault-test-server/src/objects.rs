//! Certificates (import, get) and keys (import, get) of the Key Vault data plane, in memory.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hyper::StatusCode;
use serde_json::{Map, Value, json};

use crate::vault::Call;
use crate::{Resp, json_response, kv_error, now, random_hex};

/// Private members of a JSON Web Key, never returned.
const PRIVATE_JWK: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k", "t"];

#[derive(Clone, Debug)]
struct Version {
    id: String,
    /// Keys: the public JWK; certificates: `{"cer": base64 DER, "contentType": ...}`.
    body: Map<String, Value>,
    tags: Map<String, Value>,
    created: u64,
}

/// Keys and certificates by name, oldest version first.
#[derive(Debug, Default)]
pub(crate) struct Objects {
    keys: BTreeMap<String, Vec<Version>>,
    certs: BTreeMap<String, Vec<Version>>,
}

fn not_found(what: &str, name: &str) -> Resp {
    let code = if what == "key" {
        "KeyNotFound"
    } else {
        "CertificateNotFound"
    };
    kv_error(
        StatusCode::NOT_FOUND,
        code,
        &format!("A {what} with (name/id) {name} was not found in this key vault."),
    )
}

fn bad(msg: &str) -> Resp {
    kv_error(StatusCode::BAD_REQUEST, "BadParameter", msg)
}

fn attributes(v: &Version) -> Value {
    json!({"enabled": true, "created": v.created, "updated": v.created,
        "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90})
}

fn tags_of(body: &Value) -> Map<String, Value> {
    body.get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The DER of the first certificate of `value` (PEM text, or base64 of PKCS#12 or DER).
fn certificate_der(value: &str, password: &str) -> Result<(Vec<u8>, &'static str), String> {
    if value.contains("-----BEGIN CERTIFICATE-----") {
        let b64: String = value
            .split("-----BEGIN CERTIFICATE-----")
            .nth(1)
            .and_then(|r| r.split("-----END CERTIFICATE-----").next())
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let der = STANDARD.decode(b64).map_err(|e| format!("bad PEM: {e}"))?;
        if !value.contains("PRIVATE KEY-----") {
            return Err(
                "The specified PEM X.509 certificate content is missing a private key.".into(),
            );
        }
        return Ok((der, "application/x-pem-file"));
    }
    let raw = STANDARD
        .decode(value.split_whitespace().collect::<String>())
        .map_err(|e| format!("The certificate value is neither PEM nor base64: {e}"))?;
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&raw, password)
        .map_err(|e| format!("Unable to read the PKCS#12 content (wrong password?): {e}"))?;
    if archive.keys.is_empty() {
        return Err(
            "The specified PKCS#12 X.509 certificate content is missing a private key.".into(),
        );
    }
    let cert = archive
        .certs
        .first()
        .ok_or("The PKCS#12 content holds no certificate.")?;
    Ok((cert.cert.as_der().to_vec(), "application/x-pkcs12"))
}

impl Objects {
    /// Dispatches `/keys` and `/certificates` requests, `None` for other paths.
    pub(crate) fn route(&mut self, method: &str, seg: &[&str], c: &Call<'_>) -> Option<Resp> {
        Some(match (method, seg) {
            ("PUT", ["keys", name]) => self.import_key(name, c),
            ("GET", ["keys", name]) => self.get("key", name, None, c),
            ("GET", ["keys", name, version]) => self.get("key", name, Some(version), c),
            ("POST", ["certificates", name, "import"]) => self.import_cert(name, c),
            ("GET", ["certificates", name]) => self.get("certificate", name, None, c),
            ("GET", ["certificates", name, version]) => {
                self.get("certificate", name, Some(version), c)
            }
            _ => return None,
        })
    }

    fn bundle(what: &str, base: &str, name: &str, v: &Version) -> Value {
        let mut m = Map::new();
        m.insert("attributes".into(), attributes(v));
        if !v.tags.is_empty() {
            m.insert("tags".into(), Value::Object(v.tags.clone()));
        }
        if what == "key" {
            let mut k = v.body.clone();
            k.insert("kid".into(), format!("{base}/keys/{name}/{}", v.id).into());
            m.insert("key".into(), Value::Object(k));
        } else {
            m.extend(v.body.clone());
            m.insert(
                "id".into(),
                format!("{base}/certificates/{name}/{}", v.id).into(),
            );
            m.insert("kid".into(), format!("{base}/keys/{name}/{}", v.id).into());
            m.insert(
                "sid".into(),
                format!("{base}/secrets/{name}/{}", v.id).into(),
            );
        }
        Value::Object(m)
    }

    fn get(&self, what: &str, name: &str, version: Option<&str>, c: &Call<'_>) -> Resp {
        let map = if what == "key" {
            &self.keys
        } else {
            &self.certs
        };
        let found = map
            .get(name)
            .and_then(|vs| match version.filter(|v| !v.is_empty()) {
                None => vs.last(),
                Some(id) => vs.iter().find(|v| v.id == id),
            });
        match found {
            Some(v) => json_response(StatusCode::OK, &Self::bundle(what, c.base, name, v)),
            None => not_found(what, name),
        }
    }

    fn import_key(&mut self, name: &str, c: &Call<'_>) -> Resp {
        let Some(jwk) = c.body.get("key").and_then(Value::as_object) else {
            return bad("Property 'key' is required.");
        };
        let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or_default();
        let complete = match kty {
            "RSA" | "RSA-HSM" => {
                jwk.contains_key("n") && jwk.contains_key("e") && jwk.contains_key("d")
            }
            "EC" | "EC-HSM" => ["crv", "x", "y", "d"].iter().all(|k| jwk.contains_key(*k)),
            "oct" | "oct-HSM" => jwk.contains_key("k"),
            _ => return bad(&format!("Invalid key type: {kty}")),
        };
        if !complete {
            return bad("The key is missing private components: an import needs the private key.");
        }
        let body: Map<String, Value> = jwk
            .iter()
            .filter(|(k, _)| !PRIVATE_JWK.contains(&k.as_str()) && *k != "kid")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let v = Version {
            id: random_hex(),
            body,
            tags: tags_of(c.body),
            created: now(),
        };
        let out = Self::bundle("key", c.base, name, &v);
        self.keys.entry(name.to_owned()).or_default().push(v);
        json_response(StatusCode::OK, &out)
    }

    fn import_cert(&mut self, name: &str, c: &Call<'_>) -> Resp {
        let Some(value) = c.body.get("value").and_then(Value::as_str) else {
            return bad("Property 'value' is required.");
        };
        let pwd = c
            .body
            .get("pwd")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (der, detected) = match certificate_der(value, pwd) {
            Ok(d) => d,
            Err(e) => return bad(&e),
        };
        let declared = c.body["policy"]["secret_props"]["contentType"].as_str();
        if declared.is_some_and(|d| d != detected) {
            return bad(&format!(
                "The content type of the certificate ({detected}) does not match the policy's ({}).",
                declared.unwrap_or_default()
            ));
        }
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let mut body = Map::new();
        body.insert("cer".into(), STANDARD.encode(&der).into());
        body.insert("x5t".into(), URL_SAFE_NO_PAD.encode(sha1.as_ref()).into());
        body.insert("contentType".into(), detected.into());
        body.insert(
            "policy".into(),
            json!({"secret_props": {"contentType": detected}, "key_props": {"exportable": true}}),
        );
        let v = Version {
            id: random_hex(),
            body,
            tags: tags_of(c.body),
            created: now(),
        };
        let out = Self::bundle("certificate", c.base, name, &v);
        self.certs.entry(name.to_owned()).or_default().push(v);
        json_response(StatusCode::OK, &out)
    }
}
