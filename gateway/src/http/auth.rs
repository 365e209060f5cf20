//! Authentication of the admin routes. A request is an administrator's when
//! it came on a connection whose client certificate verified against
//! `[tls] admin_client_ca`, or when it carries `Authorization: Bearer
//! <token>` (RFC 6750 §2.1) with the token of `[admin] bearer_token_file`.
//! With neither configured, the admin routes are closed to everyone: there
//! is no anonymous access.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use http::{HeaderMap, header};

/// Shortest bearer token accepted, in bytes: 32 bytes are 256 bits when
/// random, and still well over 128 bits when hex- or base64-encoded
/// (`openssl rand -hex 32` makes 64).
pub const MIN_TOKEN_BYTES: usize = 32;

/// Largest token file read: a token is a header value, and the request
/// head is budgeted far below this anyway (`max_header_bytes`).
pub const MAX_TOKEN_FILE_BYTES: usize = 4096;

/// The admin bearer token. Only its SHA-256 digest is kept, and it is never
/// printed: comparisons hash the presented token and compare the digests in
/// constant time, so neither the content nor the length of the token shows
/// in the time an answer takes.
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

/// Why the content of a token file is not a usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Fewer than [`MIN_TOKEN_BYTES`] bytes.
    #[error("the bearer token is {length} bytes; at least {MIN_TOKEN_BYTES} are needed")]
    TooShort {
        /// Its length, less the trailing line break.
        length: usize,
    },
    /// Not the `b64token` syntax of RFC 6750 §2.1, so no client could send it.
    #[error(
        "the bearer token must be one line of letters, digits and -._~+/ (then any =), as RFC 6750 section 2.1 allows"
    )]
    Syntax,
}

impl BearerToken {
    /// The token in a token file's content, less its trailing line break.
    pub fn parse(content: &[u8]) -> Result<Self, TokenError> {
        let token = content.strip_suffix(b"\n").unwrap_or(content);
        let token = token.strip_suffix(b"\r").unwrap_or(token);
        if !is_b64token(token) {
            return Err(TokenError::Syntax);
        }
        if token.len() < MIN_TOKEN_BYTES {
            return Err(TokenError::TooShort {
                length: token.len(),
            });
        }
        Ok(Self {
            digest: sha256(token),
        })
    }

    /// Whether `presented` is this token, compared in constant time.
    pub fn matches(&self, presented: &[u8]) -> bool {
        verify_slices_are_equal(&self.digest, &sha256(presented)).is_ok()
    }
}

/// How administrators authenticate.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    /// Whether the listener asks for client certificates (`admin_client_ca`).
    pub client_certificates: bool,
    /// The bearer token, when `[admin] bearer_token_file` is set.
    pub bearer_token: Option<BearerToken>,
}

/// Why a request is refused an admin route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// No way to authenticate is configured (403).
    #[error(
        "admin routes are closed: configure [tls] admin_client_ca or [admin] bearer_token_file"
    )]
    NotConfigured,
    /// Only client certificates are configured, and none was presented (403).
    #[error("this route needs a client certificate")]
    CertificateRequired,
    /// A bearer token is configured, and neither it nor a client
    /// certificate was presented (401, RFC 6750 §3).
    #[error("this route needs an Authorization: Bearer token or a client certificate")]
    CredentialsRequired,
    /// A bearer token was presented, and it is not the admin token (403).
    #[error("the bearer token is not the admin token")]
    TokenMismatch,
}

impl AdminAuth {
    /// Whether any way to authenticate is configured.
    pub fn is_configured(&self) -> bool {
        self.client_certificates || self.bearer_token.is_some()
    }

    /// Lets an administrator's request through.
    pub fn check(&self, client_certificate: bool, headers: &HeaderMap) -> Result<(), Refusal> {
        if self.client_certificates && client_certificate {
            return Ok(());
        }
        let Some(token) = &self.bearer_token else {
            return Err(match self.client_certificates {
                true => Refusal::CertificateRequired,
                false => Refusal::NotConfigured,
            });
        };
        match bearer(headers) {
            None => Err(Refusal::CredentialsRequired),
            Some(presented) if token.matches(presented) => Ok(()),
            Some(_) => Err(Refusal::TokenMismatch),
        }
    }
}

/// The credentials of an `Authorization: Bearer` header; the scheme is
/// case-insensitive (RFC 9110 §11.1).
pub fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let credentials = rest.strip_prefix(b" ")?.trim_ascii();
    Some(credentials).filter(|c| !c.is_empty())
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let stem = token.len().saturating_sub(padding);
    stem > 0
        && token
            .iter()
            .take(stem)
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn auth(client_certificates: bool, token: Option<&str>) -> AdminAuth {
        AdminAuth {
            client_certificates,
            bearer_token: token.map(|t| BearerToken::parse(t.as_bytes()).unwrap()),
        }
    }

    #[test]
    fn token_files_lose_their_line_break_and_short_tokens_are_refused() {
        let token = BearerToken::parse(format!("{TOKEN}\n").as_bytes()).unwrap();
        assert!(token.matches(TOKEN.as_bytes()));
        assert!(!token.matches(format!("{TOKEN}\n").as_bytes()));
        assert!(BearerToken::parse(format!("{TOKEN}\r\n").as_bytes()).is_ok());
        assert_eq!(
            BearerToken::parse(b"short\n").unwrap_err(),
            TokenError::TooShort { length: 5 }
        );
        for bad in ["", "\n", "two words 0123456789abcdef0123456789", "a\nb"] {
            assert_eq!(
                BearerToken::parse(bad.as_bytes()).unwrap_err(),
                TokenError::Syntax,
                "{bad:?}"
            );
        }
        assert!(BearerToken::parse(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_ok());
        assert!(format!("{token:?}").find(TOKEN).is_none());
    }

    #[test]
    fn nothing_configured_closes_the_admin_routes() {
        let closed = auth(false, None);
        assert!(!closed.is_configured());
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(
            closed.check(false, &headers(Some(&bearer))),
            Err(Refusal::NotConfigured)
        );
        assert_eq!(
            closed.check(true, &headers(None)),
            Err(Refusal::NotConfigured)
        );
    }

    #[test]
    fn a_token_or_a_certificate_opens_the_admin_routes() {
        let both = auth(true, Some(TOKEN));
        assert_eq!(both.check(true, &headers(None)), Ok(()));
        assert_eq!(
            both.check(false, &headers(Some(&format!("bearer {TOKEN}")))),
            Ok(())
        );
        assert_eq!(
            both.check(false, &headers(None)),
            Err(Refusal::CredentialsRequired)
        );
        assert_eq!(
            both.check(false, &headers(Some(&format!("Basic {TOKEN}")))),
            Err(Refusal::CredentialsRequired)
        );
        assert_eq!(
            both.check(false, &headers(Some(&format!("Bearer {TOKEN}x")))),
            Err(Refusal::TokenMismatch)
        );
        let certificates_only = auth(true, None);
        assert_eq!(
            certificates_only.check(false, &headers(Some(&format!("Bearer {TOKEN}")))),
            Err(Refusal::CertificateRequired)
        );
        let token_only = auth(false, Some(TOKEN));
        assert_eq!(
            token_only.check(true, &headers(None)),
            Err(Refusal::CredentialsRequired),
            "a certificate counts only when the listener verifies them"
        );
    }
}
