//! The poller's side of a supplier's feed (`[[suppliers]] feed = URL`):
//! one `GET {feed}?after=N` with the bearer token of this gateway, its page
//! read within [`feed::MAX_PAGE_BYTES`] and [`REQUEST_TIMEOUT`], and
//! checked for order before anything in it is acted on.
//!
//! What a page's items mean is decided elsewhere: each is received exactly
//! as a pushed notification would be (the supplier's Standard Webhooks
//! signature, then the issuer's notice against this gateway's policy).
//! This file only fetches and parses.

use bytes::Bytes;
use http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};

use super::deliver::{REQUEST_TIMEOUT, WebhookClient, describe};
use super::feed::{self, FeedPage};
use crate::config::partners::Feed;

/// Why a page could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The request could not be made or got no answer in time.
    #[error("{url}: {reason}")]
    Request {
        /// The URL polled.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The supplier answered something other than `200`.
    #[error("{url} answered {status}: {detail}")]
    Status {
        /// The URL polled.
        url: String,
        /// Its answer.
        status: StatusCode,
        /// The start of its body.
        detail: String,
    },
    /// The page is larger than [`feed::MAX_PAGE_BYTES`].
    #[error("{url}: the page is larger than {max} bytes")]
    TooLarge {
        /// The URL polled.
        url: String,
        /// The limit.
        max: usize,
    },
    /// The page is not a feed page, or its items are out of order.
    #[error("{url}: not a usable feed page: {reason}")]
    Malformed {
        /// The URL polled.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The URL of the page after `after` (the configured feed has no query).
pub fn page_url(feed: &Uri, after: u64) -> Result<Uri, String> {
    format!("{feed}?after={after}")
        .parse()
        .map_err(|e| format!("cannot add after={after} to {feed}: {e}"))
}

/// Fetches the page of `feed` after `after`.
pub async fn fetch(client: &WebhookClient, feed: &Feed, after: u64) -> Result<FeedPage, PullError> {
    let url = page_url(&feed.url, after).map_err(|reason| PullError::Request {
        url: feed.url.to_string(),
        reason,
    })?;
    let shown = url.to_string();
    let request = Request::get(url)
        .header(header::ACCEPT, "application/json")
        .header(header::AUTHORIZATION, feed.authorization.clone())
        .header(
            header::USER_AGENT,
            concat!("cragate/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::new()))
        .map_err(|e| PullError::Request {
            url: shown.clone(),
            reason: format!("cannot build the request: {e}"),
        })?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| PullError::Request {
                url: shown.clone(),
                reason: describe(&e),
            })?;
        let status = response.status();
        let body = read(response.into_body(), &shown).await?;
        if status != StatusCode::OK {
            let start = body.get(..512).unwrap_or(&body);
            let detail = String::from_utf8_lossy(start).into_owned();
            return Err(PullError::Status {
                url: shown.clone(),
                status,
                detail,
            });
        }
        parse(&body, after).map_err(|reason| PullError::Malformed {
            url: shown.clone(),
            reason,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| PullError::Request {
            url: shown.clone(),
            reason: format!("no whole answer within {} s", REQUEST_TIMEOUT.as_secs()),
        })?
}

async fn read(mut body: hyper::body::Incoming, url: &str) -> Result<Vec<u8>, PullError> {
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| PullError::Request {
            url: url.to_owned(),
            reason: format!("reading the answer: {}", describe(&e)),
        })?;
        if let Some(data) = frame.data_ref() {
            if bytes.len().saturating_add(data.len()) > feed::MAX_PAGE_BYTES {
                return Err(PullError::TooLarge {
                    url: url.to_owned(),
                    max: feed::MAX_PAGE_BYTES,
                });
            }
            bytes.extend_from_slice(data);
        }
    }
    Ok(bytes)
}

/// A page as JSON, checked: items in increasing order, each after `after`
/// and none past `next`, and `next` not behind `after`.
pub fn parse(bytes: &[u8], after: u64) -> Result<FeedPage, String> {
    let page: FeedPage = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if page.next < after {
        return Err(format!(
            "next {} is behind the after={after} asked for",
            page.next
        ));
    }
    if page.notifications.len() > feed::MAX_PAGE {
        return Err(format!(
            "{} notifications, more than a page holds ({})",
            page.notifications.len(),
            feed::MAX_PAGE
        ));
    }
    let mut previous = after;
    for item in &page.notifications {
        if item.seq <= previous {
            return Err(format!(
                "notification {} is not after {previous}: out of order",
                item.seq
            ));
        }
        if item.seq > page.next {
            return Err(format!(
                "notification {} is past next {}",
                item.seq, page.next
            ));
        }
        previous = item.seq;
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: u64) -> serde_json::Value {
        serde_json::json!({"seq": seq, "webhook_id": "msg_1", "webhook_timestamp": 1,
            "webhook_signature": "v1,x", "body": "{}"})
    }

    fn page(items: &[u64], next: u64) -> Vec<u8> {
        let items: Vec<_> = items.iter().map(|s| item(*s)).collect();
        serde_json::to_vec(&serde_json::json!({"notifications": items, "next": next})).unwrap()
    }

    #[test]
    fn a_page_in_order_is_read() {
        let read = parse(&page(&[3, 5, 9], 9), 2).unwrap();
        assert_eq!(read.notifications.len(), 3);
        assert_eq!(read.next, 9);
        assert!(parse(&page(&[], 4), 4).unwrap().notifications.is_empty());
    }

    #[test]
    fn pages_out_of_order_or_not_pages_are_refused() {
        for (bytes, after, expect) in [
            (page(&[5, 3], 5), 0, "out of order"),
            (page(&[2], 5), 2, "not after 2"),
            (page(&[7], 5), 0, "past next"),
            (page(&[], 1), 4, "behind"),
            (
                b"{\"notifications\":[],\"next\":1,\"x\":1}".to_vec(),
                0,
                "unknown field",
            ),
            (b"[]".to_vec(), 0, "expected"),
        ] {
            let error = parse(&bytes, after).unwrap_err();
            assert!(error.contains(expect), "{error}");
        }
    }

    #[test]
    fn after_is_added_to_the_feed_url() {
        let url: Uri = "http://127.0.0.1:9/v1/notifications/feed".parse().unwrap();
        assert_eq!(
            page_url(&url, 7).unwrap().to_string(),
            "http://127.0.0.1:9/v1/notifications/feed?after=7"
        );
    }
}
