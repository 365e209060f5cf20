//! The gateway's own routes: health, readiness, metrics and the admin view
//! of the configuration in force.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::Ops;
use crate::http::body::{Body, full};
use crate::http::error::GatewayError;
use crate::pipeline::Gateway;

/// Serves one of the gateway's own routes (authorized already: see
/// [`Ops::access`]).
pub async fn serve(gateway: &Arc<Gateway>, ops: Ops) -> Result<Response<Body>, GatewayError> {
    let (status, content_type, body) = match ops {
        Ops::Health => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        Ops::Ready => match gateway.upstream.ready().await {
            true => (StatusCode::OK, "text/plain", "ready\n".to_owned()),
            false => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "upstream unreachable\n".to_owned(),
            ),
        },
        Ops::Metrics => (
            StatusCode::OK,
            "text/plain; version=0.0.4",
            gateway.metrics.render(),
        ),
        Ops::Config => (StatusCode::OK, "application/json", admin_view(gateway)),
    };
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

fn admin_view(gateway: &Gateway) -> String {
    let config = &gateway.config;
    let limits = &config.limits;
    let routes: Vec<_> = config
        .routes
        .iter()
        .map(|r| json!({"method": r.method.as_str(), "path": r.path.to_string(), "kind": format!("{:?}", r.kind), "listing_pointer": r.listing_pointer, "listings_pointer": r.listings_pointer}))
        .collect();
    let view = json!({
        "listen": config.listen.to_string(),
        "workers": config.workers,
        "tls": config.tls.is_some(),
        "admin_client_certificates": gateway.admin.client_certificates,
        "admin_bearer_token": gateway.admin.bearer_token.is_some(),
        "upstream": gateway.upstream.describe(),
        "policy": {"name": gateway.policy.name(), "digest": gateway.policy.digest().to_string()},
        "accepted_artifacts": gateway.accepted.len(),
        "ledger": "recording",
        "ledger_store": config.ledger.as_deref().map(crate::ledger::postgres::redacted),
        "limits": {
            "max_header_bytes": limits.max_header_bytes,
            "max_listing_bytes": limits.max_listing_bytes,
            "max_listing_bytes_in_flight": limits.max_listing_bytes_in_flight,
            "max_artifact_bytes": limits.max_artifact_bytes,
            "max_spool_bytes": limits.max_spool_bytes,
            "send_timeout_ms": limits.send_timeout.as_millis() as u64,
            "min_body_bytes_per_second": limits.min_body_bytes_per_second,
            "max_connections": limits.max_connections,
            "max_streams_per_connection": limits.max_streams_per_connection,
            "header_timeout_ms": limits.header_timeout.as_millis() as u64,
            "body_idle_timeout_ms": limits.body_idle_timeout.as_millis() as u64,
            "request_timeout_ms": limits.request_timeout.as_millis() as u64,
            "upstream_timeout_ms": limits.upstream_timeout.as_millis() as u64,
            "shutdown_grace_ms": limits.shutdown_grace.as_millis() as u64,
            "verdict_cache_entries": limits.verdict_cache_entries,
        },
        "routes": routes,
    });
    serde_json::to_string_pretty(&view).unwrap_or_default()
}
