//! Bodies: the response body type, reading request bodies under a size and
//! an idle budget, streaming a body to a file while hashing it, and serving
//! a file range. Memory use never depends on a body's length except for
//! listings, which are bounded by their limit.

use std::io::Write;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cragate_verifier::{Digest, Hasher};
use futures_util::TryStreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Body as _, Frame, Incoming};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::budget::Reservation;
use super::error::{ErrorKind, ErrorSource, GatewayError};
use super::offload::Offload;
use super::pace::Pace;

/// Error type of response bodies: a broken stream aborts the connection.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// Every response body.
pub type Body = UnsyncBoxBody<Bytes, BodyError>;

/// Chunk size for file reads: large enough that per-chunk costs vanish next
/// to hashing and copying, small enough to keep memory per connection low.
const FILE_CHUNK: usize = 256 * 1024;

/// A body of these bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// How a whole body is read: at most `limit` bytes, with at most `idle`
/// between two pieces, and whose body it is (the errors it makes name
/// them: a body over its limit is the client's `413` or the upstream's
/// `502`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Most bytes.
    pub limit: u64,
    /// Longest pause between two pieces.
    pub idle: Duration,
    /// Whose body it is.
    pub from: ErrorSource,
}

/// Reads a whole body under `limits`. With `held`, the bytes are held of
/// the listing budget as they arrive ([`Reservation::hold`]), and the read
/// stops with `503` when the budget cannot hold more.
pub async fn read_limited(
    mut body: Incoming,
    limits: BodyLimits,
    mut held: Option<&mut Reservation>,
) -> Result<Bytes, GatewayError> {
    let BodyLimits { limit, idle, from } = limits;
    let too_large = || GatewayError::new(ErrorKind::TooLarge { limit }, from);
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
    // A body that arrives in one piece (most listings) is kept as it came;
    // pieces are copied together only when there are several.
    let mut first: Option<Bytes> = None;
    let mut out = BytesMut::new();
    while let Some(frame) = next_frame(&mut body, idle, from).await? {
        if let Ok(data) = frame.into_data() {
            let held_now = first.as_ref().map_or(0, Bytes::len);
            let total = (held_now + out.len()) as u64 + data.len() as u64;
            if total > limit {
                return Err(too_large());
            }
            if let Some(reservation) = held.as_deref_mut() {
                reservation.hold(total)?;
            }
            match first.take() {
                None if out.is_empty() => first = Some(data),
                None => out.extend_from_slice(&data),
                Some(previous) => {
                    out.extend_from_slice(&previous);
                    out.extend_from_slice(&data);
                }
            }
        }
    }
    Ok(first.unwrap_or_else(|| out.freeze()))
}

/// Streams a body (an upload, or a download spooled from an upstream)
/// into `file` under `limits`, hashing it on the way, then flushes and
/// syncs the file. Hashing and writing run on a thread beside the event
/// loop ([`Offload`]). Returns the digest and length.
///
/// The body must keep `pace` ([`Pace`]): all of it that came must have
/// come by `send_timeout + bytes / rate` from the start, so a peer that
/// trickles bytes (never idle for `idle`) still cannot hold the
/// connection forever; falling behind is a timeout of `from`.
pub async fn stream_to_file(
    mut body: Incoming,
    file: std::fs::File,
    limits: BodyLimits,
    pace: Pace,
) -> Result<(Digest, u64), GatewayError> {
    let BodyLimits { limit, idle, from } = limits;
    let started = tokio::time::Instant::now();
    let too_large = || GatewayError::new(ErrorKind::TooLarge { limit }, from);
    if body.size_hint().lower() > limit {
        return Err(too_large());
    }
    let mut sink = Offload::start(
        (
            Hasher::new(),
            std::io::BufWriter::with_capacity(FILE_CHUNK, file),
        ),
        |(hasher, file), piece| {
            hasher.update(piece);
            file.write_all(piece)?;
            Ok(())
        },
        |(hasher, file)| {
            let file = file
                .into_inner()
                .map_err(std::io::IntoInnerError::into_error)?;
            file.sync_all()?;
            Ok(hasher.finish())
        },
    );
    let storage = |error: BodyError| GatewayError::from(std::io::Error::other(error));
    let mut length: u64 = 0;
    loop {
        // The next piece within the idle budget, and the whole so far
        // within the pace.
        let due = pace.deadline(started, length);
        let wait = due.saturating_duration_since(tokio::time::Instant::now());
        if wait.is_zero() {
            return Err(GatewayError::new(ErrorKind::Timeout, from));
        }
        let Some(frame) = next_frame(&mut body, idle.min(wait), from).await? else {
            break;
        };
        if let Ok(data) = frame.into_data() {
            length = length.saturating_add(data.len() as u64);
            if length > limit {
                return Err(too_large());
            }
            std::future::poll_fn(|cx| sink.poll_ready(cx))
                .await
                .map_err(storage)?;
            sink.send(data);
        }
    }
    let digest = std::future::poll_fn(|cx| sink.poll_finish(cx))
        .await
        .map_err(storage)?;
    Ok((digest, length))
}

/// A body serving `length` bytes of `file` from `start`.
pub async fn file_range(
    mut file: tokio::fs::File,
    start: u64,
    length: u64,
) -> Result<Body, GatewayError> {
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = ReaderStream::with_capacity(file.take(length), FILE_CHUNK)
        .map_ok(Frame::data)
        .map_err(BodyError::from);
    Ok(StreamBody::new(stream).boxed_unsync())
}

/// A client's upload passed on to an upstream as it comes (an OCI blob
/// upload): each piece within `idle` of the last, the whole keeping `pace`,
/// at most `limit` bytes, else the stream fails with the client's timeout
/// or `413`. `done` is told once the body has ended, so that the wait for
/// the upstream's answer starts then, not when the upload started (a
/// large upload takes longer than the upstream timeout).
pub fn relayed_upload(
    body: Incoming,
    limit: u64,
    idle: Duration,
    pace: Pace,
    done: std::sync::Arc<tokio::sync::Notify>,
) -> Body {
    struct State {
        body: Incoming,
        received: u64,
        started: tokio::time::Instant,
        ended: bool,
    }
    let state = State {
        body,
        received: 0,
        started: tokio::time::Instant::now(),
        ended: false,
    };
    let stream = futures_util::stream::unfold(state, move |mut state| {
        let done = std::sync::Arc::clone(&done);
        async move {
            if state.ended {
                return None;
            }
            let due = (tokio::time::Instant::now() + idle)
                .min(pace.deadline(state.started, state.received.saturating_add(1)));
            let fail = |kind| -> BodyError { Box::new(GatewayError::client(kind)) };
            let item = match tokio::time::timeout_at(due, state.body.frame()).await {
                Err(_) => Err(fail(ErrorKind::Timeout)),
                Ok(None) => {
                    done.notify_one();
                    return None;
                }
                Ok(Some(Err(error))) => Err(fail(ErrorKind::BrokenBody(Box::new(error)))),
                Ok(Some(Ok(frame))) => {
                    let length = frame.data_ref().map_or(0, |d| d.len() as u64);
                    state.received = state.received.saturating_add(length);
                    if state.received > limit {
                        Err(fail(ErrorKind::TooLarge { limit }))
                    } else {
                        Ok(frame)
                    }
                }
            };
            if item.is_err() {
                state.ended = true;
            }
            Some((item, state))
        }
    });
    StreamBody::new(stream).boxed_unsync()
}

async fn next_frame(
    body: &mut Incoming,
    idle: Duration,
    from: ErrorSource,
) -> Result<Option<Frame<Bytes>>, GatewayError> {
    match tokio::time::timeout(idle, body.frame()).await {
        Err(_) => Err(GatewayError::new(ErrorKind::Timeout, from)),
        Ok(None) => Ok(None),
        Ok(Some(Ok(frame))) => Ok(Some(frame)),
        Ok(Some(Err(error))) => Err(GatewayError::new(
            ErrorKind::BrokenBody(Box::new(error)),
            from,
        )),
    }
}
