//! The shared provider conformance suite against `InMemory`, the reference provider.
#![cfg(feature = "testing")]

use eso_core::SecretValue;
use eso_core::provider::{InMemory, Provider, PushRef, PushValue};
use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};

#[tokio::test]
async fn in_memory_passes_the_conformance_suite() {
    let store = InMemory::new().with_secret("legacy/not-ours", r#"{"a":"b"}"#);
    let opts = ConformanceOptions::new(unique_prefix("conformance")).with_versions("1", "2");
    let report = run_conformance(&store, &opts).await;
    println!("{report}");
    report.assert_passed();
    assert!(report.skipped.iter().any(|(name, _)| name == "ownership"));
    assert!(report.passed.len() >= 20, "{report}");
    // Everything the suite wrote is gone again.
    assert_eq!(store.keys(), ["legacy/not-ours"]);
}

/// A provider that ignores property pushes must fail the suite with a clear report.
#[tokio::test]
async fn a_broken_provider_fails_with_named_checks() {
    #[derive(Debug)]
    struct Broken(InMemory);
    #[async_trait::async_trait]
    impl Provider for Broken {
        fn capabilities(&self) -> eso_core::provider::Capabilities {
            self.0.capabilities()
        }
        async fn get_secret(
            &self,
            r: &eso_core::provider::RemoteRef,
        ) -> eso_core::Result<SecretValue> {
            self.0.get_secret(r).await
        }
        async fn get_secret_map(
            &self,
            r: &eso_core::provider::RemoteRef,
        ) -> eso_core::Result<eso_core::SecretMap> {
            self.0.get_secret_map(r).await
        }
        async fn get_all_secrets(
            &self,
            f: &eso_core::provider::FindRef,
        ) -> eso_core::Result<eso_core::SecretMap> {
            self.0.get_all_secrets(f).await
        }
        async fn push_secret(&self, v: &PushValue, r: &PushRef) -> eso_core::Result<()> {
            if r.property().is_some() {
                return Ok(());
            }
            self.0.push_secret(v, r).await
        }
        async fn delete_secret(&self, r: &PushRef) -> eso_core::Result<()> {
            self.0.delete_secret(r).await
        }
        async fn secret_exists(&self, r: &PushRef) -> eso_core::Result<bool> {
            self.0.secret_exists(r).await
        }
        async fn validate(&self) -> eso_core::Result<eso_core::provider::Validation> {
            self.0.validate().await
        }
    }
    let report = run_conformance(&Broken(InMemory::new()), &ConformanceOptions::new("x")).await;
    assert!(!report.is_success());
    assert!(
        report
            .failed
            .iter()
            .any(|(name, _)| name == "push: property merges into the existing value"),
        "{report}"
    );
    let panic = std::panic::catch_unwind(|| report.assert_passed()).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("FAILED  push: property merges"), "{msg}");
}
