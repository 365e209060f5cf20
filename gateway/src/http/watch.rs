//! Keeping a node's view of shared state in step with a store other nodes
//! change: a thread that catches up at once when the store says it changed
//! (PostgreSQL's `NOTIFY`), and every poll interval whether or not it said
//! so, which is all that runs when the store cannot tell. The halts in
//! force and the accepted-artifacts index are kept so.

use std::fmt::Display;
use std::sync::Weak;
use std::sync::mpsc::{RecvTimeoutError, TrySendError};
use std::time::Duration;

/// A store's way to tell that it changed: it calls the function it is given
/// then (and may call it when nothing changed) until it returns `false`.
pub type Subscribe = Box<dyn FnMut() -> bool + Send>;

/// Starts a thread named `name` that calls `catch_up` on the value behind
/// `target` when `subscribe`'s store says it changed, and every `interval`
/// in any case. The thread ends once `target` has no other holder. A failed
/// catch-up is reported once, as "cannot read `what`", until one succeeds
/// again; the view stays as it was meanwhile.
pub fn watch<T, E>(
    name: &str,
    what: &'static str,
    interval: Duration,
    subscribe: impl FnOnce(Subscribe),
    target: Weak<T>,
    catch_up: impl Fn(&T) -> Result<bool, E> + Send + 'static,
) -> std::io::Result<()>
where
    T: Send + Sync + 'static,
    E: Display,
{
    // One pending wake is enough: a catch-up reads everything.
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    subscribe(Box::new(move || {
        !matches!(wake.try_send(()), Err(TrySendError::Disconnected(())))
    }));
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let mut woken = Some(woken);
            let mut failing = false;
            loop {
                match woken.as_ref().map(|w| w.recv_timeout(interval)) {
                    Some(Ok(()) | Err(RecvTimeoutError::Timeout)) => {}
                    // The store stopped telling (or never could): poll.
                    Some(Err(RecvTimeoutError::Disconnected)) => {
                        woken = None;
                        std::thread::sleep(interval);
                    }
                    None => std::thread::sleep(interval),
                }
                let Some(target) = target.upgrade() else {
                    return;
                };
                match catch_up(&target) {
                    Ok(_) => failing = false,
                    Err(error) if !failing => {
                        failing = true;
                        eprintln!("cragate: cannot read {what}: {error}");
                    }
                    Err(_) => {}
                }
            }
        })
        .map(|_| ())
}
