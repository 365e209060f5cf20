//! Listing submissions, listing reads and catalog pages.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cragate_verifier::evidence::ProductId;
use cragate_verifier::json::check_limits;
use cragate_verifier::limits::MAX_JSON_DEPTH;
use cragate_verifier::verdict::Verdict;
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::{Captures, RouteRule};
use crate::http::body::{Body, empty, full, read_limited};
use crate::http::error::GatewayError;
use crate::pipeline::Gateway;
use crate::pipeline::record::DecisionRecord;
use crate::pipeline::{
    Recording, cached_verdict, decide, decision_headers, evaluate, evidence, limits,
};
use crate::upstream::file::MAX_PAGE;
use crate::upstream::{HttpUpstream, Upstream, relay};

/// Catalog page size when the client does not ask for one.
const DEFAULT_PAGE: usize = 50;

/// `POST /v1/listings` (or a `listing-submission` rule): verified and
/// evaluated; stored or forwarded only when accepted.
pub async fn submit(
    gateway: &Arc<Gateway>,
    rule: &RouteRule,
    captures: Captures,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    let limit = gateway.config.limits.max_listing_bytes;
    limits(&parts, limit)?;
    let body = read_limited(body, limit, gateway.config.limits.body_idle_timeout).await?;
    let listing_bytes = evidence(&body, &rule.listing_pointer, limit)?;
    let (listing, verdict) = evaluate(gateway, listing_bytes.clone()).await?;
    if let Some(id) = &captures.id
        && id.as_str() != listing.product_id().as_str()
    {
        return Err(GatewayError::BadRequest(format!(
            "the path names {id:?} but the listing is {:?}",
            listing.product_id()
        )));
    }
    let record = DecisionRecord {
        verdict: &verdict,
        listing: Some(&listing),
        listing_bytes: &listing_bytes,
        peer,
        submission: true,
    };
    decide(gateway, &verdict, Recording::New(record)).await?;
    let mut response = match &gateway.upstream {
        Upstream::File(catalog) => {
            let id = listing.product_id();
            catalog.store_listing(id, listing_bytes).await?;
            gateway.accepted.add(listing.artifacts()).await?;
            let body = serde_json::to_vec_pretty(&*verdict)
                .map_err(|e| GatewayError::Internal(e.to_string()))?;
            let mut response = json_response(StatusCode::CREATED, body);
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/listings/{id}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Upstream::Http(upstream) => {
            let answer = upstream.forward(&parts, full(body), &[], &[]).await?;
            if answer.status().is_server_error() {
                return Err(GatewayError::UpstreamUnavailable(format!(
                    "the upstream answered {}",
                    answer.status()
                )));
            }
            if answer.status().is_success() {
                gateway.accepted.add(listing.artifacts()).await?;
            }
            relay(answer)
        }
    };
    decision_headers(&mut response, &verdict);
    Ok(response)
}

/// `GET /v1/listings/{id}` (or a `listing-read` rule): served only when the
/// policy accepts the listing now (verdict cache first).
pub async fn read(
    gateway: &Arc<Gateway>,
    rule: &RouteRule,
    captures: Captures,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let limit = gateway.config.limits.max_listing_bytes;
    let (bytes, content_type) = match &gateway.upstream {
        Upstream::File(catalog) => {
            let id = captures
                .id
                .and_then(|id| id.parse::<ProductId>().ok())
                .ok_or(GatewayError::NotFound)?;
            let bytes = catalog
                .listing(&id, limit)
                .await?
                .ok_or(GatewayError::NotFound)?;
            (bytes, HeaderValue::from_static("application/json"))
        }
        Upstream::Http(upstream) => {
            let (parts, _) = request.into_parts();
            fetch_whole(gateway, upstream, &parts, "a listing").await?
        }
    };
    let listing = evidence(&bytes, &rule.listing_pointer, limit).map_err(as_upstream)?;
    let verdict = judge_stored(gateway, listing, peer)
        .await
        .map_err(as_upstream)?;
    let mut response = Response::new(full(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    decision_headers(&mut response, &verdict);
    Ok(response)
}

/// Verifier, policy and decision phases for a listing read from the
/// upstream: its verdict through the verdict cache, recorded on the ledger
/// when computed now. A denial is [`GatewayError::Rejected`], a listing that
/// cannot be used [`GatewayError::MalformedListing`].
async fn judge_stored(
    gateway: &Gateway,
    listing: Bytes,
    peer: Option<SocketAddr>,
) -> Result<Arc<Verdict>, GatewayError> {
    let (verdict, computed) = cached_verdict(gateway, listing.clone()).await?;
    let recording = match &computed {
        Some(parsed) => Recording::New(DecisionRecord {
            verdict: &verdict,
            listing: Some(parsed),
            listing_bytes: &listing,
            peer,
            submission: false,
        }),
        None => Recording::AlreadyRecorded,
    };
    decide(gateway, &verdict, recording).await?;
    Ok(verdict)
}

/// `GET /v1/catalog?after=ID&limit=N` (or a `catalog-read` rule): product
/// ids only; each listing is judged when it is read. From an HTTP upstream
/// with a rule naming `listings_pointer`, the page's entries are judged
/// now and only accepted ones are passed on (see [`filter_page`]).
pub async fn catalog(
    gateway: &Arc<Gateway>,
    rule: &RouteRule,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    match &gateway.upstream {
        Upstream::Http(upstream) => {
            let (parts, _) = request.into_parts();
            let Some(pointer) = &rule.listings_pointer else {
                let answer = upstream.forward(&parts, empty(), &[], &[]).await?;
                if answer.status().is_server_error() {
                    return Err(GatewayError::UpstreamUnavailable(format!(
                        "the upstream answered {}",
                        answer.status()
                    )));
                }
                return Ok(relay(answer));
            };
            let (page, content_type) =
                fetch_whole(gateway, upstream, &parts, "a catalog page").await?;
            let (page, withheld) = filter_page(gateway, rule, pointer, &page, peer).await?;
            let mut response = Response::new(full(page));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, content_type);
            headers.insert("cragate-withheld", HeaderValue::from(withheld));
            Ok(response)
        }
        Upstream::File(catalog) => {
            let (after, limit) = page_query(request.uri().query().unwrap_or(""))?;
            let (ids, more) = catalog.page(after, limit).await?;
            let next = match (more, ids.last()) {
                (true, Some(last)) => json!(format!("/v1/catalog?after={last}&limit={limit}")),
                _ => json!(null),
            };
            let listings: Vec<_> = ids
                .iter()
                .map(|id| json!({"id": id, "href": format!("/v1/listings/{id}")}))
                .collect();
            let page = json!({"format": "cragate.catalog/v1", "listings": listings, "next": next});
            let body = serde_json::to_vec_pretty(&page)
                .map_err(|e| GatewayError::Internal(e.to_string()))?;
            Ok(json_response(StatusCode::OK, body))
        }
    }
}

/// Judges each entry of a catalog page (the array at `pointer`; the
/// listing at the rule's `listing_pointer` in each entry) through the
/// verdict cache, recording verdicts computed now, and returns the page
/// with only the accepted entries, and how many were withheld. An entry
/// without a usable listing is withheld; a page without the array, or a
/// verdict that cannot be recorded, fails the whole read.
async fn filter_page(
    gateway: &Gateway,
    rule: &RouteRule,
    pointer: &str,
    page: &Bytes,
    peer: Option<SocketAddr>,
) -> Result<(Vec<u8>, usize), GatewayError> {
    let limit = usize::try_from(gateway.config.limits.max_listing_bytes).unwrap_or(usize::MAX);
    check_limits(page, "catalog page", limit, MAX_JSON_DEPTH)
        .map_err(|e| GatewayError::UpstreamInvalid(e.to_string()))?;
    let mut document: Value = serde_json::from_slice(page)
        .map_err(|e| GatewayError::UpstreamInvalid(format!("the catalog page is not JSON: {e}")))?;
    let entries = document
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            GatewayError::UpstreamInvalid(format!("the catalog page has no array at {pointer:?}"))
        })?;
    let mut kept = Vec::with_capacity(entries.len());
    let total = entries.len();
    for entry in entries.drain(..) {
        let Some(listing) = entry.pointer(&rule.listing_pointer) else {
            continue;
        };
        let bytes = serde_json::to_vec(listing)
            .map(Bytes::from)
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        match judge_stored(gateway, bytes, peer).await {
            Ok(_) => kept.push(entry),
            Err(GatewayError::Rejected(_)) => {}
            Err(GatewayError::MalformedListing(error)) => {
                eprintln!("cragate: catalog-read: an entry withheld: {error}");
            }
            Err(other) => return Err(other),
        }
    }
    let withheld = total - kept.len();
    *entries = kept;
    let body = serde_json::to_vec(&document).map_err(|e| GatewayError::Internal(e.to_string()))?;
    Ok((body, withheld))
}

fn page_query(query: &str) -> Result<(Option<String>, usize), GatewayError> {
    let mut after = None;
    let mut limit = DEFAULT_PAGE;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("after", id)) if id.parse::<ProductId>().is_ok() => after = Some(id.to_owned()),
            Some(("limit", n)) => {
                limit = n
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        GatewayError::BadRequest(format!("limit must be 1 to {MAX_PAGE}"))
                    })?;
            }
            _ => {
                return Err(GatewayError::BadRequest(format!(
                    "unknown or malformed query parameter {pair:?}"
                )));
            }
        }
    }
    Ok((after, limit))
}

/// GETs a JSON document the gateway judges (`what`: "a listing", "a
/// catalog page") from the upstream, whole and unencoded (range, validator
/// and encoding headers are not forwarded), under the listing budget: its
/// bytes and content type. Only a `200` is a document; `404` is not found,
/// any other status the upstream's failure.
async fn fetch_whole(
    gateway: &Gateway,
    upstream: &HttpUpstream,
    parts: &Parts,
    what: &str,
) -> Result<(Bytes, HeaderValue), GatewayError> {
    let whole = [
        header::RANGE,
        header::IF_RANGE,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
        header::ACCEPT_ENCODING,
    ];
    let limit = gateway.config.limits.max_listing_bytes;
    let (head, bytes) = upstream.fetch(parts, &whole, limit).await?;
    match head.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(GatewayError::NotFound),
        other => {
            return Err(GatewayError::UpstreamInvalid(format!(
                "status {other} for {what}"
            )));
        }
    }
    let content_type = head
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/json"));
    Ok((bytes, content_type))
}

/// A listing that came from the upstream and cannot be used is the
/// upstream's failure, not the client's.
fn as_upstream(error: GatewayError) -> GatewayError {
    match error {
        GatewayError::MalformedListing(e) => {
            GatewayError::UpstreamInvalid(format!("stored listing: {e}"))
        }
        GatewayError::BadRequest(m) => GatewayError::UpstreamInvalid(m),
        other => other,
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_queries_are_checked() {
        assert_eq!(page_query("").unwrap(), (None, DEFAULT_PAGE));
        assert_eq!(
            page_query("after=a-b&limit=2").unwrap(),
            (Some("a-b".into()), 2)
        );
        for bad in ["limit=0", "limit=101", "after=../x", "x=1"] {
            assert!(page_query(bad).is_err(), "{bad}");
        }
    }
}
