//! `cragate recall status ISSUER/SEQUENCE`: who must be told of a notice,
//! who acknowledged, who not yet and why (CRA Art. 19(5), 20(4)), read from
//! the outbox of a stopped gateway's data directory. A running gateway
//! shows the same in `GET /v1/halts/{issuer}/{sequence}`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};
use crate::recall::outbox::OUTBOX_FILE;
use crate::recall::redb_outbox::RedbOutbox;
use crate::recall::status::status;

/// `cragate recall` arguments.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The gateway's data directory.
    #[arg(long, global = true, value_name = "DIR", default_value = super::ledger::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Who must be told of a notice, who acknowledged, who not yet and why.
    Status(StatusArgs),
}

#[derive(Debug, ClapArgs)]
struct StatusArgs {
    /// The notice, as ISSUER/SEQUENCE.
    #[arg(value_name = "ISSUER/SEQUENCE")]
    notice: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Runs a `recall` command.
pub fn run(args: &Args) -> ExitCode {
    match &args.command {
        Command::Status(status) => run_status(args, status)
            .unwrap_or_else(|error| fail(EXIT_UNUSABLE, format!("{error:#}"))),
    }
}

fn run_status(args: &Args, status_args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let Some((issuer, sequence)) = status_args.notice.rsplit_once('/') else {
        anyhow::bail!("{:?} is not ISSUER/SEQUENCE", status_args.notice);
    };
    let sequence: u64 = sequence.parse().with_context(|| {
        format!(
            "{sequence:?} in {:?} is not a sequence number",
            status_args.notice
        )
    })?;
    if issuer.is_empty() {
        anyhow::bail!("{:?} names no issuer", status_args.notice);
    }
    let path = args.data_dir.join(OUTBOX_FILE);
    if !path.exists() {
        anyhow::bail!(
            "{} does not exist: this data directory has sent no notifications",
            path.display()
        );
    }
    let outbox = RedbOutbox::open(&path).with_context(|| {
        format!(
            "cannot open {} (a running gateway holds it: ask GET /v1/halts/{issuer}/{sequence})",
            path.display()
        )
    })?;
    let notification = crate::recall::propagate::notification_id(issuer, sequence);
    let found = status(&outbox, &notification)?;
    match status_args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&found)?),
        Format::Text => print!("{}", found.to_text()),
    }
    if found.deliveries.is_empty() {
        eprintln!("cragate: no customer was to be told of {notification}");
    }
    Ok(if found.acknowledged == found.must_be_told {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}
