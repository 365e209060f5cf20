//! The index of accepted artifacts: each product's current accepted
//! listing, and the artifacts it references, keyed by digest and size. An
//! artifact is stored or served only while the current accepted listing of
//! some product references it (a resubmission that names other artifacts
//! takes the old ones' backing away), and only with a size such a listing
//! declares: a listing that names a digest with another size adds a
//! reference of its own and takes nothing from another product's.
//!
//! For the file catalog the index is rebuilt on start by evaluating every
//! stored listing under the policy in force (a listing stored under an
//! older policy that the current one denies contributes nothing). For an
//! HTTP upstream, whose contents the gateway cannot enumerate, each accepted
//! listing is kept in an [`AcceptedStore`], durably before the addition
//! returns, and on start each product's last listing there is judged again
//! under the policy in force ([`AcceptedIndex::kept`]). The store is beside
//! the ledger: with the ledger in the data directory,
//! `DATA_DIR/accepted-artifacts` ([`FileAcceptedStore`]), one JSON line per
//! submission (`{"product": ID, "listing": TEXT}`); with the ledger in
//! PostgreSQL, a table of the same database ([`super::pg_accepted`]) that
//! every node appends to. Each node then applies the listings the others
//! append, in the order they were stored, each judged under its own policy
//! (one it denies backs nothing and takes its product's previous backing
//! away): told at once by a `NOTIFY`, and polling every 250 ms in any case
//! ([`AcceptedIndex::watch`]), so that an artifact accepted through one
//! node is served by every node within a second. Nodes on one file
//! catalog folder with their ledger in PostgreSQL do the same over the
//! index the folder gave them at start ([`AcceptedIndex::share`]).
//!
//! The index also says which products (id and version) reference an
//! artifact now ([`AcceptedIndex::owners`]), so that a download or an
//! upload of an artifact of a halted product is refused (CRA Art. 20(3)).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use cragate_verifier::Digest;
use cragate_verifier::evidence::ProductId;
use serde::{Deserialize, Serialize};

use super::judge::Accepted;

/// One artifact a listing references: its digest and declared size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reference {
    /// SHA-256 of the bytes.
    pub digest: Digest,
    /// Declared size in bytes.
    pub size: u64,
}

/// A product that references an artifact: its id and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `product.id`.
    pub product: ProductId,
    /// `product.version`.
    pub version: String,
}

/// One line of `accepted-artifacts`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    product: String,
    listing: String,
}

/// What a product's listings reference now.
#[derive(Debug, Default)]
struct State {
    /// Each product's current accepted listing: its version and artifacts.
    products: HashMap<String, (String, Vec<Reference>)>,
    /// How many products' current listings reference each artifact.
    backing: HashMap<Reference, usize>,
}

impl State {
    /// `product`'s current listing now references `references` (none: it
    /// has no accepted listing).
    fn set(&mut self, product: &str, version: &str, references: Vec<Reference>) {
        let old = if references.is_empty() {
            self.products.remove(product)
        } else {
            self.products
                .insert(product.to_owned(), (version.to_owned(), references.clone()))
        };
        for reference in &references {
            let count = self.backing.entry(*reference).or_insert(0);
            *count = count.saturating_add(1);
        }
        for reference in old.map(|(_, references)| references).unwrap_or_default() {
            if let Some(count) = self.backing.get_mut(&reference) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.backing.remove(&reference);
                }
            }
        }
    }
}

/// The version and the artifacts a listing's own bytes reference, when the
/// policy in force accepts it as the listing of that product; `None`
/// otherwise. It runs on whichever thread applies a stored listing (the
/// start, an addition's blocking task, the watch thread).
pub type Rejudge = dyn Fn(&str, &[u8]) -> Option<(String, Vec<Reference>)> + Send + Sync;

/// How often a node asks a shared store whether another node appended a
/// listing, whether or not it was told: four times within the second an
/// artifact accepted through one node may take to be served by another.
pub const ACCEPTED_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// One accepted listing as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredListing {
    /// Its place in the order of appends, from 1.
    pub seq: u64,
    /// The product it is the listing of (`product.id`).
    pub product: String,
    /// The listing exactly as accepted.
    pub listing: String,
}

/// Where the accepted listings of an HTTP upstream are kept, durable
/// before each call returns: [`FileAcceptedStore`] for one node, a table of
/// the shared database for several ([`super::pg_accepted`]). Blocking:
/// call it from a blocking thread.
pub trait AcceptedStore: Send + Sync + fmt::Debug {
    /// Each product's last stored listing, in the order of their
    /// sequences. A store may drop the listings that a later one of the
    /// same product replaced, and number those left again (the file does,
    /// as it rewrites itself; the shared store cannot, other nodes having
    /// read them by their numbers).
    fn latest(&self) -> io::Result<Vec<StoredListing>>;
    /// Stores `listing` as `product`'s latest; its sequence. Every listing
    /// with a lower sequence is stored before it returns, so that a reader
    /// that applies listings in order of sequence never skips one.
    fn append(&self, product: &str, listing: &str) -> io::Result<u64>;
    /// Every stored listing with a sequence above `seq`, in order, by
    /// whichever node appended it. The single-node store changes only
    /// through this gateway, which applies its own appends itself: it
    /// returns none.
    fn since(&self, _seq: u64) -> io::Result<Vec<StoredListing>> {
        Ok(Vec::new())
    }
    /// The sequence of the last listing stored, by whichever node: a node
    /// that applied fewer reads those since. The single-node store stays
    /// at 0.
    fn version(&self) -> io::Result<u64> {
        Ok(0)
    }
    /// Asks to be told at once when another node appends: `changed` is
    /// called then (and may be called when nothing changed), until it
    /// returns `false`. It must not block. A store that cannot tell does
    /// nothing, and its version is polled instead.
    fn subscribe(&self, _changed: Box<dyn FnMut() -> bool + Send>) {}
}

/// The single-node store: `DATA_DIR/accepted-artifacts`, one JSON line per
/// listing (`{"product": ID, "listing": TEXT}`), synced on every append,
/// rewritten with one line per product when read on start
/// ([`AcceptedStore::latest`]).
#[derive(Debug)]
pub struct FileAcceptedStore {
    path: PathBuf,
    /// The number of lines in the file: the sequence of the last one.
    lines: Mutex<u64>,
}

impl FileAcceptedStore {
    /// The store in `path` (created on the first append).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            lines: Mutex::new(0),
        }
    }
}

impl AcceptedStore for FileAcceptedStore {
    /// Reads the file and rewrites it with each product's last line. A
    /// last line cut short (a crash during an append) is dropped with a
    /// warning; any other line that does not parse is an error naming its
    /// line.
    fn latest(&self) -> io::Result<Vec<StoredListing>> {
        let path = &self.path;
        let text = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error),
        };
        let mut latest: Vec<Line> = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        let complete = text.ends_with(b"\n");
        let count = text.split(|b| *b == b'\n').count();
        for (number, line) in text.split(|b| *b == b'\n').enumerate() {
            let last = number.saturating_add(1) == count;
            if line.is_empty() && last {
                break;
            }
            let parsed = match serde_json::from_slice::<Line>(line) {
                Ok(parsed) => parsed,
                Err(_) if last && !complete => {
                    eprintln!(
                        "cragate: warning: {}:{}: the last line is cut short (an append that did not finish); dropped",
                        path.display(),
                        number.saturating_add(1)
                    );
                    break;
                }
                Err(error) => {
                    return Err(io::Error::other(format!(
                        "{}:{}: not an accepted-listing line ({error})",
                        path.display(),
                        number.saturating_add(1)
                    )));
                }
            };
            match position.get(&parsed.product) {
                Some(&at) => {
                    if let Some(slot) = latest.get_mut(at) {
                        *slot = parsed;
                    }
                }
                None => {
                    position.insert(parsed.product.clone(), latest.len());
                    latest.push(parsed);
                }
            }
        }
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if !text.is_empty() {
            rewrite(path, &latest)?;
        }
        *lines = latest.len() as u64;
        Ok(latest
            .into_iter()
            .zip(1..)
            .map(|(line, seq)| StoredListing {
                seq,
                product: line.product,
                listing: line.listing,
            })
            .collect())
    }

    fn append(&self, product: &str, listing: &str) -> io::Result<u64> {
        let line = Line {
            product: product.to_owned(),
            listing: listing.to_owned(),
        };
        let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
        bytes.push(b'\n');
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut file| {
                file.write_all(&bytes)?;
                file.sync_data()
            });
        appended.map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot append to {}: {error}", self.path.display()),
            )
        })?;
        *lines = lines.saturating_add(1);
        Ok(*lines)
    }
}

/// The index, shared with its watch thread.
#[derive(Debug, Default)]
struct Shared {
    state: RwLock<State>,
    kept: Option<Kept>,
}

/// Where a persistent index keeps its listings, and how far it applied
/// them.
struct Kept {
    store: Arc<dyn AcceptedStore>,
    rejudge: Arc<Rejudge>,
    /// The sequence of the last stored listing applied; held while
    /// listings are applied, so that they are applied in order once each.
    applied: Mutex<u64>,
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kept")
            .field("store", &self.store)
            .field("applied", &self.applied)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// `listing` becomes `product`'s current listing, with what it
    /// references once judged (nothing when this node's policy denies it).
    fn apply(&self, rejudge: &Rejudge, stored: &StoredListing) -> io::Result<()> {
        let (version, references) =
            rejudge(&stored.product, stored.listing.as_bytes()).unwrap_or_default();
        self.set(&stored.product, &version, references)
    }

    fn set(&self, product: &str, version: &str, references: Vec<Reference>) -> io::Result<()> {
        self.state
            .write()
            .map_err(|_| io::Error::other("accepted index poisoned"))?
            .set(product, version, references);
        Ok(())
    }

    /// Stores an accepted listing, then applies in order every listing
    /// stored before it that this index has not applied yet (other nodes'),
    /// and it with `references`, judged already. When those cannot be
    /// read, the listing is applied alone and the watch reads them all
    /// again (the listing is stored: the addition stands).
    fn append(
        &self,
        kept: &Kept,
        product: &str,
        listing: &str,
        version: &str,
        references: Vec<Reference>,
    ) -> io::Result<()> {
        let seq = kept.store.append(product, listing)?;
        let mut applied = kept.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if seq <= *applied {
            // Applied already, by a catch-up that read it.
            return Ok(());
        }
        let later = match kept.store.since(*applied) {
            Ok(later) => later,
            Err(error) => {
                eprintln!(
                    "cragate: cannot read the accepted listings stored before {product}'s: {error}; read again at the next poll"
                );
                return self.set(product, version, references);
            }
        };
        let mut own = Some(references);
        for stored in &later {
            if stored.seq == seq {
                let references = own.take().unwrap_or_default();
                self.set(product, version, references)?;
            } else {
                self.apply(&*kept.rejudge, stored)?;
            }
            *applied = (*applied).max(stored.seq);
        }
        match own {
            None => Ok(()),
            // Replaced already by a later listing of the product (the
            // store dropped this one).
            Some(_) if later.iter().any(|s| s.seq > seq && s.product == product) => Ok(()),
            // A store that does not read its own appends back (the file).
            Some(references) => {
                *applied = (*applied).max(seq);
                self.set(product, version, references)
            }
        }
    }

    /// Applies, in order, the listings stored since the last one applied,
    /// if the store's version moved; whether it did.
    fn catch_up(&self, kept: &Kept) -> io::Result<bool> {
        let mut applied = kept.applied.lock().unwrap_or_else(PoisonError::into_inner);
        let version = kept.store.version()?;
        if version == *applied {
            return Ok(false);
        }
        for stored in kept.store.since(*applied)? {
            self.apply(&*kept.rejudge, &stored)?;
            *applied = (*applied).max(stored.seq);
        }
        // Every listing up to `version` was stored when it was read:
        // those not returned were replaced by a later one of their product.
        *applied = (*applied).max(version);
        Ok(true)
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AcceptedIndex {
    shared: Arc<Shared>,
    /// This node's additions are stored and applied one at a time.
    writer: tokio::sync::Mutex<()>,
}

impl AcceptedIndex {
    /// An index kept only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// An index kept in the file `path` (created if absent): see
    /// [`FileAcceptedStore`] and [`Self::kept`].
    pub fn persistent(path: &Path, rejudge: Arc<Rejudge>) -> io::Result<Self> {
        Self::kept(Arc::new(FileAcceptedStore::new(path)), rejudge)
    }

    /// An index kept in `store`. Each product's last listing in it is
    /// judged again by `rejudge`, and only those accepted now back
    /// downloads (the listings denied now stay in the store, judged again
    /// at the next start). Listings other nodes append later are applied by
    /// [`Self::watch`].
    pub fn kept(store: Arc<dyn AcceptedStore>, rejudge: Arc<Rejudge>) -> io::Result<Self> {
        Self::default().share(store, rejudge)
    }

    /// This index (built from the file catalog at start) kept in `store`
    /// from now on, as [`Self::kept`] keeps one: each product's last
    /// listing in the store is applied over what the catalog gave (the
    /// store holds what the nodes accepted since, the later word; one this
    /// node's policy denies takes the product's backing away), and this
    /// node's additions go to the store. For several nodes on one shared
    /// catalog folder, which each read only when they start.
    pub fn share(self, store: Arc<dyn AcceptedStore>, rejudge: Arc<Rejudge>) -> io::Result<Self> {
        let shared = Arc::try_unwrap(self.shared)
            .map_err(|_| io::Error::other("the accepted index is in use already"))?;
        let mut applied = 0;
        for stored in store.latest()? {
            shared.apply(&*rejudge, &stored)?;
            applied = applied.max(stored.seq);
        }
        Ok(Self {
            shared: Arc::new(Shared {
                state: shared.state,
                kept: Some(Kept {
                    store,
                    rejudge,
                    applied: Mutex::new(applied),
                }),
            }),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// Keeps the index in step with a store other nodes append to: a
    /// thread reads the listings appended since the last one applied at
    /// once when the store says it changed ([`AcceptedStore::subscribe`]),
    /// and every `interval` ([`ACCEPTED_POLL_INTERVAL`]) whether or not it
    /// said so, which is all that runs when the store cannot tell. Each is
    /// judged under this node's policy: one it denies backs nothing, and
    /// takes its product's previous listing's backing away. The thread ends
    /// with the index. A failed read is reported and retried; the index
    /// stays as it was. An index kept in memory has nothing to watch.
    pub fn watch(&self, interval: Duration) -> io::Result<()> {
        let Some(kept) = &self.shared.kept else {
            return Ok(());
        };
        crate::http::watch::watch(
            "accepted-watch",
            "the shared accepted listings",
            interval,
            |changed| kept.store.subscribe(changed),
            Arc::downgrade(&self.shared),
            |shared: &Shared| match &shared.kept {
                Some(kept) => shared.catch_up(kept),
                None => Ok(false),
            },
        )
    }

    /// An accepted listing becomes its product's current one (durably,
    /// when persistent): its artifacts are backed, and those of the
    /// product's previous listing only if another current listing
    /// references them too. With a shared store, the listings other nodes
    /// stored before it are applied first, so that none of them replaces
    /// it afterwards.
    pub async fn add(&self, accepted: &Accepted) -> io::Result<()> {
        let product = accepted.product_id().as_str().to_owned();
        let version = accepted.owner().version;
        let references = references(accepted.artifacts());
        let _order = self.writer.lock().await;
        if self.shared.kept.is_none() {
            return self.restore(&product, &version, references);
        }
        let listing = std::str::from_utf8(accepted.listing())
            .map_err(|e| io::Error::other(format!("an accepted listing is not UTF-8: {e}")))?
            .to_owned();
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || match &shared.kept {
            Some(kept) => shared.append(kept, &product, &listing, &version, references),
            None => shared.set(&product, &version, references),
        })
        .await
        .map_err(|e| io::Error::other(format!("storing an accepted listing: {e}")))?
    }

    /// Sets what `product`'s current accepted listing references, in
    /// memory only: for rebuilding the index of the file catalog on start,
    /// from listings judged then.
    pub fn restore(
        &self,
        product: &str,
        version: &str,
        references: Vec<Reference>,
    ) -> io::Result<()> {
        self.shared.set(product, version, references)
    }

    /// The products whose current accepted listing references `digest`
    /// (any size), with their versions.
    pub fn owners(&self, digest: &Digest) -> Vec<Owner> {
        let Ok(state) = self.shared.state.read() else {
            return Vec::new();
        };
        let mut owners: Vec<Owner> = state
            .products
            .iter()
            .filter(|(_, (_, references))| references.iter().any(|r| r.digest == *digest))
            .filter_map(|(product, (version, _))| {
                Some(Owner {
                    product: product.parse().ok()?,
                    version: version.clone(),
                })
            })
            .collect();
        owners.sort_by(|a, b| a.product.as_str().cmp(b.product.as_str()));
        owners
    }

    /// The sizes current accepted listings declare for `digest`, smallest
    /// first; empty when none references it (or the index cannot be read).
    pub fn sizes(&self, digest: &Digest) -> Vec<u64> {
        let Ok(state) = self.shared.state.read() else {
            return Vec::new();
        };
        let mut sizes: Vec<u64> = state
            .backing
            .keys()
            .filter(|r| r.digest == *digest)
            .map(|r| r.size)
            .collect();
        sizes.sort_unstable();
        sizes
    }

    /// How many artifacts (digest and size) it holds.
    pub fn len(&self) -> usize {
        self.shared.state.read().map_or(0, |s| s.backing.len())
    }

    /// Whether it holds no artifact.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The references of a listing's artifacts.
pub fn references(artifacts: &[cragate_verifier::evidence::Artifact]) -> Vec<Reference> {
    artifacts
        .iter()
        .map(|a| Reference {
            digest: a.digest,
            size: a.size,
        })
        .collect()
}

/// Replaces `path` with `lines`, through a synced temporary file renamed
/// into place.
fn rewrite(path: &Path, lines: &[Line]) -> io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    for line in lines {
        serde_json::to_writer(&mut temp, line).map_err(io::Error::other)?;
        temp.write_all(b"\n")?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(byte: u8, size: u64) -> Reference {
        Reference {
            digest: Digest::of(&[byte]),
            size,
        }
    }

    /// A rejudge that accepts every listing whose text is `<byte> <size>`.
    fn accept_all(_: &str, listing: &[u8]) -> Option<(String, Vec<Reference>)> {
        let text = std::str::from_utf8(listing).ok()?;
        let (byte, size) = text.split_once(' ')?;
        Some((
            "1.0".into(),
            vec![reference(byte.parse().ok()?, size.parse().ok()?)],
        ))
    }

    fn line(product: &str, listing: &str) -> String {
        format!(
            "{}\n",
            serde_json::to_string(&Line {
                product: product.into(),
                listing: listing.into(),
            })
            .unwrap()
        )
    }

    /// A store several indexes share, as nodes share the database.
    #[derive(Debug, Default)]
    struct Memory {
        rows: Mutex<Vec<StoredListing>>,
    }

    impl AcceptedStore for Memory {
        fn latest(&self) -> io::Result<Vec<StoredListing>> {
            let rows = self.rows.lock().unwrap();
            Ok(rows
                .iter()
                .filter(|row| {
                    !rows
                        .iter()
                        .any(|later| later.product == row.product && later.seq > row.seq)
                })
                .cloned()
                .collect())
        }

        fn append(&self, product: &str, listing: &str) -> io::Result<u64> {
            let mut rows = self.rows.lock().unwrap();
            let seq = rows.len() as u64 + 1;
            rows.push(StoredListing {
                seq,
                product: product.into(),
                listing: listing.into(),
            });
            Ok(seq)
        }

        fn since(&self, seq: u64) -> io::Result<Vec<StoredListing>> {
            let rows = self.rows.lock().unwrap();
            Ok(rows.iter().filter(|row| row.seq > seq).cloned().collect())
        }

        fn version(&self) -> io::Result<u64> {
            Ok(self.rows.lock().unwrap().len() as u64)
        }
    }

    /// `index`'s node accepted `listing` (`<byte> <size>`) of `product`.
    fn accept(index: &AcceptedIndex, product: &str, listing: &str) {
        let (version, references) = accept_all(product, listing.as_bytes()).unwrap();
        let kept = index.shared.kept.as_ref().unwrap();
        index
            .shared
            .append(kept, product, listing, &version, references)
            .unwrap();
    }

    /// Whether `index` applied what the store holds now.
    fn catch_up(index: &AcceptedIndex) -> bool {
        index
            .shared
            .catch_up(index.shared.kept.as_ref().unwrap())
            .unwrap()
    }

    fn sizes(index: &AcceptedIndex, byte: u8) -> Vec<u64> {
        index.sizes(&Digest::of(&[byte]))
    }

    #[test]
    fn listings_other_nodes_store_are_applied_in_order_under_this_nodes_policy() {
        let store = Arc::new(Memory::default());
        let one = AcceptedIndex::kept(store.clone(), Arc::new(accept_all)).unwrap();
        // This node's policy denies product b and any listing naming byte 9.
        let strict = |product: &str, listing: &[u8]| {
            (product != "b" && !listing.starts_with(b"9 "))
                .then(|| accept_all(product, listing))
                .flatten()
        };
        let two = AcceptedIndex::kept(store.clone(), Arc::new(strict)).unwrap();
        assert!(!catch_up(&two), "nothing stored yet");

        accept(&one, "a", "1 10");
        assert!(sizes(&two, 1).is_empty(), "not read yet");
        assert!(catch_up(&two));
        assert_eq!(sizes(&two, 1), vec![10]);
        assert!(!catch_up(&two), "nothing new");

        // Denied here: backs nothing here, though it does where accepted.
        accept(&one, "b", "2 20");
        assert!(catch_up(&two));
        assert!(sizes(&two, 2).is_empty());
        assert_eq!(sizes(&one, 2), vec![20]);

        // Resubmissions replace, in the order they were stored.
        accept(&one, "a", "3 30");
        accept(&one, "a", "4 40");
        assert!(catch_up(&two));
        assert!(sizes(&two, 1).is_empty());
        assert!(sizes(&two, 3).is_empty());
        assert_eq!(sizes(&two, 4), vec![40]);

        // A resubmission this node denies takes the old backing away here.
        accept(&one, "a", "9 90");
        assert!(catch_up(&two));
        assert!(sizes(&two, 4).is_empty());
        assert!(sizes(&two, 9).is_empty());
        assert_eq!(sizes(&one, 9), vec![90]);
        assert!(two.is_empty());

        // A node started later reads each product's last listing.
        let three = AcceptedIndex::kept(store, Arc::new(accept_all)).unwrap();
        assert_eq!(sizes(&three, 9), vec![90]);
        assert_eq!(sizes(&three, 2), vec![20]);
        assert_eq!(three.len(), 2);
        assert!(!catch_up(&three));
    }

    #[test]
    fn an_addition_applies_first_what_other_nodes_stored_before_it() {
        let store = Arc::new(Memory::default());
        let one = AcceptedIndex::kept(store.clone(), Arc::new(accept_all)).unwrap();
        let two = AcceptedIndex::kept(store, Arc::new(accept_all)).unwrap();
        accept(&two, "a", "1 10");
        accept(&one, "b", "2 20");
        assert_eq!(sizes(&one, 1), vec![10], "read before its own");
        assert_eq!(sizes(&one, 2), vec![20]);
        // Another node's older listing of the same product does not
        // replace this node's later one.
        accept(&two, "a", "3 30");
        accept(&one, "a", "4 40");
        assert!(!catch_up(&one), "applied up to its own already");
        assert!(sizes(&one, 3).is_empty());
        assert_eq!(sizes(&one, 4), vec![40]);
        assert!(catch_up(&two));
        assert!(sizes(&two, 3).is_empty());
        assert_eq!(sizes(&two, 4), vec![40]);
        assert_eq!(sizes(&two, 2), vec![20]);
    }

    #[test]
    fn the_watch_applies_other_nodes_listings_at_its_next_poll() {
        let store = Arc::new(Memory::default());
        let one = AcceptedIndex::kept(store.clone(), Arc::new(accept_all)).unwrap();
        let two = AcceptedIndex::kept(store, Arc::new(accept_all)).unwrap();
        two.watch(Duration::from_millis(10)).unwrap();
        accept(&one, "a", "1 10");
        let start = std::time::Instant::now();
        while sizes(&two, 1).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "not applied after 5 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // The thread holds no strong reference: the index drops.
        let weak = Arc::downgrade(&two.shared);
        drop(two);
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn the_file_store_numbers_its_lines_and_tells_nothing_since() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        std::fs::write(&path, [line("a", "1 10"), line("a", "2 20")].concat()).unwrap();
        let store = Arc::new(FileAcceptedStore::new(&path));
        let index = AcceptedIndex::kept(store.clone(), Arc::new(accept_all)).unwrap();
        accept(&index, "b", "3 30");
        assert_eq!(store.since(0).unwrap(), Vec::new());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            [line("a", "2 20"), line("b", "3 30")].concat()
        );
        assert_eq!(
            *index.shared.kept.as_ref().unwrap().applied.lock().unwrap(),
            2
        );
        assert_eq!(sizes(&index, 2), vec![20]);
        assert_eq!(sizes(&index, 3), vec![30]);
    }

    #[test]
    fn the_same_digest_with_another_size_is_a_reference_of_its_own() {
        let index = AcceptedIndex::in_memory();
        index
            .restore("owner", "1.0", vec![reference(1, 10)])
            .unwrap();
        index
            .restore("other", "1.0", vec![reference(1, 11)])
            .unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10, 11]);
        index.restore("other", "1.0", Vec::new()).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10]);
    }

    #[test]
    fn a_resubmission_takes_away_only_what_no_other_listing_references() {
        let index = AcceptedIndex::in_memory();
        index.restore("a", "1.0", vec![reference(1, 10)]).unwrap();
        index.restore("b", "1.0", vec![reference(1, 10)]).unwrap();
        index.restore("a", "1.0", vec![reference(2, 20)]).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10]);
        index.restore("b", "1.0", vec![reference(3, 30)]).unwrap();
        assert!(index.sizes(&Digest::of(&[1])).is_empty());
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn owners_are_the_products_whose_current_listing_references_the_digest() {
        let index = AcceptedIndex::in_memory();
        index
            .restore("cam-a", "2.8.0", vec![reference(1, 10)])
            .unwrap();
        index
            .restore("cam-b", "1.0.0", vec![reference(1, 11)])
            .unwrap();
        let owners = index.owners(&Digest::of(&[1]));
        let named: Vec<(&str, &str)> = owners
            .iter()
            .map(|o| (o.product.as_str(), o.version.as_str()))
            .collect();
        assert_eq!(named, [("cam-a", "2.8.0"), ("cam-b", "1.0.0")]);
        index
            .restore("cam-a", "2.9.0", vec![reference(2, 10)])
            .unwrap();
        assert_eq!(index.owners(&Digest::of(&[1])).len(), 1);
        assert_eq!(index.owners(&Digest::of(&[2]))[0].version, "2.9.0");
    }

    #[test]
    fn each_products_last_listing_is_judged_again_on_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        let text = [line("a", "1 10"), line("b", "2 20"), line("a", "3 30")].concat();
        std::fs::write(&path, text).unwrap();
        let deny_b = |product: &str, listing: &[u8]| {
            (product != "b")
                .then(|| accept_all(product, listing))
                .flatten()
        };
        let index = AcceptedIndex::persistent(&path, Arc::new(deny_b)).unwrap();
        assert!(index.sizes(&Digest::of(&[1])).is_empty());
        assert!(index.sizes(&Digest::of(&[2])).is_empty());
        assert_eq!(index.sizes(&Digest::of(&[3])), vec![30]);
        // Compacted to one line per product; the denied one kept.
        let again = std::fs::read_to_string(&path).unwrap();
        assert_eq!(again, [line("a", "3 30"), line("b", "2 20")].concat());
        let index = AcceptedIndex::persistent(&path, Arc::new(accept_all)).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[2])), vec![20]);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_a_damaged_one_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        std::fs::write(&path, format!("{}{{\"product\":\"b", line("a", "1 10"))).unwrap();
        let index = AcceptedIndex::persistent(&path, Arc::new(accept_all)).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), line("a", "1 10"));
        std::fs::write(&path, format!("not json\n{}", line("a", "1 10"))).unwrap();
        let error = AcceptedIndex::persistent(&path, Arc::new(accept_all)).unwrap_err();
        assert!(error.to_string().contains(":1:"), "{error}");
    }
}
