//! `ledger verify`: recompute the whole tree from the entries and check
//! every stored leaf hash, subtree node, document and signed checkpoint
//! against it, in one pass in index order.
//!
//! Each entry's record names its own index and is hashed into its leaf
//! (RFC 6962 §2.1), so a changed byte shows as a leaf mismatch, a dropped
//! entry as a gap, and two swapped entries as records at the wrong index;
//! if the stored hashes were rewritten to match, the recomputed root no
//! longer matches the signed checkpoints.

use std::collections::BTreeMap;
use std::fmt;

use cragate_verifier::Digest;
use jiff::civil::Date;
use redb::{ReadTransaction, ReadableTable};

use super::LedgerError;
use super::checkpoint::VerifierKey;
use super::entry::{EntryBody, Record};
use super::merkle::{self, Frontier, Hash};
use super::schema::*;

/// Most problems listed in a report; the count goes on past it.
pub const MAX_PROBLEMS: usize = 100;

/// The outcome of an audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Leaves checked.
    pub entries: u64,
    /// Entries pruned after their retention (leaf hash kept).
    pub pruned: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// Problems found, in the order met (up to [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Number of problems, including those not listed.
    pub problem_count: u64,
}

impl AuditReport {
    /// Whether nothing was found.
    pub fn is_consistent(&self) -> bool {
        self.problem_count == 0
    }

    /// The lowest leaf index any problem names.
    pub fn first_inconsistent_entry(&self) -> Option<u64> {
        self.problems.iter().filter_map(|p| p.index).min()
    }

    fn push(&mut self, index: Option<u64>, kind: ProblemKind) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { index, kind });
        }
    }
}

/// One inconsistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The leaf index it concerns, if one.
    pub index: Option<u64>,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// No entry at this index, and none was pruned there.
    Missing,
    /// The entry does not parse as a record.
    Malformed(String),
    /// The entry's record names another index.
    WrongIndex {
        /// The index the record names.
        recorded: u64,
    },
    /// The entry does not hash to the stored leaf hash.
    LeafMismatch,
    /// A stored subtree hash differs from the recomputed one.
    NodeMismatch {
        /// Its level.
        level: u8,
        /// Its index at that level.
        at: u64,
    },
    /// An archived document's content is missing or has another digest.
    Document {
        /// The digest the entry names.
        digest: Digest,
    },
    /// An entry was pruned before its retention ended.
    PrunedEarly {
        /// The retention end recorded.
        until: String,
    },
    /// A checkpoint does not open with the ledger key, or is stored under the wrong size.
    CheckpointSignature {
        /// Its size.
        size: u64,
        /// Why.
        reason: String,
    },
    /// The recomputed root differs from a signed checkpoint's: an entry
    /// from `after` up to `size` changed together with its stored hashes.
    CheckpointRoot {
        /// The checkpoint's size.
        size: u64,
        /// Size of the previous checkpoint that matched.
        after: u64,
    },
    /// The recorded tree size differs from the entries found.
    TreeSize {
        /// The size in the file's metadata.
        recorded: u64,
        /// Leaves found.
        found: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(index) = self.index {
            write!(f, "entry {index}: ")?;
        }
        match &self.kind {
            ProblemKind::Missing => write!(f, "missing"),
            ProblemKind::Malformed(reason) => write!(f, "does not parse ({reason})"),
            ProblemKind::WrongIndex { recorded } => {
                write!(f, "holds the record of entry {recorded} (reordered)")
            }
            ProblemKind::LeafMismatch => write!(f, "content does not match its leaf hash"),
            ProblemKind::NodeMismatch { level, at } => {
                write!(f, "stored tree node ({level}, {at}) does not match")
            }
            ProblemKind::Document { digest } => {
                write!(f, "archived document {digest} is missing or altered")
            }
            ProblemKind::PrunedEarly { until } => {
                write!(f, "pruned although it must be kept until {until}")
            }
            ProblemKind::CheckpointSignature { size, reason } => {
                write!(f, "checkpoint at size {size}: {reason}")
            }
            ProblemKind::CheckpointRoot { size, after } => write!(
                f,
                "checkpoint at size {size}: root differs; an entry in {after}..{size} was altered"
            ),
            ProblemKind::TreeSize { recorded, found } => {
                write!(f, "tree size recorded as {recorded}, found {found} entries")
            }
        }
    }
}

/// Audits the ledger in `txn` against `key`.
pub(super) fn audit(
    txn: &ReadTransaction,
    key: &VerifierKey,
    today: Date,
) -> Result<AuditReport, LedgerError> {
    let mut report = AuditReport::default();
    let checkpoints = open_checkpoints(txn, key, &mut report)?;
    let nodes = txn.open_table(NODES).map_err(redb::Error::from)?;
    let documents = txn.open_table(DOCUMENTS).map_err(redb::Error::from)?;
    let mut pruned = BTreeMap::new();
    for row in txn
        .open_table(PRUNED)
        .map_err(redb::Error::from)?
        .iter()
        .map_err(redb::Error::from)?
    {
        let (index, until) = row.map_err(redb::Error::from)?;
        pruned.insert(index.value(), until.value().to_owned());
    }
    let mut walk = Walk {
        report,
        frontier: Frontier::default(),
        checkpoints,
        last_matched: 0,
        nodes: &nodes,
    };
    let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
    for row in entries.iter().map_err(redb::Error::from)? {
        let (index, bytes) = row.map_err(redb::Error::from)?;
        let index = index.value();
        walk.fill_gap(index, &pruned, today)?;
        if walk.frontier.size() != index {
            break;
        }
        let leaf = check_entry(index, bytes.value(), &documents, &mut walk.report)?;
        if walk.stored(0, index)? != Some(leaf) {
            walk.report.push(Some(index), ProblemKind::LeafMismatch);
        }
        walk.push(leaf)?;
    }
    let recorded = meta_size(txn)?;
    let last_checkpoint = walk.checkpoints.keys().next_back().copied().unwrap_or(0);
    walk.fill_gap(recorded.max(last_checkpoint), &pruned, today)?;
    let mut report = walk.report;
    let found = walk.frontier.size();
    if found != recorded {
        report.push(None, ProblemKind::TreeSize { recorded, found });
    }
    report.entries = found;
    report.pruned = u64::try_from(pruned.len()).unwrap_or(u64::MAX);
    Ok(report)
}

struct Walk<'a, T: ReadableTable<(u8, u64), [u8; 32]>> {
    report: AuditReport,
    frontier: Frontier,
    checkpoints: BTreeMap<u64, Hash>,
    last_matched: u64,
    nodes: &'a T,
}

impl<T: ReadableTable<(u8, u64), [u8; 32]>> Walk<'_, T> {
    /// Accounts for indexes below `end` that have no entry: pruned ones
    /// continue from their kept leaf hash, others are missing.
    fn fill_gap(
        &mut self,
        end: u64,
        pruned: &BTreeMap<u64, String>,
        today: Date,
    ) -> Result<(), LedgerError> {
        while self.frontier.size() < end {
            let index = self.frontier.size();
            match pruned.get(&index) {
                Some(until) if until.parse::<Date>().is_ok_and(|u| u <= today) => {}
                Some(until) => self.report.push(
                    Some(index),
                    ProblemKind::PrunedEarly {
                        until: until.clone(),
                    },
                ),
                None => self.report.push(Some(index), ProblemKind::Missing),
            }
            let Some(leaf) = self.stored(0, index)? else {
                return Ok(());
            };
            self.push(leaf)?;
        }
        Ok(())
    }

    /// Adds a recomputed leaf, checks the nodes it completes and any
    /// checkpoint at the new size.
    fn push(&mut self, leaf: Hash) -> Result<(), LedgerError> {
        let index = self.frontier.size();
        for (level, at, hash) in self.frontier.push(leaf).into_iter().skip(1) {
            if self.stored(level, at)? != Some(hash) {
                self.report
                    .push(Some(index), ProblemKind::NodeMismatch { level, at });
            }
        }
        let size = self.frontier.size();
        if let Some(root) = self.checkpoints.get(&size) {
            if *root == self.frontier.root() {
                self.last_matched = size;
            } else {
                self.report.push(
                    None,
                    ProblemKind::CheckpointRoot {
                        size,
                        after: self.last_matched,
                    },
                );
            }
        }
        Ok(())
    }

    fn stored(&self, level: u8, at: u64) -> Result<Option<Hash>, LedgerError> {
        let value = self.nodes.get((level, at)).map_err(redb::Error::from)?;
        Ok(value.map(|v| v.value()))
    }
}

/// Checks one entry; returns the leaf hash of its bytes.
fn check_entry(
    index: u64,
    bytes: &[u8],
    documents: &impl ReadableTable<[u8; 32], &'static [u8]>,
    report: &mut AuditReport,
) -> Result<Hash, LedgerError> {
    let leaf = merkle::leaf_hash(bytes);
    match Record::decode(bytes) {
        Err(error) => report.push(Some(index), ProblemKind::Malformed(error.to_string())),
        Ok(record) if record.index != index => report.push(
            Some(index),
            ProblemKind::WrongIndex {
                recorded: record.index,
            },
        ),
        Ok(record) => {
            if let EntryBody::Document { digest, .. } = &record.body {
                let content = documents
                    .get(*digest.as_bytes())
                    .map_err(redb::Error::from)?;
                if content.is_none_or(|c| Digest::of(c.value()) != *digest) {
                    report.push(Some(index), ProblemKind::Document { digest: *digest });
                }
            }
        }
    }
    Ok(leaf)
}

fn open_checkpoints(
    txn: &ReadTransaction,
    key: &VerifierKey,
    report: &mut AuditReport,
) -> Result<BTreeMap<u64, Hash>, LedgerError> {
    let table = txn.open_table(CHECKPOINTS).map_err(redb::Error::from)?;
    let mut roots = BTreeMap::new();
    for row in table.iter().map_err(redb::Error::from)? {
        let (size, note) = row.map_err(redb::Error::from)?;
        let size = size.value();
        match key.open(note.value()) {
            Ok(checkpoint) if checkpoint.size == size => {
                roots.insert(size, checkpoint.root);
                report.checkpoints += 1;
            }
            Ok(checkpoint) => report.push(
                None,
                ProblemKind::CheckpointSignature {
                    size,
                    reason: format!(
                        "stored under size {size} but signs size {}",
                        checkpoint.size
                    ),
                },
            ),
            Err(error) => report.push(
                None,
                ProblemKind::CheckpointSignature {
                    size,
                    reason: error.to_string(),
                },
            ),
        }
    }
    Ok(roots)
}

fn meta_size(txn: &ReadTransaction) -> Result<u64, LedgerError> {
    let meta = txn.open_table(META).map_err(redb::Error::from)?;
    let value = meta.get(META_TREE_SIZE).map_err(redb::Error::from)?;
    let bytes: [u8; 8] = value
        .and_then(|v| v.value().try_into().ok())
        .ok_or(LedgerError::NotALedger)?;
    Ok(u64::from_le_bytes(bytes))
}
