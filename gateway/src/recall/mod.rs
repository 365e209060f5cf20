//! The recall engine: what happens after a halt, recall or withdrawal
//! notice is in force (CRA Art. 19(3), 19(5), 20(3), 20(4), 22, 54(4)):
//! who must be told ([`recipients`]), the durable [`outbox`] of
//! notifications to them ([`redb_outbox`] in the data directory), the
//! worker that delivers them with retries ([`deliver`], [`backoff`]), and
//! how a notice becomes deliveries ([`propagate`]).

pub mod backoff;
pub mod deliver;
pub mod feed;
pub mod outbox;
pub mod pg_outbox;
pub mod propagate;
pub mod receive;
pub mod recipients;
pub mod redb_outbox;
pub mod status;
