//! Halt notices in force on this gateway (CRA Art. 19(3), 19(5), 20(3),
//! 20(4), 54(4); DESIGN.md, "halt notice"; docs/halts.md).
//!
//! [`Halts::accept`] is the one way a notice comes into force, whether an
//! administrator posted it (`POST /v1/halts`) or a supplier notified it: it
//! verifies the signed notice against the policy's `[[halt_issuers]]`
//! (the verifier's [`halt::verify`]), refuses a sequence that is not newer
//! than the issuer's last (a replay or a reordering), records the
//! `halt_notice` ledger entry, then stores the notice durably and puts it in
//! force, in that order, before it returns. A crash between the ledger
//! entry and the store leaves the notice on the ledger but not in force; no
//! `201` was sent, so the issuer sends it again and it is accepted then.
//!
//! [`Halts::blocking`] is what every product route asks, on every request
//! and after the verdict cache: a halt is never a cached verdict. It reads
//! an in-memory view that `accept` replaces before it returns. With a store
//! shared by several nodes ([`pg_halts::PgHaltStore`]), each node reads the
//! view again when another node changed it ([`Halts::watch`]): at once when
//! the store tells it (PostgreSQL's `LISTEN`), and at the latest at its
//! next poll of the store's version.
//!
//! After a notice is in force: who must be told ([`recipients`]), the
//! durable [`outbox`] of notifications to them ([`redb_outbox`] in the data
//! directory, [`pg_outbox`] in a database several nodes share), the worker
//! that delivers them with retries ([`deliver`], [`backoff`]), how a
//! notice becomes deliveries ([`propagate`]), and the feed a customer that
//! cannot expose an endpoint pulls instead ([`feed`], and [`pull`] on the
//! customer's side).

pub mod backoff;
pub mod deliver;
pub mod engine;
pub mod feed;
pub mod outbox;
pub mod pg_halts;
pub mod pg_outbox;
pub mod propagate;
pub mod pull;
pub mod receive;
pub mod recipients;
pub mod redb_outbox;
pub mod status;
pub mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use cragate_verifier::halt::{self, Action, HaltNotice, Unit};
use cragate_verifier::policy::Policy;
use jiff::Timestamp;

pub use engine::Recall;
pub use store::{HaltStore, Received, RedbHaltStore, StoreError, StoredHalt};

use crate::http::error::{ErrorKind, ErrorSource, Excerpt, GatewayError, HaltedBy};
use crate::ledger::entry::{Entry, EntryBody, HaltAction, Submission};
use crate::ledger::{AppendError, Appender, OperatorId};

/// A notice accepted by this gateway: the notice, how it was signed and
/// received, and whether a lift ended it.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The notice as signed.
    pub notice: HaltNotice,
    /// The stored record (signed form, payload, ledger index).
    pub stored: StoredHalt,
}

impl InForce {
    /// Whether it blocks supply now: a halt, recall or withdrawal no lift
    /// has ended.
    pub fn is_blocking(&self) -> bool {
        self.notice.action.blocks() && self.stored.lifted_by.is_none()
    }

    /// The 451 answer for `product`.
    pub fn refusal(&self, product: &str) -> GatewayError {
        GatewayError::new(
            ErrorKind::Halted(Box::new(HaltedBy {
                product: product.to_owned(),
                issuer: self.notice.issuer.clone(),
                sequence: self.notice.sequence,
                action: self.notice.action.as_str(),
                reason: self.notice.reason.clone(),
                advisory: self.notice.reference.advisory.clone(),
                authority_order: self.notice.reference.authority_order.clone(),
            })),
            ErrorSource::Client,
        )
    }
}

/// Why a notice was not put in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HaltError {
    /// The verifier refused it (400, 401, 403).
    #[error(transparent)]
    Refused(halt::HaltError),
    /// Its sequence is not newer than the issuer's last (409).
    #[error("sequence {sequence} of {issuer} is not newer than {last}")]
    Sequence {
        /// The issuer.
        issuer: String,
        /// The notice's sequence.
        sequence: u64,
        /// The last accepted.
        last: u64,
    },
    /// The ledger could not record it; nothing is in force (503).
    #[error("the ledger cannot record the notice: {0}")]
    Ledger(AppendError),
    /// The halt store failed after the ledger entry (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HaltError> for GatewayError {
    fn from(error: HaltError) -> Self {
        match error {
            HaltError::Refused(refused) => GatewayError::client(ErrorKind::HaltRefused(refused)),
            HaltError::Sequence {
                issuer,
                sequence,
                last,
            } => GatewayError::client(ErrorKind::HaltSequence {
                issuer: Excerpt::new(&issuer),
                sequence,
                last,
            }),
            HaltError::Ledger(error) => GatewayError::gateway(ErrorKind::Ledger(Box::new(error))),
            HaltError::Store(error) => {
                GatewayError::gateway(ErrorKind::Internal(error.to_string()))
            }
        }
    }
}

/// Halt state: the store, the ledger writer, the policy that says whom to
/// trust, and the view every request reads.
#[derive(Debug)]
pub struct Halts {
    policy: Arc<Policy>,
    store: Arc<dyn HaltStore>,
    appender: Arc<Appender>,
    /// Notices that block supply now.
    view: RwLock<Arc<Vec<Arc<InForce>>>>,
    /// One acceptance at a time: the sequence check, the ledger entry and
    /// the store write happen as one step per gateway.
    accepting: Mutex<()>,
    /// The store's version the view was read at.
    read_at: AtomicU64,
    /// One refresh at a time: a refresh that read the store earlier must
    /// not replace the view of one that read it later (the watch thread
    /// and an acceptance both refresh).
    refreshing: Mutex<()>,
}

/// How often a node asks a shared store whether another node changed the
/// halts in force: four times within the one second DESIGN.md allows
/// ("Scale"), so a notice is in force everywhere well within it.
pub const HALT_POLL_INTERVAL: Duration = Duration::from_millis(250);

impl Halts {
    /// Opens halt state from `store`.
    pub fn open(
        policy: Arc<Policy>,
        store: Arc<dyn HaltStore>,
        appender: Arc<Appender>,
    ) -> Result<Self, HaltError> {
        let halts = Self {
            policy,
            store,
            appender,
            view: RwLock::new(Arc::new(Vec::new())),
            accepting: Mutex::new(()),
            read_at: AtomicU64::new(u64::MAX),
            refreshing: Mutex::new(()),
        };
        halts.refresh()?;
        Ok(halts)
    }

    /// Verifies `signed_bytes`, records its `halt_notice` ledger entry and
    /// puts it in force, durably and in that order, before returning.
    /// Blocking: call it from a blocking thread.
    pub fn accept(
        &self,
        signed_bytes: &[u8],
        received: Received,
        now: Timestamp,
    ) -> Result<InForce, HaltError> {
        let verified = halt::verify(signed_bytes, &self.policy, now).map_err(HaltError::Refused)?;
        let notice = verified.notice().clone();
        let _one = self
            .accepting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _issuer = self.store.lock_issuer(&notice.issuer)?;
        if let Some(last) = self.store.last_sequence(&notice.issuer)?
            && notice.sequence <= last
        {
            return Err(HaltError::Sequence {
                issuer: notice.issuer.clone(),
                sequence: notice.sequence,
                last,
            });
        }
        let receipt = self
            .appender
            .append_blocking(ledger_submission(&notice, &verified, now)?)
            .map_err(HaltError::Ledger)?;
        let stored = StoredHalt {
            issuer: notice.issuer.clone(),
            sequence: notice.sequence,
            signed: String::from_utf8_lossy(signed_bytes).into_owned(),
            payload: String::from_utf8_lossy(verified.payload()).into_owned(),
            received,
            accepted_at: now,
            ledger_index: receipt.index,
            lifted_by: None,
        };
        self.store.put(&stored, &notice.lifts)?;
        self.refresh()?;
        Ok(InForce { notice, stored })
    }

    /// The first notice in force that blocks `unit`, if any.
    pub fn blocking(&self, unit: &Unit<'_>) -> Option<Arc<InForce>> {
        let view = self.view();
        view.iter().find(|h| h.notice.scope.covers(unit)).cloned()
    }

    /// Every notice that blocks supply now.
    pub fn view(&self) -> Arc<Vec<Arc<InForce>>> {
        Arc::clone(&self.view.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// One accepted notice, in force, lifted or a lift itself.
    pub fn one(&self, issuer: &str, sequence: u64) -> Result<Option<InForce>, HaltError> {
        self.store.one(issuer, sequence)?.map(in_force).transpose()
    }

    /// Every accepted lift, oldest first.
    pub fn lifts(&self) -> Result<Vec<InForce>, HaltError> {
        let mut lifts = Vec::new();
        for stored in self.store.all()? {
            let held = in_force(stored)?;
            if held.notice.action == Action::Lift {
                lifts.push(held);
            }
        }
        Ok(lifts)
    }

    /// Reads the view again if another node changed the store since it
    /// was read; whether it did.
    pub fn refresh_if_changed(&self) -> Result<bool, HaltError> {
        if self.store.version()? == self.read_at.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.refresh()?;
        Ok(true)
    }

    /// Keeps the view in step with a store other nodes change too: a
    /// thread asks the store's version at once when the store says it
    /// changed ([`HaltStore::subscribe`]), and every `interval`
    /// ([`HALT_POLL_INTERVAL`]) whether or not it said so, which is all
    /// that runs when the store cannot tell. The thread ends with the last
    /// other holder of `halts`. A failed read is reported and retried; the
    /// view stays as it was (the halts in force stay in force).
    pub fn watch(halts: &Arc<Self>, interval: Duration) -> std::io::Result<()> {
        crate::http::watch::watch(
            "halt-watch",
            "the shared halts",
            interval,
            |changed| halts.store.subscribe(changed),
            Arc::downgrade(halts),
            Self::refresh_if_changed,
        )
    }

    /// Reads the blocking notices from the store into the view.
    fn refresh(&self) -> Result<(), HaltError> {
        let _one = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let version = self.store.version()?;
        let mut blocking = Vec::new();
        for stored in self.store.all()? {
            let held = in_force(stored)?;
            if held.is_blocking() {
                blocking.push(Arc::new(held));
            }
        }
        *self.view.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(blocking);
        self.read_at.store(version, Ordering::Release);
        Ok(())
    }
}

/// A stored notice read back: its payload was verified when it was
/// accepted, so it is parsed again, not verified again (a later policy
/// change does not silently end a halt; a lift does).
fn in_force(stored: StoredHalt) -> Result<InForce, HaltError> {
    let notice = HaltNotice::from_json(stored.payload.as_bytes())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(InForce { notice, stored })
}

/// The `halt_notice` ledger entry of a verified notice.
fn ledger_submission(
    notice: &HaltNotice,
    verified: &halt::VerifiedNotice,
    now: Timestamp,
) -> Result<Submission, HaltError> {
    let issuer: OperatorId = notice.issuer.parse().map_err(|e| {
        HaltError::Refused(halt::HaltError::Malformed {
            detail: format!("issuer: {e}"),
        })
    })?;
    let action = match notice.action {
        Action::Halt => HaltAction::Halt,
        Action::Recall => HaltAction::Recall,
        Action::Withdraw => HaltAction::Withdraw,
        _ => HaltAction::Lift,
    };
    let entry = Entry {
        time: now,
        body: EntryBody::HaltNotice {
            issuer,
            sequence: notice.sequence,
            action,
            products: notice.scope.products.clone(),
            digests: notice.scope.digests.clone(),
            notice: verified.signed_digest(),
            reason: notice.reason.clone(),
        },
    };
    Submission::new(entry).map_err(|e| {
        HaltError::Refused(halt::HaltError::Malformed {
            detail: e.to_string(),
        })
    })
}
