//! JSON input limits, checked before any parser allocates.

/// Why a JSON document was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonLimitError {
    /// The document is larger than the budget for this kind of input.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What the document is (for example "bundle").
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The document nests arrays and objects deeper than the budget.
    #[error("{what} nests deeper than the limit of {limit} levels (at byte {offset})")]
    TooDeep {
        /// What the document is.
        what: &'static str,
        /// The depth limit.
        limit: usize,
        /// Byte offset where the limit was crossed.
        offset: usize,
    },
}

/// Checks `bytes` against a size and a nesting-depth budget.
///
/// The depth scan is a single pass that tracks strings and escapes, so it
/// costs far less than parsing and stops a deeply nested document before a
/// recursive parser sees it.
pub fn check_limits(
    bytes: &[u8],
    what: &'static str,
    max_bytes: usize,
    max_depth: usize,
) -> Result<(), JsonLimitError> {
    if bytes.len() > max_bytes {
        return Err(JsonLimitError::TooLarge {
            what,
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(JsonLimitError::TooDeep {
                        what,
                        limit: max_depth,
                        offset,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_beyond_the_limit_is_refused_with_the_offset() {
        let deep = "[".repeat(10_000);
        let error = check_limits(deep.as_bytes(), "bundle", usize::MAX, 64).unwrap_err();
        assert_eq!(
            error,
            JsonLimitError::TooDeep {
                what: "bundle",
                limit: 64,
                offset: 64
            }
        );
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let doc = format!(r#"{{"a": "{}\"[[["}}"#, "[".repeat(500));
        assert!(check_limits(doc.as_bytes(), "bundle", usize::MAX, 2).is_ok());
    }

    #[test]
    fn oversized_input_names_the_limit() {
        let error = check_limits(&[b' '; 11], "trusted root", 10, 64).unwrap_err();
        assert_eq!(
            error.to_string(),
            "trusted root is 11 bytes, over the limit of 10 bytes"
        );
    }
}
