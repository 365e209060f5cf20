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

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use cragate_verifier::Digest;
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

/// See the module documentation.
#[derive(Debug)]
pub struct VerdictCache {
    entries: Mutex<LruCache<VerdictKey, Arc<Verdict>>>,
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
    pub fn get(&self, key: &VerdictKey) -> Option<Arc<Verdict>> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    /// Keeps a verdict.
    pub fn put(&self, key: VerdictKey, verdict: Arc<Verdict>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(key, verdict);
        }
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
}
