//! The `UUID` generator.

use async_trait::async_trait;
use eso_core::generator::{Generator, GeneratorContext, GeneratorOutput};
use eso_core::{Result, SecretMap, SecretValue};

/// Generates a random (version 4) UUID under the key `uuid` (kind `UUID`).
///
/// The spec has no fields and is not read. The UUID is lower-case and hyphenated, like ESO's
/// (`github.com/google/uuid`), and its 122 random bits come from the operating system.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use eso_core::cluster::{DynCluster, MemoryCluster};
/// use eso_core::generator::{Generator, GeneratorContext};
/// use eso_generators::Uuid;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let cluster: DynCluster = Arc::new(MemoryCluster::new());
/// let spec = serde_json::json!({});
/// let spec = eso_core::api::GeneratorSpec::parse("UUID", spec)?;
/// let out = Uuid::new().generate(&GeneratorContext::new(&spec, "default", &cluster)).await?;
/// let id = out.data["uuid"].expose_str().unwrap();
/// assert_eq!(id.len(), 36);
/// assert_eq!(&id[14..15], "4");
/// # Ok::<(), eso_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Uuid;

impl Uuid {
    /// The generator.
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Generator for Uuid {
    fn kind(&self) -> &'static str {
        "UUID"
    }

    async fn generate(&self, _ctx: &GeneratorContext<'_>) -> Result<GeneratorOutput> {
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        Ok(GeneratorOutput::new(SecretMap::from([(
            "uuid".to_owned(),
            SecretValue::from(id),
        )])))
    }

    async fn cleanup(&self, _ctx: &GeneratorContext<'_>, _state: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{run, text};

    #[test]
    fn version_4_and_unique() {
        let a = text(&run(&Uuid, serde_json::json!({})).unwrap(), "uuid");
        let b = text(&run(&Uuid, serde_json::json!({})).unwrap(), "uuid");
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(a, a.to_lowercase());
        let out = run(&Uuid, serde_json::json!({})).unwrap();
        assert_eq!(out.data.keys().collect::<Vec<_>>(), ["uuid"]);
        assert!(out.state.is_none());
    }
}
