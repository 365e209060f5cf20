//! The verdict cache, bounded in memory (least recently used out first).
//!
//! A verdict is a function of the listing bytes, the policy (its file and
//! every file it references) and the evaluation time. The key holds the
//! SHA-256 of the listing bytes, the policy digest (which covers the
//! referenced files, trust roots included), and the UTC date of
//! evaluation: every time-dependent check compares calendar dates (support
//! period, placing on the market, DoC signing date), so a verdict computed
//! earlier the same UTC day is the verdict that would be computed now.
//! Changing any input changes the key: a stale verdict cannot be served.
//!
//! The SHA-256 of listings read again and again (the common case for a
//! catalog) is remembered by their exact bytes ([`DigestMemo`]): a lookup
//! compares the bytes themselves, so it finds the digest of exactly these
//! bytes, at a fraction of the cost of hashing them again.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cragate_verifier::Digest;
use cragate_verifier::evidence::Artifact;
use cragate_verifier::verdict::Verdict;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use lru::LruCache;

/// What a verdict was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerdictKey {
    listing: Digest,
    policy: Digest,
    day: Date,
}

impl VerdictKey {
    /// The key for evaluating `listing` under `policy` at `at`.
    pub fn new(listing: Digest, policy: Digest, at: Timestamp) -> Self {
        Self {
            listing,
            policy,
            day: at.to_zoned(TimeZone::UTC).date(),
        }
    }
}

/// A verdict, with the one part of the listing a route needs besides it:
/// the artifacts it declares.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The verdict.
    pub verdict: Arc<Verdict>,
    /// The listing's artifacts.
    pub artifacts: Arc<[Artifact]>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct VerdictCache {
    entries: Mutex<LruCache<VerdictKey, Judged>>,
}

impl VerdictCache {
    /// A cache of at most `capacity` verdicts (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The cached verdict for `key`.
    pub fn get(&self, key: &VerdictKey) -> Option<Judged> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// Keeps a verdict.
    pub fn put(&self, key: VerdictKey, judged: Judged) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(key, judged);
        }
    }
}

/// Largest listing whose digest is remembered.
const MEMO_MAX_BYTES: usize = 64 * 1024;

/// Listings whose digest is remembered: with [`MEMO_MAX_BYTES`], 16 MiB of
/// copies at most.
const MEMO_ENTRIES: usize = 256;

/// SHA-256 digests of recently seen listings, by their exact bytes (least
/// recently used out first). The table's hash is seeded at random per
/// process, so crafted listings cannot pile up in one bucket.
#[derive(Debug)]
pub struct DigestMemo {
    entries: Mutex<LruCache<Bytes, Digest, foldhash::fast::RandomState>>,
}

impl Default for DigestMemo {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(MEMO_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(LruCache::with_hasher(
                capacity,
                foldhash::fast::RandomState::default(),
            )),
        }
    }
}

impl DigestMemo {
    /// The SHA-256 of `bytes`.
    pub fn digest(&self, bytes: &Bytes) -> Digest {
        if bytes.len() > MEMO_MAX_BYTES {
            return Digest::of(bytes);
        }
        if let Some(digest) = self
            .entries
            .lock()
            .ok()
            .and_then(|mut e| e.get(bytes).copied())
        {
            return digest;
        }
        let digest = Digest::of(bytes);
        if let Ok(mut entries) = self.entries.lock() {
            // A copy of its own, so that the memo does not hold on to the
            // larger buffer the listing was read into.
            entries.put(Bytes::copy_from_slice(bytes), digest);
        }
        digest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_every_input() {
        let at: Timestamp = "2027-06-01T10:00:00Z".parse().unwrap();
        let key = VerdictKey::new(Digest::of(b"l"), Digest::of(b"p"), at);
        let later_same_day: Timestamp = "2027-06-01T23:59:59Z".parse().unwrap();
        let next_day: Timestamp = "2027-06-02T00:00:00Z".parse().unwrap();
        assert_eq!(
            key,
            VerdictKey::new(Digest::of(b"l"), Digest::of(b"p"), later_same_day)
        );
        assert_ne!(
            key,
            VerdictKey::new(Digest::of(b"l"), Digest::of(b"p"), next_day)
        );
        assert_ne!(key, VerdictKey::new(Digest::of(b"m"), Digest::of(b"p"), at));
        assert_ne!(key, VerdictKey::new(Digest::of(b"l"), Digest::of(b"q"), at));
    }

    #[test]
    fn the_memo_gives_the_digest_of_exactly_these_bytes() {
        let memo = DigestMemo::default();
        let listing = Bytes::from_static(br#"{"format":"cragate.listing/v1"}"#);
        assert_eq!(memo.digest(&listing), Digest::of(&listing));
        assert_eq!(memo.digest(&listing.clone()), Digest::of(&listing));
        let mut other = listing.to_vec();
        other[3] ^= 1;
        assert_eq!(memo.digest(&Bytes::from(other.clone())), Digest::of(&other));
        // Past the capacity, old entries go and digests stay right.
        for n in 0..(MEMO_ENTRIES + 10) {
            let bytes = Bytes::from(format!("listing {n}"));
            assert_eq!(memo.digest(&bytes), Digest::of(&bytes));
        }
        assert_eq!(memo.digest(&listing), Digest::of(&listing));
        let big = Bytes::from(vec![7u8; MEMO_MAX_BYTES + 1]);
        assert_eq!(memo.digest(&big), Digest::of(&big));
    }
}
