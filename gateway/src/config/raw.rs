//! The configuration file as written: every key known, nothing else
//! accepted (`deny_unknown_fields`), positions kept for error messages.

use serde::Deserialize;
use toml::Spanned;

/// `cragate serve --config FILE`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to listen on, `IP:PORT`.
    pub listen: Option<Spanned<String>>,
    /// Folder for the gateway's state (temporary files, the accepted index,
    /// and the file catalog by default).
    pub data_dir: Option<Spanned<String>>,
    /// `postgresql://...`: a ledger shared by several nodes; the data
    /// directory's redb file when absent.
    pub ledger: Option<Spanned<String>>,
    /// The checkpoint signing key (PKCS#8) the nodes of a shared ledger
    /// share; `DATA_DIR/ledger-key.p8` when absent.
    pub ledger_key: Option<Spanned<String>>,
    /// Policy file; the shipped app-store policy when absent.
    pub policy: Option<Spanned<String>>,
    /// `dir:PATH` or `http(s)://HOST:PORT`.
    pub upstream: Option<Spanned<String>>,
    /// File with the address actually bound, written once listening.
    pub address_file: Option<Spanned<String>>,
    /// Threads serving connections, each with its own event loop.
    pub workers: Option<Spanned<u64>>,
    /// TLS on the listener.
    pub tls: Option<RawTls>,
    /// Authentication of the admin routes besides client certificates.
    pub admin: Option<RawAdmin>,
    /// Budgets.
    #[serde(default)]
    pub limits: RawLimits,
    /// Route rules for an HTTP upstream.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// Whom we supply, told of halt notices.
    #[serde(default)]
    pub customers: Vec<super::partners::RawCustomer>,
    /// Who supplies us, and may tell us of halt notices.
    #[serde(default)]
    pub suppliers: Vec<super::partners::RawSupplier>,
    /// The OCI registry fronted under `/v2/`.
    pub oci: Option<RawOci>,
}

/// `[oci]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOci {
    /// `http(s)://HOST:PORT` of the registry.
    pub upstream: Spanned<String>,
    /// File with `basic USER:PASSWORD` or `bearer TOKEN`.
    pub credentials_file: Option<Spanned<String>>,
    /// PEM CA certificates trusted for the registry and its token service.
    pub ca_file: Option<Spanned<String>>,
}

/// `[tls]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain, leaf first.
    pub certificate: Spanned<String>,
    /// PEM private key.
    pub private_key: Spanned<String>,
    /// PEM CA certificates: when set, the admin routes require a client
    /// certificate issued by one of them.
    pub admin_client_ca: Option<Spanned<String>>,
}

/// `[admin]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// File holding the bearer token that opens the admin routes (one line,
    /// at least 32 bytes), so that the token is not in the configuration.
    pub bearer_token_file: Option<Spanned<String>>,
}

/// `[limits]`: every key optional, defaults in `server::limits`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_header_bytes: Option<Spanned<u64>>,
    pub max_listing_bytes: Option<Spanned<u64>>,
    pub max_listing_bytes_in_flight: Option<Spanned<u64>>,
    pub max_artifact_bytes: Option<Spanned<u64>>,
    pub max_spool_bytes: Option<Spanned<u64>>,
    pub send_timeout_ms: Option<Spanned<u64>>,
    pub min_body_bytes_per_second: Option<Spanned<u64>>,
    pub max_connections: Option<Spanned<u64>>,
    pub max_streams_per_connection: Option<Spanned<u64>>,
    pub header_timeout_ms: Option<Spanned<u64>>,
    pub body_idle_timeout_ms: Option<Spanned<u64>>,
    pub request_timeout_ms: Option<Spanned<u64>>,
    pub upstream_timeout_ms: Option<Spanned<u64>>,
    pub shutdown_grace_ms: Option<Spanned<u64>>,
    pub verdict_cache_entries: Option<Spanned<u64>>,
}

/// `[[routes]]`: what one upstream path is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// HTTP method, e.g. `PUT`.
    pub method: Spanned<String>,
    /// Path pattern: literal segments, `{id}` or `{digest}` inside a
    /// segment, `*` as the last segment for any rest.
    pub path: Spanned<String>,
    /// `listing-submission`, `artifact-upload`, `listing-read`,
    /// `catalog-read` or `download`.
    pub kind: Spanned<String>,
    /// Where the listing sits in a JSON body (RFC 6901); the whole body
    /// when absent. For a catalog read, where it sits in each entry.
    pub listing_pointer: Option<Spanned<String>>,
    /// Catalog reads only: where the page's array of entries sits (RFC
    /// 6901). Each entry is judged; only accepted ones are passed on.
    pub listings_pointer: Option<Spanned<String>>,
}
