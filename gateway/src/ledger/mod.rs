//! The ledger: an append-only, tamper-evident record of every decision,
//! supply link, archived document, halt notice and notification, kept for
//! ten years (CRA Art. 19(6), 23(2)).
//!
//! Entries are leaves of an RFC 6962 Merkle tree ([`merkle`]); the gateway
//! signs C2SP checkpoints of the tree with an Ed25519 key kept in its data
//! directory ([`checkpoint`]). [`LedgerStore`] is the storage interface;
//! [`RedbLedger`] is the default implementation, one redb file. Writers go
//! through an [`Appender`], which batches concurrent appends into one durable
//! commit and answers each caller only after it.

pub mod appender;
mod audit;
pub mod checkpoint;
pub mod entry;
pub mod epcis;
pub mod export;
mod guard;
pub mod merkle;
pub mod migrate;
pub mod pg_listen;
pub mod pg_schema;
pub mod postgres;
pub mod redb_store;
pub mod retention;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};

use cragate_verifier::Digest;
use jiff::Timestamp;
use jiff::civil::Date;

pub use appender::{AppendError, Appender};
pub use audit::{AuditReport, Problem, ProblemKind};
pub use checkpoint::{Checkpoint, CheckpointError, SigningKey, VerifierKey};
pub use entry::{Entry, EntryBody, EntryError, OperatorId, ProductId, Record, Submission};
pub use merkle::Hash;
pub use postgres::{PgDatabase, PgLedger};
pub use redb_store::{RedbLedger, StoreOptions};
pub use retention::RetentionError;

/// File name of the ledger inside the data directory.
pub const LEDGER_FILE: &str = "ledger.redb";
/// File name of the checkpoint signing key (PKCS#8) inside the data directory.
pub const KEY_FILE: &str = "ledger-key.p8";

/// The storage interface of the ledger. Implementations append durably,
/// never modify an entry, and refuse to prune one before its retention end.
pub trait LedgerStore: Send + Sync + fmt::Debug {
    /// The key its checkpoints are signed with.
    fn verifier_key(&self) -> &VerifierKey;

    /// The shared database, when the ledger is in one: the other state
    /// several nodes must share (the outbox, halts in force) goes there
    /// too. `None` for a file of one node's own.
    fn database(&self) -> Option<postgres::PgDatabase> {
        None
    }

    /// Appends the submissions, in order, in one durable commit, and returns
    /// one receipt per submission. Nothing is visible or acknowledged before
    /// the commit; if it fails, nothing of the batch was written.
    fn append_batch(&self, batch: &[Submission]) -> Result<Vec<Receipt>, LedgerError>;

    /// Number of entries (leaves).
    fn size(&self) -> Result<u64, LedgerError>;

    /// The entry at leaf `index`, `None` past the end or once pruned.
    fn record(&self, index: u64) -> Result<Option<StoredRecord>, LedgerError>;

    /// Entries matching every criterion of `query`, by index.
    fn query(&self, query: &Query) -> Result<Vec<StoredRecord>, LedgerError>;

    /// An archived document's content.
    fn document(&self, digest: &Digest) -> Result<Option<Vec<u8>>, LedgerError>;

    /// A signed checkpoint of the current tree, signing one if the latest
    /// does not cover every entry.
    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError>;

    /// Every stored checkpoint, by tree size.
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError>;

    /// RFC 6962 audit path of leaf `index` in the tree of `size` leaves.
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError>;

    /// RFC 6962 consistency proof between the trees of `old` and `new` leaves.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError>;

    /// Removes an entry's body once its retention has ended, keeping its leaf
    /// hash so the tree still verifies. Refused before then ([`retention`]).
    fn prune(&self, index: u64, today: Date) -> Result<(), LedgerError>;

    /// Recomputes the whole tree from the entries and checks every stored
    /// node, document and checkpoint against it.
    fn audit(&self, key: &VerifierKey, today: Date) -> Result<AuditReport, LedgerError>;
}

/// What an append returns: where the entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's leaf index.
    pub index: u64,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: Hash,
}

/// An entry as read back: its index, exact leaf data and parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The leaf data, as hashed.
    pub bytes: Vec<u8>,
    /// The parsed record.
    pub record: Record,
}

/// A checkpoint with the note that signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed note text.
    pub note: String,
}

/// Selection criteria; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Entries about this product.
    pub product: Option<ProductId>,
    /// Entries naming this digest.
    pub digest: Option<Digest>,
    /// Entries naming this operator.
    pub operator: Option<OperatorId>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
    /// At most this many entries (the first ones by index); `None` for all.
    pub limit: Option<usize>,
}

impl Query {
    /// Whether `record` meets every criterion.
    pub fn matches(&self, record: &Record) -> bool {
        let body = &record.body;
        self.product
            .as_ref()
            .is_none_or(|p| body.products().contains(&p))
            && self
                .digest
                .as_ref()
                .is_none_or(|d| body.digests().contains(&d))
            && self
                .operator
                .as_ref()
                .is_none_or(|o| body.operators().contains(&o))
            && self.since.is_none_or(|t| record.time >= t)
            && self.until.is_none_or(|t| record.time < t)
    }
}

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The storage engine failed.
    #[error("ledger storage: {0}")]
    Storage(#[from] redb::Error),
    /// Another process holds the ledger file.
    #[error("ledger {path} is open in another process (is the gateway running?)")]
    InUse {
        /// The ledger file.
        path: PathBuf,
    },
    /// The file was written by a later cragate.
    #[error(
        "ledger file has schema version {found}; this cragate reads version {supported}: use a cragate at least as new as the one that wrote it"
    )]
    FutureSchema {
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The file has tables but no readable schema version.
    #[error("file is not a cragate ledger (no schema version)")]
    NotALedger,
    /// The ledger was created with another signing key.
    #[error("ledger was created with key {ledger}, but the data directory's key is {key}")]
    KeyMismatch {
        /// Origin recorded in the ledger.
        ledger: String,
        /// Name of the key given.
        key: String,
    },
    /// A leaf index or tree size past the end.
    #[error("index {index} is past the tree size {size}")]
    OutOfRange {
        /// The index or size asked for.
        index: u64,
        /// The current tree size.
        size: u64,
    },
    /// A stored entry does not parse.
    #[error("entry {index} does not parse: {reason}")]
    CorruptEntry {
        /// The leaf index.
        index: u64,
        /// The parse error.
        reason: String,
    },
    /// Retention forbids the operation.
    #[error(transparent)]
    Retention(#[from] RetentionError),
    /// A checkpoint could not be signed or read.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The PostgreSQL database failed or refused a statement.
    #[error("ledger database: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// No connection to the PostgreSQL database could be had in time.
    #[error("ledger database unreachable: {0}")]
    Unreachable(String),
    /// The ledger URL does not parse.
    #[error("ledger URL is not a PostgreSQL connection string: {0}")]
    BadDatabaseUrl(String),
    /// The file is damaged in a way the storage engine did not expect (it
    /// stopped with an internal error rather than reporting one).
    #[error(
        "ledger file is damaged: the storage engine stopped on it ({detail}); restore the file from a backup"
    )]
    Damaged {
        /// What the storage engine said.
        detail: String,
    },
    /// The writer's lock was poisoned by a panic.
    #[error("ledger writer is unusable after an earlier failure")]
    Poisoned,
}

/// Where the ledger and its key live in a data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// The data directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self(path.into())
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The ledger file.
    pub fn ledger_file(&self) -> PathBuf {
        self.0.join(LEDGER_FILE)
    }

    /// The signing key file.
    pub fn key_file(&self) -> PathBuf {
        self.0.join(KEY_FILE)
    }

    /// Loads the signing key, creating the directory and key on first use.
    pub fn signing_key(&self) -> Result<SigningKey, CheckpointError> {
        std::fs::create_dir_all(&self.0).map_err(|source| CheckpointError::KeyFile {
            path: self.0.display().to_string(),
            source,
        })?;
        SigningKey::load_or_create(&self.key_file())
    }

    /// Opens (or creates) the ledger with the directory's key.
    pub fn open(&self, options: StoreOptions) -> Result<RedbLedger, LedgerError> {
        let key = self.signing_key()?;
        RedbLedger::open(&self.ledger_file(), key, options)
    }
}

/// Where a ledger lives: a redb file in a data directory (the default, one
/// node), or a PostgreSQL database that several nodes share, with the
/// checkpoint signing key file they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `DATA_DIR/ledger.redb`, signed with `DATA_DIR/ledger-key.p8`.
    Redb(DataDir),
    /// A `postgresql://` database, signed with the key in `key_file`.
    Postgres {
        /// The connection string.
        url: String,
        /// The PKCS#8 signing key, created on first use when missing.
        key_file: PathBuf,
    },
}

impl Location {
    /// `url` when it names a database, else the data directory's file; the
    /// key is `key_file`, or `DATA_DIR/ledger-key.p8` by default.
    pub fn new(data_dir: &Path, url: Option<&str>, key_file: Option<&Path>) -> Self {
        let data = DataDir::new(data_dir);
        match url {
            Some(url) => Self::Postgres {
                url: url.to_owned(),
                key_file: key_file.map_or_else(|| data.key_file(), Path::to_path_buf),
            },
            None => Self::Redb(data),
        }
    }

    /// Loads the signing key, creating it (and its folder) on first use.
    pub fn signing_key(&self) -> Result<SigningKey, CheckpointError> {
        match self {
            Self::Redb(data) => data.signing_key(),
            Self::Postgres { key_file, .. } => {
                if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| CheckpointError::KeyFile {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                SigningKey::load_or_create(key_file)
            }
        }
    }

    /// Opens (or creates) the ledger.
    pub fn open(
        &self,
        options: StoreOptions,
    ) -> Result<std::sync::Arc<dyn LedgerStore>, LedgerError> {
        let key = self.signing_key()?;
        Ok(match self {
            Self::Redb(data) => {
                std::sync::Arc::new(RedbLedger::open(&data.ledger_file(), key, options)?)
            }
            Self::Postgres { url, .. } => {
                std::sync::Arc::new(PgLedger::connect(url, key, options)?)
            }
        })
    }

    /// Where it is, for messages (a database without its credentials).
    pub fn describe(&self) -> String {
        match self {
            Self::Redb(data) => data.ledger_file().display().to_string(),
            Self::Postgres { url, .. } => postgres::redacted(url),
        }
    }
}

/// The suppliers and customers of one product: who a recall must reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupplyChain {
    /// Inbound supply links (who supplied us), by index.
    pub upstream: Vec<StoredRecord>,
    /// Outbound supply links (whom we supplied), by index.
    pub downstream: Vec<StoredRecord>,
}

/// The supply links recorded for `product`.
pub fn supply_chain(
    store: &dyn LedgerStore,
    product: &ProductId,
) -> Result<SupplyChain, LedgerError> {
    let query = Query {
        product: Some(product.clone()),
        ..Query::default()
    };
    let mut chain = SupplyChain::default();
    for stored in store.query(&query)? {
        if let EntryBody::SupplyLink { direction, .. } = &stored.record.body {
            match direction {
                entry::Direction::Inbound => chain.upstream.push(stored),
                entry::Direction::Outbound => chain.downstream.push(stored),
            }
        }
    }
    Ok(chain)
}
