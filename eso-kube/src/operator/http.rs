//! [`Endpoints`]: the operator's HTTP side, one axum [`Router`] a host serves: `/metrics`,
//! `/healthz`, `/readyz` and the authenticated `POST /refresh`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use eso_core::api::{ExternalSecret, SecretStoreKind, SecretStoreRef};
use eso_core::provider::CallObserver;
use kube::ResourceExt as _;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};

use super::Metrics;

/// ESO's annotation that forces a refresh of an ExternalSecret when its value changes.
pub const FORCE_SYNC_ANNOTATION: &str = "force-sync";

/// The HTTP side of an [`Operator`](super::Operator), shared with it: take it with
/// [`Operator::endpoints`](super::Operator::endpoints) and serve [`Endpoints::router`].
///
/// - `GET /metrics`: [`Metrics`] in Prometheus' text format (ESO's metric names);
/// - `GET /healthz`: 200 while the process serves;
/// - `GET /readyz`: 200 once the operator has listed the ExternalSecrets, 503 before;
/// - `POST /refresh` (only with a token, [`Operator::with_refresh_token`](super::Operator::with_refresh_token)):
///   refreshes at once the ExternalSecrets that read a store's remote key, for a cloud event
///   handler to call when a source secret changed. Body (JSON):
///   `{"store": {"kind": "ClusterSecretStore", "name": "aws"}, "key": "prod/db"}` (for a
///   `SecretStore`, `"namespace"` names the store's namespace). The caller sends
///   `Authorization: Bearer <token>`; without the right token the answer is 401. Each
///   matching ExternalSecret (its `secretStoreRef` or an entry's `sourceRef.storeRef` is the
///   store, and a `data[].remoteRef.key` or `dataFrom[].extract.key` is the key) gets ESO's
///   `force-sync` annotation set to the current time, which the operator acts on like a
///   user's `kubectl annotate`. The answer lists them: `{"refreshed": ["ns/name", ...]}`.
///
/// # Example
///
/// ```no_run
/// use eso_core::provider::ProviderRegistry;
/// use eso_kube::operator::{Operator, Shutdown};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = kube::Client::try_default().await?;
/// let operator = Operator::new(client, ProviderRegistry::new())
///     .with_refresh_token(std::env::var("REFRESH_TOKEN")?);
/// let app = operator.endpoints().router();
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// tokio::spawn(async move { axum::serve(listener, app).await });
/// operator.run(Shutdown::on_signals()).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Endpoints {
    inner: Arc<Inner>,
}

struct Inner {
    client: kube::Client,
    metrics: Arc<Metrics>,
    refresh_token: RwLock<Option<String>>,
    external_secrets: RwLock<Option<Store<ExternalSecret>>>,
    ready: AtomicBool,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("ready", &self.inner.ready.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The body of `POST /refresh`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    store: SecretStoreRef,
    #[serde(default)]
    namespace: Option<String>,
    key: String,
}

/// The answer of `POST /refresh`.
#[derive(Debug, Serialize)]
struct Refreshed {
    refreshed: Vec<String>,
}

impl Endpoints {
    pub(super) fn new(client: kube::Client, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                metrics,
                refresh_token: RwLock::new(None),
                external_secrets: RwLock::new(None),
                ready: AtomicBool::new(false),
            }),
        }
    }

    /// The operator's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The provider-call observer of the operator's providers (its [`Metrics`]).
    pub(super) fn observer(&self) -> Arc<dyn CallObserver> {
        Arc::clone(&self.inner.metrics) as Arc<dyn CallObserver>
    }

    pub(super) fn set_refresh_token(&self, token: String) {
        *self
            .inner
            .refresh_token
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(token);
    }

    pub(super) fn set_external_secrets(&self, store: Store<ExternalSecret>) {
        *self
            .inner
            .external_secrets
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(store);
    }

    pub(super) fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Relaxed);
    }

    /// True once the operator's caches are filled.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// The router: `/metrics`, `/healthz`, `/readyz`, and `/refresh` when a refresh token is
    /// set (see the type's docs). Serve it with `axum::serve`, or nest it in a host's router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/refresh", post(refresh))
            .with_state(self.clone())
    }

    /// The ExternalSecrets in the cache that read `key` from the store `store` (in
    /// `namespace` for a SecretStore), as `namespace/name`.
    fn readers(
        &self,
        store: &SecretStoreRef,
        namespace: Option<&str>,
        key: &str,
    ) -> Vec<(String, String)> {
        let guard = self
            .inner
            .external_secrets
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let Some(cache) = guard.as_ref() else {
            return Vec::new();
        };
        let mut out: Vec<(String, String)> = cache
            .state()
            .iter()
            .filter(|es| reads(es, store, namespace, key))
            .map(|es| (es.namespace().unwrap_or_default(), es.name_any()))
            .collect();
        out.sort();
        out
    }
}

fn same_store(a: &SecretStoreRef, b: &SecretStoreRef) -> bool {
    a.name == b.name && a.kind() == b.kind()
}

/// True when `es` reads `key` from `store`.
fn reads(es: &ExternalSecret, store: &SecretStoreRef, namespace: Option<&str>, key: &str) -> bool {
    if store.kind() == SecretStoreKind::SecretStore && es.namespace().as_deref() != namespace {
        return false;
    }
    let default = es.spec.secret_store_ref.as_ref();
    let uses = |own: Option<&SecretStoreRef>| own.or(default).is_some_and(|s| same_store(s, store));
    let data = es.spec.data.iter().flatten().any(|d| {
        d.remote_ref.key == key && uses(d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()))
    });
    let data_from = es.spec.data_from.iter().flatten().any(|d| {
        d.extract.as_ref().is_some_and(|e| e.key == key)
            && d.generator_ref().is_none()
            && uses(d.source_ref.as_ref().and_then(|s| s.store_ref.as_ref()))
    });
    data || data_from
}

async fn metrics(State(e): State<Endpoints>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        e.inner.metrics.encode(),
    )
        .into_response()
}

async fn readyz(State(e): State<Endpoints>) -> Response {
    if e.is_ready() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced yet").into_response()
    }
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorised(e: &Endpoints, headers: &HeaderMap) -> bool {
    let token = e
        .inner
        .refresh_token
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same_secret(given.trim().as_bytes(), token.as_bytes()))
}

async fn refresh(State(e): State<Endpoints>, headers: HeaderMap, body: String) -> Response {
    if !authorised(&e, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid bearer token is required",
        )
            .into_response();
    }
    let req: RefreshRequest = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("refresh request: {err}")).into_response();
        }
    };
    if req.store.kind() == SecretStoreKind::SecretStore && req.namespace.is_none() {
        return (
            StatusCode::BAD_REQUEST,
            "refresh request: namespace: required for a SecretStore",
        )
            .into_response();
    }
    let readers = e.readers(&req.store, req.namespace.as_deref(), &req.key);
    let stamp = jiff::Timestamp::now().as_millisecond().to_string();
    let patch = serde_json::json!({"metadata": {"annotations": {FORCE_SYNC_ANNOTATION: stamp}}});
    let mut refreshed = Vec::new();
    for (ns, name) in readers {
        let api: Api<ExternalSecret> = Api::namespaced(e.inner.client.clone(), &ns);
        match api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => refreshed.push(format!("{ns}/{name}")),
            Err(err) => {
                tracing::warn!(object = %format!("ExternalSecret/{ns}/{name}"), error = %err, "refresh: could not annotate");
            }
        }
    }
    tracing::info!(store = %req.store.name, count = refreshed.len(), "refresh requested");
    match serde_json::to_string(&Refreshed { refreshed }) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_store_and_the_key() {
        let es: ExternalSecret = serde_json::from_value(serde_json::json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "a", "namespace": "n"},
            "spec": {"secretStoreRef": {"name": "s"},
                     "data": [{"secretKey": "x", "remoteRef": {"key": "db"}},
                              {"secretKey": "y", "remoteRef": {"key": "api"},
                               "sourceRef": {"storeRef": {"name": "c", "kind": "ClusterSecretStore"}}}],
                     "dataFrom": [{"extract": {"key": "bundle"}}]}
        }))
        .unwrap();
        let ss = SecretStoreRef {
            name: "s".into(),
            kind: None,
        };
        let css = SecretStoreRef {
            name: "c".into(),
            kind: Some(SecretStoreKind::ClusterSecretStore),
        };
        assert!(reads(&es, &ss, Some("n"), "db"));
        assert!(reads(&es, &ss, Some("n"), "bundle"));
        assert!(
            !reads(&es, &ss, Some("other"), "db"),
            "another namespace's store"
        );
        assert!(
            !reads(&es, &ss, Some("n"), "api"),
            "read from the cluster store"
        );
        assert!(reads(&es, &css, None, "api"));
        assert!(!reads(&es, &css, None, "db"));
    }

    #[test]
    fn token_comparison() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }
}
