//! The evidence phase: the listing bytes in a document, at a JSON pointer
//! (RFC 6901) or the whole document.
//!
//! The listing is the document's own bytes at the pointer, not a
//! re-serialisation: the bytes judged, recorded and hashed are the bytes
//! the upstream receives inside the document. Members outside the pointer
//! are skipped without being built, so finding the listing costs no memory
//! beyond the document.

use std::fmt;

use bytes::Bytes;
use cragate_verifier::json::{self, JsonBudget};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::http::error::{DocumentError, ErrorKind, ErrorSource, GatewayError};

/// The listing in `document` at `pointer` (the whole document when the
/// pointer is empty), which must be a JSON object. `document` is at most
/// `limit` bytes; errors are `from`'s.
pub fn listing_at(
    document: &Bytes,
    pointer: &str,
    limit: u64,
    from: ErrorSource,
) -> Result<Bytes, GatewayError> {
    let refuse = |error: DocumentError| GatewayError::new(ErrorKind::Document(error), from);
    let what = match from {
        ErrorSource::Client => "body",
        _ => "stored document",
    };
    let listing = if pointer.is_empty() {
        document.clone()
    } else {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        // The verifier's reader: besides size and depth, a key given twice
        // anywhere in the body is refused, so the pointer never picks one
        // of two meanings (RFC 8259 s.4).
        json::check(document, &JsonBudget::new(what, limit))
            .map_err(|e| refuse(DocumentError::Limits(e)))?;
        let tokens = tokens(pointer);
        raw_at(document, &tokens)
            .map_err(|error| refuse(DocumentError::NotJson { what, error }))?
            .and_then(|raw| subslice(document, raw.get().as_bytes()))
            .ok_or_else(|| {
                refuse(DocumentError::NoListing {
                    what,
                    pointer: pointer.to_owned(),
                })
            })?
    };
    if listing.trim_ascii_start().first() != Some(&b'{') {
        return Err(refuse(DocumentError::NotAnObject {
            pointer: pointer.to_owned(),
        }));
    }
    Ok(listing)
}

/// The reference tokens of a JSON pointer (RFC 6901 §3, §4): `~1` is `/`,
/// `~0` is `~`. The pointer is checked to start with `/` when the
/// configuration is read.
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The raw value at `tokens` in `document`, read in one pass.
fn raw_at<'a>(document: &'a [u8], tokens: &[String]) -> serde_json::Result<Option<&'a RawValue>> {
    let mut deserializer = serde_json::Deserializer::from_slice(document);
    let found = At(tokens).deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(found)
}

/// `part` as a slice of `whole`, when it is one.
fn subslice(whole: &Bytes, part: &[u8]) -> Option<Bytes> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then(|| whole.slice(start..end))
}

/// The value at the remaining tokens of a pointer.
struct At<'t>(&'t [String]);

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match self.0.split_first() {
            None => <&'de RawValue as serde::Deserialize>::deserialize(deserializer).map(Some),
            Some((token, rest)) => deserializer.deserialize_any(Step { token, rest }),
        }
    }
}

/// One step of a pointer: the member or element named `token` of an
/// object or an array; anything else has nothing at the pointer.
struct Step<'t> {
    token: &'t str,
    rest: &'t [String],
}

impl<'de> Visitor<'de> for Step<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(matches) = map.next_key_seed(KeyIs(self.token))? {
            if matches {
                found = map.next_value_seed(At(self.rest))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // RFC 6901 §4: an array index is "0" or digits without a leading 0.
        let index = match self.token.as_bytes() {
            [b'0'] => Some(0),
            [b'1'..=b'9', ..] => self.token.parse::<usize>().ok(),
            _ => None,
        };
        let mut found = None;
        let mut position = 0usize;
        loop {
            if Some(position) == index {
                match seq.next_element_seed(At(self.rest))? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            position = position.saturating_add(1);
        }
        Ok(found)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Whether an object's key is the pointer's token, compared without
/// building the key when it has no escapes.
struct KeyIs<'t>(&'t str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(body: &'static str, pointer: &str) -> Result<Bytes, GatewayError> {
        listing_at(
            &Bytes::from_static(body.as_bytes()),
            pointer,
            10_000,
            ErrorSource::Client,
        )
    }

    #[test]
    fn the_listing_is_the_documents_own_bytes_at_the_pointer() {
        let body = r#"{"upload": {"n": [1, {"x": 2}], "listing" :  {"format" : "x"} }}"#;
        assert_eq!(at(body, "/upload/listing").unwrap(), r#"{"format" : "x"}"#);
        let nested = r#"{"a": [{"b": 1}, {"l": {"k": [1]}}], "a~/b": {"k": 2}}"#;
        assert_eq!(at(nested, "/a/1/l").unwrap(), r#"{"k": [1]}"#);
        assert_eq!(at(nested, "/a~0~1b").unwrap(), r#"{"k": 2}"#);
        assert_eq!(
            at(r#" {"format": "x"}"#, "").unwrap(),
            r#" {"format": "x"}"#
        );
        let escaped = r#"{"li\u0073ting": {"k": 1}}"#;
        assert_eq!(at(escaped, "/listing").unwrap(), r#"{"k": 1}"#);
    }

    #[test]
    fn nothing_at_the_pointer_or_no_object_there_is_refused() {
        let body = r#"{"upload": {"listing": [1, 2], "n": 3}, "list": [{"a": 1}]}"#;
        for (pointer, expected) in [
            ("/nothing", "no listing"),
            ("/upload/n/x", "no listing"),
            ("/list/01", "no listing"),
            ("/list/1", "no listing"),
            ("/upload/listing", "not a JSON object"),
        ] {
            let error = at(body, pointer).unwrap_err();
            assert!(
                matches!(error.kind(), ErrorKind::Document(_)),
                "{pointer}: {error:?}"
            );
            assert!(error.to_string().contains(expected), "{pointer}: {error}");
        }
        assert!(at(r#"{"a": 1}"#, "/list/0").is_err());
        assert_eq!(
            at(r#"{"list": [{"a": 1}]}"#, "/list/0").unwrap(),
            r#"{"a": 1}"#
        );
        let array = at("[1, 2]", "").unwrap_err();
        assert!(array.to_string().contains("not a JSON object"), "{array}");
        let broken = at(r#"{"listing": {"a": 1}"#, "/listing").unwrap_err();
        // The verifier's reader says "not valid JSON"; the pointer lookup "not JSON".
        let not_json = |text: String| text.contains("not JSON") || text.contains("not valid JSON");
        assert!(not_json(broken.to_string()), "{broken}");
        let trailing = at(r#"{"listing": {}} x"#, "/listing").unwrap_err();
        assert!(not_json(trailing.to_string()), "{trailing}");
    }

    #[test]
    fn a_deeply_nested_body_is_refused_before_parsing() {
        let body = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let error =
            listing_at(&Bytes::from(body), "/0", 10_000, ErrorSource::Upstream).unwrap_err();
        assert!(matches!(
            error.kind(),
            ErrorKind::Document(DocumentError::Limits(_))
        ));
        assert_eq!(error.source(), ErrorSource::Upstream);
    }
}
