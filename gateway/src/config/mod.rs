//! Configuration of `cragate serve`, in two levels: the file as written
//! ([`raw::RawConfig`], unknown keys refused) and the validated [`Config`]
//! with parsed addresses, durations and route rules. Every problem is
//! reported at once, with file and line, and the gateway refuses to start.
//!
//! With no file at all the embedded default applies: listen on
//! 127.0.0.1:8080, state under `./cragate-data/`, a file catalog under
//! `./cragate-data/catalog`, the shipped app-store policy.

pub mod oci;
pub mod partners;
pub mod pattern;
pub mod policies;
pub mod raw;
pub mod rules;
pub mod trust_roots;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{Method, Uri};
use toml::Spanned;

use crate::http::auth::{BearerToken, MAX_TOKEN_FILE_BYTES};
use crate::http::limits::Limits;
pub use oci::{OciConfig, OciCredentials};
use pattern::{Capture, PathPattern};
use raw::{RawAdmin, RawConfig, RawLimits, RawOci, RawRoute};
use rules::{RouteKind, RouteRule, native_rules};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default state folder, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "cragate-data";
/// Largest configuration file read, in bytes.
const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// State folder.
    pub data_dir: PathBuf,
    /// A ledger shared by several nodes (`postgresql://...`); `None` is the
    /// data directory's redb file.
    pub ledger: Option<String>,
    /// The checkpoint signing key of a shared ledger; `None` is
    /// `DATA_DIR/ledger-key.p8`.
    pub ledger_key: Option<PathBuf>,
    /// Policy file; `None` is the built-in app-store policy.
    pub policy: Option<PathBuf>,
    /// Where accepted products go and reads come from.
    pub upstream: UpstreamConfig,
    /// File to write the bound address to, once listening.
    pub address_file: Option<PathBuf>,
    /// Threads serving connections, each with its own event loop and its
    /// own upstream connections (default: one per core).
    pub workers: usize,
    /// TLS, when the listener speaks it.
    pub tls: Option<TlsConfig>,
    /// Authentication of the admin routes besides client certificates.
    pub admin: AdminConfig,
    /// Budgets.
    pub limits: Limits,
    /// Product routes.
    pub routes: Vec<RouteRule>,
    /// `[[customers]]` and `[[suppliers]]`: who halt notices go to and
    /// come from.
    pub partners: partners::Partners,
    /// The OCI registry fronted under `/v2/`, if any.
    pub oci: Option<OciConfig>,
}

/// The upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamConfig {
    /// The embedded file catalog in this folder.
    Dir(PathBuf),
    /// An HTTP(S) catalog at this base URI (scheme and authority).
    Http(Uri),
}

/// TLS files.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub certificate: PathBuf,
    /// PEM private key.
    pub private_key: PathBuf,
    /// PEM CA certificates for admin client certificates.
    pub admin_client_ca: Option<PathBuf>,
}

/// `[admin]`.
#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    /// The token of `bearer_token_file`, read and checked at start.
    pub bearer_token: Option<BearerToken>,
}

/// Command-line values, which win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--ledger`.
    pub ledger: Option<String>,
    /// `--policy`.
    pub policy: Option<String>,
    /// `--upstream`.
    pub upstream: Option<String>,
}

/// One problem, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, or `command line`.
    pub file: String,
    /// 1-based line, 0 when not tied to one.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}: {}", self.file, self.message),
        }
    }
}

impl Config {
    /// Reads and validates the configuration file (if any) with the
    /// command-line overrides applied.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, Vec<ConfigError>> {
        let (name, text) = match file {
            None => ("embedded default".to_owned(), String::new()),
            Some(path) => {
                let name = path.display().to_string();
                let bytes =
                    crate::http::files::read_file_limited(path, MAX_CONFIG_BYTES, "configuration")
                        .map_err(|e| vec![error(&name, 0, format!("{e:#}"))])?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| vec![error(&name, 0, "not UTF-8".to_owned())])?;
                (name, text)
            }
        };
        // Relative paths in a file are relative to the file, like the paths
        // a policy names; those on the command line to the working folder.
        let base = file
            .and_then(Path::parent)
            .filter(|dir| !dir.as_os_str().is_empty());
        Self::parse(&name, &text, base, overrides)
    }

    /// Parses and validates the text of a configuration file named `name`
    /// (for messages), whose relative paths are relative to `base`, with
    /// the command-line overrides applied. A `bearer_token_file` it names
    /// is read.
    pub fn parse(
        name: &str,
        text: &str,
        base: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Self, Vec<ConfigError>> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            vec![error(name, line, e.message().to_owned())]
        })?;
        Validator {
            name: name.to_owned(),
            text: text.to_owned(),
            base: base.map(Path::to_path_buf),
            errors: Vec::new(),
        }
        .validate(raw, overrides)
    }
}

struct Validator {
    name: String,
    text: String,
    /// The configuration file's folder, for its relative paths.
    base: Option<PathBuf>,
    errors: Vec<ConfigError>,
}

impl Validator {
    fn validate(
        mut self,
        raw: RawConfig,
        overrides: &Overrides,
    ) -> Result<Config, Vec<ConfigError>> {
        let listen = self
            .pick(&raw.listen, &overrides.listen, DEFAULT_LISTEN)
            .and_then(|(text, line)| self.parse_with(line, text.parse(), "listen must be IP:PORT"));
        let data_dir = self
            .pick(&raw.data_dir, &overrides.data_dir, DEFAULT_DATA_DIR)
            .map(|(text, line)| self.path(&text, line))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let (ledger, ledger_key) = self.ledger(&raw, overrides);
        let policy = match (&overrides.policy, &raw.policy) {
            (Some(cli), _) => Some(PathBuf::from(cli)),
            (None, Some(file)) => Some(self.in_file(file.get_ref())),
            (None, None) => None,
        };
        let default_upstream = format!("dir:{}", data_dir.join("catalog").display());
        let upstream = self
            .pick(&raw.upstream, &overrides.upstream, &default_upstream)
            .and_then(|(text, line)| self.upstream(&text, line));
        let limits = self.limits(&raw.limits);
        let routes = self.routes(&raw.routes, upstream.as_ref());
        let tls = raw.tls.map(|tls| TlsConfig {
            certificate: self.in_file(tls.certificate.get_ref()),
            private_key: self.in_file(tls.private_key.get_ref()),
            admin_client_ca: tls.admin_client_ca.map(|p| self.in_file(p.get_ref())),
        });
        let address_file = raw.address_file.map(|p| self.in_file(p.get_ref()));
        let workers = match &raw.workers {
            Some(n) => self.positive(n).unwrap_or(1),
            None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        };
        let admin = self.admin(raw.admin.as_ref());
        let partners = self.partners(&raw.customers, &raw.suppliers);
        let oci = raw.oci.as_ref().and_then(|oci| self.oci(oci));
        match (listen, upstream) {
            (Some(listen), Some(upstream)) if self.errors.is_empty() => Ok(Config {
                listen,
                data_dir,
                ledger,
                ledger_key,
                policy,
                upstream,
                address_file,
                workers,
                tls,
                admin,
                limits,
                routes,
                partners,
                oci,
            }),
            _ => {
                self.errors.sort_by_key(|e| e.line);
                Err(self.errors)
            }
        }
    }

    /// A path written in the configuration file, relative to the file.
    fn in_file(&self, path: &str) -> PathBuf {
        match &self.base {
            Some(base) if Path::new(path).is_relative() => base.join(path),
            _ => PathBuf::from(path),
        }
    }

    /// A path from [`Self::pick`]: relative to the file when it came from
    /// the file (line > 0), else as given.
    fn path(&self, path: &str, line: usize) -> PathBuf {
        if line > 0 {
            self.in_file(path)
        } else {
            PathBuf::from(path)
        }
    }

    /// The command-line value, else the file's, else the default, with the
    /// line it came from (0 for the command line and the default).
    /// `ledger` (or `--ledger`) and `ledger_key`: a `postgresql://` URL
    /// names a shared database; nothing means the data directory's file.
    fn ledger(
        &mut self,
        raw: &RawConfig,
        overrides: &Overrides,
    ) -> (Option<String>, Option<PathBuf>) {
        let key = raw.ledger_key.as_ref().map(|p| self.in_file(p.get_ref()));
        let url = match (&overrides.ledger, &raw.ledger) {
            (Some(url), _) => Some((url.clone(), 0)),
            (None, Some(url)) => Some((url.get_ref().clone(), self.line(url.span().start))),
            (None, None) => None,
        };
        if let Some((url, line)) = &url
            && !(url.starts_with("postgresql://") || url.starts_with("postgres://"))
        {
            self.errors.push(error(
                &self.name,
                *line,
                "ledger must be a postgresql:// URL (leave it out for the data directory's file)"
                    .to_owned(),
            ));
        }
        if key.is_some() && url.is_none() {
            self.errors.push(error(
                &self.name,
                raw.ledger_key
                    .as_ref()
                    .map_or(0, |k| self.line(k.span().start)),
                "ledger_key is for a shared ledger: set ledger = \"postgresql://...\" too"
                    .to_owned(),
            ));
        }
        (url.map(|(url, _)| url), key)
    }

    fn pick(
        &self,
        file: &Option<Spanned<String>>,
        cli: &Option<String>,
        default: &str,
    ) -> Option<(String, usize)> {
        Some(match (cli, file) {
            (Some(value), _) => (value.clone(), 0),
            (None, Some(value)) => (value.get_ref().clone(), self.line(value.span().start)),
            (None, None) => (default.to_owned(), 0),
        })
    }

    fn upstream(&mut self, text: &str, line: usize) -> Option<UpstreamConfig> {
        if let Some(dir) = text.strip_prefix("dir:") {
            if dir.is_empty() {
                return self.fail(line, "upstream dir: needs a folder".to_owned());
            }
            return Some(UpstreamConfig::Dir(self.path(dir, line)));
        }
        let uri: Uri = self.parse_with(
            line,
            text.parse(),
            "upstream must be dir:PATH or http(s)://HOST:PORT",
        )?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let bare = uri.path_and_query().is_none_or(|p| p.as_str() == "/");
        if !scheme_ok || uri.authority().is_none() || !bare {
            return self.fail(
                line,
                format!("upstream {text:?} must be http(s)://HOST:PORT, without a path"),
            );
        }
        Some(UpstreamConfig::Http(uri))
    }

    /// `[oci]`: the registry's base URI and, if named, its credentials.
    fn oci(&mut self, raw: &RawOci) -> Option<OciConfig> {
        let line = self.line(raw.upstream.span().start);
        let upstream = match self.upstream(raw.upstream.get_ref(), line)? {
            UpstreamConfig::Http(uri) => uri,
            UpstreamConfig::Dir(_) => {
                return self.fail(
                    line,
                    "[oci] upstream must be http(s)://HOST:PORT".to_owned(),
                );
            }
        };
        let credentials = match &raw.credentials_file {
            None => None,
            Some(file) => {
                let line = self.line(file.span().start);
                let path = self.in_file(file.get_ref());
                let content = match crate::http::files::read_file_limited(
                    &path,
                    oci::MAX_CREDENTIALS_FILE_BYTES,
                    "OCI credentials file",
                ) {
                    Ok(content) => content,
                    Err(error) => return self.fail(line, format!("{error:#}")),
                };
                match OciCredentials::parse(&content) {
                    Ok(credentials) => Some(credentials),
                    Err(error) => return self.fail(line, format!("{}: {error}", path.display())),
                }
            }
        };
        let ca_certificates = match &raw.ca_file {
            None => Vec::new(),
            Some(file) => {
                let line = self.line(file.span().start);
                let path = self.in_file(file.get_ref());
                match read_ca_certificates(&path) {
                    Ok(certificates) => certificates,
                    Err(error) => return self.fail(line, error),
                }
            }
        };
        Some(OciConfig {
            upstream,
            credentials,
            ca_certificates,
        })
    }

    fn admin(&mut self, raw: Option<&RawAdmin>) -> AdminConfig {
        let bearer_token = raw
            .and_then(|admin| admin.bearer_token_file.as_ref())
            .and_then(|file| self.bearer_token(file));
        AdminConfig { bearer_token }
    }

    /// Reads and checks the token file; the error names the file and the
    /// line of `bearer_token_file`.
    fn bearer_token(&mut self, file: &Spanned<String>) -> Option<BearerToken> {
        let line = self.line(file.span().start);
        let path = self.in_file(file.get_ref());
        let content = match crate::http::files::read_file_limited(
            &path,
            MAX_TOKEN_FILE_BYTES,
            "bearer token file",
        ) {
            Ok(content) => content,
            Err(error) => return self.fail(line, format!("{error:#}")),
        };
        match BearerToken::parse(&content) {
            Ok(token) => Some(token),
            Err(error) => self.fail(line, format!("{}: {error}", path.display())),
        }
    }

    fn limits(&mut self, raw: &RawLimits) -> Limits {
        let mut limits = Limits::default();
        let verifier_max = crate::http::limits::MAX_LISTING_BYTES;
        if let Some(v) = &raw.max_header_bytes {
            let minimum = crate::http::limits::MIN_HEADER_BUFFER as u64;
            if *v.get_ref() < minimum {
                self.fail::<()>(
                    self.line(v.span().start),
                    format!("max_header_bytes must be at least {minimum}"),
                );
            }
            limits.max_header_bytes = self.positive(v).unwrap_or(limits.max_header_bytes);
        }
        if let Some(v) = &raw.max_listing_bytes {
            if *v.get_ref() > verifier_max {
                self.fail::<()>(
                    self.line(v.span().start),
                    format!("max_listing_bytes may not exceed the verifier's {verifier_max}"),
                );
            }
            limits.max_listing_bytes = *v.get_ref();
        }
        if let Some(v) = &raw.max_listing_bytes_in_flight {
            limits.max_listing_bytes_in_flight = *v.get_ref();
        }
        if limits.max_listing_bytes_in_flight < limits.max_listing_bytes {
            let line = raw
                .max_listing_bytes_in_flight
                .as_ref()
                .or(raw.max_listing_bytes.as_ref())
                .map_or(0, |v| self.line(v.span().start));
            self.fail::<()>(
                line,
                format!(
                    "max_listing_bytes_in_flight ({}) must be at least max_listing_bytes ({})",
                    limits.max_listing_bytes_in_flight, limits.max_listing_bytes
                ),
            );
        }
        if let Some(v) = &raw.max_artifact_bytes {
            limits.max_artifact_bytes = *v.get_ref();
        }
        if let Some(v) = &raw.max_spool_bytes {
            limits.max_spool_bytes = *v.get_ref();
        }
        if let Some(v) = &raw.min_body_bytes_per_second {
            limits.min_body_bytes_per_second = self
                .positive(v)
                .map_or(limits.min_body_bytes_per_second, |n| n as u64);
        }
        if let Some(v) = &raw.send_timeout_ms
            && self.positive(v).is_some()
        {
            limits.send_timeout = Duration::from_millis(*v.get_ref());
        }
        if let Some(v) = &raw.max_streams_per_connection {
            limits.max_streams_per_connection = self
                .positive(v)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(limits.max_streams_per_connection);
        }
        if let Some(v) = &raw.max_connections {
            limits.max_connections = self.positive(v).unwrap_or(limits.max_connections);
        }
        let ms = |v: &Option<Spanned<u64>>, default: Duration| {
            v.as_ref()
                .map_or(default, |v| Duration::from_millis(*v.get_ref()))
        };
        limits.header_timeout = ms(&raw.header_timeout_ms, limits.header_timeout);
        limits.body_idle_timeout = ms(&raw.body_idle_timeout_ms, limits.body_idle_timeout);
        limits.request_timeout = ms(&raw.request_timeout_ms, limits.request_timeout);
        limits.upstream_timeout = ms(&raw.upstream_timeout_ms, limits.upstream_timeout);
        limits.shutdown_grace = ms(&raw.shutdown_grace_ms, limits.shutdown_grace);
        if let Some(v) = &raw.verdict_cache_entries {
            limits.verdict_cache_entries = self.positive(v).unwrap_or(limits.verdict_cache_entries);
        }
        limits
    }

    fn routes(&mut self, raw: &[RawRoute], upstream: Option<&UpstreamConfig>) -> Vec<RouteRule> {
        if raw.is_empty() {
            return native_rules();
        }
        if let Some(UpstreamConfig::Dir(_)) = upstream {
            let line = raw.first().map_or(0, |r| self.line(r.method.span().start));
            self.fail::<()>(line, "[[routes]] apply to an HTTP upstream only".to_owned());
        }
        raw.iter().filter_map(|rule| self.route(rule)).collect()
    }

    fn route(&mut self, raw: &RawRoute) -> Option<RouteRule> {
        let method_line = self.line(raw.method.span().start);
        let method = Method::from_bytes(raw.method.get_ref().as_bytes())
            .ok()
            .or_else(|| self.fail(method_line, "not an HTTP method".to_owned()));
        let path_line = self.line(raw.path.span().start);
        let path = match PathPattern::parse(raw.path.get_ref()) {
            Ok(path) => Some(path),
            Err(message) => self.fail(path_line, message),
        };
        let kind_line = self.line(raw.kind.span().start);
        let kind = RouteKind::parse(raw.kind.get_ref()).or_else(|| {
            self.fail(
                kind_line,
                "kind must be listing-submission, artifact-upload, listing-read, catalog-read or download"
                    .to_owned(),
            )
        });
        let pointer = self.pointer("listing_pointer", raw.listing_pointer.as_ref());
        let listings_pointer = raw
            .listings_pointer
            .as_ref()
            .map(|p| self.pointer("listings_pointer", Some(p)));
        let (method, path, kind) = (method?, path?, kind?);
        if let Some(raw_pointer) = &raw.listings_pointer
            && kind != RouteKind::CatalogRead
        {
            return self.fail(
                self.line(raw_pointer.span().start),
                "listings_pointer applies to catalog-read rules only".to_owned(),
            );
        }
        let needs_digest = matches!(kind, RouteKind::ArtifactUpload | RouteKind::Download);
        if needs_digest && !path.captures(Capture::Digest) {
            return self.fail(
                path_line,
                format!("{path}: this kind needs a {{digest}} in the path"),
            );
        }
        Some(RouteRule {
            method,
            path,
            kind,
            listing_pointer: pointer,
            listings_pointer,
        })
    }

    /// A JSON pointer (RFC 6901) from the file: empty or starting with `/`.
    fn pointer(&mut self, key: &str, raw: Option<&Spanned<String>>) -> String {
        let Some(raw) = raw else {
            return String::new();
        };
        let pointer = raw.get_ref().clone();
        if !pointer.is_empty() && !pointer.starts_with('/') {
            self.fail::<()>(
                self.line(raw.span().start),
                format!("{key} is a JSON pointer (RFC 6901): empty or starting with /"),
            );
        }
        pointer
    }

    fn positive<T: Copy + TryInto<usize>>(&mut self, value: &Spanned<T>) -> Option<usize> {
        match (*value.get_ref()).try_into() {
            Ok(0) | Err(_) => self.fail(
                self.line(value.span().start),
                "must be at least 1".to_owned(),
            ),
            Ok(n) => Some(n),
        }
    }

    fn parse_with<T, E>(&mut self, line: usize, parsed: Result<T, E>, message: &str) -> Option<T> {
        parsed.ok().or_else(|| self.fail(line, message.to_owned()))
    }

    fn fail<T>(&mut self, line: usize, message: String) -> Option<T> {
        let file = if line == 0 && !self.text.is_empty() {
            format!("{} (or the command line)", self.name)
        } else {
            self.name.clone()
        };
        self.errors.push(error(&file, line, message));
        None
    }

    fn line(&self, offset: usize) -> usize {
        line_of(&self.text, offset)
    }
}

fn error(file: &str, line: usize, message: String) -> ConfigError {
    ConfigError {
        file: file.to_owned(),
        line,
        message,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests;

/// The PEM certificates of `path`: at least one, every block readable.
fn read_ca_certificates(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject;
    let iter = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
    let certificates = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not PEM certificates: {e}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!(
            "{}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certificates)
}
