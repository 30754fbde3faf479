//! `esoctl bootstrap` through a pseudo-terminal against the kube-apiserver and OpenBao
//! servers of scripts/backends:
//!
//! - the issue's flow: prompts for `flux-system/gitea-token` (username, password: hidden,
//!   typed twice, pattern) and `external-dns/cloudflare-credentials` (api-token), generates
//!   `databases/db-credentials`, writes the three Secrets and pushes them (`--push-now`)
//!   through two ClusterSecretStores to two OpenBao servers; a wrong pattern and a
//!   confirmation mismatch re-prompt; the typed values are in no file under HOME/TMPDIR, in
//!   no output (hidden ones), and not in the process's arguments or environment; a second
//!   run asks nothing and changes nothing; `--rotate databases/db-credentials` regenerates
//!   and re-pushes that one only;
//! - Ctrl-C at a prompt writes nothing; Ctrl-C while following writes whole Secrets only,
//!   and the summary says which;
//! - without a terminal it refuses to prompt; `--values-from-stdin` works;
//! - an uninitialised (non-dev) OpenBao is initialised and unsealed by the plan's
//!   `vaultInit` step, its keys shown once, its root token put where the store reads it.
//!
//! Needs KUBECONFIG (scripts/backends/kube.sh start), VAULT_ADDR/VAULT_TOKEN (openbao.sh
//! start), a second OpenBao instance (`$ESO_TEST_OPENBAO_REGION2`, default `region2`) and an
//! uninitialised one (`$ESO_TEST_OPENBAO_UNINIT`, default `uninit`:
//! `openbao.sh start-uninit uninit`); scripts/test.sh starts them all.
#![cfg(feature = "vault")]

#[path = "common/bootstrap.rs"]
mod support;

use std::io::Write as _;
use std::process::Stdio;

use eso_core::api::ClusterSecretStore;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::json;
use support::*;

struct Regions {
    kubeconfig: String,
    r1: (String, String),
    r2: (String, String),
}

fn kube_env() -> Option<String> {
    match std::env::var("KUBECONFIG") {
        Ok(k) => Some(k),
        Err(_) => {
            eso_core::testing::backend_unavailable(
                "KUBECONFIG",
                "eval \"$(scripts/backends/kube.sh start)\"",
            );
            None
        }
    }
}

fn regions() -> Option<Regions> {
    let kubeconfig = kube_env()?;
    let (Ok(addr1), Ok(token1)) = (std::env::var("VAULT_ADDR"), std::env::var("VAULT_TOKEN"))
    else {
        eso_core::testing::backend_unavailable("VAULT_ADDR", "scripts/backends/openbao.sh start");
        return None;
    };
    let instance =
        std::env::var("ESO_TEST_OPENBAO_REGION2").unwrap_or_else(|_| "region2".to_owned());
    let Some(r2) = openbao_env(&instance) else {
        eso_core::testing::backend_unavailable(
            &format!("the OpenBao instance {instance}"),
            &format!("scripts/backends/openbao.sh start {instance}"),
        );
        return None;
    };
    Some(Regions {
        kubeconfig,
        r1: (addr1, token1),
        r2: (r2["VAULT_ADDR"].clone(), r2["VAULT_TOKEN"].clone()),
    })
}

const PLAN: &str = r#"apiVersion: esoctl.eso-rs.io/v1alpha1
kind: BootstrapPlan
secrets:
  - namespace: flux-system
    name: gitea-token
    type: Opaque
    keys:
      - {name: username, prompt: "Gitea admin user"}
      - {name: password, prompt: "Gitea access token", hidden: true, confirm: true, pattern: "^[0-9a-f]{40}$"}
  - namespace: external-dns
    name: cloudflare-credentials
    labels: {app: external-dns}
    keys:
      - {name: api-token, prompt: "Cloudflare API token", hidden: true}
  - namespace: databases
    name: db-credentials
    keys:
      - {name: password, generate: {kind: Password, spec: {length: 32, digits: 5, symbols: 5}}}
"#;

fn store(name: &str, addr: &str) -> ClusterSecretStore {
    serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": name},
        "spec": {"provider": {"vault": {"server": addr, "path": "secret", "version": "v2",
            "auth": {"tokenSecretRef": {"namespace": "vault-system", "name": "vault-token", "key": "token"}}}}}
    }))
    .unwrap()
}

fn push_secret(
    ns: &str,
    name: &str,
    selector: serde_json::Value,
    data: &[(&str, &str, &str)],
) -> serde_json::Value {
    json!({
        "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRefs": [
                {"name": "vault-region1", "kind": "ClusterSecretStore"},
                {"name": "vault-region2", "kind": "ClusterSecretStore"}],
            "selector": {"secret": selector},
            "data": data.iter().map(|(k, remote, prop)| json!(
                {"match": {"secretKey": k, "remoteRef": {"remoteKey": remote, "property": prop}}})).collect::<Vec<_>>()
        }
    })
}

/// The namespaces, stores, PushSecrets of the issue's example; no Secret, no remote value.
async fn setup_regions(client: &kube::Client, r: &Regions) {
    install_crds(client).await;
    for ns in ["flux-system", "external-dns", "databases", "vault-system"] {
        namespace(client, ns).await;
    }
    assert_eq!(r.r1.1, r.r2.1, "both dev servers use the same root token");
    let token: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "vault-token", "namespace": "vault-system"},
        "stringData": {"token": r.r1.1}
    }))
    .unwrap();
    apply(&Api::namespaced(client.clone(), "vault-system"), &token).await;
    let stores: Api<ClusterSecretStore> = Api::all(client.clone());
    apply(&stores, &store("vault-region1", &r.r1.0)).await;
    apply(&stores, &store("vault-region2", &r.r2.0)).await;
    for (ns, name) in [
        ("flux-system", "gitea-token"),
        ("external-dns", "cloudflare-credentials"),
        ("databases", "db-credentials"),
    ] {
        delete_secret(client, ns, name).await;
    }
    for (addr, token) in [&r.r1, &r.r2] {
        for key in [
            "flux/gitea-token",
            "external-dns/cloudflare",
            "databases/db-credentials",
        ] {
            bao(
                addr,
                Some(token),
                "DELETE",
                &format!("secret/metadata/{key}"),
                None,
            );
        }
    }
    fresh_push_secret(
        client,
        push_secret(
            "flux-system",
            "push-gitea-token",
            json!({"name": "gitea-token"}),
            &[
                ("username", "flux/gitea-token", "username"),
                ("password", "flux/gitea-token", "password"),
            ],
        ),
    )
    .await;
    fresh_push_secret(
        client,
        push_secret(
            "external-dns",
            "push-cloudflare",
            json!({"selector": {"matchLabels": {"app": "external-dns"}}}),
            &[("api-token", "external-dns/cloudflare", "api-token")],
        ),
    )
    .await;
    fresh_push_secret(
        client,
        push_secret(
            "databases",
            "push-db-credentials",
            json!({"name": "db-credentials"}),
            &[("password", "databases/db-credentials", "password")],
        ),
    )
    .await;
}

#[tokio::test]
async fn wizard_prompts_generates_writes_and_pushes_to_two_regions() {
    let Some(r) = regions() else { return };
    let client = kube::Client::try_default().await.unwrap();
    setup_regions(&client, &r).await;
    let dir = run_dir("bootstrap-regions");
    let plan = dir.join("plan-regions.yaml");
    std::fs::write(&plan, PLAN).unwrap();
    let plan_s = plan.to_str().unwrap();
    let typed = Typed::random();

    // Run 1: asks for the three values, generates the fourth, writes, pushes.
    let log = first_run(&dir, plan_s, &r, &typed);
    let db_password = values_held(&client, &r, &typed, &log).await;
    let files = assert_not_in_files(
        &dir,
        &[
            &typed.user,
            &typed.token,
            &typed.wrong_pattern,
            &typed.mismatch,
            &typed.cf,
            &db_password,
        ],
    );
    assert!(files >= 1, "the plan file at least was read");

    // Run 2: nothing to ask, nothing written, nothing pushed again.
    let before = Versions::now(&client, &r).await;
    let mut p = pty(esoctl(
        &dir,
        &["-f", plan_s, "--kubeconfig", &r.kubeconfig, "--push-now"],
    ));
    let mut log2 = String::new();
    let code = finish(&mut p, &mut log2);
    assert_eq!(code, 0, "{log2}");
    assert!(
        !log2.contains("Gitea admin user:") && !log2.contains("Cloudflare API token:"),
        "{log2}"
    );
    assert!(!log2.contains("wrote Secret"), "{log2}");
    let after = Versions::now(&client, &r).await;
    assert_eq!(after.cluster, before.cluster, "a Secret changed");
    assert_eq!(after.gitea, before.gitea);
    assert_eq!(after.db, before.db);

    // Run 3: --rotate databases/db-credentials: only that one is regenerated and re-pushed.
    rotate_db_credentials(&client, &r, &dir, plan_s, &db_password, &before).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the wizard test types: the visible user, the token (a wrong one and a mismatched
/// repetition first) and the Cloudflare token.
struct Typed {
    user: String,
    token: String,
    wrong_pattern: String,
    mismatch: String,
    cf: String,
}

impl Typed {
    fn random() -> Self {
        Self {
            user: format!("admin-{}", random_hex(8)),
            token: random_hex(40),
            wrong_pattern: format!("not-hex-{}", random_hex(8)),
            mismatch: random_hex(40),
            cf: format!("cf-{}", random_hex(24)),
        }
    }
}

/// The first run on a terminal: answers every prompt (a value that breaks the pattern and
/// a mismatched repetition first), checks nothing typed is in the process while it waits,
/// that hidden values never show and that every push landed. Returns the terminal's text.
fn first_run(dir: &std::path::Path, plan_s: &str, r: &Regions, t: &Typed) -> String {
    let mut p = pty(esoctl(
        dir,
        &["-f", plan_s, "--kubeconfig", &r.kubeconfig, "--push-now"],
    ));
    let mut log = String::new();
    expect(&mut p, &mut log, "Gitea admin user: ");
    p.send_line(&t.user).unwrap();
    expect(&mut p, &mut log, "Gitea access token: ");
    p.send_line(&t.wrong_pattern).unwrap();
    expect(
        &mut p,
        &mut log,
        "does not match the pattern ^[0-9a-f]{40}$; try again.",
    );
    expect(&mut p, &mut log, "Gitea access token: ");
    p.send_line(&t.token).unwrap();
    expect(&mut p, &mut log, "Gitea access token (again): ");
    p.send_line(&t.mismatch).unwrap();
    expect(&mut p, &mut log, "The two entries differ; try again.");
    expect(&mut p, &mut log, "Gitea access token: ");
    p.send_line(&t.token).unwrap();
    expect(&mut p, &mut log, "Gitea access token (again): ");
    p.send_line(&t.token).unwrap();
    expect(&mut p, &mut log, "Cloudflare API token: ");
    // While it waits: nothing typed so far is in its arguments or environment.
    let pid = pid_of(plan_s);
    assert_not_in_process(pid, &[&t.user, &t.token, &t.wrong_pattern, &t.mismatch]);
    p.send_line(&t.cf).unwrap();
    let code = finish(&mut p, &mut log);
    assert_eq!(code, 0, "{log}");

    // The hidden values never appear on the terminal; the visible one is echoed as typed.
    for v in [&t.token, &t.wrong_pattern, &t.mismatch, &t.cf] {
        assert!(
            !log.contains(v.as_str()),
            "a hidden value is in the output:\n{log}"
        );
    }
    for ps in [
        "flux-system/push-gitea-token",
        "external-dns/push-cloudflare",
        "databases/push-db-credentials",
    ] {
        for store in [
            "ClusterSecretStore/vault-region1",
            "ClusterSecretStore/vault-region2",
        ] {
            assert!(
                log.contains(&format!("{ps} x {store}: Synced")),
                "{ps} x {store}:\n{log}"
            );
        }
    }
    assert!(
        has_row(&log, &["flux-system/gitea-token", "written (2 keys)"]),
        "{log}"
    );
    log
}

/// The cluster and both servers hold the typed values and the generated database
/// password, which never showed on the terminal; returns that password.
async fn values_held(client: &kube::Client, r: &Regions, t: &Typed, log: &str) -> String {
    let (gitea, _) = secret_data(client, "flux-system", "gitea-token")
        .await
        .unwrap();
    assert_eq!(
        (gitea["username"].as_str(), gitea["password"].as_str()),
        (t.user.as_str(), t.token.as_str())
    );
    let (cloudflare, _) = secret_data(client, "external-dns", "cloudflare-credentials")
        .await
        .unwrap();
    assert_eq!(cloudflare["api-token"], t.cf);
    let (db, _) = secret_data(client, "databases", "db-credentials")
        .await
        .unwrap();
    let db_password = db["password"].clone();
    assert_eq!(db_password.chars().count(), 32);
    assert!(
        !log.contains(&db_password),
        "the generated value is in the output"
    );
    for (addr, token) in [&r.r1, &r.r2] {
        let g = kv(addr, token, "flux/gitea-token");
        assert_eq!(
            (g["username"].as_str(), g["password"].as_str()),
            (Some(t.user.as_str()), Some(t.token.as_str()))
        );
        assert_eq!(
            kv(addr, token, "external-dns/cloudflare")["api-token"],
            t.cf.as_str()
        );
        assert_eq!(
            kv(addr, token, "databases/db-credentials")["password"],
            db_password.as_str()
        );
    }
    db_password
}

/// The three Secrets of the plan.
const PLANNED: [(&str, &str); 3] = [
    ("flux-system", "gitea-token"),
    ("external-dns", "cloudflare-credentials"),
    ("databases", "db-credentials"),
];

/// The versions of what the wizard wrote: each Secret's resourceVersion, and the KV
/// version of each pushed key in both regions.
struct Versions {
    cluster: Vec<String>,
    gitea: (u64, u64),
    cf: (u64, u64),
    db: (u64, u64),
}

impl Versions {
    async fn now(client: &kube::Client, r: &Regions) -> Self {
        let mut cluster = Vec::new();
        for (ns, n) in PLANNED {
            cluster.push(secret_data(client, ns, n).await.unwrap().1);
        }
        Self {
            cluster,
            gitea: remote_versions(r, "flux/gitea-token"),
            cf: remote_versions(r, "external-dns/cloudflare"),
            db: remote_versions(r, "databases/db-credentials"),
        }
    }
}

/// The KV version of `key` in both regions.
fn remote_versions(r: &Regions, key: &str) -> (u64, u64) {
    (
        kv_version(&r.r1.0, &r.r1.1, key),
        kv_version(&r.r2.0, &r.r2.1, key),
    )
}

/// `--rotate databases/db-credentials`: only that Secret is regenerated and pushed again
/// (one new KV version per region); the others keep their versions.
async fn rotate_db_credentials(
    client: &kube::Client,
    r: &Regions,
    dir: &std::path::Path,
    plan_s: &str,
    db_password: &str,
    before: &Versions,
) {
    let mut p = pty(esoctl(
        dir,
        &[
            "-f",
            plan_s,
            "--kubeconfig",
            &r.kubeconfig,
            "--push-now",
            "--rotate",
            "databases/db-credentials",
        ],
    ));
    let mut log3 = String::new();
    let code = finish(&mut p, &mut log3);
    assert_eq!(code, 0, "{log3}");
    assert!(
        log3.contains("wrote Secret databases/db-credentials"),
        "{log3}"
    );
    assert!(
        !log3.contains("wrote Secret flux-system") && !log3.contains("wrote Secret external-dns"),
        "{log3}"
    );
    assert!(!log3.contains("Gitea admin user:"), "{log3}");
    let (db2, _) = secret_data(client, "databases", "db-credentials")
        .await
        .unwrap();
    assert_ne!(db2["password"], db_password);
    for (addr, t) in [&r.r1, &r.r2] {
        assert_eq!(
            kv(addr, t, "databases/db-credentials")["password"],
            db2["password"].as_str()
        );
    }
    assert_eq!(
        remote_versions(r, "databases/db-credentials"),
        (before.db.0 + 1, before.db.1 + 1)
    );
    assert_eq!(remote_versions(r, "flux/gitea-token"), before.gitea);
    assert_eq!(remote_versions(r, "external-dns/cloudflare"), before.cf);
    assert_eq!(
        &secret_data(client, "flux-system", "gitea-token")
            .await
            .unwrap()
            .1,
        &before.cluster[0]
    );
}

const CTRL_C_PLAN: &str = r#"apiVersion: esoctl.eso-rs.io/v1alpha1
kind: BootstrapPlan
secrets:
  - namespace: boot-ctrlc
    name: first
    keys:
      - {name: a, prompt: "First value", hidden: true}
      - {name: b, generate: {kind: UUID}}
  - namespace: boot-ctrlc
    name: second
    keys:
      - {name: c, prompt: "Second value", hidden: true}
"#;

#[tokio::test]
async fn ctrl_c_leaves_whole_secrets_only() {
    let Some(kubeconfig) = kube_env() else { return };
    let client = kube::Client::try_default().await.unwrap();
    install_crds(&client).await;
    namespace(&client, "boot-ctrlc").await;
    delete_secret(&client, "boot-ctrlc", "first").await;
    delete_secret(&client, "boot-ctrlc", "second").await;
    // A PushSecret no operator serves: following it waits until Ctrl-C.
    let mut ps = push_secret(
        "boot-ctrlc",
        "push-first",
        json!({"name": "first"}),
        &[("a", "boot/first", "a")],
    );
    ps["spec"]["secretStoreRefs"] = json!([{"name": "nowhere", "kind": "ClusterSecretStore"}]);
    fresh_push_secret(&client, ps).await;
    let dir = run_dir("bootstrap-ctrlc");
    let plan = dir.join("plan-ctrlc.yaml");
    std::fs::write(&plan, CTRL_C_PLAN).unwrap();
    let plan_s = plan.to_str().unwrap();
    let (a, c) = (random_hex(20), random_hex(20));

    // Ctrl-C at the second prompt: nothing was written.
    let mut p = pty(esoctl(&dir, &["-f", plan_s, "--kubeconfig", &kubeconfig]));
    let mut log = String::new();
    expect(&mut p, &mut log, "First value: ");
    p.send_line(&a).unwrap();
    expect(&mut p, &mut log, "Second value: ");
    p.send_control('c').unwrap();
    let code = finish(&mut p, &mut log);
    assert_eq!(code, 130, "{log}");
    assert!(has_row(&log, &["boot-ctrlc/first", "not written"]), "{log}");
    assert!(
        has_row(&log, &["boot-ctrlc/second", "not written"]),
        "{log}"
    );
    assert!(secret_data(&client, "boot-ctrlc", "first").await.is_none());
    assert!(secret_data(&client, "boot-ctrlc", "second").await.is_none());

    // Ctrl-C while following the PushSecret: both Secrets are there, whole.
    let mut p = pty(esoctl(
        &dir,
        &["-f", plan_s, "--kubeconfig", &kubeconfig, "--timeout", "5m"],
    ));
    let mut log = String::new();
    expect(&mut p, &mut log, "First value: ");
    p.send_line(&a).unwrap();
    expect(&mut p, &mut log, "Second value: ");
    p.send_line(&c).unwrap();
    expect(&mut p, &mut log, "waiting for the PushSecrets");
    p.send_control('c').unwrap();
    let code = finish(&mut p, &mut log);
    assert_eq!(code, 130, "{log}");
    assert!(
        has_row(&log, &["boot-ctrlc/first", "written (2 keys)"]),
        "{log}"
    );
    assert!(
        has_row(&log, &["boot-ctrlc/second", "written (1 key)"]),
        "{log}"
    );
    // Pending (no operator here), or Errored should one run: never Synced.
    let push_row = |state: &str| {
        has_row(
            &log,
            &["boot-ctrlc/push-first", "ClusterSecretStore/nowhere", state],
        )
    };
    assert!(
        push_row("Pending") || log.lines().any(|l| l.contains("nowhere  Errored")),
        "{log}"
    );
    let (first, _) = secret_data(&client, "boot-ctrlc", "first").await.unwrap();
    assert_eq!(first["a"], a);
    assert_eq!(first["b"].len(), 36);
    let (second, _) = secret_data(&client, "boot-ctrlc", "second").await.unwrap();
    assert_eq!(second["c"], c);
    assert!(!log.contains(&a) && !log.contains(&c));
    assert_not_in_files(&dir, &[&a, &c]);
    let _ = std::fs::remove_dir_all(&dir);
}

const STDIN_PLAN: &str = r#"apiVersion: esoctl.eso-rs.io/v1alpha1
kind: BootstrapPlan
secrets:
  - namespace: boot-stdin
    name: app
    keys:
      - {name: token, prompt: "Token", hidden: true, pattern: "^t-"}
"#;

#[tokio::test]
async fn without_a_terminal_it_refuses_to_prompt_and_reads_stdin_json() {
    let Some(kubeconfig) = kube_env() else { return };
    let client = kube::Client::try_default().await.unwrap();
    install_crds(&client).await;
    namespace(&client, "boot-stdin").await;
    delete_secret(&client, "boot-stdin", "app").await;
    let dir = run_dir("bootstrap-stdin");
    let plan = dir.join("plan-stdin.yaml");
    std::fs::write(&plan, STDIN_PLAN).unwrap();
    let plan_s = plan.to_str().unwrap();

    let out = esoctl(&dir, &["-f", plan_s, "--kubeconfig", &kubeconfig])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("standard input is not a terminal")
            && stderr.contains("--values-from-stdin"),
        "{stderr}"
    );
    assert!(secret_data(&client, "boot-stdin", "app").await.is_none());

    let run = |json: String| {
        let mut child = esoctl(
            &dir,
            &[
                "-f",
                plan_s,
                "--kubeconfig",
                &kubeconfig,
                "--values-from-stdin",
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let bad = format!("u-{}", random_hex(16));
    let out = run(json!({"boot-stdin/app": {"token": bad}}).to_string());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("boot-stdin/app token: the value does not match the pattern ^t-"),
        "{stderr}"
    );
    assert!(!stderr.contains(&bad) && !String::from_utf8_lossy(&out.stdout).contains(&bad));

    let good = format!("t-{}", random_hex(16));
    let out = run(json!({"boot-stdin/app": {"token": good}}).to_string());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("no PushSecret selects boot-stdin/app"),
        "{stdout}"
    );
    assert!(!stdout.contains(&good));
    assert_eq!(
        secret_data(&client, "boot-stdin", "app").await.unwrap().0["token"],
        good
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn vault_init_initialises_unseals_and_shows_the_keys_once() {
    let Some(kubeconfig) = kube_env() else { return };
    let instance = std::env::var("ESO_TEST_OPENBAO_UNINIT").unwrap_or_else(|_| "uninit".to_owned());
    let Some(bao_env) = openbao_env(&instance) else {
        return eso_core::testing::backend_unavailable(
            &format!("the uninitialised OpenBao instance {instance}"),
            &format!("scripts/backends/openbao.sh start-uninit {instance}"),
        );
    };
    let addr = fresh_uninitialised(&instance, bao_env);
    let client = kube::Client::try_default().await.unwrap();
    init_store_and_push_secret(&client, &addr).await;
    let dir = run_dir("bootstrap-init");
    let plan = dir.join("plan-init.yaml");
    std::fs::write(
        &plan,
        r#"apiVersion: esoctl.eso-rs.io/v1alpha1
kind: BootstrapPlan
vaultInit:
  - store: {kind: ClusterSecretStore, name: vault-init}
    keyShares: 3
    keyThreshold: 2
    mountStorePath: true
secrets:
  - namespace: boot-init
    name: app
    keys:
      - {name: password, generate: {kind: Password, spec: {length: 24}}}
"#,
    )
    .unwrap();
    let plan_s = plan.to_str().unwrap();

    let mut p = pty(esoctl(
        &dir,
        &["-f", plan_s, "--kubeconfig", &kubeconfig, "--push-now"],
    ));
    let mut log = String::new();
    expect(&mut p, &mut log, "Press Enter when they are saved.");
    let keys: Vec<String> = log
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("Unseal key ")
                .and_then(|k| k.split_once(": "))
                .map(|(_, k)| k.to_owned())
        })
        .collect();
    let root = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Root token: ").map(str::to_owned))
        .expect("the root token is shown");
    assert_eq!(keys.len(), 3, "{log}");
    assert!(log.contains("SAVE THESE OFFLINE NOW"));
    assert!(
        log.contains("The root token also goes to Secret boot-init/bao-root key token"),
        "{log}"
    );
    // Still sealed until Enter: the keys are saved before anything else happens.
    assert_eq!(
        bao(&addr, None, "GET", "sys/seal-status", None)["sealed"],
        json!(true)
    );
    p.send_line("").unwrap();
    let code = finish(&mut p, &mut log);
    assert_eq!(code, 0, "{log}");
    for k in &keys {
        assert_eq!(
            log.matches(k.as_str()).count(),
            1,
            "each unseal key is shown once"
        );
    }
    assert_eq!(
        log.matches(root.as_str()).count(),
        1,
        "the root token is shown once"
    );
    assert!(log.contains("initialised and unsealed; KV v2 enabled at secret/; root token in Secret boot-init/bao-root key token"), "{log}");
    assert!(
        log.contains("boot-init/push-app x ClusterSecretStore/vault-init: Synced"),
        "{log}"
    );

    let status = bao(&addr, None, "GET", "sys/seal-status", None);
    assert_eq!(
        (status["initialized"].as_bool(), status["sealed"].as_bool()),
        (Some(true), Some(false))
    );
    let (token_secret, _) = secret_data(&client, "boot-init", "bao-root").await.unwrap();
    assert_eq!(token_secret["token"], root);
    let (app, _) = secret_data(&client, "boot-init", "app").await.unwrap();
    assert_eq!(
        kv(&addr, &root, "app")["password"],
        app["password"].as_str()
    );
    let mut secrets: Vec<&str> = keys.iter().map(String::as_str).collect();
    secrets.push(&root);
    assert_not_in_files(&dir, &secrets);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The store of the uninitialised server (its token Secret not there yet) and a
/// PushSecret of the Secret the plan writes.
async fn init_store_and_push_secret(client: &kube::Client, addr: &str) {
    install_crds(client).await;
    namespace(client, "boot-init").await;
    delete_secret(client, "boot-init", "bao-root").await;
    delete_secret(client, "boot-init", "app").await;
    let store: ClusterSecretStore = serde_json::from_value(json!({
        "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
        "metadata": {"name": "vault-init"},
        "spec": {"provider": {"vault": {"server": addr, "path": "secret", "version": "v2",
            "auth": {"tokenSecretRef": {"namespace": "boot-init", "name": "bao-root", "key": "token"}}}}}
    }))
    .unwrap();
    apply(&Api::<ClusterSecretStore>::all(client.clone()), &store).await;
    let mut ps = push_secret(
        "boot-init",
        "push-app",
        json!({"name": "app"}),
        &[("password", "app", "password")],
    );
    ps["spec"]["secretStoreRefs"] = json!([{"name": "vault-init", "kind": "ClusterSecretStore"}]);
    fresh_push_secret(client, ps).await;
}
