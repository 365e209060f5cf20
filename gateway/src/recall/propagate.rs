//! Turning a notice in force into deliveries (CRA Art. 19(5), 20(4): an
//! importer or distributor that halts, recalls or withdraws a product
//! informs those it supplied). Each customer the ledger names gets one
//! delivery: a CloudEvents body whose `data` is the issuer's signed notice,
//! byte for byte, and a `webhook-id` derived from the notification and the
//! customer, the same on every retry and every restart.

use std::sync::Arc;

use cragate_verifier::Digest;
use cragate_verifier::halt::{Action, Scope, VerifiedNotice};
use jiff::Timestamp;
use serde_json::value::RawValue;
use tokio::sync::Notify;

use super::outbox::{Delivery, NewDelivery, Outbox, OutboxError};
use super::recipients::{self, Recipients};
use crate::config::partners::Customer;
use crate::http::cloudevent::CloudEvent;
use crate::ledger::{LedgerError, LedgerStore, ProductId};

/// The CloudEvents `source` of notifications this gateway sends.
pub const EVENT_SOURCE: &str = "urn:cragate:recall";

/// What propagation needs to know of a notice in force.
#[derive(Debug, Clone)]
pub struct NoticeInForce {
    /// The issuer's id.
    pub issuer: String,
    /// Its sequence number.
    pub sequence: u64,
    /// What it orders.
    pub action: Action,
    /// For a `lift`, the sequences it lifts.
    pub lifts: Vec<u64>,
    /// The products in scope.
    pub products: Vec<ProductId>,
    /// The whole scope: the releases and batches a supply link names
    /// narrow who is told.
    pub scope: Scope,
    /// Digest of the signed notice.
    pub digest: Digest,
    /// The signed notice as received.
    pub signed: Box<RawValue>,
    /// When it was issued.
    pub issued_at: Timestamp,
}

impl NoticeInForce {
    /// The notice of a halt just put in force (or found in force), carried
    /// in its signed form as received.
    pub fn from_in_force(held: &super::InForce) -> Result<Self, serde_json::Error> {
        let notice = &held.notice;
        Ok(Self {
            issuer: notice.issuer.clone(),
            sequence: notice.sequence,
            action: notice.action,
            lifts: notice.lifts.clone(),
            products: notice.scope.products.clone(),
            scope: notice.scope.clone(),
            digest: Digest::of(held.stored.signed.as_bytes()),
            signed: RawValue::from_string(held.stored.signed.clone())?,
            issued_at: notice.issued_at,
        })
    }

    /// The notice of `verified`, carried as `signed` (the signed form as
    /// received, which every hop verifies again).
    pub fn new(verified: &VerifiedNotice, signed: &[u8]) -> Result<Self, serde_json::Error> {
        let text = String::from_utf8_lossy(signed).into_owned();
        let notice = verified.notice();
        Ok(Self {
            issuer: notice.issuer.clone(),
            sequence: notice.sequence,
            action: notice.action,
            lifts: notice.lifts.clone(),
            products: notice.scope.products.clone(),
            scope: notice.scope.clone(),
            digest: verified.signed_digest(),
            signed: RawValue::from_string(text)?,
            issued_at: notice.issued_at,
        })
    }
}

/// Why a notice could not be queued for delivery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PropagateError {
    /// Reading the supply links failed.
    #[error("reading the supply links: {0}")]
    Ledger(#[from] LedgerError),
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The stored signed form is not JSON (it was when accepted).
    #[error("the stored signed notice is not JSON: {0}")]
    Signed(#[from] serde_json::Error),
}

/// The outbox, the customers and the worker's wake-up, as propagation
/// uses them.
#[derive(Debug, Clone)]
pub struct Propagator {
    /// The outbox.
    pub outbox: Arc<dyn Outbox>,
    /// `[[customers]]`.
    pub customers: Vec<Customer>,
    /// Wakes the delivery worker.
    pub wake: Arc<Notify>,
}

/// `ISSUER/SEQUENCE`: how a notification (and `cragate recall status`)
/// names a notice.
pub fn notification_id(issuer: &str, sequence: u64) -> String {
    format!("{issuer}/{sequence}")
}

/// The `webhook-id` of a notification to a customer: `msg_` and 32 hex
/// digits of SHA-256 over both, the same for every attempt.
pub fn webhook_id(notification: &str, customer: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{notification}\0{customer}").as_bytes(),
    );
    let hex = hex::encode(digest.as_ref());
    format!("msg_{}", hex.get(..32).unwrap_or(&hex))
}

impl Propagator {
    /// Who must be told of `notice`: for a `lift`, whoever was sent what it
    /// lifts; otherwise the customers of outbound supply links of products
    /// in scope.
    pub fn recipients(
        &self,
        ledger: &dyn LedgerStore,
        notice: &NoticeInForce,
    ) -> Result<Recipients, PropagateError> {
        if notice.action == Action::Lift {
            let mut earlier: Vec<String> = Vec::new();
            for lifted in &notice.lifts {
                let id = notification_id(&notice.issuer, *lifted);
                for delivery in self.outbox.deliveries(&id)? {
                    if !earlier.contains(&delivery.new.customer) {
                        earlier.push(delivery.new.customer);
                    }
                }
            }
            return Ok(recipients::same_as(
                &earlier,
                &notice.products,
                &self.customers,
            ));
        }
        Ok(recipients::from_supply_links(
            ledger,
            &notice.scope,
            &self.customers,
        )?)
    }

    /// Queues `notice` for every recipient, durably, and wakes the worker.
    /// Returns the deliveries as stored.
    pub fn enqueue(
        &self,
        ledger: &dyn LedgerStore,
        notice: &NoticeInForce,
        now: Timestamp,
    ) -> Result<Vec<Delivery>, PropagateError> {
        let recipients = self.recipients(ledger, notice)?;
        let new = deliveries(notice, &recipients);
        let stored = if new.is_empty() {
            Vec::new()
        } else {
            self.outbox.enqueue(&new, now)?
        };
        self.wake.notify_one();
        Ok(stored)
    }
}

/// One delivery per recipient; those without a `[[customers]]` entry
/// are stored as unreachable, so that the status names them.
pub fn deliveries(notice: &NoticeInForce, recipients: &Recipients) -> Vec<NewDelivery> {
    let notification = notification_id(&notice.issuer, notice.sequence);
    let reachable = recipients.reachable.iter().map(|(customer, products)| {
        (
            customer.id.as_str(),
            customer.webhook.as_ref(),
            products,
            false,
        )
    });
    let unreachable = recipients
        .unreachable
        .iter()
        .map(|(id, products)| (id.as_str(), None, products, true));
    reachable
        .chain(unreachable)
        .map(|(customer, webhook, products, unreachable)| {
            let webhook_id = webhook_id(&notification, customer);
            let event = CloudEvent::halt(
                webhook_id.clone(),
                EVENT_SOURCE.to_owned(),
                notice.issued_at,
                notice.signed.clone(),
            );
            NewDelivery {
                notification: notification.clone(),
                customer: customer.to_owned(),
                endpoint: webhook.map(ToString::to_string),
                webhook_id,
                body: String::from_utf8(event.encode()).unwrap_or_default(),
                notice: notice.digest.to_string(),
                products: products.iter().map(ToString::to_string).collect(),
                unreachable,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_ids_are_stable_and_distinct_per_customer() {
        let a = webhook_id("lumatek-psirt/7", "reseller-nord");
        assert_eq!(a, webhook_id("lumatek-psirt/7", "reseller-nord"));
        assert_ne!(a, webhook_id("lumatek-psirt/7", "reseller-sued"));
        assert_ne!(a, webhook_id("lumatek-psirt/8", "reseller-nord"));
        assert!(a.starts_with("msg_") && a.len() == 36, "{a}");
    }
}
