//! SHA-256 digests in the `sha256:<hex>` form used by OCI and Sigstore.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use aws_lc_rs::digest::{Context, SHA256};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

/// Why a digest string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The string does not start with `sha256:`.
    #[error("digest {value:?} does not start with \"sha256:\" (only SHA-256 is supported)")]
    UnsupportedAlgorithm {
        /// The digest as given.
        value: String,
    },
    /// The hex part is not 64 lowercase hex digits.
    #[error("digest {value:?} must be \"sha256:\" followed by 64 lowercase hex digits")]
    Malformed {
        /// The digest as given.
        value: String,
    },
}

impl Digest {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let mut context = Context::new(&SHA256);
        context.update(bytes);
        Self::finish(context)
    }

    /// The SHA-256 of everything `reader` yields, read in constant memory.
    pub fn of_reader(mut reader: impl Read) -> std::io::Result<Self> {
        let mut context = Context::new(&SHA256);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            context.update(buffer.get(..read).unwrap_or_default());
        }
        Ok(Self::finish(context))
    }

    /// Builds a digest from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    fn finish(context: Context) -> Self {
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        Self(out)
    }
}

/// An incremental SHA-256, for bytes that arrive in pieces (a streamed
/// request or response body): memory use does not depend on their length.
pub struct Hasher(Context);

impl Hasher {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self(Context::new(&SHA256))
    }

    /// Feeds the next piece.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        Digest::finish(self.0)
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hasher(sha256)")
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let Some(hex_part) = value.strip_prefix("sha256:") else {
            return Err(DigestError::UnsupportedAlgorithm {
                value: value.to_owned(),
            });
        };
        let lowercase_hex = hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let mut out = [0u8; 32];
        if hex_part.len() != 64
            || !lowercase_hex
            || hex::decode_to_slice(hex_part, &mut out).is_err()
        {
            return Err(DigestError::Malformed {
                value: value.to_owned(),
            });
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

/// Serialized as its `sha256:<hex>` string.
impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_round_trips_through_its_string_form() {
        let digest = Digest::of(b"hello");
        let text = digest.to_string();
        assert_eq!(
            text,
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(text.parse::<Digest>().unwrap(), digest);
    }

    #[test]
    fn digest_serializes_as_its_string_form() {
        let digest = Digest::of(b"hello");
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{digest}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:00\"").is_err());
    }

    #[test]
    fn reader_and_slice_digests_agree() {
        let data = vec![7u8; 200_000];
        assert_eq!(Digest::of_reader(&data[..]).unwrap(), Digest::of(&data));
    }

    #[test]
    fn hasher_in_pieces_matches_one_shot() {
        let data = vec![9u8; 100_001];
        let mut hasher = Hasher::new();
        for piece in data.chunks(4096) {
            hasher.update(piece);
        }
        assert_eq!(hasher.finish(), Digest::of(&data));
    }

    #[test]
    fn malformed_digests_are_rejected_with_the_reason() {
        assert!(matches!(
            "sha512:00".parse::<Digest>(),
            Err(DigestError::UnsupportedAlgorithm { .. })
        ));
        for bad in [
            "sha256:",
            "sha256:zz",
            &format!("sha256:{}", "A".repeat(64)),
        ] {
            assert!(matches!(
                bad.parse::<Digest>(),
                Err(DigestError::Malformed { .. })
            ));
        }
    }
}
