//! `cragate gate SHIPMENT.json [--policy FILE] [--data-dir DIR]
//! [--report-dir DIR] [--at RFC3339] [--jobs N] [--publish[=TARGET]]`:
//! checks every item of an inbound shipment (CRA Art. 19), records the
//! decisions, DoC copies and supply links on the ledger (Art. 19(6), 23),
//! and writes `report.json` and `report.html`.
//!
//! Exit 0 when every item was accepted, 1 when any was refused or could not
//! be judged, 2 when the manifest (or the policy, the ledger, the report
//! folder) cannot be used.

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use jiff::Timestamp;

use super::ledger::DEFAULT_DATA_DIR;
use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};
use crate::config::policies;
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

    /// Policy file (TOML); default: the shipped app-store policy built in
    /// (an importer wants policies/importer.toml, which carries its
    /// `[importer]` details).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// The data directory whose ledger records the decisions.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,

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

    /// Store accepted items in the catalog: `dir:PATH`, or given alone the
    /// file catalog DATA_DIR/catalog that `cragate serve` uses by default.
    #[arg(long, value_name = "TARGET", num_args = 0..=1, default_missing_value = "")]
    publish: Option<String>,
}

/// Runs the command.
pub fn run(args: &Args) -> ExitCode {
    let policy = match policies::load(args.policy.as_deref()) {
        Ok(policy) => policy,
        Err(errors) => {
            for error in &errors.errors {
                eprintln!("cragate: {error}");
            }
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let publish = match args.publish.as_deref() {
        None => None,
        Some("") => Some(Target::Dir(args.data_dir.join("catalog"))),
        Some(text) => match Target::parse(text) {
            Ok(target) => Some(target),
            Err(message) => return fail(EXIT_UNUSABLE, message),
        },
    };
    if let Some(Target::Http(url)) = &publish {
        return fail(
            EXIT_UNUSABLE,
            crate::gate::publish::PublishError::HttpNotImplemented(url.clone()),
        );
    }
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
        ledger: Location::new(&args.data_dir, None, None),
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
