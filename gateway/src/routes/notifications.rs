//! The notification routes (CRA Art. 19(5), 20(4)):
//!
//! - `POST /v1/notifications`: a supplier's notification. The supplier is
//!   the one whose secret verifies the Standard Webhooks signature (or the
//!   one the `cragate-supplier` header names); the issuer's signed notice
//!   inside is then verified against this gateway's own policy and put in
//!   force ([`crate::recall::Halts::accept`] with `FromSupplier`), queued
//!   for this gateway's own customers, and only then answered `200`: the
//!   acknowledgement. A `webhook-id` received before is answered `200` with
//!   nothing changed (a retry whose answer was lost); a notice already in
//!   force with the same signed form is too.
//! - `GET /v1/notifications/feed?after=N`, from which a customer that
//!   cannot expose an endpoint pulls what it would have been pushed,
//!   opened by that customer's own bearer token (`feed_token_file` of its
//!   `[[customers]]` entry).
//!
//! A poll with `after=N` is the customer's acknowledgement of everything
//! up to `N`: it moves its cursor only past what it has put in force. Each
//! notification a page carries for the first time is a `notification_sent`
//! entry on the ledger, each acknowledgement a `notification_acknowledged`
//! one, both written before the page is answered.

use std::sync::Arc;

use bytes::Bytes;
use cragate_verifier::limits::MAX_SIGNED_HALT_BYTES;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use jiff::Timestamp;

use crate::http::auth::bearer;
use crate::http::body::{Body, BodyLimits, full, read_limited};
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};
use crate::pipeline::Gateway;
use crate::recall::deliver::{acknowledged_entry, sent_entry};
use crate::recall::feed;
use crate::recall::outbox::OutboxError;
use crate::recall::propagate::NoticeInForce;
use crate::recall::receive::{authenticate, remember};
use crate::recall::{HaltError, InForce, Received};

/// The feed's path.
pub const FEED_PATH: &str = "/v1/notifications/feed";
/// Where suppliers post notifications.
pub const NOTIFICATIONS_PATH: &str = "/v1/notifications";
/// Largest notification body: the largest signed notice the verifier reads
/// and its CloudEvents envelope.
pub const MAX_NOTIFICATION_BYTES: usize = MAX_SIGNED_HALT_BYTES + 16 * 1024;

/// What a received notification came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// Put in force now.
    Accepted,
    /// Its `webhook-id` was received before: nothing changed.
    Duplicate,
    /// The same signed notice was already in force: nothing changed.
    AlreadyInForce,
}

impl Receipt {
    fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::AlreadyInForce => "already_in_force",
        }
    }
}

/// `POST /v1/notifications`.
pub async fn post(
    gateway: &Arc<Gateway>,
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    let limit = u64::try_from(MAX_NOTIFICATION_BYTES).unwrap_or(u64::MAX);
    crate::pipeline::limits(&parts, limit)?;
    let limits = BodyLimits {
        limit,
        idle: gateway.config.limits.body_idle_timeout,
        from: ErrorSource::Client,
    };
    let body = read_limited(body, limits, None).await?;
    let receipt = receive(gateway, parts.headers, body).await?;
    let text = serde_json::to_vec(&serde_json::json!({"status": receipt.as_str()}))
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
    let mut response = Response::new(full(Bytes::from(text)));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Receives one notification (pushed, or an item of a supplier's feed):
/// authenticated, its notice verified and in force, queued onwards and its
/// id remembered, in that order, before it returns.
pub async fn receive(
    gateway: &Arc<Gateway>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Receipt, GatewayError> {
    let gateway = Arc::clone(gateway);
    tokio::task::spawn_blocking(move || receive_blocking(&gateway, &headers, &body))
        .await
        .map_err(|e| {
            GatewayError::gateway(ErrorKind::Internal(format!("receive task failed: {e}")))
        })?
}

fn receive_blocking(
    gateway: &Gateway,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Receipt, GatewayError> {
    let recall = &gateway.recall;
    let now = Timestamp::now();
    let found = authenticate(
        &recall.suppliers,
        recall.outbox.as_ref(),
        headers,
        body,
        now,
    )
    .map_err(|e| match e.status() {
        StatusCode::UNAUTHORIZED => refused(true, "webhook-unauthenticated", e.to_string()),
        StatusCode::BAD_REQUEST => refused(false, "webhook-malformed", e.to_string()),
        _ => GatewayError::gateway(ErrorKind::Internal(e.to_string())),
    })?;
    if found.duplicate {
        return Ok(Receipt::Duplicate);
    }
    let signed = found.event.data.get().as_bytes();
    let supplier = found.supplier.id.clone();
    let (held, receipt) =
        match gateway
            .halts
            .accept(signed, Received::FromSupplier(supplier.clone()), now)
        {
            Ok(held) => (held, Receipt::Accepted),
            Err(HaltError::Sequence {
                issuer, sequence, ..
            }) if same_in_force(gateway, &issuer, sequence, signed) => {
                let held = gateway
                    .halts
                    .one(&issuer, sequence)?
                    .ok_or(GatewayError::gateway(ErrorKind::NotFound))?;
                (held, Receipt::AlreadyInForce)
            }
            Err(error) => return Err(error.into()),
        };
    propagate(gateway, &held)?;
    remember(recall.outbox.as_ref(), &supplier, &found.webhook_id, now)
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(format!("recall outbox: {e}"))))?;
    Ok(receipt)
}

/// Whether the notice `issuer`/`sequence` is stored with exactly these
/// signed bytes.
fn same_in_force(gateway: &Gateway, issuer: &str, sequence: u64, signed: &[u8]) -> bool {
    matches!(
        gateway.halts.one(issuer, sequence),
        Ok(Some(held)) if held.stored.signed.as_bytes() == signed
    )
}

/// Queues a notice in force for this gateway's customers (durably, before
/// the caller answers). Blocking.
pub fn propagate(gateway: &Gateway, held: &InForce) -> Result<(), GatewayError> {
    let notice = NoticeInForce::from_in_force(held)
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
    gateway
        .recall
        .propagator
        .enqueue(gateway.ledger.as_ref(), &notice, Timestamp::now())
        .map(|_| ())
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(format!("recall: {e}"))))
}

/// `GET /v1/notifications/feed?after=N`.
pub async fn feed<B>(
    gateway: &Arc<Gateway>,
    request: &Request<B>,
) -> Result<Response<Body>, GatewayError> {
    let after = after(request.uri().query().unwrap_or(""))?;
    let presented = bearer(request.headers()).ok_or_else(|| {
        refused(
            true,
            "feed-token-required",
            "the feed needs Authorization: Bearer <the customer's feed token>".to_owned(),
        )
    })?;
    let customer = gateway
        .recall
        .customers()
        .iter()
        .find(|c| c.feed_token.as_ref().is_some_and(|t| t.matches(presented)))
        .cloned()
        .ok_or_else(|| {
            refused(
                true,
                "feed-token-mismatch",
                "the bearer token is no customer's feed_token_file".to_owned(),
            )
        })?;
    let outbox = Arc::clone(&gateway.recall.outbox);
    let id = customer.id.clone();
    let acknowledged =
        outbox_call(move || feed::acknowledged_by(outbox.as_ref(), &id, after)).await?;
    let now = Timestamp::now();
    for delivery in &acknowledged {
        append(gateway, acknowledged_entry(delivery)).await?;
    }
    let outbox = Arc::clone(&gateway.recall.outbox);
    let seqs: Vec<u64> = acknowledged.iter().map(|d| d.seq).collect();
    outbox_call(move || feed::mark_acknowledged(outbox.as_ref(), &seqs, now)).await?;

    let outbox = Arc::clone(&gateway.recall.outbox);
    let (id, secret) = (customer.id.clone(), customer.secret.clone());
    let page = outbox_call(move || {
        let page = feed::page(outbox.as_ref(), &id, &secret, after, now)?;
        let unsent = outbox
            .feed(&id, after, feed::MAX_PAGE)?
            .into_iter()
            .filter(|d| !d.sent_recorded && page.notifications.iter().any(|n| n.seq == d.seq))
            .collect::<Vec<_>>();
        Ok((page, unsent))
    })
    .await?;
    let (page, unsent) = page;
    for delivery in &unsent {
        append(gateway, sent_entry(delivery)).await?;
    }
    let outbox = Arc::clone(&gateway.recall.outbox);
    let seqs: Vec<u64> = unsent.iter().map(|d| d.seq).collect();
    outbox_call(move || outbox.mark_sent_recorded(&seqs)).await?;
    let bytes = serde_json::to_vec(&page)
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
    let mut response = Response::new(full(Bytes::from(bytes)));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `after=N`, the only parameter; 0 when absent.
fn after(query: &str) -> Result<u64, GatewayError> {
    let mut after = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("after", value)) if after.is_none() => {
                after = Some(
                    value
                        .parse::<u64>()
                        .map_err(|_| bad(format!("after={value:?} is not a sequence number")))?,
                );
            }
            Some(("after", _)) => return Err(bad("after is given twice".to_owned())),
            _ => {
                return Err(bad(format!(
                    "unknown query parameter in {pair:?}: the feed takes after=N"
                )));
            }
        }
    }
    Ok(after.unwrap_or(0))
}

async fn append(
    gateway: &Gateway,
    submission: Result<crate::ledger::Submission, String>,
) -> Result<(), GatewayError> {
    let submission = submission.map_err(|e| GatewayError::gateway(ErrorKind::Internal(e)))?;
    gateway
        .appender
        .append(submission)
        .await
        .map(|_| ())
        .map_err(|e| GatewayError::gateway(ErrorKind::Ledger(Box::new(e))))
}

async fn outbox_call<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, GatewayError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| {
            GatewayError::gateway(ErrorKind::Internal(format!("outbox task failed: {e}")))
        })?
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(format!("recall outbox: {e}"))))
}

fn bad(detail: String) -> GatewayError {
    refused(false, "bad-request", detail)
}

fn refused(unauthorized: bool, code: &'static str, detail: String) -> GatewayError {
    GatewayError::client(ErrorKind::NotificationRefused {
        unauthorized,
        code,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_is_the_only_parameter() {
        assert_eq!(after("").unwrap(), 0);
        assert_eq!(after("after=12").unwrap(), 12);
        assert!(after("after=x").is_err());
        assert!(after("after=1&after=2").is_err());
        assert!(after("since=1").is_err());
    }
}
