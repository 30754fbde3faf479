//! `eso-operator`: the External Secrets operator of eso-rs, a drop-in for ESO's controller
//! and webhook. See the crate README for the flags against ESO's.

mod cli;
mod controller;
mod http;
mod logging;
mod providers;
mod webhook;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let (args, zap) = cli::strip_zap_flags(args);
    if let Err(message) = cli::refuse_unsupported(&args) {
        eprintln!("eso-operator: {message}");
        return ExitCode::from(2);
    }
    let cli = cli::Cli::parse_from(args);
    let log = match &cli.mode {
        Some(cli::Mode::Webhook(w)) => &w.log,
        None => &cli.controller.log,
    };
    logging::init(log);
    if !zap.is_empty() {
        tracing::warn!(flags = ?zap, "zap's logging flags are accepted and ignored: use --loglevel and --log-format");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("eso-operator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.mode {
            Some(cli::Mode::Webhook(w)) => webhook::run(w).await,
            None => controller::run(cli.controller).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "eso-operator stopped");
            ExitCode::FAILURE
        }
    }
}
