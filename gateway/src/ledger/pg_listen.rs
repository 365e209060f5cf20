//! `LISTEN` on a connection of its own, so that a node hears at once what
//! another node sharing the database changed (`NOTIFY cragate_halts` when
//! the halts in force change, `NOTIFY cragate_outbox` when a notification
//! is queued), instead of at its next poll.
//!
//! Listening is a shortcut, never the only way: the callers keep polling
//! (the halts every 250 ms, the outbox at its next due time), so a lost
//! connection or an engine without `LISTEN` only makes a change arrive
//! later. A lost connection is opened again, after a pause that doubles
//! up to [`RECONNECT_MAX`]; an engine that refuses the `LISTEN` statement
//! itself is told once and not asked again. For the same reason a change
//! sends its `NOTIFY` inside a savepoint ([`notify`]): an engine that
//! refuses it still stores the change.

use std::time::Duration;

use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The first pause before a lost listening connection is opened again.
pub const RECONNECT_FIRST: Duration = Duration::from_millis(250);
/// The longest pause between attempts: a database back after a restart is
/// heard again within this.
pub const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// TCP keepalives of the listening connection, which is otherwise quiet:
/// one that died without a word (a cable, a failed-over address) is
/// noticed after the idle time and the probes, about a minute, and opened
/// again; the poll covers the gap.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
/// Time between keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Probes unanswered before the connection counts as dead.
pub const KEEPALIVE_RETRIES: u32 = 3;

/// How one listening connection ended.
enum Ended {
    /// The callback said nobody needs the notifications any more.
    Unwanted,
    /// The engine refused `LISTEN` itself.
    Unsupported(String),
    /// The connection could not be opened or was lost.
    Lost { listened: bool, error: String },
}

/// Listens on `channel` until `on_notify` returns `false`: calls it for
/// each notification, and once each time listening (re)starts, since a
/// change made while nobody listened is heard by no one. `on_notify` runs
/// on the database's runtime: it must not block.
pub(super) async fn run(
    mut config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    channel: &'static str,
    mut on_notify: impl FnMut() -> bool + Send,
) {
    config
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES);
    let mut pause = RECONNECT_FIRST;
    let mut lost = false;
    loop {
        match listen_once(&config, tls.clone(), channel, &mut on_notify, &mut lost).await {
            Ended::Unwanted => return,
            Ended::Unsupported(error) => {
                eprintln!(
                    "cragate: the database refuses LISTEN {channel} ({error}): changes by other nodes are seen at the next poll"
                );
                return;
            }
            Ended::Lost { listened, error } => {
                if listened {
                    pause = RECONNECT_FIRST;
                }
                if !lost {
                    eprintln!(
                        "cragate: LISTEN {channel}: {error}; opening it again, polling meanwhile"
                    );
                    lost = true;
                }
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2).min(RECONNECT_MAX);
            }
        }
    }
}

/// One connection: `LISTEN`, then every message until it ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    channel: &'static str,
    on_notify: &mut (impl FnMut() -> bool + Send),
    lost: &mut bool,
) -> Ended {
    let (client, mut connection) = match config.connect(tls).await {
        Ok(pair) => pair,
        Err(error) => {
            return Ended::Lost {
                listened: false,
                error: describe(&error),
            };
        }
    };
    let statement = format!("LISTEN {channel}");
    let listen = client.batch_execute(&statement);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut listen, if !listening => match done {
                Ok(()) => {
                    listening = true;
                    if *lost {
                        eprintln!("cragate: LISTEN {channel}: listening again");
                        *lost = false;
                    }
                    if !on_notify() {
                        return Ended::Unwanted;
                    }
                }
                Err(error) if refused(&error) => {
                    return Ended::Unsupported(describe(&error));
                }
                Err(error) => {
                    return Ended::Lost { listened: false, error: describe(&error) };
                }
            },
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(notification))) => {
                    if notification.channel() == channel && !on_notify() {
                        return Ended::Unwanted;
                    }
                }
                // Notices (warnings from the server) change nothing.
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    return Ended::Lost { listened: listening, error: describe(&error) };
                }
                None => {
                    return Ended::Lost {
                        listened: listening,
                        error: "the server closed the connection".to_owned(),
                    };
                }
            },
        }
    }
}

/// Sends `NOTIFY channel` as part of `txn`, inside a savepoint, so that
/// an engine that refuses `NOTIFY` (a feature it lacks, a syntax it does
/// not know) leaves the rest of the transaction as it was: the other
/// nodes poll, and see the change then. Any other failure is returned.
pub async fn notify(
    txn: &mut deadpool_postgres::Transaction<'_>,
    channel: &str,
) -> Result<(), tokio_postgres::Error> {
    let savepoint = txn.savepoint("cragate_notify").await?;
    match savepoint.batch_execute(&format!("NOTIFY {channel}")).await {
        Ok(()) => savepoint.commit().await,
        Err(error) if refused(&error) => savepoint.rollback().await,
        Err(error) => Err(error),
    }
}

/// Whether the server refused the statement as a feature it lacks or a
/// syntax it does not know (SQLSTATE classes 0A and 42), rather than
/// failed for another reason (a shutdown, say) worth trying again.
fn refused(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| matches!(db.code().code().get(..2), Some("0A" | "42")))
}

/// An error with its causes.
fn describe(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
