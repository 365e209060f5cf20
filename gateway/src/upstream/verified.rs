//! A download body from an HTTP upstream, re-hashed while it streams.
//!
//! The bytes are passed on as they arrive, except the last piece, which is
//! held back until the upstream's body has ended and its SHA-256 and length
//! match what the accepted listing declares. On a mismatch the body fails,
//! which aborts the client's connection: the client never receives a
//! complete response for bytes that do not match. A range request is
//! served from the whole object, so that the whole object is still checked.
//! An upstream that sends nothing for the idle budget fails the body the
//! same way, so a stalled upstream cannot hold a client connection forever.
//!
//! Hashing runs on its own thread, fed the pieces (shared, not copied)
//! through a bounded queue: the event loop moves bytes from one socket to
//! the other while the hash thread hashes what came before, so hashing and
//! forwarding overlap instead of adding up. The queue bounds what a
//! download holds in memory; when it is full, reading from the upstream
//! waits for the hash.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cragate_verifier::{Digest, Hasher};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::PollSender;

use crate::server::body::BodyError;

/// Bytes handed to the hash thread at once: waking a thread costs far more
/// than hashing a small piece, so pieces are gathered into batches of
/// about this size.
const HASH_BATCH: usize = 512 * 1024;

/// Batches the hash thread may lag behind the upstream: with the batch
/// being gathered, a download holds about 3 MiB at most.
const HASH_QUEUE: usize = 4;

/// SHA-256 of the pieces sent to it, computed on a blocking thread.
#[derive(Debug)]
struct HashThread {
    /// `None` once every piece was sent.
    pieces: Option<PollSender<Vec<Bytes>>>,
    /// The batch being gathered, and its length in bytes.
    batch: Vec<Bytes>,
    batch_bytes: usize,
    /// Dropping it lets the thread go; closing the queue ends it.
    digest: JoinHandle<Digest>,
}

impl HashThread {
    fn start() -> Self {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Bytes>>(HASH_QUEUE);
        let digest = tokio::task::spawn_blocking(move || {
            let mut hasher = Hasher::new();
            while let Some(batch) = receiver.blocking_recv() {
                for piece in batch {
                    hasher.update(&piece);
                }
            }
            hasher.finish()
        });
        Self {
            pieces: Some(PollSender::new(sender)),
            batch: Vec::new(),
            batch_bytes: 0,
            digest,
        }
    }

    /// Ready when a piece can be taken: the batch is not full, or the
    /// queue took it.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        if self.batch_bytes < HASH_BATCH {
            return Poll::Ready(Ok(()));
        }
        self.poll_send_batch(cx)
    }

    /// Adds a piece to the batch; [`Self::poll_ready`] must have answered
    /// ready.
    fn send(&mut self, piece: Bytes) {
        self.batch_bytes = self.batch_bytes.saturating_add(piece.len());
        self.batch.push(piece);
    }

    /// Hands the batch to the hash thread once the queue has room.
    fn poll_send_batch(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        let Some(pieces) = self.pieces.as_mut() else {
            return Poll::Ready(Err("the hash was already finished".into()));
        };
        if std::task::ready!(pieces.poll_reserve(cx)).is_err() {
            return Poll::Ready(Err("the hash thread stopped".into()));
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        Poll::Ready(
            pieces
                .send_item(batch)
                .map_err(|_| "the hash thread stopped".into()),
        )
    }

    /// The digest of every piece, once the thread has hashed them all.
    fn poll_digest(&mut self, cx: &mut Context<'_>) -> Poll<Result<Digest, BodyError>> {
        if !self.batch.is_empty() {
            std::task::ready!(self.poll_send_batch(cx))?;
        }
        self.pieces = None;
        Pin::new(&mut self.digest)
            .poll(cx)
            .map_err(|e| format!("the hash thread failed: {e}").into())
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct VerifiedBody {
    inner: Incoming,
    /// `None` once the body has ended or failed.
    hasher: Option<HashThread>,
    /// The upstream's body has ended; the digest is awaited.
    upstream_done: bool,
    expected: Digest,
    size: u64,
    seen: u64,
    start: u64,
    end: u64,
    held: Option<Bytes>,
    idle: Duration,
    idle_deadline: Pin<Box<Sleep>>,
}

impl VerifiedBody {
    /// Streams bytes `start..end` of `inner`, which must hash to `expected`
    /// and be `size` bytes long, with at most `idle` between two pieces.
    pub fn new(
        inner: Incoming,
        expected: Digest,
        (size, start, end): (u64, u64, u64),
        idle: Duration,
    ) -> Self {
        Self {
            inner,
            hasher: Some(HashThread::start()),
            upstream_done: false,
            expected,
            size,
            seen: 0,
            start,
            end,
            held: None,
            idle,
            idle_deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn take(&mut self, data: &Bytes) -> Bytes {
        let from = self.start.saturating_sub(self.seen);
        let to = self.end.saturating_sub(self.seen);
        let length = data.len() as u64;
        self.seen = self.seen.saturating_add(length);
        let from = usize::try_from(from.min(length)).unwrap_or(0);
        let to = usize::try_from(to.min(length)).unwrap_or(0);
        if from >= to {
            return Bytes::new();
        }
        data.slice(from..to)
    }

    /// Compares what was received with what the listing declares; on a
    /// match, the held-back last piece.
    fn finish(&mut self, actual: Digest) -> Result<Option<Bytes>, BodyError> {
        self.hasher = None;
        if actual != self.expected || self.seen != self.size {
            return Err(format!(
                "upstream bytes are {} bytes hashing to {actual}; expected {} bytes hashing to {}",
                self.seen, self.size, self.expected
            )
            .into());
        }
        Ok(self.held.take())
    }

    /// Fails the body: the hash thread is let go and the error aborts the
    /// client's connection.
    fn fail(&mut self, error: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.hasher = None;
        Poll::Ready(Some(Err(error)))
    }
}

impl Body for VerifiedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        loop {
            let Some(hasher) = this.hasher.as_mut() else {
                return Poll::Ready(None);
            };
            if this.upstream_done {
                let actual = match hasher.poll_digest(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(error)) => return this.fail(error),
                    Poll::Ready(Ok(actual)) => actual,
                };
                return match this.finish(actual) {
                    Ok(Some(last)) => Poll::Ready(Some(Ok(Frame::data(last)))),
                    Ok(None) => Poll::Ready(None),
                    Err(error) => Poll::Ready(Some(Err(error))),
                };
            }
            // Room in the hash queue first: the upstream is read no faster
            // than the bytes are hashed.
            match hasher.poll_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return this.fail(error),
                Poll::Ready(Ok(())) => {}
            }
            let polled = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(polled) => polled,
                Poll::Pending => {
                    if this.idle_deadline.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    let idle = this.idle;
                    return this.fail(format!("the upstream sent nothing for {idle:?}").into());
                }
            };
            let next = Instant::now() + this.idle;
            this.idle_deadline.as_mut().reset(next);
            match polled {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if this.seen.saturating_add(data.len() as u64) > this.size {
                        return this.fail("upstream sent more bytes than declared".into());
                    }
                    hasher.send(data.clone());
                    let piece = this.take(&data);
                    if !piece.is_empty()
                        && let Some(previous) = this.held.replace(piece)
                    {
                        return Poll::Ready(Some(Ok(Frame::data(previous))));
                    }
                }
                Some(Err(error)) => return this.fail(error.into()),
                None => this.upstream_done = true,
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.end.saturating_sub(self.start))
    }
}
