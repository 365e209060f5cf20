//! `cragate ledger`: inspect, verify and export the ledger of a stopped
//! gateway.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::ledger::entry::EntryBody;
use crate::ledger::epcis;
use crate::ledger::export::{self, Selection};
use crate::ledger::{
    LedgerError, LedgerStore, Location, OperatorId, ProductId, Query, StoreOptions, StoredRecord,
    VerifierKey, supply_chain,
};
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use cragate_verifier::Digest;
use jiff::Timestamp;

use super::{EXIT_FAILED, EXIT_UNUSABLE, fail};

/// Where the ledger lives unless `--data-dir` says otherwise (as for `serve`).
pub const DEFAULT_DATA_DIR: &str = "./cragate-data";

/// `cragate ledger` arguments.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The gateway's data directory.
    #[arg(long, global = true, value_name = "DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// A PostgreSQL ledger (`postgresql://...`) instead of the data
    /// directory's file, as `serve --ledger` uses it.
    #[arg(long, global = true, value_name = "URL")]
    ledger: Option<String>,
    /// The checkpoint signing key shared by the nodes of a PostgreSQL
    /// ledger (default DATA_DIR/ledger-key.p8).
    #[arg(long, global = true, value_name = "PATH")]
    ledger_key: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the checkpoint verifier key (creating the signing key if there is none).
    Key,
    /// Recompute the tree, check every checkpoint signature, report the first inconsistent entry.
    Verify,
    /// Export entries with a signed checkpoint and inclusion proofs (JSON Lines).
    Export(ExportArgs),
    /// Verify an export offline.
    VerifyExport(VerifyExportArgs),
    /// List entries (one record per line) by product, digest, operator and time.
    Query(QueryArgs),
    /// Suppliers and customers of a product: whom a recall must reach.
    SupplyChain(SupplyChainArgs),
    /// Copy a data directory's ledger into an empty PostgreSQL database,
    /// entry by entry, and check that both have the same tree head.
    Migrate(MigrateArgs),
}

#[derive(Debug, ClapArgs)]
struct MigrateArgs {
    /// The data directory whose ledger is copied (its key signs the copy).
    #[arg(long, value_name = "DATA_DIR")]
    from: PathBuf,
    /// The database it is copied into (`postgresql://...`), which must hold
    /// no entries yet.
    #[arg(long, value_name = "URL")]
    to: String,
}

#[derive(Debug, ClapArgs)]
#[group(id = "selection", required = true, multiple = true)]
struct ExportArgs {
    /// Entries about this product.
    #[arg(long, value_name = "ID", group = "selection")]
    product: Option<ProductId>,
    /// Entries at or after this time (RFC 3339).
    #[arg(long, value_name = "T", group = "selection")]
    since: Option<Timestamp>,
    /// Entries before this time (RFC 3339).
    #[arg(long, value_name = "T", group = "selection")]
    until: Option<Timestamp>,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// `jsonl`: every entry with its proof (cragate.ledger-export/v1);
    /// `epcis`: the supply links and halt notices as a GS1 EPCIS 2.0
    /// JSON-LD document, for interchange (no proofs).
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
}

/// Formats of `ledger export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    Jsonl,
    Epcis,
}

#[derive(Debug, ClapArgs)]
struct VerifyExportArgs {
    /// The export.
    file: PathBuf,
    /// The ledger's verifier key, as printed by `cragate ledger key`; without
    /// it, the key named in the export is used, which shows only that the
    /// export is consistent with itself.
    #[arg(long, value_name = "KEY")]
    key: Option<VerifierKey>,
}

#[derive(Debug, ClapArgs)]
struct QueryArgs {
    /// Entries about this product.
    #[arg(long, value_name = "ID")]
    product: Option<ProductId>,
    /// Entries naming this digest (sha256:<hex>).
    #[arg(long, value_name = "DIGEST")]
    digest: Option<Digest>,
    /// Entries naming this economic operator.
    #[arg(long, value_name = "ID")]
    operator: Option<OperatorId>,
    /// Entries at or after this time (RFC 3339).
    #[arg(long, value_name = "T")]
    since: Option<Timestamp>,
    /// Entries before this time (RFC 3339).
    #[arg(long, value_name = "T")]
    until: Option<Timestamp>,
    /// At most this many entries.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

#[derive(Debug, ClapArgs)]
struct SupplyChainArgs {
    /// The product.
    product: ProductId,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs a `ledger` command.
pub fn run(args: &Args) -> ExitCode {
    let data = Location::new(
        &args.data_dir,
        args.ledger.as_deref(),
        args.ledger_key.as_deref(),
    );
    let result = match &args.command {
        Command::Key => key(&data),
        Command::Verify => verify(&data),
        Command::Export(export) => run_export(&data, export),
        Command::VerifyExport(verify) => verify_export(verify),
        Command::Query(query) => run_query(&data, query),
        Command::SupplyChain(chain) => run_supply_chain(&data, chain),
        Command::Migrate(migrate) => run_migrate(migrate),
    };
    result.unwrap_or_else(|error| fail(EXIT_UNUSABLE, format!("{error:#}")))
}

fn key(data: &Location) -> anyhow::Result<ExitCode> {
    let key = data.signing_key()?;
    println!("{}", key.verifier());
    Ok(ExitCode::SUCCESS)
}

fn verify(data: &Location) -> anyhow::Result<ExitCode> {
    let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let audited = open_existing(data).and_then(|ledger| {
        let report = ledger.audit(ledger.verifier_key(), today)?;
        Ok((ledger, report))
    });
    let (ledger, report) = match audited {
        Ok(audited) => audited,
        Err(error) => {
            if let Some(damaged @ LedgerError::Damaged { .. }) = error.downcast_ref() {
                println!("ledger inconsistent: {damaged}");
                return Ok(ExitCode::from(EXIT_FAILED));
            }
            return Err(error);
        }
    };
    if report.is_consistent() {
        println!(
            "ledger consistent: {} entries ({} pruned after retention), {} checkpoints signed by {}",
            report.entries,
            report.pruned,
            report.checkpoints,
            ledger.verifier_key().name()
        );
        return Ok(ExitCode::SUCCESS);
    }
    match report.first_inconsistent_entry() {
        Some(index) => println!("ledger inconsistent: first inconsistent entry is {index}"),
        None => println!("ledger inconsistent"),
    }
    for problem in &report.problems {
        println!("  {problem}");
    }
    let unlisted = report.problem_count - report.problems.len() as u64;
    if unlisted > 0 {
        println!("  ... and {unlisted} more");
    }
    Ok(ExitCode::from(EXIT_FAILED))
}

fn run_export(data: &Location, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let ledger = open_existing(data)?;
    let selection = Selection {
        product: args.product.clone(),
        since: args.since,
        until: args.until,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    if args.format == ExportFormat::Epcis {
        let summary = epcis::export(ledger.as_ref(), &selection, Timestamp::now(), &mut out)?;
        out.flush().context("cannot write the export")?;
        eprintln!(
            "exported {} supply-link and {} halt-notice events as EPCIS 2.0",
            summary.supply_events, summary.halt_events
        );
        return Ok(ExitCode::SUCCESS);
    }
    let summary = export::export(ledger.as_ref(), ledger.verifier_key(), &selection, &mut out)?;
    out.flush().context("cannot write the export")?;
    eprintln!(
        "exported {} entries and {} documents against the checkpoint of size {}",
        summary.entries, summary.documents, summary.tree_size
    );
    Ok(ExitCode::SUCCESS)
}

fn verify_export(args: &VerifyExportArgs) -> anyhow::Result<ExitCode> {
    let file = crate::http::files::open_regular(&args.file, "export")?;
    match export::verify(BufReader::new(file), args.key.as_ref()) {
        Ok(summary) => {
            let trust = if args.key.is_some() {
                "the given key"
            } else {
                "the key named in the export (pass --key to pin the ledger's key)"
            };
            println!(
                "export verified: {} entries and {} documents included in the tree of size {}, signed by {trust}",
                summary.entries, summary.documents, summary.tree_size
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(export::ExportError::Io(error)) => Err(error.into()),
        Err(error) => Ok(fail(EXIT_FAILED, format!("export not verified: {error}"))),
    }
}

fn run_query(data: &Location, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let ledger = open_existing(data)?;
    let query = Query {
        product: args.product.clone(),
        digest: args.digest,
        operator: args.operator.clone(),
        since: args.since,
        until: args.until,
        limit: args.limit,
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for stored in ledger.query(&query)? {
        out.write_all(&stored.bytes)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn run_supply_chain(data: &Location, args: &SupplyChainArgs) -> anyhow::Result<ExitCode> {
    let ledger = open_existing(data)?;
    let chain = supply_chain(ledger.as_ref(), &args.product)?;
    if args.json {
        let json = serde_json::json!({
            "product": args.product,
            "upstream": chain.upstream.iter().map(|s| &s.record).collect::<Vec<_>>(),
            "downstream": chain.downstream.iter().map(|s| &s.record).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {} supplies received, {} supplies made",
        args.product,
        chain.upstream.len(),
        chain.downstream.len()
    );
    for (title, links) in [
        ("suppliers", &chain.upstream),
        ("customers", &chain.downstream),
    ] {
        println!("{title}:");
        for stored in links {
            println!("  {}", describe_link(stored));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_migrate(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let from = Location::new(&args.from, None, None);
    let source = open_existing(&from)?;
    let key_file = crate::ledger::DataDir::new(&args.from).key_file();
    let to = Location::new(&args.from, Some(&args.to), Some(&key_file));
    let target = to
        .open(StoreOptions::default())
        .with_context(|| format!("cannot open the ledger {}", to.describe()))?;
    let copied = crate::ledger::migrate::copy(source.as_ref(), target.as_ref())?;
    println!(
        "copied {} entries from {} to {}: both trees have size {} and root {}",
        copied.entries,
        from.describe(),
        to.describe(),
        copied.size,
        copied.root,
    );
    Ok(ExitCode::SUCCESS)
}

fn describe_link(stored: &StoredRecord) -> String {
    let EntryBody::SupplyLink {
        release,
        quantity,
        counterparty,
        supplied_on,
        shipment,
        batch,
        ..
    } = &stored.record.body
    else {
        return String::new();
    };
    let mut line = format!(
        "{supplied_on}  {}  {}, {}  (entry {}",
        counterparty.id, counterparty.name, counterparty.postal_address, stored.record.index
    );
    if let Some(release) = release {
        line.push_str(&format!(", release {release}"));
    }
    if let Some(quantity) = quantity {
        line.push_str(&format!(", quantity {quantity}"));
    }
    if let Some(batch) = batch {
        line.push_str(&format!(", batch {batch}"));
    }
    if let Some(shipment) = shipment {
        line.push_str(&format!(", shipment {shipment}"));
    }
    line.push(')');
    line
}

/// Opens a ledger that must already exist: a data directory must hold
/// the file and its key; a database is connected to (its tables are made
/// on first use, so an empty one reads as an empty ledger).
fn open_existing(location: &Location) -> anyhow::Result<Arc<dyn LedgerStore>> {
    if let Location::Redb(data) = location {
        for path in [data.ledger_file(), data.key_file()] {
            if !path.exists() {
                anyhow::bail!(
                    "no ledger in {}: {} does not exist",
                    data.path().display(),
                    path.display()
                );
            }
        }
    }
    location
        .open(StoreOptions::default())
        .with_context(|| format!("cannot open the ledger {}", location.describe()))
}
