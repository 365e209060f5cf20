//! The ledger's RFC 6962 proofs (`ledger::merkle`), which `ledger
//! verify-export` checks: a tree of up to 64 leaves is built from the
//! input, and every inclusion and consistency proof the ledger would give
//! verifies, while a proof with one byte changed, or claimed for another
//! index or size, does not. Proofs made of the input's bytes for any index
//! and size never panic.

#![no_main]

use std::collections::HashMap;

use cragate::ledger::merkle::{
    Frontier, Hash, consistency_proof, inclusion_proof, leaf_hash, verify_consistency,
    verify_inclusion,
};
use libfuzzer_sys::fuzz_target;

fn word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    for (slot, byte) in word.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    u64::from_le_bytes(word)
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|chunk| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(chunk);
            hash
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    // Any index, size and proof: no panic.
    let (head, rest) = data.split_at(data.len().min(16));
    let (index, size) = (
        word(&head[..head.len().min(8)]),
        word(head.get(8..).unwrap_or(&[])),
    );
    let proof = hashes(rest);
    let (root, leaf) = (leaf_hash(rest), leaf_hash(head));
    let _ = verify_inclusion(index, size, &leaf, &proof, &root);
    let _ = verify_consistency(index, size, &leaf, &root, &proof);

    // A real tree: proofs it gives verify, altered ones do not.
    let leaves = usize::from(data[0] % 64) + 1;
    let (old, new) = {
        let a = u64::from(data[1]) % leaves as u64 + 1;
        let b = u64::from(data[2]) % leaves as u64 + 1;
        (a.min(b), a.max(b))
    };
    let index = u64::from(data[3]) % new;
    let mut frontier = Frontier::default();
    let mut nodes: HashMap<(u8, u64), Hash> = HashMap::new();
    let mut roots = vec![frontier.root()];
    let mut leaf_hashes = Vec::new();
    for n in 0..leaves {
        let leaf = leaf_hash(&[data.get(4..).unwrap_or(&[]), &n.to_le_bytes()].concat());
        leaf_hashes.push(leaf);
        for (level, at, hash) in frontier.push(leaf) {
            nodes.insert((level, at), hash);
        }
        roots.push(frontier.root());
    }
    let mut node = |level: u8, at: u64| nodes.get(&(level, at)).copied().ok_or(());
    let root = roots[new as usize];
    let leaf = leaf_hashes[index as usize];
    let proof = inclusion_proof(index, new, &mut node).expect("stored nodes cover the tree");
    assert!(
        verify_inclusion(index, new, &leaf, &proof, &root),
        "a real proof fails"
    );
    if new > 1 {
        let other = (index + 1) % new;
        assert!(
            !verify_inclusion(other, new, &leaf, &proof, &root)
                || leaf_hashes[other as usize] == leaf,
            "a proof holds for another index"
        );
    }
    let flip = usize::from(data.get(4).copied().unwrap_or(0));
    if !proof.is_empty() {
        let mut altered = proof.clone();
        let at = flip % (altered.len() * 32);
        altered[at / 32][at % 32] ^= 1;
        assert!(
            !verify_inclusion(index, new, &leaf, &altered, &root),
            "an altered proof holds"
        );
    }
    let consistency = consistency_proof(old, new, &mut node).expect("stored nodes cover the tree");
    let (old_root, new_root) = (roots[old as usize], roots[new as usize]);
    assert!(
        verify_consistency(old, new, &old_root, &new_root, &consistency),
        "a real consistency proof fails"
    );
    if !consistency.is_empty() {
        let mut altered = consistency.clone();
        let at = flip % (altered.len() * 32);
        altered[at / 32][at % 32] ^= 1;
        assert!(
            !verify_consistency(old, new, &old_root, &new_root, &altered),
            "an altered consistency proof holds"
        );
    }
});
