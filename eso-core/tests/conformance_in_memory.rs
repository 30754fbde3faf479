//! The shared provider conformance suite against `InMemory`, the reference provider.
#![cfg(feature = "testing")]

use eso_core::SecretValue;
use eso_core::provider::{InMemory, Provider, PushRef, PushValue};
use eso_core::testing::conformance::{ConformanceOptions, run_conformance, unique_prefix};

#[tokio::test]
async fn in_memory_passes_the_conformance_suite() {
    // Seeded without the ownership marker: someone else's secret.
    let store = InMemory::new().with_secret("legacy/not-ours", r#"{"a":"b"}"#);
    let opts = ConformanceOptions::new(unique_prefix("conformance"))
        .with_versions("1", "2")
        .with_unowned_key("legacy/not-ours");
    let report = run_conformance(&store, &opts).await;
    println!("{report}");
    report.assert_passed();
    assert!(report.skipped.is_empty(), "{report}");
    assert!(report.passed.len() >= 20, "{report}");
    // Everything the suite wrote is gone again; the foreign secret is untouched.
    assert_eq!(store.keys(), ["legacy/not-ours"]);
    let v = store
        .get_secret(&eso_core::provider::RemoteRef::new("legacy/not-ours"))
        .await
        .unwrap();
    assert_eq!(v.expose(), br#"{"a":"b"}"#);
}

/// A provider that answers `Ok` to a push or delete of a foreign secret (whether or not it
/// wrote anything) fails the ownership checks.
#[tokio::test]
async fn a_provider_that_touches_foreign_secrets_fails() {
    /// Quietly ignores deletes of foreign secrets (`delete`), or overwrites them (`push`).
    #[derive(Debug)]
    struct Lenient {
        inner: InMemory,
        overwrite: bool,
    }
    #[async_trait::async_trait]
    impl Provider for Lenient {
        fn capabilities(&self) -> eso_core::provider::Capabilities {
            self.inner.capabilities()
        }
        async fn get_secret(
            &self,
            r: &eso_core::provider::RemoteRef,
        ) -> eso_core::Result<SecretValue> {
            self.inner.get_secret(r).await
        }
        async fn get_secret_map(
            &self,
            r: &eso_core::provider::RemoteRef,
        ) -> eso_core::Result<eso_core::SecretMap> {
            self.inner.get_secret_map(r).await
        }
        async fn get_all_secrets(
            &self,
            f: &eso_core::provider::FindRef,
        ) -> eso_core::Result<eso_core::SecretMap> {
            self.inner.get_all_secrets(f).await
        }
        async fn push_secret(&self, v: &PushValue, r: &PushRef) -> eso_core::Result<()> {
            match self.inner.push_secret(v, r).await {
                Err(e) if e.is_not_managed() && self.overwrite => {
                    // Writes anyway (clones share the store).
                    drop(
                        self.inner
                            .clone()
                            .with_secret(r.remote_key.clone(), "overwritten"),
                    );
                    Ok(())
                }
                other => other,
            }
        }
        async fn delete_secret(&self, r: &PushRef) -> eso_core::Result<()> {
            match self.inner.delete_secret(r).await {
                Err(e) if e.is_not_managed() && !self.overwrite => Ok(()),
                other => other,
            }
        }
        async fn secret_exists(&self, r: &PushRef) -> eso_core::Result<bool> {
            self.inner.secret_exists(r).await
        }
        async fn validate(&self) -> eso_core::Result<eso_core::provider::Validation> {
            self.inner.validate().await
        }
    }
    for (overwrite, failing) in [
        (
            false,
            "delete: refuses a secret it does not own (NotManaged)",
        ),
        (true, "push: refuses a secret it does not own (NotManaged)"),
    ] {
        let inner = InMemory::new().with_secret("foreign", "theirs");
        let p = Lenient { inner, overwrite };
        let opts = ConformanceOptions::new(unique_prefix("lenient")).with_unowned_key("foreign");
        let report = run_conformance(&p, &opts).await;
        let failed: Vec<_> = report.failed.iter().map(|(n, _)| n.as_str()).collect();
        assert!(failed.contains(&failing), "{report}");
        assert!(
            failed.iter().all(|n| n.contains("does not own")),
            "{report}"
        );
    }
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
