//! Product id globs of `[[halt_issuers]] products`: `*` matches any run of
//! characters (including none), every other character itself. Product ids
//! hold only letters, digits, `.`, `_` and `-`, so no other wildcard or
//! escape is needed; `"*"` alone is every product (an authority).

use std::fmt;

/// A product id glob.
#[derive(Clone, PartialEq, Eq)]
pub struct ProductGlob {
    text: String,
}

/// Why a glob is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GlobError {
    /// Empty.
    #[error("a product glob must not be empty")]
    Empty,
    /// A character a product id never holds.
    #[error(
        "product glob {glob:?} holds {character:?}: use letters, digits, '.', '_', '-' and '*'"
    )]
    Character {
        /// The glob.
        glob: String,
        /// The character.
        character: char,
    },
}

impl ProductGlob {
    /// Parses a glob.
    pub fn parse(text: &str) -> Result<Self, GlobError> {
        if text.is_empty() {
            return Err(GlobError::Empty);
        }
        if let Some(character) = text
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !matches!(c, '.' | '_' | '-' | '*'))
        {
            return Err(GlobError::Character {
                glob: text.to_owned(),
                character,
            });
        }
        Ok(Self {
            text: text.to_owned(),
        })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `id` matches.
    pub fn matches(&self, id: &str) -> bool {
        let mut parts = self.text.split('*');
        let Some(first) = parts.next() else {
            return false;
        };
        let Some(mut rest) = id.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else {
            // No `*`: the whole id must be the glob.
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

impl fmt::Debug for ProductGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl fmt::Display for ProductGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::ProductGlob;

    fn matches(glob: &str, id: &str) -> bool {
        ProductGlob::parse(glob).unwrap().matches(id)
    }

    #[test]
    fn globs_match_as_written() {
        assert!(matches("*", "anything"));
        assert!(matches("lumacam-*", "lumacam-c3-pro"));
        assert!(matches("lumacam-*", "lumacam-"));
        assert!(!matches("lumacam-*", "lumacam"));
        assert!(!matches("lumacam-*", "other-lumacam-c3"));
        assert!(matches("lumacam-c3-pro", "lumacam-c3-pro"));
        assert!(!matches("lumacam-c3-pro", "lumacam-c3-pro2"));
        assert!(matches("*-pro", "lumacam-c3-pro"));
        assert!(matches("a*b*c", "aXbYc"));
        assert!(!matches("a*b*c", "aXcYb"));
        assert!(!matches("ab*ba", "aba"));
        assert!(ProductGlob::parse("lumacam/*").is_err());
        assert!(ProductGlob::parse("").is_err());
    }
}
