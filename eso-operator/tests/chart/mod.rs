//! The Helm chart rendered by `helm template` (the `HELM` that `scripts/backends/helm.sh`
//! builds) and its objects applied to the kube-apiserver.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Command;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::Value;

/// The chart's rendered documents.
pub struct Rendered(pub Vec<Value>);

fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/charts/eso-rs")
}

/// `helm template eso <chart> --namespace ns --set ...`; None when `HELM` is not set.
pub fn render(namespace: &str, sets: &[&str]) -> Option<Rendered> {
    let helm = std::env::var("HELM").ok().filter(|h| !h.is_empty())?;
    let mut cmd = Command::new(helm);
    cmd.args(["template", "eso"])
        .arg(chart_dir())
        .args(["--namespace", namespace]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs = text
        .split("\n---")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .filter_map(|d| serde_saphyr::from_str::<Value>(d).ok())
        .filter(|v| v.is_object())
        .collect();
    Some(Rendered(docs))
}

impl Rendered {
    /// The documents of `kind`.
    pub fn of(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|d| d["kind"] == kind).collect()
    }

    /// The one document of `kind` whose name satisfies `pick`.
    pub fn one(&self, kind: &str, pick: impl Fn(&str) -> bool) -> &Value {
        let found: Vec<_> = self
            .of(kind)
            .into_iter()
            .filter(|d| pick(d["metadata"]["name"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(found.len(), 1, "one {kind} expected");
        found[0]
    }

    /// The container args of the Deployment whose name satisfies `pick`.
    pub fn args(&self, pick: impl Fn(&str) -> bool) -> Vec<String> {
        let d = self.one("Deployment", pick);
        d["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    }
}

/// The API of `doc`'s kind (namespaced when it has a namespace).
pub fn api_for(client: &kube::Client, doc: &Value) -> Api<DynamicObject> {
    let (group, version) = match doc["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", doc["apiVersion"].as_str().unwrap()),
    };
    let gvk = GroupVersionKind::gvk(group, version, doc["kind"].as_str().unwrap());
    let ar = ApiResource::from_gvk(&gvk);
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    }
}

/// Applies `doc` as the admin (server-side apply).
pub async fn apply(client: &kube::Client, doc: &Value) {
    let name = doc["metadata"]["name"].as_str().unwrap();
    api_for(client, doc)
        .patch(
            name,
            &PatchParams::apply("eso-rs-tests").force(),
            &Patch::Apply(doc),
        )
        .await
        .unwrap_or_else(|e| panic!("apply {} {name}: {e}", doc["kind"]));
}

/// Deletes `doc` (ignoring a missing one).
pub async fn delete(client: &kube::Client, doc: &Value) {
    let name = doc["metadata"]["name"].as_str().unwrap();
    let _ = api_for(client, doc).delete(name, &Default::default()).await;
}

/// A token of ServiceAccount `namespace/name` (TokenRequest, one hour).
pub async fn token(client: &kube::Client, namespace: &str, name: &str) -> String {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let answer = api
        .create_token_request(name, &Default::default(), &request)
        .await
        .unwrap();
    answer.status.unwrap().token
}

/// `args` with every `--flag=...` of `replace` given the new value.
pub fn with_args(args: &[String], replace: &[(&str, String)]) -> Vec<String> {
    args.iter()
        .map(|a| {
            let flag = a.split_once('=').map_or(a.as_str(), |(f, _)| f);
            match replace.iter().find(|(f, _)| *f == flag) {
                Some((f, v)) => format!("{f}={v}"),
                None => a.clone(),
            }
        })
        .collect()
}
