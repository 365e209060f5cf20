//! The one reader of JSON from outside: every document cragate reads (a
//! listing, a bundle, an in-toto statement with its DoC or SBOM predicate, a
//! trusted root, a notified-body list, and the gateway's request bodies,
//! catalog pages and ledger export lines) goes through [`check`] before a
//! parser builds anything from it.
//!
//! [`check`] walks the document once without building a value and refuses
//! it when
//! - it is larger or nests deeper than its [`JsonBudget`];
//! - it is not a JSON object at its top (a JSON array is not a listing);
//! - an object holds the same key twice: RFC 8259 §4 leaves the meaning of
//!   such an object to each parser ("the names within an object SHOULD be
//!   unique"), so a document with two meanings is refused rather than read as
//!   whichever value a parser keeps;
//! - an array holds more items than the budget;
//! - the tree a parser would build from it (`serde_json::Value`, or the
//!   strings, vectors and maps of a typed parse) would take more memory than
//!   the budget, by the estimate of [`TREE_COST`].
//!
//! [`read`] checks and then parses into a typed value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::limits::{JSON_TREE_BYTES_PER_BYTE, MAX_JSON_ARRAY_ITEMS, MAX_JSON_DEPTH};

/// Why a JSON document was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonLimitError {
    /// The document is larger than the budget for this kind of input.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What the document is (for example "bundle").
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The document nests arrays and objects deeper than the budget.
    #[error("{what} nests deeper than the limit of {limit} levels (at byte {offset})")]
    TooDeep {
        /// What the document is.
        what: &'static str,
        /// The depth limit.
        limit: usize,
        /// Byte offset where the limit was crossed.
        offset: usize,
    },
    /// Not JSON (RFC 8259) at all.
    #[error("{what} is not valid JSON: {detail}")]
    NotJson {
        /// What the document is.
        what: &'static str,
        /// The parser's message, with line and column.
        detail: String,
    },
    /// The top of the document is not a JSON object.
    #[error("{what} must be a JSON object, not {found}")]
    NotAnObject {
        /// What the document is.
        what: &'static str,
        /// What was found instead ("an array", "a string", ...).
        found: &'static str,
    },
    /// An object holds the same key twice (RFC 8259 §4).
    #[error(
        "{what} has the key {key:?} twice in {path} ({at}): a document with two meanings is refused (RFC 8259 section 4)"
    )]
    DuplicateKey {
        /// What the document is.
        what: &'static str,
        /// The key, shortened if long.
        key: String,
        /// JSON path of the object holding it (`.` for the top).
        path: String,
        /// Where the second one is.
        at: Position,
    },
    /// An array holds more items than the budget.
    #[error("{what}: {path} holds more than {limit} items, over the limit ({at})")]
    TooManyItems {
        /// What the document is.
        what: &'static str,
        /// JSON path of the array.
        path: String,
        /// The limit.
        limit: usize,
        /// Where the limit was crossed.
        at: Position,
    },
    /// The parsed tree would take more memory than the budget.
    #[error(
        "{what} holds too many values, objects and strings for its budget: parsed, they would take more than {limit} bytes of memory ({at})"
    )]
    TooCostly {
        /// What the document is.
        what: &'static str,
        /// The budget, in bytes of memory.
        limit: usize,
        /// Where the budget ran out.
        at: Position,
    },
}

/// A place in a document, as the JSON parser counts it (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line.
    pub line: usize,
    /// Column (in bytes).
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why [`read`] could not give a typed value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// [`check`] refused the document.
    #[error(transparent)]
    Refused(#[from] JsonLimitError),
    /// The document is JSON within its budget but not of the expected shape.
    #[error("at {path}: {message}")]
    Shape {
        /// JSON path of the offending value (`.` for the top).
        path: String,
        /// What was wrong there.
        message: String,
    },
}

/// The budgets one kind of JSON document is read under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonBudget {
    /// What the document is, for messages ("listing", "bundle").
    pub what: &'static str,
    /// Largest document, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub max_depth: usize,
    /// Most items in one array.
    pub max_array_items: usize,
    /// Most memory the parsed tree may take, by the estimate of [`TREE_COST`].
    pub max_tree_bytes: usize,
}

impl JsonBudget {
    /// The budget of a document of at most `max_bytes` bytes: the common
    /// depth ([`MAX_JSON_DEPTH`]) and array ([`MAX_JSON_ARRAY_ITEMS`])
    /// limits, and a tree of at most [`JSON_TREE_BYTES_PER_BYTE`] times
    /// `max_bytes`.
    pub const fn new(what: &'static str, max_bytes: usize) -> Self {
        Self {
            what,
            max_bytes,
            max_depth: MAX_JSON_DEPTH,
            max_array_items: MAX_JSON_ARRAY_ITEMS,
            max_tree_bytes: max_bytes.saturating_mul(JSON_TREE_BYTES_PER_BYTE),
        }
    }
}

/// What each part of a document costs once parsed, in bytes of memory: an
/// upper estimate of what `serde_json::Value` takes on a 64-bit target, which
/// a typed parse (strings, vectors, maps) does not exceed.
#[derive(Debug, Clone, Copy)]
pub struct TreeCost {
    /// A non-empty array: the four `Value` slots a vector allocates at its
    /// first push.
    pub array: usize,
    /// An item of an array: a 32-byte `Value` slot, three times over
    /// because a vector grown by pushing holds up to twice the slots it
    /// fills, and while it grows, its old slots beside the new ones.
    pub array_item: usize,
    /// A non-empty object: one B-tree leaf node of `String` keys and `Value`
    /// values (11 slots of 24 + 32 bytes, with its header: 632 bytes).
    pub object: usize,
    /// An entry of an object: its share of the B-tree's nodes, which splits
    /// leave at least half full (632 bytes / 5 entries), plus its `Value`.
    pub object_entry: usize,
    /// Each byte of a string or a key. (While it unescapes a string, the
    /// parser also holds a scratch copy of it: at most the longest string,
    /// which the byte budget bounds.)
    pub string_byte: usize,
}

/// The estimate [`check`] uses. Measured with a counting allocator on
/// serde_json 1.0 (x86_64), the real tree is at most this estimate: 1 Mi
/// zeros in an array take 32 MiB, 48 MiB while the array last grows
/// (estimate 96 MiB), 512 Ki objects `{"a":0}` 333 MiB (estimate 464 MiB),
/// one object of 1 Mi entries 106 MiB (estimate 134 MiB); real SBOMs take
/// two thirds of their estimate.
/// The test `parsed_trees_stay_within_their_estimate` in
/// `verifier/tests/parse_memory.rs` checks it on each kind of value.
pub const TREE_COST: TreeCost = TreeCost {
    array: 128,
    array_item: 96,
    object: 640,
    object_entry: 128,
    string_byte: 1,
};

/// Checks `bytes` against `budget` without building a value: size, depth,
/// JSON syntax, an object at the top, no key twice in any object, array
/// lengths and the estimated memory of the parsed tree.
pub fn check(bytes: &[u8], budget: &JsonBudget) -> Result<(), JsonLimitError> {
    check_limits(bytes, budget.what, budget.max_bytes, budget.max_depth)?;
    let mut scan = Scan {
        budget,
        tree_bytes: 0,
        path: Vec::new(),
        refusal: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let walked = de::Deserializer::deserialize_any(
        &mut deserializer,
        Node {
            scan: &mut scan,
            top: true,
        },
    )
    .and_then(|()| deserializer.end());
    match walked {
        Ok(()) => Ok(()),
        Err(error) => {
            let at = Position {
                line: error.line(),
                column: error.column(),
            };
            Err(match scan.refusal.take() {
                Some(refusal) => refusal.into_error(budget.what, at),
                None => JsonLimitError::NotJson {
                    what: budget.what,
                    detail: error.to_string(),
                },
            })
        }
    }
}

/// [`check`]s `bytes`, then parses them into a `T`, naming the path of the
/// first value that does not fit `T`.
pub fn read<T: DeserializeOwned>(bytes: &[u8], budget: &JsonBudget) -> Result<T, ReadError> {
    check(bytes, budget).map_err(|error| match error {
        JsonLimitError::NotJson { detail, .. } => ReadError::Shape {
            path: ".".into(),
            message: detail,
        },
        other => ReadError::Refused(other),
    })?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| ReadError::Shape {
            path: error.path().to_string(),
            message: error.inner().to_string(),
        })?;
    deserializer.end().map_err(|error| ReadError::Shape {
        path: ".".into(),
        message: error.to_string(),
    })?;
    Ok(value)
}

/// Checks `bytes` against a size and a nesting-depth budget only.
///
/// The depth scan is a single pass that tracks strings and escapes, so it
/// costs far less than parsing and stops a deeply nested document before a
/// recursive parser sees it. [`check`] runs it first.
pub fn check_limits(
    bytes: &[u8],
    what: &'static str,
    max_bytes: usize,
    max_depth: usize,
) -> Result<(), JsonLimitError> {
    if bytes.len() > max_bytes {
        return Err(JsonLimitError::TooLarge {
            what,
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(JsonLimitError::TooDeep {
                        what,
                        limit: max_depth,
                        offset,
                    });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Longest key or path segment quoted in a message.
const MAX_QUOTED_CHARS: usize = 64;

/// The walk's state: the budget, what has been spent, where it is, and the
/// refusal that stopped it (serde's error type carries only text).
struct Scan<'b, 'de> {
    budget: &'b JsonBudget,
    tree_bytes: usize,
    path: Vec<Step<'de>>,
    refusal: Option<Refusal>,
}

enum Step<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

enum Refusal {
    NotAnObject(&'static str),
    DuplicateKey { key: String, path: String },
    TooManyItems { path: String, limit: usize },
    TooCostly { limit: usize },
}

impl Refusal {
    fn into_error(self, what: &'static str, at: Position) -> JsonLimitError {
        match self {
            Self::NotAnObject(found) => JsonLimitError::NotAnObject { what, found },
            Self::DuplicateKey { key, path } => JsonLimitError::DuplicateKey {
                what,
                key,
                path,
                at,
            },
            Self::TooManyItems { path, limit } => JsonLimitError::TooManyItems {
                what,
                path,
                limit,
                at,
            },
            Self::TooCostly { limit } => JsonLimitError::TooCostly { what, limit, at },
        }
    }
}

impl Scan<'_, '_> {
    fn refuse<E: de::Error>(&mut self, refusal: Refusal) -> E {
        self.refusal = Some(refusal);
        E::custom("refused by the JSON budget")
    }

    fn spend<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        self.tree_bytes = self.tree_bytes.saturating_add(bytes);
        if self.tree_bytes > self.budget.max_tree_bytes {
            let limit = self.budget.max_tree_bytes;
            return Err(self.refuse(Refusal::TooCostly { limit }));
        }
        Ok(())
    }

    /// The path in the form serde_path_to_error prints (`a.b[3].c`).
    fn path(&self) -> String {
        if self.path.is_empty() {
            return ".".into();
        }
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Index(index) => out.push_str(&format!("[{index}]")),
                Step::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&shorten(key));
                }
            }
        }
        out
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((end, _)) => format!("{}...", text.get(..end).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// One value of the document, walked without being built.
struct Node<'s, 'b, 'de> {
    scan: &'s mut Scan<'b, 'de>,
    top: bool,
}

impl Node<'_, '_, '_> {
    fn scalar<E: de::Error>(self, found: &'static str, string_bytes: usize) -> Result<(), E> {
        if self.top {
            return Err(self.scan.refuse(Refusal::NotAnObject(found)));
        }
        self.scan
            .spend(string_bytes.saturating_mul(TREE_COST.string_byte))
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar("a boolean", 0)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar("a number", 0)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar("a number", 0)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar("a number", 0)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar("null", 0)
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.scalar("a string", value.len())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.top {
            return Err(self.scan.refuse(Refusal::NotAnObject("an array")));
        }
        let limit = self.scan.budget.max_array_items;
        let mut items = 0usize;
        loop {
            self.scan.path.push(Step::Index(items));
            let item = seq.next_element_seed(Node {
                scan: &mut *self.scan,
                top: false,
            });
            self.scan.path.pop();
            if item?.is_none() {
                return Ok(());
            }
            items += 1;
            if items > limit {
                let path = self.scan.path();
                return Err(self.scan.refuse(Refusal::TooManyItems { path, limit }));
            }
            if items == 1 {
                self.scan.spend(TREE_COST.array)?;
            }
            self.scan.spend(TREE_COST.array_item)?;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let cost = TREE_COST
                .object_entry
                .saturating_add(key.len().saturating_mul(TREE_COST.string_byte));
            if keys.is_empty() {
                self.scan.spend(TREE_COST.object)?;
            }
            if keys.contains(&key) {
                let refusal = Refusal::DuplicateKey {
                    key: shorten(&key),
                    path: self.scan.path(),
                };
                return Err(self.scan.refuse(refusal));
            }
            self.scan.spend(cost)?;
            keys.insert(key.clone());
            self.scan.path.push(Step::Key(key));
            let value = map.next_value_seed(Node {
                scan: &mut *self.scan,
                top: false,
            });
            self.scan.path.pop();
            value?;
        }
        Ok(())
    }
}

/// An object's key, borrowed from the input when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }
    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

#[cfg(test)]
mod tests;
