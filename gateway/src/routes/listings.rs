//! Listing submissions, listing reads and catalog pages.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use cragate_verifier::evidence::ProductId;
use cragate_verifier::json::check_limits;
use cragate_verifier::limits::MAX_JSON_DEPTH;
use http::request::Parts;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::{Captures, RouteRule};
use crate::http::body::{Body, BodyLimits, empty, full, read_limited};
use crate::http::budget::Reservation;
use crate::http::error::{DocumentError, ErrorKind, ErrorSource, GatewayError, log_line};
use crate::pipeline::{Candidate, Gateway, Purpose, decision_headers, hold_listing, judge, stored};
use crate::upstream::file::MAX_PAGE;
use crate::upstream::{HttpUpstream, Upstream, relay};

/// Catalog page size when the client does not ask for one.
const DEFAULT_PAGE: usize = 50;

/// `POST /v1/listings` (or a `listing-submission` rule): judged
/// ([`judge`]); stored or forwarded only when accepted, exactly as judged.
pub async fn submit(
    gateway: &Arc<Gateway>,
    rule: &RouteRule,
    captures: Captures,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    let mut held = hold_listing(gateway, &parts)?;
    let limits = BodyLimits {
        limit: gateway.config.limits.max_listing_bytes,
        idle: gateway.config.limits.body_idle_timeout,
        from: ErrorSource::Client,
    };
    let body = read_limited(body, limits, Some(&mut held)).await?;
    let candidate = Candidate {
        document: body,
        pointer: &rule.listing_pointer,
        from: ErrorSource::Client,
        bound_id: captures.id.as_deref(),
        purpose: Purpose::Submission,
        peer,
    };
    let accepted = judge(gateway, candidate).await?;
    let mut response = match &gateway.upstream {
        Upstream::File(catalog) => {
            let id = accepted.product_id();
            catalog
                .store_listing(id, accepted.listing().clone())
                .await?;
            gateway.accepted.add(&accepted).await?;
            stored(gateway, &accepted).await?;
            let body = serde_json::to_vec_pretty(&**accepted.verdict())
                .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
            let mut response = json_response(StatusCode::CREATED, body);
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/listings/{id}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Upstream::Http(upstream) => {
            let document = full(accepted.document().clone());
            let answer = upstream.forward(&parts, document, &[], &[]).await?;
            refuse_server_error(answer.status(), "a listing")?;
            if answer.status().is_success() {
                gateway.accepted.add(&accepted).await?;
                stored(gateway, &accepted).await?;
            }
            relay(answer)
        }
    };
    decision_headers(&mut response, accepted.verdict());
    Ok(response)
}

/// `GET /v1/listings/{id}` (or a `listing-read` rule): served only when the
/// policy accepts the listing now (verdict cache first) and it is the
/// listing of the product the path names.
pub async fn read(
    gateway: &Arc<Gateway>,
    rule: &RouteRule,
    captures: Captures,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<Response<Body>, GatewayError> {
    let limit = gateway.config.limits.max_listing_bytes;
    let mut held = gateway.listing_budget.reservation();
    let document = match &gateway.upstream {
        Upstream::File(catalog) => {
            let id = captures
                .id
                .as_deref()
                .and_then(|id| id.parse::<ProductId>().ok())
                .ok_or(GatewayError::client(ErrorKind::NotFound))?;
            let bytes = catalog
                .listing(&id, limit)
                .await?
                .ok_or(GatewayError::client(ErrorKind::NotFound))?;
            held.hold(bytes.len() as u64)?;
            bytes
        }
        Upstream::Http(upstream) => {
            let (parts, _) = request.into_parts();
            fetch_whole(gateway, upstream, &parts, "a listing", &mut held).await?
        }
    };
    let candidate = Candidate {
        document,
        pointer: &rule.listing_pointer,
        from: ErrorSource::Upstream,
        bound_id: captures.id.as_deref(),
        purpose: Purpose::Read,
        peer,
    };
    let accepted = judge(gateway, candidate).await?;
    let mut response = Response::new(full(accepted.document().clone()));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, judged_type());
    decision_headers(&mut response, accepted.verdict());
    Ok(response)
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
                refuse_server_error(answer.status(), "a catalog page")?;
                return Ok(relay(answer));
            };
            let mut held = gateway.listing_budget.reservation();
            let page = fetch_whole(gateway, upstream, &parts, "a catalog page", &mut held).await?;
            let (page, withheld) = filter_page(gateway, rule, pointer, &page, peer).await?;
            let mut response = Response::new(full(page));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, judged_type());
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
                .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
            Ok(json_response(StatusCode::OK, body))
        }
    }
}

/// Judges each entry of a catalog page (the array at `pointer`; the
/// listing at the rule's `listing_pointer` in each entry) as a read
/// ([`judge`]), and returns the page with only the accepted entries, and
/// how many were withheld. An entry without a usable listing is withheld;
/// a page without the array, or a verdict that cannot be recorded, fails
/// the whole read.
async fn filter_page(
    gateway: &Gateway,
    rule: &RouteRule,
    pointer: &str,
    page: &Bytes,
    peer: Option<SocketAddr>,
) -> Result<(Vec<u8>, usize), GatewayError> {
    let unusable = |error| GatewayError::upstream(ErrorKind::Document(error));
    let limit = usize::try_from(gateway.config.limits.max_listing_bytes).unwrap_or(usize::MAX);
    check_limits(page, "catalog page", limit, MAX_JSON_DEPTH)
        .map_err(|e| unusable(DocumentError::Limits(e)))?;
    // A key given twice anywhere in the page makes it unusable (RFC 8259
    // s.4), as in a listing; a page may be an array, which the verifier's
    // reader refuses at the top, so an array page is checked as the one
    // value of an object around it.
    let wrapped;
    let checked: &[u8] = if page.trim_ascii_start().starts_with(b"[") {
        wrapped = [b"{\"page\":".as_slice(), page, b"}"].concat();
        &wrapped
    } else {
        page
    };
    cragate_verifier::json::check(
        checked,
        &cragate_verifier::json::JsonBudget::new("catalog page", limit.saturating_add(8)),
    )
    .map_err(|e| unusable(DocumentError::Limits(e)))?;
    let mut document: Value = serde_json::from_slice(page).map_err(|error| {
        unusable(DocumentError::NotJson {
            what: "catalog page",
            error,
        })
    })?;
    let entries = document
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            unusable(DocumentError::NoEntries {
                pointer: pointer.to_owned(),
            })
        })?;
    let mut kept = Vec::with_capacity(entries.len());
    let total = entries.len();
    for entry in entries.drain(..) {
        let Some(listing) = entry.pointer(&rule.listing_pointer) else {
            continue;
        };
        let document = serde_json::to_vec(listing)
            .map(Bytes::from)
            .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
        let candidate = Candidate {
            document,
            pointer: "",
            from: ErrorSource::Upstream,
            bound_id: None,
            purpose: Purpose::Read,
            peer,
        };
        match judge(gateway, candidate).await {
            Ok(_) => kept.push(entry),
            Err(error) => match error.kind() {
                ErrorKind::Rejected(_) => {}
                ErrorKind::MalformedListing(_)
                | ErrorKind::Document(_)
                | ErrorKind::ProductId { .. } => {
                    eprintln!(
                        "cragate: catalog-read: an entry withheld: {}",
                        log_line(&error)
                    );
                }
                _ => return Err(error),
            },
        }
    }
    let withheld = total - kept.len();
    *entries = kept;
    let body = serde_json::to_vec(&document)
        .map_err(|e| GatewayError::gateway(ErrorKind::Internal(e.to_string())))?;
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
                    .ok_or_else(|| bad_query(format!("limit must be 1 to {MAX_PAGE}")))?;
            }
            _ => {
                return Err(bad_query(format!(
                    "unknown or malformed query parameter {pair:?}"
                )));
            }
        }
    }
    Ok((after, limit))
}

fn bad_query(message: String) -> GatewayError {
    GatewayError::client(ErrorKind::BadRequest(message))
}

/// An upstream that answers a server error has failed: its answer is not
/// relayed as if it were the route's.
fn refuse_server_error(status: StatusCode, what: &'static str) -> Result<(), GatewayError> {
    if status.is_server_error() {
        return Err(GatewayError::upstream(ErrorKind::Status { status, what }));
    }
    Ok(())
}

/// GETs a JSON document the gateway judges (`what`: "a listing", "a
/// catalog page") from the upstream, whole and unencoded (range, validator
/// and encoding headers are not forwarded), under the listing budget and
/// held of the listing bytes in flight: its bytes (the content type the
/// upstream gave is not passed on: see [`judged_type`]). Only a
/// `200` is a document; `404` is not found, any other status the
/// upstream's failure.
async fn fetch_whole(
    gateway: &Gateway,
    upstream: &HttpUpstream,
    parts: &Parts,
    what: &'static str,
    held: &mut Reservation,
) -> Result<Bytes, GatewayError> {
    let whole = [
        header::RANGE,
        header::IF_RANGE,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
        header::ACCEPT_ENCODING,
    ];
    let limit = gateway.config.limits.max_listing_bytes;
    let (head, bytes) = upstream.fetch(parts, &whole, limit, held).await?;
    match head.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(GatewayError::client(ErrorKind::NotFound)),
        status => return Err(GatewayError::upstream(ErrorKind::Status { status, what })),
    }
    Ok(bytes)
}

/// The content type of what the gateway judged and serves (a listing, a
/// filtered catalog page): JSON, whatever the upstream called it, so that
/// a client never renders a judged document as something else.
fn judged_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
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
