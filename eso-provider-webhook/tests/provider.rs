//! The `webhook` store kind against a small HTTP server started in each test: templated URLs,
//! bodies and headers, Secrets in templates, JSONPath results, a CA made for the test,
//! timeouts, and HTTP statuses mapped to the kit's error kinds.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Reply, serve, serve_tls};
use eso_core::api::SecretStoreProvider;
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::provider::{
    DynProvider, ProviderRegistry, PushRef, PushValue, RemoteRef, StoreContext, StoreIdentity,
    StoreRetry, StoreScope, Validation,
};
use eso_core::{Error, SecretValue};
use serde_json::{Value, json};

const TOKEN: &str = "t0k3n-value";

fn cluster() -> DynCluster {
    Arc::new(
        MemoryCluster::new()
            .with_secret(
                KubeSecret::new("apps", "api")
                    .with_label("external-secrets.io/type", "webhook")
                    .with_data("token", TOKEN)
                    .with_data("user-name", "svc"),
            )
            .with_secret(
                KubeSecret::new("creds", "api")
                    .with_label("external-secrets.io/type", "webhook")
                    .with_data("token", "from-creds-namespace"),
            )
            .with_secret(KubeSecret::new("apps", "unlabelled").with_data("token", "x")),
    )
}

async fn build(scope: StoreScope, spec: Value) -> eso_core::Result<DynProvider> {
    let mut registry = ProviderRegistry::new();
    eso_provider_webhook::register(&mut registry);
    let spec: SecretStoreProvider = serde_json::from_value(json!({ "webhook": spec })).unwrap();
    let store = match scope {
        StoreScope::Cluster => StoreIdentity::new(scope, "", "hook"),
        _ => StoreIdentity::new(scope, "apps", "hook"),
    };
    let cluster = cluster();
    // No retries: the tests look at single calls.
    let ctx =
        StoreContext::new(&store, &spec, "apps", &cluster).with_retry(Some(StoreRetry::none()));
    registry.provider(&ctx).await
}

async fn provider(spec: Value) -> DynProvider {
    build(StoreScope::Namespaced, spec).await.unwrap()
}

fn auth() -> Value {
    json!([{"name": "auth", "secretRef": {"name": "api"}}])
}

fn text(v: &SecretValue) -> &str {
    v.expose_str().unwrap()
}

#[tokio::test]
async fn reads_a_json_path_from_a_templated_url_with_a_header_from_a_secret() {
    let server = serve(|_| Reply::json(200, r#"{"data": {"value": "s3cr3t", "n": 42}}"#)).await;
    let p = provider(json!({
        "url": format!("{}/secrets/{{{{ .remoteRef.key }}}}?version={{{{ .remoteRef.version }}}}&user={{{{ index .auth \"user-name\" }}}}", server.base),
        "headers": {"Authorization": "Bearer {{ .auth.token }}", "X-Ns": "{{ .remoteRef.namespace }}"},
        "secrets": auth(),
        "result": {"jsonPath": "$.data.{{ .remoteRef.property | default \"value\" }}"},
    }))
    .await;
    let v = p
        .get_secret(&RemoteRef::new("db/pass word").with_version("3"))
        .await
        .unwrap();
    assert_eq!(text(&v), "s3cr3t");
    let v = p
        .get_secret(&RemoteRef::new("db").with_property("n"))
        .await
        .unwrap();
    assert_eq!(text(&v), "42");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    // The key is query-escaped in the URL (as ESO does), the Secret values are not.
    assert_eq!(
        seen[0].line,
        "GET /secrets/db%2Fpass+word?version=3&user=svc"
    );
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0k3n-value"));
    assert_eq!(seen[0].header("x-ns"), Some("apps"));
}

#[tokio::test]
async fn posts_a_templated_body_and_extracts_a_map() {
    let server = serve(|s| {
        let req: Value = serde_json::from_str(&s.body).unwrap();
        let answer =
            json!({"result": {"for": req["name"], "prop": req["prop"], "port": 5432, "tls": true}});
        Reply::json(200, answer.to_string())
    })
    .await;
    let p = provider(json!({
        "url": format!("{}/lookup", server.base),
        "method": "POST",
        "body": r#"{"name": "{{ .remoteRef.key }}", "prop": "{{ .remoteRef.property }}", "token": "{{ .auth.token }}"}"#,
        "secrets": auth(),
        "result": {"jsonPath": "$.result"},
    }))
    .await;
    let m = p
        .get_secret_map(&RemoteRef::new("db/pass word").with_property("p"))
        .await
        .unwrap();
    assert_eq!(text(&m["for"]), "db/pass word");
    assert_eq!(text(&m["prop"]), "p");
    assert_eq!(text(&m["port"]), "5432");
    assert_eq!(text(&m["tls"]), "true");
    let seen = server.requests();
    assert_eq!(seen[0].line, "POST /lookup");
    assert!(
        seen[0].body.contains(r#""token": "t0k3n-value""#),
        "{}",
        seen[0].body
    );
}

#[tokio::test]
async fn without_a_json_path_the_body_is_the_value() {
    let server = serve(|_| Reply::json(200, "plain-text-value")).await;
    let p = provider(json!({"url": format!("{}/{{{{ .remoteRef.key }}}}", server.base)})).await;
    let v = p.get_secret(&RemoteRef::new("k")).await.unwrap();
    assert_eq!(text(&v), "plain-text-value");
}

#[tokio::test]
async fn https_with_a_ca_made_for_the_test() {
    use base64::Engine as _;
    let server = serve_tls(|_| Reply::json(200, r#"{"value": "over-tls"}"#)).await;
    let ca = server.ca_pem.clone().unwrap();
    let spec = |ca_bundle: Option<String>| {
        let mut s = json!({"url": format!("{}/{{{{ .remoteRef.key }}}}", server.base),
            "result": {"jsonPath": "$.value"}});
        if let Some(b) = ca_bundle {
            s["caBundle"] = json!(b);
        }
        s
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(ca.as_bytes());
    let p = provider(spec(Some(b64))).await;
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("k")).await.unwrap()),
        "over-tls"
    );

    // Without the CA the server's certificate is not trusted: a transport error, temporary.
    let p = provider(spec(None)).await;
    let e = p.get_secret(&RemoteRef::new("k")).await.unwrap_err();
    assert!(e.is_temporary(), "{e}");

    // caProvider: the CA from a ConfigMap.
    let cluster = Arc::new(MemoryCluster::new().with_config_map(
        eso_core::cluster::KubeConfigMap::new("apps", "ca").with_data("ca.crt", ca.as_str()),
    ));
    let cluster: DynCluster = cluster;
    let mut registry = ProviderRegistry::new();
    eso_provider_webhook::register(&mut registry);
    let mut s = spec(None);
    s["caProvider"] = json!({"type": "ConfigMap", "name": "ca", "key": "ca.crt"});
    let spec: SecretStoreProvider = serde_json::from_value(json!({ "webhook": s })).unwrap();
    let store = StoreIdentity::new(StoreScope::Namespaced, "apps", "hook");
    let p = registry
        .provider(&StoreContext::new(&store, &spec, "apps", &cluster))
        .await
        .unwrap();
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("k")).await.unwrap()),
        "over-tls"
    );
}

#[tokio::test]
async fn a_slow_endpoint_times_out() {
    let server = serve(|_| Reply {
        status: 200,
        body: "{}".into(),
        delay: Duration::from_secs(5),
    })
    .await;
    let p = provider(json!({"url": server.base, "timeout": "200ms"})).await;
    let started = std::time::Instant::now();
    let e = p.get_secret(&RemoteRef::new("k")).await.unwrap_err();
    assert!(e.is_temporary(), "{e}");
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn statuses_map_to_error_kinds_naming_the_store_without_secrets() {
    for status in [400u16, 401, 403, 404, 429, 500, 503] {
        let server = serve(move |_| Reply::json(status, r#"{"secret": "leaked-body"}"#)).await;
        let p = provider(json!({
            "url": format!("{}/{{{{ .remoteRef.key }}}}?t={{{{ .auth.token }}}}", server.base),
            "secrets": auth(),
        }))
        .await;
        let e = p.get_secret(&RemoteRef::new("db")).await.unwrap_err();
        let msg = format!("{e} {e:?}");
        assert!(
            !msg.contains(TOKEN) && !msg.contains("leaked-body"),
            "{msg}"
        );
        assert!(msg.contains("webhook SecretStore apps/hook"), "{msg}");
        match status {
            404 => assert!(e.is_not_found(), "{e}"),
            401 => assert!(matches!(e, Error::Unauthenticated { .. }), "{e}"),
            403 => assert!(matches!(e, Error::PermissionDenied { .. }), "{e}"),
            429 => assert!(matches!(e, Error::RateLimited { .. }), "{e}"),
            500 | 503 => assert!(e.is_temporary(), "{e}"),
            _ => assert!(!e.is_temporary() && !e.is_not_found(), "{e}"),
        }
    }
}

#[tokio::test]
async fn bad_answers_give_clear_errors() {
    let server = serve(|s| match s.line.as_str() {
        "GET /list" => Reply::json(200, r#"["a"]"#),
        "GET /nojson" => Reply::json(200, "<html>"),
        _ => Reply::json(200, r#"{"a": {}}"#),
    })
    .await;
    let p = provider(
        json!({"url": format!("{}/{{{{ .remoteRef.key }}}}", server.base),
        "result": {"jsonPath": "$.missing"}}),
    )
    .await;
    let e = p.get_secret(&RemoteRef::new("x")).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("spec.provider.webhook.result.jsonPath"),
        "{e}"
    );
    assert!(
        e.to_string().contains("webhook SecretStore apps/hook"),
        "{e}"
    );
    let e = p.get_secret(&RemoteRef::new("nojson")).await.unwrap_err();
    assert!(e.to_string().contains("not JSON"), "{e}");
    let p = provider(json!({"url": format!("{}/{{{{ .remoteRef.key }}}}", server.base)})).await;
    let e = p.get_secret_map(&RemoteRef::new("list")).await.unwrap_err();
    assert!(e.to_string().contains("must be a JSON object"), "{e}");
}

#[tokio::test]
async fn template_secrets_follow_labels_and_namespace_rules() {
    let server = serve(|s| Reply::json(200, json!({"v": s.header("x-token")}).to_string())).await;
    let spec = |name: &str, ns: Option<&str>| {
        let mut sel = json!({"name": name});
        if let Some(ns) = ns {
            sel["namespace"] = json!(ns);
        }
        json!({"url": server.base, "headers": {"X-Token": "{{ .auth.token }}"},
            "secrets": [{"name": "auth", "secretRef": sel}], "result": {"jsonPath": "$.v"}})
    };
    let p = provider(spec("unlabelled", None)).await;
    let e = p.get_secret(&RemoteRef::new("k")).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("spec.provider.webhook.secrets[0].secretRef.name"),
        "{e}"
    );
    assert!(
        e.to_string().contains("external-secrets.io/type: webhook"),
        "{e}"
    );
    // A ClusterSecretStore reads the namespace its reference names...
    let p = build(StoreScope::Cluster, spec("api", Some("creds")))
        .await
        .unwrap();
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("k")).await.unwrap()),
        "from-creds-namespace"
    );
    // ...and the consumer's when it names none.
    let p = build(StoreScope::Cluster, spec("api", None)).await.unwrap();
    assert_eq!(
        text(&p.get_secret(&RemoteRef::new("k")).await.unwrap()),
        TOKEN
    );
    // A SecretStore may not name another namespace.
    let e = build(StoreScope::Namespaced, spec("api", Some("creds")))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("secrets[0].secretRef.namespace"),
        "{e}"
    );
}

#[tokio::test]
async fn push_exists_and_delete() {
    let server = serve(|s| match (s.line.as_str(), s.body.as_str()) {
        ("GET /kv/missing", _) | ("DELETE /kv/missing", _) => Reply::json(404, "{}"),
        _ => Reply::json(200, "{}"),
    })
    .await;
    let p = provider(json!({
        "url": format!("{}/kv/{{{{ .remoteRef.key }}}}", server.base),
        "headers": {"Authorization": "Bearer {{ .auth.token }}"},
        "secrets": auth(),
    }))
    .await;
    assert!(p.capabilities().push && p.capabilities().delete);
    let value = PushValue::Single(SecretValue::from("pushed value"));
    p.push_secret(&value, &PushRef::new("db/pass"))
        .await
        .unwrap();
    assert!(p.secret_exists(&PushRef::new("db/pass")).await.unwrap());
    assert!(!p.secret_exists(&PushRef::new("missing")).await.unwrap());
    p.delete_secret(&PushRef::new("db/pass")).await.unwrap();
    p.delete_secret(&PushRef::new("missing")).await.unwrap();
    let seen = server.requests();
    let lines: Vec<_> = seen.iter().map(|s| s.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "POST /kv/db%2Fpass",
            "GET /kv/db%2Fpass",
            "GET /kv/missing",
            "DELETE /kv/db%2Fpass",
            "DELETE /kv/missing"
        ]
    );
    assert_eq!(seen[0].body, "pushed value");
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0k3n-value"));
    assert_eq!(seen[3].body, "");

    // A body template sees the push data; a whole-Secret push sends its keys as JSON.
    let p = provider(json!({
        "url": format!("{}/kv/{{{{ .remoteRef.remoteKey }}}}", server.base),
        "method": "PUT",
        "body": r#"{"key": "{{ .remoteRef.remoteKey }}", "from": "{{ .remoteRef.secretKey }}", "value": {{ .remoteRef.value | toJson }}, "eso": {{ index .remoteRef "app" | toJson }}}"#,
    }))
    .await;
    p.push_secret(&value, &PushRef::new("app").with_secret_key("password"))
        .await
        .unwrap();
    let seen = server.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.line, "PUT /kv/app");
    let body: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(
        body,
        json!({"key": "app", "from": "password", "value": "pushed value", "eso": "pushed value"})
    );
}

#[tokio::test]
async fn validate_checks_the_endpoint_and_ntlm_is_not_supported() {
    let server = serve(|_| Reply::json(200, "{}")).await;
    let p = provider(json!({"url": format!("{}/{{{{ .remoteRef.key }}}}", server.base)})).await;
    assert_eq!(p.validate().await.unwrap(), Validation::Ready);
    let p = provider(json!({"url": "http://127.0.0.1:1/x"})).await;
    assert!(p.validate().await.unwrap_err().is_temporary());
    let e = build(StoreScope::Namespaced, json!({"url": "http://x", "auth": {"ntlm": {
        "usernameSecret": {"name": "n", "key": "u"}, "passwordSecret": {"name": "n", "key": "p"}}}}))
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NotSupported(_)), "{e}");
    assert!(
        e.to_string().contains("spec.provider.webhook.auth.ntlm"),
        "{e}"
    );
    let e = p.get_all_secrets(&Default::default()).await.unwrap_err();
    assert!(matches!(e, Error::NotSupported(_)), "{e}");
}
