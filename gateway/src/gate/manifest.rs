//! The shipment manifest, `cragate.shipment/v1`: what an importer received
//! from one supplier in one shipment (CRA Art. 19, Art. 23), read into
//! checked types. The manifest as a whole is unusable when its header is
//! (format, reference, arrival date, supplier); each item is checked on its
//! own, so that a malformed item fails alone and the others are still
//! judged.
//!
//! The JSON Schema is `verifier/schema/shipment-v1.schema.json`.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use cragate_verifier::json::{self, JsonBudget, ReadError};
use jiff::civil::Date;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ledger::entry::{Operator, OperatorId};

/// The `format` of a shipment manifest.
pub const SHIPMENT_FORMAT: &str = "cragate.shipment/v1";

/// Largest manifest read, in bytes (inline listings count towards it).
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024 * 1024;

/// Most items in one manifest.
pub const MAX_ITEMS: usize = 100_000;

/// Longest shipment reference, batch or serial number, in bytes.
pub const MAX_REFERENCE_BYTES: usize = 128;

/// The budget a manifest is read under.
const MANIFEST_JSON: JsonBudget = JsonBudget::new("shipment manifest", MAX_MANIFEST_BYTES);

/// Why a manifest cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not JSON, over the limits, or not of the manifest's shape.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// Another format than [`SHIPMENT_FORMAT`].
    #[error("format is {found:?}, expected {SHIPMENT_FORMAT:?}")]
    Format {
        /// The format given.
        found: String,
    },
    /// A header field is unusable.
    #[error("{field}: {message}")]
    Field {
        /// The field (`reference`, `supplier.id`, ...).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

/// Why one item cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("items[{index}]{field}: {message}")]
pub struct ItemError {
    /// The item's position in `items`.
    pub index: usize,
    /// The field at fault, as a JSON path below the item (`.listing`), or
    /// empty for the whole item.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ItemError {
    /// An error about `field` of item `index`.
    pub fn new(index: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            index,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A manifest whose header is usable.
#[derive(Debug)]
pub struct Shipment {
    /// The shipment's reference (the importer's or the carrier's).
    pub reference: String,
    /// The day it arrived: the day of supply (Art. 23(2)).
    pub arrived_on: Date,
    /// Who supplied it (Art. 23(1)(a)).
    pub supplier: Supplier,
    /// Accompanying documents by kind (customs declaration, bill of lading).
    pub documents: BTreeMap<String, String>,
    /// Every item, each checked on its own.
    pub items: Vec<Result<Item, ItemError>>,
}

/// The supplier as the manifest names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supplier {
    /// The operator the ledger records (id, name, postal address).
    pub operator: Operator,
    /// E-mail, where given.
    pub email: Option<String>,
    /// ISO 3166-1 alpha-2 country, where given.
    pub country: Option<String>,
}

/// One item of a shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its position in `items`.
    pub index: usize,
    /// Where its listing is.
    pub listing: ListingSource,
    /// Each artifact name of the listing with its file (resolved against
    /// the manifest's folder), by name.
    pub artifacts: BTreeMap<String, PathBuf>,
    /// Units received.
    pub quantity: u64,
    /// The batch, where given (Art. 13(15)).
    pub batch: Option<String>,
    /// Serial numbers, where given (Art. 13(15)).
    pub serials: Vec<String>,
}

/// Where an item's listing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingSource {
    /// A file, resolved against the manifest's folder.
    File(PathBuf),
    /// Inline in the manifest: the object's exact bytes.
    Inline(Vec<u8>),
}

impl ListingSource {
    /// For messages and reports: the path, or `inline`.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Inline(_) => "inline".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShipment {
    format: String,
    reference: String,
    arrived_on: String,
    supplier: RawSupplier,
    #[serde(default)]
    documents: BTreeMap<String, String>,
    items: Vec<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSupplier {
    id: String,
    name: String,
    postal_address: String,
    email: Option<String>,
    website: Option<String>,
    digital_contact: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    listing: Box<RawValue>,
    #[serde(default)]
    artifacts: BTreeMap<String, String>,
    quantity: u64,
    batch: Option<String>,
    #[serde(default)]
    serials: Vec<String>,
}

impl Shipment {
    /// Reads a manifest from its bytes; `folder` is where it lies, against
    /// which the paths it names are resolved.
    pub fn from_json(bytes: &[u8], folder: &Path) -> Result<Self, ManifestError> {
        let raw: RawShipment = json::read(bytes, &MANIFEST_JSON)?;
        if raw.format != SHIPMENT_FORMAT {
            return Err(ManifestError::Format { found: raw.format });
        }
        let field = |field: &'static str, message: String| ManifestError::Field { field, message };
        let reference = text("reference", &raw.reference).map_err(|m| field("reference", m))?;
        let arrived_on = raw
            .arrived_on
            .parse::<Date>()
            .map_err(|e| field("arrived_on", format!("not a date (YYYY-MM-DD): {e}")))?;
        let supplier = supplier(raw.supplier)?;
        if raw.items.len() > MAX_ITEMS {
            return Err(field(
                "items",
                format!("{} items, over the limit of {MAX_ITEMS}", raw.items.len()),
            ));
        }
        if raw.items.is_empty() {
            return Err(field("items", "the shipment has no items".to_owned()));
        }
        let items = raw
            .items
            .iter()
            .enumerate()
            .map(|(index, value)| item(index, value, folder))
            .collect();
        Ok(Self {
            reference,
            arrived_on,
            supplier,
            documents: raw.documents,
            items,
        })
    }
}

fn supplier(raw: RawSupplier) -> Result<Supplier, ManifestError> {
    let field = |field: &'static str, message: String| ManifestError::Field { field, message };
    let id = raw
        .id
        .parse::<OperatorId>()
        .map_err(|e| field("supplier.id", e.to_string()))?;
    let name = text("supplier.name", &raw.name).map_err(|m| field("supplier.name", m))?;
    let postal_address = text("supplier.postal_address", &raw.postal_address)
        .map_err(|m| field("supplier.postal_address", m))?;
    let _ = (raw.website, raw.digital_contact);
    Ok(Supplier {
        operator: Operator {
            id,
            name,
            postal_address,
        },
        email: raw.email,
        country: raw.country,
    })
}

fn item(index: usize, value: &RawValue, folder: &Path) -> Result<Item, ItemError> {
    let mut deserializer = serde_json::Deserializer::from_str(value.get());
    let raw: RawItem = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        ItemError::new(index, field, e.inner().to_string())
    })?;
    let listing = match raw.listing.get().trim_start().as_bytes().first() {
        Some(b'"') => {
            let path: String = serde_json::from_str(raw.listing.get())
                .map_err(|e| ItemError::new(index, ".listing", e.to_string()))?;
            ListingSource::File(
                resolve(folder, &path).map_err(|m| ItemError::new(index, ".listing", m))?,
            )
        }
        Some(b'{') => ListingSource::Inline(raw.listing.get().as_bytes().to_vec()),
        _ => {
            return Err(ItemError::new(
                index,
                ".listing",
                "must be a path relative to the manifest or a listing object",
            ));
        }
    };
    let mut artifacts = BTreeMap::new();
    for (name, path) in raw.artifacts {
        let resolved = resolve(folder, &path)
            .map_err(|m| ItemError::new(index, format!(".artifacts[{name:?}]"), m))?;
        artifacts.insert(name, resolved);
    }
    for (what, value) in raw
        .batch
        .iter()
        .map(|b| (".batch", b))
        .chain(raw.serials.iter().map(|s| (".serials", s)))
    {
        text(what, value).map_err(|m| ItemError::new(index, what, m))?;
    }
    Ok(Item {
        index,
        listing,
        artifacts,
        quantity: raw.quantity,
        batch: raw.batch,
        serials: raw.serials,
    })
}

/// A path the manifest names, relative to its folder and staying inside
/// it: an absolute path or one that climbs out with `..` is refused.
fn resolve(folder: &Path, path: &str) -> Result<PathBuf, String> {
    let relative = Path::new(path);
    let inside = !path.is_empty()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Err(format!(
            "{path:?} must be a path relative to the manifest's folder, without \"..\""
        ));
    }
    Ok(folder.join(relative))
}

/// A short single-line text: not blank, at most [`MAX_REFERENCE_BYTES`]
/// for references, no control characters.
fn text(what: &str, value: &str) -> Result<String, String> {
    let limit = match what {
        "reference" | ".batch" | ".serials" => MAX_REFERENCE_BYTES,
        _ => 1024,
    };
    if value.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    if value.len() > limit {
        return Err(format!("is over {limit} bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not hold control characters".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(items: &str) -> String {
        format!(
            r#"{{"format": "cragate.shipment/v1", "reference": "SHP-1", "arrived_on": "2026-11-30",
               "supplier": {{"id": "lumatek", "name": "Lumatek Ltd", "postal_address": "1 Road, Shenzhen", "country": "CN"}},
               "documents": {{"customs_declaration": "26DE1"}}, "items": [{items}]}}"#
        )
    }

    #[test]
    fn a_malformed_item_fails_alone() {
        let text = manifest(
            r#"{"listing": "a/listing.json", "artifacts": {"fw.bin": "a/fw.bin"}, "quantity": 5},
               {"listing": 7, "quantity": 1},
               {"listing": {"format": "x"}, "quantity": "many"},
               {"listing": "../etc/passwd", "quantity": 1}"#,
        );
        let shipment = Shipment::from_json(text.as_bytes(), Path::new("in")).unwrap();
        let first = shipment.items[0].as_ref().unwrap();
        assert_eq!(
            first.listing,
            ListingSource::File(PathBuf::from("in/a/listing.json"))
        );
        assert_eq!(first.artifacts["fw.bin"], PathBuf::from("in/a/fw.bin"));
        let errors: Vec<String> = shipment.items[1..]
            .iter()
            .map(|i| i.as_ref().unwrap_err().to_string())
            .collect();
        assert!(errors[0].starts_with("items[1].listing:"), "{errors:?}");
        assert!(errors[1].starts_with("items[2].quantity:"), "{errors:?}");
        assert!(errors[2].contains("without \"..\""), "{errors:?}");
    }

    #[test]
    fn an_unusable_header_refuses_the_manifest() {
        let text = manifest(r#"{"listing": "l.json", "quantity": 1}"#);
        for (from, to) in [
            ("cragate.shipment/v1", "cragate.shipment/v2"),
            ("2026-11-30", "30.11.2026"),
            ("\"lumatek\"", "\"\""),
            ("\"SHP-1\"", "\"\""),
        ] {
            let broken = text.replace(from, to);
            assert!(
                Shipment::from_json(broken.as_bytes(), Path::new(".")).is_err(),
                "{from} -> {to}"
            );
        }
        let twice = text.replace(
            "\"reference\": \"SHP-1\"",
            "\"reference\": \"A\", \"reference\": \"B\"",
        );
        assert!(Shipment::from_json(twice.as_bytes(), Path::new(".")).is_err());
    }

    #[test]
    fn an_inline_listing_keeps_its_bytes() {
        let text = manifest(r#"{"listing": {"format":  "cragate.listing/v1"}, "quantity": 1}"#);
        let shipment = Shipment::from_json(text.as_bytes(), Path::new(".")).unwrap();
        assert_eq!(
            shipment.items[0].as_ref().unwrap().listing,
            ListingSource::Inline(br#"{"format":  "cragate.listing/v1"}"#.to_vec())
        );
    }
}
