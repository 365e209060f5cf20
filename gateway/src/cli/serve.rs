//! `cragate serve [--config FILE] [--listen ADDR] [--data-dir DIR]
//! [--policy FILE] [--upstream dir:PATH|http(s)://HOST:PORT]`: runs the
//! gateway. With no arguments it runs on the embedded default (see
//! `crate::config`). Prints `listening on http://ADDR` on stdout once bound.
//!
//! Exit 0 after a graceful shutdown, 2 when the configuration or the policy
//! cannot be used (every problem listed on stderr), 1 when serving fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::{EXIT_FAILED, fail};
use crate::config::Overrides;
use crate::server;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file (TOML); command-line options win over it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Folder for the gateway's state (default ./cragate-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,
    /// A ledger shared by several nodes (`postgresql://...`) instead of the
    /// data directory's file.
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
    /// Policy file (default: the shipped app-store policy built in).
    #[arg(long, value_name = "FILE")]
    policy: Option<String>,
    /// Upstream: `dir:PATH` or `http(s)://HOST:PORT` (default
    /// dir:DATA_DIR/catalog).
    #[arg(long, value_name = "UPSTREAM")]
    upstream: Option<String>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let overrides = Overrides {
        listen: args.listen.clone(),
        data_dir: args.data_dir.clone(),
        ledger: args.ledger.clone(),
        policy: args.policy.clone(),
        upstream: args.upstream.clone(),
    };
    let (config, policy) = match super::load_config(args.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    // The main thread opens the gateway and waits for signals; connections
    // are served on worker threads (see `server::run`).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(EXIT_FAILED, format!("cannot start the runtime: {error}")),
    };
    let result = runtime.block_on(server::run(config, policy));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(EXIT_FAILED, format!("{error:#}")),
    }
}
