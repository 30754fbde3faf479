//! A second kube-apiserver instance ("the child cluster") for the two-cluster tests, started
//! and stopped by the test itself with `scripts/backends/kube.sh`, and what those tests share
//! to drive the flows (a catalog from YAML, a free port).

use std::path::PathBuf;
use std::process::Command;

use eso_core::api::{Manifest, parse_documents};
use eso_core::reconcile::MemoryCatalog;

use super::Env;

fn kube_sh() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/backends/kube.sh")
}

/// The instance name from the variable `var`, or `default`: two runs of the same test on
/// one machine can use different instances.
pub fn instance_name(var: &str, default: &str) -> String {
    super::var(var).unwrap_or_else(|| default.to_owned())
}

/// A running child instance; stopped when dropped (also on a failed assertion).
pub struct Child {
    name: String,
    pub env: Env,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = Command::new(kube_sh()).args(["stop", &self.name]).output();
    }
}

/// Stops a left-over instance `name` (a previous run that was killed).
pub fn stop(name: &str) {
    let _ = Command::new(kube_sh()).args(["stop", name]).output();
}

/// Starts instance `name` and reads its environment.
pub fn start(name: &str) -> Child {
    let out = Command::new(kube_sh())
        .args(["start", name])
        .env("ESO_BACKENDS_ENV_DIR", std::env::temp_dir())
        .output()
        .expect("run kube.sh");
    // Stopped on drop from here on, even if reading its environment fails.
    let path = std::env::temp_dir().join(format!("eso-{name}-{}.env", std::process::id()));
    let ok = out.status.success() && std::fs::write(&path, &out.stdout).is_ok();
    let env = Env::from_file(&path).filter(|_| ok);
    let Some(env) = env else {
        stop(name);
        panic!(
            "kube.sh start {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    Child {
        name: name.to_owned(),
        env,
    }
}

/// A catalog of the stores in `yaml`, and the one other object `pick` selects.
pub fn catalog_and<T>(yaml: &str, pick: impl Fn(Manifest) -> Option<T>) -> (MemoryCatalog, T) {
    let mut catalog = MemoryCatalog::default();
    let mut found = None;
    for (_, doc) in parse_documents(yaml) {
        let m = Manifest::from_value(doc.unwrap().value).unwrap();
        match m {
            Manifest::SecretStore(_) | Manifest::ClusterSecretStore(_) => catalog.add(m),
            other => found = found.or_else(|| pick(other)),
        }
    }
    (catalog, found.expect("object in yaml"))
}

/// A loopback port nothing listens on (at the time of the call).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1)
}
