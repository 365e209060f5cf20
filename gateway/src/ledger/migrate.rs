//! Copying a ledger into another store (`cragate ledger migrate`), entry
//! by entry, so that the copy has the same records, the same tree and so
//! the same head, signed with the same key.

use std::fmt;

use super::entry::{Entry, EntryBody, Submission};
use super::{LedgerError, LedgerStore};

/// Entries appended per commit while copying: the group-commit writer's
/// batch size ([`super::appender::MAX_BATCH`]).
const BATCH: usize = super::appender::MAX_BATCH;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Entries copied.
    pub entries: u64,
    /// The tree size of both ledgers afterwards.
    pub size: u64,
    /// Their common root, hex.
    pub root: String,
}

/// Why a copy was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The target already has entries.
    #[error("the target ledger already holds {0} entries: migrate into an empty one")]
    TargetNotEmpty(u64),
    /// The two ledgers sign with different keys.
    #[error("the target ledger signs as {target}, the source as {from}: use the source's key")]
    OtherKey {
        /// The source's key name.
        from: String,
        /// The target's key name.
        target: String,
    },
    /// An entry of the source was pruned after its retention: only its
    /// leaf hash is left, which no store can append as an entry.
    #[error("entry {0} of the source was pruned after its retention and cannot be copied")]
    Pruned(u64),
    /// A document an entry names is missing from the source.
    #[error("entry {0} names a document the source does not hold")]
    MissingDocument(u64),
    /// The copy's entry landed at another index.
    #[error("entry {expected} was appended at index {actual}")]
    Misplaced {
        /// Where it should be.
        expected: u64,
        /// Where it went.
        actual: u64,
    },
    /// After the copy the heads differ.
    #[error("the copy's tree head differs: source {from}, target {target}")]
    HeadMismatch {
        /// The source's `size root`.
        from: String,
        /// The target's `size root`.
        target: String,
    },
    /// A store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// An entry could not be rebuilt as a submission.
    #[error("entry {index} cannot be copied: {reason}")]
    Entry {
        /// Its index.
        index: u64,
        /// Why.
        reason: String,
    },
}

/// Copies every entry of `source` into the empty `target`, in order, then
/// checks that both sign the same tree head.
pub fn copy(source: &dyn LedgerStore, target: &dyn LedgerStore) -> Result<Copied, MigrateError> {
    if source.verifier_key().name() != target.verifier_key().name() {
        return Err(MigrateError::OtherKey {
            from: source.verifier_key().name().to_owned(),
            target: target.verifier_key().name().to_owned(),
        });
    }
    let already = target.size()?;
    if already > 0 {
        return Err(MigrateError::TargetNotEmpty(already));
    }
    let size = source.size()?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut next = 0u64;
    for index in 0..size {
        let stored = source.record(index)?.ok_or(MigrateError::Pruned(index))?;
        let entry = Entry {
            time: stored.record.time,
            body: stored.record.body,
        };
        let submission = match &entry.body {
            EntryBody::Document { digest, .. } => {
                let content = source
                    .document(digest)?
                    .ok_or(MigrateError::MissingDocument(index))?;
                Submission::document(entry, content)
            }
            _ => Submission::new(entry),
        }
        .map_err(|error| MigrateError::Entry {
            index,
            reason: error.to_string(),
        })?;
        batch.push(submission);
        if batch.len() == BATCH || index + 1 == size {
            for receipt in target.append_batch(&batch)? {
                if receipt.index != next {
                    return Err(MigrateError::Misplaced {
                        expected: next,
                        actual: receipt.index,
                    });
                }
                next += 1;
            }
            batch.clear();
        }
    }
    let (from, to) = (source.checkpoint()?, target.checkpoint()?);
    let head = |c: &super::Checkpoint| format!("{} {}", c.size, Hex(&c.root));
    if from.checkpoint.size != to.checkpoint.size || from.checkpoint.root != to.checkpoint.root {
        return Err(MigrateError::HeadMismatch {
            from: head(&from.checkpoint),
            target: head(&to.checkpoint),
        });
    }
    Ok(Copied {
        entries: next,
        size: to.checkpoint.size,
        root: Hex(&to.checkpoint.root).to_string(),
    })
}

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
