//! The ledger API under `/v1/admin/ledger/`: the queries and exports of
//! `cragate ledger`, answered by the running gateway, for administrators
//! only ([`super::ops::authorize`]).
//!
//! The process holds the ledger file open, so these reads go through the
//! gateway's own handle ([`Gateway::ledger`]) while decisions keep being
//! appended through the group-commit writer; every read runs on a blocking
//! thread. Bad parameters are `400`; a product the ledger does not know is
//! an empty answer, not `404`.

use std::fmt::Display;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;
use std::sync::Arc;

use crate::ledger::entry::{Entry, EntryBody, Submission};
use crate::ledger::export::{self, Selection};
use crate::ledger::{LedgerError, LedgerStore, OperatorId, ProductId, Query, supply_chain};
use bytes::Bytes;
use cragate_verifier::Digest;
use futures_util::{StreamExt, stream};
use http::{HeaderValue, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::mpsc;

use super::LedgerRead;
use crate::http::body::{Body, BodyError, BodyLimits, full, read_limited};
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};
use crate::http::path::decode;
use crate::pipeline::Gateway;

/// Most entries one `entries` answer holds, and how many it holds when no
/// `limit` is given. A record is well under a kilobyte, so an answer stays
/// under about 10 MB; `truncated` says when more matched (narrow the query
/// with `since` and `until`).
pub const MAX_ENTRIES: usize = 10_000;

/// Size of the pieces an export is streamed in: large enough that the cost
/// per piece vanishes, small enough to keep a slow client's memory low.
const EXPORT_CHUNK: usize = 256 * 1024;

/// Pieces of an export buffered between the ledger reader and the client.
const EXPORT_PIECES_IN_FLIGHT: usize = 4;

/// Serves one ledger read, once the request is an administrator's.
pub async fn serve(
    gateway: &Arc<Gateway>,
    uri: &Uri,
    read: LedgerRead,
) -> Result<Response<Body>, GatewayError> {
    let query = uri.query().unwrap_or("");
    let store = Arc::clone(&gateway.ledger);
    match read {
        LedgerRead::Entries => entries(store, entries_query(query)?).await,
        LedgerRead::Export => export(store, selection(query)?).await,
        LedgerRead::SupplyChain(id) => {
            no_parameters(query)?;
            let product = decode(&id)
                .ok_or_else(|| bad("the product id is not percent-encoded UTF-8"))?
                .parse::<ProductId>()
                .map_err(|e| bad(format!("product id: {e}")))?;
            chain(store, product).await
        }
        LedgerRead::Checkpoint => {
            no_parameters(query)?;
            let signed = blocking(move || store.checkpoint()).await?;
            Ok(response("text/plain; charset=utf-8", signed.note))
        }
        LedgerRead::Key => {
            no_parameters(query)?;
            let key = format!("{}\n", store.verifier_key());
            Ok(response("text/plain; charset=utf-8", key))
        }
    }
}

/// Largest supply-link body accepted (a record is well under 1 KiB).
const MAX_SUPPLY_LINK_BYTES: u64 = 64 * 1024;

/// `POST /v1/admin/ledger/supply-links`: records a supply (Art. 23), for
/// example an outbound shipment to a customer taken from the operator's
/// order system, so that `supply-chain` names everyone a recall must reach.
/// The body is a `supply_link` entry body (`direction`, `product`,
/// `release`, `quantity`, `counterparty` {`id`, `name`, `postal_address`},
/// `supplied_on`, `support_end`); it is appended durably before the `201`,
/// whose body is the stored record with its index.
pub async fn record_supply(
    gateway: &Arc<Gateway>,
    request: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    crate::pipeline::limits(&parts, MAX_SUPPLY_LINK_BYTES)?;
    let limits = BodyLimits {
        limit: MAX_SUPPLY_LINK_BYTES,
        idle: gateway.config.limits.body_idle_timeout,
        from: ErrorSource::Client,
    };
    let body = read_limited(body, limits, None).await?;
    let mut value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    if let Some(map) = value.as_object_mut() {
        map.insert("kind".into(), serde_json::Value::from("supply_link"));
    }
    let body: EntryBody =
        serde_json::from_value(value).map_err(|e| bad(format!("not a supply link: {e}")))?;
    let entry = Entry {
        time: Timestamp::now(),
        body,
    };
    let submission = Submission::new(entry).map_err(|e| bad(e.to_string()))?;
    let receipt = gateway
        .appender
        .append(submission)
        .await
        .map_err(|e| GatewayError::gateway(ErrorKind::Ledger(Box::new(e))))?;
    let mut response = json_response(&json!({"index": receipt.index}))?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// `entries`: the records `cragate ledger query` prints, as one JSON
/// document.
async fn entries(
    store: Arc<dyn LedgerStore>,
    mut query: Query,
) -> Result<Response<Body>, GatewayError> {
    let limit = query.limit.unwrap_or(MAX_ENTRIES);
    query.limit = Some(limit.saturating_add(1));
    let mut found = blocking(move || store.query(&query)).await?;
    let truncated = found.len() > limit;
    found.truncate(limit);
    let records: Vec<_> = found.iter().map(|stored| &stored.record).collect();
    let body = json!({
        "format": "cragate.ledger-entries/v1",
        "entries": records,
        "truncated": truncated,
    });
    json_response(&body)
}

/// `supply-chain/{id}`: the product's suppliers (`upstream`) and customers
/// (`downstream`), as `cragate ledger supply-chain --json` prints them.
async fn chain(
    store: Arc<dyn LedgerStore>,
    product: ProductId,
) -> Result<Response<Body>, GatewayError> {
    let asked = product.clone();
    let chain = blocking(move || supply_chain(&*store, &asked)).await?;
    let body = json!({
        "product": product,
        "upstream": chain.upstream.iter().map(|s| &s.record).collect::<Vec<_>>(),
        "downstream": chain.downstream.iter().map(|s| &s.record).collect::<Vec<_>>(),
    });
    json_response(&body)
}

/// `export`: the bytes `cragate ledger export` writes, streamed as the
/// ledger is read. An error before the first piece is an error response; a
/// later one cuts the connection, so a client never holds a complete export
/// that is not one.
async fn export(
    store: Arc<dyn LedgerStore>,
    selection: Selection,
) -> Result<Response<Body>, GatewayError> {
    let (sender, mut receiver) = mpsc::channel(EXPORT_PIECES_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut out = BufWriter::with_capacity(EXPORT_CHUNK, ChannelWriter(sender.clone()));
        let written = export::export(&*store, store.verifier_key(), &selection, &mut out)
            .map_err(|e| e.to_string())
            .and_then(|_| out.flush().map_err(|e| e.to_string()));
        if let Err(error) = written {
            // The client may be gone already; then nobody is left to tell.
            let _ = sender.blocking_send(Err(BodyError::from(error)));
        }
    });
    let first = match receiver.recv().await {
        Some(Ok(first)) => first,
        Some(Err(error)) => return Err(read_failed(error.to_string())),
        None => return Err(read_failed("the export ended early".into())),
    };
    let rest = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (piece, receiver))
    });
    let pieces = stream::once(async { Ok(first) })
        .chain(rest)
        .map(|piece| piece.map(Frame::data));
    let mut response = Response::new(StreamBody::new(pieces).boxed_unsync());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    Ok(response)
}

/// Hands what an export writes to the response body, piece by piece;
/// waits while the client is slower than the ledger.
struct ChannelWriter(mpsc::Sender<Result<Bytes, BodyError>>);

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(bytes)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `product`, `digest`, `operator`, `since`, `until`, `limit` (1 to
/// [`MAX_ENTRIES`]), as the options of `cragate ledger query`.
fn entries_query(query: &str) -> Result<Query, GatewayError> {
    let parameters = Parameters::parse(
        query,
        &["product", "digest", "operator", "since", "until", "limit"],
    )?;
    let limit = parameters.value::<usize>("limit")?;
    if limit.is_some_and(|n| !(1..=MAX_ENTRIES).contains(&n)) {
        return Err(bad(format!("limit must be 1 to {MAX_ENTRIES}")));
    }
    Ok(Query {
        product: parameters.value::<ProductId>("product")?,
        digest: parameters.value::<Digest>("digest")?,
        operator: parameters.value::<OperatorId>("operator")?,
        since: parameters.value::<Timestamp>("since")?,
        until: parameters.value::<Timestamp>("until")?,
        limit,
    })
}

/// `product`, `since`, `until`, at least one of them, as the options of
/// `cragate ledger export`.
fn selection(query: &str) -> Result<Selection, GatewayError> {
    let parameters = Parameters::parse(query, &["product", "since", "until"])?;
    let selection = Selection {
        product: parameters.value::<ProductId>("product")?,
        since: parameters.value::<Timestamp>("since")?,
        until: parameters.value::<Timestamp>("until")?,
    };
    if selection == Selection::default() {
        return Err(bad("an export needs product, since or until"));
    }
    Ok(selection)
}

fn no_parameters(query: &str) -> Result<(), GatewayError> {
    Parameters::parse(query, &[]).map(|_| ())
}

/// The decoded parameters of a query string (RFC 3986 §3.4): `name=value`
/// pairs joined by `&`, percent-encoded. A `+` is a plus sign, as in a
/// time zone offset, not a space. Unknown and repeated names are refused.
#[derive(Debug)]
struct Parameters(Vec<(&'static str, String)>);

impl Parameters {
    fn parse(query: &str, known: &[&'static str]) -> Result<Self, GatewayError> {
        let mut found: Vec<(&'static str, String)> = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(&name) = known.iter().find(|&&known| known == name) else {
                return Err(bad(format!("unknown query parameter {name:?}")));
            };
            if found.iter().any(|(seen, _)| *seen == name) {
                return Err(bad(format!("query parameter {name} is given twice")));
            }
            let value =
                decode(value).ok_or_else(|| bad(format!("{name} is not percent-encoded UTF-8")))?;
            found.push((name, value));
        }
        Ok(Self(found))
    }

    /// The parameter parsed, `None` when absent.
    fn value<T>(&self, name: &str) -> Result<Option<T>, GatewayError>
    where
        T: FromStr,
        T::Err: Display,
    {
        let Some((_, text)) = self.0.iter().find(|(n, _)| *n == name) else {
            return Ok(None);
        };
        text.parse()
            .map(Some)
            .map_err(|e| bad(format!("{name}={text:?}: {e}")))
    }
}

/// Runs a ledger read on a blocking thread.
async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, LedgerError> + Send + 'static,
) -> Result<T, GatewayError> {
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| internal(format!("ledger read task failed: {e}")))?
        .map_err(|e| read_failed(e.to_string()))
}

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::client(ErrorKind::BadRequest(message.into()))
}

fn read_failed(message: String) -> GatewayError {
    GatewayError::gateway(ErrorKind::LedgerRead(message))
}

fn internal(message: String) -> GatewayError {
    GatewayError::gateway(ErrorKind::Internal(message))
}

fn json_response(body: &serde_json::Value) -> Result<Response<Body>, GatewayError> {
    let bytes = serde_json::to_vec_pretty(body).map_err(|e| internal(e.to_string()))?;
    Ok(response("application/json", bytes))
}

fn response(content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_queries_are_the_options_of_ledger_query() {
        let query = entries_query(
            "product=cam&digest=sha256:0000000000000000000000000000000000000000000000000000000000000000&since=2027-01-01T00:00:00%2B01:00&until=2027-02-01T00:00:00Z&limit=5",
        )
        .unwrap();
        assert_eq!(query.product.unwrap().as_str(), "cam");
        assert!(query.digest.is_some());
        assert_eq!(
            query.since.unwrap().to_string(),
            "2026-12-31T23:00:00Z",
            "%2B is the offset's plus sign"
        );
        assert_eq!(query.limit, Some(5));
        assert_eq!(
            entries_query("since=2027-01-01T00:00:00+01:00")
                .unwrap()
                .since
                .unwrap()
                .to_string(),
            "2026-12-31T23:00:00Z",
            "a bare + is a plus sign too"
        );
        assert_eq!(entries_query("").unwrap(), Query::default());
        for bad in [
            "limit=0",
            "limit=10001",
            "limit=x",
            "since=yesterday",
            "digest=md5:00",
            "product=",
            "product=a&product=b",
            "products=a",
            "product=%zz",
            "product=%ff",
        ] {
            assert!(
                matches!(entries_query(bad).map_err(|e| e.code()), Err("bad-request")),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_export_needs_a_selection() {
        assert_eq!(selection("").unwrap_err().code(), "bad-request");
        assert_eq!(selection("limit=3").unwrap_err().code(), "bad-request");
        let picked = selection("product=vaultkey%2Ddesktop").unwrap();
        assert_eq!(picked.product.unwrap().as_str(), "vaultkey-desktop");
        assert_eq!(
            selection("product=vaultkey%20desktop").unwrap_err().code(),
            "bad-request"
        );
    }
}
