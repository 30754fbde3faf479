//! `esoctl bootstrap`: the first-secrets wizard.
//!
//! Reads a [`plan`] (which Secrets, which keys, where each value comes from; no values),
//! shows it next to what exists, asks only for what is missing ([`prompt`]; or reads the
//! values as JSON from standard input), generates what the plan says to generate, writes
//! each Secret whole by server-side apply ([`apply`]), then follows every PushSecret that
//! selects them until each PushSecret x store is synced ([`follow`]), optionally running
//! the pushes itself (`--push-now`). A plan may first initialise a Vault/OpenBao server
//! ([`vault_init`]).
//!
//! No value is ever written to a file, put in a process argument or environment, logged or
//! printed; the unseal keys and root token of an initialised server are the one thing shown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eso_core::GoDuration;
use eso_core::generator::GeneratorRegistry;
use kube::config::{KubeConfigOptions, Kubeconfig};

pub(crate) mod apply;
pub(crate) mod follow;
pub(crate) mod plan;
pub(crate) mod prompt;
pub(crate) mod vault_init;

use apply::{Answers, Rotate};
use follow::{Push, PushState};
use plan::Plan;
use prompt::Terminal;

/// Arguments of `esoctl bootstrap`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The plan file (`esoctl.eso-rs.io/v1alpha1` `BootstrapPlan`).
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    file: PathBuf,
    /// The kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME")]
    context: Option<String>,
    /// Read the values to ask for as JSON from standard input instead of a terminal:
    /// `{"namespace/name": {"key": "value"}}`.
    #[arg(long)]
    values_from_stdin: bool,
    /// Replace existing values: a whole Secret (`NAMESPACE/NAME`) or one key
    /// (`NAMESPACE/NAME/KEY`). Repeatable.
    #[arg(long, value_name = "NAMESPACE/NAME[/KEY]")]
    rotate: Vec<Rotate>,
    /// Run the push flows of the PushSecrets selecting the written Secrets in-process,
    /// through this build's providers, and write their status (for a cluster where no
    /// operator runs yet).
    #[arg(long)]
    push_now: bool,
    /// How long to wait for the PushSecrets to report every store synced (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_timeout)]
    timeout: Duration,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.parse::<GoDuration>()
        .map_err(|e| e.to_string())?
        .to_std()
        .ok_or_else(|| "must not be negative".to_owned())
}

/// Why a run stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad input: the plan, the arguments, the values, or a cluster state the plan cannot
    /// work with (exit 2).
    Usage(String),
    /// Something failed on the way (exit 1).
    Run(String),
    /// Ctrl-C (exit 130).
    Interrupted,
}

impl Failure {
    pub(crate) fn usage(m: impl Into<String>) -> Self {
        Self::Usage(m.into())
    }
    pub(crate) fn run(m: impl Into<String>) -> Self {
        Self::Run(m.into())
    }
}

/// Ctrl-C, seen by a signal listener (outside prompts, where the terminal sends it as a key).
#[derive(Clone, Debug, Default)]
pub(crate) struct Interrupt {
    flag: Arc<AtomicBool>,
    notify: Arc<tokio::sync::Notify>,
}

impl Interrupt {
    /// Listens for SIGINT in the background.
    fn listen() -> Self {
        let me = Self::default();
        let listener = me.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                listener.flag.store(true, Ordering::SeqCst);
                listener.notify.notify_waiters();
            }
        });
        me
    }

    /// True once Ctrl-C was pressed.
    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Waits for Ctrl-C.
    pub(crate) async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// Left-aligned columns.
pub(crate) fn table(rows: &[[String; 4]]) -> String {
    let mut widths = [0usize; 4];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn run(args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let interrupt = Interrupt::listen();
        let mut summary = Summary::default();
        let result = run_inner(args, &interrupt, &mut summary).await;
        print!("{}", summary.render());
        match result {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(Failure::Usage(m)) => {
                eprintln!("error: {m}");
                ExitCode::from(2)
            }
            Err(Failure::Run(m)) => {
                eprintln!("error: {m}");
                ExitCode::from(1)
            }
            Err(Failure::Interrupted) => {
                eprintln!("interrupted");
                ExitCode::from(130)
            }
        }
    })
}

/// What the run did, printed at the end whatever happened.
#[derive(Debug, Default)]
struct Summary {
    /// `namespace/name` -> what happened to it.
    secrets: Vec<(String, String)>,
    /// Vault/OpenBao steps.
    inits: Vec<vault_init::InitReport>,
    pushes: Vec<(String, String, String)>,
}

impl Summary {
    fn render(&self) -> String {
        if self.secrets.is_empty() && self.inits.is_empty() {
            return String::new();
        }
        let mut out = String::from("\nSummary\n");
        if !self.inits.is_empty() {
            let mut rows = vec![[
                "STORE".to_owned(),
                "INIT".to_owned(),
                String::new(),
                String::new(),
            ]];
            for i in &self.inits {
                rows.push([
                    i.store.clone(),
                    i.outcome.clone(),
                    String::new(),
                    String::new(),
                ]);
            }
            out.push_str(&table(&rows));
        }
        if !self.secrets.is_empty() {
            let mut rows = vec![[
                "SECRET".to_owned(),
                "RESULT".to_owned(),
                String::new(),
                String::new(),
            ]];
            for (s, r) in &self.secrets {
                rows.push([s.clone(), r.clone(), String::new(), String::new()]);
            }
            out.push_str(&table(&rows));
        }
        if !self.pushes.is_empty() {
            let mut rows = vec![[
                "PUSHSECRET".to_owned(),
                "STORE".to_owned(),
                "STATE".to_owned(),
                String::new(),
            ]];
            for (p, s, st) in &self.pushes {
                rows.push([p.clone(), s.clone(), st.clone(), String::new()]);
            }
            out.push_str(&table(&rows));
        }
        out
    }
}

async fn client(args: &Args) -> Result<kube::Client, Failure> {
    let opts = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| Failure::usage(format!("--kubeconfig {}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| Failure::usage(format!("--kubeconfig {}: {e}", path.display())))?
        }
        None => kube::Config::from_kubeconfig(&opts)
            .await
            .or_else(|_| kube::Config::incluster())
            .map_err(|e| Failure::usage(format!("no kubeconfig: {e}")))?,
    };
    kube::Client::try_from(config).map_err(|e| Failure::run(e.to_string()))
}

/// The run; `Ok(true)` when every expected push landed.
async fn run_inner(
    args: &Args,
    interrupt: &Interrupt,
    summary: &mut Summary,
) -> Result<bool, Failure> {
    let plan = Plan::load(&args.file)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.file.display())))?;
    let terminal = if args.values_from_stdin {
        None
    } else {
        Terminal::open()
    };
    let mut stdin_values = if args.values_from_stdin {
        Some(prompt::read_stdin_values().map_err(Failure::Usage)?)
    } else {
        None
    };
    let client = client(args).await?;

    for step in &plan.vault_init {
        let report = vault_init::run_step(&client, step, terminal.as_ref()).await?;
        println!("vaultInit {}: {}", report.store, report.outcome);
        summary.inits.push(report);
    }

    let cluster = apply::cluster(&client);
    let work = apply::survey(&plan, &cluster, &args.rotate).await?;
    println!("Plan {}:", args.file.display());
    print!("{}", apply::describe(&plan, &work));
    for w in &work {
        let id = plan.secrets[w.index].id();
        let what = if w.writes() {
            "not written"
        } else {
            "unchanged"
        };
        summary.secrets.push((id, what.to_owned()));
    }

    let mut generators = GeneratorRegistry::new();
    crate::providers::register_generators(&mut generators);
    let generators = Arc::new(generators);
    let mut answers = match (&terminal, stdin_values.as_mut()) {
        (_, Some(v)) => Answers::Input(v),
        (Some(t), None) => Answers::Terminal(t),
        (None, None) => Answers::None,
    };
    let ready = apply::gather(&plan, &work, &cluster, &generators, &mut answers, interrupt).await?;

    let started = jiff::Timestamp::now();
    let written = apply::write(&plan, &ready, &client, interrupt).await;
    let written_at = record_written(&plan, &ready, &written.written, started, summary);
    drop(ready);
    if let Some(e) = written.error {
        return Err(Failure::run(e));
    }
    if written.interrupted {
        return Err(Failure::Interrupted);
    }
    let pushes = find_pushes(&plan, &work, &written_at, &client).await?;
    follow_pushes(args, pushes, &client, generators, interrupt, summary).await
}

/// Records the Secrets written (at `started`) in `summary` and on stdout; when each was
/// written, by id.
fn record_written(
    plan: &Plan,
    ready: &[apply::Ready],
    written: &[usize],
    started: jiff::Timestamp,
    summary: &mut Summary,
) -> BTreeMap<String, jiff::Timestamp> {
    let mut written_at = BTreeMap::new();
    for &i in written {
        let id = plan.secrets[i].id();
        let keys = ready
            .iter()
            .find(|r| r.index == i)
            .map_or(0, |r| r.data.len());
        if let Some(row) = summary.secrets.iter_mut().find(|(s, _)| *s == id) {
            row.1 = format!("written ({keys} key{})", if keys == 1 { "" } else { "s" });
        }
        println!("wrote Secret {id}");
        written_at.insert(id, started);
    }
    written_at
}

/// The PushSecrets that select the planned Secrets (by name, or by the labels each has
/// now); says which planned Secret none selects.
async fn find_pushes(
    plan: &Plan,
    work: &[apply::SecretWork],
    written_at: &BTreeMap<String, jiff::Timestamp>,
    client: &kube::Client,
) -> Result<Vec<Push>, Failure> {
    // The labels each planned Secret has now, for label-selecting PushSecrets.
    let labels: BTreeMap<String, BTreeMap<String, String>> = work
        .iter()
        .map(|w| {
            let s = &plan.secrets[w.index];
            let mut l = w
                .existing
                .as_ref()
                .map(|e| e.labels.clone())
                .unwrap_or_default();
            if written_at.contains_key(&s.id()) {
                l.extend(s.labels.clone());
            }
            (s.id(), l)
        })
        .collect();
    let pushes = follow::find(plan, &labels, written_at, client)
        .await
        .map_err(Failure::Run)?;
    for s in &plan.secrets {
        if !pushes.iter().any(|p| p.secrets.contains(&s.id())) {
            println!("no PushSecret selects {}", s.id());
        }
    }
    Ok(pushes)
}

/// Follows `pushes` until they land or time out (or, with `--push-now`, pushes in-process);
/// `Ok(true)` when every expected push landed.
async fn follow_pushes(
    args: &Args,
    mut pushes: Vec<Push>,
    client: &kube::Client,
    generators: Arc<GeneratorRegistry>,
    interrupt: &Interrupt,
    summary: &mut Summary,
) -> Result<bool, Failure> {
    let print_state = |p: &Push, store: &str, state: &PushState| {
        println!("  {} x {store}: {state}", p.id);
    };
    for p in &pushes {
        for (store, state) in &p.states {
            print_state(p, store, state);
        }
    }
    if args.push_now && pushes.iter().any(follow::wants_push) {
        println!("pushing now (in-process):");
        let pushed = follow::push_now(&mut pushes, client, generators)
            .await
            .map_err(Failure::Run)?;
        for p in pushes.iter().filter(|p| pushed.contains(&p.id)) {
            for (store, state) in &p.states {
                print_state(p, store, state);
            }
        }
    } else if !pushes.iter().all(Push::done) {
        println!("waiting for the PushSecrets (up to {:?}):", args.timeout);
        follow::watch(&mut pushes, client, args.timeout, interrupt, &print_state).await;
    }
    for p in &pushes {
        for (store, state) in &p.states {
            summary
                .pushes
                .push((p.id.clone(), store.clone(), state.to_string()));
        }
    }
    if interrupt.is_set() {
        return Err(Failure::Interrupted);
    }
    Ok(pushes.iter().all(Push::done))
}
