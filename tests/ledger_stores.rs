//! One suite over the `LedgerStore` trait, run on both stores: the redb
//! file and a real PostgreSQL database. Each case gets a fresh ledger; the
//! PostgreSQL runs share one throwaway cluster with a database per case.
//! Cases that only one engine can have (two nodes on one database, a
//! database stopped under load) follow the suite.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cragate::ledger::entry::Direction;
use cragate::ledger::{
    Appender, LedgerError, LedgerStore, Location, Query, RetentionError, StoreOptions,
    StoredRecord, merkle, supply_chain,
};
use cragate_verifier::Digest;
use jiff::civil::Date;

use crate::ledger::{decision, doc, fill, stdout, supply};
use crate::postgres_util::Postgres;
use crate::util::{cragate, python_verify_export, verify_export};

/// A case: the ledger's location (not yet opened) and a folder for keys.
type Case = fn(&Location, &Path);

const CASES: [(&str, Case); 6] = [
    (
        "appends are numbered and proven",
        appends_are_numbered_and_proven,
    ),
    ("queries use every index", queries_use_every_index),
    (
        "supply chain lists suppliers and customers",
        supply_chain_lists_both_ways,
    ),
    ("documents are kept by digest", documents_are_kept_by_digest),
    (
        "prune is refused before the retention end",
        prune_waits_for_retention,
    ),
    (
        "a ledger reopens and refuses another key",
        reopens_and_refuses_another_key,
    ),
];

fn every_batch() -> StoreOptions {
    StoreOptions {
        checkpoint_interval: Duration::ZERO,
        ..StoreOptions::default()
    }
}

fn run_suite(mut location: impl FnMut(&Path) -> Location) {
    for (name, case) in CASES {
        let dir = tempfile::tempdir().unwrap();
        let at = location(dir.path());
        let result = std::panic::catch_unwind(|| case(&at, dir.path()));
        assert!(result.is_ok(), "case {name:?} failed on {}", at.describe());
    }
}

#[test]
fn every_store_case_on_redb() {
    run_suite(|dir| Location::new(&dir.join("data"), None, None));
}

#[test]
fn every_store_case_on_postgresql() {
    let postgres = Postgres::start();
    run_suite(|dir| {
        Location::new(
            &dir.join("data"),
            Some(&postgres.database()),
            Some(&dir.join("ledger-key.p8")),
        )
    });
}

fn appends_are_numbered_and_proven(at: &Location, _: &Path) {
    let ledger = at.open(every_batch()).unwrap();
    for n in 0..10u64 {
        let receipts = ledger.append_batch(&[decision(n, "cam")]).unwrap();
        assert_eq!(receipts[0].index, n);
    }
    let checkpoints = ledger.checkpoints().unwrap();
    assert_eq!(checkpoints.len(), 10);
    let last = ledger.checkpoint().unwrap();
    assert_eq!(last, checkpoints[9]);
    for n in 0..10 {
        let record = ledger.record(n).unwrap().unwrap();
        let proof = ledger.inclusion_proof(n, 10).unwrap();
        let leaf = merkle::leaf_hash(&record.bytes);
        assert!(merkle::verify_inclusion(
            n,
            10,
            &leaf,
            &proof,
            &last.checkpoint.root
        ));
    }
    for old in &checkpoints {
        let proof = ledger.consistency_proof(old.checkpoint.size, 10).unwrap();
        assert!(merkle::verify_consistency(
            old.checkpoint.size,
            10,
            &old.checkpoint.root,
            &last.checkpoint.root,
            &proof
        ));
    }
    assert!(ledger.inclusion_proof(10, 10).is_err());
    let report = ledger
        .audit(ledger.verifier_key(), Date::constant(2030, 1, 1))
        .unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!((report.entries, report.checkpoints), (10, 10));
}

fn queries_use_every_index(at: &Location, _: &Path) {
    let ledger = at.open(StoreOptions::default()).unwrap();
    let batch: Vec<_> = (0..6)
        .map(|n| decision(n, if n % 2 == 0 { "a" } else { "b" }))
        .collect();
    ledger.append_batch(&batch).unwrap();
    ledger
        .append_batch(&[supply(Direction::Inbound, "maker", "a", 6)])
        .unwrap();
    let by = |query: Query| -> Vec<u64> {
        let found = ledger.query(&query).unwrap();
        found.iter().map(|s| s.record.index).collect()
    };
    let product = |id: &str| Some(id.parse().unwrap());
    assert_eq!(
        by(Query {
            product: product("a"),
            ..Query::default()
        }),
        [0, 2, 4, 6]
    );
    assert_eq!(
        by(Query {
            digest: Some(Digest::of(&3u64.to_be_bytes())),
            ..Query::default()
        }),
        [3]
    );
    assert_eq!(
        by(Query {
            operator: Some("maker".parse().unwrap()),
            ..Query::default()
        }),
        [6]
    );
    // Entries are an hour apart (tests/ledger.rs).
    let hour = |n: i64| jiff::Timestamp::from_second(1_800_000_000 + 3600 * n).unwrap();
    assert_eq!(
        by(Query {
            since: Some(hour(2)),
            until: Some(hour(4)),
            ..Query::default()
        }),
        [2, 3]
    );
    assert_eq!(
        by(Query {
            product: product("b"),
            since: Some(hour(2)),
            limit: Some(1),
            ..Query::default()
        }),
        [3]
    );
    assert_eq!(by(Query::default()).len(), 7);
}

fn supply_chain_lists_both_ways(at: &Location, _: &Path) {
    let ledger = at.open(StoreOptions::default()).unwrap();
    ledger
        .append_batch(&[
            supply(Direction::Inbound, "maker", "cam", 0),
            supply(Direction::Outbound, "shop-1", "cam", 1),
            supply(Direction::Outbound, "shop-2", "other", 2),
            decision(3, "cam"),
            supply(Direction::Outbound, "shop-3", "cam", 4),
        ])
        .unwrap();
    let chain = supply_chain(ledger.as_ref(), &"cam".parse().unwrap()).unwrap();
    let indexes =
        |links: &[StoredRecord]| -> Vec<u64> { links.iter().map(|s| s.record.index).collect() };
    assert_eq!(indexes(&chain.upstream), [0]);
    assert_eq!(indexes(&chain.downstream), [1, 4]);
}

fn documents_are_kept_by_digest(at: &Location, _: &Path) {
    let ledger = at.open(StoreOptions::default()).unwrap();
    let first = doc("a", 0);
    let digest = match &first.entry().body {
        cragate::ledger::EntryBody::Document { digest, .. } => *digest,
        _ => unreachable!(),
    };
    ledger.append_batch(&[first, doc("b", 1)]).unwrap();
    let content = ledger.document(&digest).unwrap().unwrap();
    assert_eq!(Digest::of(&content), digest);
    assert!(ledger.document(&Digest::of(b"other")).unwrap().is_none());
    let report = ledger
        .audit(ledger.verifier_key(), Date::constant(2030, 1, 1))
        .unwrap();
    assert!(report.is_consistent(), "{report:?}");
}

fn prune_waits_for_retention(at: &Location, _: &Path) {
    let ledger = at.open(StoreOptions::default()).unwrap();
    // The supply link (supplied 2027-01-15) and a decision stating support
    // until 2032-06-30, which extends the link's ten years to 2042-06-30.
    ledger
        .append_batch(&[
            supply(Direction::Outbound, "shop", "cam", 0),
            decision(1, "cam"),
        ])
        .unwrap();
    let refused = ledger.prune(0, Date::constant(2042, 6, 29)).unwrap_err();
    assert!(
        matches!(
            refused,
            LedgerError::Retention(RetentionError::Retained { index: 0, .. })
        ),
        "{refused}"
    );
    assert!(ledger.record(0).unwrap().is_some());
    ledger.prune(0, Date::constant(2042, 6, 30)).unwrap();
    assert!(ledger.record(0).unwrap().is_none());
    let report = ledger
        .audit(ledger.verifier_key(), Date::constant(2042, 6, 30))
        .unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.pruned, 1);
    let early = ledger
        .audit(ledger.verifier_key(), Date::constant(2030, 1, 1))
        .unwrap();
    assert_eq!(early.first_inconsistent_entry(), Some(0));
}

fn reopens_and_refuses_another_key(at: &Location, dir: &Path) {
    {
        let ledger = at.open(StoreOptions::default()).unwrap();
        let batch: Vec<_> = (0..3).map(|n| decision(n, "a")).collect();
        ledger.append_batch(&batch).unwrap();
    }
    let ledger = at.open(StoreOptions::default()).unwrap();
    assert_eq!(ledger.size().unwrap(), 3);
    ledger.append_batch(&[decision(3, "a")]).unwrap();
    let report = ledger
        .audit(ledger.verifier_key(), Date::constant(2030, 1, 1))
        .unwrap();
    assert!(report.is_consistent(), "{report:?}");
    drop(ledger);
    let other_key = match at {
        Location::Redb(_) => {
            let other = dir.join("other");
            std::fs::create_dir_all(&other).unwrap();
            std::fs::copy(at.describe(), other.join("ledger.redb")).unwrap();
            Location::new(&other, None, None)
        }
        Location::Postgres { url, .. } => {
            Location::new(dir, Some(url), Some(&dir.join("another-key.p8")))
        }
    };
    let error = other_key.open(StoreOptions::default()).unwrap_err();
    assert!(matches!(error, LedgerError::KeyMismatch { .. }), "{error}");
}

/// Two stores on one database, as two gateway nodes: concurrent group
/// commits from both give one dense order with every entry once.
#[test]
fn two_nodes_append_to_one_postgresql_ledger_in_one_order() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let at = Location::new(dir.path(), Some(&url), None);
    let nodes: Vec<Arc<dyn LedgerStore>> = (0..2)
        .map(|_| at.open(StoreOptions::default()).unwrap())
        .collect();
    let appenders: Vec<Arc<Appender>> = nodes
        .iter()
        .map(|node| Arc::new(Appender::start(Arc::clone(node)).unwrap()))
        .collect();
    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let appender = Arc::clone(&appenders[(w % 2) as usize]);
            std::thread::spawn(move || {
                (0..50u64)
                    .map(|n| {
                        appender
                            .append_blocking(decision(w * 1000 + n, "cam"))
                            .unwrap()
                            .index
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut indexes: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..400).collect::<Vec<_>>(),
        "indexes are dense and unique"
    );
    drop(appenders);
    let report = nodes[1]
        .audit(nodes[1].verifier_key(), Date::constant(2030, 1, 1))
        .unwrap();
    assert!(report.is_consistent(), "{report:?}");
    assert_eq!(report.entries, 400);
    let output = cragate()
        .args(["ledger", "verify", "--ledger", &url])
        .args([
            "--ledger-key",
            dir.path().join("ledger-key.p8").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("400 entries"),
        "{}",
        stdout(&output)
    );
}

/// The same entries in both stores export to the same bytes, and the
/// PostgreSQL export verifies with cragate and with the Python script.
#[test]
fn postgresql_and_redb_exports_of_the_same_entries_are_identical() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let redb = Location::new(&data, None, None);
    fill(&redb);
    let url = postgres.database();
    let pg = Location::new(&data, Some(&url), None);
    fill(&pg);
    let export = |extra: &[&str], name: &str| {
        let file = dir.path().join(name);
        let output = cragate()
            .args(["ledger", "export", "--product", "cam", "--output"])
            .arg(&file)
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        file
    };
    let from_redb = export(&[], "redb.jsonl");
    let from_pg = export(&["--ledger", &url], "pg.jsonl");
    assert_eq!(
        std::fs::read(&from_redb).unwrap(),
        std::fs::read(&from_pg).unwrap()
    );
    let key = cragate()
        .args(["ledger", "key", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let key = stdout(&key).trim().to_owned();
    let verified = verify_export(&from_pg, Some(&key));
    assert!(verified.status.success(), "{}", stdout(&verified));
    let script = python_verify_export(&from_pg, &key);
    assert!(
        script.status.success(),
        "{}",
        String::from_utf8_lossy(&script.stderr)
    );
}

/// `ledger migrate` copies a data directory's ledger into an empty
/// database with the same tree head; `ledger verify` passes on the copy;
/// a second migration into the same database is refused.
#[test]
fn a_redb_ledger_migrates_into_postgresql_with_the_same_head() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fill(&Location::new(&data, None, None));
    let url = postgres.database();
    let migrate = || {
        cragate()
            .args(["ledger", "migrate", "--from"])
            .arg(&data)
            .args(["--to", &url])
            .output()
            .unwrap()
    };
    let output = migrate();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout(&output).contains("copied 20 entries"),
        "{}",
        stdout(&output)
    );
    let verify = cragate()
        .args(["ledger", "verify", "--ledger", &url, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", stdout(&verify));
    assert!(
        stdout(&verify).contains("20 entries"),
        "{}",
        stdout(&verify)
    );
    let again = migrate();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds 20 entries"));
    assert!(!url.contains("password"));
}

/// A database of a later schema is refused, never misread.
#[test]
fn a_postgresql_database_of_a_future_schema_is_refused() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let at = Location::new(dir.path(), Some(&url), None);
    drop(at.open(StoreOptions::default()).unwrap());
    let name = url.rsplit('/').next().unwrap();
    postgres.sql(name, "UPDATE cragate_schema SET version = 99");
    let error = at.open(StoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::FutureSchema {
                found: 99,
                supported
            } if supported == cragate::ledger::pg_schema::SCHEMA_VERSION as u32
        ),
        "{error}"
    );
}

/// A database of the previous schema (3, before the shared accepted
/// listings) is upgraded on connect: its entries kept, the new tables
/// created empty, the version moved.
#[test]
fn a_postgresql_database_of_schema_3_is_upgraded_keeping_its_entries() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres.database();
    let at = Location::new(dir.path(), Some(&url), None);
    {
        let ledger = at.open(StoreOptions::default()).unwrap();
        let batch: Vec<_> = (0..3).map(|n| decision(n, "a")).collect();
        ledger.append_batch(&batch).unwrap();
    }
    let name = url.rsplit('/').next().unwrap();
    postgres.sql(
        name,
        "DROP TABLE cragate_accepted, cragate_accepted_meta; \
         UPDATE cragate_schema SET version = 3",
    );
    let ledger = at.open(StoreOptions::default()).unwrap();
    assert_eq!(ledger.size().unwrap(), 3);
    drop(ledger);
    let version = postgres.sql(name, "SELECT version FROM cragate_schema");
    assert_eq!(
        version.trim(),
        cragate::ledger::pg_schema::SCHEMA_VERSION.to_string()
    );
    let accepted = postgres.sql(
        name,
        "SELECT (SELECT count(*) FROM cragate_accepted), \
         (SELECT last_seq FROM cragate_accepted_meta WHERE id = 1)",
    );
    assert_eq!(accepted.trim(), "0|0");
}
