//! Path patterns of route rules: `/store/listings/{id}.json`,
//! `/v1/artifacts/{digest}`, `/store/*`.

use std::fmt;

use cragate_verifier::Digest;

use crate::http::path::{NormalPath, PathError, capture};

/// A parsed path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    segments: Vec<Segment>,
    any_rest: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Capture {
        prefix: String,
        name: Capture,
        suffix: String,
    },
}

/// What a `{...}` placeholder captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// `{id}`: a product id.
    Id,
    /// `{digest}`: `sha256:<64 hex>`.
    Digest,
}

/// What a path matched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// The `{id}` segment, if the pattern has one, percent-decoded.
    pub id: Option<String>,
    /// The `{digest}` segment, if the pattern has one and it parsed.
    pub digest: Option<Digest>,
}

impl PathPattern {
    /// Parses a pattern; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("path pattern {text:?} must start with /"));
        };
        let mut parts: Vec<&str> = rest.split('/').collect();
        let any_rest = parts.last() == Some(&"*");
        if any_rest {
            parts.pop();
        }
        let mut segments = Vec::new();
        for part in parts {
            segments.push(segment(part).map_err(|m| format!("path pattern {text:?}: {m}"))?);
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
            any_rest,
        })
    }

    /// Matches a normalised request path (without the query); `None` when
    /// it does not match, including when a `{digest}` segment is not a
    /// valid digest. A match whose `{id}` is unusable once decoded (`.`,
    /// `..`, control characters) is an error.
    pub fn matches(&self, path: &NormalPath) -> Option<Result<Captures, PathError>> {
        let rest = path.as_str().strip_prefix('/')?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < self.segments.len()
            || (!self.any_rest && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut captures = Captures::default();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(literal) if literal == part => {}
                Segment::Literal(_) => return None,
                Segment::Capture {
                    prefix,
                    name,
                    suffix,
                } => {
                    let value = part.strip_prefix(prefix.as_str())?;
                    let value = value.strip_suffix(suffix.as_str())?;
                    if value.is_empty() {
                        return None;
                    }
                    let value = match capture(value) {
                        Ok(value) => value,
                        Err(error) => return Some(Err(error)),
                    };
                    match name {
                        Capture::Id => captures.id = Some(value),
                        Capture::Digest => captures.digest = Some(value.parse().ok()?),
                    }
                }
            }
        }
        Some(Ok(captures))
    }

    /// The path this pattern names for a product id and a digest: each
    /// placeholder replaced by its value, which must be given. A product id
    /// and a digest are path segments that need no encoding (see
    /// [`cragate_verifier::evidence::ProductId`]). A pattern ending in `/*`
    /// names no one path.
    pub fn fill(&self, id: Option<&str>, digest: Option<&Digest>) -> Result<String, String> {
        if self.any_rest {
            return Err(format!("{self} ends in /* and so names no one path"));
        }
        let mut path = String::new();
        for segment in &self.segments {
            path.push('/');
            match segment {
                Segment::Literal(literal) => path.push_str(literal),
                Segment::Capture {
                    prefix,
                    name,
                    suffix,
                } => {
                    let value = match name {
                        Capture::Id => id.map(str::to_owned),
                        Capture::Digest => digest.map(Digest::to_string),
                    };
                    let value = value.ok_or_else(|| {
                        format!("{self} has a placeholder with no value to put in it")
                    })?;
                    path.push_str(prefix);
                    path.push_str(&value);
                    path.push_str(suffix);
                }
            }
        }
        Ok(path)
    }

    /// Whether the pattern has a `{name}` placeholder.
    pub fn captures(&self, name: Capture) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Capture { name: n, .. } if *n == name))
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn segment(part: &str) -> Result<Segment, String> {
    let Some(open) = part.find('{') else {
        if part.contains(['}', '*']) {
            return Err(format!("segment {part:?} has a stray }} or *"));
        }
        return Ok(Segment::Literal(part.to_owned()));
    };
    let (prefix, rest) = part.split_at(open);
    let close = rest
        .find('}')
        .ok_or_else(|| format!("segment {part:?} has no closing }}"))?;
    let (name, suffix) = rest.split_at(close);
    let suffix = suffix.trim_start_matches('}');
    if suffix.contains(['{', '}', '*']) || prefix.contains('*') {
        return Err(format!("segment {part:?} may hold one placeholder only"));
    }
    let name = match name {
        "{id" => Capture::Id,
        "{digest" => Capture::Digest,
        other => {
            return Err(format!(
                "unknown placeholder {}}}: use {{id}} or {{digest}}",
                other
            ));
        }
    };
    Ok(Segment::Capture {
        prefix: prefix.to_owned(),
        name,
        suffix: suffix.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn matches(pattern: &PathPattern, path: &str) -> Option<Result<Captures, PathError>> {
        pattern.matches(&NormalPath::new(path).unwrap())
    }

    #[test]
    fn patterns_are_filled_with_an_id_and_a_digest() {
        let digest: Digest = format!("sha256:{HEX}").parse().unwrap();
        let listings = PathPattern::parse("/store/listings/{id}.json").unwrap();
        assert_eq!(
            listings.fill(Some("cam-x"), None).unwrap(),
            "/store/listings/cam-x.json"
        );
        assert!(listings.fill(None, Some(&digest)).is_err());
        let artifacts = PathPattern::parse("/store/artifacts/{digest}").unwrap();
        assert_eq!(
            artifacts.fill(None, Some(&digest)).unwrap(),
            format!("/store/artifacts/sha256:{HEX}")
        );
        assert_eq!(
            PathPattern::parse("/v1/listings")
                .unwrap()
                .fill(None, None)
                .unwrap(),
            "/v1/listings"
        );
        assert!(
            PathPattern::parse("/store/*")
                .unwrap()
                .fill(None, None)
                .is_err()
        );
    }

    #[test]
    fn literal_and_capture_segments_match() {
        let pattern = PathPattern::parse("/store/listings/{id}.json").unwrap();
        let captures = matches(&pattern, "/store/listings/cam-x.json").unwrap();
        assert_eq!(captures.unwrap().id.as_deref(), Some("cam-x"));
        assert!(matches(&pattern, "/store/listings/cam-x.xml").is_none());
        assert!(matches(&pattern, "/store/listings/.json").is_none());
        assert!(matches(&pattern, "/store/listings/a/b.json").is_none());
    }

    #[test]
    fn captures_are_decoded_and_dots_refused() {
        let pattern = PathPattern::parse("/store/listings/{id}.json").unwrap();
        let captures = matches(&pattern, "/store/listings/cam%20x.json").unwrap();
        assert_eq!(captures.unwrap().id.as_deref(), Some("cam x"));
        let bare = PathPattern::parse("/v1/listings/{id}").unwrap();
        assert_eq!(
            matches(&bare, "/v1/listings/x%2E"),
            Some(Ok(Captures {
                id: Some("x.".into()),
                digest: None
            }))
        );
        let dots = PathPattern::parse("/a/{id}/b").unwrap();
        assert!(NormalPath::new("/a/%2E%2E/b").is_err());
        assert_eq!(matches(&dots, "/a/x/b").unwrap().unwrap().id.unwrap(), "x");
        let prefixed = PathPattern::parse("/a/p{id}").unwrap();
        assert_eq!(
            matches(&prefixed, "/a/p.."),
            Some(Err(PathError::DotSegment))
        );
        assert_eq!(NormalPath::new("/a/pa%07"), Err(PathError::Control));
    }

    #[test]
    fn digest_capture_requires_a_valid_digest() {
        let pattern = PathPattern::parse("/v1/artifacts/{digest}").unwrap();
        let ok = matches(&pattern, &format!("/v1/artifacts/sha256:{HEX}")).unwrap();
        assert_eq!(ok.unwrap().digest.unwrap().hex(), HEX);
        let encoded = matches(&pattern, &format!("/v1/artifacts/sha256%3A{HEX}")).unwrap();
        assert_eq!(encoded.unwrap().digest.unwrap().hex(), HEX);
        assert!(matches(&pattern, "/v1/artifacts/sha256:00").is_none());
    }

    #[test]
    fn star_matches_any_rest() {
        let pattern = PathPattern::parse("/store/*").unwrap();
        assert!(matches(&pattern, "/store/a/b/c").is_some());
        assert!(matches(&pattern, "/other/a").is_none());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["store", "/a/{name}", "/a/{id", "/a/{id}{digest}", "/a/*b"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
