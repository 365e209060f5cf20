//! The state every request sees: configuration, policy, upstream, caches,
//! metrics and the ledger, shared by all connections and worker threads.
//! [`crate::server`] opens it; the pipeline and the routes read it.

use std::path::PathBuf;
use std::sync::Arc;

use cragate_verifier::policy::Policy;

use super::DecisionSink;
use super::cache::{DigestMemo, VerdictCache};
use super::index::AcceptedIndex;
use super::metrics::Metrics;
use crate::config::Config;
use crate::http::auth::AdminAuth;
use crate::http::budget::ByteBudget;
use crate::http::files::DataLock;
use crate::http::temp::ProcessTemp;
use crate::ledger::{Appender, LedgerStore};
use crate::recall::Halts;
use crate::recall::Recall;
use crate::upstream::Upstream;

/// Everything a request needs, shared by all connections.
#[derive(Debug)]
pub struct Gateway {
    /// The configuration in force.
    pub config: Config,
    /// The compiled policy.
    pub policy: Arc<Policy>,
    /// Where accepted products go.
    pub upstream: Upstream,
    /// Digests of the artifacts accepted listings reference.
    pub accepted: AcceptedIndex,
    /// Verdicts by what they were computed from.
    pub cache: VerdictCache,
    /// Digests of listings read again and again.
    pub digests: DigestMemo,
    /// The listing bytes held in flight across all connections
    /// (`max_listing_bytes_in_flight`).
    pub listing_budget: ByteBudget,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// Where each decision is recorded before its response is sent: the
    /// ledger in the data directory (see [`super::record`]).
    pub decisions: Arc<dyn DecisionSink>,
    /// The same ledger, for the admin API's reads (the process holds the
    /// file open, so reads go through this handle; writes go through the
    /// sink's group-commit writer).
    pub ledger: Arc<dyn LedgerStore>,
    /// The ledger's group-commit writer, for entries the admin API records.
    pub appender: Arc<Appender>,
    /// Folder for uploads in progress, on the catalog's file system: this
    /// process's own.
    pub temp_dir: PathBuf,
    /// The temporary folder of an HTTP upstream's uploads and spooled
    /// downloads (the file catalog holds its own), removed when the
    /// gateway ends.
    pub temp: Option<ProcessTemp>,
    /// The data folder's lock, held while the gateway lives.
    pub data_lock: DataLock,
    /// How administrators authenticate.
    pub admin: AdminAuth,
    /// The recall engine: the outbox of notifications to customers, and
    /// the suppliers that may notify us.
    pub recall: Arc<Recall>,
    /// Halt notices in force, checked on every product request after the
    /// verdict cache.
    pub halts: Arc<Halts>,
    /// The OCI registry gate, when `[oci]` is configured.
    pub oci: Option<super::oci::OciGate>,
}
