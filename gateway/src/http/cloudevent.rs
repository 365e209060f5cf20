//! CloudEvents 1.0 in the structured JSON mode (the CloudEvents JSON
//! event format, section 3): the body of a notification is one JSON object
//! holding the context attributes and the event's `data`.
//!
//! The `data` of a cragate notification is the issuer's signed notice as
//! it was received, kept byte for byte ([`serde_json::value::RawValue`]), so
//! that every hop verifies the issuer's own signature again.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The `specversion` this module writes and reads.
pub const SPEC_VERSION: &str = "1.0";
/// The `type` of a halt, recall, withdrawal or lift notification.
pub const HALT_EVENT_TYPE: &str = "eu.cragate.halt.v1";
/// The `datacontenttype` of its data: the signed envelope is JSON.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// The media type of a structured-mode body.
pub const MEDIA_TYPE: &str = "application/cloudevents+json";

/// One event, as written and as read. Extension attributes a sender adds
/// are accepted and ignored on reading, as the specification allows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloudEvent {
    /// `1.0`.
    pub specversion: String,
    /// Unique for this source; a retry repeats it.
    pub id: String,
    /// Who produced it: a URI reference naming the sending gateway.
    pub source: String,
    /// What it is, e.g. [`HALT_EVENT_TYPE`].
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the occurrence happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The media type of `data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// The payload, as sent.
    pub data: Box<RawValue>,
}

/// Why a body is not a usable event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudEventError {
    /// Not a JSON event object.
    #[error("the body is not a CloudEvents JSON event: {0}")]
    Json(#[from] serde_json::Error),
    /// Another spec version.
    #[error("specversion {0:?} is not 1.0")]
    Version(String),
    /// Another event type than the one expected.
    #[error("type {found:?} is not {expected:?}")]
    Type {
        /// What came.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
}

impl CloudEvent {
    /// A halt notification carrying `data` (the signed notice).
    pub fn halt(id: String, source: String, time: Timestamp, data: Box<RawValue>) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id,
            source,
            event_type: HALT_EVENT_TYPE.to_owned(),
            time: Some(time),
            datacontenttype: Some(DATA_CONTENT_TYPE.to_owned()),
            data,
        }
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        // Plain strings and a raw JSON value: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a body and checks it is a 1.0 event of `expected` type.
    pub fn decode(body: &[u8], expected: &'static str) -> Result<Self, CloudEventError> {
        let event: Self = serde_json::from_slice(body)?;
        if event.specversion != SPEC_VERSION {
            return Err(CloudEventError::Version(event.specversion));
        }
        if event.event_type != expected {
            return Err(CloudEventError::Type {
                found: event.event_type,
                expected,
            });
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_the_data_byte_for_byte() {
        let data = RawValue::from_string(r#"{"payload":"e30=",  "x":1}"#.to_owned()).unwrap();
        let time: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let event = CloudEvent::halt("n-1".into(), "urn:cragate:importer".into(), time, data);
        let body = event.encode();
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.contains(r#""specversion":"1.0""#), "{text}");
        assert!(text.contains(r#""type":"eu.cragate.halt.v1""#), "{text}");
        assert!(
            text.contains(r#""datacontenttype":"application/json""#),
            "{text}"
        );
        let back = CloudEvent::decode(&body, HALT_EVENT_TYPE).unwrap();
        assert_eq!(back.data.get(), r#"{"payload":"e30=",  "x":1}"#);
        assert_eq!(back.time, Some(time));
    }

    #[test]
    fn other_versions_and_types_are_refused() {
        let body =
            br#"{"specversion":"0.3","id":"1","source":"s","type":"eu.cragate.halt.v1","data":{}}"#;
        assert!(matches!(
            CloudEvent::decode(body, HALT_EVENT_TYPE),
            Err(CloudEventError::Version(_))
        ));
        let body = br#"{"specversion":"1.0","id":"1","source":"s","type":"com.example","data":{}}"#;
        assert!(matches!(
            CloudEvent::decode(body, HALT_EVENT_TYPE),
            Err(CloudEventError::Type { .. })
        ));
        let body = br#"{"specversion":"1.0","id":"1","source":"s","type":"eu.cragate.halt.v1"}"#;
        assert!(matches!(
            CloudEvent::decode(body, HALT_EVENT_TYPE),
            Err(CloudEventError::Json(_))
        ));
    }
}
