//! `esoctl`: the eso-rs command-line tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod template;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Template(args) => template::run(&args),
    }
}
