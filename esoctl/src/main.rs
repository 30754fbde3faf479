//! `esoctl`: the eso-rs command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bootstrap;
mod crd;
mod files;
mod providers;
mod reconcile;
mod template;
mod validate;

/// Command-line tool for eso-rs (External Secrets Operator in Rust).
#[derive(Debug, Parser)]
#[command(name = "esoctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render an ExternalSecret or PushSecret template offline.
    Template(template::Args),
    /// Check ESO manifests (files or directories) against ESO's admission rules.
    Validate(validate::Args),
    /// Print the CustomResourceDefinitions of every ESO kind.
    Crd(crd::Args),
    /// Run one pass of every flow (stores, PushSecrets, ExternalSecrets) over manifests and
    /// print the resulting Secrets and objects with their new status.
    Reconcile(reconcile::Args),
    /// List the provider and generator kinds this build supports.
    Providers,
    /// Create the first Secrets from a plan (prompts, generators), write them to the cluster
    /// and follow the PushSecrets that copy them to the stores.
    Bootstrap(bootstrap::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Template(args) => template::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Crd(args) => crd::run(&args),
        Command::Reconcile(args) => reconcile::run(&args),
        Command::Providers => providers::run(),
        Command::Bootstrap(args) => bootstrap::run(&args),
    }
}
