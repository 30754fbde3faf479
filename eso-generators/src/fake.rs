//! The `Fake` generator.

use async_trait::async_trait;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::{Result, SecretMap, SecretValue};

/// Returns `spec.data` verbatim (kind `Fake`), for tests and examples.
///
/// `spec.controller` (a controller class) is the reconcile flow's business, not the generator's.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::Fake;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let spec = serde_json::json!({"data": {"username": "admin", "password": "s3cr3t"}});
/// let spec = eso_core::api::GeneratorSpec::parse("Fake", spec)?;
/// let out = Fake::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// assert_eq!(out.data["username"].expose(), b"admin");
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Fake;

impl Fake {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Generator for Fake {
    fn kind(&self) -> &'static str {
        "Fake"
    }

    async fn generate(&self, ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let spec = ctx.spec_of("Fake", |s| s.fake_spec.as_ref())?;
        let data: SecretMap = spec
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), SecretValue::from(v.as_str())))
            .collect();
        Ok(GeneratorOutput::new(data))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test_util::{run, text};

    #[test]
    fn returns_data_verbatim() {
        let out = run(
            &Fake,
            json!({"controller": "dev", "data": {"a": "1", "b": ""}}),
        )
        .unwrap();
        assert_eq!(out.data.len(), 2);
        assert_eq!(text(&out, "a"), "1");
        assert_eq!(text(&out, "b"), "");
        assert!(run(&Fake, json!({})).unwrap().data.is_empty());
    }

    #[test]
    fn bad_specs_fail() {
        // A spec that is not an object never loads (the model is typed).
        let e = run(&Fake, serde_json::Value::Null).unwrap_err();
        assert!(e.to_string().starts_with("spec: invalid type: null"), "{e}");
        let e = run(&Fake, json!({"data": {"a": 1}})).unwrap_err();
        assert!(e.to_string().starts_with("spec.data.a: "), "{e}");
    }
}
