//! `[[customers]]` and `[[suppliers]]`: whom the gateway tells of a halt
//! notice and who may tell it of one (CRA Art. 19(5), 20(4): importers and
//! distributors inform those they supplied; Art. 23: they keep who those
//! are). The raw tables are in [`super::raw`]; this file validates them:
//! ids unique and usable, webhook URLs `https` (or `http` to a loopback
//! address), secrets and tokens read from their files and checked.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use http::{HeaderValue, Uri};
use serde::Deserialize;
use toml::Spanned;

use super::Validator;
use crate::http::auth::{BearerToken, MAX_TOKEN_FILE_BYTES};
use crate::http::webhook::WebhookSecret;

/// Longest partner id, in bytes (the ledger's operator id limit).
pub const MAX_PARTNER_ID_BYTES: usize = 256;
/// Largest secret file read, in bytes.
const MAX_SECRET_FILE_BYTES: usize = 1024;
/// How often a supplier's feed is polled when `feed_interval_ms` is not set.
pub const DEFAULT_FEED_INTERVAL: Duration = Duration::from_secs(5);
/// Shortest feed interval accepted: polling faster only loads the supplier.
pub const MIN_FEED_INTERVAL: Duration = Duration::from_millis(100);

/// `[[customers]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomer {
    /// The customer's operator id: `counterparty.id` of outbound supply links.
    pub id: Spanned<String>,
    /// Where notifications are delivered; absent for a customer that pulls.
    pub webhook: Option<Spanned<String>>,
    /// File holding the Standard Webhooks secret shared with the customer.
    pub secret_file: Spanned<String>,
    /// File holding the bearer token the customer presents to
    /// `GET /v1/notifications/feed`.
    pub feed_token_file: Option<Spanned<String>>,
}

/// `[[suppliers]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSupplier {
    /// The supplier's operator id.
    pub id: Spanned<String>,
    /// File holding the Standard Webhooks secret its notifications are signed with.
    pub secret_file: Spanned<String>,
    /// The supplier's `GET /v1/notifications/feed` URL, to poll.
    pub feed: Option<Spanned<String>>,
    /// File holding the bearer token for the feed.
    pub feed_token_file: Option<Spanned<String>>,
    /// Milliseconds between polls of the feed.
    pub feed_interval_ms: Option<Spanned<u64>>,
}

/// A customer, validated.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Its operator id.
    pub id: String,
    /// Where to deliver, if it takes pushes.
    pub webhook: Option<Uri>,
    /// The shared secret.
    pub secret: WebhookSecret,
    /// The token opening its feed, if it pulls.
    pub feed_token: Option<BearerToken>,
}

/// A supplier, validated.
#[derive(Debug, Clone)]
pub struct Supplier {
    /// Its operator id.
    pub id: String,
    /// The shared secret.
    pub secret: WebhookSecret,
    /// Its feed, when this gateway pulls from it.
    pub feed: Option<Feed>,
}

/// A supplier's feed to poll.
#[derive(Debug, Clone)]
pub struct Feed {
    /// `.../v1/notifications/feed`.
    pub url: Uri,
    /// `Authorization: Bearer <the token>`, marked sensitive so that it is
    /// never logged.
    pub authorization: HeaderValue,
    /// Time between polls.
    pub interval: Duration,
}

/// Both lists.
#[derive(Debug, Clone, Default)]
pub struct Partners {
    /// `[[customers]]`.
    pub customers: Vec<Customer>,
    /// `[[suppliers]]`.
    pub suppliers: Vec<Supplier>,
}

impl Validator {
    /// Validates both lists, every problem reported with its line.
    pub(super) fn partners(
        &mut self,
        customers: &[RawCustomer],
        suppliers: &[RawSupplier],
    ) -> Partners {
        let mut seen = HashSet::new();
        let customers = customers
            .iter()
            .filter_map(|raw| {
                let id = self.partner_id("customers", &raw.id, &mut seen);
                let webhook = raw.webhook.as_ref().and_then(|w| self.webhook(w));
                let secret = self.secret(&raw.secret_file);
                let feed_token = raw.feed_token_file.as_ref().map(|f| self.token_file(f));
                if raw.webhook.is_none() && raw.feed_token_file.is_none() {
                    self.fail::<()>(
                        self.line(raw.id.span().start),
                        format!(
                            "customer {:?} needs a webhook or a feed_token_file, or it cannot be told",
                            raw.id.get_ref()
                        ),
                    );
                }
                let feed_token = match feed_token {
                    Some(None) => return None,
                    Some(Some(token)) => Some(token),
                    None => None,
                };
                let webhook = match (&raw.webhook, webhook) {
                    (Some(_), None) => return None,
                    (_, webhook) => webhook,
                };
                Some(Customer {
                    id: id?,
                    webhook,
                    secret: secret?,
                    feed_token,
                })
            })
            .collect();
        let mut seen = HashSet::new();
        let suppliers = suppliers
            .iter()
            .filter_map(|raw| {
                let id = self.partner_id("suppliers", &raw.id, &mut seen);
                let secret = self.secret(&raw.secret_file);
                let feed = self.feed(raw);
                Some(Supplier {
                    id: id?,
                    secret: secret?,
                    feed: feed?,
                })
            })
            .collect();
        Partners {
            customers,
            suppliers,
        }
    }

    fn partner_id(
        &mut self,
        table: &str,
        raw: &Spanned<String>,
        seen: &mut HashSet<String>,
    ) -> Option<String> {
        let line = self.line(raw.span().start);
        let id = raw.get_ref();
        let usable =
            !id.is_empty() && id.len() <= MAX_PARTNER_ID_BYTES && !id.chars().any(char::is_control);
        if !usable {
            return self.fail(
                line,
                format!("[[{table}]] id {id:?} must be 1 to {MAX_PARTNER_ID_BYTES} bytes without control characters"),
            );
        }
        if !seen.insert(id.clone()) {
            return self.fail(line, format!("[[{table}]] id {id:?} is given twice"));
        }
        Some(id.clone())
    }

    /// A webhook URL: `https://`, or `http://` to a loopback address.
    fn webhook(&mut self, raw: &Spanned<String>) -> Option<Uri> {
        let line = self.line(raw.span().start);
        let text = raw.get_ref();
        let Ok(uri) = text.parse::<Uri>() else {
            return self.fail(line, format!("webhook {text:?} is not a URL"));
        };
        check_endpoint(&uri).map_or(Some(uri), |reason| {
            self.fail(line, format!("webhook {text:?} {reason}"))
        })
    }

    fn secret(&mut self, file: &Spanned<String>) -> Option<WebhookSecret> {
        let line = self.line(file.span().start);
        let path = self.in_file(file.get_ref());
        let bytes = match crate::http::files::read_file_limited(
            &path,
            MAX_SECRET_FILE_BYTES,
            "webhook secret file",
        ) {
            Ok(bytes) => bytes,
            Err(error) => return self.fail(line, format!("{error:#}")),
        };
        let parsed = std::str::from_utf8(&bytes).ok().map(WebhookSecret::parse);
        match parsed {
            Some(Ok(secret)) => Some(secret),
            Some(Err(error)) => self.fail(line, format!("{}: {error}", path.display())),
            None => self.fail(line, format!("{}: not UTF-8", path.display())),
        }
    }

    fn token_file(&mut self, file: &Spanned<String>) -> Option<BearerToken> {
        let line = self.line(file.span().start);
        let path = self.in_file(file.get_ref());
        match crate::http::files::read_file_limited(&path, MAX_TOKEN_FILE_BYTES, "feed token file")
        {
            Ok(content) => match BearerToken::parse(&content) {
                Ok(token) => Some(token),
                Err(error) => self.fail(line, format!("{}: {error}", path.display())),
            },
            Err(error) => self.fail(line, format!("{error:#}")),
        }
    }

    /// A token this gateway presents: the same syntax and length a token
    /// it accepts must have, as an `Authorization` header value.
    fn presented_token(&mut self, file: &Spanned<String>) -> Option<HeaderValue> {
        let line = self.line(file.span().start);
        let path = self.in_file(file.get_ref());
        let content = match crate::http::files::read_file_limited(
            &path,
            MAX_TOKEN_FILE_BYTES,
            "feed token file",
        ) {
            Ok(content) => content,
            Err(error) => return self.fail(line, format!("{error:#}")),
        };
        if let Err(error) = BearerToken::parse(&content) {
            return self.fail(line, format!("{}: {error}", path.display()));
        }
        let token = String::from_utf8_lossy(&content);
        let token = token.trim_end_matches(['\n', '\r']);
        match HeaderValue::from_str(&format!("Bearer {token}")) {
            Ok(mut value) => {
                value.set_sensitive(true);
                Some(value)
            }
            Err(error) => self.fail(line, format!("{}: {error}", path.display())),
        }
    }

    /// The feed of a supplier: `feed` and `feed_token_file` together, the
    /// interval only with them. `Some(None)` is no feed.
    fn feed(&mut self, raw: &RawSupplier) -> Option<Option<Feed>> {
        let Some(url) = &raw.feed else {
            let stray = raw
                .feed_token_file
                .as_ref()
                .map(|f| f.span().start)
                .or(raw.feed_interval_ms.as_ref().map(|f| f.span().start));
            if let Some(at) = stray {
                return self.fail(
                    self.line(at),
                    "feed_token_file and feed_interval_ms need feed = URL".to_owned(),
                );
            }
            return Some(None);
        };
        let url_line = self.line(url.span().start);
        let uri = match url.get_ref().parse::<Uri>() {
            Ok(uri) => match check_endpoint(&uri) {
                None => Some(uri),
                Some(reason) => self.fail(url_line, format!("feed {:?} {reason}", url.get_ref())),
            },
            Err(_) => self.fail(url_line, format!("feed {:?} is not a URL", url.get_ref())),
        };
        if uri.as_ref().is_some_and(|u| u.query().is_some()) {
            return self.fail(
                url_line,
                format!(
                    "feed {:?} has a query: name the feed itself, cragate adds after=N",
                    url.get_ref()
                ),
            );
        }
        let authorization = match &raw.feed_token_file {
            Some(file) => self.presented_token(file),
            None => self.fail(url_line, "feed needs feed_token_file".to_owned()),
        };
        let interval = match &raw.feed_interval_ms {
            None => Some(DEFAULT_FEED_INTERVAL),
            Some(ms) => {
                let interval = Duration::from_millis(*ms.get_ref());
                if interval < MIN_FEED_INTERVAL {
                    self.fail(
                        self.line(ms.span().start),
                        format!(
                            "feed_interval_ms must be at least {}",
                            MIN_FEED_INTERVAL.as_millis()
                        ),
                    )
                } else {
                    Some(interval)
                }
            }
        };
        Some(Some(Feed {
            url: uri?,
            authorization: authorization?,
            interval: interval?,
        }))
    }
}

/// Why `uri` may not be a notification endpoint, `None` when it may: it
/// needs a host and either `https` or `http` to a loopback address (a test,
/// or a sidecar on the same machine); a notice must not cross a network in
/// the clear.
pub fn check_endpoint(uri: &Uri) -> Option<&'static str> {
    let Some(host) = uri.host() else {
        return Some("has no host");
    };
    match uri.scheme_str() {
        Some("https") => None,
        Some("http") if is_loopback(host) => None,
        Some("http") => Some("is plain http to a host that is not loopback: use https"),
        _ => Some("must be https:// (or http:// to a loopback address)"),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError, Overrides};
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const TOKEN: &str = "feed-token-0123456789abcdef0123456789abcdef";

    fn load(text: &str) -> Result<Config, Vec<ConfigError>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.whsec"), SECRET).unwrap();
        std::fs::write(dir.path().join("bad.whsec"), "not a secret").unwrap();
        std::fs::write(dir.path().join("feed.token"), TOKEN).unwrap();
        let file = dir.path().join("cragate.toml");
        std::fs::write(&file, text).unwrap();
        Config::load(Some(&file), &Overrides::default())
    }

    #[test]
    fn customers_and_suppliers_are_read() {
        let config = load(concat!(
            "[[customers]]\nid = \"reseller-nord\"\n",
            "webhook = \"http://127.0.0.1:9/v1/notifications\"\n",
            "secret_file = \"good.whsec\"\n",
            "[[customers]]\nid = \"puller\"\nsecret_file = \"good.whsec\"\n",
            "feed_token_file = \"feed.token\"\n",
            "[[suppliers]]\nid = \"nordlicht-import\"\nsecret_file = \"good.whsec\"\n",
            "feed = \"https://import.example/v1/notifications/feed\"\n",
            "feed_token_file = \"feed.token\"\nfeed_interval_ms = 250\n",
        ))
        .unwrap();
        let partners = &config.partners;
        assert_eq!(partners.customers.len(), 2);
        assert_eq!(partners.customers[0].id, "reseller-nord");
        assert!(partners.customers[0].webhook.is_some());
        assert!(partners.customers[1].feed_token.is_some());
        let feed = partners.suppliers[0].feed.as_ref().unwrap();
        assert_eq!(feed.interval, Duration::from_millis(250));
    }

    #[test]
    fn every_partner_error_is_listed_with_its_line() {
        let errors = load(concat!(
            "[[customers]]\n",                                       // 1
            "id = \"a\"\n",                                          // 2
            "webhook = \"http://shop.example/hook\"\n",              // 3
            "secret_file = \"bad.whsec\"\n",                         // 4
            "[[customers]]\n",                                       // 5
            "id = \"a\"\n",                                          // 6
            "secret_file = \"missing.whsec\"\n",                     // 7
            "[[suppliers]]\n",                                       // 8
            "id = \"s\"\n",                                          // 9
            "secret_file = \"good.whsec\"\n",                        // 10
            "feed = \"https://up.example/v1/notifications/feed\"\n", // 11
            "feed_interval_ms = 5\n",                                // 12
        ))
        .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 6, 6, 7, 11, 12], "{errors:#?}");
        let text = format!("{errors:?}");
        assert!(text.contains("not loopback"), "{text}");
        assert!(text.contains("given twice"), "{text}");
        assert!(
            text.contains("needs a webhook or a feed_token_file"),
            "{text}"
        );
        assert!(text.contains("feed needs feed_token_file"), "{text}");
    }

    #[test]
    fn unknown_partner_keys_are_refused() {
        let errors =
            load("[[customers]]\nid = \"a\"\nsecret_file = \"good.whsec\"\nhook = \"x\"\n")
                .unwrap_err();
        assert!(errors[0].message.contains("hook"), "{errors:?}");
    }

    #[test]
    fn endpoints_are_https_or_loopback_http() {
        let ok = |s: &str| check_endpoint(&s.parse().unwrap()).is_none();
        assert!(ok("https://reseller.example/v1/notifications"));
        assert!(ok("http://127.0.0.1:9000/v1/notifications"));
        assert!(ok("http://[::1]:9000/v1/notifications"));
        assert!(ok("http://localhost:9000/"));
        assert!(!ok("http://reseller.example/v1/notifications"));
        assert!(!ok("http://10.0.0.1/"));
        assert!(!ok("ftp://127.0.0.1/"));
        assert!(!ok("/v1/notifications"));
    }
}
