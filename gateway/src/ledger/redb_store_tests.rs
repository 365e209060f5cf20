use std::sync::Arc;

use cragate_verifier::Digest;
use cragate_verifier::verdict::Decision;
use jiff::civil::Date;

use redb::ReadableTableMetadata;

use super::*;
use crate::ledger::entry::{Client, DocumentKind, Entry, EntryBody};
use crate::ledger::{Appender, DataDir, LedgerStore, Submission};

fn key() -> SigningKey {
    let dir = tempfile::tempdir().unwrap();
    SigningKey::load_or_create(&dir.path().join("key")).unwrap()
}

fn every_batch() -> StoreOptions {
    StoreOptions {
        checkpoint_interval: Duration::ZERO,
        ..StoreOptions::default()
    }
}

pub(crate) fn decision(n: u64, product: &str) -> Submission {
    Submission::new(Entry {
        time: jiff::Timestamp::from_second(1_800_000_000 + n as i64).unwrap(),
        body: EntryBody::Decision {
            product: product.parse().unwrap(),
            release: Some("1.0".into()),
            verdict: Decision::Allow,
            policy: Digest::of(b"policy"),
            evidence: vec![Digest::of(&n.to_be_bytes())],
            client: Client {
                identity: Some("store-eu".parse().unwrap()),
                address: "192.0.2.1:4000".into(),
            },
            support_end: Some("2031-12-31".parse().unwrap()),
        },
    })
    .unwrap()
}

#[test]
fn documents_are_stored_once_by_digest() {
    let ledger = RedbLedger::in_memory(key(), StoreOptions::default()).unwrap();
    let content = br#"{"format":"cragate.doc/v1"}"#.to_vec();
    let doc = |product: &str| {
        Submission::document(
            Entry {
                time: "2027-01-02T09:00:00Z".parse().unwrap(),
                body: EntryBody::Document {
                    product: product.parse().unwrap(),
                    document: DocumentKind::DeclarationOfConformity,
                    digest: Digest::of(&content),
                    size: content.len() as u64,
                    media_type: "application/json".into(),
                    support_end: None,
                },
            },
            content.clone(),
        )
        .unwrap()
    };
    ledger.append_batch(&[doc("a"), doc("b")]).unwrap();
    assert_eq!(
        ledger.document(&Digest::of(&content)).unwrap().unwrap(),
        content
    );
    let txn = ledger.db.begin_read().unwrap();
    assert_eq!(txn.open_table(DOCUMENTS).unwrap().len().unwrap(), 1);
}

#[test]
fn a_file_of_a_future_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    drop(data.open(StoreOptions::default()).unwrap());
    {
        let db = redb::Database::create(data.ledger_file()).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_SCHEMA_VERSION, 3u32.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let error = data.open(StoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::FutureSchema {
                found: 3,
                supported: 2
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("schema version 3"));
}

#[test]
fn the_appender_commits_concurrent_appends_in_batches() {
    let ledger: Arc<dyn LedgerStore> =
        Arc::new(RedbLedger::in_memory(key(), StoreOptions::default()).unwrap());
    let appender = Arc::new(Appender::start(ledger.clone()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let appender = appender.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|n| {
                        appender
                            .append_blocking(decision(t * 100 + n, "p"))
                            .unwrap()
                            .index
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut indexes: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..400).collect::<Vec<_>>());
    assert_eq!(ledger.size().unwrap(), 400);
}

#[test]
fn flipping_any_byte_of_an_entry_is_detected_at_that_entry() {
    let ledger = RedbLedger::in_memory(key(), StoreOptions::default()).unwrap();
    let batch: Vec<_> = (0..6).map(|n| decision(n, "cam")).collect();
    ledger.append_batch(&batch).unwrap();
    let today = Date::constant(2030, 1, 1);
    let original = ledger.record(3).unwrap().unwrap().bytes;
    let put = |bytes: &[u8]| {
        let txn = ledger.db.begin_write().unwrap();
        txn.open_table(ENTRIES).unwrap().insert(3, bytes).unwrap();
        txn.commit().unwrap();
    };
    for position in 0..original.len() {
        let mut bytes = original.clone();
        bytes[position] ^= 0x01;
        put(&bytes);
        let report = ledger.audit(ledger.verifier_key(), today).unwrap();
        assert_eq!(
            report.first_inconsistent_entry(),
            Some(3),
            "byte {position}"
        );
    }
    put(&original);
    assert!(
        ledger
            .audit(ledger.verifier_key(), today)
            .unwrap()
            .is_consistent()
    );
}

#[test]
fn rewritten_hashes_are_caught_by_the_signed_checkpoint() {
    let ledger = RedbLedger::in_memory(key(), every_batch()).unwrap();
    for n in 0..4 {
        ledger.append_batch(&[decision(n, "cam")]).unwrap();
    }
    // Replace entry 2 and every stored hash above it, as a forger would;
    // only the signed checkpoints still hold the old roots.
    let forged = Record::new(2, decision(99, "cam").entry()).encode();
    let txn = ledger.db.begin_write().unwrap();
    {
        let mut nodes = txn.open_table(NODES).unwrap();
        let mut frontier = Frontier::default();
        let entries = txn.open_table(ENTRIES).unwrap();
        for index in 0..4u64 {
            let bytes = if index == 2 {
                forged.clone()
            } else {
                entries.get(index).unwrap().unwrap().value().to_vec()
            };
            for (level, at, hash) in frontier.push(merkle::leaf_hash(&bytes)) {
                nodes.insert((level, at), hash).unwrap();
            }
        }
    }
    txn.open_table(ENTRIES)
        .unwrap()
        .insert(2, forged.as_slice())
        .unwrap();
    txn.commit().unwrap();
    let report = ledger
        .audit(ledger.verifier_key(), Date::constant(2030, 1, 1))
        .unwrap();
    assert!(!report.is_consistent());
    assert_eq!(
        report.problems[0].kind,
        crate::ledger::ProblemKind::CheckpointRoot { size: 3, after: 2 }
    );
}

fn product_indexes(ledger: &RedbLedger, product: &str) -> Vec<u64> {
    let query = Query {
        product: Some(product.parse().unwrap()),
        ..Query::default()
    };
    ledger
        .query(&query)
        .unwrap()
        .iter()
        .map(|s| s.record.index)
        .collect()
}

#[test]
fn entries_are_found_whether_their_lookup_rows_wait_or_are_written() {
    let ledger = RedbLedger::in_memory(key(), StoreOptions::default()).unwrap();
    let total = INDEX_BATCH as u64 + 10;
    let mut n = 0;
    while n < total {
        let batch: Vec<_> = (n..(n + 100).min(total))
            .map(|i| decision(i, if i % 2 == 0 { "even" } else { "odd" }))
            .collect();
        n += batch.len() as u64;
        ledger.append_batch(&batch).unwrap();
    }
    let waiting = ledger.writer.lock().unwrap().pending.len();
    assert!(waiting > 0 && waiting < INDEX_BATCH, "{waiting} waiting");
    let even = product_indexes(&ledger, "even");
    assert_eq!(even, (0..total).step_by(2).collect::<Vec<_>>());
    let digest = Query {
        digest: Some(Digest::of(&(total - 1).to_be_bytes())),
        ..Query::default()
    };
    assert_eq!(ledger.query(&digest).unwrap().len(), 1);
}

#[test]
fn lookup_rows_lost_in_a_crash_are_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    {
        let ledger = data.open(StoreOptions::default()).unwrap();
        let batch: Vec<_> = (0..20).map(|n| decision(n, "cam")).collect();
        ledger.append_batch(&batch).unwrap();
    }
    // What a crash leaves: the entries committed, their lookup rows not.
    {
        let db = redb::Database::create(data.ledger_file()).unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_multimap_table(BY_PRODUCT).unwrap();
        txn.delete_multimap_table(BY_DIGEST).unwrap();
        txn.delete_multimap_table(BY_OPERATOR).unwrap();
        txn.delete_table(BY_TIME).unwrap();
        txn.delete_table(SUPPORT_END).unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_INDEXED_SIZE, 0u64.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let ledger = data.open(StoreOptions::default()).unwrap();
    assert!(ledger.writer.lock().unwrap().pending.is_empty());
    assert_eq!(product_indexes(&ledger, "cam"), (0..20).collect::<Vec<_>>());
}

#[test]
fn a_version_1_file_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    {
        let ledger = data.open(StoreOptions::default()).unwrap();
        ledger.append_batch(&[decision(0, "cam")]).unwrap();
    }
    {
        let db = redb::Database::create(data.ledger_file()).unwrap();
        let txn = db.begin_write().unwrap();
        let mut meta = txn.open_table(META).unwrap();
        meta.insert(META_SCHEMA_VERSION, 1u32.to_le_bytes().as_slice())
            .unwrap();
        meta.remove(META_INDEXED_SIZE).unwrap();
        drop(meta);
        txn.commit().unwrap();
    }
    let ledger = data.open(StoreOptions::default()).unwrap();
    assert_eq!(product_indexes(&ledger, "cam"), [0]);
    let txn = ledger.db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let version = meta.get(META_SCHEMA_VERSION).unwrap().unwrap();
    assert_eq!(version.value(), SCHEMA_VERSION.to_le_bytes());
}
