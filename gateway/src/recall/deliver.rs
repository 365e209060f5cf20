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
//! Deliveries run concurrently up to [`MAX_IN_FLIGHT`], taken from the
//! outbox in batches of at least [`START_AT_LEAST`]; outcomes are committed
//! one commit at a time in the background, each commit taking every outcome
//! that came in while the one before it ran (group commit), so that the
//! cost of a durable commit is shared rather than paid per delivery.

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
/// Longest wait between two looks at the outbox when nothing wakes the
/// worker sooner.
const IDLE: Duration = Duration::from_secs(60);
/// Fewest free places for which more due deliveries are taken while some
/// are in flight: each start is a durable commit, so they are taken in
/// batches rather than one per finished attempt.
pub const START_AT_LEAST: usize = MAX_IN_FLIGHT / 4;
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
    /// Whether this attempt put `notification_sent` on the ledger.
    newly_recorded: bool,
}

/// The worker loop's state between passes.
struct Loop {
    in_flight: JoinSet<Attempt>,
    /// Outcomes not yet handed to a commit.
    finished: Vec<Attempt>,
    /// The commit running, if any.
    committing: Option<tokio::task::JoinHandle<Result<(), OutboxError>>>,
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
        let mut state = Loop {
            in_flight: JoinSet::new(),
            finished: Vec::new(),
            committing: None,
        };
        loop {
            match self.pass(&mut state).await {
                Ok(()) => {}
                Err(error) => {
                    eprintln!("cragate: recall outbox: {error}; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// One pass: start what is due (when there is room for a batch, or
    /// nothing is in flight), hand what finished to the committer (one
    /// commit at a time: while one runs, outcomes gather for the next, so
    /// a commit's cost is shared by every attempt that ended meanwhile),
    /// then wait for an outcome, a commit, an enqueue or the next due time.
    async fn pass(self: &Arc<Self>, state: &mut Loop) -> Result<(), OutboxError> {
        let room = MAX_IN_FLIGHT.saturating_sub(state.in_flight.len());
        if room >= START_AT_LEAST || (room > 0 && state.in_flight.is_empty()) {
            let outbox = Arc::clone(&self.outbox);
            let now = Timestamp::now();
            let due = blocking(move || outbox.due(now, room.min(BATCH))).await?;
            if !due.is_empty() {
                self.start(due, &mut state.in_flight).await?;
            }
        }
        if state.committing.is_none() && !state.finished.is_empty() {
            let batch = std::mem::take(&mut state.finished);
            let this = Arc::clone(self);
            state.committing = Some(tokio::spawn(async move { this.commit(batch).await }));
        }
        // The next due time matters only when something could be started
        // then; otherwise a finished attempt wakes the loop (and waking for
        // a due delivery that cannot start yet would spin).
        let room = MAX_IN_FLIGHT.saturating_sub(state.in_flight.len());
        let sleep = if room >= START_AT_LEAST || state.in_flight.is_empty() {
            let outbox = Arc::clone(&self.outbox);
            let next_due = blocking(move || outbox.next_due()).await?;
            next_due.map_or(IDLE, |at| {
                Duration::try_from(at.duration_since(Timestamp::now())).unwrap_or(Duration::ZERO)
            })
        } else {
            IDLE
        };
        let Loop {
            in_flight,
            finished,
            committing,
        } = state;
        let mut committed = None;
        {
            let commit_ends = async {
                match committing.as_mut() {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                joined = in_flight.join_next(), if !in_flight.is_empty() => {
                    finished.extend(joined.and_then(Result::ok));
                }
                ended = commit_ends => committed = Some(ended),
                () = self.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
        while let Some(joined) = in_flight.try_join_next() {
            finished.extend(joined.ok());
        }
        match committed {
            None => Ok(()),
            Some(ended) => {
                *committing = None;
                // A failed commit loses no delivery: its attempts' leases
                // run out and they are attempted again.
                ended
                    .map_err(|e| OutboxError::Storage(format!("outbox commit task failed: {e}")))?
            }
        }
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

    /// Commits outcomes. That `notification_sent` is on the ledger is kept
    /// only for a delivery that will be attempted again (a delivered one
    /// never is), so the common case is one commit.
    async fn commit(&self, finished: Vec<Attempt>) -> Result<(), OutboxError> {
        let recorded: Vec<u64> = finished
            .iter()
            .filter(|a| a.newly_recorded && !matches!(a.outcome, Outcome::Acknowledged { .. }))
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
        let unrecorded = !delivery.sent_recorded;
        let (status, retry_after) = match self.send(&delivery).await {
            Ok(answer) => answer,
            Err(error) => {
                return Attempt {
                    seq,
                    outcome: self.retry(&delivery, error, None),
                    newly_recorded: false,
                };
            }
        };
        if status.is_success() {
            // Both entries queued at once, so that one group commit of the
            // ledger usually takes both.
            let sent = async {
                if unrecorded {
                    self.record_sent(&delivery).await
                } else {
                    Ok(())
                }
            };
            let (sent, acknowledged) = tokio::join!(sent, self.record_acknowledged(&delivery));
            let newly_recorded = unrecorded && sent.is_ok();
            let outcome = match sent.and(acknowledged) {
                Ok(()) => Outcome::Acknowledged {
                    at: Timestamp::now(),
                },
                Err(error) => self.retry(
                    &delivery,
                    format!("acknowledged, but the ledger failed: {error}"),
                    None,
                ),
            };
            return Attempt {
                seq,
                outcome,
                newly_recorded,
            };
        }
        let mut newly_recorded = false;
        if unrecorded {
            if let Err(error) = self.record_sent(&delivery).await {
                let error = format!("answered {status}, but the ledger failed: {error}");
                return Attempt {
                    seq,
                    outcome: self.retry(&delivery, error, None),
                    newly_recorded,
                };
            }
            newly_recorded = true;
        }
        Attempt {
            seq,
            outcome: self.judge(&delivery, status, retry_after),
            newly_recorded,
        }
    }

    /// What an answer other than `2xx` means.
    fn judge(
        &self,
        delivery: &Delivery,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> Outcome {
        let endpoint = delivery.new.endpoint.as_deref().unwrap_or_default();
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
