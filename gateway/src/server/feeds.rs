//! Polling the feeds of the suppliers that this gateway pulls from
//! (`[[suppliers]] feed = URL`; CRA Art. 20(4): a distributor that cannot
//! expose an endpoint still learns of a halt from its supplier).
//!
//! One task per such supplier. Each round asks for the page after the
//! cursor (kept in the outbox, so a restart or another node of a shared
//! ledger resumes where it stood) and receives every item exactly as a
//! pushed notification ([`routes::notifications::receive`]): the
//! supplier's Standard Webhooks signature under that supplier's secret
//! alone, then the issuer's notice against this gateway's policy, in force
//! and queued for this gateway's own customers before the cursor moves.
//!
//! The cursor is the acknowledgement: the next poll's `after=N` tells the
//! supplier that everything up to `N` is in force here. So it moves only
//! past items that were received (or had been), never past an item that
//! was refused or could not be handled: a refused item is reported and
//! asked for again in every round, the items after it on the same page are
//! still received (a forged or broken notice does not hold up a real halt
//! behind it; items past that page wait, since asking past the refused
//! item would acknowledge it), and the
//! supplier keeps showing the refused one as not acknowledged. When the
//! cursor moved, the next round runs at once, which carries the
//! acknowledgement without waiting an interval.
//!
//! [`routes::notifications::receive`]: crate::routes::notifications::receive

use std::sync::Arc;

use crate::config::partners::{Feed, Supplier};
use crate::http::error::{ErrorSource, GatewayError};
use crate::pipeline::Gateway;
use crate::recall::deliver::{WebhookClient, client};
use crate::recall::feed::FeedItem;
use crate::recall::outbox::OutboxError;
use crate::recall::pull;
use crate::recall::receive::SUPPLIER_HEADER;
use crate::routes::notifications::receive;

/// Starts a poller for every supplier with a feed.
pub fn spawn(gateway: &Arc<Gateway>) -> Vec<tokio::task::JoinHandle<()>> {
    let client = client();
    gateway
        .recall
        .suppliers
        .iter()
        .filter(|s| s.feed.is_some())
        .map(|supplier| {
            let poller = Poller {
                gateway: Arc::clone(gateway),
                supplier: supplier.clone(),
                client: client.clone(),
                reported: None,
            };
            tokio::spawn(poller.run())
        })
        .collect()
}

struct Poller {
    gateway: Arc<Gateway>,
    supplier: Supplier,
    client: WebhookClient,
    /// The last problem reported, so that a stuck item is reported once
    /// and not every interval.
    reported: Option<String>,
}

/// What one round came to.
struct Round {
    /// Where the cursor stands now.
    cursor: u64,
    /// The first problem met, if any.
    problem: Option<String>,
}

impl Poller {
    async fn run(mut self) {
        let Some(feed) = self.supplier.feed.clone() else {
            return;
        };
        let mut cursor = None;
        loop {
            let moved = match self.round(&feed, &mut cursor).await {
                Ok(Round {
                    cursor: now,
                    problem,
                }) => {
                    let moved = cursor.is_some_and(|before| now > before);
                    cursor = Some(now);
                    self.report(problem);
                    moved
                }
                Err(problem) => {
                    self.report(Some(problem));
                    false
                }
            };
            if !moved {
                tokio::time::sleep(feed.interval).await;
            }
        }
    }

    /// One page: fetched, its items received in order, the cursor moved
    /// past what was received and stored.
    async fn round(&self, feed: &Feed, cursor: &mut Option<u64>) -> Result<Round, String> {
        let id = self.supplier.id.clone();
        let after = match *cursor {
            Some(after) => after,
            None => {
                let outbox = Arc::clone(&self.gateway.recall.outbox);
                let stored = outbox_call(move || outbox.feed_cursor(&id)).await?;
                *cursor = Some(stored);
                stored
            }
        };
        let page = pull::fetch(&self.client, feed, after)
            .await
            .map_err(|e| format!("supplier {}: {e}", self.supplier.id))?;
        let mut problem = None;
        let mut received_to = page.next;
        for item in page.notifications {
            match self.receive(&item).await {
                Ok(()) => {}
                Err(error) => {
                    // The cursor stops before the first item not received.
                    if problem.is_none() {
                        received_to = item.seq.saturating_sub(1);
                        problem = Some(format!(
                            "supplier {} feed item {} ({}): {}",
                            self.supplier.id,
                            item.seq,
                            item.webhook_id,
                            crate::http::error::log_line(&error)
                        ));
                    }
                    // This gateway's own failure: stop here and retry the
                    // round later; a refused item does not stop the others.
                    if error.source() != ErrorSource::Client {
                        break;
                    }
                }
            }
        }
        let now = received_to.max(after);
        if now > after {
            let outbox = Arc::clone(&self.gateway.recall.outbox);
            let id = self.supplier.id.clone();
            outbox_call(move || outbox.set_feed_cursor(&id, now)).await?;
        }
        Ok(Round {
            cursor: now,
            problem,
        })
    }

    /// Receives one item as `POST /v1/notifications` would, naming the
    /// supplier so that only its secret can verify the item.
    async fn receive(&self, item: &FeedItem) -> Result<(), GatewayError> {
        let mut headers = item.headers();
        // Never left out: without it every supplier's secret would be tried.
        let named = http::HeaderValue::from_bytes(self.supplier.id.as_bytes()).map_err(|_| {
            GatewayError::gateway(crate::http::error::ErrorKind::Internal(format!(
                "supplier id {:?} cannot be carried in a header",
                self.supplier.id
            )))
        })?;
        headers.insert(SUPPLIER_HEADER, named);
        receive(&self.gateway, headers, item.body.clone().into())
            .await
            .map(|_| ())
    }

    fn report(&mut self, problem: Option<String>) {
        match (&problem, &self.reported) {
            (Some(now), Some(before)) if now == before => {}
            (Some(now), _) => eprintln!("cragate: recall: {now}"),
            (None, Some(_)) => eprintln!(
                "cragate: recall: supplier {}: its feed is read again",
                self.supplier.id
            ),
            (None, None) => {}
        }
        self.reported = problem;
    }
}

async fn outbox_call<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("outbox task failed: {e}"))?
        .map_err(|e| format!("recall outbox: {e}"))
}
