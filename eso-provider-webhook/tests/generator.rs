//! The `Webhook` generator against a small HTTP server started in each test (it shares the
//! request core with the `webhook` store kind).

mod common;

use std::sync::Arc;

use common::{Reply, serve};
use eso_core::cluster::{DynCluster, KubeSecret, MemoryCluster};
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_provider_webhook::WebhookGenerator;
use serde_json::{Value, json};

fn cluster() -> DynCluster {
    Arc::new(
        MemoryCluster::new()
            .with_secret(
                KubeSecret::new("default", "api")
                    .with_label("external-secrets.io/type", "webhook")
                    .with_data("token", "t0k3n")
                    .with_data("user-name", "svc"),
            )
            .with_secret(KubeSecret::new("default", "unlabelled").with_data("token", "x")),
    )
}

async fn generate(spec: Value) -> eso_core::Result<GeneratorOutput> {
    let cluster = cluster();
    let spec = eso_core::api::GeneratorSpec::parse("Webhook", spec)?;
    WebhookGenerator::new()
        .generate(&GeneratorContext::new(&spec, "default", &cluster))
        .await
}

fn text(out: &GeneratorOutput, key: &str) -> String {
    String::from_utf8(out.data[key].expose().to_vec()).unwrap()
}

#[tokio::test]
async fn post_with_templated_url_headers_and_body() {
    let server = serve(|_| {
        Reply::json(
            200,
            r#"{"credentials": {"user": "u1", "password": "p1", "port": 5432, "tls": true, "tags": ["a"], "none": null}}"#,
        )
    })
    .await;
    let out = generate(json!({
        "url": format!("{}/new?user={{{{ index .auth \"user-name\" | upper }}}}", server.base),
        "method": "POST",
        "headers": {"Authorization": "Bearer {{ .auth.token }}", "Content-Type": "application/json"},
        "body": "{\"token\": \"{{.auth.token}}\"}",
        "secrets": [{"name": "auth", "secretRef": {"name": "api", "key": "token"}}],
        "result": {"jsonPath": "$.credentials"},
        "timeout": "5s",
    }))
    .await
    .unwrap();
    assert_eq!(text(&out, "user"), "u1");
    assert_eq!(text(&out, "password"), "p1");
    assert_eq!(text(&out, "port"), "5432");
    assert_eq!(text(&out, "tls"), "true");
    assert_eq!(text(&out, "tags"), r#"["a"]"#);
    assert_eq!(text(&out, "none"), "");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].line, "POST /new?user=SVC");
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0k3n"));
    assert_eq!(seen[0].body, r#"{"token": "t0k3n"}"#);
}

#[tokio::test]
async fn get_whole_response_and_json_string_result() {
    let server = serve(|s| match s.line.as_str() {
        "GET /x" => Reply::json(200, r#"{"a": "1"}"#),
        _ => Reply::json(200, r#"{"data": [{"payload": "{\"k\": \"v\"}"}]}"#),
    })
    .await;
    let out = generate(json!({"url": format!("{}/x", server.base), "result": {}}))
        .await
        .unwrap();
    assert_eq!(text(&out, "a"), "1");
    let out = generate(json!({"url": format!("{}/y", server.base),
        "result": {"jsonPath": "$.data[0]['payload']"}}))
    .await
    .unwrap();
    assert_eq!(text(&out, "k"), "v");
}

#[tokio::test]
async fn status_codes_map_to_errors_without_url_or_body() {
    for (status, check) in [
        (
            404u16,
            (|e: &eso_core::Error| e.is_not_found()) as fn(&eso_core::Error) -> bool,
        ),
        (500, |e| e.is_temporary()),
        (401, |e| {
            e.to_string().starts_with("authentication failed: ")
        }),
    ] {
        let server = serve(move |_| Reply::json(status, r#"{"secret": "leak"}"#)).await;
        let e = generate(
            json!({"url": format!("{}/?t={{{{ .auth.token }}}}", server.base), "result": {},
            "secrets": [{"name": "auth", "secretRef": {"name": "api"}}]}),
        )
        .await
        .unwrap_err();
        assert!(check(&e), "{status}: {e}");
        let msg = format!("{e} {e:?}");
        assert!(!msg.contains("t0k3n") && !msg.contains("leak"), "{msg}");
    }
}

#[tokio::test]
async fn connection_errors_hide_the_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = generate(
        json!({"url": format!("http://{addr}/?t={{{{ .auth.token }}}}"), "result": {},
        "secrets": [{"name": "auth", "secretRef": {"name": "api"}}]}),
    )
    .await
    .unwrap_err();
    assert!(e.is_temporary());
    let mut msg = format!("{e} {e:?}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&s.to_string());
        src = s.source();
    }
    assert!(!msg.contains("t0k3n"), "{msg}");
}

#[tokio::test]
async fn spec_errors_name_fields() {
    let cases = [
        (
            json!({"url": "http://x", "result": {}, "secrets": [{"name": "a", "secretRef": {"name": "unlabelled"}}]}),
            "spec.secrets[0].secretRef.name: ",
        ),
        (
            json!({"url": "http://x", "result": {}, "secrets": [{"name": "a", "secretRef": {"name": "missing"}}]}),
            "spec.secrets[0].secretRef.name: ",
        ),
        (
            json!({"url": "http://x/{{ .a.b }}", "result": {}}),
            "template error: template: spec.url:",
        ),
        (
            json!({"url": "http://x", "headers": {"X": "{{ .nope.k }}"}, "result": {}}),
            "template error: template: spec.headers.X:",
        ),
        (json!({"url": "not a url", "result": {}}), "spec.url: "),
        (
            json!({"url": "http://x", "method": "GE T", "result": {}}),
            "spec.method: ",
        ),
        (
            json!({"url": "http://x", "timeout": "soon", "result": {}}),
            "spec.timeout: ",
        ),
        (
            json!({"url": "http://x", "caBundle": "!!", "result": {}}),
            "spec.caBundle: ",
        ),
        (
            json!({"url": "http://x", "caBundle": "LS0tLQ==", "result": {}}),
            "spec.caBundle: ",
        ),
        (
            json!({"url": "http://x", "caProvider": {"type": "ConfigMap", "name": "ca", "key": "ca.crt"}, "result": {}}),
            "spec.caProvider: ConfigMap default/ca not found",
        ),
        (
            json!({"url": "http://x", "auth": {"ntlm": {"usernameSecret": {"name": "a", "key": "u"}, "passwordSecret": {"name": "a", "key": "p"}}}, "result": {}}),
            "not supported: spec.auth.ntlm",
        ),
        (json!({"result": {}}), "spec: missing field `url`"),
    ];
    for (spec, prefix) in cases {
        let e = generate(spec.clone()).await.unwrap_err();
        assert!(e.to_string().starts_with(prefix), "{spec}: {e}");
    }
}
