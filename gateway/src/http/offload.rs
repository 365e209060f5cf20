//! Work on a body's bytes (hashing, writing to a file) done on a blocking
//! thread beside the event loop.
//!
//! The event loop hands over the pieces it receives (shared, not copied),
//! gathered into batches, through a bounded queue; the thread works on
//! what came before while the loop receives what comes next, so the two
//! overlap instead of adding up. The queue bounds what a body holds in
//! memory; when it is full, the loop stops reading until the thread has
//! caught up.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio_util::sync::PollSender;

use super::body::BodyError;

/// Bytes handed to the thread at once: waking a thread costs far more than
/// hashing a small piece, so pieces are gathered into batches of about
/// this size.
const BATCH: usize = 512 * 1024;

/// Batches the thread may lag behind: with the batch being gathered, a body
/// holds about 3 MiB at most.
const QUEUE: usize = 4;

/// A blocking thread that applies `each` to every piece in order, then
/// `finish` to what it built up.
#[derive(Debug)]
pub struct Offload<T> {
    /// `None` once every piece was sent.
    pieces: Option<PollSender<Vec<Bytes>>>,
    /// The batch being gathered, and its length in bytes.
    batch: Vec<Bytes>,
    batch_bytes: usize,
    /// The thread's result; `None` once it was collected. Dropping it lets
    /// the thread go; closing the queue ends it.
    done: Option<JoinHandle<Result<T, BodyError>>>,
}

impl<T: Send + 'static> Offload<T> {
    /// Starts the thread with `state`.
    pub fn start<S, E, F>(mut state: S, mut each: E, finish: F) -> Self
    where
        S: Send + 'static,
        E: FnMut(&mut S, &Bytes) -> Result<(), BodyError> + Send + 'static,
        F: FnOnce(S) -> Result<T, BodyError> + Send + 'static,
    {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Bytes>>(QUEUE);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(batch) = receiver.blocking_recv() {
                for piece in &batch {
                    each(&mut state, piece)?;
                }
            }
            finish(state)
        });
        Self {
            pieces: Some(PollSender::new(sender)),
            batch: Vec::new(),
            batch_bytes: 0,
            done: Some(done),
        }
    }

    /// Ready when a piece can be taken: the batch is not full, or the
    /// queue took it.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        if self.batch_bytes < BATCH {
            return Poll::Ready(Ok(()));
        }
        self.poll_send_batch(cx)
    }

    /// Adds a piece to the batch; [`Self::poll_ready`] must have answered
    /// ready.
    pub fn send(&mut self, piece: Bytes) {
        self.batch_bytes = self.batch_bytes.saturating_add(piece.len());
        self.batch.push(piece);
    }

    /// What `finish` made, once the thread has worked on every piece.
    pub fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, BodyError>> {
        if !self.batch.is_empty() {
            std::task::ready!(self.poll_send_batch(cx))?;
        }
        self.pieces = None;
        self.poll_done(cx)
    }

    /// The thread's result, once: later calls are an error.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, BodyError>> {
        let Some(done) = self.done.as_mut() else {
            return Poll::Ready(Err("the worker thread's result was already taken".into()));
        };
        let joined = std::task::ready!(Pin::new(done).poll(cx));
        self.done = None;
        Poll::Ready(joined.unwrap_or_else(|e| Err(format!("the worker thread failed: {e}").into())))
    }

    /// Hands the batch to the thread once the queue has room. A thread
    /// that stopped early (its work failed) reports why.
    fn poll_send_batch(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        if let Some(pieces) = self.pieces.as_mut() {
            if std::task::ready!(pieces.poll_reserve(cx)).is_ok() {
                let batch = std::mem::take(&mut self.batch);
                self.batch_bytes = 0;
                if pieces.send_item(batch).is_ok() {
                    return Poll::Ready(Ok(()));
                }
            }
            // The queue is closed: the thread ended, so its result says
            // why (it may take a moment to be ready).
            self.pieces = None;
        }
        match std::task::ready!(self.poll_done(cx)) {
            Err(error) => Poll::Ready(Err(error)),
            Ok(_) => Poll::Ready(Err("the worker thread ended early".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    fn pieces() -> Vec<Bytes> {
        (0..3000u32)
            .map(|i| {
                Bytes::from(vec![
                    u8::try_from(i % 251).unwrap();
                    1000 + (i as usize % 7)
                ])
            })
            .collect()
    }

    #[tokio::test]
    async fn every_piece_reaches_the_thread_in_order() {
        let mut offload = Offload::start(
            Vec::new(),
            |all: &mut Vec<u8>, piece| {
                all.extend_from_slice(piece);
                Ok(())
            },
            Ok,
        );
        for piece in pieces() {
            poll_fn(|cx| offload.poll_ready(cx)).await.unwrap();
            offload.send(piece);
        }
        let all = poll_fn(|cx| offload.poll_finish(cx)).await.unwrap();
        assert_eq!(all, pieces().concat());
    }

    /// A count whose drop is slow, so that the queue is seen closed well
    /// before the thread's result is ready.
    struct SlowToDrop(usize);

    impl Drop for SlowToDrop {
        fn drop(&mut self) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    #[tokio::test]
    async fn a_failure_on_the_thread_is_reported_not_lost() {
        let mut offload = Offload::start(
            SlowToDrop(0),
            |written: &mut SlowToDrop, piece| {
                written.0 += piece.len();
                if written.0 > 1_000_000 {
                    return Err("no space left on the device".into());
                }
                Ok(())
            },
            |_| Ok(()),
        );
        let mut error = None;
        for piece in pieces() {
            if let Err(e) = poll_fn(|cx| offload.poll_ready(cx)).await {
                error = Some(e);
                break;
            }
            offload.send(piece);
        }
        let error = match error {
            Some(error) => error,
            None => poll_fn(|cx| offload.poll_finish(cx)).await.unwrap_err(),
        };
        assert!(error.to_string().contains("no space"), "{error}");
        // Asking again is an error too, never a panic.
        assert!(poll_fn(|cx| offload.poll_finish(cx)).await.is_err());
    }
}
