//! Request counting at moto: N ExternalSecrets over K distinct Secrets Manager secrets in one
//! pass cost at most ceil(K/20) BatchGetSecretValue calls and no single reads.

mod common;

use std::sync::Arc;

use eso_core::api::{Manifest, parse_documents};
use eso_core::cluster::{Cluster as _, MemoryCluster};
use eso_core::provider::ProviderRegistry;
use eso_core::reconcile::{MemoryCatalog, Pass, Reconciler};
use eso_core::testing::conformance::unique_prefix;

#[tokio::test]
async fn n_external_secrets_over_k_secrets_make_ceil_k_over_20_batch_reads() {
    let env = require_moto!();
    const K: usize = 45;
    const N: usize = 120;
    let prefix = unique_prefix("batch");
    let sm = env.sm().await;
    for i in 0..K {
        sm.create_secret()
            .name(format!("{prefix}/s{i}"))
            .secret_string(format!(r#"{{"user":"u{i}","pass":"p{i}"}}"#))
            .send()
            .await
            .expect("seed");
    }
    let mut yaml = format!(
        "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: aws, namespace: default}}\nspec: {{provider: {{aws: {{service: SecretsManager, region: {}}}}}}}\n",
        env.region
    );
    for n in 0..N {
        let k = n % K;
        // Each ExternalSecret reads its secret three ways: two properties and a dataFrom
        // extract of the same secret.
        yaml += &format!(
            "---\napiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: es{n}, namespace: default}}\nspec:\n  secretStoreRef: {{name: aws}}\n  data:\n  - {{secretKey: user, remoteRef: {{key: {prefix}/s{k}, property: user}}}}\n  - {{secretKey: pass, remoteRef: {{key: {prefix}/s{k}, property: pass}}}}\n  dataFrom: [{{extract: {{key: {prefix}/s{k}}}}}]\n"
        );
    }
    let mut catalog = MemoryCatalog::default();
    let mut external_secrets = Vec::new();
    for (_, doc) in parse_documents(&yaml) {
        match Manifest::from_value(doc.unwrap().value).unwrap() {
            Manifest::ExternalSecret(es) => external_secrets.push(*es),
            other => catalog.add(other),
        }
    }
    let mut registry = ProviderRegistry::new();
    eso_provider_aws::register(&mut registry);
    let cluster = Arc::new(MemoryCluster::new());
    let reconciler = Reconciler::new(cluster.clone(), catalog).with_providers(Arc::new(registry));
    let now = jiff::Timestamp::now();

    env.start_recording().await;
    let pass = Pass::new();
    let filled = reconciler.prefetch(&pass, &external_secrets, now).await;
    for es in &external_secrets {
        let out = reconciler.reconcile_external_secret(es, &pass, now).await;
        assert!(out.error().is_none(), "{:?}", out.errors);
    }
    let log = env.stop_recording().await;

    let ours: Vec<&(String, String)> = log
        .iter()
        .filter(|(_, body)| body.contains(&prefix))
        .collect();
    let count = |op: &str| {
        ours.iter()
            .filter(|(t, _)| t == &format!("secretsmanager.{op}"))
            .count()
    };
    let batches = count("BatchGetSecretValue");
    println!(
        "N={N} K={K}: prefilled {filled} reads, {batches} BatchGetSecretValue, {} GetSecretValue, {} requests in all",
        count("GetSecretValue"),
        ours.len()
    );
    assert!(batches <= K.div_ceil(20), "{batches} batch reads");
    assert_eq!(count("GetSecretValue"), 0);
    assert!(
        ours.len() < N,
        "{} requests for {N} ExternalSecrets",
        ours.len()
    );
    assert_eq!(filled, 3 * K);

    let s = cluster
        .get_secret("default", "es46")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.data["user"].expose(), b"u1");
    assert_eq!(s.data["pass"].expose(), b"p1");
}
