//! Ledger entries and their canonical encoding.
//!
//! An entry is what the gateway must be able to show an authority for ten
//! years: a decision, a supply link (CRA Art. 23: who supplied us, whom we
//! supplied), an archived document (Art. 19(6): the DoC copy), a halt notice,
//! and each notification sent or acknowledged. Its leaf in the Merkle tree is
//! the exact bytes of its [`Record`]: compact JSON with the fields in the
//! order they are declared here, written once and never re-encoded, so any
//! SHA-256 library reproduces the leaf hash from an export.

use std::fmt;

use cragate_verifier::Digest;
/// A product's identifier, as in the listing's `product.id`: the
/// verifier's type, so the ledger records exactly the ids a listing may
/// carry.
pub use cragate_verifier::evidence::ProductId;
use cragate_verifier::verdict::Decision;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// Version of the [`Record`] encoding, the `v` field of every record.
pub const RECORD_VERSION: u32 = 1;

/// Longest operator identifier, in bytes: long enough for a URL or a
/// company register number with its prefix, short enough to be an index key.
pub const MAX_IDENTIFIER_BYTES: usize = 256;

/// Why an entry or an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// An identifier is empty, too long or holds control characters.
    #[error(
        "identifier {value:?} must be 1 to {MAX_IDENTIFIER_BYTES} bytes without control characters"
    )]
    BadIdentifier {
        /// The identifier as given.
        value: String,
    },
    /// A document entry came without its content, or content came with another kind of entry.
    #[error("a document entry and its content must be submitted together")]
    AttachmentMismatch,
    /// The document content does not have the digest or size the entry names.
    #[error(
        "document content is {actual} ({actual_size} bytes), the entry names {expected} ({expected_size} bytes)"
    )]
    DocumentDigest {
        /// The digest named by the entry.
        expected: Digest,
        /// The size named by the entry.
        expected_size: u64,
        /// The digest of the content.
        actual: Digest,
        /// The size of the content.
        actual_size: u64,
    },
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = EntryError;
            fn try_from(value: String) -> Result<Self, EntryError> {
                let usable = !value.is_empty()
                    && value.len() <= MAX_IDENTIFIER_BYTES
                    && !value.chars().any(char::is_control);
                if usable { Ok(Self(value)) } else { Err(EntryError::BadIdentifier { value }) }
            }
        }

        impl std::str::FromStr for $name {
            type Err = EntryError;
            fn from_str(value: &str) -> Result<Self, EntryError> {
                Self::try_from(value.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

identifier!(
    /// An economic operator's identifier (CRA Art. 3(12)): a supplier, a
    /// customer, a notice issuer, or the account a client authenticates as.
    OperatorId
);

/// An entry as the caller submits it: what happened, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// When it happened, by the caller's clock.
    pub time: Timestamp,
    /// What happened.
    pub body: EntryBody,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum EntryBody {
    /// A verdict on a listing, an upload or a shipment item.
    Decision {
        /// The product judged.
        product: ProductId,
        /// Its version or release, where known.
        release: Option<String>,
        /// The verdict: `allow`, `deny` or `warn`, the verifier's
        /// [`Decision`] (one vocabulary for the policy and the ledger).
        verdict: Decision,
        /// Digest of the compiled policy that judged it.
        policy: Digest,
        /// Digests of the evidence judged (artifacts, bundles, DoC, SBOM).
        evidence: Vec<Digest>,
        /// Who asked.
        client: Client,
        /// The product's support-period end (Art. 13(19)), where known.
        support_end: Option<Date>,
    },
    /// A supply from a supplier to us, or from us to a customer (Art. 23).
    SupplyLink {
        /// Supplier to us, or us to customer.
        direction: Direction,
        /// The product supplied.
        product: ProductId,
        /// Its version or release, where known.
        release: Option<String>,
        /// How many units, where counted.
        quantity: Option<u64>,
        /// The supplier (inbound) or the customer (outbound).
        counterparty: Operator,
        /// The day of supply; retention runs from it (Art. 23(2)).
        supplied_on: Date,
        /// The product's support-period end, where known.
        support_end: Option<Date>,
        /// The shipment it came in or went out with (`cragate gate`: the
        /// manifest's `reference`), where known. Absent from the record
        /// when not known, so records written before it existed keep
        /// their bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shipment: Option<String>,
        /// The batch supplied (Art. 13(15)), where known; absent like
        /// `shipment` when not known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch: Option<String>,
    },
    /// A document kept for an authority, its content stored once by digest.
    Document {
        /// The product it belongs to.
        product: ProductId,
        /// What the document is.
        document: DocumentKind,
        /// SHA-256 of the content.
        digest: Digest,
        /// Content size in bytes.
        size: u64,
        /// The content's media type.
        media_type: String,
        /// The product's support-period end, where known (Art. 19(6)).
        support_end: Option<Date>,
    },
    /// A halt, lift, recall or withdrawal notice that was accepted.
    HaltNotice {
        /// Who issued it.
        issuer: OperatorId,
        /// The issuer's sequence number.
        sequence: u64,
        /// What it orders.
        action: HaltAction,
        /// Products in scope.
        products: Vec<ProductId>,
        /// Artifact digests in scope.
        digests: Vec<Digest>,
        /// Digest of the signed notice as received.
        notice: Digest,
        /// The reason given.
        reason: String,
    },
    /// A notice forwarded to a downstream operator.
    NotificationSent {
        /// Digest of the notice forwarded.
        notice: Digest,
        /// Who it went to.
        recipient: OperatorId,
        /// Products in scope.
        products: Vec<ProductId>,
        /// Where it was delivered.
        endpoint: String,
    },
    /// A downstream operator's acknowledgement of a notice.
    NotificationAcknowledged {
        /// Digest of the notice acknowledged.
        notice: Digest,
        /// Who acknowledged it.
        recipient: OperatorId,
        /// Products in scope.
        products: Vec<ProductId>,
    },
}

/// Who asked for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// The authenticated identity (certificate subject, token name), if any.
    pub identity: Option<OperatorId>,
    /// The peer address.
    pub address: String,
}

/// Which way a supply went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A supplier supplied us.
    Inbound,
    /// We supplied a customer.
    Outbound,
}

/// An economic operator as Art. 23 asks for it: name and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// Identifier.
    pub id: OperatorId,
    /// Name or registered trade name.
    pub name: String,
    /// Postal address.
    pub postal_address: String,
}

/// What an archived document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// The EU declaration of conformity (Annex V).
    DeclarationOfConformity,
    /// The simplified declaration (Annex VI).
    SimplifiedDeclaration,
    /// A verification report cragate produced.
    VerificationReport,
    /// Other evidence (SBOM, certificate, test report).
    Other,
}

/// What a halt notice orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HaltAction {
    /// Stop making it available.
    Halt,
    /// Lift an earlier halt.
    Lift,
    /// Recall from end users (Art. 3(44)).
    Recall,
    /// Withdraw from the supply chain (Art. 3(45)).
    Withdraw,
}

/// An entry as stored: its leaf data is the compact JSON of this struct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// [`RECORD_VERSION`].
    pub v: u32,
    /// The leaf index: its position in the ledger.
    pub index: u64,
    /// When it happened.
    pub time: Timestamp,
    /// What happened.
    pub body: EntryBody,
}

impl Record {
    /// The record for `entry` at leaf `index`.
    pub fn new(index: u64, entry: &Entry) -> Self {
        Self {
            v: RECORD_VERSION,
            index,
            time: entry.time,
            body: entry.body.clone(),
        }
    }

    /// The canonical bytes: the leaf data.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing these types cannot fail: no maps with non-string keys.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses leaf data.
    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

impl EntryBody {
    /// The entry's kind, as in the `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Decision { .. } => "decision",
            Self::SupplyLink { .. } => "supply_link",
            Self::Document { .. } => "document",
            Self::HaltNotice { .. } => "halt_notice",
            Self::NotificationSent { .. } => "notification_sent",
            Self::NotificationAcknowledged { .. } => "notification_acknowledged",
        }
    }

    /// Products the entry concerns (the product index).
    pub fn products(&self) -> Vec<&ProductId> {
        match self {
            Self::Decision { product, .. }
            | Self::SupplyLink { product, .. }
            | Self::Document { product, .. } => vec![product],
            Self::HaltNotice { products, .. }
            | Self::NotificationSent { products, .. }
            | Self::NotificationAcknowledged { products, .. } => products.iter().collect(),
        }
    }

    /// Digests the entry names (the digest index).
    pub fn digests(&self) -> Vec<&Digest> {
        match self {
            Self::Decision {
                policy, evidence, ..
            } => std::iter::once(policy).chain(evidence).collect(),
            Self::Document { digest, .. } => vec![digest],
            Self::HaltNotice {
                digests, notice, ..
            } => std::iter::once(notice).chain(digests).collect(),
            Self::NotificationSent { notice, .. }
            | Self::NotificationAcknowledged { notice, .. } => vec![notice],
            Self::SupplyLink { .. } => Vec::new(),
        }
    }

    /// Operators the entry names (the operator index).
    pub fn operators(&self) -> Vec<&OperatorId> {
        match self {
            Self::Decision { client, .. } => client.identity.iter().collect(),
            Self::SupplyLink { counterparty, .. } => vec![&counterparty.id],
            Self::HaltNotice { issuer, .. } => vec![issuer],
            Self::NotificationSent { recipient, .. }
            | Self::NotificationAcknowledged { recipient, .. } => vec![recipient],
            Self::Document { .. } => Vec::new(),
        }
    }

    /// The support-period end the entry states, if any.
    pub fn support_end(&self) -> Option<Date> {
        match self {
            Self::Decision { support_end, .. }
            | Self::SupplyLink { support_end, .. }
            | Self::Document { support_end, .. } => *support_end,
            _ => None,
        }
    }
}

/// An entry checked and ready to append, with the content of a document entry.
#[derive(Debug, Clone)]
pub struct Submission {
    entry: Entry,
    attachment: Option<Vec<u8>>,
}

impl Submission {
    /// An entry that is not a document.
    pub fn new(entry: Entry) -> Result<Self, EntryError> {
        Self::with_attachment(entry, None)
    }

    /// A document entry with its content; the content must have the digest
    /// and size the entry names.
    pub fn document(entry: Entry, content: Vec<u8>) -> Result<Self, EntryError> {
        Self::with_attachment(entry, Some(content))
    }

    fn with_attachment(entry: Entry, attachment: Option<Vec<u8>>) -> Result<Self, EntryError> {
        match (&entry.body, &attachment) {
            (EntryBody::Document { digest, size, .. }, Some(content)) => {
                let actual = Digest::of(content);
                let actual_size = u64::try_from(content.len()).unwrap_or(u64::MAX);
                if actual != *digest || actual_size != *size {
                    return Err(EntryError::DocumentDigest {
                        expected: *digest,
                        expected_size: *size,
                        actual,
                        actual_size,
                    });
                }
            }
            (EntryBody::Document { .. }, None) | (_, Some(_)) => {
                return Err(EntryError::AttachmentMismatch);
            }
            (_, None) => {}
        }
        Ok(Self { entry, attachment })
    }

    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// The document content, for a document entry.
    pub fn attachment(&self) -> Option<&[u8]> {
        self.attachment.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision() -> Entry {
        Entry {
            time: "2026-12-01T10:00:00Z".parse().unwrap(),
            body: EntryBody::Decision {
                product: "acme-cam-x200".parse().unwrap(),
                release: Some("4.2.1".into()),
                verdict: Decision::Allow,
                policy: Digest::of(b"policy"),
                evidence: vec![Digest::of(b"fw")],
                client: Client {
                    identity: Some("store-eu".parse().unwrap()),
                    address: "192.0.2.7:50123".into(),
                },
                support_end: Some("2031-12-31".parse().unwrap()),
            },
        }
    }

    #[test]
    fn record_encoding_is_fixed() {
        let bytes = Record::new(7, &decision()).encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"v":1,"index":7,"time":"2026-12-01T10:00:00Z","body":{{"kind":"decision","product":"acme-cam-x200","release":"4.2.1","verdict":"allow","policy":"{}","evidence":["{}"],"client":{{"identity":"store-eu","address":"192.0.2.7:50123"}},"support_end":"2031-12-31"}}}}"#,
                Digest::of(b"policy"),
                Digest::of(b"fw")
            )
        );
        assert_eq!(Record::decode(&bytes).unwrap().encode(), bytes);
    }

    #[test]
    fn identifiers_are_checked() {
        assert!("".parse::<ProductId>().is_err());
        assert!("a\nb".parse::<OperatorId>().is_err());
        assert!("x".repeat(257).parse::<OperatorId>().is_err());
        assert!("x".repeat(129).parse::<ProductId>().is_err());
        assert!(serde_json::from_str::<ProductId>("\"\"").is_err());
    }

    #[test]
    fn document_content_must_match_the_entry() {
        let content = b"DoC".to_vec();
        let entry = Entry {
            time: "2026-12-01T10:00:00Z".parse().unwrap(),
            body: EntryBody::Document {
                product: "p".parse().unwrap(),
                document: DocumentKind::DeclarationOfConformity,
                digest: Digest::of(&content),
                size: 3,
                media_type: "application/json".into(),
                support_end: None,
            },
        };
        assert!(Submission::document(entry.clone(), content).is_ok());
        assert!(matches!(
            Submission::document(entry.clone(), b"DoX".to_vec()),
            Err(EntryError::DocumentDigest { .. })
        ));
        assert_eq!(
            Submission::new(entry).unwrap_err(),
            EntryError::AttachmentMismatch
        );
        assert_eq!(
            Submission::document(decision(), vec![1]).unwrap_err(),
            EntryError::AttachmentMismatch
        );
    }
}
