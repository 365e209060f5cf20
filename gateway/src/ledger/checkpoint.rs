//! Signed checkpoints: C2SP `tlog-checkpoint` bodies in C2SP `signed-note`
//! envelopes, signed with Ed25519.
//!
//! A checkpoint body is `<origin>\n<size>\n<base64 root>\n`; the note adds a
//! blank line and one signature line `— <name> <base64(key hash || signature)>`,
//! where the key hash is the first 4 bytes of
//! SHA-256(name || 0x0A || 0x01 || public key) (C2SP signed-note, Ed25519).
//! The verifier key is written `<name>+<hex key hash>+<base64(0x01 || public key)>`.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::digest::{Context, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::merkle::Hash;

/// The signature algorithm byte of Ed25519 in C2SP signed-note.
const ED25519_ALGORITHM: u8 = 0x01;
/// The em dash and space that start a signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a checkpoint or key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signing key file could not be read or written.
    #[error("signing key {path}: {source}")]
    KeyFile {
        /// The key file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The signing key file does not hold an Ed25519 PKCS#8 key.
    #[error("signing key {path} is not an Ed25519 PKCS#8 key")]
    BadKey {
        /// The key file.
        path: String,
    },
    /// A verifier key string is malformed.
    #[error("verifier key {value:?} is not <name>+<8 hex digits>+<base64 Ed25519 key>")]
    BadVerifierKey {
        /// The key as given.
        value: String,
    },
    /// The note is not a checkpoint body followed by signature lines.
    #[error("checkpoint is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// No signature line is from the expected key.
    #[error("checkpoint has no signature by {name}")]
    NoSignature {
        /// The expected key name.
        name: String,
    },
    /// The signature from the expected key does not verify.
    #[error("checkpoint signature by {name} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
    },
    /// The checkpoint is for another log.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    WrongOrigin {
        /// The origin line.
        found: String,
        /// The expected origin.
        expected: String,
    },
}

/// A checkpoint body: a tree size and root for one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root.
    pub root: Hash,
}

impl Checkpoint {
    /// The body text that is signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }
}

/// The ledger's Ed25519 signing key; its name is the log's origin.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    verifier: VerifierKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.verifier)
    }
}

impl SigningKey {
    /// Loads the PKCS#8 key at `path`, or creates one there (mode 0600) if there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, CheckpointError> {
        let key_error = |source| CheckpointError::KeyFile {
            path: path.display().to_string(),
            source,
        };
        let pkcs8 = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let document =
                    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| {
                        CheckpointError::BadKey {
                            path: path.display().to_string(),
                        }
                    })?;
                write_private(path, document.as_ref()).map_err(key_error)?;
                document.as_ref().to_vec()
            }
            Err(error) => return Err(key_error(error)),
        };
        Self::from_pkcs8(&pkcs8).ok_or_else(|| CheckpointError::BadKey {
            path: path.display().to_string(),
        })
    }

    /// A key from PKCS#8 bytes; the name is derived from the public key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Option<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).ok()?;
        let public: [u8; 32] = pair.public_key().as_ref().try_into().ok()?;
        let name = format!(
            "cragate-ledger/{}",
            hex::encode(sha256(&[&public]).get(..8)?)
        );
        let verifier = VerifierKey::new(name, public);
        Some(Self { pair, verifier })
    }

    /// The public half.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Signs `checkpoint` and returns the whole note.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let signature = self.pair.sign(body.as_bytes());
        let mut blob = self.verifier.key_hash.to_vec();
        blob.extend_from_slice(signature.as_ref());
        format!(
            "{body}\n{SIGNATURE_PREFIX}{} {}\n",
            self.verifier.name,
            STANDARD.encode(blob)
        )
    }
}

/// An Ed25519 note verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_hash: [u8; 4],
    public: [u8; 32],
}

impl VerifierKey {
    fn new(name: String, public: [u8; 32]) -> Self {
        let digest = sha256(&[name.as_bytes(), b"\n", &[ED25519_ALGORITHM], &public]);
        let mut key_hash = [0u8; 4];
        key_hash.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
        Self {
            name,
            key_hash,
            public,
        }
    }

    /// The key name, which is also the log's origin.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the note's signature by this key and returns its checkpoint,
    /// which must carry this key's name as origin.
    pub fn open(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let malformed = |reason| CheckpointError::Malformed { reason };
        let split = note
            .find("\n\n")
            .ok_or(malformed("no blank line before the signatures"))?;
        let (body, signatures) = (
            note.get(..=split).unwrap_or_default(),
            note.get(split + 2..).unwrap_or_default(),
        );
        let mut ours = None;
        for line in signatures.lines() {
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(malformed("a signature line does not start with an em dash"))?;
            let (name, blob) = rest
                .split_once(' ')
                .ok_or(malformed("a signature line has no signature"))?;
            let blob = STANDARD
                .decode(blob)
                .map_err(|_| malformed("a signature is not base64"))?;
            if name == self.name && blob.get(..4) == Some(&self.key_hash[..]) {
                ours = Some(blob);
            }
        }
        let blob = ours.ok_or_else(|| CheckpointError::NoSignature {
            name: self.name.clone(),
        })?;
        UnparsedPublicKey::new(&ED25519, self.public)
            .verify(body.as_bytes(), blob.get(4..).unwrap_or_default())
            .map_err(|_| CheckpointError::BadSignature {
                name: self.name.clone(),
            })?;
        let checkpoint = parse_body(body)?;
        if checkpoint.origin != self.name {
            return Err(CheckpointError::WrongOrigin {
                found: checkpoint.origin,
                expected: self.name.clone(),
            });
        }
        Ok(checkpoint)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = vec![ED25519_ALGORITHM];
        key.extend_from_slice(&self.public);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_hash),
            STANDARD.encode(key)
        )
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = CheckpointError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let bad = || CheckpointError::BadVerifierKey {
            value: value.to_owned(),
        };
        let mut parts = value.trim().splitn(3, '+');
        let (Some(name), Some(hash), Some(key), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let key = STANDARD.decode(key).map_err(|_| bad())?;
        let Some((&ED25519_ALGORITHM, public)) = key.split_first() else {
            return Err(bad());
        };
        let public: [u8; 32] = public.try_into().map_err(|_| bad())?;
        let parsed = Self::new(name.to_owned(), public);
        if name.is_empty()
            || name.contains(char::is_whitespace)
            || hex::encode(parsed.key_hash) != hash
        {
            return Err(bad());
        }
        Ok(parsed)
    }
}

/// Parses a checkpoint body: origin, decimal size, base64 root, then
/// optional extension lines (ignored).
fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
    let malformed = |reason| CheckpointError::Malformed { reason };
    let mut lines = body.lines();
    let origin = lines
        .next()
        .filter(|o| !o.is_empty())
        .ok_or(malformed("no origin"))?;
    let size_text = lines.next().ok_or(malformed("no tree size"))?;
    let size: u64 = size_text
        .parse()
        .map_err(|_| malformed("tree size is not a number"))?;
    if size.to_string() != size_text {
        return Err(malformed("tree size is not in canonical decimal"));
    }
    let root = STANDARD
        .decode(lines.next().ok_or(malformed("no root hash"))?)
        .map_err(|_| malformed("root hash is not base64"))?;
    let root: Hash = root
        .try_into()
        .map_err(|_| malformed("root hash is not 32 bytes"))?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    })
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        let dir = tempfile::tempdir().unwrap();
        SigningKey::load_or_create(&dir.path().join("key")).unwrap()
    }

    fn checkpoint(key: &SigningKey) -> Checkpoint {
        Checkpoint {
            origin: key.verifier().name().to_owned(),
            size: 42,
            root: [7; 32],
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key() {
        let key = key();
        let note = key.sign(&checkpoint(&key));
        assert!(note.starts_with(&format!("{}\n42\n", key.verifier().name())));
        assert!(note.contains("\n\n\u{2014} cragate-ledger/"));
        assert_eq!(key.verifier().open(&note).unwrap(), checkpoint(&key));
    }

    #[test]
    fn key_loads_again_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let first = SigningKey::load_or_create(&path).unwrap();
        let second = SigningKey::load_or_create(&path).unwrap();
        assert_eq!(first.verifier(), second.verifier());
    }

    #[test]
    fn verifier_key_round_trips_through_its_string_form() {
        let key = key();
        let text = key.verifier().to_string();
        assert_eq!(text.parse::<VerifierKey>().unwrap(), *key.verifier());
        let tampered = text.replacen('+', "x+", 1);
        assert!(tampered.parse::<VerifierKey>().is_err());
    }

    #[test]
    fn altered_notes_and_other_keys_are_refused() {
        let key = key();
        let note = key.sign(&checkpoint(&key));
        let altered = note.replacen("\n42\n", "\n43\n", 1);
        assert!(matches!(
            key.verifier().open(&altered),
            Err(CheckpointError::BadSignature { .. })
        ));
        let other = self::key();
        assert!(matches!(
            other.verifier().open(&note),
            Err(CheckpointError::NoSignature { .. })
        ));
        assert!(key.verifier().open("no signatures\n").is_err());
    }
}
