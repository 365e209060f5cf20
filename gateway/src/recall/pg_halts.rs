//! [`HaltStore`] in the PostgreSQL database the nodes' ledger is in, so
//! that a notice accepted by one gateway is in force on every gateway
//! sharing the database (DESIGN.md, "Scale": within a second).
//!
//! The tables are the ledger's migration 3 ([`crate::ledger::pg_schema`]):
//! notices as `halts.redb` stores them (JSON), each issuer's last
//! sequence, and a version counter that every change moves in the same
//! transaction. Each node polls the counter ([`super::Halts::watch`]) and
//! reads the notices again when it moved; a change also sends
//! `NOTIFY cragate_halts`, which each node listens for on a connection of
//! its own ([`HaltStore::subscribe`]) to read them at once instead of at
//! its next poll.
//!
//! Acceptance of one issuer's notices is serialised across nodes by a
//! PostgreSQL advisory lock on the issuer, held from the sequence check to
//! the stored notice ([`HaltStore::lock_issuer`]), so two nodes given the
//! same notice record it once and refuse the other as a replay. The lock
//! is a session lock on a connection kept for the purpose; if the node
//! dies, its session ends and the lock with it.

use deadpool_postgres::Pool;

use super::store::{HaltStore, IssuerLock, StoreError, StoredHalt};
use crate::ledger::{PgDatabase, pg_listen};

/// The channel a change of the halts is notified on.
pub const CHANNEL: &str = "cragate_halts";

/// Key space of the advisory locks on issuers (distinct from the
/// migration lock's key): the issuer's `hashtext` is the second key.
const ISSUER_LOCK_SPACE: i32 = 0x6861_6c74; // "halt"

/// Halt state in the shared database.
#[derive(Debug)]
pub struct PgHaltStore {
    database: PgDatabase,
}

impl PgHaltStore {
    /// The store in `database` (its tables exist once the ledger has
    /// connected).
    pub fn new(database: PgDatabase) -> Self {
        Self { database }
    }

    fn run<T, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.database
            .block_on(work)
            .ok_or_else(|| StoreError::Shared("the database task ended".into()))?
    }
}

impl HaltStore for PgHaltStore {
    fn last_sequence(&self, issuer: &str) -> Result<Option<u64>, StoreError> {
        let issuer = issuer.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(shared)?;
            let row = client
                .query_opt(
                    "SELECT last FROM cragate_halt_sequences WHERE issuer = $1",
                    &[&issuer],
                )
                .await
                .map_err(shared)?;
            row.map(|row| to_u64(row.get(0))).transpose()
        })
    }

    fn put(&self, halt: &StoredHalt, lifts: &[u64]) -> Result<(), StoreError> {
        let halt = halt.clone();
        let lifts = lifts.to_vec();
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(shared)?;
            let mut txn = client.transaction().await.map_err(shared)?;
            let sequence = to_i64(halt.sequence)?;
            let last = txn
                .query_opt(
                    "SELECT last FROM cragate_halt_sequences WHERE issuer = $1 FOR UPDATE",
                    &[&halt.issuer],
                )
                .await
                .map_err(shared)?;
            if let Some(row) = last {
                let last: i64 = row.get(0);
                if last >= sequence {
                    return Err(StoreError::Stale {
                        issuer: halt.issuer.clone(),
                        last: to_u64(last)?,
                    });
                }
            }
            for lifted in lifts {
                let row = txn
                    .query_opt(
                        "SELECT halt FROM cragate_halts WHERE issuer = $1 AND sequence = $2 \
                         FOR UPDATE",
                        &[&halt.issuer, &to_i64(lifted)?],
                    )
                    .await
                    .map_err(shared)?;
                let Some(row) = row else { continue };
                let mut earlier = decode(row.get(0))?;
                if earlier.lifted_by.is_none() {
                    earlier.lifted_by = Some(halt.sequence);
                    txn.execute(
                        "UPDATE cragate_halts SET halt = $3 WHERE issuer = $1 AND sequence = $2",
                        &[&halt.issuer, &to_i64(lifted)?, &encode(&earlier)?],
                    )
                    .await
                    .map_err(shared)?;
                }
            }
            txn.execute(
                "INSERT INTO cragate_halts (issuer, sequence, halt) VALUES ($1, $2, $3)",
                &[&halt.issuer, &sequence, &encode(&halt)?],
            )
            .await
            .map_err(shared)?;
            txn.execute(
                "INSERT INTO cragate_halt_sequences (issuer, last) VALUES ($1, $2) \
                 ON CONFLICT (issuer) DO UPDATE SET last = excluded.last",
                &[&halt.issuer, &sequence],
            )
            .await
            .map_err(shared)?;
            txn.execute(
                "UPDATE cragate_halt_version SET version = version + 1 WHERE id = 1",
                &[],
            )
            .await
            .map_err(shared)?;
            pg_listen::notify(&mut txn, CHANNEL).await.map_err(shared)?;
            txn.commit().await.map_err(shared)?;
            Ok(())
        })
    }

    fn all(&self) -> Result<Vec<StoredHalt>, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(shared)?;
            let rows = client
                .query(
                    "SELECT halt FROM cragate_halts ORDER BY issuer, sequence",
                    &[],
                )
                .await
                .map_err(shared)?;
            rows.into_iter().map(|row| decode(row.get(0))).collect()
        })
    }

    fn one(&self, issuer: &str, sequence: u64) -> Result<Option<StoredHalt>, StoreError> {
        let issuer = issuer.to_owned();
        let sequence = to_i64(sequence)?;
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(shared)?;
            let row = client
                .query_opt(
                    "SELECT halt FROM cragate_halts WHERE issuer = $1 AND sequence = $2",
                    &[&issuer, &sequence],
                )
                .await
                .map_err(shared)?;
            row.map(|row| decode(row.get(0))).transpose()
        })
    }

    fn version(&self) -> Result<u64, StoreError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(shared)?;
            let row = client
                .query_one("SELECT version FROM cragate_halt_version WHERE id = 1", &[])
                .await
                .map_err(shared)?;
            to_u64(row.get(0))
        })
    }

    fn lock_issuer(&self, issuer: &str) -> Result<IssuerLock, StoreError> {
        let issuer = issuer.to_owned();
        let client = self.run(move |pool| async move {
            let client = pool.get().await.map_err(shared)?;
            client
                .execute(
                    "SELECT pg_advisory_lock($1, hashtext($2))",
                    &[&ISSUER_LOCK_SPACE, &issuer],
                )
                .await
                .map_err(shared)?;
            Ok(client)
        })?;
        Ok(IssuerLock::held(Box::new(Unlock {
            client: Some(client),
            database: self.database.clone(),
        })))
    }

    fn subscribe(&self, changed: Box<dyn FnMut() -> bool + Send>) {
        self.database.listen(CHANNEL, changed);
    }
}

/// Releases the session's advisory locks when dropped, before its
/// connection goes back to the pool.
struct Unlock {
    client: Option<deadpool_postgres::Client>,
    database: PgDatabase,
}

impl Drop for Unlock {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.database.spawn(async move {
                if client
                    .execute("SELECT pg_advisory_unlock_all()", &[])
                    .await
                    .is_err()
                {
                    // The lock cannot be released on this session: end the
                    // session instead of returning it to the pool.
                    let _ = deadpool_postgres::Object::take(client);
                }
            });
        }
    }
}

fn encode(halt: &StoredHalt) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(halt).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode(bytes: Vec<u8>) -> Result<StoredHalt, StoreError> {
    serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative number {value}")))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("number {value} out of range")))
}

fn shared(error: impl std::fmt::Display) -> StoreError {
    StoreError::Shared(error.to_string())
}
