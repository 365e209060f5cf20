//! Product identifiers (`product.id`): the name a listing goes by. The
//! gateway stores a listing under it (`<id>.json` in the file catalog), puts
//! it in URL paths (`/v1/listings/<id>`) and records it on the ledger, so
//! one rule serves all three and an id that breaks it is the listing's
//! fault (an unusable listing), never the store's.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest product id, in bytes. The file catalog stores a listing as
/// `<id>.json`, and 128 keeps that far inside the 255-byte file-name limit
/// of common file systems (ext4, XFS, APFS, NTFS) and short enough to be an
/// index key; model names, GTINs with a batch and SKUs are far shorter.
pub const MAX_PRODUCT_ID_BYTES: usize = 128;

/// A product id: 1 to [`MAX_PRODUCT_ID_BYTES`] ASCII letters, digits, `.`,
/// `_` and `-`, not starting with `.`. So it is a file name that is neither
/// hidden nor `.` or `..`, and a URL path segment that needs no encoding
/// and that no upstream decodes into another path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductId(String);

/// Why a product id is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProductIdError {
    /// The id is empty.
    #[error("product id is empty")]
    Empty,
    /// The id is longer than [`MAX_PRODUCT_ID_BYTES`].
    #[error("product id {id} is {length} bytes, over the limit of {MAX_PRODUCT_ID_BYTES}")]
    TooLong {
        /// The id's start, quoted and shortened.
        id: String,
        /// Its length in bytes.
        length: usize,
    },
    /// The id holds a character outside the allowed ones.
    #[error(
        "product id {id} holds {character:?} at byte {offset}: use only letters, digits, '.', '_' and '-'"
    )]
    Character {
        /// The id, quoted and shortened.
        id: String,
        /// The first character refused.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// The id starts with `.` (a hidden file name, or `.` or `..`).
    #[error("product id {id} starts with '.'")]
    LeadingDot {
        /// The id, quoted and shortened.
        id: String,
    },
}

impl ProductId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProductId {
    type Error = ProductIdError;

    fn try_from(value: String) -> Result<Self, ProductIdError> {
        if value.is_empty() {
            return Err(ProductIdError::Empty);
        }
        if let Some((offset, character)) = value
            .char_indices()
            .find(|(_, c)| !c.is_ascii_alphanumeric() && !matches!(c, '.' | '_' | '-'))
        {
            return Err(ProductIdError::Character {
                id: quoted(&value),
                character,
                offset,
            });
        }
        if value.len() > MAX_PRODUCT_ID_BYTES {
            return Err(ProductIdError::TooLong {
                id: quoted(&value),
                length: value.len(),
            });
        }
        if value.starts_with('.') {
            return Err(ProductIdError::LeadingDot { id: quoted(&value) });
        }
        Ok(Self(value))
    }
}

impl std::str::FromStr for ProductId {
    type Err = ProductIdError;

    fn from_str(value: &str) -> Result<Self, ProductIdError> {
        Self::try_from(value.to_owned())
    }
}

impl From<ProductId> for String {
    fn from(id: ProductId) -> String {
        id.0
    }
}

impl AsRef<str> for ProductId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ProductId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Most characters of a refused id quoted in its error: enough to find it,
/// never a whole hostile one in a log line.
const MAX_QUOTED_CHARS: usize = 40;

fn quoted(id: &str) -> String {
    match id.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{:?}...", id.get(..end).unwrap_or_default()),
        None => format!("{id:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_letters_digits_dots_underscores_and_dashes_are_accepted() {
        for good in ["acme-cam_x200.v2", "a", "A.1", &"x".repeat(128), "x..y"] {
            assert_eq!(good.parse::<ProductId>().unwrap().as_str(), good);
        }
    }

    /// Issue 9, findings 9 and 10: ids the file catalog cannot store or an
    /// upstream would read as another path were recorded on the ledger, and
    /// an empty, 300-character or control-character id was blamed on the
    /// ledger.
    #[test]
    fn ids_that_are_no_file_name_or_path_segment_are_refused() {
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../../x",
            "a/b",
            "a\\b",
            "a b",
            "a%2Fb",
            "a\nb",
            "\u{7f}",
            "caf\u{e9}",
            &"x".repeat(129),
            &"x".repeat(300),
        ] {
            assert!(bad.parse::<ProductId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_quote_a_shortened_escaped_id() {
        let long = format!("{}\u{1b}[2J", "x".repeat(300));
        let error = long.parse::<ProductId>().unwrap_err().to_string();
        assert!(error.len() < 160, "{error}");
        assert!(!error.contains('\u{1b}'), "{error}");
        let control = "ab\u{1b}[2J".parse::<ProductId>().unwrap_err();
        assert_eq!(
            control.to_string(),
            r#"product id "ab\u{1b}[2J" holds '\u{1b}' at byte 2: use only letters, digits, '.', '_' and '-'"#
        );
    }

    #[test]
    fn ids_serialize_as_plain_strings_and_parse_back_checked() {
        let id: ProductId = "cam-1".parse().unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""cam-1""#);
        assert_eq!(serde_json::from_str::<ProductId>(r#""cam-1""#).unwrap(), id);
        assert!(serde_json::from_str::<ProductId>(r#""a/b""#).is_err());
    }
}
