//! The ledger file's tables and schema version, checked on open.
//!
//! Every table of the redb file is defined here, nowhere else. Changing a
//! key or value type, or what a table means, bumps [`SCHEMA_VERSION`]; a
//! file written by a later version is refused rather than misread.

use redb::{MultimapTableDefinition, TableDefinition};

/// Version of this layout, stored under [`META_SCHEMA_VERSION`]. Version 2
/// added [`META_INDEXED_SIZE`]; a version 1 file is upgraded on open (all
/// of its entries were indexed in their own commits).
pub const SCHEMA_VERSION: u32 = 2;

/// Small named values: the schema version, the origin, the tree size.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Key in [`META`]: [`SCHEMA_VERSION`] as 4 little-endian bytes.
pub const META_SCHEMA_VERSION: &str = "schema_version";
/// Key in [`META`]: the checkpoint origin (the signing key's name), UTF-8.
pub const META_ORIGIN: &str = "origin";
/// Key in [`META`]: the number of leaves, 8 little-endian bytes.
pub const META_TREE_SIZE: &str = "tree_size";
/// Key in [`META`]: the number of leaves whose rows in the lookup tables
/// ([`BY_PRODUCT`], [`BY_DIGEST`], [`BY_OPERATOR`], [`BY_TIME`],
/// [`SUPPORT_END`]) are written, 8 little-endian bytes. Lookup rows are
/// derived from the entries and written in bulk, at most
/// [`super::redb_store::INDEX_BATCH`] entries or
/// [`super::redb_store::INDEX_INTERVAL`] after them; entries past this
/// size are indexed again from their records on open.
pub const META_INDEXED_SIZE: &str = "indexed_size";

/// Leaf index → the entry's record bytes (the leaf data).
pub const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
/// `(level, index)` → hash of that complete subtree; level 0 holds the leaf hashes.
pub const NODES: TableDefinition<(u8, u64), [u8; 32]> = TableDefinition::new("nodes");
/// Tree size → the signed checkpoint note for that size.
pub const CHECKPOINTS: TableDefinition<u64, &str> = TableDefinition::new("checkpoints");
/// Content digest → document bytes, stored once however many entries name it.
pub const DOCUMENTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("documents");
/// Leaf index → the day (`YYYY-MM-DD`) its retention ended, for entries
/// whose body was pruned after retention; the leaf hash stays.
pub const PRUNED: TableDefinition<u64, &str> = TableDefinition::new("pruned");

/// Product id → leaf indexes of entries about it.
pub const BY_PRODUCT: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("by_product");
/// Digest → leaf indexes of entries naming it.
pub const BY_DIGEST: MultimapTableDefinition<[u8; 32], u64> =
    MultimapTableDefinition::new("by_digest");
/// Operator id → leaf indexes of entries naming it.
pub const BY_OPERATOR: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("by_operator");
/// `(entry time in microseconds since the epoch, leaf index)` → nothing.
pub const BY_TIME: TableDefinition<(i64, u64), ()> = TableDefinition::new("by_time");
/// Product id → latest support-period end stated for it (`YYYY-MM-DD`).
pub const SUPPORT_END: TableDefinition<&str, &str> = TableDefinition::new("support_end");
