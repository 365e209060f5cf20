//! [`AcceptedStore`] in the PostgreSQL database the nodes' ledger is in,
//! so that an artifact accepted through one gateway is served by every
//! gateway sharing the database.
//!
//! The tables are the ledger's migration 4 ([`crate::ledger::pg_schema`]):
//! `cragate_accepted`, one row per accepted listing (its sequence, its
//! product, its text), and `cragate_accepted_meta`, one row holding the
//! sequence of the last listing stored. An append locks that row, numbers
//! its listing one past it and sends `NOTIFY cragate_accepted` in the same
//! transaction, so listings are numbered in commit order: a node that
//! read every listing up to one sequence and reads those above it later
//! never misses one committed in between. Each node listens for the
//! notification on a connection of its own ([`AcceptedStore::subscribe`])
//! and polls the last sequence in any case
//! ([`super::index::AcceptedIndex::watch`]). On start, the listings a later
//! one of the same product replaced are deleted, as the file store keeps
//! one line per product.

use deadpool_postgres::Pool;

use super::index::{AcceptedStore, StoredListing};
use crate::ledger::{PgDatabase, pg_listen};

/// The channel an appended listing is notified on.
pub const CHANNEL: &str = "cragate_accepted";

/// Accepted listings in the shared database.
#[derive(Debug)]
pub struct PgAcceptedStore {
    database: PgDatabase,
}

impl PgAcceptedStore {
    /// The store in `database` (its tables exist once the ledger has
    /// connected).
    pub fn new(database: PgDatabase) -> Self {
        Self { database }
    }

    fn run<T, F>(&self, work: impl FnOnce(Pool) -> F) -> std::io::Result<T>
    where
        T: Send + 'static,
        F: Future<Output = std::io::Result<T>> + Send + 'static,
    {
        self.database
            .block_on(work)
            .ok_or_else(|| shared("the database task ended"))?
    }
}

impl AcceptedStore for PgAcceptedStore {
    fn latest(&self) -> std::io::Result<Vec<StoredListing>> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(shared)?;
            client
                .execute(
                    "DELETE FROM cragate_accepted AS old WHERE EXISTS \
                     (SELECT 1 FROM cragate_accepted AS new \
                      WHERE new.product = old.product AND new.seq > old.seq)",
                    &[],
                )
                .await
                .map_err(shared)?;
            let rows = client
                .query(
                    "SELECT seq, product, listing FROM \
                     (SELECT DISTINCT ON (product) seq, product, listing \
                      FROM cragate_accepted ORDER BY product, seq DESC) AS last \
                     ORDER BY seq",
                    &[],
                )
                .await
                .map_err(shared)?;
            rows.into_iter().map(|row| stored(&row)).collect()
        })
    }

    fn append(&self, product: &str, listing: &str) -> std::io::Result<u64> {
        let product = product.to_owned();
        let listing = listing.to_owned();
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(shared)?;
            let mut txn = client.transaction().await.map_err(shared)?;
            let seq: i64 = txn
                .query_one(
                    "UPDATE cragate_accepted_meta SET last_seq = last_seq + 1 WHERE id = 1 \
                     RETURNING last_seq",
                    &[],
                )
                .await
                .map_err(shared)?
                .try_get(0)
                .map_err(shared)?;
            txn.execute(
                "INSERT INTO cragate_accepted (seq, product, listing) VALUES ($1, $2, $3)",
                &[&seq, &product, &listing],
            )
            .await
            .map_err(shared)?;
            pg_listen::notify(&mut txn, CHANNEL).await.map_err(shared)?;
            txn.commit().await.map_err(shared)?;
            to_u64(seq)
        })
    }

    fn since(&self, seq: u64) -> std::io::Result<Vec<StoredListing>> {
        let after = to_i64(seq)?;
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(shared)?;
            let rows = client
                .query(
                    "SELECT seq, product, listing FROM cragate_accepted WHERE seq > $1 \
                     ORDER BY seq",
                    &[&after],
                )
                .await
                .map_err(shared)?;
            rows.into_iter().map(|row| stored(&row)).collect()
        })
    }

    fn version(&self) -> std::io::Result<u64> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(shared)?;
            let row = client
                .query_one(
                    "SELECT last_seq FROM cragate_accepted_meta WHERE id = 1",
                    &[],
                )
                .await
                .map_err(shared)?;
            to_u64(row.try_get(0).map_err(shared)?)
        })
    }

    fn subscribe(&self, changed: Box<dyn FnMut() -> bool + Send>) {
        self.database.listen(CHANNEL, changed);
    }
}

/// A row of `cragate_accepted`.
fn stored(row: &tokio_postgres::Row) -> std::io::Result<StoredListing> {
    Ok(StoredListing {
        seq: to_u64(row.try_get(0).map_err(shared)?)?,
        product: row.try_get(1).map_err(shared)?,
        listing: row.try_get(2).map_err(shared)?,
    })
}

fn to_u64(value: i64) -> std::io::Result<u64> {
    u64::try_from(value).map_err(|_| shared(format!("negative sequence {value}")))
}

fn to_i64(value: u64) -> std::io::Result<i64> {
    i64::try_from(value).map_err(|_| shared(format!("sequence {value} out of range")))
}

/// An error of the shared store, saying where.
fn shared(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!(
        "accepted listings (shared database, table cragate_accepted): {error}"
    ))
}
