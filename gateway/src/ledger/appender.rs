//! Group commit: one writer thread batches concurrent appends into one
//! durable commit and answers each caller only after that commit.
//!
//! A request that decides something calls [`Appender::append`] and sends its
//! response only once it returns `Ok`: an "accepted" that was answered is on
//! disk. The queue is bounded; when it is full, `append` fails at once with
//! [`AppendError::Overloaded`] instead of queueing without limit.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::entry::Submission;
use super::{LedgerError, LedgerStore, Receipt};

/// Most entries written in one commit. A commit costs one fsync pair
/// whatever its size; past about a thousand entries the batch's own write
/// time dominates and callers wait longer for nothing.
pub const MAX_BATCH: usize = 1024;
/// Appends waiting at most: a few batches' worth, so that a stalled disk
/// turns into prompt "overloaded" answers rather than unbounded memory.
pub const QUEUE_CAPACITY: usize = 8 * MAX_BATCH;

/// Why an append did not happen.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The queue is full; the caller should answer 503 and not accept.
    #[error("ledger queue is full")]
    Overloaded,
    /// The appender has stopped.
    #[error("ledger appender has stopped")]
    Stopped,
    /// The commit failed; nothing of the batch was written.
    #[error("ledger commit failed: {0}")]
    Store(Arc<LedgerError>),
}

struct Job {
    submission: Submission,
    reply: oneshot::Sender<Result<Receipt, AppendError>>,
}

/// The group-commit writer in front of a [`LedgerStore`].
#[derive(Debug)]
pub struct Appender {
    queue: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Appender {
    /// Starts the writer thread for `store`.
    pub fn start(store: Arc<dyn LedgerStore>) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::sync_channel(QUEUE_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || write_loop(store.as_ref(), &jobs))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Appends durably; resolves once the entry's batch has committed.
    pub async fn append(&self, submission: Submission) -> Result<Receipt, AppendError> {
        let receiver = self.enqueue(submission)?;
        receiver.await.unwrap_or(Err(AppendError::Stopped))
    }

    /// [`Appender::append`] for callers outside an async runtime.
    pub fn append_blocking(&self, submission: Submission) -> Result<Receipt, AppendError> {
        let receiver = self.enqueue(submission)?;
        receiver
            .blocking_recv()
            .unwrap_or(Err(AppendError::Stopped))
    }

    fn enqueue(
        &self,
        submission: Submission,
    ) -> Result<oneshot::Receiver<Result<Receipt, AppendError>>, AppendError> {
        let (reply, receiver) = oneshot::channel();
        let queue = self.queue.as_ref().ok_or(AppendError::Stopped)?;
        queue
            .try_send(Job { submission, reply })
            .map_err(|error| match error {
                TrySendError::Full(_) => AppendError::Overloaded,
                TrySendError::Disconnected(_) => AppendError::Stopped,
            })?;
        Ok(receiver)
    }
}

impl Drop for Appender {
    /// Lets queued appends finish, then stops the writer.
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(store: &dyn LedgerStore, jobs: &Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (submissions, replies): (Vec<_>, Vec<_>) = batch
            .into_iter()
            .map(|job| (job.submission, job.reply))
            .unzip();
        match store.append_batch(&submissions) {
            Ok(receipts) => {
                for (reply, receipt) in replies.into_iter().zip(receipts) {
                    let _ = reply.send(Ok(receipt));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for reply in replies {
                    let _ = reply.send(Err(AppendError::Store(error.clone())));
                }
            }
        }
    }
}
