//! The durable outbox of notifications to customers (CRA Art. 19(5),
//! 20(4): tell those supplied of a halt, recall or withdrawal, and keep
//! trying until they have been told).
//!
//! A delivery is one notification for one customer: its id, the customer,
//! the signed body, and where it is in its life: `pending` (to be sent, at
//! `next_attempt`), `delivered` (a `2xx` came back: the acknowledgement) or
//! `disabled` (the endpoint answered `410 Gone`, or was disabled before).
//! Every change is committed before the request it leads to is made, so a
//! delivery survives a restart or a `SIGKILL` and is sent again after it;
//! receivers tell repeats apart by the `webhook-id`, which every attempt of
//! a delivery shares.
//!
//! [`Outbox`] is the storage interface; [`super::redb_outbox::RedbOutbox`]
//! keeps it in `recall.redb` in the data directory. A shared database for
//! several nodes implements the same trait.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// File name of the outbox inside the data directory.
pub const OUTBOX_FILE: &str = "recall.redb";

/// A delivery as enqueued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDelivery {
    /// The notification: `ISSUER/SEQUENCE` of the notice it carries.
    pub notification: String,
    /// The customer's operator id.
    pub customer: String,
    /// Its webhook, `None` when it only pulls the feed.
    pub endpoint: Option<String>,
    /// The `webhook-id` every attempt carries.
    pub webhook_id: String,
    /// The CloudEvents body.
    pub body: String,
    /// Digest of the signed notice carried (`sha256:<hex>`), for the ledger.
    pub notice: String,
    /// Products in scope, for the ledger.
    pub products: Vec<String>,
    /// The ledger names this customer but `[[customers]]` does not: it is
    /// recorded as one who must be told, and cannot be by this gateway.
    #[serde(default)]
    pub unreachable: bool,
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet acknowledged; sent again at `next_attempt`.
    Pending,
    /// Acknowledged with a `2xx`.
    Delivered,
    /// Not sent: the endpoint is disabled (it answered `410 Gone`).
    Disabled,
    /// Not sent: no `[[customers]]` entry says how to reach this customer.
    Unreachable,
}

/// A delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Its position in the outbox, increasing: the feed's cursor.
    pub seq: u64,
    /// What was enqueued.
    #[serde(flatten)]
    pub new: NewDelivery,
    /// Where it is.
    pub state: DeliveryState,
    /// Requests made so far.
    pub attempts: u32,
    /// Why the latest attempt failed, if it did.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub enqueued_at: Timestamp,
    /// When it is due next (pending deliveries only).
    pub next_attempt: Option<Timestamp>,
    /// When it was acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// Whether its `notification_sent` ledger entry is written (once a
    /// request reached the endpoint and an answer came back).
    pub sent_recorded: bool,
}

/// What an attempt came to, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A `2xx`: acknowledged.
    Acknowledged {
        /// When.
        at: Timestamp,
    },
    /// Failed; try again at `next`.
    Retry {
        /// Why it failed.
        error: String,
        /// When to try again.
        next: Timestamp,
    },
    /// `410 Gone`: the endpoint is disabled, with every delivery to it.
    Gone {
        /// What the endpoint said.
        error: String,
        /// When.
        at: Timestamp,
    },
}

/// An endpoint disabled by a `410`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisabledEndpoint {
    /// The customer.
    pub customer: String,
    /// The webhook that answered `410`.
    pub endpoint: String,
    /// What it said.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// Why an outbox operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The storage engine failed.
    #[error("outbox storage: {0}")]
    Storage(String),
    /// A stored delivery does not decode.
    #[error("outbox entry {seq} is damaged: {reason}")]
    Damaged {
        /// Its sequence number.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The outbox was written by another schema version.
    #[error("outbox schema version {found} is not {expected}")]
    Schema {
        /// Found in the file.
        found: u64,
        /// This build's.
        expected: u64,
    },
    /// No such delivery.
    #[error("no delivery {seq} in the outbox")]
    Unknown {
        /// The sequence number asked for.
        seq: u64,
    },
}

/// The storage interface of the outbox. Every method commits durably
/// before it returns.
pub trait Outbox: Send + Sync + fmt::Debug {
    /// Adds deliveries, due at once, and returns them as stored. A
    /// delivery of the same notification to the same customer that is
    /// already there is returned as it is, not added twice; one to a
    /// disabled endpoint is stored `disabled`.
    fn enqueue(&self, new: &[NewDelivery], now: Timestamp) -> Result<Vec<Delivery>, OutboxError>;

    /// Pending deliveries with a webhook due at or before `now`, earliest
    /// first, at most `limit`.
    fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<Delivery>, OutboxError>;

    /// When the earliest pending webhook delivery is due, if any.
    fn next_due(&self) -> Result<Option<Timestamp>, OutboxError>;

    /// Counts an attempt about to be made for each of `seqs` and moves its
    /// next attempt to `retry_at`, so that a crash during the request leads
    /// to a retry then; one commit. Returns the deliveries as updated.
    fn begin_attempts(
        &self,
        seqs: &[u64],
        retry_at: Timestamp,
    ) -> Result<Vec<Delivery>, OutboxError>;

    /// Records what attempts came to, in one commit.
    fn finish_attempts(&self, outcomes: &[(u64, Outcome)]) -> Result<Vec<Delivery>, OutboxError>;

    /// Marks the `notification_sent` ledger entries of deliveries written.
    fn mark_sent_recorded(&self, seqs: &[u64]) -> Result<(), OutboxError>;

    /// Every delivery of one notification, by customer order of enqueueing.
    fn deliveries(&self, notification: &str) -> Result<Vec<Delivery>, OutboxError>;

    /// A customer's deliveries after `after` (the feed), at most `limit`.
    fn feed(&self, customer: &str, after: u64, limit: usize) -> Result<Vec<Delivery>, OutboxError>;

    /// Endpoints disabled by a `410`.
    fn disabled_endpoints(&self) -> Result<Vec<DisabledEndpoint>, OutboxError>;

    /// Whether a `webhook-id` from `supplier` was received before.
    fn was_received(&self, supplier: &str, webhook_id: &str) -> Result<bool, OutboxError>;

    /// Where this gateway's poll of `supplier`'s feed stands (0 at first).
    fn feed_cursor(&self, supplier: &str) -> Result<u64, OutboxError>;

    /// Moves the poll of `supplier`'s feed past `seq`.
    fn set_feed_cursor(&self, supplier: &str, seq: u64) -> Result<(), OutboxError>;

    /// Remembers a received `webhook-id` from `supplier`; `false` when it
    /// was seen before (a replay). Ids older than `forget_before` may be
    /// dropped: past the signature tolerance they cannot verify again.
    fn remember_received(
        &self,
        supplier: &str,
        webhook_id: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool, OutboxError>;

    /// Number of deliveries stored.
    fn len(&self) -> Result<u64, OutboxError>;

    /// Whether it holds no delivery.
    fn is_empty(&self) -> Result<bool, OutboxError> {
        Ok(self.len()? == 0)
    }

    /// Asks to be told at once when another node sharing the outbox
    /// queues deliveries: `queued` is called then (and may be called when
    /// nothing was), until it returns `false`. It must not block. An
    /// outbox only this gateway writes does nothing: its own enqueues wake
    /// its worker.
    fn subscribe(&self, _queued: Box<dyn FnMut() -> bool + Send>) {}
}
