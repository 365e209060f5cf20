//! [`Outbox`] in the PostgreSQL database the nodes' ledger is in, so that
//! several gateways run one outbox: a notification enqueued on any node is
//! delivered once, by whichever node claims it first, and the feed, the
//! disabled endpoints and the `webhook-id`s received are the same on
//! every node.
//!
//! The tables are the ledger's migration 2 ([`crate::ledger::pg_schema`]).
//! Deliveries are stored as the redb outbox stores them (JSON), with the
//! columns the lookups need beside them.
//!
//! Claiming: [`Outbox::due`] reads pending deliveries and remembers the
//! due time it saw for each; [`Outbox::begin_attempts`] moves a delivery's
//! next attempt only where it still has that due time (a compare and
//! swap in one `UPDATE`), and returns only those. Two nodes that read the
//! same due delivery both try; the row lock makes the second wait for the
//! first's commit, its condition no longer holds, and it sends nothing.
//! Waking: an enqueue that added deliveries sends `NOTIFY cragate_outbox`
//! in its transaction; every node listens for it
//! ([`Outbox::subscribe`]) and its worker looks for due deliveries at
//! once, so whichever node is free claims them.
//!
//! Numbering: enqueuers lock the one row of `cragate_outbox_meta`, so
//! deliveries are numbered in commit order and a feed reader that has
//! taken number `n` can never later see a smaller one commit.

use std::collections::HashMap;
use std::sync::Mutex;

use deadpool_postgres::{GenericClient, Pool};
use jiff::Timestamp;

use super::outbox::{
    Delivery, DeliveryState, DisabledEndpoint, NewDelivery, Outbox, OutboxError, Outcome,
};
use super::redb_outbox::{UNREACHABLE, disabled_message};
use crate::ledger::{PgDatabase, pg_listen};

/// The channel an enqueue is notified on.
pub const CHANNEL: &str = "cragate_outbox";

/// The outbox in the shared database.
#[derive(Debug)]
pub struct PgOutbox {
    database: PgDatabase,
    /// Delivery number -> the due time [`Outbox::due`] last saw for it, the
    /// condition of its claim.
    seen_due: Mutex<HashMap<u64, i64>>,
}

impl PgOutbox {
    /// The outbox in `database` (its tables exist once the ledger has
    /// connected).
    pub fn new(database: PgDatabase) -> Self {
        Self {
            database,
            seen_due: Mutex::new(HashMap::new()),
        }
    }

    fn run<T, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, OutboxError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, OutboxError>> + Send + 'static,
    {
        self.database
            .block_on(work)
            .ok_or_else(|| OutboxError::Storage("the database task ended".into()))?
    }

    /// Applies `change` to each delivery of `seqs` that `claim` allows, in
    /// one transaction with the rows locked; returns those changed.
    fn update(
        &self,
        seqs: &[u64],
        claim: Claim,
        change: impl FnMut(&mut Delivery) + Send + 'static,
    ) -> Result<Vec<Delivery>, OutboxError> {
        let seqs = seqs.to_vec();
        self.run(move |pool| async move {
            let mut change = change;
            let mut client = pool.get().await.map_err(storage)?;
            let txn = client.transaction().await.map_err(storage)?;
            let mut updated = Vec::with_capacity(seqs.len());
            for seq in seqs {
                let Some(mut delivery) = locked(&txn, seq).await? else {
                    return Err(OutboxError::Unknown { seq });
                };
                if let Claim::DueAt(ref seen) = claim {
                    let now_due = due_micros(&delivery);
                    let still = match seen.get(&seq) {
                        // Seen due by this node: only if no other node
                        // moved it since.
                        Some(at) => now_due == Some(*at),
                        // Named without a look at it first: as the redb
                        // outbox, any pending delivery with a webhook.
                        None => now_due.is_some(),
                    };
                    if !still {
                        continue;
                    }
                }
                change(&mut delivery);
                if delivery.state != DeliveryState::Pending {
                    delivery.next_attempt = None;
                }
                write(&txn, &delivery).await?;
                updated.push(delivery);
            }
            txn.commit().await.map_err(storage)?;
            Ok(updated)
        })
    }
}

/// Which deliveries an update may change.
enum Claim {
    /// Every one named.
    Any,
    /// Only those still due at the time seen (delivery number -> due).
    DueAt(HashMap<u64, i64>),
}

impl Outbox for PgOutbox {
    fn enqueue(&self, new: &[NewDelivery], now: Timestamp) -> Result<Vec<Delivery>, OutboxError> {
        let new = new.to_vec();
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(storage)?;
            let mut txn = client.transaction().await.map_err(storage)?;
            let next: i64 = txn
                .query_one(
                    "SELECT next_seq FROM cragate_outbox_meta WHERE id = 1 FOR UPDATE",
                    &[],
                )
                .await
                .map_err(storage)?
                .get(0);
            let mut next = to_u64(next)?;
            let mut stored = Vec::with_capacity(new.len());
            let first = next;
            for item in new {
                let existing = txn
                    .query_opt(
                        "SELECT seq, delivery FROM cragate_outbox \
                         WHERE notification = $1 AND customer = $2",
                        &[&item.notification, &item.customer],
                    )
                    .await
                    .map_err(storage)?;
                if let Some(row) = existing {
                    stored.push(decode(to_u64(row.get(0))?, row.get(1))?);
                    continue;
                }
                let gone = disabled(&txn, &item.customer).await?;
                let delivery = enqueued(next, item, now, gone.as_ref());
                insert(&txn, &delivery).await?;
                stored.push(delivery);
                next = next.saturating_add(1);
            }
            txn.execute(
                "UPDATE cragate_outbox_meta SET next_seq = $1 WHERE id = 1",
                &[&to_i64(next)?],
            )
            .await
            .map_err(storage)?;
            if next > first {
                pg_listen::notify(&mut txn, CHANNEL)
                    .await
                    .map_err(storage)?;
            }
            txn.commit().await.map_err(storage)?;
            Ok(stored)
        })
    }

    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = self.run(move |pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let rows = client
                .query(
                    "SELECT seq, delivery FROM cragate_outbox \
                     WHERE due_us IS NOT NULL AND due_us <= $1 ORDER BY due_us, seq LIMIT $2",
                    &[&now.as_microsecond(), &limit],
                )
                .await
                .map_err(storage)?;
            rows.into_iter()
                .map(|row| decode(to_u64(row.get(0))?, row.get(1)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut seen = self
            .seen_due
            .lock()
            .map_err(|_| OutboxError::Storage("the outbox's claim table is poisoned".into()))?;
        for delivery in &found {
            if let Some(at) = due_micros(delivery) {
                seen.insert(delivery.seq, at);
            }
        }
        Ok(found)
    }

    fn next_due(&self) -> Result<Option<Timestamp>, OutboxError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let row = client
                .query_one("SELECT min(due_us) FROM cragate_outbox", &[])
                .await
                .map_err(storage)?;
            let first: Option<i64> = row.get(0);
            Ok(first.and_then(|at| Timestamp::from_microsecond(at).ok()))
        })
    }

    fn begin_attempts(
        &self,
        seqs: &[u64],
        retry_at: Timestamp,
    ) -> Result<Vec<Delivery>, OutboxError> {
        let seen: HashMap<u64, i64> = {
            let mut table = self
                .seen_due
                .lock()
                .map_err(|_| OutboxError::Storage("the outbox's claim table is poisoned".into()))?;
            seqs.iter()
                .filter_map(|seq| table.remove(seq).map(|at| (*seq, at)))
                .collect()
        };
        self.update(seqs, Claim::DueAt(seen), move |delivery| {
            if delivery.state == DeliveryState::Pending {
                delivery.attempts = delivery.attempts.saturating_add(1);
                delivery.next_attempt = Some(retry_at);
            }
        })
    }

    fn finish_attempts(&self, outcomes: &[(u64, Outcome)]) -> Result<Vec<Delivery>, OutboxError> {
        let mut updated = Vec::with_capacity(outcomes.len());
        for (seq, outcome) in outcomes {
            if let Outcome::Gone { error, at } = outcome {
                updated.push(self.disable(*seq, error.clone(), *at)?);
                continue;
            }
            let outcome = outcome.clone();
            updated.extend(self.update(&[*seq], Claim::Any, move |delivery| {
                if delivery.state != DeliveryState::Pending {
                    return;
                }
                match &outcome {
                    Outcome::Acknowledged { at } => {
                        delivery.state = DeliveryState::Delivered;
                        delivery.acknowledged_at = Some(*at);
                        delivery.last_error = None;
                    }
                    Outcome::Retry { error, next } => {
                        delivery.last_error = Some(error.clone());
                        delivery.next_attempt = Some(*next);
                    }
                    Outcome::Gone { .. } => {}
                }
            })?);
        }
        Ok(updated)
    }

    fn mark_sent_recorded(&self, seqs: &[u64]) -> Result<(), OutboxError> {
        self.update(seqs, Claim::Any, |delivery| delivery.sent_recorded = true)
            .map(|_| ())
    }

    fn deliveries(&self, notification: &str) -> Result<Vec<Delivery>, OutboxError> {
        let notification = notification.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let rows = client
                .query(
                    "SELECT seq, delivery FROM cragate_outbox WHERE notification = $1 ORDER BY seq",
                    &[&notification],
                )
                .await
                .map_err(storage)?;
            rows.into_iter()
                .map(|row| decode(to_u64(row.get(0))?, row.get(1)))
                .collect()
        })
    }

    fn feed(&self, customer: &str, after: u64, limit: usize) -> Result<Vec<Delivery>, OutboxError> {
        let customer = customer.to_owned();
        let after = to_i64(after)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let rows = client
                .query(
                    "SELECT seq, delivery FROM cragate_outbox \
                     WHERE customer = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[&customer, &after, &limit],
                )
                .await
                .map_err(storage)?;
            rows.into_iter()
                .map(|row| decode(to_u64(row.get(0))?, row.get(1)))
                .collect()
        })
    }

    fn disabled_endpoints(&self) -> Result<Vec<DisabledEndpoint>, OutboxError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let rows = client
                .query(
                    "SELECT endpoint FROM cragate_disabled_endpoints ORDER BY customer",
                    &[],
                )
                .await
                .map_err(storage)?;
            rows.into_iter()
                .map(|row| decode_endpoint(row.get(0)))
                .collect()
        })
    }

    fn was_received(&self, supplier: &str, webhook_id: &str) -> Result<bool, OutboxError> {
        let (supplier, webhook_id) = (supplier.to_owned(), webhook_id.to_owned());
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let row = client
                .query_opt(
                    "SELECT 1 FROM cragate_webhooks_received WHERE supplier = $1 AND webhook_id = $2",
                    &[&supplier, &webhook_id],
                )
                .await
                .map_err(storage)?;
            Ok(row.is_some())
        })
    }

    fn feed_cursor(&self, supplier: &str) -> Result<u64, OutboxError> {
        let supplier = supplier.to_owned();
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let row = client
                .query_opt(
                    "SELECT seq FROM cragate_feed_cursors WHERE supplier = $1",
                    &[&supplier],
                )
                .await
                .map_err(storage)?;
            row.map_or(Ok(0), |row| to_u64(row.get(0)))
        })
    }

    fn set_feed_cursor(&self, supplier: &str, seq: u64) -> Result<(), OutboxError> {
        let supplier = supplier.to_owned();
        let seq = to_i64(seq)?;
        self.run(move |pool| async move {
            let client = pool.get().await.map_err(storage)?;
            // Cursors only move forward, whichever node polled last.
            client
                .execute(
                    "INSERT INTO cragate_feed_cursors (supplier, seq) VALUES ($1, $2) \
                     ON CONFLICT (supplier) DO UPDATE \
                     SET seq = greatest(cragate_feed_cursors.seq, excluded.seq)",
                    &[&supplier, &seq],
                )
                .await
                .map_err(storage)?;
            Ok(())
        })
    }

    fn remember_received(
        &self,
        supplier: &str,
        webhook_id: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool, OutboxError> {
        let (supplier, webhook_id) = (supplier.to_owned(), webhook_id.to_owned());
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(storage)?;
            let txn = client.transaction().await.map_err(storage)?;
            let inserted = txn
                .execute(
                    "INSERT INTO cragate_webhooks_received (supplier, webhook_id, received_us) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&supplier, &webhook_id, &now.as_microsecond()],
                )
                .await
                .map_err(storage)?;
            txn.execute(
                "DELETE FROM cragate_webhooks_received WHERE received_us < $1",
                &[&forget_before.as_microsecond()],
            )
            .await
            .map_err(storage)?;
            txn.commit().await.map_err(storage)?;
            Ok(inserted == 1)
        })
    }

    fn subscribe(&self, queued: Box<dyn FnMut() -> bool + Send>) {
        self.database.listen(CHANNEL, queued);
    }

    fn len(&self) -> Result<u64, OutboxError> {
        self.run(|pool| async move {
            let client = pool.get().await.map_err(storage)?;
            let row = client
                .query_one("SELECT count(*) FROM cragate_outbox", &[])
                .await
                .map_err(storage)?;
            to_u64(row.get(0))
        })
    }
}

impl PgOutbox {
    /// `410 Gone`: the endpoint is disabled; this delivery and every other
    /// pending one to the same endpoint become `disabled`, and later ones
    /// are stored `disabled` (as [`super::redb_outbox::RedbOutbox`] does).
    fn disable(&self, seq: u64, error: String, at: Timestamp) -> Result<Delivery, OutboxError> {
        self.run(move |pool| async move {
            let mut client = pool.get().await.map_err(storage)?;
            let txn = client.transaction().await.map_err(storage)?;
            let this = locked(&txn, seq)
                .await?
                .ok_or(OutboxError::Unknown { seq })?;
            let endpoint = DisabledEndpoint {
                customer: this.new.customer.clone(),
                endpoint: this.new.endpoint.clone().unwrap_or_default(),
                reason: error,
                at,
            };
            let encoded = serde_json::to_vec(&endpoint).map_err(|e| OutboxError::Damaged {
                seq,
                reason: e.to_string(),
            })?;
            txn.execute(
                "INSERT INTO cragate_disabled_endpoints (customer, endpoint) VALUES ($1, $2) \
                 ON CONFLICT (customer) DO UPDATE SET endpoint = excluded.endpoint",
                &[&endpoint.customer, &encoded],
            )
            .await
            .map_err(storage)?;
            let message = disabled_message(&endpoint);
            let rows = txn
                .query(
                    "SELECT seq, delivery FROM cragate_outbox \
                     WHERE customer = $1 AND due_us IS NOT NULL ORDER BY seq FOR UPDATE",
                    &[&endpoint.customer],
                )
                .await
                .map_err(storage)?;
            for row in rows {
                let mut delivery = decode(to_u64(row.get(0))?, row.get(1))?;
                if delivery.new.endpoint.as_deref() != Some(endpoint.endpoint.as_str()) {
                    continue;
                }
                delivery.state = DeliveryState::Disabled;
                delivery.next_attempt = None;
                delivery.last_error = Some(message.clone());
                write(&txn, &delivery).await?;
            }
            let result = locked(&txn, seq)
                .await?
                .ok_or(OutboxError::Unknown { seq })?;
            txn.commit().await.map_err(storage)?;
            Ok(result)
        })
    }
}

/// A new delivery as stored: pending and due now when it has a webhook,
/// `unreachable` without a `[[customers]]` entry, `disabled` when its
/// endpoint answered `410` before.
fn enqueued(
    seq: u64,
    item: NewDelivery,
    now: Timestamp,
    gone: Option<&DisabledEndpoint>,
) -> Delivery {
    let next_attempt = item.endpoint.as_ref().map(|_| now);
    let mut delivery = Delivery {
        seq,
        new: item,
        state: DeliveryState::Pending,
        attempts: 0,
        last_error: None,
        enqueued_at: now,
        next_attempt,
        acknowledged_at: None,
        sent_recorded: false,
    };
    if delivery.new.unreachable {
        delivery.state = DeliveryState::Unreachable;
        delivery.next_attempt = None;
        delivery.last_error = Some(UNREACHABLE.to_owned());
    } else if let Some(gone) = gone
        && delivery.new.endpoint.as_deref() == Some(gone.endpoint.as_str())
    {
        delivery.state = DeliveryState::Disabled;
        delivery.next_attempt = None;
        delivery.last_error = Some(disabled_message(gone));
    }
    delivery
}

/// When a delivery is due, for the due index: pending deliveries with a
/// webhook only.
fn due_micros(delivery: &Delivery) -> Option<i64> {
    if delivery.state == DeliveryState::Pending && delivery.new.endpoint.is_some() {
        delivery.next_attempt.map(|at| at.as_microsecond())
    } else {
        None
    }
}

async fn locked(client: &impl GenericClient, seq: u64) -> Result<Option<Delivery>, OutboxError> {
    let row = client
        .query_opt(
            "SELECT delivery FROM cragate_outbox WHERE seq = $1 FOR UPDATE",
            &[&to_i64(seq)?],
        )
        .await
        .map_err(storage)?;
    row.map(|row| decode(seq, row.get(0))).transpose()
}

async fn disabled(
    client: &impl GenericClient,
    customer: &str,
) -> Result<Option<DisabledEndpoint>, OutboxError> {
    let row = client
        .query_opt(
            "SELECT endpoint FROM cragate_disabled_endpoints WHERE customer = $1",
            &[&customer],
        )
        .await
        .map_err(storage)?;
    row.map(|row| decode_endpoint(row.get(0))).transpose()
}

async fn insert(client: &impl GenericClient, delivery: &Delivery) -> Result<(), OutboxError> {
    client
        .execute(
            "INSERT INTO cragate_outbox (seq, notification, customer, due_us, delivery) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &to_i64(delivery.seq)?,
                &delivery.new.notification,
                &delivery.new.customer,
                &due_micros(delivery),
                &encode(delivery)?,
            ],
        )
        .await
        .map_err(storage)?;
    Ok(())
}

async fn write(client: &impl GenericClient, delivery: &Delivery) -> Result<(), OutboxError> {
    client
        .execute(
            "UPDATE cragate_outbox SET due_us = $2, delivery = $3 WHERE seq = $1",
            &[
                &to_i64(delivery.seq)?,
                &due_micros(delivery),
                &encode(delivery)?,
            ],
        )
        .await
        .map_err(storage)?;
    Ok(())
}

fn encode(delivery: &Delivery) -> Result<Vec<u8>, OutboxError> {
    serde_json::to_vec(delivery).map_err(|e| OutboxError::Damaged {
        seq: delivery.seq,
        reason: e.to_string(),
    })
}

fn decode(seq: u64, bytes: Vec<u8>) -> Result<Delivery, OutboxError> {
    serde_json::from_slice(&bytes).map_err(|e| OutboxError::Damaged {
        seq,
        reason: e.to_string(),
    })
}

fn decode_endpoint(bytes: Vec<u8>) -> Result<DisabledEndpoint, OutboxError> {
    serde_json::from_slice(&bytes).map_err(|e| OutboxError::Damaged {
        seq: 0,
        reason: format!("a disabled endpoint: {e}"),
    })
}

fn to_u64(value: i64) -> Result<u64, OutboxError> {
    u64::try_from(value).map_err(|_| OutboxError::Storage(format!("negative number {value}")))
}

fn to_i64(value: u64) -> Result<i64, OutboxError> {
    i64::try_from(value).map_err(|_| OutboxError::Storage(format!("number {value} out of range")))
}

fn storage(error: impl std::fmt::Display) -> OutboxError {
    OutboxError::Storage(error.to_string())
}
