//! The gateway's own routes: health, readiness, metrics and the admin view
//! of the configuration in force.

use std::sync::Arc;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use super::Ops;
use crate::server::Gateway;
use crate::server::body::{Body, full};
use crate::server::error::GatewayError;
use crate::server::pipeline::Connection;

/// Serves one of the gateway's own routes. When the listener asks for
/// client certificates, the admin routes need one.
pub async fn serve(
    gateway: &Arc<Gateway>,
    connection: Connection,
    ops: Ops,
) -> Result<Response<Body>, GatewayError> {
    if ops.is_admin() && gateway.admin_needs_certificate && !connection.client_certificate {
        return Err(GatewayError::ClientCertificateRequired);
    }
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
        .map(|r| json!({"method": r.method.as_str(), "path": r.path.to_string(), "kind": format!("{:?}", r.kind), "listing_pointer": r.listing_pointer}))
        .collect();
    let view = json!({
        "listen": config.listen.to_string(),
        "tls": config.tls.is_some(),
        "admin_client_certificates": gateway.admin_needs_certificate,
        "upstream": gateway.upstream.describe(),
        "policy": {"name": gateway.policy.name(), "digest": gateway.policy.digest().to_string()},
        "accepted_artifacts": gateway.accepted.len(),
        "ledger": if gateway.decisions.is_some() { "recording" } else { "not wired in" },
        "limits": {
            "max_header_bytes": limits.max_header_bytes,
            "max_listing_bytes": limits.max_listing_bytes,
            "max_artifact_bytes": limits.max_artifact_bytes,
            "max_connections": limits.max_connections,
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
