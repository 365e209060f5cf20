//! Where the notification of one notice stands (CRA Art. 19(5), 20(4):
//! the operator must be able to show whom it told, and who has not
//! acknowledged yet and why): what `cragate recall status` prints and the
//! admin API's `deliveries` show.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use super::outbox::{Delivery, DeliveryState, Outbox, OutboxError};

/// One customer's delivery, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryStatus {
    /// The customer.
    pub customer: String,
    /// Its webhook, `null` when it pulls the feed or cannot be reached.
    pub endpoint: Option<String>,
    /// `pending`, `delivered`, `disabled` or `unreachable`.
    pub state: DeliveryState,
    /// Requests made.
    pub attempts: u32,
    /// Why the latest attempt failed, or why it is not sent.
    pub last_error: Option<String>,
    /// When it is tried again (pending only).
    pub next_attempt: Option<Timestamp>,
    /// When the `2xx` came.
    pub acknowledged_at: Option<Timestamp>,
    /// The products in scope it received.
    pub products: Vec<String>,
}

/// The notification of one notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotificationStatus {
    /// `ISSUER/SEQUENCE`.
    pub notification: String,
    /// Everyone who must be told.
    pub must_be_told: usize,
    /// Of whom this many acknowledged.
    pub acknowledged: usize,
    /// Each of them.
    pub deliveries: Vec<DeliveryStatus>,
}

impl From<Delivery> for DeliveryStatus {
    fn from(d: Delivery) -> Self {
        Self {
            customer: d.new.customer,
            endpoint: d.new.endpoint,
            state: d.state,
            attempts: d.attempts,
            last_error: d.last_error,
            next_attempt: d.next_attempt,
            acknowledged_at: d.acknowledged_at,
            products: d.new.products,
        }
    }
}

/// The status of `notification` (`ISSUER/SEQUENCE`).
pub fn status(outbox: &dyn Outbox, notification: &str) -> Result<NotificationStatus, OutboxError> {
    let deliveries: Vec<DeliveryStatus> = outbox
        .deliveries(notification)?
        .into_iter()
        .map(DeliveryStatus::from)
        .collect();
    Ok(NotificationStatus {
        notification: notification.to_owned(),
        must_be_told: deliveries.len(),
        acknowledged: deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Delivered)
            .count(),
        deliveries,
    })
}

impl NotificationStatus {
    /// The text form: a summary line, then one line per customer.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}: {} of {} customers acknowledged\n",
            self.notification, self.acknowledged, self.must_be_told
        );
        for d in &self.deliveries {
            let endpoint = d.endpoint.as_deref().unwrap_or("(no webhook)");
            let _ = match d.state {
                DeliveryState::Delivered => writeln!(
                    text,
                    "  acknowledged  {} {endpoint} at {}",
                    d.customer,
                    d.acknowledged_at
                        .map_or_else(String::new, |t| t.to_string())
                ),
                DeliveryState::Pending => writeln!(
                    text,
                    "  not yet       {} {endpoint}: {} attempt(s), last error: {}{}",
                    d.customer,
                    d.attempts,
                    d.last_error.as_deref().unwrap_or("none (not tried yet)"),
                    d.next_attempt
                        .map_or_else(String::new, |t| format!("; next attempt {t}"))
                ),
                DeliveryState::Disabled | DeliveryState::Unreachable => writeln!(
                    text,
                    "  not sent      {} {endpoint}: {}",
                    d.customer,
                    d.last_error.as_deref().unwrap_or("")
                ),
            };
        }
        text
    }
}
