//! Standard Webhooks (<https://www.standardwebhooks.com/>, specification
//! version 1): signing and verifying the `webhook-id`, `webhook-timestamp`
//! and `webhook-signature` headers of a notification.
//!
//! The signed content is `"{id}.{timestamp}.{body}"`; a signature is
//! `v1,` followed by the standard base64 of its HMAC-SHA256 under the
//! secret. The secret is written `whsec_` followed by the base64 of its
//! bytes. A header may carry several signatures separated by spaces (so
//! that a secret can be rotated); one that verifies is enough. A timestamp
//! more than [`TOLERANCE`] away from the receiver's clock is refused, which
//! bounds how long a receiver must remember ids against replay.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::HeaderName;

/// `webhook-id`: the message's unique id, the same on every retry.
pub const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
/// `webhook-timestamp`: seconds since the Unix epoch, when it was signed.
pub const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
/// `webhook-signature`: space-separated `v1,<base64>` signatures.
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
/// How far a timestamp may be from the receiver's clock, either way: the
/// five minutes the specification recommends.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// The prefix of a secret as written.
pub const SECRET_PREFIX: &str = "whsec_";
/// Shortest secret accepted, in bytes: the specification asks for 24 to
/// 64 random bytes.
pub const MIN_SECRET_BYTES: usize = 24;
/// Longest secret accepted, in bytes.
pub const MAX_SECRET_BYTES: usize = 64;
/// Most signatures looked at in one header: enough for a rotation or two,
/// few enough that a header full of them costs little.
pub const MAX_SIGNATURES: usize = 8;
/// Longest message id accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Why a secret or a signed message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The secret is not `whsec_` + base64 of 24 to 64 bytes.
    #[error(
        "a webhook secret must be {SECRET_PREFIX:?} followed by the base64 of {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
    )]
    BadSecret,
    /// A header is missing.
    #[error("the {header} header is missing")]
    MissingHeader {
        /// Its name.
        header: &'static str,
    },
    /// A header is there but not usable.
    #[error("the {header} header is malformed: {reason}")]
    MalformedHeader {
        /// Its name.
        header: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The timestamp is outside the tolerance.
    #[error(
        "the webhook-timestamp {timestamp} is {distance} s from now ({now}); at most {} s is accepted",
        TOLERANCE.as_secs()
    )]
    Stale {
        /// The timestamp sent.
        timestamp: i64,
        /// The receiver's clock.
        now: i64,
        /// How far apart they are, in seconds.
        distance: u64,
    },
    /// No `v1` signature verifies under the secret.
    #[error("no v1 signature in webhook-signature verifies under the secret")]
    BadSignature,
}

/// A Standard Webhooks secret: the key bytes. Its `Debug` does not show
/// them.
#[derive(Clone)]
pub struct WebhookSecret {
    key: hmac::Key,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>`, surrounding whitespace (a file's final
    /// newline) ignored.
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::BadSecret)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::BadSecret)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(WebhookError::BadSecret);
        }
        Ok(Self::from_bytes(&bytes))
    }

    /// A secret made of these bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// The `v1,<base64>` signature of a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }

    /// The three headers of a message signed now (`timestamp`).
    pub fn headers(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<(HeaderName, String)> {
        vec![
            (WEBHOOK_ID, id.to_owned()),
            (WEBHOOK_TIMESTAMP, timestamp.to_string()),
            (WEBHOOK_SIGNATURE, self.sign(id, timestamp, body)),
        ]
    }

    /// Verifies a received message against the receiver's clock `now`
    /// (Unix seconds) and returns its id. The comparison of tags is
    /// constant-time (`aws_lc_rs::hmac::verify`).
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<String, WebhookError> {
        let message = SignedMessage::read(headers)?;
        message.check_time(now)?;
        if message.verifies(self, body) {
            Ok(message.id)
        } else {
            Err(WebhookError::BadSignature)
        }
    }
}

/// The three headers of a received message, read and checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// The `v1` signatures, decoded.
    signatures: Vec<Vec<u8>>,
}

impl SignedMessage {
    /// Reads the headers; signatures of other versions are skipped.
    pub fn read(headers: &HeaderMap) -> Result<Self, WebhookError> {
        let id = header(headers, &WEBHOOK_ID, "webhook-id")?;
        if id.is_empty() || id.len() > MAX_ID_BYTES {
            return Err(WebhookError::MalformedHeader {
                header: "webhook-id",
                reason: "must be 1 to 256 bytes",
            });
        }
        let timestamp = header(headers, &WEBHOOK_TIMESTAMP, "webhook-timestamp")?
            .parse::<i64>()
            .map_err(|_| WebhookError::MalformedHeader {
                header: "webhook-timestamp",
                reason: "must be whole seconds since the Unix epoch",
            })?;
        let list = header(headers, &WEBHOOK_SIGNATURE, "webhook-signature")?;
        let signatures: Vec<Vec<u8>> = list
            .split(' ')
            .filter(|s| !s.is_empty())
            .take(MAX_SIGNATURES)
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|b64| STANDARD.decode(b64).ok())
            .collect();
        if signatures.is_empty() {
            return Err(WebhookError::MalformedHeader {
                header: "webhook-signature",
                reason: "holds no v1,<base64> signature",
            });
        }
        Ok(Self {
            id: id.to_owned(),
            timestamp,
            signatures,
        })
    }

    /// Whether the timestamp is within [`TOLERANCE`] of `now`.
    pub fn check_time(&self, now: i64) -> Result<(), WebhookError> {
        let distance = now.abs_diff(self.timestamp);
        if distance > TOLERANCE.as_secs() {
            return Err(WebhookError::Stale {
                timestamp: self.timestamp,
                now,
                distance,
            });
        }
        Ok(())
    }

    /// Whether one of the signatures verifies under `secret`.
    pub fn verifies(&self, secret: &WebhookSecret, body: &[u8]) -> bool {
        let mut signed = Vec::with_capacity(self.id.len() + 24 + body.len());
        signed.extend_from_slice(self.id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(self.timestamp.to_string().as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        self.signatures
            .iter()
            .any(|tag| hmac::verify(&secret.key, &signed, tag).is_ok())
    }
}

fn header<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    label: &'static str,
) -> Result<&'a str, WebhookError> {
    let value = headers
        .get(name)
        .ok_or(WebhookError::MissingHeader { header: label })?;
    value.to_str().map_err(|_| WebhookError::MalformedHeader {
        header: label,
        reason: "not visible ASCII",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// The example of the Standard Webhooks reference libraries' tests
    /// (secret, id, timestamp, body and the signature they expect),
    /// checked independently with Python's `hmac` module.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(WEBHOOK_ID, HeaderValue::from_str(id).unwrap());
        map.insert(WEBHOOK_TIMESTAMP, HeaderValue::from_str(timestamp).unwrap());
        map.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(signature).unwrap());
        map
    }

    #[test]
    fn signs_the_published_example() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), SIGNATURE);
    }

    #[test]
    fn verifies_the_published_example_among_other_signatures() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let list = format!("v1,Zm9v v2,abc {SIGNATURE}");
        let map = headers(ID, &TIMESTAMP.to_string(), &list);
        assert_eq!(secret.verify(&map, BODY, TIMESTAMP + 10).unwrap(), ID);
    }

    #[test]
    fn a_changed_body_id_or_timestamp_fails() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let ts = TIMESTAMP.to_string();
        let body = br#"{"test": 2432232315}"#;
        let e = secret.verify(&headers(ID, &ts, SIGNATURE), body, TIMESTAMP);
        assert_eq!(e, Err(WebhookError::BadSignature));
        let e = secret.verify(&headers("msg_other", &ts, SIGNATURE), BODY, TIMESTAMP);
        assert_eq!(e, Err(WebhookError::BadSignature));
        let later = (TIMESTAMP + 1).to_string();
        let e = secret.verify(&headers(ID, &later, SIGNATURE), BODY, TIMESTAMP);
        assert_eq!(e, Err(WebhookError::BadSignature));
    }

    #[test]
    fn another_secret_fails() {
        let other = WebhookSecret::from_bytes(&[7; 32]);
        let map = headers(ID, &TIMESTAMP.to_string(), SIGNATURE);
        assert_eq!(
            other.verify(&map, BODY, TIMESTAMP),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let map = headers(ID, &TIMESTAMP.to_string(), SIGNATURE);
        assert!(secret.verify(&map, BODY, TIMESTAMP + 300).is_ok());
        assert!(matches!(
            secret.verify(&map, BODY, TIMESTAMP + 301),
            Err(WebhookError::Stale { distance: 301, .. })
        ));
        assert!(matches!(
            secret.verify(&map, BODY, TIMESTAMP - 301),
            Err(WebhookError::Stale { .. })
        ));
    }

    #[test]
    fn missing_and_malformed_headers_say_which() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let mut map = headers(ID, &TIMESTAMP.to_string(), SIGNATURE);
        map.remove(WEBHOOK_ID);
        assert_eq!(
            secret.verify(&map, BODY, TIMESTAMP),
            Err(WebhookError::MissingHeader {
                header: "webhook-id"
            })
        );
        let map = headers(ID, "yesterday", SIGNATURE);
        assert!(matches!(
            secret.verify(&map, BODY, TIMESTAMP),
            Err(WebhookError::MalformedHeader {
                header: "webhook-timestamp",
                ..
            })
        ));
        let map = headers(ID, &TIMESTAMP.to_string(), "v2,abc");
        assert!(matches!(
            secret.verify(&map, BODY, TIMESTAMP),
            Err(WebhookError::MalformedHeader {
                header: "webhook-signature",
                ..
            })
        ));
    }

    #[test]
    fn secrets_must_be_prefixed_base64_of_a_sane_length() {
        assert!(WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(WebhookSecret::parse(&format!("{SECRET}\n")).is_ok());
        assert_eq!(
            format!("{:?}", WebhookSecret::parse(SECRET).unwrap()),
            "WebhookSecret(..)"
        );
    }
}
