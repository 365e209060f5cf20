//! `cragate gate SHIPMENT.json [--config FILE] [--policy FILE] [--data-dir DIR]
//! [--ledger URL] [--ledger-key PATH] [--report-dir DIR] [--at RFC3339]
//! [--jobs N] [--publish[=TARGET]]`: checks every item of an inbound
//! shipment (CRA Art. 19), records the decisions, DoC copies and supply
//! links on the ledger (Art. 19(6), 23), and writes `report.json` and
//! `report.html`. With `--config`, the policy, data directory, ledger and
//! catalog are those of `cragate serve` under that file (the options win
//! over it).
//!
//! Exit 0 when every item was accepted, 1 when any was refused or could not
//! be judged, 2 when the manifest (or the policy, the ledger, the report
//! folder) cannot be used.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use jiff::Timestamp;

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};
use crate::config::Overrides;
use crate::gate::progress::{self, Display};
use crate::gate::publish::Target;
use crate::gate::{self, Options};
use crate::ledger::Location;

/// Arguments of `gate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shipment manifest (`cragate.shipment/v1` JSON).
    #[arg(value_name = "SHIPMENT.json")]
    shipment: PathBuf,

    /// The `cragate serve` configuration (TOML) whose policy, data
    /// directory, ledger and catalog the shipment goes to; the options
    /// below win over it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Policy file (TOML); default: the configuration's, else the shipped
    /// app-store policy built in (an importer wants policies/importer.toml,
    /// which carries its `[importer]` details).
    #[arg(long, value_name = "FILE")]
    policy: Option<String>,

    /// The data directory whose ledger records the decisions (default
    /// ./cragate-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,

    /// A PostgreSQL ledger (`postgresql://...`) instead of the data
    /// directory's file, as `serve --ledger` and `cragate ledger --ledger`
    /// use it.
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,

    /// The checkpoint signing key shared by the nodes of a PostgreSQL
    /// ledger (default: the configuration's, else DATA_DIR/ledger-key.p8).
    #[arg(long, value_name = "PATH")]
    ledger_key: Option<PathBuf>,

    /// Where report.json and report.html are written (created if missing);
    /// without it no report files are written.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,

    /// Evaluation time (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    at: Option<Timestamp>,

    /// Items judged at once; default: one per core.
    #[arg(long, value_name = "N")]
    jobs: Option<NonZeroUsize>,

    /// Store accepted items in a catalog: `dir:PATH`, `http(s)://HOST:PORT`
    /// (through its native routes `POST /v1/listings` and
    /// `PUT /v1/artifacts/{digest}`), or given alone the catalog `cragate
    /// serve` uses under `--config` (its file catalog, or its HTTP upstream
    /// through its listing-submission and artifact-upload routes; without
    /// `--config`, DATA_DIR/catalog).
    #[arg(long, value_name = "TARGET", num_args = 0..=1, default_missing_value = "")]
    publish: Option<String>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let overrides = Overrides {
        data_dir: args.data_dir.clone(),
        ledger: args.ledger.clone(),
        policy: args.policy.clone(),
        ..Overrides::default()
    };
    let (config, policy) = match super::load_config(args.config.as_deref(), &overrides) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let publish = match args.publish.as_deref() {
        None => None,
        Some("") => Some(Target::of(&config)),
        Some(text) => match Target::parse(text) {
            Ok(target) => Some(target),
            Err(message) => return fail(EXIT_UNUSABLE, message),
        },
    };
    let key_file = args.ledger_key.as_deref().or(config.ledger_key.as_deref());
    let ledger = Location::new(&config.data_dir, config.ledger.as_deref(), key_file);
    let shipment = match gate::read_manifest(&args.shipment) {
        Ok(shipment) => shipment,
        Err(error) => return fail(EXIT_UNUSABLE, error),
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    let options = Options {
        manifest: &args.shipment,
        policy: &policy,
        ledger,
        report_dir: args.report_dir.clone(),
        at: args.at.unwrap_or_else(Timestamp::now),
        jobs,
        publish,
    };
    let display = if std::io::stderr().is_terminal() {
        Display::Bar
    } else {
        Display::Lines
    };
    let progress = progress::new(display, shipment.items.len());
    let report = match gate::gate(&shipment, &options, progress.as_ref()) {
        Ok(report) => report,
        Err(error) => return fail(EXIT_UNUSABLE, error),
    };
    let totals = report.totals;
    println!(
        "{}: {} items, {} accepted, {} refused, {} unusable",
        report.reference, totals.items, totals.accepted, totals.refused, totals.unusable
    );
    if totals.accepted == totals.items {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}
