//! The notification routes: `GET /v1/notifications/feed?after=N`, from
//! which a customer that cannot expose an endpoint pulls what it would
//! have been pushed (CRA Art. 19(5), 20(4)), opened by that customer's own
//! bearer token (`feed_token_file` of its `[[customers]]` entry).
//!
//! A poll with `after=N` is the customer's acknowledgement of everything
//! up to `N`: it moves its cursor only past what it has put in force. Each
//! notification a page carries for the first time is a `notification_sent`
//! entry on the ledger, each acknowledgement a `notification_acknowledged`
//! one, both written before the page is answered.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use jiff::Timestamp;

use crate::http::auth::bearer;
use crate::http::body::{Body, full};
use crate::http::error::{ErrorKind, GatewayError};
use crate::pipeline::Gateway;
use crate::recall::deliver::{acknowledged_entry, sent_entry};
use crate::recall::feed;
use crate::recall::outbox::OutboxError;

/// The feed's path.
pub const FEED_PATH: &str = "/v1/notifications/feed";

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
