//! Helpers for the `esoctl bootstrap` tests: the kube-apiserver and OpenBao instances of
//! scripts/backends, the ESO CRDs, a pseudo-terminal session, and the checks that no typed
//! value reaches a file, a process's arguments or its environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eso_core::api::{
    ClusterExternalSecret, ClusterPushSecret, ClusterSecretStore, ExternalSecret, PushSecret,
    SecretStore,
};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `VAR=value` lines of a backend env file (values may be single-quoted).
pub(crate) fn env_file(path: &Path) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('\'').to_owned()))
            .collect(),
    )
}

/// The env file of OpenBao instance `instance` (ESO_BACKENDS_ENV_DIR or the repository).
pub(crate) fn openbao_env(instance: &str) -> Option<BTreeMap<String, String>> {
    let dir = std::env::var("ESO_BACKENDS_ENV_DIR").map_or_else(|_| repo(), PathBuf::from);
    env_file(&dir.join(format!(".env.backends.openbao.{instance}")))
}

/// Runs scripts/backends/openbao.sh with `args`.
pub(crate) fn openbao_script(args: &[&str]) {
    let out = Command::new("bash")
        .arg(repo().join("scripts/backends/openbao.sh"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openbao.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A call on an OpenBao server's HTTP API; the JSON answer (Null when empty or on error).
pub(crate) fn bao(
    addr: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Value {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method]);
    if let Some(t) = token {
        cmd.arg("-H").arg(format!("X-Vault-Token: {t}"));
    }
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "-d"])
            .arg(b.to_string());
    }
    let out = cmd.arg(format!("{addr}/v1/{path}")).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// `data.data` of a KV v2 secret at `secret/<key>`.
pub(crate) fn kv(addr: &str, token: &str, key: &str) -> Value {
    bao(
        addr,
        Some(token),
        "GET",
        &format!("secret/data/{key}"),
        None,
    )["data"]["data"]
        .clone()
}

/// `current_version` of a KV v2 secret at `secret/<key>`.
pub(crate) fn kv_version(addr: &str, token: &str, key: &str) -> u64 {
    bao(
        addr,
        Some(token),
        "GET",
        &format!("secret/metadata/{key}"),
        None,
    )["data"]["current_version"]
        .as_u64()
        .unwrap_or(0)
}

/// Installs the CRDs of the ESO kinds a cluster pass lists (stores, ExternalSecrets,
/// PushSecrets and their cluster kinds) and waits until they serve.
pub(crate) async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [
        ExternalSecret::crd(),
        ClusterExternalSecret::crd(),
        PushSecret::crd(),
        ClusterPushSecret::crd(),
        SecretStore::crd(),
        ClusterSecretStore::crd(),
    ] {
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("eso-rs-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    for _ in 0..200 {
        let ok = Api::<PushSecret>::all(client.clone())
            .list(&Default::default())
            .await
            .is_ok()
            && Api::<ClusterSecretStore>::all(client.clone())
                .list(&Default::default())
                .await
                .is_ok();
        if ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the ESO CRDs did not become available");
}

/// Creates a namespace unless it exists.
pub(crate) async fn namespace(client: &kube::Client, name: &str) {
    let r = Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await;
    if let Err(e) = r {
        assert!(e.to_string().contains("already exists"), "{e}");
    }
}

/// Creates or replaces any object by server-side apply (as the test's own field manager).
pub(crate) async fn apply<K>(api: &Api<K>, obj: &K)
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = obj.meta().name.clone().unwrap();
    api.patch(
        &name,
        &PatchParams::apply("eso-rs-tests").force(),
        &Patch::Apply(obj),
    )
    .await
    .unwrap();
}

/// Deletes a Secret if it exists.
pub(crate) async fn delete_secret(client: &kube::Client, ns: &str, name: &str) {
    let _ = Api::<Secret>::namespaced(client.clone(), ns)
        .delete(name, &DeleteParams::default())
        .await;
}

/// Deletes and re-creates a PushSecret (a fresh status).
pub(crate) async fn fresh_push_secret(client: &kube::Client, ps: Value) {
    let ps: PushSecret = serde_json::from_value(ps).unwrap();
    let ns = ps.metadata.namespace.clone().unwrap();
    let name = ps.metadata.name.clone().unwrap();
    let api: Api<PushSecret> = Api::namespaced(client.clone(), &ns);
    let _ = api.delete(&name, &DeleteParams::default()).await;
    for _ in 0..100 {
        if api.get_opt(&name).await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.create(&PostParams::default(), &ps).await.unwrap();
}

/// A Secret's data as UTF-8 strings (`None` when it does not exist).
pub(crate) async fn secret_data(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Option<(BTreeMap<String, String>, String)> {
    let s = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .unwrap()?;
    let data = s
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect();
    Some((data, s.metadata.resource_version.unwrap_or_default()))
}

/// A directory for one test run, with `home` and `tmp` below it.
pub(crate) fn run_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("esoctl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("home")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    dir
}

/// `esoctl bootstrap <args>` with a clean environment: HOME and TMPDIR in `dir`, PATH only.
pub(crate) fn esoctl(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_esoctl"));
    cmd.arg("bootstrap")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("TMPDIR", dir.join("tmp"));
    cmd
}

/// Starts `cmd` on a pseudo-terminal.
pub(crate) fn pty(cmd: Command) -> rexpect::session::PtySession {
    rexpect::session::spawn_command(cmd, Some(120_000)).unwrap()
}

/// Reads until `needle`; appends what was read to `log`.
pub(crate) fn expect(p: &mut rexpect::session::PtySession, log: &mut String, needle: &str) {
    let before = p
        .exp_string(needle)
        .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}; so far:\n{log}"));
    log.push_str(&before);
    log.push_str(needle);
}

/// Reads to the end; returns the exit code.
pub(crate) fn finish(p: &mut rexpect::session::PtySession, log: &mut String) -> i32 {
    let rest = p
        .exp_eof()
        .unwrap_or_else(|e| panic!("waiting for the end: {e}; so far:\n{log}"));
    log.push_str(&rest);
    let status = format!("{:?}", p.process_mut().wait().unwrap());
    // `Exited(Pid(N), CODE)`
    status
        .rsplit_once(", ")
        .and_then(|(_, c)| c.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("exit status {status}"))
}

/// The pid of the running `esoctl` whose arguments contain `marker`.
pub(crate) fn pid_of(marker: &str) -> u32 {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.contains("bootstrap") && cmdline.contains(marker) && pid != std::process::id() {
            return pid;
        }
    }
    panic!("no esoctl process with {marker} in its arguments");
}

/// Asserts that none of `values` is in the arguments or environment of process `pid`.
pub(crate) fn assert_not_in_process(pid: u32, values: &[&str]) {
    for part in ["cmdline", "environ"] {
        let bytes = std::fs::read(format!("/proc/{pid}/{part}")).unwrap();
        assert!(
            !bytes.is_empty() || part == "environ",
            "/proc/{pid}/{part} is empty"
        );
        for v in values {
            assert!(
                !contains(&bytes, v.as_bytes()),
                "a typed value is in /proc/{pid}/{part}"
            );
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Asserts that no file below `dir` contains any of `values`; returns how many files were read.
pub(crate) fn assert_not_in_files(dir: &Path, values: &[&str]) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                n += 1;
                for v in values {
                    assert!(
                        !contains(&bytes, v.as_bytes()),
                        "a typed value is in {}",
                        path.display()
                    );
                }
            }
        }
    }
    n
}

/// True when a line of `log` holds `cells` in order, separated by blanks only (a table row).
pub(crate) fn has_row(log: &str, cells: &[&str]) -> bool {
    log.lines().any(|line| {
        let mut rest = line.trim();
        for c in cells {
            let Some(r) = rest.strip_prefix(c) else {
                return false;
            };
            rest = r.trim_start();
        }
        rest.is_empty()
    })
}

/// `n` random lower-case hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect::<String>()[..n].to_owned()
}

/// The address of the uninitialised OpenBao `instance` (restarted fresh when a previous
/// run initialised it).
pub(crate) fn fresh_uninitialised(instance: &str, mut bao_env: BTreeMap<String, String>) -> String {
    let mut addr = bao_env["VAULT_ADDR"].clone();
    if bao(&addr, None, "GET", "sys/init", None)["initialized"] != json!(false) {
        // A previous run initialised it: a fresh one.
        openbao_script(&["stop", instance]);
        openbao_script(&["start-uninit", instance]);
        bao_env = openbao_env(instance).unwrap();
        addr = bao_env["VAULT_ADDR"].clone();
    }
    assert_eq!(
        bao(&addr, None, "GET", "sys/init", None)["initialized"],
        json!(false)
    );

    addr
}
