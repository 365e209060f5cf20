//! A Rekor v1 style transparency log: one tree, entries with signed entry
//! timestamps, RFC 6962 inclusion proofs and signed checkpoints.
//!
//! - The log ID is SHA-256 of the log key's DER SubjectPublicKeyInfo.
//! - The SET (`inclusionPromise`) is the log's signature over the RFC 8785
//!   canonical JSON `{"body", "integratedTime", "logID", "logIndex"}`, with
//!   the body in base64 and the log ID in hex (Rekor `pkg/api/entries.go`).
//! - The checkpoint is a signed note (C2SP `signed-note`, Rekor v1
//!   `pkg/util/signed_note.go`): origin `<host> - <tree ID>`, tree size and
//!   base64 root, then `— <host> base64(key hint || signature)`, the key hint
//!   being the first four bytes of the log ID.

use jiff::Timestamp;
use serde::Serialize;

use crate::bundle::{
    Checkpoint, InclusionPromise, InclusionProof, KindVersion, LogId, TlogEntry, base64,
};
use crate::error::SignerError;
use crate::keys::KeyPair;
use crate::merkle::{self, Hash};

/// Rekor v1 entry types the log accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// `hashedrekord` 0.0.1: a signature over an artifact digest.
    HashedRekord,
    /// `dsse` 0.0.1: a DSSE envelope.
    Dsse,
}

impl EntryKind {
    fn kind_version(self) -> KindVersion {
        let kind = match self {
            Self::HashedRekord => "hashedrekord",
            Self::Dsse => "dsse",
        };
        KindVersion {
            kind,
            version: "0.0.1",
        }
    }
}

/// An entry the log has integrated.
#[derive(Debug, Clone)]
pub struct LoggedEntry {
    index: u64,
    kind: EntryKind,
    body: Vec<u8>,
    integrated_time: i64,
    signed_entry_timestamp: Vec<u8>,
}

/// A signed tree head.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    tree_size: u64,
    root: Hash,
    envelope: String,
}

/// The transparency log.
#[derive(Debug, Clone)]
pub struct TransparencyLog {
    key: KeyPair,
    host: String,
    tree_id: u64,
    leaves: Vec<Hash>,
}

#[derive(Serialize)]
struct SetPayload<'a> {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logID")]
    log_id: &'a str,
    #[serde(rename = "logIndex")]
    log_index: u64,
}

impl TransparencyLog {
    /// An empty log named `host` (the checkpoint origin is
    /// `<host> - <tree_id>`).
    pub fn new(key: KeyPair, host: impl Into<String>, tree_id: u64) -> Self {
        Self {
            key,
            host: host.into(),
            tree_id,
            leaves: Vec::new(),
        }
    }

    /// The log's key.
    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// Entries so far.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Appends a leaf that no bundle refers to (other tenants' entries), so
    /// that proofs are not trivially short.
    pub fn append_other(&mut self, leaf: &[u8]) {
        self.leaves.push(merkle::leaf_hash(leaf));
    }

    /// Integrates `body` at `integrated_time` and signs its SET.
    pub fn append(
        &mut self,
        kind: EntryKind,
        body: Vec<u8>,
        integrated_time: Timestamp,
    ) -> Result<LoggedEntry, SignerError> {
        let index = self.size();
        let integrated_time = integrated_time.as_second();
        let payload = SetPayload {
            body: base64(&body),
            integrated_time,
            log_id: &hex::encode(self.key.key_id()),
            log_index: index,
        };
        let canonical = serde_json_canonicalizer::to_vec(&payload)?;
        let signed_entry_timestamp = self.key.sign(&canonical);
        self.leaves.push(merkle::leaf_hash(&body));
        Ok(LoggedEntry {
            index,
            kind,
            body,
            integrated_time,
            signed_entry_timestamp,
        })
    }

    /// Signs a checkpoint over the whole tree as it stands.
    pub fn checkpoint(&self) -> SignedCheckpoint {
        let root = merkle::root(&self.leaves);
        let note = format!(
            "{} - {}\n{}\n{}\n",
            self.host,
            self.tree_id,
            self.size(),
            base64(&root)
        );
        let mut hint_and_signature = self.key.key_id().get(..4).unwrap_or_default().to_vec();
        hint_and_signature.extend_from_slice(&self.key.sign(note.as_bytes()));
        let envelope = format!(
            "{note}\n\u{2014} {} {}\n",
            self.host,
            base64(&hint_and_signature)
        );
        SignedCheckpoint {
            tree_size: self.size(),
            root,
            envelope,
        }
    }

    /// The bundle's view of `entry`, proven against `checkpoint`.
    pub fn bundle_entry(
        &self,
        entry: &LoggedEntry,
        checkpoint: &SignedCheckpoint,
    ) -> Result<TlogEntry, SignerError> {
        let tree_size = usize::try_from(checkpoint.tree_size)
            .map_err(|_| SignerError::invalid("tree too large"))?;
        let leaves = self
            .leaves
            .get(..tree_size)
            .ok_or_else(|| SignerError::invalid("checkpoint is from another log"))?;
        let index =
            usize::try_from(entry.index).map_err(|_| SignerError::invalid("index too large"))?;
        let path = merkle::inclusion_proof(leaves, index).ok_or_else(|| {
            SignerError::invalid(format!(
                "entry {} is not in the tree of size {}",
                entry.index, checkpoint.tree_size
            ))
        })?;
        Ok(TlogEntry {
            log_index: entry.index.to_string(),
            log_id: LogId {
                key_id: base64(&self.key.key_id()),
            },
            kind_version: entry.kind.kind_version(),
            integrated_time: entry.integrated_time.to_string(),
            inclusion_promise: InclusionPromise {
                signed_entry_timestamp: base64(&entry.signed_entry_timestamp),
            },
            inclusion_proof: InclusionProof {
                log_index: entry.index.to_string(),
                root_hash: base64(&checkpoint.root),
                tree_size: checkpoint.tree_size.to_string(),
                hashes: path.iter().map(|hash| base64(hash)).collect(),
                checkpoint: Checkpoint {
                    envelope: checkpoint.envelope.clone(),
                },
            },
            canonicalized_body: base64(&entry.body),
        })
    }
}
