//! The delivery worker: takes due deliveries from the [`Outbox`], signs
//! each with its customer's Standard Webhooks secret at the moment it is
//! sent, posts it, and records the outcome (CRA Art. 19(5), 20(4)).
//!
//! Order of effects, so that a crash loses nothing and the ledger records
//! only what happened:
//! 1. the attempt is counted and its retry time set, committed;
//! 2. the request is made;
//! 3. if an answer came, `notification_sent` goes on the ledger (once per
//!    delivery), and on a `2xx` `notification_acknowledged`;
//! 4. the outcome is committed: delivered, retry later (backoff with jitter,
//!    or `Retry-After` when later), or the endpoint disabled on `410`.
//!
//! Deliveries run concurrently up to [`MAX_IN_FLIGHT`]; their outcomes are
//! committed together.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::backoff;
use super::outbox::{Delivery, Outbox, OutboxError, Outcome};
use crate::http::cloudevent::MEDIA_TYPE;
use crate::http::webhook::WebhookSecret;
use crate::ledger::entry::EntryBody;
use crate::ledger::{Appender, Entry, Submission};

/// Deliveries in flight at once: enough to reach a thousand customers in a
/// few round trips, few enough to keep sockets and memory small.
pub const MAX_IN_FLIGHT: usize = 128;
/// Deliveries taken from the outbox per pass.
pub const BATCH: usize = 512;
/// How long one request may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest answer body read (and thrown away) from a receiver.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// The HTTP client of propagation: webhooks pushed and feeds pulled,
/// `https` with the WebPKI roots, or plain `http` (loopback only, which
/// the configuration checks).
pub type WebhookClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for webhooks and feeds, each connection attempt bounded by
/// [`REQUEST_TIMEOUT`].
pub fn client() -> WebhookClient {
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(REQUEST_TIMEOUT));
    let connector = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// The worker's state.
#[derive(Debug)]
pub struct Deliverer {
    outbox: Arc<dyn Outbox>,
    secrets: HashMap<String, WebhookSecret>,
    ledger: Arc<Appender>,
    wake: Arc<Notify>,
    client: WebhookClient,
    timeout: Duration,
}

/// What one attempt came to, before it is committed.
struct Attempt {
    seq: u64,
    outcome: Outcome,
    sent_recorded: bool,
}

impl Deliverer {
    /// A worker for `outbox`, signing with the customers' `secrets`,
    /// recording on `ledger`, woken by `wake` when something is enqueued.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        secrets: HashMap<String, WebhookSecret>,
        ledger: Arc<Appender>,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            outbox,
            secrets,
            ledger,
            wake,
            client: client(),
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// Runs until the task is dropped. Storage errors are reported and
    /// retried after a pause: the outbox keeps what it has.
    pub async fn run(self: Arc<Self>) {
        let mut in_flight: JoinSet<Attempt> = JoinSet::new();
        loop {
            match self.pass(&mut in_flight).await {
                Ok(()) => {}
                Err(error) => {
                    eprintln!("cragate: recall outbox: {error}; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// One pass: start what is due, then wait for an outcome, an enqueue or
    /// the next due time, and commit the outcomes that are in.
    async fn pass(self: &Arc<Self>, in_flight: &mut JoinSet<Attempt>) -> Result<(), OutboxError> {
        let room = MAX_IN_FLIGHT.saturating_sub(in_flight.len());
        if room > 0 {
            let outbox = Arc::clone(&self.outbox);
            let now = Timestamp::now();
            let due = blocking(move || outbox.due(now, room.min(BATCH))).await?;
            if !due.is_empty() {
                self.start(due, in_flight).await?;
            }
        }
        let next_due = {
            let outbox = Arc::clone(&self.outbox);
            blocking(move || outbox.next_due()).await?
        };
        let sleep = next_due.map_or(Duration::from_secs(60), |at| {
            Duration::try_from(at.duration_since(Timestamp::now())).unwrap_or(Duration::ZERO)
        });
        let mut finished = Vec::new();
        if in_flight.is_empty() {
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        } else {
            tokio::select! {
                joined = in_flight.join_next() => finished.extend(joined.and_then(Result::ok)),
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
        while let Some(joined) = in_flight.try_join_next() {
            finished.extend(joined.ok());
        }
        if !finished.is_empty() {
            self.commit(finished).await?;
        }
        Ok(())
    }

    /// Counts the attempts (one commit), then starts the requests.
    async fn start(
        self: &Arc<Self>,
        due: Vec<Delivery>,
        in_flight: &mut JoinSet<Attempt>,
    ) -> Result<(), OutboxError> {
        let seqs: Vec<u64> = due.iter().map(|d| d.seq).collect();
        let lease = Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(self.timeout * 2).unwrap_or_default())
            .unwrap_or(Timestamp::MAX);
        let outbox = Arc::clone(&self.outbox);
        let started = blocking(move || outbox.begin_attempts(&seqs, lease)).await?;
        for delivery in started {
            let this = Arc::clone(self);
            in_flight.spawn(async move { this.attempt(delivery).await });
        }
        Ok(())
    }

    async fn commit(&self, finished: Vec<Attempt>) -> Result<(), OutboxError> {
        let recorded: Vec<u64> = finished
            .iter()
            .filter(|a| a.sent_recorded)
            .map(|a| a.seq)
            .collect();
        let outcomes: Vec<(u64, Outcome)> =
            finished.into_iter().map(|a| (a.seq, a.outcome)).collect();
        let outbox = Arc::clone(&self.outbox);
        blocking(move || {
            if !recorded.is_empty() {
                outbox.mark_sent_recorded(&recorded)?;
            }
            for (_, outcome) in &outcomes {
                if let Outcome::Gone { error, .. } = outcome {
                    eprintln!("cragate: recall: {error}: endpoint disabled");
                }
            }
            outbox.finish_attempts(&outcomes).map(|_| ())
        })
        .await
    }

    /// One request and its ledger entries.
    async fn attempt(&self, delivery: Delivery) -> Attempt {
        let seq = delivery.seq;
        let mut sent_recorded = delivery.sent_recorded;
        let outcome = match self.send(&delivery).await {
            Err(error) => self.retry(&delivery, error, None),
            Ok((status, retry_after)) => {
                if !sent_recorded {
                    match self.record_sent(&delivery).await {
                        Ok(()) => sent_recorded = true,
                        Err(error) => {
                            let error =
                                format!("answered {status}, but the ledger failed: {error}");
                            return Attempt {
                                seq,
                                outcome: self.retry(&delivery, error, None),
                                sent_recorded,
                            };
                        }
                    }
                }
                self.judge(&delivery, status, retry_after).await
            }
        };
        Attempt {
            seq,
            outcome,
            sent_recorded,
        }
    }

    /// What an answer means.
    async fn judge(
        &self,
        delivery: &Delivery,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> Outcome {
        let endpoint = delivery.new.endpoint.as_deref().unwrap_or_default();
        if status.is_success() {
            return match self.record_acknowledged(delivery).await {
                Ok(()) => Outcome::Acknowledged {
                    at: Timestamp::now(),
                },
                Err(error) => self.retry(
                    delivery,
                    format!("acknowledged, but the ledger failed: {error}"),
                    None,
                ),
            };
        }
        if status == StatusCode::GONE {
            return Outcome::Gone {
                error: format!(
                    "customer {} webhook {endpoint} answered 410 Gone",
                    delivery.new.customer
                ),
                at: Timestamp::now(),
            };
        }
        self.retry(
            delivery,
            format!("{endpoint} answered {status}"),
            retry_after,
        )
    }

    fn retry(&self, delivery: &Delivery, error: String, retry_after: Option<Duration>) -> Outcome {
        let now = Timestamp::now();
        Outcome::Retry {
            error,
            next: backoff::next_attempt(now, delivery.attempts, backoff::random_u32(), retry_after),
        }
    }

    /// Signs and posts; the status and `Retry-After` of the answer.
    async fn send(&self, delivery: &Delivery) -> Result<(StatusCode, Option<Duration>), String> {
        let endpoint = delivery
            .new
            .endpoint
            .as_deref()
            .ok_or_else(|| "no webhook: the customer pulls the feed".to_owned())?;
        let secret = self.secrets.get(&delivery.new.customer).ok_or_else(|| {
            format!(
                "customer {} has no secret configured",
                delivery.new.customer
            )
        })?;
        let body = Bytes::from(delivery.new.body.clone());
        let mut request = Request::post(endpoint)
            .header(header::CONTENT_TYPE, MEDIA_TYPE)
            .header(
                header::USER_AGENT,
                concat!("cragate/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in secret.headers(
            &delivery.new.webhook_id,
            Timestamp::now().as_second(),
            &body,
        ) {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("cannot build a request to {endpoint}: {e}"))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{endpoint}: {}", describe(&e)))?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| backoff::parse_retry_after(v, Timestamp::now()));
            // Drain a little of the answer so the connection can be kept.
            let mut body = response.into_body();
            let mut read = 0usize;
            while read < MAX_ANSWER_BYTES {
                match body.frame().await {
                    Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                    _ => break,
                }
            }
            Ok((status, retry_after))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| format!("{endpoint}: no answer within {} s", self.timeout.as_secs()))?
    }

    async fn record_sent(&self, delivery: &Delivery) -> Result<(), String> {
        self.append(sent_entry(delivery)?).await
    }

    async fn record_acknowledged(&self, delivery: &Delivery) -> Result<(), String> {
        self.append(acknowledged_entry(delivery)?).await
    }

    async fn append(&self, submission: Submission) -> Result<(), String> {
        self.ledger
            .append(submission)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The `notification_sent` entry of a delivery: the notification reached
/// the customer (a webhook answered, or a feed page carried it).
pub fn sent_entry(delivery: &Delivery) -> Result<Submission, String> {
    let (notice, recipient, products) = ledger_fields(delivery)?;
    submission(EntryBody::NotificationSent {
        notice,
        recipient,
        products,
        endpoint: delivery
            .new
            .endpoint
            .clone()
            .unwrap_or_else(|| FEED_ENDPOINT.to_owned()),
    })
}

/// The `notification_acknowledged` entry of a delivery.
pub fn acknowledged_entry(delivery: &Delivery) -> Result<Submission, String> {
    let (notice, recipient, products) = ledger_fields(delivery)?;
    submission(EntryBody::NotificationAcknowledged {
        notice,
        recipient,
        products,
    })
}

/// The `endpoint` a `notification_sent` entry names for a feed delivery.
pub const FEED_ENDPOINT: &str = "feed:/v1/notifications/feed";

fn submission(body: EntryBody) -> Result<Submission, String> {
    Submission::new(Entry {
        time: Timestamp::now(),
        body,
    })
    .map_err(|e| e.to_string())
}

type LedgerFields = (
    cragate_verifier::Digest,
    crate::ledger::OperatorId,
    Vec<crate::ledger::ProductId>,
);

fn ledger_fields(delivery: &Delivery) -> Result<LedgerFields, String> {
    let notice = delivery
        .new
        .notice
        .parse()
        .map_err(|e| format!("the delivery's notice digest: {e}"))?;
    let recipient = delivery
        .new
        .customer
        .parse()
        .map_err(|e| format!("the customer id: {e}"))?;
    let products = delivery
        .new
        .products
        .iter()
        .map(|p| p.parse().map_err(|e| format!("product {p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok((notice, recipient, products))
}

/// A client error with its causes, for `last_error`.
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| OutboxError::Storage(format!("outbox task failed: {e}")))?
}

#[cfg(test)]
mod tests;
