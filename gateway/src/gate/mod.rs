//! Importer shipment gating (CRA Art. 19, Art. 23): `cragate gate` checks a
//! whole inbound shipment item by item, in parallel, records what the law
//! asks on the ledger, and writes a report.
//!
//! ```text
//! manifest ──► items ──► [jobs workers] read listing ─ stamp importer (19(4))
//!                                        ─ evaluate (as `cragate check`, 19(2))
//!                                        ─ hash artifacts from disk, compare
//!          ──► report.json, report.html ──► ledger (decision, documents,
//!              DoC 19(6), supply link 23) ──► catalog (--publish)
//! ```
//!
//! - [`manifest`]: `cragate.shipment/v1`, read into checked types;
//! - [`item`]: judging one item; [`stamp`]: the importer's details;
//!   [`hash`]: constant-memory hashing;
//! - [`report`] and [`html`]: `report.json` and `report.html`;
//! - [`record`]: the ledger entries; [`publish`]: the catalog;
//! - [`progress`]: the progress bar or one line per item.

pub mod hash;
pub mod html;
pub mod item;
pub mod manifest;
pub mod progress;
pub mod publish;
pub mod record;
pub mod report;
pub mod stamp;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use cragate_verifier::policy::Policy;
use jiff::Timestamp;

use crate::http::files::read_file_limited;
use crate::ledger::{LedgerError, Location, StoreOptions, Submission};
use item::Judgement;
use manifest::{MAX_MANIFEST_BYTES, ManifestError, Shipment};
use progress::Progress;
use report::{ItemReport, PolicyView, Report};

/// Why a shipment could not be gated at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// The manifest cannot be read.
    #[error("{0}")]
    ReadManifest(String),
    /// The manifest is not usable.
    #[error("{path}: {source}")]
    Manifest {
        /// The manifest's path.
        path: String,
        /// What is wrong.
        source: ManifestError,
    },
    /// The ledger could not record the decisions: nothing may be placed.
    #[error("the ledger {location} cannot record the decisions: {source}")]
    Ledger {
        /// Where the ledger is.
        location: String,
        /// What failed.
        source: LedgerError,
    },
    /// An item's entries could not be made.
    #[error("items[{index}]: cannot be recorded on the ledger: {message}")]
    Entry {
        /// The item.
        index: usize,
        /// Why.
        message: String,
    },
    /// A report could not be written.
    #[error("cannot write {path}: {message}")]
    Report {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Publishing to the catalog failed.
    #[error(transparent)]
    Publish(#[from] publish::PublishError),
}

/// What `cragate gate` was asked to do.
#[derive(Debug)]
pub struct Options<'a> {
    /// The manifest.
    pub manifest: &'a Path,
    /// The policy every item is judged under.
    pub policy: &'a Policy,
    /// Where the ledger is.
    pub ledger: Location,
    /// Where `report.json` and `report.html` go, if anywhere.
    pub report_dir: Option<PathBuf>,
    /// The evaluation time.
    pub at: Timestamp,
    /// Items judged at once.
    pub jobs: NonZeroUsize,
    /// Where accepted items are published, if anywhere.
    pub publish: Option<publish::Target>,
}

/// Reads the manifest: an error here means exit status 2.
pub fn read_manifest(path: &Path) -> Result<Shipment, GateError> {
    let bytes = read_file_limited(path, MAX_MANIFEST_BYTES, "shipment manifest")
        .map_err(|e| GateError::ReadManifest(format!("{e:#}")))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    Shipment::from_json(&bytes, folder).map_err(|source| GateError::Manifest {
        path: path.display().to_string(),
        source,
    })
}

/// Gates `shipment`: judges every item, writes the reports, records the
/// decisions on the ledger and publishes what was accepted.
pub fn gate(
    shipment: &Shipment,
    options: &Options<'_>,
    progress: &dyn Progress,
) -> Result<Report, GateError> {
    let judgements = judge_all(shipment, options, progress);
    progress.finish();
    let policy = options.policy;
    let report = Report::new(
        shipment,
        PolicyView {
            name: policy.name().to_owned(),
            digest: policy.digest(),
        },
        policy.importer().cloned(),
        options.at,
        &judgements,
    );
    record(shipment, &judgements, &report, options)?;
    if let Some(dir) = &options.report_dir {
        write_reports(dir, &report)?;
    }
    if let Some(target) = &options.publish {
        publish::publish(target, shipment, &judgements)?;
    }
    Ok(report)
}

/// Judges every item with `options.jobs` workers; the results are in
/// manifest order, `None` for an item the manifest already refused.
fn judge_all(
    shipment: &Shipment,
    options: &Options<'_>,
    progress: &dyn Progress,
) -> Vec<Option<Judgement>> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Judgement>>> =
        shipment.items.iter().map(|_| Mutex::new(None)).collect();
    let workers = options.jobs.get().min(shipment.items.len().max(1));
    let hashed = |bytes| progress.hashed(bytes);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = shipment.items.get(index) else {
                        break;
                    };
                    let judgement = entry
                        .as_ref()
                        .ok()
                        .map(|item| item::judge(item, options.policy, options.at, &hashed));
                    progress.item(&ItemReport::new(entry.as_ref(), judgement.as_ref()));
                    if let Some(slot) = slots.get(index)
                        && let Ok(mut slot) = slot.lock()
                    {
                        *slot = judgement;
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_default())
        .collect()
}

/// Appends every judged item's entries in manifest order, in one durable
/// commit: the ledger has all of the shipment's decisions or none.
fn record(
    shipment: &Shipment,
    judgements: &[Option<Judgement>],
    report: &Report,
    options: &Options<'_>,
) -> Result<(), GateError> {
    let mut batch: Vec<Submission> = Vec::new();
    for ((entry, judgement), item_report) in
        shipment.items.iter().zip(judgements).zip(&report.items)
    {
        let (Ok(item), Some(Judgement::Judged(judged))) = (entry, judgement) else {
            continue;
        };
        let submissions = record::submissions(shipment, item, judged, item_report, options.at)
            .map_err(|message| GateError::Entry {
                index: item.index,
                message,
            })?;
        batch.extend(submissions);
    }
    if batch.is_empty() {
        return Ok(());
    }
    let location = options.ledger.describe();
    let ledger = options
        .ledger
        .open(StoreOptions::default())
        .map_err(|source| GateError::Ledger {
            location: location.clone(),
            source,
        })?;
    ledger
        .append_batch(&batch)
        .map_err(|source| GateError::Ledger { location, source })?;
    Ok(())
}

/// Writes `report.json` and `report.html` into `dir`.
fn write_reports(dir: &Path, report: &Report) -> Result<(), GateError> {
    let failed = |path: &Path, message: String| GateError::Report {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e.to_string()))?;
    let json_path = dir.join("report.json");
    let mut json =
        serde_json::to_vec_pretty(report).map_err(|e| failed(&json_path, e.to_string()))?;
    json.push(b'\n');
    std::fs::write(&json_path, json).map_err(|e| failed(&json_path, e.to_string()))?;
    let html_path = dir.join("report.html");
    let html = html::render(report).map_err(|e| failed(&html_path, e.to_string()))?;
    std::fs::write(&html_path, html).map_err(|e| failed(&html_path, e.to_string()))?;
    Ok(())
}
