//! Command-line interface.

mod check;
mod gate;
mod halt;
mod ledger;
mod recall;
mod serve;
mod verify_bundle;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status when the input was judged and failed (not verified, denied).
pub const EXIT_FAILED: u8 = 1;
/// Exit status when the command could not judge its input (bad arguments,
/// unreadable files, unusable trust material).
pub const EXIT_UNUSABLE: u8 = 2;

/// cragate: a gateway that lets through only products with digital elements
/// whose evidence satisfies the EU Cyber Resilience Act and your policy.
#[derive(Debug, Parser)]
#[command(name = "cragate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a listing against the CRA content rules and a policy, offline.
    Check(check::Args),
    /// Check every item of an inbound shipment (importer, Art. 19), record
    /// the decisions and supply links, and write a report.
    Gate(gate::Args),
    /// Verify a Sigstore bundle offline (sigstore-conformance client protocol).
    VerifyBundle(verify_bundle::Args),
    /// Sign halt notices and check them against a policy (CRA Art. 19(3), 20(3)).
    Halt(halt::Args),
    /// Inspect, verify and export the ledger (works while the gateway is stopped).
    Ledger(ledger::Args),
    /// Where the notification of a halt notice stands (works while the gateway is stopped).
    Recall(recall::Args),
    /// Run the gateway in front of a catalog.
    Serve(serve::Args),
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(EXIT_UNUSABLE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::VerifyBundle(args) => verify_bundle::run(&args),
        Command::Halt(args) => halt::run(&args),
        Command::Ledger(args) => ledger::run(&args),
        Command::Recall(args) => recall::run(&args),
        Command::Serve(args) => serve::run(&args),
    }
}

/// Prints one line to stderr, with any line breaks in the message folded,
/// and returns `status`.
pub fn fail(status: u8, message: impl std::fmt::Display) -> ExitCode {
    let line = message.to_string().replace(['\r', '\n'], " ");
    eprintln!("cragate: {line}");
    ExitCode::from(status)
}

/// The configuration (`--config` with `overrides`) and the policy it
/// names, every error printed; exit status 2 when either is unusable.
pub fn load_config(
    file: Option<&std::path::Path>,
    overrides: &crate::config::Overrides,
) -> Result<(crate::config::Config, cragate_verifier::policy::Policy), ExitCode> {
    let config = crate::config::Config::load(file, overrides).map_err(|errors| {
        for error in errors {
            eprintln!("cragate: {error}");
        }
        ExitCode::from(EXIT_UNUSABLE)
    })?;
    let policy = crate::config::policies::load(config.policy.as_deref()).map_err(|errors| {
        for error in &errors.errors {
            eprintln!("cragate: {error}");
        }
        ExitCode::from(EXIT_UNUSABLE)
    })?;
    Ok((config, policy))
}
