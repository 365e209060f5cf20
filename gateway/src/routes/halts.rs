//! The halt API (admin; CRA Art. 19(3), 20(3), 54(4); docs/halts.md):
//!
//! - `POST /v1/halts`: the body is a signed notice (a DSSE envelope or a
//!   Sigstore bundle); `201` once it is on the ledger and in force, with the
//!   notice as `GET` shows it. Refusals are RFC 9457 problems: `400`
//!   malformed, `401` bad signature, `403` issuer not trusted for a product
//!   or the action, `409` a replayed or older sequence.
//! - `GET /v1/halts`: the notices in force (halts, recalls and withdrawals
//!   no lift has ended).
//! - `GET /v1/halts/{issuer}/{sequence}`: one accepted notice, in force,
//!   lifted, or a lift.
//!
//! Who may use them: administrators, exactly as for the ledger API
//! ([`super::Access::Admin`]: the admin bearer token or an admin client
//! certificate; closed when neither is configured). A halt blocks sales,
//! so whoever can post one must be as trusted as whoever can read the
//! ledger; the notice's own signature is checked on top of that.

use std::sync::Arc;

use cragate_verifier::limits::MAX_SIGNED_HALT_BYTES;
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::http::body::{Body, BodyLimits, full, read_limited};
use crate::http::error::{ErrorKind, ErrorSource, GatewayError};
use crate::http::path::decode;
use crate::pipeline::Gateway;
use crate::recall::propagate::notification_id;
use crate::recall::status::status;
use crate::recall::{InForce, Received};

/// Where the halt API lives.
pub const HALTS_API: &str = "/v1/halts";

/// A request of the halt API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HaltRoute {
    /// `POST /v1/halts`.
    Post,
    /// `GET /v1/halts`.
    List,
    /// `GET /v1/halts/{issuer}/{sequence}`, both still percent-encoded.
    One {
        /// The issuer segment.
        issuer: String,
        /// The sequence segment.
        sequence: String,
    },
}

impl HaltRoute {
    /// The halt route of `method` and `path`, if it is one.
    pub fn parse(method: &http::Method, path: &str) -> Option<Self> {
        let rest = path.strip_prefix(HALTS_API)?;
        match (method.as_str(), rest) {
            ("POST", "") => Some(Self::Post),
            ("GET", "") => Some(Self::List),
            ("GET", rest) => {
                let (issuer, sequence) = rest.strip_prefix('/')?.split_once('/')?;
                if issuer.is_empty() || sequence.is_empty() || sequence.contains('/') {
                    return None;
                }
                Some(Self::One {
                    issuer: issuer.to_owned(),
                    sequence: sequence.to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// Serves one request of the halt API, once it is an administrator's.
pub async fn serve(
    gateway: &Arc<Gateway>,
    route: HaltRoute,
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    match route {
        HaltRoute::Post => post(gateway, request).await,
        HaltRoute::List => {
            let halts: Vec<Value> = gateway.halts.view().iter().map(|h| view(h, None)).collect();
            json_response(StatusCode::OK, &json!({"halts": halts}))
        }
        HaltRoute::One { issuer, sequence } => {
            let issuer =
                decode(&issuer).ok_or_else(|| bad("the issuer is not percent-encoded UTF-8"))?;
            let sequence: u64 = sequence
                .parse()
                .map_err(|_| bad(format!("sequence {sequence:?} is not a whole number")))?;
            let halts = Arc::clone(&gateway.halts);
            let found = tokio::task::spawn_blocking(move || halts.one(&issuer, sequence))
                .await
                .map_err(|e| internal(format!("halt read task failed: {e}")))??;
            match found {
                Some(held) => {
                    let deliveries = deliveries(gateway, &held).await?;
                    json_response(StatusCode::OK, &view(&held, Some(deliveries)))
                }
                None => Err(GatewayError::client(ErrorKind::NotFound)),
            }
        }
    }
}

/// `POST /v1/halts`: verified, recorded and in force before the `201`.
async fn post(
    gateway: &Arc<Gateway>,
    request: Request<Incoming>,
) -> Result<Response<Body>, GatewayError> {
    let (parts, body) = request.into_parts();
    let limit = u64::try_from(MAX_SIGNED_HALT_BYTES).unwrap_or(u64::MAX);
    crate::pipeline::limits(&parts, limit)?;
    let limits = BodyLimits {
        limit,
        idle: gateway.config.limits.body_idle_timeout,
        from: ErrorSource::Client,
    };
    let body = read_limited(body, limits, None).await?;
    let worker = Arc::clone(gateway);
    let accepted = tokio::task::spawn_blocking(move || {
        let held = worker
            .halts
            .accept(&body, Received::Posted, Timestamp::now())?;
        // Queued for the customers, durably, before the 201.
        super::notifications::propagate(&worker, &held)?;
        Ok::<_, GatewayError>(held)
    })
    .await
    .map_err(|e| internal(format!("halt task failed: {e}")))??;
    let deliveries = deliveries(gateway, &accepted).await?;
    json_response(StatusCode::CREATED, &view(&accepted, Some(deliveries)))
}

/// Every delivery of a notice to a customer, with its acknowledgement or
/// why not yet (as `cragate recall status` shows it).
async fn deliveries(gateway: &Gateway, held: &InForce) -> Result<Value, GatewayError> {
    let outbox = Arc::clone(&gateway.recall.outbox);
    let id = notification_id(&held.notice.issuer, held.notice.sequence);
    let found = tokio::task::spawn_blocking(move || status(outbox.as_ref(), &id))
        .await
        .map_err(|e| internal(format!("outbox task failed: {e}")))?
        .map_err(|e| internal(format!("recall outbox: {e}")))?;
    serde_json::to_value(found.deliveries).map_err(|e| internal(e.to_string()))
}

/// A notice as the API shows it; with `deliveries`, also the signed form.
fn view(held: &InForce, deliveries: Option<Value>) -> Value {
    let notice: Value = serde_json::from_str(&held.stored.payload).unwrap_or(Value::Null);
    let mut out = json!({
        "issuer": held.notice.issuer,
        "sequence": held.notice.sequence,
        "action": held.notice.action.as_str(),
        "in_force": held.is_blocking(),
        "lifted_by": held.stored.lifted_by,
        "accepted_at": held.stored.accepted_at,
        "received": held.stored.received,
        "ledger_index": held.stored.ledger_index,
        "notice": notice,
    });
    if let Some(deliveries) = deliveries
        && let Value::Object(fields) = &mut out
    {
        let signed: Value = serde_json::from_str(&held.stored.signed).unwrap_or(Value::Null);
        fields.insert("signed".into(), signed);
        fields.insert("deliveries".into(), deliveries);
    }
    out
}

fn json_response(status: StatusCode, body: &Value) -> Result<Response<Body>, GatewayError> {
    let bytes = serde_json::to_vec_pretty(body).map_err(|e| internal(e.to_string()))?;
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn bad(message: impl Into<String>) -> GatewayError {
    GatewayError::client(ErrorKind::BadRequest(message.into()))
}

fn internal(message: String) -> GatewayError {
    GatewayError::gateway(ErrorKind::Internal(message))
}
