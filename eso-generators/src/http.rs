//! The HTTP client of the token generators (GitHub, GitLab): one per generator value, built
//! on first use, trusting the platform's roots plus the ones the embedder adds.

use std::sync::OnceLock;
use std::time::Duration;

use eso_core::{Error, Result};

/// A lazily built client with extra trusted roots. It holds no credentials: every call
/// carries its own.
#[derive(Debug, Default)]
pub(crate) struct TokenClient {
    roots: Vec<reqwest::Certificate>,
    http: OnceLock<reqwest::Client>,
}

impl TokenClient {
    /// Adds the certificates of the PEM bundle `pem`; `kind` names the generator in errors.
    pub(crate) fn add_roots(&mut self, pem: &[u8], kind: &str) -> Result<()> {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::generic(format!("{kind}: no PEM certificate in the bundle")))?;
        self.roots.extend(certs);
        self.http = OnceLock::new();
        Ok(())
    }

    /// The client, built on first use.
    pub(crate) fn get(&self, kind: &str) -> Result<&reqwest::Client> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("eso-rs/", env!("CARGO_PKG_VERSION")));
        for c in &self.roots {
            builder = builder.add_root_certificate(c.clone());
        }
        let client = builder
            .build()
            .map_err(|e| Error::unavailable(format!("{kind}: cannot build the HTTP client"), e))?;
        Ok(self.http.get_or_init(|| client))
    }
}
