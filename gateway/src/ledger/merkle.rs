//! RFC 6962 Merkle tree hashing, proofs and proof verification.
//!
//! Hashing follows RFC 6962 §2.1: a leaf hash is SHA-256(0x00 || data), an
//! interior node SHA-256(0x01 || left || right). The store keeps the hash of
//! every complete subtree, addressed by `(level, index)`: level 0 holds the
//! leaves, and node `(l, i)` covers leaves `i·2^l .. (i+1)·2^l`. Proofs
//! (RFC 6962 §2.1.1 `PATH`, §2.1.2 `SUBPROOF`) then read O(log n) stored
//! nodes; verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.

use aws_lc_rs::digest::{Context, SHA256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// RFC 6962 leaf hash.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(&[0x00]);
    context.update(data);
    finish(context)
}

/// RFC 6962 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(&[0x01]);
    context.update(left);
    context.update(right);
    finish(context)
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    finish(Context::new(&SHA256))
}

/// The right edge of a tree: the roots of its complete subtrees, one per
/// set bit of the size. Appending a leaf yields the subtree nodes it
/// completes, which is all the store has to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `levels[l]` is the complete subtree of 2^l leaves at the right edge, if bit `l` of size is set.
    levels: Vec<Option<Hash>>,
}

impl Frontier {
    /// Rebuilds the frontier of a tree of `size` leaves from its stored nodes.
    pub fn load<E>(size: u64, mut node: impl FnMut(u8, u64) -> Result<Hash, E>) -> Result<Self, E> {
        let mut levels = Vec::new();
        for level in 0..64u8 {
            let bit = 1u64 << level;
            if size & bit == 0 {
                levels.push(None);
                continue;
            }
            let start = size & !(bit | (bit - 1));
            levels.push(Some(node(level, start >> level)?));
        }
        while levels.last() == Some(&None) {
            levels.pop();
        }
        Ok(Self { size, levels })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the nodes it creates, the leaf first, as `(level, index, hash)`.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let mut created = vec![(0, self.size, leaf)];
        let mut carry = leaf;
        let mut level = 0usize;
        let mut index = self.size;
        while let Some(slot) = self.levels.get_mut(level) {
            let Some(left) = slot.take() else { break };
            carry = node_hash(&left, &carry);
            level += 1;
            index >>= 1;
            created.push((u8::try_from(level).unwrap_or(u8::MAX), index, carry));
        }
        if self.levels.len() <= level {
            self.levels.resize(level + 1, None);
        }
        if let Some(slot) = self.levels.get_mut(level) {
            *slot = Some(carry);
        }
        self.size += 1;
        created
    }

    /// The tree root (RFC 6962 MTH).
    pub fn root(&self) -> Hash {
        let mut nodes = self.levels.iter().flatten();
        let Some(first) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*first, |acc, higher| node_hash(higher, &acc))
    }
}

/// The hash of leaves `start..end`, read from stored complete subtrees.
/// `start` must be aligned as in RFC 6962's decomposition.
pub fn subtree_root<E>(
    start: u64,
    end: u64,
    node: &mut impl FnMut(u8, u64) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let len = end - start;
    if len.is_power_of_two() && start.is_multiple_of(len) {
        let level = u8::try_from(len.trailing_zeros()).unwrap_or(u8::MAX);
        return node(level, start >> level);
    }
    let split = largest_power_of_two_below(len);
    let left = subtree_root(start, start + split, node)?;
    let right = subtree_root(start + split, end, node)?;
    Ok(node_hash(&left, &right))
}

/// RFC 6962 §2.1.1 audit path of leaf `index` in the tree of `size` leaves.
/// The caller checks `index < size`.
pub fn inclusion_proof<E>(
    index: u64,
    size: u64,
    node: &mut impl FnMut(u8, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    let mut path = Vec::new();
    let (mut start, mut end) = (0, size);
    while end - start > 1 {
        let split = start + largest_power_of_two_below(end - start);
        if index < split {
            path.push(subtree_root(split, end, node)?);
            end = split;
        } else {
            path.push(subtree_root(start, split, node)?);
            start = split;
        }
    }
    path.reverse();
    Ok(path)
}

/// RFC 6962 §2.1.2 consistency proof from the tree of `old` leaves to the
/// tree of `new` leaves. The caller checks `old <= new`.
pub fn consistency_proof<E>(
    old: u64,
    new: u64,
    node: &mut impl FnMut(u8, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    let mut proof = Vec::new();
    if old == 0 || old >= new {
        return Ok(proof);
    }
    let (mut m, mut start, mut end, mut complete) = (old, 0u64, new, true);
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                proof.push(subtree_root(start, end, node)?);
            }
            break;
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            proof.push(subtree_root(start + k, end, node)?);
            end = start + k;
        } else {
            proof.push(subtree_root(start, start + k, node)?);
            m -= k;
            start += k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// RFC 9162 §2.1.3.2: does `proof` show `leaf` at `index` in the tree of `size` with `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode, mut hash) = (index, size - 1, *leaf);
    for sibling in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            hash = node_hash(sibling, &hash);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            hash = node_hash(&hash, sibling);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && hash == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree of `old` leaves with
/// `old_root` is a prefix of the tree of `new` leaves with `new_root`?
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    let mut hashes: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        hashes.push(*old_root);
    }
    hashes.extend_from_slice(proof);
    let Some((first, rest)) = hashes.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn largest_power_of_two_below(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

fn finish(context: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;

    use super::*;

    /// RFC 6962 MTH, straight from the definition.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = largest_power_of_two_below(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    type Nodes = HashMap<(u8, u64), Hash>;

    fn build(n: u64) -> (Vec<Hash>, Nodes, Vec<Hash>) {
        let mut frontier = Frontier::default();
        let mut nodes = HashMap::new();
        let mut leaves = Vec::new();
        let mut roots = vec![frontier.root()];
        for i in 0..n {
            let leaf = leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            for (level, index, hash) in frontier.push(leaf) {
                nodes.insert((level, index), hash);
            }
            roots.push(frontier.root());
        }
        (leaves, nodes, roots)
    }

    #[test]
    fn known_answer_for_the_empty_tree_and_one_leaf() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 leaf hash of the empty string.
        assert_eq!(
            hex::encode(leaf_hash(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn frontier_roots_match_the_definition() {
        let (leaves, _, roots) = build(70);
        for n in 0..=70 {
            assert_eq!(roots[n], reference_root(&leaves[..n]), "size {n}");
        }
    }

    #[test]
    fn frontier_reloads_from_stored_nodes() {
        let (_, nodes, roots) = build(45);
        for n in 0..=45u64 {
            let frontier = Frontier::load(n, |l, i| Ok::<_, Infallible>(nodes[&(l, i)])).unwrap();
            assert_eq!(frontier.root(), roots[n as usize]);
            assert_eq!(frontier.size(), n);
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_one_does_not() {
        let (leaves, nodes, roots) = build(40);
        let mut read = |l: u8, i: u64| Ok::<_, Infallible>(nodes[&(l, i)]);
        for size in 1..=40u64 {
            let root = roots[size as usize];
            assert_eq!(subtree_root(0, size, &mut read).unwrap(), root);
            for index in 0..size {
                let proof = inclusion_proof(index, size, &mut read).unwrap();
                let leaf = leaves[index as usize];
                assert!(verify_inclusion(index, size, &leaf, &proof, &root));
                assert!(!verify_inclusion(
                    index,
                    size,
                    &leaf_hash(b"x"),
                    &proof,
                    &root
                ));
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(!verify_inclusion(other, size, &leaf, &proof, &root));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_wrong_one_does_not() {
        let (_, nodes, roots) = build(40);
        let mut read = |l: u8, i: u64| Ok::<_, Infallible>(nodes[&(l, i)]);
        for new in 1..=40u64 {
            for old in 1..=new {
                let proof = consistency_proof(old, new, &mut read).unwrap();
                let (a, b) = (roots[old as usize], roots[new as usize]);
                assert!(verify_consistency(old, new, &a, &b, &proof), "{old}->{new}");
                if old < new {
                    assert!(!verify_consistency(old, new, &b, &b, &proof));
                    let bad = roots[(old - 1) as usize];
                    assert!(!verify_consistency(old, new, &a, &bad, &proof));
                }
            }
        }
    }
}
