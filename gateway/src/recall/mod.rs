//! The recall engine: what happens after a halt, recall or withdrawal
//! notice is in force (CRA Art. 19(3), 19(5), 20(3), 20(4), 22, 54(4)):
//! who must be told ([`recipients`]), the durable [`outbox`] of
//! notifications to them ([`redb_outbox`] in the data directory), the
//! worker that delivers them with retries ([`deliver`], [`backoff`]), and
//! how a notice becomes deliveries ([`propagate`]), receiving from
//! suppliers ([`receive`]), the pull feed ([`feed`]) and where a
//! notification stands ([`status`]).

pub mod backoff;
pub mod deliver;
pub mod feed;
pub mod outbox;
pub mod propagate;
pub mod receive;
pub mod recipients;
pub mod redb_outbox;
pub mod status;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::partners::{Customer, Partners, Supplier};
use crate::ledger::Appender;
use deliver::Deliverer;
use outbox::{OUTBOX_FILE, Outbox, OutboxError};
use propagate::Propagator;
use redb_outbox::RedbOutbox;

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

    /// The engine over any outbox.
    pub fn with_outbox(outbox: Arc<dyn Outbox>, partners: &Partners) -> Self {
        Self {
            propagator: Propagator {
                outbox: Arc::clone(&outbox),
                customers: partners.customers.clone(),
                wake: Arc::new(Notify::new()),
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
