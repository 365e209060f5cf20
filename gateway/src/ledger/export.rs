//! Ledger export (`cragate.ledger-export/v1`, JSON Lines) and its offline
//! verification.
//!
//! Line 1 is a header naming the log's verifier key and the selection;
//! line 2 the signed checkpoint every proof refers to; then one line per
//! entry with its exact leaf data (a JSON string holding the record) and
//! its RFC 6962 audit path; then one line per archived document with its
//! content. Anyone with SHA-256 and Ed25519 can check it: the checkpoint
//! signature (C2SP signed-note), each leaf hash against the checkpoint root
//! (RFC 9162 §2.1.3.2), and each document against its digest.

use std::io::{BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cragate_verifier::Digest;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::checkpoint::{CheckpointError, VerifierKey};
use super::entry::{EntryBody, ProductId, Record};
use super::merkle::{self, Hash};
use super::{LedgerError, LedgerStore, Query};

/// The `format` of an export's header line.
pub const EXPORT_FORMAT: &str = "cragate.ledger-export/v1";
/// Longest line read when verifying an export: a document of up to
/// 16 MiB in base64, plus room for the JSON around it.
pub const MAX_EXPORT_LINE: usize = 24 * 1024 * 1024;

/// Which entries to export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// Entries about this product.
    pub product: Option<ProductId>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
}

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// First line.
    Header {
        /// [`EXPORT_FORMAT`].
        format: String,
        /// The ledger's verifier key (`name+hash+base64`).
        verifier_key: String,
        /// What was selected.
        selection: Selection,
    },
    /// Second line: the checkpoint the proofs refer to.
    Checkpoint {
        /// The signed note.
        note: String,
    },
    /// An entry with its proof.
    Entry {
        /// Leaf index.
        index: u64,
        /// The leaf data: the record's exact bytes, as a string.
        leaf: String,
        /// Audit path to the checkpoint root, base64 hashes, leaf side first.
        inclusion: Vec<String>,
    },
    /// An archived document named by an exported entry.
    Document {
        /// Its digest.
        digest: Digest,
        /// Its content, base64.
        content: String,
    },
}

/// What an export holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries.
    pub entries: u64,
    /// Documents.
    pub documents: u64,
    /// The checkpoint's tree size.
    pub tree_size: u64,
}

/// Why an export does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the input failed.
    #[error("reading the export: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not what the format allows there.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The checkpoint does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// An entry is not in the checkpointed tree.
    #[error("line {line}: entry {index} is not included in the checkpointed tree")]
    NotIncluded {
        /// 1-based line number.
        line: usize,
        /// The entry's index.
        index: u64,
    },
    /// A document does not have its digest, or an entry's document is absent.
    #[error("document {digest}: {reason}")]
    Document {
        /// The digest.
        digest: Digest,
        /// What is wrong.
        reason: &'static str,
    },
    /// Writing the export failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Writes an export of the entries `selection` picks, signing a checkpoint
/// first if the latest does not cover every entry.
pub fn export(
    store: &dyn LedgerStore,
    key: &VerifierKey,
    selection: &Selection,
    out: &mut impl Write,
) -> Result<Summary, ExportError> {
    let signed = store.checkpoint()?;
    let size = signed.checkpoint.size;
    let query = Query {
        product: selection.product.clone(),
        since: selection.since,
        until: selection.until,
        ..Query::default()
    };
    let records = store.query(&query)?;
    write_line(
        out,
        &Line::Header {
            format: EXPORT_FORMAT.into(),
            verifier_key: key.to_string(),
            selection: selection.clone(),
        },
    )?;
    write_line(out, &Line::Checkpoint { note: signed.note })?;
    let mut summary = Summary {
        tree_size: size,
        ..Summary::default()
    };
    let mut documents = Vec::new();
    for stored in records.iter().filter(|s| s.record.index < size) {
        let index = stored.record.index;
        let proof = store.inclusion_proof(index, size)?;
        let leaf =
            String::from_utf8(stored.bytes.clone()).map_err(|_| LedgerError::CorruptEntry {
                index,
                reason: "not UTF-8".into(),
            })?;
        write_line(
            out,
            &Line::Entry {
                index,
                leaf,
                inclusion: proof.iter().map(|h| STANDARD.encode(h)).collect(),
            },
        )?;
        summary.entries += 1;
        if let EntryBody::Document { digest, .. } = &stored.record.body
            && !documents.contains(digest)
        {
            documents.push(*digest);
        }
    }
    for digest in documents {
        let Some(content) = store.document(&digest)? else {
            return Err(ExportError::Document {
                digest,
                reason: "is not in the ledger",
            });
        };
        write_line(
            out,
            &Line::Document {
                digest,
                content: STANDARD.encode(content),
            },
        )?;
        summary.documents += 1;
    }
    Ok(summary)
}

/// Verifies an export offline. With `pinned`, the checkpoint must be signed
/// by that key; without, by the key the header names (which only shows the
/// export is self-consistent).
pub fn verify(
    mut input: impl BufRead,
    pinned: Option<&VerifierKey>,
) -> Result<Summary, ExportError> {
    let mut n = 0;
    let header = next_line(&mut input, &mut n)?;
    let Line::Header {
        format,
        verifier_key,
        selection,
    } = header
    else {
        return Err(malformed(n, "the first line must be the header"));
    };
    if format != EXPORT_FORMAT {
        return Err(malformed(
            n,
            &format!("format {format:?} is not {EXPORT_FORMAT}"),
        ));
    }
    let named: VerifierKey = verifier_key.parse()?;
    let key = pinned.unwrap_or(&named);
    let checkpoint = next_line(&mut input, &mut n)?;
    let Line::Checkpoint { note } = checkpoint else {
        return Err(malformed(n, "the second line must be the checkpoint"));
    };
    let checkpoint = key.open(&note)?;
    let mut summary = Summary {
        tree_size: checkpoint.size,
        ..Summary::default()
    };
    let mut wanted: Vec<Digest> = Vec::new();
    while let Some(line) = read_line(&mut input, &mut n)? {
        match parse(n, &line)? {
            Line::Entry {
                index,
                leaf,
                inclusion,
            } => {
                let record = check_entry(
                    n,
                    index,
                    &leaf,
                    &inclusion,
                    &checkpoint.root,
                    checkpoint.size,
                )?;
                if !in_selection(&selection, &record) {
                    return Err(malformed(n, "entry is outside the export's selection"));
                }
                if let EntryBody::Document { digest, .. } = record.body {
                    wanted.push(digest);
                }
                summary.entries += 1;
            }
            Line::Document { digest, content } => {
                let bytes = STANDARD
                    .decode(content)
                    .map_err(|_| malformed(n, "document content is not base64"))?;
                if Digest::of(&bytes) != digest {
                    return Err(ExportError::Document {
                        digest,
                        reason: "content does not have this digest",
                    });
                }
                wanted.retain(|d| *d != digest);
                summary.documents += 1;
            }
            _ => return Err(malformed(n, "header and checkpoint lines come first, once")),
        }
    }
    if let Some(digest) = wanted.first() {
        return Err(ExportError::Document {
            digest: *digest,
            reason: "an exported entry names it but its content is not in the export",
        });
    }
    Ok(summary)
}

fn check_entry(
    n: usize,
    index: u64,
    leaf: &str,
    inclusion: &[String],
    root: &Hash,
    size: u64,
) -> Result<Record, ExportError> {
    let record = Record::decode(leaf.as_bytes())
        .map_err(|e| malformed(n, &format!("leaf is not a record: {e}")))?;
    if record.index != index {
        return Err(malformed(n, "leaf names another index"));
    }
    let mut proof = Vec::with_capacity(inclusion.len());
    for hash in inclusion {
        let bytes = STANDARD
            .decode(hash)
            .map_err(|_| malformed(n, "proof hash is not base64"))?;
        let hash: Hash = bytes
            .try_into()
            .map_err(|_| malformed(n, "proof hash is not 32 bytes"))?;
        proof.push(hash);
    }
    let leaf_hash = merkle::leaf_hash(leaf.as_bytes());
    if !merkle::verify_inclusion(index, size, &leaf_hash, &proof, root) {
        return Err(ExportError::NotIncluded { line: n, index });
    }
    Ok(record)
}

fn in_selection(selection: &Selection, record: &Record) -> bool {
    let query = Query {
        product: selection.product.clone(),
        since: selection.since,
        until: selection.until,
        ..Query::default()
    };
    query.matches(record)
}

fn next_line(input: &mut impl BufRead, n: &mut usize) -> Result<Line, ExportError> {
    let Some(line) = read_line(input, n)? else {
        return Err(malformed(*n, "the export is empty or has no checkpoint"));
    };
    parse(*n, &line)
}

/// Reads one line of at most [`MAX_EXPORT_LINE`] bytes, counting lines in `n`.
fn read_line(input: &mut impl BufRead, n: &mut usize) -> Result<Option<String>, ExportError> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_EXPORT_LINE).unwrap_or(u64::MAX) + 1;
    let read = input.by_ref().take(limit).read_until(b'\n', &mut bytes)?;
    if read == 0 {
        return Ok(None);
    }
    *n += 1;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    if bytes.len() > MAX_EXPORT_LINE {
        return Err(malformed(*n, "line is over the size limit"));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| malformed(*n, "line is not UTF-8"))
}

fn parse(n: usize, line: &str) -> Result<Line, ExportError> {
    serde_json::from_str(line).map_err(|e| malformed(n, &e.to_string()))
}

fn malformed(line: usize, reason: &str) -> ExportError {
    ExportError::Malformed {
        line,
        reason: reason.to_owned(),
    }
}

fn write_line(out: &mut impl Write, line: &Line) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *out, line).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}
