//! The pace streamed bodies must keep, so that a slow peer cannot hold a
//! connection slot forever (slow readers, slow uploaders, slow upstreams).
//!
//! [`Pace`] is the rule: after a grace of `send_timeout`, at least
//! `min_body_bytes_per_second`; so a body of `n` bytes must be done within
//! `send_timeout + n / rate`. [`PacedIo`] applies it to the writes of a
//! client connection while the client lags behind them, and
//! [`crate::http::body::stream_to_file`] to the reads of a streamed body.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::limits::Limits;

/// See the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The grace before the rate applies, and the longest a write may wait
    /// without the peer taking a byte.
    pub send_timeout: Duration,
    /// The slowest rate after the grace, in bytes per second (at least 1).
    pub bytes_per_second: u64,
}

impl Pace {
    /// The pace `limits` set.
    pub fn of(limits: &Limits) -> Self {
        Self {
            send_timeout: limits.send_timeout,
            bytes_per_second: limits.min_body_bytes_per_second.max(1),
        }
    }

    /// When `bytes` moved since `since` are due at the latest.
    pub fn deadline(&self, since: Instant, bytes: u64) -> Instant {
        let allowed = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second.max(1) as f64);
        since + self.send_timeout + allowed
    }
}

/// Since when a connection's writes have lagged (the client took less than
/// a whole write), and how much it took since.
#[derive(Debug, Clone, Copy)]
struct Lag {
    since: Instant,
    taken: u64,
    last_progress: Instant,
}

/// A connection whose writes keep a [`Pace`] while the peer lags: from the
/// first write the peer does not take whole, the bytes it takes must keep
/// up with the pace, and no write may wait longer than `send_timeout`
/// without progress. A write past its deadline fails with `TimedOut`,
/// which ends the connection. A write taken whole ends the lag. Reads pass
/// through.
#[derive(Debug)]
pub struct PacedIo<S> {
    inner: S,
    pace: Pace,
    lag: Option<Lag>,
    timer: Pin<Box<Sleep>>,
}

impl<S> PacedIo<S> {
    /// `inner` under `pace`.
    pub fn new(inner: S, pace: Pace) -> Self {
        Self {
            inner,
            pace,
            lag: None,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// The connection inside.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Books the outcome of a write of `wanted` bytes.
    fn taken(&mut self, taken: usize, wanted: usize) {
        if taken >= wanted {
            self.lag = None;
            return;
        }
        let now = Instant::now();
        let lag = self.lag.get_or_insert(Lag {
            since: now,
            taken: 0,
            last_progress: now,
        });
        lag.taken = lag.taken.saturating_add(taken as u64);
        if taken > 0 {
            lag.last_progress = now;
        }
    }

    /// A write that could not go on: fails once its deadline has passed,
    /// else waits for it (or the peer) to wake the task.
    fn stalled<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let now = Instant::now();
        let lag = *self.lag.get_or_insert(Lag {
            since: now,
            taken: 0,
            last_progress: now,
        });
        let paced = self.pace.deadline(lag.since, lag.taken);
        let stall = lag.last_progress + self.pace.send_timeout;
        let deadline = paced.min(stall);
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client takes the response more slowly than the minimum pace",
            ))),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for PacedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PacedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(taken)) => {
                self.taken(taken, buf.len());
                Poll::Ready(Ok(taken))
            }
            Poll::Pending => self.stalled(cx),
            other => other,
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let wanted = bufs.iter().map(|b| b.len()).sum();
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(taken)) => {
                self.taken(taken, wanted);
                Poll::Ready(Ok(taken))
            }
            Poll::Pending => self.stalled(cx),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.stalled(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            Poll::Pending => self.stalled(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    const PACE: Pace = Pace {
        send_timeout: Duration::from_millis(200),
        bytes_per_second: 1000,
    };

    #[test]
    fn the_deadline_grows_with_the_bytes_moved() {
        let start = Instant::now();
        assert_eq!(PACE.deadline(start, 0), start + Duration::from_millis(200));
        assert_eq!(
            PACE.deadline(start, 500),
            start + Duration::from_millis(700)
        );
    }

    #[tokio::test]
    async fn a_peer_that_never_reads_fails_the_write_after_the_send_timeout() {
        let (near, _far) = tokio::io::duplex(64);
        let mut paced = PacedIo::new(near, PACE);
        let started = std::time::Instant::now();
        let error = paced.write_all(&[0; 4096]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(190), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    #[tokio::test]
    async fn a_peer_that_keeps_up_is_never_cut() {
        let (near, mut far) = tokio::io::duplex(1024);
        let reader = tokio::spawn(async move {
            let mut sink = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut far, &mut sink)
                .await
                .map(|_| sink.len())
        });
        let mut paced = PacedIo::new(near, PACE);
        paced.write_all(&[1; 64 * 1024]).await.unwrap();
        paced.shutdown().await.unwrap();
        drop(paced);
        assert_eq!(reader.await.unwrap().unwrap(), 64 * 1024);
    }
}
