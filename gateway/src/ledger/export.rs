//! Ledger export (`cragate.ledger-export/v1`, JSON Lines) and its offline
//! verification.
//!
//! Line 1 is a header naming the log's verifier key and the selection;
//! line 2 the signed checkpoint every proof refers to; then one line per
//! entry with its exact leaf data (a JSON string holding the record) and
//! its RFC 6962 audit path; then one line per archived document with its
//! content. Anyone with SHA-256 and Ed25519 can check it: the checkpoint
//! signature (C2SP signed-note), each leaf hash against the checkpoint root
//! (RFC 9162 §2.1.3.2), and each document against its digest.
//!
//! An export for a product holds that product's entries. An export for a
//! period (`since` and/or `until`, no product) holds every entry from the
//! first of the period to the last, by index, and the entries just outside
//! it as `boundary` lines with their proofs: the one before has a time
//! before `since`, the one after a time at or after `until`. So a verifier
//! sees an entry of the period left out, at either end too. Times are the
//! recording clock's; an entry between the first and the last whose time a
//! clock set back put outside the period is exported with them.

use std::io::{BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cragate_verifier::Digest;
use cragate_verifier::json::{self, JsonBudget};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointError, VerifierKey};
use super::entry::{EntryBody, ProductId, Record};
use super::merkle::{self, Hash};
use super::{LedgerError, LedgerStore, Query, StoredRecord};

/// The `format` of an export's header line.
pub const EXPORT_FORMAT: &str = "cragate.ledger-export/v1";
/// Longest line read when verifying an export: a document of up to
/// 16 MiB in base64, plus room for the JSON around it.
pub const MAX_EXPORT_LINE: usize = 24 * 1024 * 1024;

/// The JSON budget of one export line, read by the verifier's JSON reader
/// (a key given twice in a line or in a leaf makes the export unusable).
const EXPORT_LINE_JSON: JsonBudget = JsonBudget::new("export line", MAX_EXPORT_LINE);

/// Which entries to export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// Entries about this product.
    pub product: Option<ProductId>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
}

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// First line.
    Header {
        /// [`EXPORT_FORMAT`].
        format: String,
        /// The ledger's verifier key (`name+hash+base64`).
        verifier_key: String,
        /// What was selected.
        selection: Selection,
    },
    /// Second line: the checkpoint the proofs refer to.
    Checkpoint {
        /// The signed note.
        note: String,
    },
    /// An entry with its proof.
    Entry {
        /// Leaf index.
        index: u64,
        /// The leaf data: the record's exact bytes, as a string.
        leaf: String,
        /// Audit path to the checkpoint root, base64 hashes, leaf side first.
        inclusion: Vec<String>,
    },
    /// In a period export, the entry just before the first one of the period
    /// or just after the last: its time shows where the period ends.
    Boundary {
        /// Leaf index.
        index: u64,
        /// The leaf data: the record's exact bytes, as a string.
        leaf: String,
        /// Audit path to the checkpoint root, base64 hashes, leaf side first.
        inclusion: Vec<String>,
    },
    /// An archived document named by an exported entry.
    Document {
        /// Its digest.
        digest: Digest,
        /// Its content, base64.
        content: String,
    },
}

/// What an export holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries.
    pub entries: u64,
    /// Documents.
    pub documents: u64,
    /// The checkpoint's tree size.
    pub tree_size: u64,
}

/// Why an export does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the input failed.
    #[error("reading the export: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not what the format allows there.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// An entry is not in the checkpointed tree.
    #[error("line {line}: entry {index} is not included in the checkpointed tree")]
    NotIncluded {
        /// 1-based line number.
        line: usize,
        /// The entry's index.
        index: u64,
    },
    /// A document does not have its digest, or an entry's document is absent.
    #[error("document {digest}: {reason}")]
    Document {
        /// The digest.
        digest: Digest,
        /// What is wrong.
        reason: &'static str,
    },
    /// A period export cannot cover an entry whose body was pruned.
    #[error(
        "entry {index} was pruned after its retention ended, so no period export can show it: export a period after it"
    )]
    Pruned {
        /// The entry's index.
        index: u64,
    },
    /// Writing the export failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Writes an export of the entries `selection` picks, signing a checkpoint
/// first if the latest does not cover every entry.
pub fn export(
    store: &dyn LedgerStore,
    key: &VerifierKey,
    selection: &Selection,
    out: &mut impl Write,
) -> Result<Summary, ExportError> {
    let signed = store.checkpoint()?;
    let size = signed.checkpoint.size;
    let query = Query {
        product: selection.product.clone(),
        since: selection.since,
        until: selection.until,
        ..Query::default()
    };
    let (before, records, after) = if is_period(selection) {
        period(store, &query, size)?
    } else {
        let records = store.query(&query)?;
        let records = records.into_iter().filter(|s| s.record.index < size);
        (None, records.collect(), None)
    };
    write_line(
        out,
        &Line::Header {
            format: EXPORT_FORMAT.into(),
            verifier_key: key.to_string(),
            selection: selection.clone(),
        },
    )?;
    write_line(out, &Line::Checkpoint { note: signed.note })?;
    let mut summary = Summary {
        tree_size: size,
        ..Summary::default()
    };
    if let Some(before) = before {
        let (index, leaf, inclusion) = proven(store, &before, size)?;
        write_line(
            out,
            &Line::Boundary {
                index,
                leaf,
                inclusion,
            },
        )?;
    }
    let mut documents = Vec::new();
    for stored in &records {
        let (index, leaf, inclusion) = proven(store, stored, size)?;
        write_line(
            out,
            &Line::Entry {
                index,
                leaf,
                inclusion,
            },
        )?;
        summary.entries += 1;
        if let EntryBody::Document { digest, .. } = &stored.record.body
            && !documents.contains(digest)
        {
            documents.push(*digest);
        }
    }
    if let Some(after) = after {
        let (index, leaf, inclusion) = proven(store, &after, size)?;
        write_line(
            out,
            &Line::Boundary {
                index,
                leaf,
                inclusion,
            },
        )?;
    }
    for digest in documents {
        let Some(content) = store.document(&digest)? else {
            return Err(ExportError::Document {
                digest,
                reason: "is not in the ledger",
            });
        };
        write_line(
            out,
            &Line::Document {
                digest,
                content: STANDARD.encode(content),
            },
        )?;
        summary.documents += 1;
    }
    Ok(summary)
}

/// Verifies an export offline. With `pinned`, the checkpoint must be signed
/// by that key; without, by the key the header names (which only shows the
/// export is self-consistent).
pub fn verify(
    mut input: impl BufRead,
    pinned: Option<&VerifierKey>,
) -> Result<Summary, ExportError> {
    let mut n = 0;
    let header = next_line(&mut input, &mut n)?;
    let Line::Header {
        format,
        verifier_key,
        selection,
    } = header
    else {
        return Err(malformed(n, "the first line must be the header"));
    };
    if format != EXPORT_FORMAT {
        return Err(malformed(
            n,
            &format!("format {format:?} is not {EXPORT_FORMAT}"),
        ));
    }
    let named: VerifierKey = verifier_key.parse()?;
    let key = pinned.unwrap_or(&named);
    let checkpoint = next_line(&mut input, &mut n)?;
    let Line::Checkpoint { note } = checkpoint else {
        return Err(malformed(n, "the second line must be the checkpoint"));
    };
    let checkpoint = key.open(&note)?;
    let mut summary = Summary {
        tree_size: checkpoint.size,
        ..Summary::default()
    };
    let period = is_period(&selection);
    let mut run = Run::default();
    let mut wanted: Vec<Digest> = Vec::new();
    while let Some(line) = read_line(&mut input, &mut n)? {
        match parse(n, &line)? {
            Line::Entry {
                index,
                leaf,
                inclusion,
            } => {
                let record = check_entry(
                    n,
                    index,
                    &leaf,
                    &inclusion,
                    &checkpoint.root,
                    checkpoint.size,
                )?;
                run.entry(n, index, period)?;
                if !period && !in_selection(&selection, &record) {
                    return Err(malformed(n, "entry is outside the export's selection"));
                }
                if let EntryBody::Document { digest, .. } = record.body {
                    wanted.push(digest);
                }
                summary.entries += 1;
            }
            Line::Boundary {
                index,
                leaf,
                inclusion,
            } => {
                if !period {
                    return Err(malformed(n, "only a period export has boundary lines"));
                }
                let record = check_entry(
                    n,
                    index,
                    &leaf,
                    &inclusion,
                    &checkpoint.root,
                    checkpoint.size,
                )?;
                run.boundary(n, record)?;
            }
            Line::Document { digest, content } => {
                let bytes = STANDARD
                    .decode(content)
                    .map_err(|_| malformed(n, "document content is not base64"))?;
                if Digest::of(&bytes) != digest {
                    return Err(ExportError::Document {
                        digest,
                        reason: "content does not have this digest",
                    });
                }
                wanted.retain(|d| *d != digest);
                summary.documents += 1;
            }
            _ => return Err(malformed(n, "header and checkpoint lines come first, once")),
        }
    }
    if period {
        run.covers_the_period(&selection, checkpoint.size)?;
    }
    if let Some(digest) = wanted.first() {
        return Err(ExportError::Document {
            digest: *digest,
            reason: "an exported entry names it but its content is not in the export",
        });
    }
    Ok(summary)
}

/// Whether `selection` is a period (no product), whose export must hold
/// every entry of the period.
fn is_period(selection: &Selection) -> bool {
    selection.product.is_none() && (selection.since.is_some() || selection.until.is_some())
}

/// The entries of a period, every index from the first of the period to
/// the last, with the entries just outside it.
type PeriodEntries = (
    Option<StoredRecord>,
    Vec<StoredRecord>,
    Option<StoredRecord>,
);

fn period(store: &dyn LedgerStore, query: &Query, size: u64) -> Result<PeriodEntries, ExportError> {
    let in_period: Vec<u64> = store
        .query(query)?
        .iter()
        .map(|s| s.record.index)
        .filter(|index| *index < size)
        .collect();
    let (start, end) = match (in_period.first(), in_period.last()) {
        (Some(&first), Some(&last)) => (first, last + 1),
        _ => {
            let at = first_at_or_after(store, query.since, size)?;
            (at, at)
        }
    };
    let record = |index: u64| -> Result<StoredRecord, ExportError> {
        store.record(index)?.ok_or(ExportError::Pruned { index })
    };
    let before = start.checked_sub(1).map(record).transpose()?;
    let records = (start..end).map(record).collect::<Result<_, _>>()?;
    let after = (end < size).then(|| record(end)).transpose()?;
    Ok((before, records, after))
}

/// The first index whose time is at or after `since` (0 without one), by
/// bisection over the entries' times.
fn first_at_or_after(
    store: &dyn LedgerStore,
    since: Option<Timestamp>,
    size: u64,
) -> Result<u64, ExportError> {
    let Some(since) = since else { return Ok(0) };
    let (mut low, mut high) = (0, size);
    while low < high {
        let middle = low + (high - low) / 2;
        let stored = store
            .record(middle)?
            .ok_or(ExportError::Pruned { index: middle })?;
        if stored.record.time < since {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

/// An entry's index, leaf and audit path, as exported.
fn proven(
    store: &dyn LedgerStore,
    stored: &StoredRecord,
    size: u64,
) -> Result<(u64, String, Vec<String>), ExportError> {
    let index = stored.record.index;
    let proof = store.inclusion_proof(index, size)?;
    let leaf = String::from_utf8(stored.bytes.clone()).map_err(|_| LedgerError::CorruptEntry {
        index,
        reason: "not UTF-8".into(),
    })?;
    Ok((
        index,
        leaf,
        proof.iter().map(|h| STANDARD.encode(h)).collect(),
    ))
}

/// What a verifier has seen of an export's indexes: entries in increasing
/// order, and, in a period export, an unbroken run between two boundaries.
#[derive(Debug, Default)]
struct Run {
    /// The first and the last entry index, and the line of the last.
    entries: Option<(u64, u64, usize)>,
    /// The boundary lines' records, with their line numbers.
    boundaries: Vec<(usize, Record)>,
}

impl Run {
    fn entry(&mut self, n: usize, index: u64, period: bool) -> Result<(), ExportError> {
        if let Some((first, last, line)) = self.entries {
            if index == last {
                return Err(malformed(
                    n,
                    &format!("entry {index} appears twice (first on line {line})"),
                ));
            }
            if index < last {
                return Err(malformed(
                    n,
                    &format!("entry {index} comes after entry {last}: entries are in index order"),
                ));
            }
            if period && index != last + 1 {
                return Err(missing(n, last + 1, index));
            }
            self.entries = Some((first, index, n));
        } else {
            self.entries = Some((index, index, n));
        }
        Ok(())
    }

    fn boundary(&mut self, n: usize, record: Record) -> Result<(), ExportError> {
        if self.boundaries.len() == 2 {
            return Err(malformed(
                n,
                "a period export has at most two boundary lines",
            ));
        }
        self.boundaries.push((n, record));
        Ok(())
    }

    /// Checks that the entries are every entry of the period: the run starts
    /// at entry 0 or just after a boundary before `since`, and ends at the
    /// tree's end or just before a boundary at or after `until`.
    fn covers_the_period(&self, selection: &Selection, size: u64) -> Result<(), ExportError> {
        let mut before = None;
        let mut after = None;
        for (n, record) in &self.boundaries {
            let earlier = selection.since.is_some_and(|since| record.time < since);
            let later = selection.until.is_some_and(|until| record.time >= until);
            let slot = match (earlier, later) {
                (true, false) => &mut before,
                (false, true) => &mut after,
                _ => {
                    return Err(malformed(
                        *n,
                        &format!(
                            "boundary entry {} is not outside the period at one end",
                            record.index
                        ),
                    ));
                }
            };
            if slot.replace((*n, record.index)).is_some() {
                return Err(malformed(
                    *n,
                    "two boundaries at the same end of the period",
                ));
            }
        }
        let (start, end) = match self.entries {
            Some((first, last, _)) => (first, last + 1),
            None => match (before, after) {
                (Some((_, index)), _) => (index + 1, index + 1),
                (None, Some((_, index))) => (index, index),
                (None, None) => (0, 0),
            },
        };
        let line = self.entries.map_or(0, |(_, _, line)| line);
        let inside = |n: usize, index: u64| {
            malformed(
                n,
                &format!("boundary entry {index} lies among the entries of the period"),
            )
        };
        match before {
            Some((n, index)) if index >= start => return Err(inside(n, index)),
            Some((n, index)) if index + 1 < start => return Err(missing(n, index + 1, start)),
            None if start > 0 => {
                return Err(malformed(
                    line,
                    &format!("no boundary entry shows that the period starts at entry {start}"),
                ));
            }
            _ => {}
        }
        match after {
            Some((n, index)) if index < end => return Err(inside(n, index)),
            Some((n, index)) if index > end => return Err(missing(n, end, index)),
            None if end < size => {
                return Err(malformed(
                    line,
                    &format!("no boundary entry shows that the period ends before entry {end}"),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Entries `from` to before `to` of the period are not in the export.
fn missing(n: usize, from: u64, to: u64) -> ExportError {
    let what = if to == from + 1 {
        format!("entry {from} of the period is missing")
    } else {
        format!("entries {from} to {} of the period are missing", to - 1)
    };
    malformed(n, &what)
}

fn check_entry(
    n: usize,
    index: u64,
    leaf: &str,
    inclusion: &[String],
    root: &Hash,
    size: u64,
) -> Result<Record, ExportError> {
    json::check(leaf.as_bytes(), &JsonBudget::new("leaf", MAX_EXPORT_LINE))
        .map_err(|e| malformed(n, &format!("leaf is not a record: {e}")))?;
    let record = Record::decode(leaf.as_bytes())
        .map_err(|e| malformed(n, &format!("leaf is not a record: {e}")))?;
    if record.index != index {
        return Err(malformed(n, "leaf names another index"));
    }
    let mut proof = Vec::with_capacity(inclusion.len());
    for hash in inclusion {
        let bytes = STANDARD
            .decode(hash)
            .map_err(|_| malformed(n, "proof hash is not base64"))?;
        let hash: Hash = bytes
            .try_into()
            .map_err(|_| malformed(n, "proof hash is not 32 bytes"))?;
        proof.push(hash);
    }
    let leaf_hash = merkle::leaf_hash(leaf.as_bytes());
    if !merkle::verify_inclusion(index, size, &leaf_hash, &proof, root) {
        return Err(ExportError::NotIncluded { line: n, index });
    }
    Ok(record)
}

fn in_selection(selection: &Selection, record: &Record) -> bool {
    let query = Query {
        product: selection.product.clone(),
        since: selection.since,
        until: selection.until,
        ..Query::default()
    };
    query.matches(record)
}

fn next_line(input: &mut impl BufRead, n: &mut usize) -> Result<Line, ExportError> {
    let Some(line) = read_line(input, n)? else {
        return Err(malformed(*n, "the export is empty or has no checkpoint"));
    };
    parse(*n, &line)
}

/// Reads one line of at most [`MAX_EXPORT_LINE`] bytes, counting lines in `n`.
fn read_line(input: &mut impl BufRead, n: &mut usize) -> Result<Option<String>, ExportError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_EXPORT_LINE).unwrap_or(u64::MAX) + 1;
    let read = input.by_ref().take(limit).read_until(b'\n', &mut bytes)?;
    if read == 0 {
        return Ok(None);
    }
    *n += 1;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.len() > MAX_EXPORT_LINE {
        return Err(malformed(*n, "line is over the size limit"));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| malformed(*n, "line is not UTF-8"))
}

fn parse(n: usize, line: &str) -> Result<Line, ExportError> {
    json::check(line.as_bytes(), &EXPORT_LINE_JSON).map_err(|e| malformed(n, &e.to_string()))?;
    serde_json::from_str(line).map_err(|e| malformed(n, &e.to_string()))
}

fn malformed(line: usize, reason: &str) -> ExportError {
    ExportError::Malformed {
        line,
        reason: reason.to_owned(),
    }
}

fn write_line(out: &mut impl Write, line: &Line) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, line).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}
