//! `cragate ledger`: a ledger built through the library, then verified,
//! tampered with, queried and exported through the binary, and the export
//! checked by both `ledger verify-export` and the independent Python script.

use std::path::{Path, PathBuf};
use std::process::Output;

use cragate::ledger::entry::{Client, Direction, DocumentKind, Entry, EntryBody, Operator};
use cragate::ledger::schema::{ENTRIES, META, META_SCHEMA_VERSION};
use cragate::ledger::{DataDir, Location, StoreOptions, Submission};
use cragate_verifier::Digest;
use cragate_verifier::verdict::Decision;
use redb::ReadableTable;

use crate::util::{cragate, python_verify_export, stderr, verify_export};

const DOC: &[u8] = br#"{"format":"cragate.doc/v1","product":{"name":"ACME Cam X200"}}"#;

/// A data directory with 20 entries: decisions, supply links both ways and
/// a DoC, over three products, in several batches (several checkpoints).
fn build_ledger() -> (tempfile::TempDir, DataDir) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    fill(&Location::Redb(data.clone()));
    (dir, data)
}

/// Appends the 20 entries of [`build_ledger`] to the ledger at `location`.
pub(crate) fn fill(location: &Location) {
    let options = StoreOptions {
        checkpoint_interval: std::time::Duration::ZERO,
        ..StoreOptions::default()
    };
    let ledger = location.open(options).unwrap();
    let mut n = 0u64;
    for batch in 0..4 {
        let mut submissions = Vec::new();
        for _ in 0..4 {
            let product = ["cam", "router", "watch"][(n % 3) as usize];
            submissions.push(decision(n, product));
            n += 1;
        }
        submissions.push(match batch {
            0 => supply(Direction::Inbound, "acme-cn", "cam", n),
            1 => supply(Direction::Outbound, "shop-de", "cam", n),
            2 => doc("cam", n),
            _ => supply(Direction::Outbound, "shop-fr", "cam", n),
        });
        n += 1;
        ledger.append_batch(&submissions).unwrap();
    }
    assert_eq!(ledger.size().unwrap(), 20);
}

fn time(n: u64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + 3600 * n as i64).unwrap()
}

pub(crate) fn decision(n: u64, product: &str) -> Submission {
    Submission::new(Entry {
        time: time(n),
        body: EntryBody::Decision {
            product: product.parse().unwrap(),
            release: Some(format!("1.{n}")),
            verdict: if n.is_multiple_of(5) {
                Decision::Deny
            } else {
                Decision::Allow
            },
            policy: Digest::of(b"importer.toml"),
            evidence: vec![Digest::of(&n.to_be_bytes())],
            client: Client {
                identity: Some("importer-portal".parse().unwrap()),
                address: "198.51.100.4:443".into(),
            },
            support_end: Some("2032-06-30".parse().unwrap()),
        },
    })
    .unwrap()
}

pub(crate) fn supply(direction: Direction, who: &str, product: &str, n: u64) -> Submission {
    Submission::new(Entry {
        time: time(n),
        body: EntryBody::SupplyLink {
            direction,
            product: product.parse().unwrap(),
            release: Some("4.2.1".into()),
            quantity: Some(100 + n),
            counterparty: Operator {
                id: who.parse().unwrap(),
                name: format!("{who} Ltd (\u{2028}Zweigstelle)"),
                postal_address: "Hauptstraße 1, Berlin".into(),
            },
            supplied_on: "2027-01-15".parse().unwrap(),
            support_end: None,
            shipment: None,
            batch: None,
        },
    })
    .unwrap()
}

pub(crate) fn doc(product: &str, n: u64) -> Submission {
    Submission::document(
        Entry {
            time: time(n),
            body: EntryBody::Document {
                product: product.parse().unwrap(),
                document: DocumentKind::DeclarationOfConformity,
                digest: Digest::of(DOC),
                size: DOC.len() as u64,
                media_type: "application/json".into(),
                support_end: None,
            },
        },
        DOC.to_vec(),
    )
    .unwrap()
}

fn ledger_cmd(data: &DataDir, args: &[&str]) -> Output {
    cragate()
        .arg("ledger")
        .args(args)
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Changes the ledger file directly, as someone with write access could.
fn tamper(data: &DataDir, change: impl FnOnce(&mut redb::Table<u64, &[u8]>)) {
    let db = redb::Database::create(data.ledger_file()).unwrap();
    let txn = db.begin_write().unwrap();
    change(&mut txn.open_table(ENTRIES).unwrap());
    txn.commit().unwrap();
}

fn entry_bytes(table: &redb::Table<u64, &[u8]>, index: u64) -> Vec<u8> {
    table.get(index).unwrap().unwrap().value().to_vec()
}

fn assert_first_inconsistent(data: &DataDir, index: u64) {
    let output = ledger_cmd(data, &["verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!(
            "ledger inconsistent: first inconsistent entry is {index}\n"
        )),
        "{text}"
    );
}

#[test]
fn an_intact_ledger_verifies() {
    let (_dir, data) = build_ledger();
    let output = ledger_cmd(&data, &["verify"]);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).starts_with("ledger consistent: 20 entries (0 pruned after retention), 4 checkpoints signed by cragate-ledger/"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_flipped_byte_is_the_first_inconsistent_entry() {
    for position in [0, 40, 120] {
        let (_dir, data) = build_ledger();
        tamper(&data, |entries| {
            let mut bytes = entry_bytes(entries, 7);
            bytes[position] ^= 0x01;
            entries.insert(7, bytes.as_slice()).unwrap();
        });
        assert_first_inconsistent(&data, 7);
    }
}

#[test]
fn a_dropped_entry_is_the_first_inconsistent_entry() {
    let (_dir, data) = build_ledger();
    tamper(&data, |entries| {
        entries.remove(11).unwrap();
    });
    assert_first_inconsistent(&data, 11);
    let (_dir, data) = build_ledger();
    tamper(&data, |entries| {
        entries.remove(19).unwrap();
    });
    assert_first_inconsistent(&data, 19);
}

#[test]
fn two_swapped_entries_are_detected_at_the_first() {
    let (_dir, data) = build_ledger();
    tamper(&data, |entries| {
        let (a, b) = (entry_bytes(entries, 4), entry_bytes(entries, 9));
        entries.insert(4, b.as_slice()).unwrap();
        entries.insert(9, a.as_slice()).unwrap();
    });
    assert_first_inconsistent(&data, 4);
    let output = ledger_cmd(&data, &["verify"]);
    assert!(
        stdout(&output).contains("entry 4: holds the record of entry 9 (reordered)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_future_schema_is_refused_with_a_clear_message() {
    let (_dir, data) = build_ledger();
    {
        let db = redb::Database::create(data.ledger_file()).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(META_SCHEMA_VERSION, 9u32.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let output = ledger_cmd(&data, &["verify"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("ledger file has schema version 9; this cragate reads version 2"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn commands_on_a_missing_ledger_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("nothing"));
    let output = ledger_cmd(&data, &["verify"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no ledger in"),
        "{}",
        stderr(&output)
    );
    assert!(!data.path().exists());
}

#[test]
fn query_and_supply_chain_answer_from_the_indexes() {
    let (_dir, data) = build_ledger();
    let lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let output = ledger_cmd(&data, args);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let indexes = |records: Vec<serde_json::Value>| -> Vec<u64> {
        records
            .iter()
            .map(|r| r["index"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        indexes(lines(&["query", "--product", "router"])),
        [1, 7, 10, 13, 16]
    );
    let digest = Digest::of(&3u64.to_be_bytes()).to_string();
    assert_eq!(indexes(lines(&["query", "--digest", &digest])), [3]);
    assert_eq!(indexes(lines(&["query", "--operator", "shop-de"])), [9]);
    let since = time(5).to_string();
    let until = time(8).to_string();
    assert_eq!(
        indexes(lines(&["query", "--since", &since, "--until", &until])),
        [5, 6, 7]
    );

    let output = ledger_cmd(&data, &["supply-chain", "cam"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with(
            "cam: 1 supplies received, 2 supplies made\nsuppliers:\n  2027-01-15  acme-cn"
        ),
        "{text}"
    );
    assert!(text.contains("  2027-01-15  shop-de  "), "{text}");
    assert!(
        text.contains("(entry 19, release 4.2.1, quantity 119)"),
        "{text}"
    );
}

#[test]
fn an_export_verifies_with_cragate_and_with_the_python_script() {
    let (dir, data) = build_ledger();
    let key = stdout(&ledger_cmd(&data, &["key"])).trim().to_owned();
    assert!(key.starts_with("cragate-ledger/"), "{key}");
    let file = dir.path().join("cam.jsonl");
    let output = ledger_cmd(
        &data,
        &["export", "--product", "cam", "-o", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("exported 10 entries and 1 documents against the checkpoint of size 20"),
        "{}",
        stderr(&output)
    );

    let verified = verify_export(&file, Some(&key));
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(stdout(&verified).starts_with("export verified: 10 entries and 1 documents"));
    let script = python_verify_export(&file, &key);
    assert!(script.status.success(), "{}", stderr(&script));
    assert_eq!(
        stdout(&script),
        "export verified: 10 entries and 1 documents in the tree of size 20\n"
    );

    // One changed character in an entry fails both verifiers.
    let text = std::fs::read_to_string(&file).unwrap();
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(
        &tampered,
        text.replacen("\\\"quantity\\\":104", "\\\"quantity\\\":105", 1),
    )
    .unwrap();
    assert_ne!(std::fs::read(&tampered).unwrap(), text.as_bytes());
    let refused = verify_export(&tampered, Some(&key));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is not included in the checkpointed tree"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(python_verify_export(&tampered, &key).status.code(), Some(1));

    // Another ledger's key does not verify it.
    let (_other_dir, other) = build_ledger();
    let other_key = stdout(&ledger_cmd(&other, &["key"])).trim().to_owned();
    assert_eq!(
        verify_export(&file, Some(&other_key)).status.code(),
        Some(1)
    );
    assert_eq!(
        python_verify_export(&file, &other_key).status.code(),
        Some(1)
    );
}

#[test]
fn an_export_by_time_range_carries_no_documents_it_does_not_name() {
    let (dir, data) = build_ledger();
    let file = dir.path().join("range.jsonl");
    let (since, until) = (time(0).to_string(), time(4).to_string());
    let output = ledger_cmd(
        &data,
        &[
            "export",
            "--since",
            &since,
            "--until",
            &until,
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let verified = verify_export(&file, None);
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(
        stdout(&verified).contains("4 entries and 0 documents"),
        "{}",
        stdout(&verified)
    );
}

/// The export of `data` for the period from entry `since` to before entry
/// `until` (by their times), and its lines.
fn period_export(dir: &Path, data: &DataDir, since: u64, until: u64) -> (PathBuf, Vec<String>) {
    let file = dir.join(format!("period-{since}-{until}.jsonl"));
    let (since, until) = (time(since).to_string(), time(until).to_string());
    let output = ledger_cmd(
        data,
        &[
            "export",
            "--since",
            &since,
            "--until",
            &until,
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&file).unwrap();
    (file, text.lines().map(str::to_owned).collect())
}

/// The export's lines less the entry line of `index`.
fn without_entry(lines: &[String], index: u64) -> String {
    let needle = format!("{{\"type\":\"entry\",\"index\":{index},");
    let kept: Vec<&str> = lines
        .iter()
        .filter(|line| !line.starts_with(&needle))
        .map(String::as_str)
        .collect();
    assert_eq!(
        kept.len() + 1,
        lines.len(),
        "entry {index} is exported once"
    );
    kept.join("\n") + "\n"
}

fn both_refuse(file: &Path, key: &str, reason: &str) {
    let refused = verify_export(file, Some(key));
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(stderr(&refused).contains(reason), "{}", stderr(&refused));
    let script = python_verify_export(file, key);
    assert_eq!(script.status.code(), Some(1), "{}", stdout(&script));
    assert!(stderr(&script).contains(reason), "{}", stderr(&script));
}

/// Issue 9, finding 7: a period export with an entry removed verified, so an
/// omission went unseen, which a period export exists to show.
#[test]
fn a_period_export_with_an_entry_removed_does_not_verify() {
    let (dir, data) = build_ledger();
    let key = stdout(&ledger_cmd(&data, &["key"])).trim().to_owned();
    let (file, lines) = period_export(dir.path(), &data, 2, 12);
    let verified = verify_export(&file, Some(&key));
    assert!(verified.status.success(), "{}", stderr(&verified));
    assert!(stdout(&verified).starts_with("export verified: 10 entries"));
    assert!(python_verify_export(&file, &key).status.success());

    for (index, reason) in [
        (5, "entry 5 of the period is missing"),
        (2, "entry 2 of the period is missing"),
        (11, "entry 11 of the period is missing"),
    ] {
        let removed = dir.path().join(format!("without-{index}.jsonl"));
        std::fs::write(&removed, without_entry(&lines, index)).unwrap();
        both_refuse(&removed, &key, reason);
    }
}

/// Issue 9, finding 7: an export with an entry given twice verified.
#[test]
fn an_export_with_an_entry_duplicated_does_not_verify() {
    let (dir, data) = build_ledger();
    let key = stdout(&ledger_cmd(&data, &["key"])).trim().to_owned();
    let file = dir.path().join("cam.jsonl");
    let output = ledger_cmd(
        &data,
        &["export", "--product", "cam", "-o", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (_, period) = period_export(dir.path(), &data, 2, 12);
    let product: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for (name, lines) in [("product", product), ("period", period)] {
        let mut doubled = lines.clone();
        let entry = lines
            .iter()
            .position(|line| line.starts_with("{\"type\":\"entry\""))
            .unwrap();
        doubled.insert(entry + 1, lines[entry].clone());
        let path = dir.path().join(format!("{name}-doubled.jsonl"));
        std::fs::write(&path, doubled.join("\n") + "\n").unwrap();
        both_refuse(&path, &key, "appears twice");
    }
}

/// A period export proves both of its ends, also when it holds no entry,
/// and a removed boundary is seen.
#[test]
fn period_exports_prove_both_ends_even_when_empty() {
    let (dir, data) = build_ledger();
    let key = stdout(&ledger_cmd(&data, &["key"])).trim().to_owned();
    let verifies = |file: &Path, entries: u64| {
        let verified = verify_export(file, Some(&key));
        assert!(verified.status.success(), "{}", stderr(&verified));
        let expected = format!("export verified: {entries} entries");
        assert!(
            stdout(&verified).starts_with(&expected),
            "{}",
            stdout(&verified)
        );
        let script = python_verify_export(file, &key);
        assert!(script.status.success(), "{}", stderr(&script));
    };
    // After every entry, before every entry, between two entries, and all.
    for (since, until, entries) in [(100, 101, 0), (0, 0, 0), (3, 3, 0), (0, 100, 20)] {
        let (file, lines) = period_export(dir.path(), &data, since, until);
        verifies(&file, entries);
        let boundaries = lines
            .iter()
            .filter(|l| l.contains("\"type\":\"boundary\""))
            .count();
        let expected = usize::from(since > 0) + usize::from(until < 20);
        assert_eq!(boundaries, expected, "{since}..{until}");
    }
    let (_, lines) = period_export(dir.path(), &data, 2, 12);
    for (end, reason) in [
        (
            0,
            "no boundary entry shows that the period starts at entry 2",
        ),
        (
            1,
            "no boundary entry shows that the period ends before entry 12",
        ),
    ] {
        let mut kept: Vec<&String> = lines.iter().collect();
        let position = kept
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("\"type\":\"boundary\""))
            .nth(end)
            .unwrap()
            .0;
        kept.remove(position);
        let file = dir.path().join(format!("without-boundary-{end}.jsonl"));
        let text: Vec<&str> = kept.into_iter().map(String::as_str).collect();
        std::fs::write(&file, text.join("\n") + "\n").unwrap();
        both_refuse(&file, &key, reason);
    }
}

/// Issue 9, finding 12: `ledger verify` on a damaged `ledger.redb` panicked
/// inside redb (exit 101). Wherever 64 bytes of the file are changed, it
/// now ends with a verdict or a clear error, and says "damaged" where redb
/// stopped on the file.
#[test]
fn a_damaged_ledger_file_is_reported_never_a_panic() {
    let (_dir, data) = build_ledger();
    let original = std::fs::read(data.ledger_file()).unwrap();
    let mut damaged_reports = 0;
    for offset in (0..original.len()).step_by(1024) {
        let mut damaged = original.clone();
        for byte in damaged.iter_mut().skip(offset).take(64) {
            *byte ^= 0x5a;
        }
        std::fs::write(data.ledger_file(), &damaged).unwrap();
        let output = ledger_cmd(&data, &["verify"]);
        let code = output.status.code();
        assert!(
            matches!(code, Some(0..=2)) && !stderr(&output).contains("panicked"),
            "offset {offset}: {code:?} {}",
            stderr(&output)
        );
        if code == Some(1) && stdout(&output).contains("ledger file is damaged") {
            damaged_reports += 1;
        }
    }
    assert!(damaged_reports > 0, "no damage was reported as such");
}
