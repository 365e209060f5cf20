//! Stamping the importer's own details on a listing (CRA Art. 19(4)): an
//! importer must show its name, postal address, e-mail or other digital
//! contact and, where applicable, website with the product. When the
//! manufacturer's paperwork names no importer and the manufacturer is
//! established outside the Union (Art. 3(16)), `cragate gate` adds the
//! policy's `[importer]` as `operators.importer` before the listing is
//! judged, so that the listing placed on the market carries them.

use cragate_verifier::policy::{ImporterDetails, Policy};
use serde_json::{Map, Value};

/// What stamping did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamped {
    /// The listing was stamped: its new bytes.
    Yes(Vec<u8>),
    /// Not needed: the listing names an importer, or its manufacturer is
    /// established in the Union, or the policy has no `[importer]`.
    No,
}

/// Stamps `policy`'s importer on the listing `bytes` where it lacks one.
/// `bytes` must already have been read by the verifier's listing reader.
pub fn stamp(bytes: &[u8], policy: &Policy) -> Result<Stamped, String> {
    let Some(importer) = policy.importer() else {
        return Ok(Stamped::No);
    };
    let mut listing: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("listing is not JSON: {e}"))?;
    let Some(operators) = listing.get_mut("operators").and_then(Value::as_object_mut) else {
        return Ok(Stamped::No);
    };
    if operators.get("importer").is_some_and(|i| !i.is_null()) {
        return Ok(Stamped::No);
    }
    let maker_country = operators
        .get("manufacturer")
        .and_then(|m| m.get("country"))
        .and_then(Value::as_str);
    match maker_country {
        Some(country) if !policy.in_union(country) => {}
        _ => return Ok(Stamped::No),
    }
    operators.insert("importer".to_owned(), operator(importer));
    serde_json::to_vec(&listing)
        .map(Stamped::Yes)
        .map_err(|e| format!("cannot write the stamped listing: {e}"))
}

fn operator(importer: &ImporterDetails) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), importer.name.clone().into());
    map.insert(
        "postal_address".into(),
        importer.postal_address.clone().into(),
    );
    for (key, value) in [
        ("email", &importer.email),
        ("digital_contact", &importer.digital_contact),
        ("website", &importer.website),
    ] {
        if let Some(value) = value {
            map.insert(key.into(), value.clone().into());
        }
    }
    map.insert("country".into(), importer.country.clone().into());
    Value::Object(map)
}
