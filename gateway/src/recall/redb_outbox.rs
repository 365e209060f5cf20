//! [`Outbox`] in one redb file, `recall.redb` in the data directory. Every
//! write commits with [`Durability::Immediate`] before it returns.
//!
//! Tables: deliveries by sequence number (JSON values), an index of pending
//! webhook deliveries by due time, one of deliveries by
//! `(notification, customer)`, the endpoints disabled by a `410`, and the
//! `webhook-id`s received (against replay).

use std::path::Path;

use jiff::Timestamp;
use redb::backends::InMemoryBackend;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};

use super::outbox::{
    Delivery, DeliveryState, DisabledEndpoint, NewDelivery, Outbox, OutboxError, Outcome,
};

/// Version of this layout; a file of another version is refused.
pub const SCHEMA_VERSION: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const META_SCHEMA: &str = "schema_version";
const META_NEXT_SEQ: &str = "next_seq";
/// Sequence number → the delivery, JSON.
const DELIVERIES: TableDefinition<u64, &[u8]> = TableDefinition::new("deliveries");
/// `(due, in microseconds since the epoch; sequence number)` → nothing, for
/// pending deliveries that have a webhook.
const DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("due");
/// `notification \0 customer` → sequence number.
const BY_KEY: TableDefinition<&str, u64> = TableDefinition::new("by_key");
/// Customer → the endpoint disabled, JSON.
const DISABLED: TableDefinition<&str, &[u8]> = TableDefinition::new("disabled");
/// `supplier \0 webhook-id` → when it was received, microseconds.
const RECEIVED: TableDefinition<&str, i64> = TableDefinition::new("received");
/// Supplier → the last sequence number of its feed taken.
const CURSORS: TableDefinition<&str, u64> = TableDefinition::new("feed_cursors");

/// The outbox in a redb file.
#[derive(Debug)]
pub struct RedbOutbox {
    db: Database,
}

impl RedbOutbox {
    /// Opens (or creates) the outbox file.
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        let db = Database::builder().create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => {
                OutboxError::Storage(format!("{} is open in another process", path.display()))
            }
            other => OutboxError::Storage(format!("{}: {other}", path.display())),
        })?;
        Self::init(db)
    }

    /// An outbox in memory, for tests.
    pub fn in_memory() -> Result<Self, OutboxError> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(storage)?;
        Self::init(db)
    }

    fn init(db: Database) -> Result<Self, OutboxError> {
        let txn = db.begin_write().map_err(storage)?;
        {
            let mut meta = txn.open_table(META).map_err(storage)?;
            let found = meta.get(META_SCHEMA).map_err(storage)?.map(|v| v.value());
            match found {
                None => {
                    meta.insert(META_SCHEMA, SCHEMA_VERSION).map_err(storage)?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(found) => {
                    return Err(OutboxError::Schema {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            txn.open_table(DELIVERIES).map_err(storage)?;
            txn.open_table(DUE).map_err(storage)?;
            txn.open_table(BY_KEY).map_err(storage)?;
            txn.open_table(DISABLED).map_err(storage)?;
            txn.open_table(RECEIVED).map_err(storage)?;
            txn.open_table(CURSORS).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(Self { db })
    }

    fn write(&self) -> Result<WriteTransaction, OutboxError> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        Ok(txn)
    }

    /// Applies `change` to each delivery of `seqs` in one commit, keeping
    /// the due index in step.
    fn update(
        &self,
        seqs: &[u64],
        mut change: impl FnMut(&mut Delivery),
    ) -> Result<Vec<Delivery>, OutboxError> {
        let txn = self.write()?;
        let mut updated = Vec::with_capacity(seqs.len());
        {
            let mut deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
            let mut due = txn.open_table(DUE).map_err(storage)?;
            for &seq in seqs {
                let mut delivery = read(&deliveries, seq)?.ok_or(OutboxError::Unknown { seq })?;
                if let Some(at) = delivery.next_attempt {
                    due.remove((micros(at), seq)).map_err(storage)?;
                }
                change(&mut delivery);
                if delivery.state != DeliveryState::Pending {
                    delivery.next_attempt = None;
                }
                store(&mut deliveries, &mut due, &delivery)?;
                updated.push(delivery);
            }
        }
        txn.commit().map_err(storage)?;
        Ok(updated)
    }
}

impl Outbox for RedbOutbox {
    fn enqueue(&self, new: &[NewDelivery], now: Timestamp) -> Result<Vec<Delivery>, OutboxError> {
        let txn = self.write()?;
        let mut stored = Vec::with_capacity(new.len());
        {
            let mut meta = txn.open_table(META).map_err(storage)?;
            let mut deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
            let mut due = txn.open_table(DUE).map_err(storage)?;
            let mut by_key = txn.open_table(BY_KEY).map_err(storage)?;
            let disabled = txn.open_table(DISABLED).map_err(storage)?;
            let mut next = meta
                .get(META_NEXT_SEQ)
                .map_err(storage)?
                .map_or(1, |v| v.value());
            for item in new {
                let key = format!("{}\0{}", item.notification, item.customer);
                let existing = by_key
                    .get(key.as_str())
                    .map_err(storage)?
                    .map(|v| v.value());
                if let Some(seq) = existing {
                    stored.push(read(&deliveries, seq)?.ok_or(OutboxError::Unknown { seq })?);
                    continue;
                }
                let gone = disabled
                    .get(item.customer.as_str())
                    .map_err(storage)?
                    .and_then(|v| serde_json::from_slice::<DisabledEndpoint>(v.value()).ok());
                let seq = next;
                next = next.saturating_add(1);
                let mut delivery = Delivery {
                    seq,
                    new: item.clone(),
                    state: DeliveryState::Pending,
                    attempts: 0,
                    last_error: None,
                    enqueued_at: now,
                    next_attempt: item.endpoint.as_ref().map(|_| now),
                    acknowledged_at: None,
                    sent_recorded: false,
                };
                if item.unreachable {
                    delivery.state = DeliveryState::Unreachable;
                    delivery.next_attempt = None;
                    delivery.last_error = Some(UNREACHABLE.to_owned());
                } else if let Some(gone) = gone
                    && item.endpoint.as_deref() == Some(gone.endpoint.as_str())
                {
                    delivery.state = DeliveryState::Disabled;
                    delivery.next_attempt = None;
                    delivery.last_error = Some(disabled_message(&gone));
                }
                store(&mut deliveries, &mut due, &delivery)?;
                by_key.insert(key.as_str(), seq).map_err(storage)?;
                stored.push(delivery);
            }
            meta.insert(META_NEXT_SEQ, next).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(stored)
    }

    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let due = txn.open_table(DUE).map_err(storage)?;
        let deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
        let mut found = Vec::new();
        for row in due.range(..=(micros(now), u64::MAX)).map_err(storage)? {
            if found.len() >= limit {
                break;
            }
            let (key, _) = row.map_err(storage)?;
            let (_, seq) = key.value();
            if let Some(delivery) = read(&deliveries, seq)? {
                found.push(delivery);
            }
        }
        Ok(found)
    }

    fn next_due(&self) -> Result<Option<Timestamp>, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let due = txn.open_table(DUE).map_err(storage)?;
        let first = due.first().map_err(storage)?;
        Ok(first.and_then(|(key, _)| Timestamp::from_microsecond(key.value().0).ok()))
    }

    fn begin_attempts(
        &self,
        seqs: &[u64],
        retry_at: Timestamp,
    ) -> Result<Vec<Delivery>, OutboxError> {
        self.update(seqs, |delivery| {
            if delivery.state == DeliveryState::Pending {
                delivery.attempts = delivery.attempts.saturating_add(1);
                delivery.next_attempt = Some(retry_at);
            }
        })
    }

    fn finish_attempts(&self, outcomes: &[(u64, Outcome)]) -> Result<Vec<Delivery>, OutboxError> {
        let mut updated = Vec::with_capacity(outcomes.len());
        let (gone, other): (Vec<_>, Vec<_>) = outcomes
            .iter()
            .partition(|(_, outcome)| matches!(outcome, Outcome::Gone { .. }));
        let seqs: Vec<u64> = other.iter().map(|(seq, _)| *seq).collect();
        let mut next = other.iter().map(|(_, outcome)| outcome);
        updated.extend(self.update(&seqs, |delivery| {
            if delivery.state != DeliveryState::Pending {
                next.next();
                return;
            }
            match next.next() {
                Some(Outcome::Acknowledged { at }) => {
                    delivery.state = DeliveryState::Delivered;
                    delivery.acknowledged_at = Some(*at);
                    delivery.last_error = None;
                }
                Some(Outcome::Retry { error, next }) => {
                    delivery.last_error = Some(error.clone());
                    delivery.next_attempt = Some(*next);
                }
                Some(Outcome::Gone { .. }) | None => {}
            }
        })?);
        for (seq, outcome) in gone {
            if let Outcome::Gone { error, at } = outcome {
                updated.push(self.disable(*seq, error, *at)?);
            }
        }
        Ok(updated)
    }

    fn mark_sent_recorded(&self, seqs: &[u64]) -> Result<(), OutboxError> {
        self.update(seqs, |delivery| delivery.sent_recorded = true)
            .map(|_| ())
    }

    fn deliveries(&self, notification: &str) -> Result<Vec<Delivery>, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let by_key = txn.open_table(BY_KEY).map_err(storage)?;
        let deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
        let start = format!("{notification}\0");
        let end = format!("{notification}\u{1}");
        let mut found = Vec::new();
        for row in by_key
            .range(start.as_str()..end.as_str())
            .map_err(storage)?
        {
            let (_, seq) = row.map_err(storage)?;
            if let Some(delivery) = read(&deliveries, seq.value())? {
                found.push(delivery);
            }
        }
        found.sort_by_key(|d| d.seq);
        Ok(found)
    }

    fn feed(&self, customer: &str, after: u64, limit: usize) -> Result<Vec<Delivery>, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
        let mut found = Vec::new();
        for row in deliveries
            .range(after.saturating_add(1)..)
            .map_err(storage)?
        {
            if found.len() >= limit {
                break;
            }
            let (seq, bytes) = row.map_err(storage)?;
            let delivery = decode(seq.value(), bytes.value())?;
            if delivery.new.customer == customer {
                found.push(delivery);
            }
        }
        Ok(found)
    }

    fn disabled_endpoints(&self) -> Result<Vec<DisabledEndpoint>, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let disabled = txn.open_table(DISABLED).map_err(storage)?;
        let mut found = Vec::new();
        for row in disabled.iter().map_err(storage)? {
            let (_, bytes) = row.map_err(storage)?;
            let endpoint =
                serde_json::from_slice(bytes.value()).map_err(|e| OutboxError::Damaged {
                    seq: 0,
                    reason: format!("a disabled endpoint: {e}"),
                })?;
            found.push(endpoint);
        }
        Ok(found)
    }

    fn was_received(&self, supplier: &str, webhook_id: &str) -> Result<bool, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let received = txn.open_table(RECEIVED).map_err(storage)?;
        let key = format!("{supplier}\0{webhook_id}");
        Ok(received.get(key.as_str()).map_err(storage)?.is_some())
    }

    fn feed_cursor(&self, supplier: &str) -> Result<u64, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let cursors = txn.open_table(CURSORS).map_err(storage)?;
        Ok(cursors
            .get(supplier)
            .map_err(storage)?
            .map_or(0, |v| v.value()))
    }

    fn set_feed_cursor(&self, supplier: &str, seq: u64) -> Result<(), OutboxError> {
        let txn = self.write()?;
        {
            let mut cursors = txn.open_table(CURSORS).map_err(storage)?;
            cursors.insert(supplier, seq).map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    fn remember_received(
        &self,
        supplier: &str,
        webhook_id: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool, OutboxError> {
        let txn = self.write()?;
        let new = {
            let mut received = txn.open_table(RECEIVED).map_err(storage)?;
            let key = format!("{supplier}\0{webhook_id}");
            let new = received.get(key.as_str()).map_err(storage)?.is_none();
            if new {
                received
                    .insert(key.as_str(), micros(now))
                    .map_err(storage)?;
            }
            let cutoff = micros(forget_before);
            received.retain(|_, at| at >= cutoff).map_err(storage)?;
            new
        };
        txn.commit().map_err(storage)?;
        Ok(new)
    }

    fn len(&self) -> Result<u64, OutboxError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
        deliveries.len().map_err(storage)
    }
}

impl RedbOutbox {
    /// `410 Gone`: the endpoint is disabled; this delivery and every other
    /// pending one to the same endpoint become `disabled`, and later ones
    /// are stored `disabled`.
    fn disable(&self, seq: u64, error: &str, at: Timestamp) -> Result<Delivery, OutboxError> {
        let txn = self.write()?;
        let result = {
            let mut deliveries = txn.open_table(DELIVERIES).map_err(storage)?;
            let mut due = txn.open_table(DUE).map_err(storage)?;
            let mut disabled = txn.open_table(DISABLED).map_err(storage)?;
            let this = read(&deliveries, seq)?.ok_or(OutboxError::Unknown { seq })?;
            let endpoint = DisabledEndpoint {
                customer: this.new.customer.clone(),
                endpoint: this.new.endpoint.clone().unwrap_or_default(),
                reason: error.to_owned(),
                at,
            };
            let encoded = serde_json::to_vec(&endpoint).unwrap_or_default();
            disabled
                .insert(endpoint.customer.as_str(), encoded.as_slice())
                .map_err(storage)?;
            let message = disabled_message(&endpoint);
            let pending: Vec<(i64, u64)> = due
                .iter()
                .map_err(storage)?
                .filter_map(Result::ok)
                .map(|(key, _)| key.value())
                .collect();
            let mut result = None;
            for (when, other) in pending {
                let Some(mut delivery) = read(&deliveries, other)? else {
                    continue;
                };
                if delivery.new.customer != endpoint.customer
                    || delivery.new.endpoint.as_deref() != Some(endpoint.endpoint.as_str())
                {
                    continue;
                }
                due.remove((when, other)).map_err(storage)?;
                delivery.state = DeliveryState::Disabled;
                delivery.next_attempt = None;
                delivery.last_error = Some(message.clone());
                store(&mut deliveries, &mut due, &delivery)?;
                if other == seq {
                    result = Some(delivery);
                }
            }
            match result {
                Some(delivery) => delivery,
                None => read(&deliveries, seq)?.ok_or(OutboxError::Unknown { seq })?,
            }
        };
        txn.commit().map_err(storage)?;
        Ok(result)
    }
}

/// What a delivery to a customer without configuration says.
pub(super) const UNREACHABLE: &str = "the ledger names this customer but no [[customers]] entry does: tell it by other means, or configure it";

/// What a delivery to a disabled endpoint says.
pub(super) fn disabled_message(endpoint: &DisabledEndpoint) -> String {
    format!(
        "endpoint {} disabled: it answered 410 Gone at {} ({}); fix [[customers]] and re-enable it",
        endpoint.endpoint, endpoint.at, endpoint.reason
    )
}

fn store(
    deliveries: &mut redb::Table<u64, &[u8]>,
    due: &mut redb::Table<(i64, u64), ()>,
    delivery: &Delivery,
) -> Result<(), OutboxError> {
    let bytes = serde_json::to_vec(delivery).map_err(|e| OutboxError::Damaged {
        seq: delivery.seq,
        reason: e.to_string(),
    })?;
    deliveries
        .insert(delivery.seq, bytes.as_slice())
        .map_err(storage)?;
    if delivery.state == DeliveryState::Pending
        && delivery.new.endpoint.is_some()
        && let Some(at) = delivery.next_attempt
    {
        due.insert((micros(at), delivery.seq), ())
            .map_err(storage)?;
    }
    Ok(())
}

fn read(
    deliveries: &impl ReadableTable<u64, &'static [u8]>,
    seq: u64,
) -> Result<Option<Delivery>, OutboxError> {
    match deliveries.get(seq).map_err(storage)? {
        None => Ok(None),
        Some(bytes) => decode(seq, bytes.value()).map(Some),
    }
}

fn decode(seq: u64, bytes: &[u8]) -> Result<Delivery, OutboxError> {
    serde_json::from_slice(bytes).map_err(|e| OutboxError::Damaged {
        seq,
        reason: e.to_string(),
    })
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn storage(error: impl Into<redb::Error>) -> OutboxError {
    OutboxError::Storage(error.into().to_string())
}

#[cfg(test)]
mod tests;
