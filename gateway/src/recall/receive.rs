//! Receiving a notification from a supplier (`POST /v1/notifications`, or
//! an item of its feed): which supplier sent it, whether its Standard
//! Webhooks signature verifies under that supplier's secret and is fresh,
//! whether it was received before, and the CloudEvent it carries.
//!
//! Authenticating the supplier says only who forwarded the notice; the
//! notice inside is then verified against this gateway's own policy, by
//! the halt entry point, so that a supplier cannot forge a manufacturer's
//! or an authority's halt (CRA Art. 20(3), 20(4): a distributor acts on
//! the manufacturer's or the authority's measure).

use http::HeaderMap;
use http::header::HeaderName;
use jiff::Timestamp;

use super::outbox::{Outbox, OutboxError};
use crate::config::partners::Supplier;
use crate::http::cloudevent::{CloudEvent, CloudEventError, HALT_EVENT_TYPE};
use crate::http::webhook::{SignedMessage, TOLERANCE, WebhookError};

/// Optional header naming the sending supplier's id; without it, every
/// configured supplier's secret is tried.
pub const SUPPLIER_HEADER: HeaderName = HeaderName::from_static("cragate-supplier");

/// Why a notification was refused before its notice was looked at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The webhook headers are missing, malformed or stale, or no
    /// signature verifies.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The `cragate-supplier` header names no configured supplier.
    #[error("the cragate-supplier header names {0:?}, which is not a configured [[suppliers]] id")]
    UnknownSupplier(String),
    /// No configured supplier's secret verifies the signature.
    #[error("no [[suppliers]] secret verifies the webhook-signature")]
    NoSupplier,
    /// The body is not a halt CloudEvent.
    #[error(transparent)]
    Event(#[from] CloudEventError),
    /// The outbox (where received ids are kept) failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

impl ReceiveError {
    /// Whether the sender's credentials are the problem (HTTP 401) rather
    /// than the body's shape (HTTP 400) or this gateway (HTTP 500).
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Webhook(
                WebhookError::MissingHeader { .. } | WebhookError::MalformedHeader { .. },
            )
            | Self::Event(_) => StatusCode::BAD_REQUEST,
            Self::Webhook(_) | Self::UnknownSupplier(_) | Self::NoSupplier => {
                StatusCode::UNAUTHORIZED
            }
            Self::Outbox(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A notification whose sender is authenticated.
#[derive(Debug)]
pub struct Authenticated<'a> {
    /// Who sent it.
    pub supplier: &'a Supplier,
    /// Its `webhook-id`.
    pub webhook_id: String,
    /// Whether this id was received (and acted on) before: a retry whose
    /// answer was lost, or a replay. Either way nothing is to change.
    pub duplicate: bool,
    /// The event; its `data` is the issuer's signed notice.
    pub event: CloudEvent,
}

/// Authenticates a notification received at `now`.
pub fn authenticate<'a>(
    suppliers: &'a [Supplier],
    outbox: &dyn Outbox,
    headers: &HeaderMap,
    body: &[u8],
    now: Timestamp,
) -> Result<Authenticated<'a>, ReceiveError> {
    let message = SignedMessage::read(headers)?;
    message.check_time(now.as_second())?;
    let named = headers
        .get(&SUPPLIER_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let supplier = match named {
        Some(name) => {
            let supplier = suppliers
                .iter()
                .find(|s| s.id == name)
                .ok_or(ReceiveError::UnknownSupplier(name))?;
            if !message.verifies(&supplier.secret, body) {
                return Err(WebhookError::BadSignature.into());
            }
            supplier
        }
        None => suppliers
            .iter()
            .find(|s| message.verifies(&s.secret, body))
            .ok_or(ReceiveError::NoSupplier)?,
    };
    let duplicate = outbox.was_received(&supplier.id, &message.id)?;
    let event = CloudEvent::decode(body, HALT_EVENT_TYPE)?;
    Ok(Authenticated {
        supplier,
        webhook_id: message.id,
        duplicate,
        event,
    })
}

/// Records that a notification was acted on, so that a repeat of its id
/// changes nothing. Ids older than twice the tolerance are dropped: their
/// signatures can no longer be fresh.
pub fn remember(
    outbox: &dyn Outbox,
    supplier: &str,
    webhook_id: &str,
    now: Timestamp,
) -> Result<(), OutboxError> {
    let keep = jiff::SignedDuration::try_from(TOLERANCE * 2).unwrap_or_default();
    let forget_before = now.checked_sub(keep).unwrap_or(Timestamp::MIN);
    outbox
        .remember_received(supplier, webhook_id, now, forget_before)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use serde_json::value::RawValue;

    use super::*;
    use crate::http::webhook::WebhookSecret;
    use crate::recall::redb_outbox::RedbOutbox;

    fn supplier(id: &str, byte: u8) -> Supplier {
        Supplier {
            id: id.into(),
            secret: WebhookSecret::from_bytes(&[byte; 32]),
            feed: None,
        }
    }

    fn signed(secret: &WebhookSecret, id: &str, at: i64, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in secret.headers(id, at, body) {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        headers
    }

    fn body() -> Vec<u8> {
        let data = RawValue::from_string(r#"{"payload":"e30="}"#.into()).unwrap();
        CloudEvent::halt("msg_1".into(), "urn:x".into(), Timestamp::now(), data).encode()
    }

    #[test]
    fn the_supplier_is_found_by_its_secret_or_its_header() {
        let suppliers = [supplier("a", 1), supplier("b", 2)];
        let outbox = RedbOutbox::in_memory().unwrap();
        let now = Timestamp::now();
        let body = body();
        let headers = signed(&suppliers[1].secret, "msg_1", now.as_second(), &body);
        let found = authenticate(&suppliers, &outbox, &headers, &body, now).unwrap();
        assert_eq!(found.supplier.id, "b");
        assert!(!found.duplicate);
        let mut named = headers.clone();
        named.insert(SUPPLIER_HEADER, HeaderValue::from_static("a"));
        let error = authenticate(&suppliers, &outbox, &named, &body, now).unwrap_err();
        assert!(matches!(
            error,
            ReceiveError::Webhook(WebhookError::BadSignature)
        ));
        named.insert(SUPPLIER_HEADER, HeaderValue::from_static("z"));
        let error = authenticate(&suppliers, &outbox, &named, &body, now).unwrap_err();
        assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn forged_stale_and_repeated_notifications_are_told_apart() {
        let suppliers = [supplier("a", 1)];
        let outbox = RedbOutbox::in_memory().unwrap();
        let now = Timestamp::now();
        let body = body();
        let forged = signed(
            &WebhookSecret::from_bytes(&[9; 32]),
            "msg_1",
            now.as_second(),
            &body,
        );
        let error = authenticate(&suppliers, &outbox, &forged, &body, now).unwrap_err();
        assert!(matches!(error, ReceiveError::NoSupplier), "{error}");
        let stale = signed(&suppliers[0].secret, "msg_1", now.as_second() - 301, &body);
        let error = authenticate(&suppliers, &outbox, &stale, &body, now).unwrap_err();
        assert!(matches!(
            error,
            ReceiveError::Webhook(WebhookError::Stale { .. })
        ));
        assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
        let good = signed(&suppliers[0].secret, "msg_1", now.as_second(), &body);
        remember(&outbox, "a", "msg_1", now).unwrap();
        let again = authenticate(&suppliers, &outbox, &good, &body, now).unwrap();
        assert!(again.duplicate);
        let not_event = b"{}";
        let headers = signed(&suppliers[0].secret, "msg_2", now.as_second(), not_event);
        let error = authenticate(&suppliers, &outbox, &headers, not_event, now).unwrap_err();
        assert_eq!(error.status(), http::StatusCode::BAD_REQUEST);
    }
}
