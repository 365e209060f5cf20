//! Budgets on everything a client or an upstream can make the gateway do.
//! Each default is a named constant saying where the number comes from; the
//! README lists them and `[limits]` in the configuration changes them.

use std::time::Duration;

/// hyper's smallest read buffer; the header budget cannot go below it.
pub const MIN_HEADER_BUFFER: usize = 8192;

/// Largest request head (request line and headers), in bytes. Common
/// servers allow 8 to 16 KiB of headers (nginx: 4 buffers of 8 KiB); no
/// catalog API needs more than a few cookies and an authorization header.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Largest listing body, in bytes: the verifier's own budget for a listing
/// (`cragate_verifier::limits::MAX_LISTING_BYTES`), so a body the gateway
/// accepts is never refused by the parser for its size.
pub const MAX_LISTING_BYTES: u64 = cragate_verifier::limits::MAX_LISTING_BYTES as u64;

/// Most listing bytes held in memory at once across all connections: a
/// submission's body from its declared length on, a listing or catalog page
/// read from the upstream, each until it has been judged and answered.
/// Beyond it a request is answered `503` with `Retry-After`. Four listings
/// at the 16 MiB listing limit, or thousands of ordinary ones (a few KiB
/// each); parsing a listing holds a multiple of its bytes, so this budget,
/// not the connection count, bounds the memory listings take.
pub const MAX_LISTING_BYTES_IN_FLIGHT: u64 = 4 * MAX_LISTING_BYTES;

/// Largest artifact body, in bytes. Firmware images and desktop app
/// installers stay under a few GiB; 8 GiB bounds the disk one upload can fill.
/// The listing's declared size is enforced too, and is usually far smaller.
pub const MAX_ARTIFACT_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// Largest object of an HTTP upstream spooled to a temporary file to serve
/// a byte range of it (a range is served only from a whole, verified copy);
/// beyond it a range request gets the whole object. Twice the artifact
/// limit: every artifact the gateway accepts can be resumed.
pub const MAX_SPOOL_BYTES: u64 = 16 * 1024 * 1024 * 1024;

/// Longest time a response write may wait for the client to take bytes
/// (slow-reader protection; nginx's `send_timeout` default is 60 s). A
/// client that reads nothing for this long loses its connection.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Slowest pace of a streamed body, in bytes per second, after the first
/// [`SEND_TIMEOUT`]: an upload, a download's writes to the client while it
/// lags behind, and so a total deadline for a streamed body of
/// `send_timeout` plus its size over this rate. 8 KiB/s (64 kbit/s) is
/// slower than any link an artifact can usefully cross, and bounds the time
/// a 64 MiB body may hold a connection to about 2 h 15 min.
pub const MIN_BODY_BYTES_PER_SECOND: u64 = 8192;

/// Most connections served at once; further clients wait in the listen
/// backlog. 1024 is the default open-files limit of a Debian process, less
/// headroom for the files and upstream connections each request opens.
pub const MAX_CONNECTIONS: usize = 768;

/// Requests one HTTP/2 connection may have in flight at once. Each request
/// can buffer a listing, so this multiplies the memory one connection can
/// hold; browsers open at most a few dozen streams at a time, and nginx's
/// `http2_max_concurrent_streams` default is 128.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 32;

/// Time a client has to send its request head, and longest time a
/// connection may sit idle with no request in flight (slow-loris
/// protection);
/// nginx's `client_header_timeout` default is 60 s, 10 s suffices on any link
/// that can upload an artifact at all.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest pause between two pieces of a request body (slow-body
/// protection); nginx's `client_body_timeout` default is 60 s.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest time for a whole request whose body is buffered (listings,
/// reads): the body limit divided by a slow 1 Mbit/s link is about 2 min.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest wait for an upstream's response head, and between two pieces of
/// its body; after it the client gets 504.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// Time in-flight requests get to finish after SIGTERM; Kubernetes'
/// default termination grace period is 30 s, this stays below it.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// Verdicts kept in memory. One entry is a few KiB (every check with its
/// sentence); 10,000 entries is tens of MiB at most and covers a large
/// catalog's hot set.
pub const VERDICT_CACHE_ENTRIES: usize = 10_000;

/// The budgets in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// See [`MAX_LISTING_BYTES`].
    pub max_listing_bytes: u64,
    /// See [`MAX_LISTING_BYTES_IN_FLIGHT`].
    pub max_listing_bytes_in_flight: u64,
    /// See [`MAX_ARTIFACT_BYTES`].
    pub max_artifact_bytes: u64,
    /// See [`MAX_SPOOL_BYTES`].
    pub max_spool_bytes: u64,
    /// See [`SEND_TIMEOUT`].
    pub send_timeout: Duration,
    /// See [`MIN_BODY_BYTES_PER_SECOND`]; at least 1.
    pub min_body_bytes_per_second: u64,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`MAX_STREAMS_PER_CONNECTION`].
    pub max_streams_per_connection: u32,
    /// See [`HEADER_TIMEOUT`].
    pub header_timeout: Duration,
    /// See [`BODY_IDLE_TIMEOUT`].
    pub body_idle_timeout: Duration,
    /// See [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// See [`UPSTREAM_TIMEOUT`].
    pub upstream_timeout: Duration,
    /// See [`SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
    /// See [`VERDICT_CACHE_ENTRIES`].
    pub verdict_cache_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_header_bytes: MAX_HEADER_BYTES,
            max_listing_bytes: MAX_LISTING_BYTES,
            max_listing_bytes_in_flight: MAX_LISTING_BYTES_IN_FLIGHT,
            max_artifact_bytes: MAX_ARTIFACT_BYTES,
            max_spool_bytes: MAX_SPOOL_BYTES,
            send_timeout: SEND_TIMEOUT,
            min_body_bytes_per_second: MIN_BODY_BYTES_PER_SECOND,
            max_connections: MAX_CONNECTIONS,
            max_streams_per_connection: MAX_STREAMS_PER_CONNECTION,
            header_timeout: HEADER_TIMEOUT,
            body_idle_timeout: BODY_IDLE_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            upstream_timeout: UPSTREAM_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
            verdict_cache_entries: VERDICT_CACHE_ENTRIES,
        }
    }
}
