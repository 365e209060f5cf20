//! In-toto statements carried in DSSE envelopes (in-toto Statement v1,
//! `https://in-toto.io/Statement/v1`; v0.1 is read too).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::Digest;
use crate::json;
use crate::limits::STATEMENT_JSON;

/// The in-toto payload type of a DSSE envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v1",
    "https://in-toto.io/Statement/v0.1",
];

/// A statement from a verified envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What the predicate is, e.g. `https://cragate.dev/doc/v1`.
    pub predicate_type: String,
    /// The artifacts the statement is about.
    pub subjects: Vec<Subject>,
    /// The predicate, unparsed.
    pub predicate: serde_json::Value,
}

/// One subject of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The subject's name.
    pub name: String,
    /// Its SHA-256, when it gives one.
    pub sha256: Option<Digest>,
    /// Every digest it gives, by algorithm.
    pub digests: BTreeMap<String, String>,
}

/// Why a DSSE payload is not a statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The envelope's payload type is not in-toto.
    #[error("DSSE payload type is {payload_type:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}")]
    PayloadType {
        /// The payload type as given.
        payload_type: String,
    },
    /// The payload is not an in-toto statement.
    #[error("DSSE payload is not an in-toto statement: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<RawSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: serde_json::Value,
}

#[derive(Deserialize)]
struct RawSubject {
    #[serde(default)]
    name: String,
    digest: BTreeMap<String, String>,
}

impl Statement {
    pub(crate) fn parse(payload_type: &str, payload: &[u8]) -> Result<Self, StatementError> {
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(StatementError::PayloadType {
                payload_type: payload_type.to_owned(),
            });
        }
        let raw: RawStatement =
            json::read(payload, &STATEMENT_JSON).map_err(|e| StatementError::Malformed {
                detail: e.to_string(),
            })?;
        if !STATEMENT_TYPES.contains(&raw.statement_type.as_str()) {
            return Err(StatementError::Malformed {
                detail: format!("unknown _type {:?}", raw.statement_type),
            });
        }
        if raw.subject.is_empty() {
            return Err(StatementError::Malformed {
                detail: "statement has no subject".to_owned(),
            });
        }
        let subjects =
            raw.subject
                .into_iter()
                .map(|s| Subject {
                    sha256: s.digest.get("sha256").and_then(|hex| {
                        format!("sha256:{}", hex.to_ascii_lowercase()).parse().ok()
                    }),
                    name: s.name,
                    digests: s.digest,
                })
                .collect();
        Ok(Self {
            predicate_type: raw.predicate_type,
            subjects,
            predicate: raw.predicate,
        })
    }

    /// Whether `digest` is one of the subjects.
    pub fn has_subject(&self, digest: &Digest) -> bool {
        self.subjects
            .iter()
            .any(|s| s.sha256.as_ref() == Some(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10, rule 16: the signed DoC or SBOM is the predicate of a DSSE
    /// payload, which the listing's check cannot see into; a key given twice
    /// there makes the statement unusable too.
    #[test]
    fn a_key_given_twice_in_a_signed_predicate_makes_the_statement_unusable() {
        let payload = |manufacturer: &str| {
            format!(
                r#"{{"_type": "https://in-toto.io/Statement/v1",
                "subject": [{{"name": "f", "digest": {{"sha256": "00"}}}}],
                "predicateType": "https://cragate.dev/doc/v1",
                "predicate": {{"format": "cragate.doc/v1", "manufacturer": {manufacturer}}}}}"#
            )
        };
        let once = payload(r#"{"name": "A"}"#);
        assert!(Statement::parse(IN_TOTO_PAYLOAD_TYPE, once.as_bytes()).is_ok());
        let twice = payload(r#"{"name": "A", "name": "B"}"#);
        let error = Statement::parse(IN_TOTO_PAYLOAD_TYPE, twice.as_bytes()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains(r#"the key "name" twice in predicate.manufacturer"#),
            "{error}"
        );
    }
}
