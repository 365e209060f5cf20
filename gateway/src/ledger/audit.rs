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

/// Called with each stored entry (index, leaf data); `false` stops the walk.
pub(super) type EntryVisitor<'a> = dyn FnMut(u64, &[u8]) -> Result<bool, LedgerError> + 'a;

/// What an audit reads: the stored tables of one ledger, in whatever
/// engine keeps them. Each store gives one consistent view of itself.
pub(super) trait AuditSource {
    /// Every stored checkpoint note, by the tree size it is stored under.
    fn checkpoint_notes(&self) -> Result<Vec<(u64, String)>, LedgerError>;
    /// Pruned leaf indexes and the day their retention ended.
    fn pruned(&self) -> Result<BTreeMap<u64, String>, LedgerError>;
    /// The stored hash of node `(level, at)`.
    fn node(&self, level: u8, at: u64) -> Result<Option<Hash>, LedgerError>;
    /// Whether the document archived under `digest` is there and hashes to it.
    fn document_matches(&self, digest: &Digest) -> Result<bool, LedgerError>;
    /// Calls `each` with every stored entry in index order, until it
    /// returns `false`.
    fn for_each_entry(&self, each: &mut EntryVisitor<'_>) -> Result<(), LedgerError>;
    /// The tree size the store records.
    fn recorded_size(&self) -> Result<u64, LedgerError>;
}

/// Audits the ledger `source` against `key`.
pub(super) fn audit(
    source: &dyn AuditSource,
    key: &VerifierKey,
    today: Date,
) -> Result<AuditReport, LedgerError> {
    let mut report = AuditReport::default();
    let checkpoints = open_checkpoints(source, key, &mut report)?;
    let pruned = source.pruned()?;
    let mut walk = Walk {
        report,
        frontier: Frontier::default(),
        checkpoints,
        last_matched: 0,
        source,
    };
    source.for_each_entry(&mut |index, bytes| {
        walk.fill_gap(index, &pruned, today)?;
        if walk.frontier.size() != index {
            return Ok(false);
        }
        let leaf = check_entry(index, bytes, source, &mut walk.report)?;
        if walk.stored(0, index)? != Some(leaf) {
            walk.report.push(Some(index), ProblemKind::LeafMismatch);
        }
        walk.push(leaf)?;
        Ok(true)
    })?;
    let recorded = source.recorded_size()?;
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

/// The redb file's tables in one read transaction.
pub(super) struct RedbSource<'a> {
    txn: &'a ReadTransaction,
    nodes: redb::ReadOnlyTable<(u8, u64), [u8; 32]>,
    documents: redb::ReadOnlyTable<[u8; 32], &'static [u8]>,
}

impl<'a> RedbSource<'a> {
    /// The tables of `txn`.
    pub(super) fn new(txn: &'a ReadTransaction) -> Result<Self, LedgerError> {
        Ok(Self {
            txn,
            nodes: txn.open_table(NODES).map_err(redb::Error::from)?,
            documents: txn.open_table(DOCUMENTS).map_err(redb::Error::from)?,
        })
    }
}

impl AuditSource for RedbSource<'_> {
    fn checkpoint_notes(&self) -> Result<Vec<(u64, String)>, LedgerError> {
        let table = self
            .txn
            .open_table(CHECKPOINTS)
            .map_err(redb::Error::from)?;
        let mut notes = Vec::new();
        for row in table.iter().map_err(redb::Error::from)? {
            let (size, note) = row.map_err(redb::Error::from)?;
            notes.push((size.value(), note.value().to_owned()));
        }
        Ok(notes)
    }

    fn pruned(&self) -> Result<BTreeMap<u64, String>, LedgerError> {
        let mut pruned = BTreeMap::new();
        let table = self.txn.open_table(PRUNED).map_err(redb::Error::from)?;
        for row in table.iter().map_err(redb::Error::from)? {
            let (index, until) = row.map_err(redb::Error::from)?;
            pruned.insert(index.value(), until.value().to_owned());
        }
        Ok(pruned)
    }

    fn node(&self, level: u8, at: u64) -> Result<Option<Hash>, LedgerError> {
        let value = self.nodes.get((level, at)).map_err(redb::Error::from)?;
        Ok(value.map(|v| v.value()))
    }

    fn document_matches(&self, digest: &Digest) -> Result<bool, LedgerError> {
        let content = self
            .documents
            .get(*digest.as_bytes())
            .map_err(redb::Error::from)?;
        Ok(content.is_some_and(|c| Digest::of(c.value()) == *digest))
    }

    fn for_each_entry(&self, each: &mut EntryVisitor<'_>) -> Result<(), LedgerError> {
        let entries = self.txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        for row in entries.iter().map_err(redb::Error::from)? {
            let (index, bytes) = row.map_err(redb::Error::from)?;
            if !each(index.value(), bytes.value())? {
                break;
            }
        }
        Ok(())
    }

    fn recorded_size(&self) -> Result<u64, LedgerError> {
        let meta = self.txn.open_table(META).map_err(redb::Error::from)?;
        let value = meta.get(META_TREE_SIZE).map_err(redb::Error::from)?;
        let bytes: [u8; 8] = value
            .and_then(|v| v.value().try_into().ok())
            .ok_or(LedgerError::NotALedger)?;
        Ok(u64::from_le_bytes(bytes))
    }
}

struct Walk<'a> {
    report: AuditReport,
    frontier: Frontier,
    checkpoints: BTreeMap<u64, Hash>,
    last_matched: u64,
    source: &'a dyn AuditSource,
}

impl Walk<'_> {
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
        self.source.node(level, at)
    }
}

/// Checks one entry; returns the leaf hash of its bytes.
fn check_entry(
    index: u64,
    bytes: &[u8],
    source: &dyn AuditSource,
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
            if let EntryBody::Document { digest, .. } = &record.body
                && !source.document_matches(digest)?
            {
                report.push(Some(index), ProblemKind::Document { digest: *digest });
            }
        }
    }
    Ok(leaf)
}

fn open_checkpoints(
    source: &dyn AuditSource,
    key: &VerifierKey,
    report: &mut AuditReport,
) -> Result<BTreeMap<u64, Hash>, LedgerError> {
    let mut roots = BTreeMap::new();
    for (size, note) in source.checkpoint_notes()? {
        match key.open(&note) {
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
