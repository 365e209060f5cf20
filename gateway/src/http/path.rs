//! Request paths as the gateway routes and forwards them (RFC 3986).
//!
//! A product route is matched on the normalised path and the upstream
//! receives that same path, so what the gateway judged a path to name is
//! what the upstream reads it to name. A path an upstream could resolve to
//! another place than the one it names here is refused: a `.` or `..`
//! segment, an encoded slash or backslash (nginx decodes `%2F` and then
//! resolves `..`, so `/store/listings/..%2Fpages%2Fp1.json` would reach
//! `/store/pages/p1.json`), a backslash (read as a slash by some servers),
//! a control character, raw or encoded (C1 ones included), an empty
//! segment, an escape that decodes to no UTF-8 text (`%80`: an upstream
//! would read a name that is not text).

use std::fmt;

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// `%2F` in a segment.
    #[error("it holds an encoded slash (%2F)")]
    EncodedSlash,
    /// `\` or `%5C`.
    #[error("it holds a backslash")]
    Backslash,
    /// A `.` or `..` segment or capture, raw or encoded.
    #[error("it holds a \".\" or \"..\" segment")]
    DotSegment,
    /// `//`, or a path not starting with `/`.
    #[error("it holds an empty segment")]
    EmptySegment,
    /// A `%` not followed by two hex digits, or escapes that do not decode
    /// to UTF-8 text.
    #[error("it holds a broken percent-escape")]
    BadEscape,
    /// A control character, encoded.
    #[error("it holds a control character")]
    Control,
}

/// A request path in normal form: see [`NormalPath::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath(String);

impl NormalPath {
    /// Normalises a request path (without its query), as RFC 3986 §6.2.2
    /// describes: percent-encoded unreserved characters (§2.3) are decoded
    /// and the hex digits of every other escape upper-cased (§6.2.2.1).
    /// Refused: see the module documentation. The last segment may be
    /// empty (`/store/listings/`).
    pub fn new(path: &str) -> Result<Self, PathError> {
        let rest = path.strip_prefix('/').ok_or(PathError::EmptySegment)?;
        let mut out = String::with_capacity(path.len());
        let mut segments = rest.split('/').peekable();
        while let Some(segment) = segments.next() {
            let last = segments.peek().is_none();
            if segment.is_empty() && !last {
                return Err(PathError::EmptySegment);
            }
            let segment = normal_segment(segment)?;
            if segment == "." || segment == ".." {
                return Err(PathError::DotSegment);
            }
            out.push('/');
            out.push_str(&segment);
        }
        Ok(Self(out))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NormalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of a path capture (`{id}`): percent-decoded, and refused when
/// it is `.` or `..` or holds a control character. (Slashes and
/// backslashes cannot reach it: [`NormalPath::new`] refuses them.)
pub fn capture(raw: &str) -> Result<String, PathError> {
    let value = decode(raw).ok_or(PathError::BadEscape)?;
    if value == "." || value == ".." {
        return Err(PathError::DotSegment);
    }
    if value.chars().any(char::is_control) {
        return Err(PathError::Control);
    }
    if value.contains(['/', '\\']) {
        return Err(PathError::EncodedSlash);
    }
    Ok(value)
}

/// Percent-decoding (RFC 3986 §2.1); `None` for a broken escape or bytes
/// that are not UTF-8.
pub fn decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        if byte != b'%' {
            bytes.push(byte);
            continue;
        }
        let (hex, after) = rest.split_at_checked(2)?;
        bytes.push(hex_byte(hex)?);
        rest = after;
    }
    String::from_utf8(bytes).ok()
}

/// One segment in normal form.
fn normal_segment(segment: &str) -> Result<String, PathError> {
    let mut out = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        match byte {
            b'\\' => return Err(PathError::Backslash),
            b'%' => {
                let (hex, after) = rest.split_at_checked(2).ok_or(PathError::BadEscape)?;
                rest = after;
                match hex_byte(hex).ok_or(PathError::BadEscape)? {
                    b'/' => return Err(PathError::EncodedSlash),
                    b'\\' => return Err(PathError::Backslash),
                    0..0x20 | 0x7f => return Err(PathError::Control),
                    b if unreserved(b) => out.push(b),
                    b => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
                }
            }
            0..0x20 | 0x7f => return Err(PathError::Control),
            // Anything else is kept as it came, whole UTF-8 sequences
            // included.
            _ => out.push(byte),
        }
    }
    // Raw bytes were copied from a string in whole sequences and escapes
    // became ASCII, so this is UTF-8.
    let out = String::from_utf8(out).map_err(|_| PathError::BadEscape)?;
    // What the kept escapes stand for must be text too (`%C3%A9` is `é`,
    // `%80` is nothing): an upstream decodes them into the name it reads.
    // That text holds no control character either, C1 ones (U+0080 to
    // U+009F, raw or as `%C2%85`) included, as captures do not.
    let text = decode(&out).ok_or(PathError::BadEscape)?;
    if text.chars().any(char::is_control) {
        return Err(PathError::Control);
    }
    Ok(out)
}

/// RFC 3986 §2.3: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_byte(hex: &[u8]) -> Option<u8> {
    let hex = std::str::from_utf8(hex).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// Percent-encodes everything but RFC 3986 unreserved characters (a URN
/// segment, a query value).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(path: &str) -> Result<String, PathError> {
        NormalPath::new(path).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(
            normal("/store/listings/%76aultkey%2ddesktop.json").unwrap(),
            "/store/listings/vaultkey-desktop.json"
        );
        assert_eq!(normal("/a/b%3ac%20d").unwrap(), "/a/b%3Ac%20d");
        assert_eq!(normal("/store/listings/").unwrap(), "/store/listings/");
        assert_eq!(normal("/").unwrap(), "/");
        assert_eq!(normal("/a/...json").unwrap(), "/a/...json");
    }

    #[test]
    fn paths_an_upstream_could_resolve_elsewhere_are_refused() {
        for (path, error) in [
            (
                "/store/listings/..%2Fpages%2Fp1.json",
                PathError::EncodedSlash,
            ),
            (
                "/store/listings/..%2fpages%2fp1.json",
                PathError::EncodedSlash,
            ),
            ("/store/listings/..%5Cpages.json", PathError::Backslash),
            ("/store/listings/..\\pages.json", PathError::Backslash),
            ("/store/listings/../pages/p1.json", PathError::DotSegment),
            ("/store/listings/%2e%2e/p1.json", PathError::DotSegment),
            ("/store/./listings/x", PathError::DotSegment),
            ("/store/..", PathError::DotSegment),
            ("/store//listings/x", PathError::EmptySegment),
            ("store/listings", PathError::EmptySegment),
            ("/store/x%00.json", PathError::Control),
            ("/store/x%0a.json", PathError::Control),
            ("/store/x%zz.json", PathError::BadEscape),
            ("/store/x%4", PathError::BadEscape),
        ] {
            assert_eq!(normal(path), Err(error), "{path}");
        }
    }

    /// Found by the `path` fuzz target: `%80` was kept in a normal path,
    /// though it decodes to no text, which `BadEscape` says is refused.
    #[test]
    fn paths_with_escapes_that_are_not_utf8_are_refused() {
        for path in [
            "/a/b%80",
            "/v1/listings/cam%ffx",
            "/a/%C3",
            "/a/%C3%28",
            "/a/%ED%A0%80",
        ] {
            assert_eq!(normal(path), Err(PathError::BadEscape), "{path}");
        }
        assert_eq!(normal("/a/caf%c3%a9").unwrap(), "/a/caf%C3%A9");
        assert_eq!(normal("/a/café").unwrap(), "/a/café");
    }

    /// Found by the `path` fuzz target: a C1 control character (U+008F)
    /// was kept in a normal path, though captures refuse it.
    #[test]
    fn paths_with_c1_control_characters_are_refused() {
        for path in ["/\u{8f} ", "/a/x\u{85}y", "/a/x%C2%85y", "/a/%c2%9f"] {
            assert_eq!(normal(path), Err(PathError::Control), "{path:?}");
        }
        assert_eq!(normal("/a/%C2%A0").unwrap(), "/a/%C2%A0");
    }

    #[test]
    fn captures_are_decoded_and_dots_refused() {
        assert_eq!(capture("cam%20x").unwrap(), "cam x");
        assert_eq!(capture("%2E%2E"), Err(PathError::DotSegment));
        assert_eq!(capture("."), Err(PathError::DotSegment));
        assert_eq!(capture("a%07b"), Err(PathError::Control));
        assert_eq!(capture("%ff"), Err(PathError::BadEscape));
    }

    #[test]
    fn percent_decoding_refuses_broken_escapes() {
        assert_eq!(decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(decode("%"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%+1"), None);
        assert_eq!(decode("%C3%A9").as_deref(), Some("é"));
    }
}
