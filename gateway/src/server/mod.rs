//! `cragate serve`: a hyper + rustls server in front of a catalog that lets
//! through only what the policy accepts. This layer starts and runs the
//! process: it opens the shared [`Gateway`] state, binds the listener,
//! runs the worker threads and shuts down; each request is handed to
//! [`crate::routes::handle`], and the phases it goes through are documented
//! in [`crate::pipeline`].

pub mod feeds;
pub mod listener;
pub mod tls;

use std::sync::Arc;

use anyhow::Context;
use cragate_verifier::policy::Policy;
use jiff::Timestamp;
use tokio::sync::Semaphore;

use crate::config::{Config, UpstreamConfig, policies};
use crate::http::auth::AdminAuth;
use crate::http::budget::ByteBudget;
use crate::http::files::DataLock;
use crate::http::temp::ProcessTemp;
use crate::ledger::{Appender, LedgerStore, Location};
use crate::pipeline::cache::{DigestMemo, VerdictCache};
use crate::pipeline::index::{
    ACCEPTED_POLL_INTERVAL, AcceptedIndex, Reference, Rejudge, references,
};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::oci::OciGate;
use crate::pipeline::pg_accepted::PgAcceptedStore;
use crate::pipeline::record::LedgerSink;
use crate::pipeline::{DecisionSink, Gateway};
use crate::recall::pg_halts::PgHaltStore;
use crate::recall::propagate::notification_id;
use crate::recall::{HALT_POLL_INTERVAL, HaltStore, Halts, RedbHaltStore};
use crate::upstream::oci::OciUpstream;
use crate::upstream::{FileCatalog, HttpUpstream, Upstream};

/// The halt store's file in the data directory.
pub const HALTS_FILE: &str = "halts.redb";

/// The ledger as the gateway uses it: one handle for reads, the
/// group-commit writer on the same handle, and the decision sink in front
/// of the writer.
struct OpenLedger {
    store: Arc<dyn LedgerStore>,
    appender: Arc<Appender>,
    sink: Arc<dyn DecisionSink>,
}

/// Opens the ledger (the data directory's file, or the shared database),
/// creating it and its signing key on first start.
fn open_ledger(location: &Location) -> anyhow::Result<OpenLedger> {
    let store = location
        .open(crate::ledger::redb_store::StoreOptions::default())
        .with_context(|| format!("cannot open the ledger {}", location.describe()))?;
    let appender = crate::ledger::Appender::start(Arc::clone(&store))
        .context("cannot start the ledger writer")?;
    let appender = Arc::new(appender);
    let sink = Arc::new(LedgerSink::new(Arc::clone(&appender)));
    Ok(OpenLedger {
        store,
        appender,
        sink,
    })
}

impl Gateway {
    /// Opens the upstream and the accepted index.
    pub async fn open(config: Config, policy: Policy) -> anyhow::Result<Self> {
        // Before anything in the data folder is touched.
        let data_lock = DataLock::take(&config.data_dir)?;
        let limits = &config.limits;
        let (upstream, accepted, temp_dir, temp) = match &config.upstream {
            UpstreamConfig::Dir(root) => {
                let catalog = FileCatalog::open(root)
                    .with_context(|| format!("cannot open the catalog {}", root.display()))?;
                let accepted = rebuild_index(&catalog, &policy, limits.max_listing_bytes).await?;
                let temp_dir = catalog.temp_dir();
                (Upstream::File(catalog), Some(accepted), temp_dir, None)
            }
            UpstreamConfig::Http(base) => {
                let upstream = HttpUpstream::new(base.clone(), limits.upstream_timeout)?;
                // Its accepted listings are read once the ledger is open:
                // they are kept beside it.
                let parent = config.data_dir.join("tmp");
                let temp = ProcessTemp::create(&parent)
                    .with_context(|| format!("cannot prepare {}", parent.display()))?;
                let temp_dir = temp.path().to_path_buf();
                (
                    Upstream::Http(Box::new(upstream)),
                    None,
                    temp_dir,
                    Some(temp),
                )
            }
        };
        let admin = AdminAuth {
            client_certificates: config
                .tls
                .as_ref()
                .is_some_and(|tls| tls.admin_client_ca.is_some()),
            bearer_token: config.admin.bearer_token.clone(),
        };
        if !admin.is_configured() {
            eprintln!(
                "cragate: admin routes are closed: neither [tls] admin_client_ca nor [admin] bearer_token_file is set"
            );
        }
        if admin.bearer_token.is_some() && config.tls.is_none() && !config.listen.ip().is_loopback()
        {
            eprintln!(
                "cragate: warning: the admin bearer token is accepted without TLS on {}: it crosses the network in clear",
                config.listen
            );
        }
        let OpenLedger {
            store: ledger,
            appender,
            sink: decisions,
        } = open_ledger(&Location::new(
            &config.data_dir,
            config.ledger.as_deref(),
            config.ledger_key.as_deref(),
        ))?;
        // The outbox lives beside the ledger too: one outbox in the shared
        // database for every node (each delivery claimed by one node), or
        // recall.redb in the data directory.
        let recall = match ledger.database() {
            Some(database) => crate::recall::Recall::with_outbox(
                Arc::new(crate::recall::pg_outbox::PgOutbox::new(database)),
                &config.partners,
            ),
            None => crate::recall::Recall::open(&config.data_dir, &config.partners)
                .context("cannot open the recall outbox")?,
        };
        let policy = Arc::new(policy);
        let accepted = match (accepted, ledger.database()) {
            // A file catalog of nodes sharing a database (and so, for
            // their artifacts to be served by each, one catalog folder):
            // what one node accepts is told to the others through it.
            (Some(accepted), Some(database)) => {
                let accepted = accepted
                    .share(
                        Arc::new(PgAcceptedStore::new(database)),
                        rejudge_under(&policy),
                    )
                    .context("cannot read the accepted listings in the ledger's database")?;
                accepted
                    .watch(ACCEPTED_POLL_INTERVAL)
                    .context("cannot start the watch on the shared accepted listings")?;
                accepted
            }
            (Some(accepted), None) => accepted,
            (None, database) => open_accepted(&config, &policy, database)?,
        };
        // Halts in force live beside the ledger: in the shared database
        // when the ledger is in one (every node sees every halt), else in
        // the data directory.
        let halts_file = config.data_dir.join(HALTS_FILE);
        let (halt_store, halts_at): (Arc<dyn HaltStore>, String) = match ledger.database() {
            Some(database) => (
                Arc::new(PgHaltStore::new(database)),
                "the ledger's database".to_owned(),
            ),
            None => (
                Arc::new(
                    RedbHaltStore::open(&halts_file)
                        .with_context(|| format!("cannot open {}", halts_file.display()))?,
                ),
                halts_file.display().to_string(),
            ),
        };
        let shared_halts = ledger.database().is_some();
        let halts = Arc::new(
            Halts::open(Arc::clone(&policy), halt_store, Arc::clone(&appender))
                .with_context(|| format!("cannot read the halts in {halts_at}"))?,
        );
        if shared_halts {
            Halts::watch(&halts, HALT_POLL_INTERVAL)
                .context("cannot start the watch on the shared halts")?;
        }
        let oci = match &config.oci {
            None => None,
            Some(oci) => Some(OciGate::new(OciUpstream::new(
                oci,
                limits.upstream_timeout,
            )?)),
        };
        Ok(Self {
            oci,
            recall: Arc::new(recall),
            cache: VerdictCache::new(limits.verdict_cache_entries),
            digests: DigestMemo::default(),
            listing_budget: ByteBudget::new(limits.max_listing_bytes_in_flight),
            policy,
            halts,
            upstream,
            accepted,
            metrics: Metrics::default(),
            decisions,
            appender,
            ledger,
            temp_dir,
            temp,
            data_lock,
            admin,
            config,
        })
    }
}

/// Runs the gateway until SIGTERM or SIGINT, then lets requests in flight
/// finish (up to the shutdown grace period).
///
/// Connections are served by `workers` threads, each with its own
/// single-threaded event loop accepting from the same listening socket, as
/// nginx's worker processes do: a request and its upstream exchange stay on
/// one thread, so answering one costs no hand-over between threads. What
/// the workers share (policy, caches, ledger writer, the connection budget)
/// is in [`Gateway`]; verification runs on each loop's blocking pool.
pub async fn run(config: Config, policy: Policy) -> anyhow::Result<()> {
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    let gateway = Arc::new(Gateway::open(config, policy).await?);
    let listener = std::net::TcpListener::bind(gateway.config.listen)
        .with_context(|| format!("cannot listen on {}", gateway.config.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(path) = &gateway.config.address_file {
        std::fs::write(path, format!("{address}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "cragate: policy {} {}, upstream {}, {} accepted artifacts, {} workers",
        gateway.policy.name(),
        gateway.policy.digest(),
        gateway.upstream.describe(),
        gateway.accepted.len(),
        gateway.config.workers,
    );
    eprintln!(
        "cragate: recall: {} customers, {} suppliers, {} deliveries in the outbox",
        gateway.recall.customers().len(),
        gateway.recall.suppliers.len(),
        gateway.recall.outbox.len().unwrap_or(0),
    );
    requeue(&gateway).await;
    // The delivery worker runs on this loop, beside the signal handling:
    // it only waits on the network and hands commits to blocking threads.
    let deliverer = Arc::new(gateway.recall.deliverer(Arc::clone(&gateway.appender)));
    let delivering = tokio::spawn(deliverer.run());
    // So do the pollers of the suppliers' feeds this gateway pulls.
    let polling = feeds::spawn(&gateway);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (exited, mut first_exit) = tokio::sync::mpsc::unbounded_channel();
    let connections = Arc::new(Semaphore::new(gateway.config.limits.max_connections));
    let mut workers = Vec::with_capacity(gateway.config.workers);
    for n in 0..gateway.config.workers {
        let worker = Worker {
            gateway: Arc::clone(&gateway),
            listener: listener.try_clone()?,
            tls: tls.clone(),
            connections: Arc::clone(&connections),
            stopped: stopped.clone(),
        };
        let exited = exited.clone();
        let thread = std::thread::Builder::new()
            .name(format!("cragate-worker-{n}"))
            .spawn(move || {
                let result = worker.run();
                let _ = exited.send(());
                result
            })
            .context("cannot start a worker thread")?;
        workers.push(thread);
    }
    drop((listener, exited));
    println!("listening on {scheme}://{address}");
    // Until a signal, or until a worker ends on its own (which is a
    // failure: the others stop too, and its error is the process's).
    tokio::select! {
        () = listener::shutdown_signal() => {},
        _ = first_exit.recv() => {},
    }
    eprintln!("cragate: shutting down: no new connections; finishing requests in flight");
    let _ = stop.send(true);
    delivering.abort();
    for poller in &polling {
        poller.abort();
    }
    tokio::task::spawn_blocking(move || {
        let mut result = Ok(());
        for worker in workers {
            let outcome = worker
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker thread panicked")));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
    .await
    .context("cannot wait for the workers")?
}

/// A notice put in force just before a crash may not have been queued for
/// the customers yet: every notice in force is queued again (a delivery
/// already in the outbox is not added twice), and so is every lift that
/// has no delivery yet (a lift is not in force, so it is not in the view).
async fn requeue(gateway: &Arc<Gateway>) {
    let gateway = Arc::clone(gateway);
    let done = tokio::task::spawn_blocking(move || {
        let mut notices: Vec<crate::recall::InForce> = gateway
            .halts
            .view()
            .iter()
            .map(|held| held.as_ref().clone())
            .collect();
        match gateway.halts.lifts() {
            Ok(lifts) => notices.extend(lifts.into_iter().filter(|lift| {
                let id = notification_id(&lift.notice.issuer, lift.notice.sequence);
                gateway
                    .recall
                    .outbox
                    .deliveries(&id)
                    .map_or(true, |queued| queued.is_empty())
            })),
            Err(error) => eprintln!("cragate: recall: cannot read the lifts to queue: {error}"),
        }
        for held in &notices {
            if let Err(error) = crate::routes::notifications::propagate(&gateway, held) {
                eprintln!(
                    "cragate: recall: cannot queue {}/{}: {error}",
                    held.notice.issuer, held.notice.sequence
                );
            }
        }
    })
    .await;
    if let Err(error) = done {
        eprintln!("cragate: recall: the queueing at start failed: {error}");
    }
}

/// One worker thread: a single-threaded event loop serving connections
/// from the shared listening socket until the gateway stops.
struct Worker {
    gateway: Arc<Gateway>,
    listener: std::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    connections: Arc<Semaphore>,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Worker {
    fn run(self) -> anyhow::Result<()> {
        let Self {
            gateway,
            listener,
            tls,
            connections,
            mut stopped,
        } = self;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a worker's event loop")?;
        let result = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let stop = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            listener::serve(gateway, listener, tls, connections, stop).await
        });
        runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        result
    }
}

/// The accepted index of an HTTP upstream, kept beside the ledger: in the
/// shared database when the ledger is in one (every node appends there and
/// applies what the others append, judged under its own policy), else in
/// `DATA_DIR/accepted-artifacts`. Each product's last listing is judged
/// again under the policy in force.
fn open_accepted(
    config: &Config,
    policy: &Arc<Policy>,
    database: Option<crate::ledger::PgDatabase>,
) -> anyhow::Result<AcceptedIndex> {
    let rejudge = rejudge_under(policy);
    match database {
        Some(database) => {
            let accepted = AcceptedIndex::kept(Arc::new(PgAcceptedStore::new(database)), rejudge)
                .context("cannot read the accepted listings in the ledger's database")?;
            accepted
                .watch(ACCEPTED_POLL_INTERVAL)
                .context("cannot start the watch on the shared accepted listings")?;
            Ok(accepted)
        }
        None => {
            let path = config.data_dir.join("accepted-artifacts");
            AcceptedIndex::persistent(&path, rejudge)
                .with_context(|| format!("cannot read {}", path.display()))
        }
    }
}

/// How a stored listing is judged again: under `policy`, now.
fn rejudge_under(policy: &Arc<Policy>) -> Arc<Rejudge> {
    let policy = Arc::clone(policy);
    Arc::new(move |product: &str, listing: &[u8]| {
        judged_references(&policy, product, listing, Timestamp::now())
    })
}

/// Rebuilds the accepted index from the file catalog: every stored listing
/// is evaluated under the policy in force now.
async fn rebuild_index(
    catalog: &FileCatalog,
    policy: &Policy,
    limit: u64,
) -> anyhow::Result<AcceptedIndex> {
    let index = AcceptedIndex::in_memory();
    let now = Timestamp::now();
    for (id, bytes) in catalog.all_listings(limit)? {
        if let Some((version, references)) = judged_references(policy, &id, &bytes, now) {
            index.restore(&id, &version, references)?;
        }
    }
    Ok(index)
}

/// The version and the artifacts a stored listing of `product`
/// references, when the policy in force accepts it as that product's
/// listing now; a listing it denies, or that cannot be used, is reported
/// and backs nothing.
fn judged_references(
    policy: &Policy,
    product: &str,
    bytes: &[u8],
    now: Timestamp,
) -> Option<(String, Vec<Reference>)> {
    match policies::evaluate(policy, bytes, now) {
        Ok((listing, _)) if listing.product_id().as_str() != product => {
            eprintln!("cragate: stored listing {product} names another product; not used");
            None
        }
        Ok((listing, verdict)) if verdict.decision().accepts() => Some((
            verdict.listing().version.clone(),
            references(listing.artifacts()),
        )),
        Ok(_) => {
            eprintln!(
                "cragate: stored listing {product} does not pass the policy in force: it backs no artifact"
            );
            None
        }
        Err(error) => {
            eprintln!("cragate: stored listing {product} cannot be used: {error}");
            None
        }
    }
}
