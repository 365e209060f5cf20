//! Ledger benchmark: durable decisions per second through the group-commit
//! appender with concurrent writers, bytes per entry on disk, and query
//! latency for one product in a large ledger.
//!
//! `cargo bench -p cragate --bench ledger`; `LEDGER_BENCH_ENTRIES` sets the
//! size of the query ledger (default 1,000,000), `LEDGER_BENCH_DECISIONS`
//! the decisions per throughput run (default 40,000).
//! Files go under the target directory, on the same disk as the build.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cragate::ledger::entry::{Client, Entry, EntryBody};
use cragate::ledger::{
    Appender, DataDir, LedgerStore, Query, RedbLedger, StoreOptions, Submission,
};
use cragate_verifier::Digest;
use cragate_verifier::verdict::Decision;

/// Products in the query ledger: 100 entries each at the default size.
const PRODUCTS: u64 = 10_000;
/// Entries per commit while building the query ledger.
const BUILD_BATCH: u64 = 10_000;
/// Product queries timed.
const QUERIES: usize = 1_000;

fn main() {
    let entries = env_number("LEDGER_BENCH_ENTRIES", 1_000_000);
    let decisions = env_number("LEDGER_BENCH_DECISIONS", 40_000);
    println!("ledger benchmark on {} cores", cores());
    // Baseline in the same run: lookup rows written in every commit, as
    // the ledger did before they were batched.
    let every_commit = StoreOptions {
        lookup_batch: 0,
        ..StoreOptions::default()
    };
    for writers in [8, 32, 64] {
        let baseline = throughput(
            writers,
            decisions,
            every_commit,
            "lookup rows in every commit",
        );
        let batched = throughput(
            writers,
            decisions,
            StoreOptions::default(),
            "lookup rows batched",
        );
        println!(
            "  {writers} writers: batched / every commit = {:.2}x",
            batched / baseline
        );
    }
    query_latency(entries);
}

/// A decision as the gateway records it: one artifact and one DoC digest.
fn decision(n: u64) -> Submission {
    Submission::new(Entry {
        time: jiff::Timestamp::from_second(1_800_000_000 + (n / 10) as i64).unwrap(),
        body: EntryBody::Decision {
            product: format!("product-{:05}", n % PRODUCTS).parse().unwrap(),
            release: Some("4.2.1".into()),
            verdict: Decision::Allow,
            policy: Digest::of(b"policies/importer.toml"),
            evidence: vec![Digest::of(&n.to_be_bytes()), Digest::of(&n.to_le_bytes())],
            client: Client {
                identity: Some("importer-portal".parse().unwrap()),
                address: "198.51.100.23:52114".into(),
            },
            support_end: Some("2031-12-31".parse().unwrap()),
        },
    })
    .unwrap()
}

/// Durable decisions per second with `writers` concurrent writers; prints
/// the run and returns the rate.
fn throughput(writers: u64, decisions: u64, options: StoreOptions, label: &str) -> f64 {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let data = DataDir::new(dir.path());
    let store = Arc::new(Counting::new(data.open(options).unwrap()));
    let cpu_before = cpu_seconds();
    let appender = Arc::new(Appender::start(store.clone()).unwrap());
    let per_writer = decisions / writers;
    let started = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let appender = appender.clone();
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    appender
                        .append_blocking(decision(w * per_writer + i))
                        .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let total = per_writer * writers;
    let batches = store.batches.load(Ordering::Relaxed);
    drop(appender);
    drop(store);
    let bytes = std::fs::metadata(data.ledger_file()).unwrap().len();
    let rate = total as f64 / elapsed.as_secs_f64();
    println!(
        "durable decisions/s, {writers:>2} writers, {label}: {rate:>8.0}  ({total} decisions in {:.2} s, {batches} commits, {:.1} per commit, {:.1} µs CPU per decision, file {:.0} bytes/decision)",
        elapsed.as_secs_f64(),
        total as f64 / batches as f64,
        cpu * 1e6 / total as f64,
        bytes as f64 / total as f64,
    );
    rate
}

/// CPU time of this process so far (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and
    // stime are the 12th and 13th, in clock ticks (100 per second here).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn query_latency(entries: u64) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let data = DataDir::new(dir.path());
    let ledger = data.open(StoreOptions::default()).unwrap();
    let started = Instant::now();
    let mut n = 0;
    while n < entries {
        let end = (n + BUILD_BATCH).min(entries);
        let batch: Vec<_> = (n..end).map(decision).collect();
        ledger.append_batch(&batch).unwrap();
        n = end;
    }
    ledger.checkpoint().unwrap();
    let built = started.elapsed();
    let bytes = std::fs::metadata(data.ledger_file()).unwrap().len();
    println!(
        "built {entries} entries in {:.1} s ({:.0}/s in batches of {BUILD_BATCH}); file {bytes} bytes, {:.0} bytes/entry",
        built.as_secs_f64(),
        entries as f64 / built.as_secs_f64(),
        bytes as f64 / entries as f64
    );
    let mut total = 0;
    for (table, stored, overhead) in ledger.table_bytes().unwrap() {
        total += stored + overhead;
        println!(
            "  {table:<12} {:>6.1} bytes/entry stored + {:>6.1} page overhead",
            stored as f64 / entries as f64,
            overhead as f64 / entries as f64
        );
    }
    println!(
        "  tables total {:.0} bytes/entry; the rest of the file is free pages",
        total as f64 / entries as f64
    );
    let mut latencies = Vec::with_capacity(QUERIES);
    let mut found = 0;
    for q in 0..QUERIES as u64 {
        let product = format!("product-{:05}", (q * 7919) % PRODUCTS);
        let query = Query {
            product: Some(product.parse().unwrap()),
            ..Query::default()
        };
        let started = Instant::now();
        found += ledger.query(&query).unwrap().len();
        latencies.push(started.elapsed());
    }
    latencies.sort_unstable();
    println!(
        "query one product among {entries} entries ({} entries each): p50 {:?}, p99 {:?}, max {:?}",
        found / QUERIES,
        latencies[QUERIES / 2],
        latencies[QUERIES * 99 / 100],
        latencies[QUERIES - 1]
    );
    let started = Instant::now();
    let proof = ledger.inclusion_proof(entries / 3, entries).unwrap();
    println!(
        "inclusion proof at size {entries}: {} hashes in {:?}",
        proof.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let report = ledger
        .audit(
            ledger.verifier_key(),
            jiff::civil::Date::constant(2030, 1, 1),
        )
        .unwrap();
    assert!(report.is_consistent());
    println!(
        "ledger verify of {entries} entries: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Counts commits on the way to the store.
#[derive(Debug)]
struct Counting {
    inner: RedbLedger,
    batches: AtomicU64,
}

impl Counting {
    fn new(inner: RedbLedger) -> Self {
        Self {
            inner,
            batches: AtomicU64::new(0),
        }
    }
}

impl LedgerStore for Counting {
    fn verifier_key(&self) -> &cragate::ledger::VerifierKey {
        self.inner.verifier_key()
    }
    fn append_batch(
        &self,
        batch: &[Submission],
    ) -> Result<Vec<cragate::ledger::Receipt>, cragate::ledger::LedgerError> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.inner.append_batch(batch)
    }
    fn size(&self) -> Result<u64, cragate::ledger::LedgerError> {
        self.inner.size()
    }
    fn record(
        &self,
        index: u64,
    ) -> Result<Option<cragate::ledger::StoredRecord>, cragate::ledger::LedgerError> {
        self.inner.record(index)
    }
    fn query(
        &self,
        query: &Query,
    ) -> Result<Vec<cragate::ledger::StoredRecord>, cragate::ledger::LedgerError> {
        self.inner.query(query)
    }
    fn document(&self, digest: &Digest) -> Result<Option<Vec<u8>>, cragate::ledger::LedgerError> {
        self.inner.document(digest)
    }
    fn checkpoint(
        &self,
    ) -> Result<cragate::ledger::SignedCheckpoint, cragate::ledger::LedgerError> {
        self.inner.checkpoint()
    }
    fn checkpoints(
        &self,
    ) -> Result<Vec<cragate::ledger::SignedCheckpoint>, cragate::ledger::LedgerError> {
        self.inner.checkpoints()
    }
    fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Vec<cragate::ledger::Hash>, cragate::ledger::LedgerError> {
        self.inner.inclusion_proof(index, size)
    }
    fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Vec<cragate::ledger::Hash>, cragate::ledger::LedgerError> {
        self.inner.consistency_proof(old, new)
    }
    fn prune(
        &self,
        index: u64,
        today: jiff::civil::Date,
    ) -> Result<(), cragate::ledger::LedgerError> {
        self.inner.prune(index, today)
    }
    fn audit(
        &self,
        key: &cragate::ledger::VerifierKey,
        today: jiff::civil::Date,
    ) -> Result<cragate::ledger::AuditReport, cragate::ledger::LedgerError> {
        self.inner.audit(key, today)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
