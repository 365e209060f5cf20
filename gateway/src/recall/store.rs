//! Where halt notices are kept: the notices accepted, each issuer's last
//! sequence, and which notices a lift ended, behind [`HaltStore`] so that a
//! store shared by several nodes (PostgreSQL, like the ledger's) can be
//! added beside the single-node one, [`RedbHaltStore`].
//!
//! The single-node store is its own redb file, `halts.redb` in the data
//! directory, not tables in the ledger's file: the ledger is append-only and
//! may live in PostgreSQL instead of the data directory, while halt state
//! changes (a lift ends a halt) and must be read at every start whichever
//! ledger is configured. Every write commits with
//! [`Durability::Immediate`] before it returns.

use std::fmt;
use std::path::Path;

use jiff::Timestamp;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Accepted notices by (issuer, sequence): a [`StoredHalt`] as JSON.
const NOTICES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("notices");
/// The last accepted sequence of each issuer.
const SEQUENCES: TableDefinition<&str, u64> = TableDefinition::new("sequences");
/// Schema version of the file, under key `"halts"`.
const META: TableDefinition<&str, u32> = TableDefinition::new("meta");
/// The version this build writes and reads.
pub const HALT_SCHEMA_VERSION: u32 = 1;

/// How a notice reached this gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Received {
    /// `POST /v1/halts` by an administrator.
    Posted,
    /// A supplier's notification (`[[suppliers]]` id).
    FromSupplier(String),
}

/// A notice as stored: what was signed, how and when it came, and whether
/// a later lift ended it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHalt {
    /// The issuer (`[[halt_issuers]]` id).
    pub issuer: String,
    /// Its sequence.
    pub sequence: u64,
    /// The signed form exactly as received (a DSSE envelope or a Sigstore
    /// bundle, JSON text).
    pub signed: String,
    /// The notice exactly as signed.
    pub payload: String,
    /// How it came.
    pub received: Received,
    /// When it was accepted, by the gateway's clock.
    pub accepted_at: Timestamp,
    /// The index of its `halt_notice` ledger entry.
    pub ledger_index: u64,
    /// The sequence of the lift that ended it, if one did.
    pub lifted_by: Option<u64>,
}

/// Why the halt store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("halt store: {0}")]
    Database(#[from] redb::Error),
    /// A stored record does not read back.
    #[error("halt store: a stored notice does not read back: {0}")]
    Corrupt(String),
    /// The file was written by a later version.
    #[error("halt store: schema version {found}, this build reads {HALT_SCHEMA_VERSION}")]
    Version {
        /// The version in the file.
        found: u32,
    },
    /// The shared database failed or cannot be reached.
    #[error("halt store (shared database): {0}")]
    Shared(String),
    /// Another node stored a later sequence of the issuer first.
    #[error("halt store: {issuer} is at sequence {last} already")]
    Stale {
        /// The issuer.
        issuer: String,
        /// Its last sequence in the store.
        last: u64,
    },
}

/// Held while one notice of an issuer is checked, recorded and stored, so
/// that no other node accepts one of the same issuer in between; released
/// when dropped. The single-node store needs none (the gateway's own lock
/// serialises acceptance).
pub struct IssuerLock(Option<Box<dyn Send>>);

impl IssuerLock {
    /// No lock beyond the process's own.
    pub fn none() -> Self {
        Self(None)
    }

    /// A lock released when `guard` is dropped.
    pub fn held(guard: Box<dyn Send>) -> Self {
        Self(Some(guard))
    }
}

impl fmt::Debug for IssuerLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "IssuerLock(held)"
        } else {
            "IssuerLock(none)"
        })
    }
}

/// Halt state, durable before each call returns.
pub trait HaltStore: Send + Sync + fmt::Debug {
    /// The last sequence accepted from `issuer`.
    fn last_sequence(&self, issuer: &str) -> Result<Option<u64>, StoreError>;
    /// Stores `halt`, makes its sequence the issuer's last, and marks each
    /// of the issuer's notices in `lifts` as lifted by it, in one commit.
    fn put(&self, halt: &StoredHalt, lifts: &[u64]) -> Result<(), StoreError>;
    /// Every stored notice, by issuer and sequence.
    fn all(&self) -> Result<Vec<StoredHalt>, StoreError>;
    /// One notice.
    fn one(&self, issuer: &str, sequence: u64) -> Result<Option<StoredHalt>, StoreError>;
    /// A number every change of the store moves, by whichever node made
    /// it: a node whose view was read at another version reads it again.
    /// The single-node store changes only through this gateway, which
    /// refreshes its view itself: it stays at 0.
    fn version(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
    /// Locks `issuer` across every node sharing the store until the value
    /// is dropped.
    fn lock_issuer(&self, _issuer: &str) -> Result<IssuerLock, StoreError> {
        Ok(IssuerLock::none())
    }
    /// Asks to be told at once when another node changes the store:
    /// `changed` is called then (and may be called when nothing changed),
    /// until it returns `false`. It must not block. A store that cannot
    /// tell does nothing, and its version is polled instead.
    fn subscribe(&self, _changed: Box<dyn FnMut() -> bool + Send>) {}
}

/// The single-node store: `halts.redb` in the data directory.
pub struct RedbHaltStore {
    db: Database,
}

impl fmt::Debug for RedbHaltStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RedbHaltStore")
    }
}

impl RedbHaltStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(redb::Error::from)?;
        let txn = db.begin_write().map_err(redb::Error::from)?;
        {
            let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
            let found = meta
                .get("halts")
                .map_err(redb::Error::from)?
                .map(|v| v.value());
            match found {
                Some(version) if version > HALT_SCHEMA_VERSION => {
                    return Err(StoreError::Version { found: version });
                }
                Some(_) => {}
                None => {
                    meta.insert("halts", HALT_SCHEMA_VERSION)
                        .map_err(redb::Error::from)?;
                }
            }
            txn.open_table(NOTICES).map_err(redb::Error::from)?;
            txn.open_table(SEQUENCES).map_err(redb::Error::from)?;
        }
        txn.commit().map_err(redb::Error::from)?;
        Ok(Self { db })
    }
}

impl HaltStore for RedbHaltStore {
    fn last_sequence(&self, issuer: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(SEQUENCES).map_err(redb::Error::from)?;
        Ok(table
            .get(issuer)
            .map_err(redb::Error::from)?
            .map(|v| v.value()))
    }

    fn put(&self, halt: &StoredHalt, lifts: &[u64]) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
        txn.set_durability(Durability::Immediate)
            .map_err(redb::Error::from)?;
        {
            let mut notices = txn.open_table(NOTICES).map_err(redb::Error::from)?;
            for &lifted in lifts {
                let earlier = notices
                    .get((halt.issuer.as_str(), lifted))
                    .map_err(redb::Error::from)?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                if let Some(mut earlier) = earlier
                    && earlier.lifted_by.is_none()
                {
                    earlier.lifted_by = Some(halt.sequence);
                    notices
                        .insert((halt.issuer.as_str(), lifted), encode(&earlier)?.as_slice())
                        .map_err(redb::Error::from)?;
                }
            }
            notices
                .insert(
                    (halt.issuer.as_str(), halt.sequence),
                    encode(halt)?.as_slice(),
                )
                .map_err(redb::Error::from)?;
            let mut sequences = txn.open_table(SEQUENCES).map_err(redb::Error::from)?;
            sequences
                .insert(halt.issuer.as_str(), halt.sequence)
                .map_err(redb::Error::from)?;
        }
        txn.commit().map_err(redb::Error::from)?;
        Ok(())
    }

    fn all(&self) -> Result<Vec<StoredHalt>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(NOTICES).map_err(redb::Error::from)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(redb::Error::from)? {
            let (_, value) = row.map_err(redb::Error::from)?;
            out.push(decode(value.value())?);
        }
        Ok(out)
    }

    fn one(&self, issuer: &str, sequence: u64) -> Result<Option<StoredHalt>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let table = txn.open_table(NOTICES).map_err(redb::Error::from)?;
        table
            .get((issuer, sequence))
            .map_err(redb::Error::from)?
            .map(|v| decode(v.value()))
            .transpose()
    }
}

fn encode(halt: &StoredHalt) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(halt).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode(bytes: &[u8]) -> Result<StoredHalt, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}
