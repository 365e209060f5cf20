//! The authorization phase: who may use a route. The router gives every
//! route its [`Access`] and [`authorize`] checks it once, before any
//! handler runs; handlers never check credentials themselves.

use http::HeaderMap;

use super::{Connection, Gateway};
use crate::http::error::{ErrorKind, GatewayError};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: product routes (which the policy guards), health and
    /// readiness probes.
    Open,
    /// Administrators once a way to authenticate them is configured, anyone
    /// before: metrics, so that a scraper works on the default setup and
    /// needs the admin's certificate or token once either exists.
    AdminWhenConfigured,
    /// Administrators only; with no way to authenticate them, nobody.
    Admin,
}

/// Lets a request through to a route of the given access: an admin route
/// needs a verified client certificate or the admin bearer token
/// ([`crate::http::auth`]), and is closed when neither is configured.
pub fn authorize(
    gateway: &Gateway,
    connection: Connection,
    headers: &HeaderMap,
    access: Access,
) -> Result<(), GatewayError> {
    let guarded = match access {
        Access::Open => false,
        Access::AdminWhenConfigured => gateway.admin.is_configured(),
        Access::Admin => true,
    };
    if !guarded {
        return Ok(());
    }
    gateway
        .admin
        .check(connection.client_certificate, headers)
        .map_err(|refusal| GatewayError::client(ErrorKind::AdminRefused(refusal)))
}
