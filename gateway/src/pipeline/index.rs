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
//! listing is kept in `DATA_DIR/accepted-artifacts`, one JSON line per
//! submission (`{"product": ID, "listing": TEXT}`), synced on every
//! addition; on start each product's last listing there is judged again
//! under the policy in force ([`AcceptedIndex::persistent`]).

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use cragate_verifier::Digest;
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
    /// Each product's current accepted listing's artifacts.
    products: HashMap<String, Vec<Reference>>,
    /// How many products' current listings reference each artifact.
    backing: HashMap<Reference, usize>,
}

impl State {
    /// `product`'s current listing now references `references` (none: it
    /// has no accepted listing).
    fn set(&mut self, product: &str, references: Vec<Reference>) {
        let old = if references.is_empty() {
            self.products.remove(product)
        } else {
            self.products.insert(product.to_owned(), references.clone())
        };
        for reference in &references {
            let count = self.backing.entry(*reference).or_insert(0);
            *count = count.saturating_add(1);
        }
        for reference in old.unwrap_or_default() {
            if let Some(count) = self.backing.get_mut(&reference) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.backing.remove(&reference);
                }
            }
        }
    }
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AcceptedIndex {
    state: RwLock<State>,
    file: Option<PathBuf>,
    /// Appends to the file and changes in memory happen in one order.
    writer: tokio::sync::Mutex<()>,
}

/// The artifacts a listing's own bytes reference, when the policy in force
/// accepts it as the listing of that product; `None` otherwise.
pub type Rejudge<'a> = dyn FnMut(&str, &[u8]) -> Option<Vec<Reference>> + 'a;

impl AcceptedIndex {
    /// An index kept only in memory.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// An index kept in `path` (created if absent). Each product's last
    /// listing in it is judged again by `rejudge`, and only those accepted
    /// now back downloads; the file is then rewritten with one line per
    /// product (the listings denied now stay in it, judged again at the
    /// next start). A last line cut short (a crash during an append) is
    /// dropped with a warning; any other line that does not parse stops
    /// the start, naming its line.
    pub fn persistent(path: &Path, rejudge: &mut Rejudge<'_>) -> io::Result<Self> {
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
        let mut state = State::default();
        for line in &latest {
            if let Some(references) = rejudge(&line.product, line.listing.as_bytes()) {
                state.set(&line.product, references);
            }
        }
        if !text.is_empty() {
            rewrite(path, &latest)?;
        }
        Ok(Self {
            state: RwLock::new(state),
            file: Some(path.to_path_buf()),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// An accepted listing becomes its product's current one (durably,
    /// when persistent): its artifacts are backed, and those of the
    /// product's previous listing only if another current listing
    /// references them too.
    pub async fn add(&self, accepted: &Accepted) -> io::Result<()> {
        let product = accepted.product_id().as_str().to_owned();
        let references = references(accepted.artifacts());
        let _order = self.writer.lock().await;
        if let Some(path) = self.file.clone() {
            let listing = std::str::from_utf8(accepted.listing())
                .map_err(|e| io::Error::other(format!("an accepted listing is not UTF-8: {e}")))?
                .to_owned();
            let line = Line {
                product: product.clone(),
                listing,
            };
            let mut bytes = serde_json::to_vec(&line).map_err(io::Error::other)?;
            bytes.push(b'\n');
            tokio::task::spawn_blocking(move || {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                file.write_all(&bytes)?;
                file.sync_data()
            })
            .await
            .map_err(|e| io::Error::other(e.to_string()))??;
        }
        self.restore(&product, references)
    }

    /// Sets what `product`'s current accepted listing references, in
    /// memory only: for rebuilding the index of the file catalog on start,
    /// from listings judged then.
    pub fn restore(&self, product: &str, references: Vec<Reference>) -> io::Result<()> {
        self.state
            .write()
            .map_err(|_| io::Error::other("accepted index poisoned"))?
            .set(product, references);
        Ok(())
    }

    /// The sizes current accepted listings declare for `digest`, smallest
    /// first; empty when none references it (or the index cannot be read).
    pub fn sizes(&self, digest: &Digest) -> Vec<u64> {
        let Ok(state) = self.state.read() else {
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
        self.state.read().map_or(0, |s| s.backing.len())
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
    fn accept_all(_: &str, listing: &[u8]) -> Option<Vec<Reference>> {
        let text = std::str::from_utf8(listing).ok()?;
        let (byte, size) = text.split_once(' ')?;
        Some(vec![reference(byte.parse().ok()?, size.parse().ok()?)])
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

    #[test]
    fn the_same_digest_with_another_size_is_a_reference_of_its_own() {
        let index = AcceptedIndex::in_memory();
        index.restore("owner", vec![reference(1, 10)]).unwrap();
        index.restore("other", vec![reference(1, 11)]).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10, 11]);
        index.restore("other", Vec::new()).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10]);
    }

    #[test]
    fn a_resubmission_takes_away_only_what_no_other_listing_references() {
        let index = AcceptedIndex::in_memory();
        index.restore("a", vec![reference(1, 10)]).unwrap();
        index.restore("b", vec![reference(1, 10)]).unwrap();
        index.restore("a", vec![reference(2, 20)]).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10]);
        index.restore("b", vec![reference(3, 30)]).unwrap();
        assert!(index.sizes(&Digest::of(&[1])).is_empty());
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn each_products_last_listing_is_judged_again_on_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        let text = [line("a", "1 10"), line("b", "2 20"), line("a", "3 30")].concat();
        std::fs::write(&path, text).unwrap();
        let mut deny_b = |product: &str, listing: &[u8]| {
            (product != "b")
                .then(|| accept_all(product, listing))
                .flatten()
        };
        let index = AcceptedIndex::persistent(&path, &mut deny_b).unwrap();
        assert!(index.sizes(&Digest::of(&[1])).is_empty());
        assert!(index.sizes(&Digest::of(&[2])).is_empty());
        assert_eq!(index.sizes(&Digest::of(&[3])), vec![30]);
        // Compacted to one line per product; the denied one kept.
        let again = std::fs::read_to_string(&path).unwrap();
        assert_eq!(again, [line("a", "3 30"), line("b", "2 20")].concat());
        let index = AcceptedIndex::persistent(&path, &mut accept_all).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[2])), vec![20]);
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_a_damaged_one_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted");
        std::fs::write(&path, format!("{}{{\"product\":\"b", line("a", "1 10"))).unwrap();
        let index = AcceptedIndex::persistent(&path, &mut accept_all).unwrap();
        assert_eq!(index.sizes(&Digest::of(&[1])), vec![10]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), line("a", "1 10"));
        std::fs::write(&path, format!("not json\n{}", line("a", "1 10"))).unwrap();
        let error = AcceptedIndex::persistent(&path, &mut accept_all).unwrap_err();
        assert!(error.to_string().contains(":1:"), "{error}");
    }
}
