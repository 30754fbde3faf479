//! Pieces shared by the bench drivers (`operator_scale_load`, `soak`): installing ESO's CRDs
//! on a fresh API server and reading its request counters.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use eso_core::api::ExternalSecret;
use kube::api::{Api, Patch, PatchParams};

/// The drivers' error type.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// `apiserver_request_total`, summed by `verb resource`.
pub(crate) async fn api_requests(client: &kube::Client) -> Result<BTreeMap<String, f64>, Error> {
    let req = http::Request::get("/metrics").body(Vec::new())?;
    let text = client.request_text(req).await?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("apiserver_request_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |k: &str| {
            labels
                .split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
                .unwrap_or_default()
        };
        let v: f64 = value.trim().parse().unwrap_or(0.0);
        *out.entry(format!("{} {}", label("verb"), label("resource")))
            .or_insert(0.0) += v;
    }
    Ok(out)
}

/// Installs the ESO CRDs (server-side apply) and waits until they are served.
pub(crate) async fn install_crds(client: &kube::Client) -> Result<(), Error> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::CustomResourceExt as _;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [
        ExternalSecret::crd(),
        eso_core::api::SecretStore::crd(),
        eso_core::api::ClusterSecretStore::crd(),
        eso_core::api::PushSecret::crd(),
        eso_core::api::ClusterExternalSecret::crd(),
        eso_core::api::ClusterPushSecret::crd(),
    ] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply("eso-rs-bench").force(),
            &Patch::Apply(&crd),
        )
        .await?;
    }
    for _ in 0..100 {
        let served = Api::<ExternalSecret>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
            && Api::<eso_core::api::ClusterPushSecret>::all(client.clone())
                .list(&Default::default())
                .await
                .is_ok();
        if served {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the CRDs were not served in time".into())
}

/// Whether a list of conditions holds `Ready=True`.
pub(crate) fn ready(conditions: Option<&Vec<eso_core::api::Condition>>) -> bool {
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The `p` quantile (0..=1) of sorted values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
