//! The pull side of propagation, for a customer that cannot expose an
//! endpoint: its supplier serves `GET /v1/notifications/feed?after=N`
//! (bearer token per customer) and the customer polls it.
//!
//! A page holds the customer's deliveries after `N`, each signed with the
//! customer's Standard Webhooks secret at the moment the page is served,
//! so that the poller verifies it exactly as it would a pushed
//! notification (same headers, same tolerance, same replay memory), and
//! then verifies the issuer's notice inside against its own policy.
//! `next` is the cursor for the following poll.

use http::{HeaderMap, HeaderValue};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::outbox::{DeliveryState, Outbox, OutboxError};
use crate::http::webhook::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, WebhookSecret};

/// Most items in one page.
pub const MAX_PAGE: usize = 100;
/// Largest page a poller reads, in bytes: a hundred signed notices with
/// room to spare.
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedPage {
    /// The notifications, oldest first.
    pub notifications: Vec<FeedItem>,
    /// The `after` of the next poll.
    pub next: u64,
}

/// One notification of a page, as it would have been pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedItem {
    /// Its position in the supplier's outbox.
    pub seq: u64,
    /// `webhook-id`.
    pub webhook_id: String,
    /// `webhook-timestamp`.
    pub webhook_timestamp: i64,
    /// `webhook-signature`.
    pub webhook_signature: String,
    /// The CloudEvents body, exactly as signed.
    pub body: String,
}

/// The page of `customer`'s notifications after `after`, signed now.
pub fn page(
    outbox: &dyn Outbox,
    customer: &str,
    secret: &WebhookSecret,
    after: u64,
    now: Timestamp,
) -> Result<FeedPage, OutboxError> {
    let deliveries = outbox.feed(customer, after, MAX_PAGE)?;
    let next = deliveries.last().map_or(after, |d| d.seq);
    let timestamp = now.as_second();
    let notifications = deliveries
        .into_iter()
        .filter(|d| d.state != DeliveryState::Disabled)
        .map(|d| FeedItem {
            seq: d.seq,
            webhook_signature: secret.sign(&d.new.webhook_id, timestamp, d.new.body.as_bytes()),
            webhook_id: d.new.webhook_id,
            webhook_timestamp: timestamp,
            body: d.new.body,
        })
        .collect();
    Ok(FeedPage {
        notifications,
        next,
    })
}

/// A poll with `after = N` acknowledges the customer's deliveries up to
/// `N`: the poller moves its cursor only past what it has put in force.
/// Returns the pending ones this acknowledges, not yet marked: the caller
/// records them on the ledger, then [`mark_acknowledged`].
pub fn acknowledged_by(
    outbox: &dyn Outbox,
    customer: &str,
    after: u64,
) -> Result<Vec<super::outbox::Delivery>, OutboxError> {
    let mut found = Vec::new();
    let mut cursor = 0;
    while cursor < after {
        let page = outbox.feed(customer, cursor, MAX_PAGE)?;
        let Some(last) = page.last().map(|d| d.seq) else {
            break;
        };
        found.extend(
            page.into_iter()
                .filter(|d| d.seq <= after && d.state == DeliveryState::Pending),
        );
        cursor = last;
    }
    Ok(found)
}

/// Marks deliveries acknowledged at `at`.
pub fn mark_acknowledged(
    outbox: &dyn Outbox,
    seqs: &[u64],
    at: Timestamp,
) -> Result<(), OutboxError> {
    let outcomes: Vec<(u64, super::outbox::Outcome)> = seqs
        .iter()
        .map(|seq| (*seq, super::outbox::Outcome::Acknowledged { at }))
        .collect();
    outbox.finish_attempts(&outcomes).map(|_| ())
}

impl FeedItem {
    /// The headers it would have come with, for the receive path.
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let values = [
            (WEBHOOK_ID, self.webhook_id.clone()),
            (WEBHOOK_TIMESTAMP, self.webhook_timestamp.to_string()),
            (WEBHOOK_SIGNATURE, self.webhook_signature.clone()),
        ];
        for (name, value) in values {
            // A value that is not a valid header is left out; the receive
            // path then refuses the item as missing it.
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recall::outbox::NewDelivery;
    use crate::recall::redb_outbox::RedbOutbox;

    #[test]
    fn a_page_is_signed_for_the_customer_and_verifies_as_a_push_would() {
        let outbox = RedbOutbox::in_memory().unwrap();
        let now = Timestamp::now();
        let new = |customer: &str| NewDelivery {
            notification: "i/7".into(),
            customer: customer.into(),
            endpoint: None,
            webhook_id: format!("msg_{customer}"),
            body: r#"{"specversion":"1.0"}"#.into(),
            notice: "sha256:00".into(),
            products: vec!["p".into()],
            unreachable: false,
        };
        outbox.enqueue(&[new("a"), new("b")], now).unwrap();
        let secret = WebhookSecret::from_bytes(&[5; 32]);
        let page = page(&outbox, "b", &secret, 0, now).unwrap();
        assert_eq!(page.next, 2);
        assert_eq!(page.notifications.len(), 1);
        let item = &page.notifications[0];
        let id = secret
            .verify(&item.headers(), item.body.as_bytes(), now.as_second())
            .unwrap();
        assert_eq!(id, "msg_b");
        let empty = super::page(&outbox, "b", &secret, 2, now).unwrap();
        assert!(empty.notifications.is_empty());
        assert_eq!(empty.next, 2);
        assert!(acknowledged_by(&outbox, "b", 1).unwrap().is_empty());
        let acked = acknowledged_by(&outbox, "b", 2).unwrap();
        assert_eq!(acked.len(), 1);
        mark_acknowledged(&outbox, &[2], now).unwrap();
        assert!(acknowledged_by(&outbox, "b", 2).unwrap().is_empty());
        assert_eq!(
            outbox.deliveries("i/7").unwrap()[1].state,
            DeliveryState::Delivered
        );
    }
}
