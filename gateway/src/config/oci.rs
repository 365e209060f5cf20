//! `[oci]`: the OCI registry cragate fronts under `/v2/`.
//!
//! ```toml
//! [oci]
//! upstream = "http://127.0.0.1:5000"      # http(s)://HOST:PORT, no path
//! credentials_file = "registry.credentials"  # optional
//! ca_file = "registry-ca.pem"                # optional
//! ```
//!
//! The credentials file holds one line: `basic USER:PASSWORD` or
//! `bearer TOKEN`. A pre-issued bearer token is sent as the
//! `Authorization` of every request to the registry. Basic credentials are
//! sent to the registry, and to its token service when the registry asks
//! for a token (`WWW-Authenticate: Bearer realm=...`, distribution's token
//! authentication, as Docker Hub, GHCR and Harbor use it); without
//! credentials, tokens are asked for anonymously.
//!
//! `ca_file` holds PEM CA certificates trusted for the registry and its
//! token service besides the Web PKI roots (a registry with a private CA).

use http::Uri;

/// Largest credentials file read, in bytes.
pub const MAX_CREDENTIALS_FILE_BYTES: usize = 16 * 1024;

/// The registry cragate fronts.
#[derive(Debug, Clone)]
pub struct OciConfig {
    /// Its base URI (scheme and authority).
    pub upstream: Uri,
    /// How cragate authenticates to it.
    pub credentials: Option<OciCredentials>,
    /// CA certificates trusted besides the Web PKI roots.
    pub ca_certificates: Vec<rustls_pki_types::CertificateDer<'static>>,
}

/// Credentials for the registry. `Debug` does not show the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum OciCredentials {
    /// HTTP Basic (RFC 7617): the `Authorization` value, pre-encoded.
    Basic(String),
    /// A bearer token (RFC 6750).
    Bearer(String),
}

impl std::fmt::Debug for OciCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Basic(_) => "Basic(..)",
            Self::Bearer(_) => "Bearer(..)",
        })
    }
}

impl OciCredentials {
    /// Parses a credentials file's content.
    pub fn parse(content: &[u8]) -> Result<Self, String> {
        use base64::Engine;
        let text = std::str::from_utf8(content).map_err(|_| "not UTF-8".to_owned())?;
        let line = text.trim();
        if line.lines().count() != 1 {
            return Err("must hold one line: basic USER:PASSWORD or bearer TOKEN".to_owned());
        }
        match line.split_once(' ') {
            Some(("basic", pair)) if pair.contains(':') => Ok(Self::Basic(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))),
            Some(("bearer", token)) if !token.trim().is_empty() => {
                Ok(Self::Bearer(format!("Bearer {}", token.trim())))
            }
            _ => Err("must hold one line: basic USER:PASSWORD or bearer TOKEN".to_owned()),
        }
    }

    /// Whether these are basic credentials (usable at a token service).
    pub fn is_basic(&self) -> bool {
        matches!(self, Self::Basic(_))
    }

    /// The `Authorization` header value.
    pub fn header_value(&self) -> &str {
        match self {
            Self::Basic(value) | Self::Bearer(value) => value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_basic_or_bearer() {
        assert_eq!(
            OciCredentials::parse(b"basic u:p\n")
                .unwrap()
                .header_value(),
            "Basic dTpw"
        );
        assert_eq!(
            OciCredentials::parse(b"bearer abc").unwrap().header_value(),
            "Bearer abc"
        );
        assert!(OciCredentials::parse(b"basic nocolon").is_err());
        assert!(OciCredentials::parse(b"token x").is_err());
    }
}
