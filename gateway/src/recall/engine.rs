//! The recall engine of a running gateway: the outbox, the customers a
//! notice in force is propagated to, the suppliers that may notify this
//! gateway, and the delivery worker (CRA Art. 19(5), 20(4)).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;

use super::deliver::Deliverer;
use super::outbox::{OUTBOX_FILE, Outbox, OutboxError};
use super::propagate::Propagator;
use super::redb_outbox::RedbOutbox;
use crate::config::partners::{Customer, Partners, Supplier};
use crate::ledger::Appender;

/// The recall engine of a running gateway.
#[derive(Debug)]
pub struct Recall {
    /// The outbox.
    pub outbox: Arc<dyn Outbox>,
    /// Turns notices in force into deliveries.
    pub propagator: Propagator,
    /// `[[suppliers]]`.
    pub suppliers: Vec<Supplier>,
}

impl Recall {
    /// Opens the outbox in `data_dir` for these partners.
    pub fn open(data_dir: &Path, partners: &Partners) -> Result<Self, OutboxError> {
        let outbox: Arc<dyn Outbox> = Arc::new(RedbOutbox::open(&data_dir.join(OUTBOX_FILE))?);
        Ok(Self::with_outbox(outbox, partners))
    }

    /// The engine over any outbox. The worker is woken by this gateway's
    /// own enqueues, and by those of other nodes when the outbox is shared
    /// and can tell ([`Outbox::subscribe`]).
    pub fn with_outbox(outbox: Arc<dyn Outbox>, partners: &Partners) -> Self {
        let wake = Arc::new(Notify::new());
        let weak = Arc::downgrade(&wake);
        outbox.subscribe(Box::new(move || {
            weak.upgrade().map(|wake| wake.notify_one()).is_some()
        }));
        Self {
            propagator: Propagator {
                outbox: Arc::clone(&outbox),
                customers: partners.customers.clone(),
                wake,
            },
            outbox,
            suppliers: partners.suppliers.clone(),
        }
    }

    /// `[[customers]]`.
    pub fn customers(&self) -> &[Customer] {
        &self.propagator.customers
    }

    /// The delivery worker, to be run on the gateway's runtime.
    pub fn deliverer(&self, ledger: Arc<Appender>) -> Deliverer {
        let secrets: HashMap<String, _> = self
            .customers()
            .iter()
            .map(|c| (c.id.clone(), c.secret.clone()))
            .collect();
        Deliverer::new(
            Arc::clone(&self.outbox),
            secrets,
            ledger,
            Arc::clone(&self.propagator.wake),
        )
    }
}
