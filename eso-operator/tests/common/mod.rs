//! What the eso-operator tests share: the kube-apiserver started by
//! `scripts/backends/kube.sh` (its variables), clients, namespaces, CRDs, and the binary
//! run as a child process whose log is kept for the assertions.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

/// Returns the environment, or reports the missing server and returns from the test.
#[macro_export]
macro_rules! require_kube {
    () => {
        match common::Env::load() {
            Some(e) => e,
            None => {
                eso_core::testing::backend_unavailable(
                    "KUBECONFIG/KUBE_API_SERVER",
                    "eval \"$(scripts/backends/kube.sh start)\"",
                );
                return;
            }
        }
    };
}

/// The kube-apiserver's variables.
#[derive(Clone, Debug)]
pub struct Env {
    pub kubeconfig_path: PathBuf,
    pub server: String,
    pub ca_path: PathBuf,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    pub fn load() -> Option<Self> {
        Some(Self {
            kubeconfig_path: var("KUBECONFIG")?.into(),
            server: var("KUBE_API_SERVER")?,
            ca_path: var("KUBE_CA_CERT")?.into(),
        })
    }

    /// An admin client.
    pub async fn client(&self) -> kube::Client {
        let text = std::fs::read_to_string(&self.kubeconfig_path).unwrap();
        let kc = Kubeconfig::from_yaml(&text).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        kube::Client::try_from(cfg).unwrap()
    }

    /// A kubeconfig file that authenticates with `token` (a ServiceAccount's).
    pub fn token_kubeconfig(&self, dir: &std::path::Path, token: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n",
            self.server,
            self.ca_path.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// A fresh namespace `base-<unique>`.
pub async fn namespace(client: &kube::Client, base: &str) -> String {
    let unique = eso_core::testing::conformance::unique_prefix("n")
        .rsplit('-')
        .take(2)
        .collect::<Vec<_>>()
        .join("");
    let name: String = format!("{base}-{unique}")
        .chars()
        .take(63)
        .collect::<String>()
        .to_lowercase();
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
    name
}

/// Installs (or updates) every CRD `esoctl crd` prints that the tests use, and waits until
/// ExternalSecrets are served.
pub async fn install_crds(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crds = [
        eso_core::api::ExternalSecret::crd(),
        eso_core::api::PushSecret::crd(),
        eso_core::api::SecretStore::crd(),
        eso_core::api::ClusterSecretStore::crd(),
        eso_core::api::ClusterExternalSecret::crd(),
        eso_core::api::ClusterPushSecret::crd(),
        eso_core::api::GeneratorState::crd(),
        eso_core::api::Password::crd(),
        eso_core::api::ClusterGenerator::crd(),
        eso_core::api::VaultDynamicSecret::crd(),
    ];
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap();
        api.patch(
            &name,
            &PatchParams::apply("eso-rs-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    wait_for("the CRDs to be served", || async {
        Api::<eso_core::api::ClusterPushSecret>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
            && Api::<eso_core::api::GeneratorState>::all(client.clone())
                .list(&Default::default())
                .await
                .is_ok()
    })
    .await;
}

/// Polls `f` every 100 ms until it is true; panics naming `what` after two minutes (a hang
/// guard, not a timing check).
pub async fn wait_for<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..1200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The eso-operator binary running as a child; killed when dropped. Its stderr (the log)
/// goes to a file read by [`Running::log`].
pub struct Running {
    child: std::sync::Mutex<Child>,
    log: PathBuf,
    program: String,
}

impl Running {
    /// Starts `eso-operator args...` with `KUBECONFIG=kubeconfig` and `env`.
    pub fn start(kubeconfig: &std::path::Path, args: &[String], env: &[(&str, &str)]) -> Self {
        Self::start_program(
            std::path::Path::new(env!("CARGO_BIN_EXE_eso-operator")),
            kubeconfig,
            args,
            env,
        )
    }

    /// Starts another program the same way (ESO's own controller in `beside_eso`).
    pub fn start_program(
        program: &std::path::Path,
        kubeconfig: &std::path::Path,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log =
            std::env::temp_dir().join(format!("eso-operator-test-{}-{n}.log", std::process::id()));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self {
            child: std::sync::Mutex::new(cmd.spawn().unwrap()),
            log,
            program: program
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        }
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it has exited.
    pub fn exited(&self) -> bool {
        self.child.lock().unwrap().try_wait().unwrap().is_some()
    }

    /// Kills it at once (SIGKILL).
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.program, self.log());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
