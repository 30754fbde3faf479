//! ESO's validating admission webhook, as a function: an `AdmissionReview` in, its answer
//! out, from eso-core's validation (the same rules `esoctl validate` applies).
//!
//! ESO's webhook validates SecretStores, ClusterSecretStores, ExternalSecrets and PushSecrets
//! on create and update; [`review`] answers for every kind of ESO's API groups it is given
//! (the ValidatingWebhookConfiguration's rules choose which reach it). A denied object's
//! message names the object and every invalid field by its path, e.g.
//! `ExternalSecret demo/db: spec.refreshInterval: "5x" is not a duration`. Deletions, and
//! kinds outside ESO's groups, are allowed.
//!
//! Serving it (TLS, the certificate, the HTTP route) is the host's job: the `eso-operator`
//! binary's `webhook` mode is one host.
//!
//! # Example
//!
//! ```
//! use eso_kube::admission::review;
//!
//! let body = serde_json::json!({
//!     "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
//!     "request": {
//!         "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
//!         "kind": {"group": "external-secrets.io", "version": "v1", "kind": "ExternalSecret"},
//!         "resource": {"group": "external-secrets.io", "version": "v1", "resource": "externalsecrets"},
//!         "name": "db", "namespace": "demo", "operation": "CREATE",
//!         "userInfo": {"username": "alice"},
//!         "object": {
//!             "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
//!             "metadata": {"name": "db", "namespace": "demo"},
//!             "spec": {"refreshInterval": "5x", "secretStoreRef": {"name": "vault"}}
//!         }
//!     }
//! });
//! let answer = review(&serde_json::to_vec(&body).unwrap());
//! let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
//! assert_eq!(answer["response"]["allowed"], false);
//! let message = answer["response"]["status"]["message"].as_str().unwrap();
//! assert!(message.starts_with("ExternalSecret demo/db: spec.refreshInterval"), "{message}");
//! ```

use eso_core::api::Manifest;
use kube::api::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};

/// Answers one `AdmissionReview` (the JSON body the API server posts) with the JSON body to
/// send back. A body that is not an `AdmissionReview` gets a review answer that denies with
/// the reason (the API server then reports it), never a panic.
pub fn review(body: &[u8]) -> Vec<u8> {
    let response = match serde_json::from_slice::<AdmissionReview<DynamicObject>>(body) {
        Err(e) => AdmissionResponse::invalid(format!("not an AdmissionReview: {e}")),
        Ok(review) => match TryInto::<AdmissionRequest<DynamicObject>>::try_into(review) {
            Err(e) => AdmissionResponse::invalid(format!("not an AdmissionReview request: {e}")),
            Ok(request) => answer(&request),
        },
    };
    // An AdmissionReview of ours always serializes.
    serde_json::to_vec(&response.into_review()).unwrap_or_default()
}

/// The answer to one admission request: allowed, or denied with every invalid field.
pub fn answer(request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
    let allowed = AdmissionResponse::from(request);
    if matches!(request.operation, Operation::Delete | Operation::Connect) {
        return allowed;
    }
    let Some(object) = &request.object else {
        return allowed;
    };
    match check(object) {
        Ok(()) => allowed,
        Err(message) => {
            let who = object_name(request);
            tracing::info!(object = %who, "admission denied");
            allowed.deny(format!("{who}: {message}"))
        }
    }
}

/// Validates `object` as the ESO kind it is.
fn check(object: &DynamicObject) -> Result<(), String> {
    let value = serde_json::to_value(object).map_err(|e| e.to_string())?;
    let manifest = Manifest::from_value(value).map_err(|e| e.to_string())?;
    manifest.validate().map_err(|e| e.to_string())
}

/// `Kind namespace/name` (or `Kind name` for cluster-scoped kinds).
fn object_name(request: &AdmissionRequest<DynamicObject>) -> String {
    let kind = &request.kind.kind;
    match request.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{kind} {ns}/{}", request.name),
        _ => format!("{kind} {}", request.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str, operation: &str, object: serde_json::Value) -> Vec<u8> {
        let body = serde_json::json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {
                "uid": "u-1",
                "kind": {"group": "external-secrets.io", "version": "v1", "kind": kind},
                "resource": {"group": "external-secrets.io", "version": "v1", "resource": "x"},
                "name": "s", "namespace": "ns", "operation": operation,
                "userInfo": {}, "object": object
            }
        });
        serde_json::to_vec(&body).unwrap()
    }

    fn response(body: &[u8]) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&review(body)).unwrap();
        v["response"].clone()
    }

    #[test]
    fn a_valid_store_is_allowed_and_the_uid_echoed() {
        let store = serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"provider": {"fake": {"data": []}}}
        });
        let r = response(&request("SecretStore", "CREATE", store));
        assert_eq!(r["allowed"], true);
        assert_eq!(r["uid"], "u-1");
    }

    #[test]
    fn an_invalid_store_is_denied_with_the_field_path() {
        let store = serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"provider": {}}
        });
        let r = response(&request("SecretStore", "UPDATE", store));
        assert_eq!(r["allowed"], false);
        let message = r["status"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("SecretStore ns/s: spec.provider"),
            "{message}"
        );
    }

    #[test]
    fn deletions_and_garbage_are_answered_without_panicking() {
        let r = response(&request("SecretStore", "DELETE", serde_json::Value::Null));
        assert_eq!(r["allowed"], true);
        let r = response(b"{not json");
        assert_eq!(r["allowed"], false);
        assert!(
            r["status"]["message"]
                .as_str()
                .unwrap()
                .contains("not an AdmissionReview")
        );
    }
}
