//! Importer shipment gating (CRA Art. 19, Art. 23): `cragate gate` checks a
//! whole inbound shipment item by item, in parallel, records what the law
//! asks on the ledger, and writes a report.
//!
//! ```text
//! manifest ──► items ──► [jobs workers] read listing ─ stamp importer (19(4))
//!                                        ─ evaluate (as `cragate check`, 19(2))
//!                                        ─ hash artifacts from disk, compare
//!          ──► recorder: ledger (decision, documents, DoC 19(6), supply
//!              link 23), a commit per batch of items ──► catalog (--publish)
//!          ──► report.json, report.html (every item's summary)
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

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use cragate_verifier::policy::Policy;
use jiff::Timestamp;

use crate::http::files::read_file_limited;
use crate::ledger::{LedgerError, LedgerStore, Location, StoreOptions, Submission};
use item::{Judged, Judgement};
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
    /// The ledger could not record the decisions: nothing after the
    /// items already recorded may be placed.
    #[error(
        "the ledger {location} cannot record the decisions: {source} (the {recorded} items recorded before stay on record; no other item was recorded or published)"
    )]
    Ledger {
        /// Where the ledger is.
        location: String,
        /// Items whose entries were committed before.
        recorded: usize,
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

/// Judged items whose ledger entries wait for one commit, per `--jobs`
/// worker. A judged item holds its listing, its DoC and its report (about
/// 75 KiB for the example's listings, at most the listing limit) until its
/// entries are committed and it is published, so what waits is bounded by
/// `--jobs`, not by the shipment's size; eight items per worker share one
/// durable commit (one fsync), which keeps the ledger off the critical
/// path next to hashing.
pub const ITEMS_PER_COMMIT_PER_JOB: usize = 8;

/// Gates `shipment`: judges every item, records the decisions on the
/// ledger in batches as items are judged, publishes each accepted item once
/// its entries are committed, and writes the reports.
///
/// A ledger failure stops the gate: the items committed before it stay on
/// record (they were decided), nothing after it is recorded or published,
/// and no report is written. A publishing failure stops publishing only:
/// every item is still judged and recorded and the reports are written,
/// then the error is returned.
pub fn gate(
    shipment: &Shipment,
    options: &Options<'_>,
    progress: &dyn Progress,
) -> Result<Report, GateError> {
    let publisher = options
        .publish
        .as_ref()
        .map(publish::Publisher::open)
        .transpose()?;
    let mut recorder = Recorder::new(shipment, options, publisher);
    let judged = judge_all(shipment, options, progress, &mut recorder);
    progress.finish();
    let items = judged?;
    recorder.commit()?;
    let policy = options.policy;
    let report = Report::new(
        shipment,
        PolicyView {
            name: policy.name().to_owned(),
            digest: policy.digest(),
        },
        policy.importer().cloned(),
        options.at,
        items,
    );
    if let Some(dir) = &options.report_dir {
        write_reports(dir, &report)?;
    }
    if let Some(error) = recorder.publish_error {
        return Err(error.into());
    }
    Ok(report)
}

/// What a worker hands the recorder: the item's position, what became of
/// it (`None` when the manifest already refused it), and its report.
type Done = (usize, Option<Judgement>, ItemReport);

/// Judges every item with `options.jobs` workers and hands each result to
/// `recorder` as it comes (workers wait when the recorder lags: at most
/// one result per worker waits for it); returns the item reports in
/// manifest order, or the recorder's first error, after which no item is
/// started.
fn judge_all(
    shipment: &Shipment,
    options: &Options<'_>,
    progress: &dyn Progress,
    recorder: &mut Recorder<'_>,
) -> Result<Vec<ItemReport>, GateError> {
    let next = &AtomicUsize::new(0);
    let stop = &AtomicBool::new(false);
    let workers = options.jobs.get().min(shipment.items.len().max(1));
    let (sender, receiver) = mpsc::sync_channel::<Done>(workers);
    let mut reports: Vec<Option<ItemReport>> = shipment.items.iter().map(|_| None).collect();
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            scope.spawn(move || {
                let hashed = |bytes| progress.hashed(bytes);
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = shipment.items.get(index) else {
                        break;
                    };
                    let judgement = entry
                        .as_ref()
                        .ok()
                        .map(|item| item::judge(item, options.policy, options.at, &hashed));
                    let report = ItemReport::new(entry.as_ref(), judgement.as_ref());
                    progress.item(&report);
                    if sender.send((index, judgement, report)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        while let Ok((index, judgement, report)) = receiver.recv() {
            if let Err(error) = recorder.add(index, judgement, &report) {
                failure = Some(error);
                stop.store(true, Ordering::Relaxed);
                break;
            }
            if let Some(slot) = reports.get_mut(index) {
                *slot = Some(report);
            }
        }
        // Workers still sending find no one listening and stop.
        drop(receiver);
    });
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(reports
        .into_iter()
        .zip(&shipment.items)
        .map(|(report, entry)| report.unwrap_or_else(|| ItemReport::new(entry.as_ref(), None)))
        .collect())
}

/// The ledger entries of judged items, appended in batches of
/// [`ITEMS_PER_COMMIT_PER_JOB`] × `--jobs` items in the order items finish,
/// each batch in one durable commit (all of its items' entries or none);
/// the accepted items of a batch are published once it is committed, so
/// the catalog never holds an item whose decision is not on the ledger.
struct Recorder<'a> {
    shipment: &'a Shipment,
    options: &'a Options<'a>,
    /// Opened at the first commit: a shipment with nothing to record
    /// leaves no ledger behind.
    ledger: Option<Arc<dyn LedgerStore>>,
    batch_items: usize,
    /// Items in the batch, and the entries they make.
    pending: usize,
    entries: Vec<Submission>,
    /// Accepted items of the batch, to publish once it is committed.
    to_publish: Vec<Judged>,
    /// Items whose entries are committed.
    recorded: usize,
    publisher: Option<publish::Publisher>,
    publish_error: Option<publish::PublishError>,
}

impl<'a> Recorder<'a> {
    fn new(
        shipment: &'a Shipment,
        options: &'a Options<'a>,
        publisher: Option<publish::Publisher>,
    ) -> Self {
        Self {
            shipment,
            options,
            ledger: None,
            batch_items: ITEMS_PER_COMMIT_PER_JOB.saturating_mul(options.jobs.get()),
            pending: 0,
            entries: Vec::new(),
            to_publish: Vec::new(),
            recorded: 0,
            publisher,
            publish_error: None,
        }
    }

    /// Adds the entries of item `index`; commits when the batch is full.
    fn add(
        &mut self,
        index: usize,
        judgement: Option<Judgement>,
        report: &ItemReport,
    ) -> Result<(), GateError> {
        let (shipment, at) = (self.shipment, self.options.at);
        let entry_error = |message| GateError::Entry { index, message };
        match (shipment.items.get(index), judgement) {
            (Some(Ok(item)), Some(Judgement::Judged(judged))) => {
                let entries = record::submissions(shipment, item, &judged, report, at)
                    .map_err(entry_error)?;
                self.entries.extend(entries);
                if judged.accepted() && self.publisher.is_some() {
                    self.to_publish.push(*judged);
                }
            }
            (Some(Ok(_)), Some(Judgement::Unusable(unusable))) => {
                let Some(supplied) = &unusable.supplied else {
                    return Ok(());
                };
                let policy = self.options.policy.digest();
                let entries = record::unchecked_submissions(shipment, supplied, policy, report, at)
                    .map_err(entry_error)?;
                self.entries.extend(entries);
            }
            _ => return Ok(()),
        }
        self.pending += 1;
        if self.pending >= self.batch_items {
            self.commit()?;
        }
        Ok(())
    }

    /// Commits the batch, then publishes its accepted items (until a
    /// publication fails: then none after it).
    fn commit(&mut self) -> Result<(), GateError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let location = self.options.ledger.describe();
        let recorded = self.recorded;
        let failed = |source| GateError::Ledger {
            location: location.clone(),
            recorded,
            source,
        };
        let ledger = match self.ledger.take() {
            Some(ledger) => ledger,
            None => self
                .options
                .ledger
                .open(StoreOptions::default())
                .map_err(failed)?,
        };
        ledger.append_batch(&self.entries).map_err(failed)?;
        self.ledger = Some(ledger);
        self.entries.clear();
        self.recorded += std::mem::take(&mut self.pending);
        let to_publish = std::mem::take(&mut self.to_publish);
        if let (Some(publisher), None) = (&self.publisher, &self.publish_error) {
            for judged in &to_publish {
                if let Err(error) = publisher.publish(judged) {
                    self.publish_error = Some(error);
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Writes `report.json` and `report.html` into `dir`.
fn write_reports(dir: &Path, report: &Report) -> Result<(), GateError> {
    let failed = |path: &Path, message: String| GateError::Report {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e.to_string()))?;
    // Written as it is serialised: the whole document is never in memory.
    let json_path = dir.join("report.json");
    let file = std::fs::File::create(&json_path).map_err(|e| failed(&json_path, e.to_string()))?;
    let mut json = std::io::BufWriter::new(file);
    serde_json::to_writer_pretty(&mut json, report)
        .map_err(|e| failed(&json_path, e.to_string()))?;
    json.write_all(b"\n")
        .and_then(|()| json.flush())
        .map_err(|e| failed(&json_path, e.to_string()))?;
    let html_path = dir.join("report.html");
    let html = html::render(report).map_err(|e| failed(&html_path, e.to_string()))?;
    std::fs::write(&html_path, html).map_err(|e| failed(&html_path, e.to_string()))?;
    Ok(())
}
