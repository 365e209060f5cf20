//! A [`LedgerStore`] in PostgreSQL, shared by several gateway nodes.
//!
//! The same records, tree nodes, documents and checkpoints as the redb
//! file ([`super::redb_store`]), in the tables of [`pg_schema`]. Every append
//! runs in one transaction that first locks the single row of
//! `cragate_tree`: whichever node holds it places its batch at the end of
//! the tree, so entries from every node get one total order with no gap
//! and no duplicate, and a node that dies mid-commit leaves nothing behind
//! (the transaction is rolled back). Each node still batches its own
//! concurrent appends into one commit ([`super::Appender`]); whichever node
//! appends signs the checkpoint, with the key the nodes share.
//!
//! The trait is synchronous and its callers are threads (the group-commit
//! writer, blocking tasks, the CLI), some of them inside an async runtime;
//! so the store runs its own small runtime and hands each operation to it,
//! waiting on a channel, which works from any thread.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cragate_verifier::Digest;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use jiff::civil::Date;
use tokio_postgres::types::ToSql;

use super::audit::{self, AuditReport, AuditSource};
use super::checkpoint::{Checkpoint, SigningKey, VerifierKey};
use super::entry::{Record, Submission};
use super::merkle::{self, Frontier, Hash};
use super::pg_schema::{MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION};
use super::redb_store::StoreOptions;
use super::{LedgerError, LedgerStore, Query, Receipt, SignedCheckpoint, StoredRecord, retention};

/// Connections one node keeps to the database: the writer, a few
/// concurrent admin reads and exports.
pub const POOL_SIZE: usize = 8;

/// How long an operation waits for a connection before it fails (and the
/// request that needed it answers 503): long enough for a database
/// restart's first connections, short enough that callers are not held.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl From<deadpool_postgres::PoolError> for LedgerError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(error) => Self::Database(error),
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// A ledger in a PostgreSQL database.
#[derive(Debug)]
pub struct PgLedger {
    database: PgDatabase,
    inner: Arc<Inner>,
    target: String,
}

/// The database a [`PgLedger`] is connected to, for the other state the
/// nodes share there (the recall outbox, halts in force): its connection
/// pool and the small runtime its operations run on. Its tables are the
/// ledger's migrations' ([`super::pg_schema`]), created on connect.
#[derive(Debug, Clone)]
pub struct PgDatabase {
    runtime: Arc<tokio::runtime::Runtime>,
    pool: Pool,
    /// Where the pool connects, for connections of their own (`LISTEN`).
    config: tokio_postgres::Config,
}

impl PgDatabase {
    /// Runs `work` with the pool on the database's runtime and waits for
    /// its result; callable from any thread, inside an async runtime or
    /// not. `None` when the task ended without an answer.
    pub fn block_on<T, F>(&self, work: impl FnOnce(Pool) -> F) -> Option<T>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let future = work(self.pool.clone());
        self.runtime.spawn(async move {
            let _ = reply.send(future.await);
        });
        answer.recv().ok()
    }

    /// Spawns `work` on the database's runtime without waiting (a
    /// listener for notifications, say).
    pub fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(work);
    }

    /// Listens for `NOTIFY channel` on a connection of its own, opened
    /// again when lost ([`super::pg_listen`]), until `on_notify` returns
    /// `false`. `on_notify` is called for each notification and once each
    /// time listening starts; it runs on the database's runtime and must
    /// not block.
    pub fn listen(&self, channel: &'static str, on_notify: impl FnMut() -> bool + Send + 'static) {
        self.spawn(super::pg_listen::run(
            self.config.clone(),
            tls(),
            channel,
            on_notify,
        ));
    }
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    key: SigningKey,
    options: StoreOptions,
    writer: tokio::sync::Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    /// The right edge of the tree as this node last saw it; another node's
    /// appends make it stale, which the next append notices and reloads.
    frontier: Frontier,
    last_checkpoint: Option<Instant>,
}

impl PgLedger {
    /// Connects to the database at `url` (`postgresql://...`), creating or
    /// upgrading its tables; refuses a database of a later schema version
    /// and one created with another key. TLS is used when the server offers
    /// it (`sslmode=prefer`, the default) or required (`sslmode=require`),
    /// with the Web PKI roots.
    pub fn connect(url: &str, key: SigningKey, options: StoreOptions) -> Result<Self, LedgerError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|error: tokio_postgres::Error| {
                LedgerError::BadDatabaseUrl(error.to_string())
            })?;
        let target = describe(&config);
        let listen_config = config.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ledger-postgres")
            .enable_all()
            .build()
            .map_err(|error| LedgerError::Unreachable(error.to_string()))?;
        let pool = {
            let _context = runtime.enter();
            let manager = Manager::from_config(
                config,
                tls(),
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(CONNECT_TIMEOUT))
                .create_timeout(Some(CONNECT_TIMEOUT))
                .build()
                .map_err(|error| LedgerError::Unreachable(error.to_string()))?
        };
        let inner = Arc::new(Inner {
            pool,
            key,
            options,
            writer: tokio::sync::Mutex::new(Writer {
                frontier: Frontier::default(),
                last_checkpoint: None,
            }),
        });
        let database = PgDatabase {
            runtime: Arc::new(runtime),
            pool: inner.pool.clone(),
            config: listen_config,
        };
        let ledger = Self {
            database,
            inner,
            target,
        };
        ledger.exec(|inner| async move {
            let mut client = inner.pool.get().await?;
            let size = migrate(&mut client, inner.key.verifier().name()).await?;
            let txn = client.transaction().await?;
            let frontier = load_frontier(&txn, size).await?;
            txn.commit().await?;
            inner.writer.lock().await.frontier = frontier;
            Ok(())
        })?;
        Ok(ledger)
    }

    /// Where it is, without credentials: `host:port/database`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs one operation on the store's runtime and waits for it.
    fn exec<T, F>(&self, work: impl FnOnce(Arc<Inner>) -> F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, LedgerError>> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        self.database
            .block_on(move |_| work(inner))
            .ok_or_else(|| LedgerError::Unreachable("the database task ended".into()))?
    }
}

impl LedgerStore for PgLedger {
    fn verifier_key(&self) -> &VerifierKey {
        self.inner.key.verifier()
    }

    fn database(&self) -> Option<PgDatabase> {
        Some(self.database.clone())
    }

    fn append_batch(&self, batch: &[Submission]) -> Result<Vec<Receipt>, LedgerError> {
        let batch = batch.to_vec();
        self.exec(|inner| async move { append(&inner, &batch).await })
    }

    fn size(&self) -> Result<u64, LedgerError> {
        self.exec(|inner| async move {
            let client = inner.pool.get().await?;
            let row = client
                .query_one("SELECT size FROM cragate_tree WHERE id = 1", &[])
                .await?;
            to_u64(row.get(0))
        })
    }

    fn record(&self, index: u64) -> Result<Option<StoredRecord>, LedgerError> {
        let at = to_i64(index)?;
        self.exec(move |inner| async move {
            let client = inner.pool.get().await?;
            let row = client
                .query_opt("SELECT bytes FROM cragate_entries WHERE idx = $1", &[&at])
                .await?;
            row.map(|row| decode(index, row.get(0))).transpose()
        })
    }

    fn query(&self, query: &Query) -> Result<Vec<StoredRecord>, LedgerError> {
        let query = query.clone();
        self.exec(move |inner| async move {
            let client = inner.pool.get().await?;
            let rows = candidates(&client, &query).await?;
            let limit = query.limit.unwrap_or(usize::MAX);
            let mut found = Vec::new();
            for row in rows {
                if found.len() >= limit {
                    break;
                }
                let stored = decode(to_u64(row.get(0))?, row.get(1))?;
                if query.matches(&stored.record) {
                    found.push(stored);
                }
            }
            Ok(found)
        })
    }

    fn document(&self, digest: &Digest) -> Result<Option<Vec<u8>>, LedgerError> {
        let digest = digest.as_bytes().to_vec();
        self.exec(move |inner| async move {
            let client = inner.pool.get().await?;
            let row = client
                .query_opt(
                    "SELECT content FROM cragate_documents WHERE digest = $1",
                    &[&digest],
                )
                .await?;
            Ok(row.map(|row| row.get(0)))
        })
    }

    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError> {
        self.exec(|inner| async move {
            let mut writer = inner.writer.lock().await;
            let mut client = inner.pool.get().await?;
            let txn = client.transaction().await?;
            let size = locked_size(&txn).await?;
            let latest = txn
                .query_opt(
                    "SELECT note FROM cragate_checkpoints ORDER BY size DESC LIMIT 1",
                    &[],
                )
                .await?;
            if let Some(row) = latest {
                let note: String = row.get(0);
                let checkpoint = inner.key.verifier().open(&note)?;
                if checkpoint.size == size {
                    return Ok(SignedCheckpoint { checkpoint, note });
                }
            }
            let frontier = current_frontier(&txn, &writer.frontier, size).await?;
            let signed = sign_into(&txn, &inner.key, &frontier).await?;
            txn.commit().await?;
            writer.frontier = frontier;
            Ok(signed)
        })
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError> {
        self.exec(|inner| async move {
            let client = inner.pool.get().await?;
            let rows = client
                .query("SELECT note FROM cragate_checkpoints ORDER BY size", &[])
                .await?;
            rows.into_iter()
                .map(|row| {
                    let note: String = row.get(0);
                    let checkpoint = inner.key.verifier().open(&note)?;
                    Ok(SignedCheckpoint { checkpoint, note })
                })
                .collect()
        })
    }

    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        let current = self.size()?;
        if size > current || index >= size {
            return Err(LedgerError::OutOfRange {
                index: index.max(size),
                size: current,
            });
        }
        self.proof(|node| merkle::inclusion_proof(index, size, &mut |l, a| node(l, a)))
    }

    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        let current = self.size()?;
        if new > current || old > new {
            return Err(LedgerError::OutOfRange {
                index: old.max(new),
                size: current,
            });
        }
        self.proof(|node| merkle::consistency_proof(old, new, &mut |l, a| node(l, a)))
    }

    fn prune(&self, index: u64, today: Date) -> Result<(), LedgerError> {
        let at = to_i64(index)?;
        self.exec(move |inner| async move {
            let _writer = inner.writer.lock().await;
            let mut client = inner.pool.get().await?;
            let txn = client.transaction().await?;
            let size = locked_size(&txn).await?;
            let row = txn
                .query_opt("SELECT bytes FROM cragate_entries WHERE idx = $1", &[&at])
                .await?;
            let Some(row) = row else {
                return Err(LedgerError::OutOfRange { index, size });
            };
            let record = decode(index, row.get(0))?.record;
            let products: Vec<&str> = record.body.products().iter().map(|p| p.as_str()).collect();
            let end: Option<String> = txn
                .query_one(
                    "SELECT max(end_date) FROM cragate_support_end WHERE product = ANY($1)",
                    &[&products],
                )
                .await?
                .get(0);
            let support_end = end.and_then(|end| end.parse::<Date>().ok());
            let until = retention::check_prunable(&record, support_end, today)?;
            for sql in [
                "DELETE FROM cragate_entries WHERE idx = $1",
                "DELETE FROM cragate_by_product WHERE idx = $1",
                "DELETE FROM cragate_by_digest WHERE idx = $1",
                "DELETE FROM cragate_by_operator WHERE idx = $1",
            ] {
                txn.execute(sql, &[&at]).await?;
            }
            txn.execute(
                "INSERT INTO cragate_pruned (idx, until) VALUES ($1, $2)",
                &[&at, &until.to_string()],
            )
            .await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn audit(&self, key: &VerifierKey, today: Date) -> Result<AuditReport, LedgerError> {
        let snapshot = self.exec(|inner| async move { Snapshot::read(&inner).await })?;
        audit::audit(&snapshot, key, today)
    }
}

impl PgLedger {
    /// Runs a proof computation over the tree nodes it needs, read in one
    /// query: the nodes a proof reads depend only on its sizes, so a first
    /// pass collects them and the second computes with their values.
    fn proof(
        &self,
        compute: impl Fn(
            &mut dyn FnMut(u8, u64) -> Result<Hash, LedgerError>,
        ) -> Result<Vec<Hash>, LedgerError>,
    ) -> Result<Vec<Hash>, LedgerError> {
        let mut wanted = Vec::new();
        compute(&mut |level, at| {
            wanted.push((level, at));
            Ok([0; 32])
        })?;
        let nodes = self.exec(move |inner| async move {
            let client = inner.pool.get().await?;
            read_nodes(&client, &wanted).await
        })?;
        compute(&mut |level, at| node_or_corrupt(&nodes, level, at))
    }
}

/// Appends `batch` at the end of the tree in one transaction.
async fn append(inner: &Inner, batch: &[Submission]) -> Result<Vec<Receipt>, LedgerError> {
    let mut writer = inner.writer.lock().await;
    let mut client = inner.pool.get().await?;
    let txn = client.transaction().await?;
    let size = locked_size(&txn).await?;
    let mut frontier = current_frontier(&txn, &writer.frontier, size).await?;
    let mut rows = Rows::default();
    let mut receipts = Vec::with_capacity(batch.len());
    for submission in batch {
        let index = frontier.size();
        let record = Record::new(index, submission.entry());
        let bytes = record.encode();
        let leaf_hash = merkle::leaf_hash(&bytes);
        let at = to_i64(index)?;
        for (level, node, hash) in frontier.push(leaf_hash) {
            rows.node_levels.push(i16::from(level));
            rows.node_indexes.push(to_i64(node)?);
            rows.node_hashes.push(hash.to_vec());
        }
        let body = &record.body;
        for product in body.products() {
            rows.products.push((product.as_str().to_owned(), at));
            if let Some(end) = body.support_end() {
                let known = rows
                    .support
                    .entry(product.as_str().to_owned())
                    .or_insert(end);
                *known = (*known).max(end);
            }
        }
        for digest in body.digests() {
            rows.digests.push((digest.as_bytes().to_vec(), at));
        }
        for operator in body.operators() {
            rows.operators.push((operator.as_str().to_owned(), at));
        }
        if let (Some(content), Some(digest)) = (submission.attachment(), body.digests().first()) {
            rows.documents
                .entry(digest.as_bytes().to_vec())
                .or_insert_with(|| content.to_vec());
        }
        rows.indexes.push(at);
        rows.times.push(record.time.as_microsecond());
        rows.entries.push(bytes);
        receipts.push(Receipt { index, leaf_hash });
    }
    rows.write(&txn).await?;
    txn.execute(
        "UPDATE cragate_tree SET size = $1 WHERE id = 1",
        &[&to_i64(frontier.size())?],
    )
    .await?;
    let due = writer
        .last_checkpoint
        .is_none_or(|at| at.elapsed() >= inner.options.checkpoint_interval);
    if due {
        sign_into(&txn, &inner.key, &frontier).await?;
    }
    txn.commit().await?;
    writer.frontier = frontier;
    if due {
        writer.last_checkpoint = Some(Instant::now());
    }
    Ok(receipts)
}

/// The rows one batch adds, column by column, written with one statement
/// per table.
#[derive(Default)]
struct Rows {
    indexes: Vec<i64>,
    entries: Vec<Vec<u8>>,
    times: Vec<i64>,
    node_levels: Vec<i16>,
    node_indexes: Vec<i64>,
    node_hashes: Vec<Vec<u8>>,
    products: Vec<(String, i64)>,
    digests: Vec<(Vec<u8>, i64)>,
    operators: Vec<(String, i64)>,
    support: BTreeMap<String, Date>,
    documents: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Rows {
    async fn write(self, txn: &Transaction<'_>) -> Result<(), LedgerError> {
        txn.execute(
            "INSERT INTO cragate_entries (idx, bytes, time_us) \
             SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::bigint[])",
            &[&self.indexes, &self.entries, &self.times],
        )
        .await?;
        txn.execute(
            "INSERT INTO cragate_nodes (level, idx, hash) \
             SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[])",
            &[&self.node_levels, &self.node_indexes, &self.node_hashes],
        )
        .await?;
        let (products, at): (Vec<String>, Vec<i64>) = self.products.into_iter().unzip();
        pairs(txn, "cragate_by_product", "product", "text", &products, &at).await?;
        let (digests, at): (Vec<Vec<u8>>, Vec<i64>) = self.digests.into_iter().unzip();
        pairs(txn, "cragate_by_digest", "digest", "bytea", &digests, &at).await?;
        let (operators, at): (Vec<String>, Vec<i64>) = self.operators.into_iter().unzip();
        pairs(
            txn,
            "cragate_by_operator",
            "operator",
            "text",
            &operators,
            &at,
        )
        .await?;
        if !self.support.is_empty() {
            let (products, ends): (Vec<String>, Vec<String>) = self
                .support
                .into_iter()
                .map(|(product, end)| (product, end.to_string()))
                .unzip();
            // YYYY-MM-DD text orders like the dates it names.
            txn.execute(
                "INSERT INTO cragate_support_end (product, end_date) \
                 SELECT * FROM UNNEST($1::text[], $2::text[]) \
                 ON CONFLICT (product) DO UPDATE \
                 SET end_date = GREATEST(cragate_support_end.end_date, EXCLUDED.end_date)",
                &[&products, &ends],
            )
            .await?;
        }
        if !self.documents.is_empty() {
            let (digests, contents): (Vec<Vec<u8>>, Vec<Vec<u8>>) =
                self.documents.into_iter().unzip();
            txn.execute(
                "INSERT INTO cragate_documents (digest, content) \
                 SELECT * FROM UNNEST($1::bytea[], $2::bytea[]) ON CONFLICT (digest) DO NOTHING",
                &[&digests, &contents],
            )
            .await?;
        }
        Ok(())
    }
}

/// Inserts `(key, idx)` rows into one of the lookup tables.
async fn pairs<K: ToSql + Sync>(
    txn: &Transaction<'_>,
    table: &str,
    column: &str,
    sql_type: &str,
    keys: &[K],
    indexes: &[i64],
) -> Result<(), LedgerError> {
    if keys.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {table} ({column}, idx) SELECT * FROM UNNEST($1::{sql_type}[], $2::bigint[]) \
         ON CONFLICT DO NOTHING"
    );
    txn.execute(sql.as_str(), &[&keys, &indexes]).await?;
    Ok(())
}

/// The tree size, with the tree row locked until the transaction ends.
async fn locked_size(txn: &Transaction<'_>) -> Result<u64, LedgerError> {
    let row = txn
        .query_one("SELECT size FROM cragate_tree WHERE id = 1 FOR UPDATE", &[])
        .await?;
    to_u64(row.get(0))
}

/// `cached` if it is of `size` leaves, else the frontier read again (another
/// node appended since).
async fn current_frontier(
    txn: &Transaction<'_>,
    cached: &Frontier,
    size: u64,
) -> Result<Frontier, LedgerError> {
    if cached.size() == size {
        Ok(cached.clone())
    } else {
        load_frontier(txn, size).await
    }
}

/// The frontier of the tree of `size` leaves, from its stored nodes.
async fn load_frontier(
    client: &impl deadpool_postgres::GenericClient,
    size: u64,
) -> Result<Frontier, LedgerError> {
    let mut wanted = Vec::new();
    Frontier::load(size, |level, at| {
        wanted.push((level, at));
        Ok::<_, LedgerError>([0; 32])
    })?;
    let nodes = read_nodes(client, &wanted).await?;
    Frontier::load(size, |level, at| node_or_corrupt(&nodes, level, at))
}

async fn read_nodes(
    client: &impl deadpool_postgres::GenericClient,
    wanted: &[(u8, u64)],
) -> Result<HashMap<(u8, u64), Hash>, LedgerError> {
    let levels: Vec<i16> = wanted.iter().map(|(level, _)| i16::from(*level)).collect();
    let indexes = wanted
        .iter()
        .map(|(_, at)| to_i64(*at))
        .collect::<Result<Vec<_>, _>>()?;
    let rows = client
        .query(
            "SELECT n.level, n.idx, n.hash FROM cragate_nodes n \
             JOIN UNNEST($1::smallint[], $2::bigint[]) AS w(level, idx) \
             ON n.level = w.level AND n.idx = w.idx",
            &[&levels, &indexes],
        )
        .await?;
    let mut nodes = HashMap::with_capacity(rows.len());
    for row in rows {
        let (level, at) = node_key(row.get(0), row.get(1))?;
        nodes.insert((level, at), to_hash(at, row.get(2))?);
    }
    Ok(nodes)
}

fn node_or_corrupt(
    nodes: &HashMap<(u8, u64), Hash>,
    level: u8,
    at: u64,
) -> Result<Hash, LedgerError> {
    nodes
        .get(&(level, at))
        .copied()
        .ok_or_else(|| LedgerError::CorruptEntry {
            index: at,
            reason: format!("tree node ({level}, {at}) is missing"),
        })
}

async fn sign_into(
    txn: &Transaction<'_>,
    key: &SigningKey,
    frontier: &Frontier,
) -> Result<SignedCheckpoint, LedgerError> {
    let checkpoint = Checkpoint {
        origin: key.verifier().name().to_owned(),
        size: frontier.size(),
        root: frontier.root(),
    };
    let note = key.sign(&checkpoint);
    // Two nodes signing the same size with the shared key write the same
    // note (Ed25519 signatures are deterministic): keep the first.
    txn.execute(
        "INSERT INTO cragate_checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING",
        &[&to_i64(checkpoint.size)?, &note],
    )
    .await?;
    Ok(SignedCheckpoint { checkpoint, note })
}

/// Creates the tables in an empty database, upgrades an older schema, and
/// checks the version and origin; returns the tree size. Nodes starting at
/// once take turns on an advisory lock.
async fn migrate(client: &mut deadpool_postgres::Client, origin: &str) -> Result<u64, LedgerError> {
    let txn = client.transaction().await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let exists: Option<String> = txn
        .query_one("SELECT to_regclass('cragate_schema')::text", &[])
        .await?
        .get(0);
    let version: i32 = match exists {
        None => {
            let others: i64 = txn
                .query_one(
                    "SELECT count(*) FROM pg_tables \
                     WHERE schemaname = current_schema() AND tablename LIKE 'cragate\\_%'",
                    &[],
                )
                .await?
                .get(0);
            if others > 0 {
                return Err(LedgerError::NotALedger);
            }
            0
        }
        Some(_) => txn
            .query_opt("SELECT version FROM cragate_schema", &[])
            .await?
            .map(|row| row.get(0))
            .ok_or(LedgerError::NotALedger)?,
    };
    if version > SCHEMA_VERSION {
        return Err(LedgerError::FutureSchema {
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: u32::try_from(SCHEMA_VERSION).unwrap_or(0),
        });
    }
    let done = usize::try_from(version).map_err(|_| LedgerError::NotALedger)?;
    for migration in MIGRATIONS.iter().skip(done) {
        txn.batch_execute(migration).await?;
    }
    if version == 0 {
        txn.execute(
            "INSERT INTO cragate_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .await?;
        txn.execute(
            "INSERT INTO cragate_tree (id, origin, size) VALUES (1, $1, 0)",
            &[&origin],
        )
        .await?;
    } else if version < SCHEMA_VERSION {
        txn.execute("UPDATE cragate_schema SET version = $1", &[&SCHEMA_VERSION])
            .await?;
    }
    let row = txn
        .query_opt("SELECT origin, size FROM cragate_tree WHERE id = 1", &[])
        .await?
        .ok_or(LedgerError::NotALedger)?;
    let ledger_origin: String = row.get(0);
    if ledger_origin != origin {
        return Err(LedgerError::KeyMismatch {
            ledger: ledger_origin,
            key: origin.to_owned(),
        });
    }
    let size = to_u64(row.get(1))?;
    txn.commit().await?;
    Ok(size)
}

/// Rows of entries that may match `query`, by index, from the most
/// selective lookup it names (the same order of preference as the redb
/// store's).
async fn candidates(
    client: &deadpool_postgres::Client,
    query: &Query,
) -> Result<Vec<tokio_postgres::Row>, LedgerError> {
    const SELECT: &str = "SELECT e.idx, e.bytes FROM cragate_entries e";
    let rows = if let Some(product) = &query.product {
        let sql = format!(
            "{SELECT} JOIN cragate_by_product k ON k.idx = e.idx WHERE k.product = $1 ORDER BY e.idx"
        );
        client.query(sql.as_str(), &[&product.as_str()]).await?
    } else if let Some(digest) = &query.digest {
        let sql = format!(
            "{SELECT} JOIN cragate_by_digest k ON k.idx = e.idx WHERE k.digest = $1 ORDER BY e.idx"
        );
        client
            .query(sql.as_str(), &[&digest.as_bytes().as_slice()])
            .await?
    } else if let Some(operator) = &query.operator {
        let sql = format!(
            "{SELECT} JOIN cragate_by_operator k ON k.idx = e.idx WHERE k.operator = $1 ORDER BY e.idx"
        );
        client.query(sql.as_str(), &[&operator.as_str()]).await?
    } else if query.since.is_some() || query.until.is_some() {
        let from = query.since.map_or(i64::MIN, |t| t.as_microsecond());
        let to = query.until.map_or(i64::MAX, |t| t.as_microsecond());
        let sql = format!("{SELECT} WHERE e.time_us >= $1 AND e.time_us < $2 ORDER BY e.idx");
        client.query(sql.as_str(), &[&from, &to]).await?
    } else {
        let sql = format!("{SELECT} ORDER BY e.idx");
        client.query(sql.as_str(), &[]).await?
    };
    Ok(rows)
}

/// Everything an audit reads, from one consistent snapshot of the
/// database (a repeatable-read transaction), held in memory.
#[derive(Debug, Default)]
struct Snapshot {
    size: u64,
    checkpoints: Vec<(u64, String)>,
    pruned: BTreeMap<u64, String>,
    entries: Vec<(u64, Vec<u8>)>,
    nodes: HashMap<(u8, u64), Hash>,
    documents: HashMap<[u8; 32], bool>,
}

impl Snapshot {
    async fn read(inner: &Inner) -> Result<Self, LedgerError> {
        let mut client = inner.pool.get().await?;
        let txn = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let mut snapshot = Self {
            size: to_u64(
                txn.query_one("SELECT size FROM cragate_tree WHERE id = 1", &[])
                    .await?
                    .get(0),
            )?,
            ..Self::default()
        };
        for row in txn
            .query(
                "SELECT size, note FROM cragate_checkpoints ORDER BY size",
                &[],
            )
            .await?
        {
            snapshot.checkpoints.push((to_u64(row.get(0))?, row.get(1)));
        }
        for row in txn
            .query("SELECT idx, until FROM cragate_pruned", &[])
            .await?
        {
            snapshot.pruned.insert(to_u64(row.get(0))?, row.get(1));
        }
        for row in txn
            .query("SELECT idx, bytes FROM cragate_entries ORDER BY idx", &[])
            .await?
        {
            snapshot.entries.push((to_u64(row.get(0))?, row.get(1)));
        }
        for row in txn
            .query("SELECT level, idx, hash FROM cragate_nodes", &[])
            .await?
        {
            let (level, at) = node_key(row.get(0), row.get(1))?;
            snapshot.nodes.insert((level, at), to_hash(at, row.get(2))?);
        }
        for row in txn
            .query(
                "SELECT digest, sha256(content) = digest FROM cragate_documents",
                &[],
            )
            .await?
        {
            let digest: Vec<u8> = row.get(0);
            if let Ok(digest) = <[u8; 32]>::try_from(digest.as_slice()) {
                snapshot.documents.insert(digest, row.get(1));
            }
        }
        txn.commit().await?;
        Ok(snapshot)
    }
}

impl AuditSource for Snapshot {
    fn checkpoint_notes(&self) -> Result<Vec<(u64, String)>, LedgerError> {
        Ok(self.checkpoints.clone())
    }

    fn pruned(&self) -> Result<BTreeMap<u64, String>, LedgerError> {
        Ok(self.pruned.clone())
    }

    fn node(&self, level: u8, at: u64) -> Result<Option<Hash>, LedgerError> {
        Ok(self.nodes.get(&(level, at)).copied())
    }

    fn document_matches(&self, digest: &Digest) -> Result<bool, LedgerError> {
        Ok(self.documents.get(digest.as_bytes()) == Some(&true))
    }

    fn for_each_entry(&self, each: &mut audit::EntryVisitor<'_>) -> Result<(), LedgerError> {
        for (index, bytes) in &self.entries {
            if !each(*index, bytes)? {
                break;
            }
        }
        Ok(())
    }

    fn recorded_size(&self) -> Result<u64, LedgerError> {
        Ok(self.size)
    }
}

/// The client-side TLS configuration: the Web PKI roots, the process's one
/// crypto provider.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|builder| {
            builder
                .with_root_certificates(roots.clone())
                .with_no_client_auth()
        })
        .unwrap_or_else(|_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        });
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// A connection string for messages: `postgresql://host:port/database`,
/// never its user or password.
pub fn redacted(url: &str) -> String {
    url.parse::<tokio_postgres::Config>()
        .map_or_else(|_| "postgresql://(unparsable)".to_owned(), |c| describe(&c))
}

/// `host:port/database` of a connection configuration, never its password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("");
    format!("postgresql://{host}:{port}/{database}")
}

fn decode(index: u64, bytes: Vec<u8>) -> Result<StoredRecord, LedgerError> {
    let record = Record::decode(&bytes).map_err(|error| LedgerError::CorruptEntry {
        index,
        reason: error.to_string(),
    })?;
    Ok(StoredRecord { bytes, record })
}

fn node_key(level: i16, at: i64) -> Result<(u8, u64), LedgerError> {
    let at = to_u64(at)?;
    let level = u8::try_from(level).map_err(|_| LedgerError::CorruptEntry {
        index: at,
        reason: format!("tree node level {level} is out of range"),
    })?;
    Ok((level, at))
}

fn to_hash(at: u64, bytes: Vec<u8>) -> Result<Hash, LedgerError> {
    Hash::try_from(bytes.as_slice()).map_err(|_| LedgerError::CorruptEntry {
        index: at,
        reason: format!("a tree node of {} bytes, not 32", bytes.len()),
    })
}

fn to_u64(value: i64) -> Result<u64, LedgerError> {
    u64::try_from(value).map_err(|_| LedgerError::CorruptEntry {
        index: 0,
        reason: format!("negative index or size {value}"),
    })
}

fn to_i64(value: u64) -> Result<i64, LedgerError> {
    i64::try_from(value).map_err(|_| LedgerError::OutOfRange {
        index: value,
        size: u64::try_from(i64::MAX).unwrap_or(u64::MAX),
    })
}
