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
//!          ──► spill: each item's report on disk ──► report.json, report.html
//! ```
//!
//! - [`manifest`]: `cragate.shipment/v1`, read into checked types;
//! - [`item`]: judging one item; [`stamp`]: the importer's details;
//!   [`hash`]: constant-memory hashing;
//! - [`report`] and [`html`]: `report.json` and `report.html`; [`spill`]:
//!   the item reports kept on disk until both are written;
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
pub mod spill;
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
use spill::Spill;

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

/// The ledger's page cache while gating: appending reads little back
/// (the tree's frontier, the lookup rows written in bulk), so a few MiB do,
/// and the memory of a long shipment does not grow with the pages it
/// wrote.
const LEDGER_CACHE_BYTES: usize = 4 << 20;

/// Gates `shipment`: judges every item, records the decisions on the
/// ledger in batches as items are judged, publishes each accepted item once
/// its entries are committed, and writes the reports. Returns the
/// shipment's part of the report, with the totals.
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
    let report_dir = options.report_dir.as_deref();
    let report_failed = |path: &Path, error: std::io::Error| GateError::Report {
        path: path.display().to_string(),
        message: error.to_string(),
    };
    // The report folder is made first: one that cannot be written stops
    // the gate before anything is judged or recorded.
    if let Some(dir) = report_dir {
        std::fs::create_dir_all(dir).map_err(|e| report_failed(dir, e))?;
    }
    let spill_failed = |e| report_failed(report_dir.unwrap_or(Path::new(".")), e);
    let mut spill = Spill::new(report_dir, shipment.items.len()).map_err(spill_failed)?;
    let mut recorder = Recorder::new(shipment, options, publisher);
    let judged = judge_all(shipment, options, progress, &mut recorder, &mut spill);
    progress.finish();
    judged?;
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
        spill.totals(),
    );
    if let Some(dir) = report_dir {
        spill.finish().map_err(spill_failed)?;
        write_reports(dir, &report, &spill)?;
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
/// one result per worker waits for it), and its report to `spill`; stops
/// at the recorder's or the spill's first error, after which no item is
/// started. Every item has its report in `spill` when it returns `Ok`.
fn judge_all(
    shipment: &Shipment,
    options: &Options<'_>,
    progress: &dyn Progress,
    recorder: &mut Recorder<'_>,
    spill: &mut Spill,
) -> Result<(), GateError> {
    let next = &AtomicUsize::new(0);
    let stop = &AtomicBool::new(false);
    let workers = options.jobs.get().min(shipment.items.len().max(1));
    let (sender, receiver) = mpsc::sync_channel::<Done>(workers);
    let mut failure = None;
    let spill_failed = |error: std::io::Error| GateError::Report {
        path: options
            .report_dir
            .as_deref()
            .unwrap_or(Path::new("."))
            .display()
            .to_string(),
        message: format!("cannot keep the item reports: {error}"),
    };
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
            let kept = recorder
                .add(index, judgement, &report)
                .and_then(|()| spill.add(&report).map_err(spill_failed));
            if let Err(error) = kept {
                failure = Some(error);
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        // Workers still sending find no one listening and stop.
        drop(receiver);
    });
    if let Some(error) = failure {
        return Err(error);
    }
    // Every item was sent unless a worker stopped early; one that was not
    // is reported as not judged.
    for (index, entry) in shipment.items.iter().enumerate() {
        if !spill.has(index) {
            spill
                .add(&ItemReport::new(entry.as_ref(), None))
                .map_err(spill_failed)?;
        }
    }
    Ok(())
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
                .open(StoreOptions {
                    cache_bytes: Some(LEDGER_CACHE_BYTES),
                    ..StoreOptions::default()
                })
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

/// Writes `report.json` and `report.html` into `dir`, each as it is
/// serialised (neither whole document is ever in memory) into a temporary
/// file moved in place once complete.
fn write_reports(dir: &Path, report: &Report, spill: &Spill) -> Result<(), GateError> {
    #[derive(serde::Serialize)]
    struct Json<'a> {
        #[serde(flatten)]
        report: &'a Report,
        items: spill::JsonItems<'a>,
    }
    let json = Json {
        report,
        items: spill.json_items(),
    };
    write_atomically(&dir.join("report.json"), |out| {
        serde_json::to_writer_pretty(&mut *out, &json)?;
        out.write_all(b"\n")
    })?;
    write_atomically(&dir.join("report.html"), |out| {
        html::write(report, spill, out)
    })
}

/// Writes `path` through `write`, into a temporary file beside it that
/// replaces it once written and flushed.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), GateError> {
    let failed = |message: String| GateError::Report {
        path: path.display().to_string(),
        message,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    // Readable as a file the command created (the process's umask
    // applies), not only by its owner as a temporary file would be.
    let temp = tempfile::Builder::new()
        .prefix(".report")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|e| failed(e.to_string()))?;
    let mut out = std::io::BufWriter::new(temp);
    write(&mut out).map_err(|e| failed(e.to_string()))?;
    let temp = out
        .into_inner()
        .map_err(|e| failed(e.error().to_string()))?;
    temp.persist(path)
        .map_err(|e| failed(e.error.to_string()))?;
    Ok(())
}
