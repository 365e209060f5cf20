//! The PostgreSQL ledger's tables and schema version, created and upgraded
//! by embedded migrations on connect.
//!
//! Every table is defined here, nowhere else; they mirror the redb file's
//! tables ([`super::schema`]) so that both stores hold the same records, the
//! same tree nodes and the same checkpoints. A migration is appended, never
//! edited; a database whose version is above [`SCHEMA_VERSION`] was written
//! by a later cragate and is refused rather than misread.

/// The schema version this build writes and reads: the number of
/// [`MIGRATIONS`].
pub const SCHEMA_VERSION: i32 = 4;

/// Key of the advisory lock that serialises migrations across nodes that
/// start at once ("cragate" in ASCII, as a number).
pub const MIGRATION_LOCK: i64 = 0x0063_7261_6761_7465;

/// Migration `n` (1-based) brings a database from version `n - 1` to `n`.
pub const MIGRATIONS: [&str; 4] = [
    r"
CREATE TABLE cragate_schema (
    version integer NOT NULL
);
-- One row: the checkpoint origin (the signing key's name) and the number
-- of leaves. Appenders lock this row, which gives every entry of every
-- node one place in one total order.
CREATE TABLE cragate_tree (
    id smallint PRIMARY KEY CHECK (id = 1),
    origin text NOT NULL,
    size bigint NOT NULL CHECK (size >= 0)
);
-- Leaf index -> the entry's record bytes (the leaf data).
CREATE TABLE cragate_entries (
    idx bigint PRIMARY KEY,
    bytes bytea NOT NULL,
    time_us bigint NOT NULL
);
CREATE INDEX cragate_entries_time ON cragate_entries (time_us, idx);
-- (level, index) -> hash of that complete subtree; level 0 holds the leaf hashes.
CREATE TABLE cragate_nodes (
    level smallint NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
-- Tree size -> the signed checkpoint note for that size.
CREATE TABLE cragate_checkpoints (
    size bigint PRIMARY KEY,
    note text NOT NULL
);
-- Content digest -> document bytes, stored once however many entries name it.
CREATE TABLE cragate_documents (
    digest bytea PRIMARY KEY,
    content bytea NOT NULL
);
-- Leaf index -> the day its retention ended, for pruned entries.
CREATE TABLE cragate_pruned (
    idx bigint PRIMARY KEY,
    until text NOT NULL
);
CREATE TABLE cragate_by_product (
    product text NOT NULL,
    idx bigint NOT NULL,
    PRIMARY KEY (product, idx)
);
CREATE TABLE cragate_by_digest (
    digest bytea NOT NULL,
    idx bigint NOT NULL,
    PRIMARY KEY (digest, idx)
);
CREATE TABLE cragate_by_operator (
    operator text NOT NULL,
    idx bigint NOT NULL,
    PRIMARY KEY (operator, idx)
);
-- Product id -> latest support-period end stated for it (YYYY-MM-DD).
CREATE TABLE cragate_support_end (
    product text PRIMARY KEY,
    end_date text NOT NULL
);
",
    r"
-- 2: the recall outbox of every node, shared (recall::pg_outbox), as the
-- redb outbox keeps it in recall.redb for one node.
-- One row: the next delivery number. Enqueuers lock it, so deliveries are
-- numbered in commit order and a feed reader never skips one that
-- commits late.
CREATE TABLE cragate_outbox_meta (
    id smallint PRIMARY KEY CHECK (id = 1),
    next_seq bigint NOT NULL CHECK (next_seq >= 1)
);
INSERT INTO cragate_outbox_meta (id, next_seq) VALUES (1, 1);
-- Delivery number -> the delivery (JSON, as in recall.redb), with the
-- columns its lookups need. due_us is set for pending deliveries with a
-- webhook only.
CREATE TABLE cragate_outbox (
    seq bigint PRIMARY KEY,
    notification text NOT NULL,
    customer text NOT NULL,
    due_us bigint,
    delivery bytea NOT NULL,
    UNIQUE (notification, customer)
);
CREATE INDEX cragate_outbox_due ON cragate_outbox (due_us, seq) WHERE due_us IS NOT NULL;
CREATE INDEX cragate_outbox_customer ON cragate_outbox (customer, seq);
-- Customer -> the endpoint a 410 disabled (JSON).
CREATE TABLE cragate_disabled_endpoints (
    customer text PRIMARY KEY,
    endpoint bytea NOT NULL
);
-- (supplier, webhook-id) received, against replay, with when.
CREATE TABLE cragate_webhooks_received (
    supplier text NOT NULL,
    webhook_id text NOT NULL,
    received_us bigint NOT NULL,
    PRIMARY KEY (supplier, webhook_id)
);
-- Supplier -> the last delivery number of its feed taken.
CREATE TABLE cragate_feed_cursors (
    supplier text PRIMARY KEY,
    seq bigint NOT NULL
);
",
    r"
-- 3: halt notices in force, shared by every node (recall::pg_halts), as
-- halts.redb keeps them for one node.
-- (issuer, sequence) -> the stored notice (JSON, as in halts.redb).
CREATE TABLE cragate_halts (
    issuer text NOT NULL,
    sequence bigint NOT NULL,
    halt bytea NOT NULL,
    PRIMARY KEY (issuer, sequence)
);
-- Issuer -> its last accepted sequence.
CREATE TABLE cragate_halt_sequences (
    issuer text PRIMARY KEY,
    last bigint NOT NULL
);
-- One row: a counter every change of halt state moves, which nodes poll
-- (and are notified of on channel cragate_halts).
CREATE TABLE cragate_halt_version (
    id smallint PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO cragate_halt_version (id, version) VALUES (1, 0);
",
    r"
-- 4: the accepted listings of an HTTP upstream, shared by every node
-- (pipeline::pg_accepted), as DATA_DIR/accepted-artifacts keeps them for
-- one node.
-- One row: the sequence of the last listing stored. Appenders lock it, so
-- listings are numbered in commit order and a node reading those after
-- the last it applied never skips one that commits late; nodes poll it
-- (and are notified on channel cragate_accepted).
CREATE TABLE cragate_accepted_meta (
    id smallint PRIMARY KEY CHECK (id = 1),
    last_seq bigint NOT NULL CHECK (last_seq >= 0)
);
INSERT INTO cragate_accepted_meta (id, last_seq) VALUES (1, 0);
-- Sequence -> an accepted listing: its product and its text exactly as
-- accepted.
CREATE TABLE cragate_accepted (
    seq bigint PRIMARY KEY,
    product text NOT NULL,
    listing text NOT NULL
);
CREATE INDEX cragate_accepted_product ON cragate_accepted (product, seq);
",
];
