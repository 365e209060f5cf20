//! Lists of notified bodies (an export of NANDO, the Commission's database
//! of bodies and the acts and modules each is notified for; Art. 44(2)).
//!
//! Format (`cragate.notified-bodies/v1`):
//! `{"format": ..., "source": "...", "bodies": [{"number": "0123", "name": "...",
//! "acts": ["Regulation (EU) 2024/2847"], "modules": ["B", "C", "H"]}]}`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{declared_body_number, declared_procedure};
use crate::catalog::CheckId;
use crate::doc::{is_cra, normalise};
use crate::evidence::syntax::is_notified_body_number;
use crate::json::{self, JsonLimitError, ReadError};
use crate::limits::NOTIFIED_BODY_LIST_JSON;
use crate::policy::Context;
use crate::verdict::Finding;

/// The format id of a notified-body list.
pub const NOTIFIED_BODIES_FORMAT: &str = "cragate.notified-bodies/v1";

/// Why a notified-body list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifiedBodyError {
    /// Refused by the JSON reader: over a budget, a key given twice, or not
    /// an object.
    #[error(transparent)]
    Limits(#[from] JsonLimitError),
    /// Not the expected JSON shape.
    #[error("notified-body list is not valid: {message}")]
    Shape {
        /// What was wrong.
        message: String,
    },
    /// Unknown format id.
    #[error(
        "notified-body list format {found:?} is not supported (expected {NOTIFIED_BODIES_FORMAT:?})"
    )]
    UnsupportedFormat {
        /// The format found.
        found: String,
    },
    /// A number that is not four digits, or listed twice.
    #[error("notified-body list entry {number:?} is malformed or duplicated")]
    BadNumber {
        /// The number as given.
        number: String,
    },
}

/// One notified body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifiedBody {
    /// Four-digit identification number.
    pub number: String,
    /// The body's name.
    pub name: String,
    /// Acts it is notified under.
    pub acts: Vec<String>,
    /// Modules it is notified for (`B`, `C`, `H`).
    pub modules: Vec<String>,
}

/// A list of notified bodies, by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifiedBodies {
    bodies: BTreeMap<String, NotifiedBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    format: String,
    #[serde(default)]
    #[allow(dead_code, reason = "provenance for people reading the file")]
    source: Option<String>,
    bodies: Vec<NotifiedBody>,
}

impl NotifiedBodies {
    /// Parses a list from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, NotifiedBodyError> {
        let raw: RawList =
            json::read(bytes, &NOTIFIED_BODY_LIST_JSON).map_err(|error| match error {
                ReadError::Refused(refusal) => NotifiedBodyError::Limits(refusal),
                shape @ ReadError::Shape { .. } => NotifiedBodyError::Shape {
                    message: shape.to_string(),
                },
            })?;
        if raw.format != NOTIFIED_BODIES_FORMAT {
            return Err(NotifiedBodyError::UnsupportedFormat { found: raw.format });
        }
        let mut bodies = BTreeMap::new();
        for body in raw.bodies {
            if !is_notified_body_number(&body.number) || bodies.contains_key(&body.number) {
                return Err(NotifiedBodyError::BadNumber {
                    number: body.number,
                });
            }
            bodies.insert(body.number.clone(), body);
        }
        Ok(Self { bodies })
    }

    /// The body with this number.
    pub fn find(&self, number: &str) -> Option<&NotifiedBody> {
        self.bodies.get(number)
    }

    /// How many bodies the list holds.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }
}

/// `ce.notified-body-listed`.
pub(crate) fn listed(cx: &Context<'_>) -> Finding {
    let id = CheckId::CeNotifiedBodyListed;
    let Some(number) = declared_body_number(cx) else {
        return Finding::not_applicable(id, "the DoC names no notified body");
    };
    let Some(list) = cx.notified_bodies else {
        return Finding::not_applicable(
            id,
            "the policy supplies no notified-body list; only the number format was checked",
        );
    };
    let Some(body) = list.find(number.trim()) else {
        return Finding::fail(
            id,
            format!("notified body {number} is not in the policy's notified-body list"),
        );
    };
    let mut problems = Vec::new();
    if !body.acts.iter().any(|a| is_cra(a)) {
        problems.push(format!(
            "notified body {number} ({}) is not notified under Regulation (EU) 2024/2847",
            body.name
        ));
    }
    if let Some(module) = declared_procedure(cx).and_then(|p| p.nando_module())
        && !body.modules.iter().any(|m| m == module)
    {
        problems.push(format!(
            "notified body {number} ({}) is not notified for module {module}",
            body.name
        ));
    }
    let declared_name = cx
        .doc
        .and_then(|d| d.conformity_assessment.as_ref())
        .and_then(|c| c.notified_body.as_ref())
        .and_then(|b| b.name.as_deref());
    if let Some(name) = declared_name.filter(|n| normalise(n) != normalise(&body.name)) {
        problems.push(format!(
            "the DoC names body {number} {name:?}, the list {:?}",
            body.name
        ));
    }
    Finding::from_problems(
        id,
        &problems,
        format!(
            "notified body {number} ({}) is notified under the CRA for this module",
            body.name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parses_and_rejects_bad_numbers() {
        let json = br#"{"format":"cragate.notified-bodies/v1","bodies":[
            {"number":"0123","name":"X","acts":["Regulation (EU) 2024/2847"],"modules":["B","H"]}]}"#;
        let list = NotifiedBodies::from_json(json).unwrap();
        assert_eq!(list.find("0123").unwrap().name, "X");
        let bad = br#"{"format":"cragate.notified-bodies/v1","bodies":[
            {"number":"123","name":"X","acts":[],"modules":[]}]}"#;
        assert!(matches!(
            NotifiedBodies::from_json(bad),
            Err(NotifiedBodyError::BadNumber { .. })
        ));
    }
}
