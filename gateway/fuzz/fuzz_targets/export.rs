//! The reader of `cragate ledger verify-export` (`ledger::export::verify`):
//! any input, with the key its header names and with the key of the seed
//! export pinned. Nothing may panic, and what verifies counts no more
//! entries than the checkpoint's tree holds.

#![no_main]

use std::sync::OnceLock;

use cragate::ledger::VerifierKey;
use cragate::ledger::export::verify;
use libfuzzer_sys::fuzz_target;

/// The verifier key of the seed export (`corpus/export/`, made by
/// `scripts/fuzz-seeds`).
const SEED_KEY: &str = include_str!("../seed-key.txt");

fn pinned() -> Option<&'static VerifierKey> {
    static KEY: OnceLock<Option<VerifierKey>> = OnceLock::new();
    KEY.get_or_init(|| SEED_KEY.trim().parse().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    for key in [None, pinned()] {
        if let Ok(summary) = verify(data, key) {
            assert!(
                summary.entries <= summary.tree_size,
                "{} entries verified in a tree of {}",
                summary.entries,
                summary.tree_size
            );
        }
    }
});
