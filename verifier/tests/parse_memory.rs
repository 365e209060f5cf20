//! Memory of parsing JSON from outside, measured by a counting allocator.
//!
//! This is its own test binary so that the allocator counts only what these
//! tests do; they take one lock so that they never overlap.

use std::sync::Mutex;

use cragate_verifier::evidence::{EvidenceError, Listing};
use cragate_verifier::json::{self, JsonBudget};
use cragate_verifier::limits::MAX_LISTING_BYTES;
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// What `work` returns, and the most memory it held at once beyond what
/// was allocated before it started.
fn peak_of<T>(work: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATOR.reset_peak_usage();
    let before = ALLOCATOR.current_usage();
    let out = work();
    (out, ALLOCATOR.peak_usage().saturating_sub(before))
}

const LISTING_HEAD: &str = r#"{"format": "cragate.listing/v1",
  "product": {"id": "p", "name": "P", "version": "1", "kind": "software", "category": "default"},
  "attestations": ["#;

/// Issue 9, finding 1: a 16 MiB listing whose `attestations` is one array of
/// 8 million zeros took about 570 MB to parse before it was refused.
#[test]
fn eight_million_zeros_in_a_listing_do_not_balloon_memory() {
    let _one = ONE_AT_A_TIME.lock();
    let zeros = 8_000_000;
    let mut listing = String::with_capacity(MAX_LISTING_BYTES);
    listing.push_str(LISTING_HEAD);
    for _ in 1..zeros {
        listing.push_str("0,");
    }
    listing.push_str("0]}");
    assert!(listing.len() <= MAX_LISTING_BYTES, "{}", listing.len());

    let (parsed, peak) = peak_of(|| Listing::from_json(listing.as_bytes()));
    assert!(
        peak < 1024 * 1024,
        "refusing the listing held {peak} bytes at once"
    );
    let error = parsed.unwrap_err();
    assert!(
        matches!(&error, EvidenceError::Limits(_))
            && error
                .to_string()
                .starts_with("listing: attestations holds more than"),
        "{error}"
    );
}

/// A document holding `n` values of one kind.
type Shape = fn(usize) -> String;

/// The estimate the JSON reader refuses by is never below what parsing
/// takes: each document here is as large as its budget lets it be (one
/// more of its values is refused), and parsing it into a
/// `serde_json::Value` must stay within the budget.
#[test]
fn parsed_trees_stay_within_their_estimate() {
    let _one = ONE_AT_A_TIME.lock();
    let budget = JsonBudget {
        max_tree_bytes: 2 * 1024 * 1024,
        ..JsonBudget::new("document", 64 * 1024 * 1024)
    };
    let shapes: [(&str, Shape); 8] = [
        ("zeros", |n| format!(r#"{{"a": [{}0]}}"#, "0,".repeat(n))),
        ("objects of one key", |n| {
            format!(r#"{{"a": [{}{{"k": 0}}]}}"#, r#"{"k": 0},"#.repeat(n))
        }),
        ("one object of many keys", |n| {
            let keys: Vec<String> = (0..=n).map(|i| format!(r#""key{i}": 0"#)).collect();
            format!("{{{}}}", keys.join(","))
        }),
        ("arrays of one item", |n| {
            format!(r#"{{"a": [{}[0]]}}"#, "[0],".repeat(n))
        }),
        ("empty arrays and objects", |n| {
            format!(r#"{{"a": [{}{{}}]}}"#, "[],{},".repeat(n))
        }),
        ("strings", |n| {
            format!(r#"{{"a": [{}"x"]}}"#, r#""abcdefghijklmnop","#.repeat(n))
        }),
        ("one long string", |n| {
            format!(r#"{{"a": "{}"}}"#, "x".repeat(64 * n))
        }),
        ("nested objects", |n| {
            format!(
                r#"{{"a": [{}{{}}]}}"#,
                r#"{"b": {"c": {"d": [true, null, 1.5]}}},"#.repeat(n)
            )
        }),
    ];
    for (name, shape) in shapes {
        let fits = |n: usize| json::check(shape(n).as_bytes(), &budget).is_ok();
        let (mut n, mut over) = (0, 1);
        while fits(over) {
            (n, over) = (over, over * 2);
        }
        while over - n > 1 {
            let middle = n + (over - n) / 2;
            if fits(middle) {
                n = middle
            } else {
                over = middle
            }
        }
        let doc = shape(n);
        assert!(fits(n) && !fits(n + 1), "{name}");
        let (value, peak) = peak_of(|| serde_json::from_slice::<serde_json::Value>(doc.as_bytes()));
        assert!(value.is_ok(), "{name}");
        drop(value);
        eprintln!("{name}: {n} values, {} bytes, peak {peak}", doc.len());
        assert!(
            peak <= budget.max_tree_bytes,
            "{name}: {n} values took {peak} bytes, over the estimate's budget of {}",
            budget.max_tree_bytes
        );
    }
}
