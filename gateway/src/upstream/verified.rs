//! A download body from an HTTP upstream, re-hashed while it streams.
//!
//! The bytes are passed on as they arrive, except the last piece, which is
//! held back until the upstream's body has ended and its SHA-256 and length
//! match what the accepted listing declares. On a mismatch the body fails,
//! which aborts the client's connection: the client never receives a
//! complete response for bytes that do not match. Until it has ended, its
//! bytes are not verified: the response carries no `ETag` and offers no
//! ranges, and a range is served only from a whole copy spooled from this
//! body once it ended cleanly. An upstream that sends nothing for the idle
//! budget, or has not sent the whole body by its deadline
//! ([`VerifiedBody::within`]), fails the body the same way, so a stalled or
//! trickling upstream cannot hold a client connection forever.
//!
//! Hashing runs on a thread of its own ([`Offload`]), so that hashing and
//! forwarding overlap instead of adding up; when the hash falls behind,
//! reading from the upstream waits for it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cragate_verifier::{Digest, Hasher};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::http::body::BodyError;
use crate::http::offload::Offload;

/// SHA-256 of a body's pieces, on a thread of its own.
fn hash_thread() -> Offload<Digest> {
    Offload::start(
        Hasher::new(),
        |hasher, piece| {
            hasher.update(piece);
            Ok(())
        },
        |hasher| Ok(hasher.finish()),
    )
}

/// See the module documentation.
#[derive(Debug)]
pub struct VerifiedBody {
    inner: Incoming,
    /// `None` once the body has ended or failed.
    hasher: Option<Offload<Digest>>,
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
    /// When the whole body must be done ([`Self::within`]).
    total: Option<Pin<Box<Sleep>>>,
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
            hasher: Some(hash_thread()),
            upstream_done: false,
            expected,
            size,
            seen: 0,
            start,
            end,
            held: None,
            idle,
            idle_deadline: Box::pin(tokio::time::sleep(idle)),
            total: None,
        }
    }

    /// The same, failed when the upstream has not sent the whole body by
    /// `deadline` (the pace of streamed bodies,
    /// [`crate::http::pace::Pace`]), so that an upstream that trickles
    /// bytes cannot hold a client connection forever either.
    pub fn within(mut self, deadline: Instant) -> Self {
        self.total = Some(Box::pin(tokio::time::sleep_until(deadline)));
        self
    }

    /// The object's size (what it must add up to).
    pub fn size(&self) -> u64 {
        self.size
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
                let actual = match hasher.poll_finish(cx) {
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
                    if let Some(total) = this.total.as_mut()
                        && total.as_mut().poll(cx).is_ready()
                    {
                        return this.fail("the upstream fell behind the minimum pace".into());
                    }
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
