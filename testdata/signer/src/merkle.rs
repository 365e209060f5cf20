//! An RFC 6962 Merkle tree (§2.1), kept in memory.

use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; 32];

/// RFC 6962 §2.1 leaf hash: `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0])
        .chain_update(leaf)
        .finalize()
        .into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([1])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The largest power of two smaller than `n` (for `n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// RFC 6962 §2.1 `MTH(D[n])` over leaf hashes. The empty tree hashes to
/// `SHA-256("")`.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [single] => *single,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// RFC 6962 §2.1.1 audit path `PATH(m, D[n])` for leaf `index`, leaf-side
/// first, as Rekor returns it. `None` when `index` is outside the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    collect_path(leaves, index, &mut path);
    Some(path)
}

fn collect_path(leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    let (left, right) = leaves.split_at(k);
    if index < k {
        collect_path(left, index, path);
        path.push(root(right));
    } else {
        collect_path(right, index - k, path);
        path.push(root(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes the root from a path, as RFC 9162 §2.1.3.2 verifies it.
    fn root_from_path(index: usize, size: usize, leaf: Hash, path: &[Hash]) -> Hash {
        let (mut f_n, mut s_n) = (index, size - 1);
        let mut r = leaf;
        for p in path {
            if f_n % 2 == 1 || f_n == s_n {
                r = node_hash(p, &r);
                while f_n % 2 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            } else {
                r = node_hash(&r, p);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        assert_eq!(s_n, 0);
        r
    }

    #[test]
    fn every_proof_recomputes_the_root_for_sizes_up_to_17() {
        for size in 1..=17usize {
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&[i as u8])).collect();
            let expected = root(&leaves);
            for index in 0..size {
                let path = inclusion_proof(&leaves, index).unwrap();
                assert_eq!(root_from_path(index, size, leaves[index], &path), expected);
            }
            assert!(inclusion_proof(&leaves, size).is_none());
        }
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
