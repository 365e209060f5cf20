//! The default [`LedgerStore`]: one redb file.
//!
//! One write transaction per batch holds the entries, their tree nodes,
//! index rows, document contents and, when due, a signed checkpoint; it
//! commits with [`Durability::Immediate`], so what a caller was told was
//! appended survives a crash. Tables are listed in [`schema`].

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cragate_verifier::Digest;
use jiff::civil::Date;
use redb::backends::InMemoryBackend;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    WriteTransaction,
};

use super::audit::{self, AuditReport};
use super::checkpoint::{Checkpoint, SigningKey, VerifierKey};
use super::entry::{Record, Submission};
use super::guard::guarded;
use super::merkle::{self, Frontier, Hash};
use super::schema::*;
use super::{LedgerError, LedgerStore, Query, Receipt, SignedCheckpoint, StoredRecord, retention};

/// How often a checkpoint is signed while entries arrive, by default: at
/// most once a second keeps checkpoints to a few bytes per entry at full
/// rate; a checkpoint is also signed on demand (export) and covers
/// everything committed before it.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Entries whose lookup rows (product, digest, operator, time, support end)
/// wait in memory to be written together: one pass over the lookup B-trees
/// for many entries instead of one per commit. The rows of random evidence
/// digests were most of a small commit's cost; entries themselves, their
/// tree nodes and documents are still in the commit that acknowledges
/// them, and lookup rows lost in a crash are rebuilt from the entries on
/// open. At most this many entries wait...
pub const INDEX_BATCH: usize = 4096;
/// ...and at most this long.
pub const INDEX_INTERVAL: Duration = Duration::from_secs(1);

/// Tuning of a [`RedbLedger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Minimum time between two checkpoints signed by appends; zero signs one per batch.
    pub checkpoint_interval: Duration,
    /// Entries whose lookup rows may wait to be written in bulk (redb
    /// store, [`INDEX_BATCH`] by default); zero writes them in each
    /// entry's own commit, as version 1 did.
    pub lookup_batch: usize,
    /// The redb store's page cache in bytes (redb's default, 1 GiB at
    /// most, when `None`): a one-shot writer such as `cragate gate` sets a
    /// small one so that its memory does not grow with what it appends.
    pub cache_bytes: Option<usize>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            lookup_batch: INDEX_BATCH,
            cache_bytes: None,
        }
    }
}

/// A ledger in a redb database.
#[derive(Debug)]
pub struct RedbLedger {
    db: Database,
    key: SigningKey,
    options: StoreOptions,
    writer: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    frontier: Frontier,
    last_checkpoint: Option<Instant>,
    /// Committed entries whose lookup rows are not written yet, by index.
    pending: Vec<Keys>,
    /// When the oldest of them was committed.
    pending_since: Option<Instant>,
}

/// The lookup keys of one entry, as its rows in the lookup tables hold them.
#[derive(Debug, Clone)]
struct Keys {
    index: u64,
    time: i64,
    products: Vec<String>,
    digests: Vec<[u8; 32]>,
    operators: Vec<String>,
    support_end: Option<Date>,
}

impl Keys {
    fn of(record: &Record) -> Self {
        let body = &record.body;
        Self {
            index: record.index,
            time: record.time.as_microsecond(),
            products: body
                .products()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            digests: body.digests().iter().map(|d| *d.as_bytes()).collect(),
            operators: body
                .operators()
                .iter()
                .map(|o| o.as_str().to_owned())
                .collect(),
            support_end: body.support_end(),
        }
    }

    /// Whether [`candidates`] would list this entry if its rows were
    /// written: the same choice of lookup. A query naming no lookup scans
    /// the entries, which already hold it.
    fn selects(&self, query: &Query) -> bool {
        if let Some(product) = &query.product {
            return self.products.iter().any(|p| p == product.as_str());
        }
        if let Some(digest) = &query.digest {
            return self.digests.contains(digest.as_bytes());
        }
        if let Some(operator) = &query.operator {
            return self.operators.iter().any(|o| o == operator.as_str());
        }
        if query.since.is_some() || query.until.is_some() {
            let from = query.since.map_or(i64::MIN, |t| t.as_microsecond());
            let to = query.until.map_or(i64::MAX, |t| t.as_microsecond());
            return (from..to).contains(&self.time);
        }
        false
    }
}

impl RedbLedger {
    /// Opens the ledger file at `path`, creating it if absent. Refuses a
    /// file of a later schema version, and one created with another key.
    pub fn open(path: &Path, key: SigningKey, options: StoreOptions) -> Result<Self, LedgerError> {
        guarded(|| {
            let mut builder = Database::builder();
            if let Some(bytes) = options.cache_bytes {
                builder.set_cache_size(bytes);
            }
            let db = builder.create(path).map_err(|error| match error {
                redb::DatabaseError::DatabaseAlreadyOpen => LedgerError::InUse {
                    path: path.to_owned(),
                },
                other => LedgerError::Storage(other.into()),
            })?;
            Self::init(db, key, options)
        })
    }

    /// A ledger in memory, for tests.
    pub fn in_memory(key: SigningKey, options: StoreOptions) -> Result<Self, LedgerError> {
        guarded(|| {
            let db = Database::builder()
                .create_with_backend(InMemoryBackend::new())
                .map_err(redb::Error::from)?;
            Self::init(db, key, options)
        })
    }

    fn init(db: Database, key: SigningKey, options: StoreOptions) -> Result<Self, LedgerError> {
        let txn = db.begin_write().map_err(redb::Error::from)?;
        let size = check_or_create_schema(&txn, key.verifier().name())?;
        reindex(&txn, size)?;
        let frontier = {
            let nodes = txn.open_table(NODES).map_err(redb::Error::from)?;
            Frontier::load(size, |level, index| read_node(&nodes, level, index))?
        };
        txn.commit().map_err(redb::Error::from)?;
        Ok(Self {
            db,
            key,
            options,
            writer: Mutex::new(Writer {
                frontier,
                last_checkpoint: None,
                pending: Vec::new(),
                pending_since: None,
            }),
        })
    }

    /// The key checkpoints are signed with.
    pub fn verifier_key(&self) -> &VerifierKey {
        self.key.verifier()
    }

    /// Bytes each table occupies: `(table, stored bytes, page overhead)`,
    /// where overhead is B-tree metadata plus fragmentation. Free pages of
    /// the file are not counted.
    pub fn table_bytes(&self) -> Result<Vec<(&'static str, u64, u64)>, LedgerError> {
        guarded(|| {
            let txn = self.read()?;
            let mut out = Vec::new();
            let mut add = |name, stats: redb::TableStats| {
                out.push((
                    name,
                    stats.stored_bytes(),
                    stats.metadata_bytes() + stats.fragmented_bytes(),
                ));
            };
            macro_rules! table {
                ($name:literal, $def:expr) => {
                    add(
                        $name,
                        txn.open_table($def)
                            .map_err(redb::Error::from)?
                            .stats()
                            .map_err(redb::Error::from)?,
                    )
                };
            }
            macro_rules! multimap {
                ($name:literal, $def:expr) => {
                    add(
                        $name,
                        txn.open_multimap_table($def)
                            .map_err(redb::Error::from)?
                            .stats()
                            .map_err(redb::Error::from)?,
                    )
                };
            }
            table!("entries", ENTRIES);
            table!("nodes", NODES);
            table!("checkpoints", CHECKPOINTS);
            table!("documents", DOCUMENTS);
            table!("by_time", BY_TIME);
            table!("support_end", SUPPORT_END);
            multimap!("by_product", BY_PRODUCT);
            multimap!("by_digest", BY_DIGEST);
            multimap!("by_operator", BY_OPERATOR);
            Ok(out)
        })
    }

    /// The checkpoint of the largest size, without reading the others.
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, LedgerError> {
        let txn = self.read()?;
        let table = txn.open_table(CHECKPOINTS).map_err(redb::Error::from)?;
        let Some((_, note)) = table.last().map_err(redb::Error::from)? else {
            return Ok(None);
        };
        let note = note.value().to_owned();
        let checkpoint = self.key.verifier().open(&note)?;
        Ok(Some(SignedCheckpoint { checkpoint, note }))
    }

    fn read(&self) -> Result<ReadTransaction, LedgerError> {
        Ok(self.db.begin_read().map_err(redb::Error::from)?)
    }

    fn sign_into(
        &self,
        txn: &WriteTransaction,
        frontier: &Frontier,
    ) -> Result<SignedCheckpoint, LedgerError> {
        let checkpoint = Checkpoint {
            origin: self.key.verifier().name().to_owned(),
            size: frontier.size(),
            root: frontier.root(),
        };
        let note = self.key.sign(&checkpoint);
        let mut table = txn.open_table(CHECKPOINTS).map_err(redb::Error::from)?;
        table
            .insert(checkpoint.size, note.as_str())
            .map_err(redb::Error::from)?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    fn node_reader(
        txn: &ReadTransaction,
    ) -> Result<impl FnMut(u8, u64) -> Result<Hash, LedgerError>, LedgerError> {
        let nodes = txn.open_table(NODES).map_err(redb::Error::from)?;
        Ok(move |level, index| read_node(&nodes, level, index))
    }
}

impl LedgerStore for RedbLedger {
    fn verifier_key(&self) -> &VerifierKey {
        self.key.verifier()
    }

    fn append_batch(&self, batch: &[Submission]) -> Result<Vec<Receipt>, LedgerError> {
        guarded(|| {
            let mut writer = self.writer.lock().map_err(|_| LedgerError::Poisoned)?;
            let mut frontier = writer.frontier.clone();
            let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
            txn.set_durability(Durability::Immediate)
                .map_err(redb::Error::from)?;
            let (receipts, keys) = write_entries(&txn, &mut frontier, batch)?;
            let index_due = writer.pending.len() + keys.len() >= self.options.lookup_batch
                || writer
                    .pending_since
                    .is_some_and(|since| since.elapsed() >= INDEX_INTERVAL);
            if index_due {
                write_lookup_rows(&txn, writer.pending.iter().chain(&keys), frontier.size())?;
            }
            let due = writer
                .last_checkpoint
                .is_none_or(|at| at.elapsed() >= self.options.checkpoint_interval);
            if due {
                self.sign_into(&txn, &frontier)?;
            }
            txn.commit().map_err(redb::Error::from)?;
            writer.frontier = frontier;
            if index_due {
                writer.pending.clear();
                writer.pending_since = None;
            } else if !keys.is_empty() {
                writer.pending.extend(keys);
                writer.pending_since.get_or_insert_with(Instant::now);
            }
            if due {
                writer.last_checkpoint = Some(Instant::now());
            }
            Ok(receipts)
        })
    }

    fn size(&self) -> Result<u64, LedgerError> {
        guarded(|| {
            let writer = self.writer.lock().map_err(|_| LedgerError::Poisoned)?;
            Ok(writer.frontier.size())
        })
    }

    fn record(&self, index: u64) -> Result<Option<StoredRecord>, LedgerError> {
        guarded(|| {
            let txn = self.read()?;
            let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
            let Some(bytes) = entries.get(index).map_err(redb::Error::from)? else {
                return Ok(None);
            };
            decode(index, bytes.value()).map(Some)
        })
    }

    fn query(&self, query: &Query) -> Result<Vec<StoredRecord>, LedgerError> {
        guarded(|| {
            // The snapshot and the entries not in its lookup rows, together.
            let (txn, waiting) = {
                let writer = self.writer.lock().map_err(|_| LedgerError::Poisoned)?;
                let waiting: Vec<u64> = writer
                    .pending
                    .iter()
                    .filter(|keys| keys.selects(query))
                    .map(|keys| keys.index)
                    .collect();
                (self.read()?, waiting)
            };
            let mut candidates = candidates(&txn, query)?;
            // Waiting entries come after every indexed one.
            candidates.extend(waiting);
            let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
            let limit = query.limit.unwrap_or(usize::MAX);
            let mut found = Vec::new();
            for index in candidates {
                if found.len() >= limit {
                    break;
                }
                let Some(bytes) = entries.get(index).map_err(redb::Error::from)? else {
                    continue;
                };
                let stored = decode(index, bytes.value())?;
                if query.matches(&stored.record) {
                    found.push(stored);
                }
            }
            Ok(found)
        })
    }

    fn document(&self, digest: &Digest) -> Result<Option<Vec<u8>>, LedgerError> {
        guarded(|| {
            let txn = self.read()?;
            let documents = txn.open_table(DOCUMENTS).map_err(redb::Error::from)?;
            let content = documents
                .get(*digest.as_bytes())
                .map_err(redb::Error::from)?;
            Ok(content.map(|c| c.value().to_vec()))
        })
    }

    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError> {
        guarded(|| {
            let writer = self.writer.lock().map_err(|_| LedgerError::Poisoned)?;
            let size = writer.frontier.size();
            if let Some(latest) = self.latest_checkpoint()?
                && latest.checkpoint.size == size
            {
                return Ok(latest);
            }
            let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
            txn.set_durability(Durability::Immediate)
                .map_err(redb::Error::from)?;
            let signed = self.sign_into(&txn, &writer.frontier)?;
            txn.commit().map_err(redb::Error::from)?;
            Ok(signed)
        })
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError> {
        guarded(|| {
            let txn = self.read()?;
            let table = txn.open_table(CHECKPOINTS).map_err(redb::Error::from)?;
            let mut all = Vec::new();
            for row in table.iter().map_err(redb::Error::from)? {
                let (_, note) = row.map_err(redb::Error::from)?;
                let note = note.value().to_owned();
                let checkpoint = self.key.verifier().open(&note)?;
                all.push(SignedCheckpoint { checkpoint, note });
            }
            Ok(all)
        })
    }

    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        guarded(|| {
            let current = self.size()?;
            if size > current || index >= size {
                return Err(LedgerError::OutOfRange {
                    index: index.max(size),
                    size: current,
                });
            }
            let txn = self.read()?;
            merkle::inclusion_proof(index, size, &mut Self::node_reader(&txn)?)
        })
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        guarded(|| {
            let current = self.size()?;
            if new > current || old > new {
                return Err(LedgerError::OutOfRange {
                    index: old.max(new),
                    size: current,
                });
            }
            let txn = self.read()?;
            merkle::consistency_proof(old, new, &mut Self::node_reader(&txn)?)
        })
    }

    fn prune(&self, index: u64, today: Date) -> Result<(), LedgerError> {
        guarded(|| {
            let mut writer = self.writer.lock().map_err(|_| LedgerError::Poisoned)?;
            let mut txn = self.db.begin_write().map_err(redb::Error::from)?;
            txn.set_durability(Durability::Immediate)
                .map_err(redb::Error::from)?;
            // Retention reads the support ends: every row written first.
            write_lookup_rows(&txn, writer.pending.iter(), writer.frontier.size())?;
            let record = {
                let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
                let bytes = entries.get(index).map_err(redb::Error::from)?;
                match bytes {
                    Some(bytes) => decode(index, bytes.value())?.record,
                    None => return Err(LedgerError::OutOfRange { index, size: 0 }),
                }
            };
            let support_end = product_support_end(&txn, &record)?;
            let until = retention::check_prunable(&record, support_end, today)?;
            remove_entry(&txn, &record)?;
            txn.open_table(PRUNED)
                .map_err(redb::Error::from)?
                .insert(index, until.to_string().as_str())
                .map_err(redb::Error::from)?;
            txn.commit().map_err(redb::Error::from)?;
            writer.pending.clear();
            writer.pending_since = None;
            Ok(())
        })
    }

    fn audit(&self, key: &VerifierKey, today: Date) -> Result<AuditReport, LedgerError> {
        guarded(|| {
            let txn = self.read()?;
            audit::audit(&audit::RedbSource::new(&txn)?, key, today)
        })
    }
}

/// Checks the schema version and origin, or writes them into a new file;
/// returns the tree size.
fn check_or_create_schema(txn: &WriteTransaction, origin: &str) -> Result<u64, LedgerError> {
    let meta = txn.open_table(META).map_err(redb::Error::from)?;
    let version = meta
        .get(META_SCHEMA_VERSION)
        .map_err(redb::Error::from)?
        .map(|v| v.value().to_vec());
    match version {
        None => {
            drop(meta);
            if txn.list_tables().map_err(redb::Error::from)?.count() > 1 {
                return Err(LedgerError::NotALedger);
            }
            let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
            let put = |meta: &mut redb::Table<&str, &[u8]>, k: &str, v: &[u8]| {
                meta.insert(k, v).map(|_| ()).map_err(redb::Error::from)
            };
            put(
                &mut meta,
                META_SCHEMA_VERSION,
                &SCHEMA_VERSION.to_le_bytes(),
            )?;
            put(&mut meta, META_ORIGIN, origin.as_bytes())?;
            put(&mut meta, META_TREE_SIZE, &0u64.to_le_bytes())?;
            put(&mut meta, META_INDEXED_SIZE, &0u64.to_le_bytes())?;
            drop(meta);
            create_tables(txn)?;
            Ok(0)
        }
        Some(bytes) => {
            let found = u32::from_le_bytes(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| LedgerError::NotALedger)?,
            );
            if found > SCHEMA_VERSION {
                return Err(LedgerError::FutureSchema {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            if found == 0 {
                return Err(LedgerError::NotALedger);
            }
            let ledger_origin = meta_value(&meta, META_ORIGIN)?;
            if ledger_origin != origin.as_bytes() {
                return Err(LedgerError::KeyMismatch {
                    ledger: String::from_utf8_lossy(&ledger_origin).into_owned(),
                    key: origin.to_owned(),
                });
            }
            let size = u64::from_le_bytes(
                meta_value(&meta, META_TREE_SIZE)?
                    .as_slice()
                    .try_into()
                    .map_err(|_| LedgerError::NotALedger)?,
            );
            if found < SCHEMA_VERSION {
                // Version 1 wrote every entry's lookup rows in its commit.
                drop(meta);
                let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
                meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION.to_le_bytes().as_slice())
                    .map_err(redb::Error::from)?;
                meta.insert(META_INDEXED_SIZE, size.to_le_bytes().as_slice())
                    .map_err(redb::Error::from)?;
            }
            Ok(size)
        }
    }
}

fn create_tables(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(ENTRIES)?;
    txn.open_table(NODES)?;
    txn.open_table(CHECKPOINTS)?;
    txn.open_table(DOCUMENTS)?;
    txn.open_table(PRUNED)?;
    txn.open_table(BY_TIME)?;
    txn.open_table(SUPPORT_END)?;
    txn.open_multimap_table(BY_PRODUCT)?;
    txn.open_multimap_table(BY_DIGEST)?;
    txn.open_multimap_table(BY_OPERATOR)?;
    Ok(())
}

fn meta_value(meta: &redb::Table<&str, &[u8]>, key: &str) -> Result<Vec<u8>, LedgerError> {
    let value = meta.get(key).map_err(redb::Error::from)?;
    value
        .map(|v| v.value().to_vec())
        .ok_or(LedgerError::NotALedger)
}

/// Writes each submission's entry, tree nodes and document, and the new
/// tree size; returns the receipts and the entries' lookup keys, whose rows
/// [`write_lookup_rows`] writes (now or with later batches).
fn write_entries(
    txn: &WriteTransaction,
    frontier: &mut Frontier,
    batch: &[Submission],
) -> Result<(Vec<Receipt>, Vec<Keys>), LedgerError> {
    let mut entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
    let mut nodes = txn.open_table(NODES).map_err(redb::Error::from)?;
    let mut documents = txn.open_table(DOCUMENTS).map_err(redb::Error::from)?;
    let mut receipts = Vec::with_capacity(batch.len());
    let mut keys = Vec::with_capacity(batch.len());
    for submission in batch {
        let index = frontier.size();
        let record = Record::new(index, submission.entry());
        let bytes = record.encode();
        let leaf_hash = merkle::leaf_hash(&bytes);
        entries
            .insert(index, bytes.as_slice())
            .map_err(redb::Error::from)?;
        for (level, at, hash) in frontier.push(leaf_hash) {
            nodes.insert((level, at), hash).map_err(redb::Error::from)?;
        }
        if let (Some(content), Some(digest)) =
            (submission.attachment(), record.body.digests().first())
        {
            let key = *digest.as_bytes();
            if documents.get(key).map_err(redb::Error::from)?.is_none() {
                documents.insert(key, content).map_err(redb::Error::from)?;
            }
        }
        keys.push(Keys::of(&record));
        receipts.push(Receipt { index, leaf_hash });
    }
    let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
    meta.insert(META_TREE_SIZE, frontier.size().to_le_bytes().as_slice())
        .map_err(redb::Error::from)?;
    Ok((receipts, keys))
}

/// Writes the lookup rows of `keys` and records that every entry below
/// `indexed` has its rows.
fn write_lookup_rows<'k>(
    txn: &WriteTransaction,
    keys: impl Iterator<Item = &'k Keys>,
    indexed: u64,
) -> Result<(), LedgerError> {
    let mut by_time = txn.open_table(BY_TIME).map_err(redb::Error::from)?;
    let mut support = txn.open_table(SUPPORT_END).map_err(redb::Error::from)?;
    let mut by_product = txn
        .open_multimap_table(BY_PRODUCT)
        .map_err(redb::Error::from)?;
    let mut by_digest = txn
        .open_multimap_table(BY_DIGEST)
        .map_err(redb::Error::from)?;
    let mut by_operator = txn
        .open_multimap_table(BY_OPERATOR)
        .map_err(redb::Error::from)?;
    for keys in keys {
        let index = keys.index;
        for product in &keys.products {
            by_product
                .insert(product.as_str(), index)
                .map_err(redb::Error::from)?;
            if let Some(end) = keys.support_end {
                let known = support
                    .get(product.as_str())
                    .map_err(redb::Error::from)?
                    .and_then(|v| v.value().parse::<Date>().ok());
                if known.is_none_or(|known| end > known) {
                    support
                        .insert(product.as_str(), end.to_string().as_str())
                        .map_err(redb::Error::from)?;
                }
            }
        }
        for digest in &keys.digests {
            by_digest
                .insert(*digest, index)
                .map_err(redb::Error::from)?;
        }
        for operator in &keys.operators {
            by_operator
                .insert(operator.as_str(), index)
                .map_err(redb::Error::from)?;
        }
        by_time
            .insert((keys.time, index), ())
            .map_err(redb::Error::from)?;
    }
    let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
    meta.insert(META_INDEXED_SIZE, indexed.to_le_bytes().as_slice())
        .map_err(redb::Error::from)?;
    Ok(())
}

/// Writes the lookup rows of entries committed but not indexed before the
/// last stop (a crash lost the rows that waited in memory).
fn reindex(txn: &WriteTransaction, size: u64) -> Result<(), LedgerError> {
    let indexed = {
        let meta = txn.open_table(META).map_err(redb::Error::from)?;
        let bytes = meta_value(&meta, META_INDEXED_SIZE)?;
        u64::from_le_bytes(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| LedgerError::NotALedger)?,
        )
    };
    if indexed >= size {
        return Ok(());
    }
    let mut keys = Vec::new();
    {
        let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        for row in entries.range(indexed..size).map_err(redb::Error::from)? {
            let (index, bytes) = row.map_err(redb::Error::from)?;
            keys.push(Keys::of(&decode(index.value(), bytes.value())?.record));
        }
    }
    write_lookup_rows(txn, keys.iter(), size)
}

/// Leaf indexes to look at for `query`, from the most selective index it names.
fn candidates(txn: &ReadTransaction, query: &Query) -> Result<Vec<u64>, LedgerError> {
    let collect = |values: redb::MultimapValue<u64>| -> Result<Vec<u64>, LedgerError> {
        let mut out = Vec::new();
        for value in values {
            out.push(value.map_err(redb::Error::from)?.value());
        }
        Ok(out)
    };
    if let Some(product) = &query.product {
        let table = txn
            .open_multimap_table(BY_PRODUCT)
            .map_err(redb::Error::from)?;
        return collect(table.get(product.as_str()).map_err(redb::Error::from)?);
    }
    if let Some(digest) = &query.digest {
        let table = txn
            .open_multimap_table(BY_DIGEST)
            .map_err(redb::Error::from)?;
        return collect(table.get(*digest.as_bytes()).map_err(redb::Error::from)?);
    }
    if let Some(operator) = &query.operator {
        let table = txn
            .open_multimap_table(BY_OPERATOR)
            .map_err(redb::Error::from)?;
        return collect(table.get(operator.as_str()).map_err(redb::Error::from)?);
    }
    if query.since.is_some() || query.until.is_some() {
        let table = txn.open_table(BY_TIME).map_err(redb::Error::from)?;
        let from = query.since.map_or(i64::MIN, |t| t.as_microsecond());
        let to = query.until.map_or(i64::MAX, |t| t.as_microsecond());
        let mut out = Vec::new();
        for row in table.range((from, 0)..(to, 0)).map_err(redb::Error::from)? {
            out.push(row.map_err(redb::Error::from)?.0.value().1);
        }
        out.sort_unstable();
        return Ok(out);
    }
    let table = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
    let mut out = Vec::new();
    for row in table.iter().map_err(redb::Error::from)? {
        out.push(row.map_err(redb::Error::from)?.0.value());
    }
    Ok(out)
}

fn product_support_end(
    txn: &WriteTransaction,
    record: &Record,
) -> Result<Option<Date>, LedgerError> {
    let support = txn.open_table(SUPPORT_END).map_err(redb::Error::from)?;
    let mut latest = None;
    for product in record.body.products() {
        let end = support
            .get(product.as_str())
            .map_err(redb::Error::from)?
            .and_then(|v| v.value().parse::<Date>().ok());
        latest = latest.max(end);
    }
    Ok(latest)
}

fn remove_entry(txn: &WriteTransaction, record: &Record) -> Result<(), redb::Error> {
    let index = record.index;
    txn.open_table(ENTRIES)?.remove(index)?;
    txn.open_table(BY_TIME)?
        .remove((record.time.as_microsecond(), index))?;
    let mut by_product = txn.open_multimap_table(BY_PRODUCT)?;
    for product in record.body.products() {
        by_product.remove(product.as_str(), index)?;
    }
    let mut by_digest = txn.open_multimap_table(BY_DIGEST)?;
    for digest in record.body.digests() {
        by_digest.remove(*digest.as_bytes(), index)?;
    }
    let mut by_operator = txn.open_multimap_table(BY_OPERATOR)?;
    for operator in record.body.operators() {
        by_operator.remove(operator.as_str(), index)?;
    }
    Ok(())
}

fn read_node(
    nodes: &impl ReadableTable<(u8, u64), [u8; 32]>,
    level: u8,
    index: u64,
) -> Result<Hash, LedgerError> {
    match nodes.get((level, index)).map_err(redb::Error::from)? {
        Some(hash) => Ok(hash.value()),
        None => Err(LedgerError::CorruptEntry {
            index,
            reason: format!("tree node ({level}, {index}) is missing"),
        }),
    }
}

fn decode(index: u64, bytes: &[u8]) -> Result<StoredRecord, LedgerError> {
    let record = Record::decode(bytes).map_err(|error| LedgerError::CorruptEntry {
        index,
        reason: error.to_string(),
    })?;
    Ok(StoredRecord {
        bytes: bytes.to_vec(),
        record,
    })
}

impl Drop for RedbLedger {
    /// Writes the lookup rows still waiting, so that the next open has none
    /// to rebuild (were this to fail, the next open rebuilds them).
    fn drop(&mut self) {
        let _ = guarded(|| {
            let Ok(writer) = self.writer.get_mut() else {
                return Ok(());
            };
            if writer.pending.is_empty() {
                return Ok(());
            }
            let txn = self.db.begin_write().map_err(redb::Error::from)?;
            write_lookup_rows(&txn, writer.pending.iter(), writer.frontier.size())?;
            txn.commit().map_err(redb::Error::from)?;
            Ok(())
        });
    }
}

#[cfg(test)]
#[path = "redb_store_tests.rs"]
mod tests;
