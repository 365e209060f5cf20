use std::io::Write;

use super::*;

fn load(text: &str) -> Result<Config, Vec<ConfigError>> {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    Config::load(Some(file.path()), &Overrides::default())
}

#[test]
fn no_file_is_the_embedded_default() {
    let config = Config::load(None, &Overrides::default()).unwrap();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(
        config.upstream,
        UpstreamConfig::Dir(PathBuf::from("cragate-data/catalog"))
    );
    assert!(config.policy.is_none());
    assert_eq!(config.routes, native_rules());
    assert_eq!(config.limits, Limits::default());
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let errors = load("listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 2, "{errors:?}");
    assert!(errors[0].message.contains("listen_port"), "{errors:?}");
}

#[test]
fn every_error_is_reported_at_once() {
    let text = "listen = \"nowhere\"\nupstream = \"ftp://x\"\n[limits]\nmax_connections = 0\nmax_header_bytes = 100\n";
    let errors = load(text).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![1, 2, 4, 5], "{errors:?}");
}

#[test]
fn command_line_wins_over_the_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"listen = \"127.0.0.1:1\"\n").unwrap();
    let overrides = Overrides {
        listen: Some("127.0.0.1:2".into()),
        upstream: Some("http://127.0.0.1:9".into()),
        ..Overrides::default()
    };
    let config = Config::load(Some(file.path()), &overrides).unwrap();
    assert_eq!(config.listen.port(), 2);
    assert!(matches!(config.upstream, UpstreamConfig::Http(_)));
}

#[test]
fn route_rules_are_checked() {
    let text = r#"
upstream = "http://127.0.0.1:9"
[[routes]]
method = "PUT"
path = "/store/artifacts/{name}"
kind = "download"
[[routes]]
method = "PUT"
path = "/store/listings/{id}.json"
kind = "listing-submission"
listing_pointer = "listing"
"#;
    let errors = load(text).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![5, 11], "{errors:?}");
}

#[test]
fn routes_need_an_http_upstream() {
    let text = "[[routes]]\nmethod = \"GET\"\npath = \"/x\"\nkind = \"catalog-read\"\n";
    let errors = load(text).unwrap_err();
    assert!(errors[0].message.contains("HTTP upstream"), "{errors:?}");
}

#[test]
fn the_bearer_token_is_read_from_its_file_and_a_short_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, "0123456789abcdef0123456789abcdef\n").unwrap();
    let config = load(&format!("[admin]\nbearer_token_file = {good:?}\n")).unwrap();
    let token = config.admin.bearer_token.unwrap();
    assert!(token.matches(b"0123456789abcdef0123456789abcdef"));

    let short = dir.path().join("short");
    std::fs::write(&short, "0123456789abcdef\n").unwrap();
    let text = format!("listen = \"127.0.0.1:1\"\n[admin]\nbearer_token_file = {short:?}\n");
    let errors = load(&text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 3, "{errors:?}");
    assert!(errors[0].message.contains("16 bytes"), "{errors:?}");
    assert!(errors[0].to_string().contains(":3: "), "{errors:?}");
    assert!(
        errors[0].message.contains(&short.display().to_string()),
        "{errors:?}"
    );

    let missing = dir.path().join("missing");
    let errors = load(&format!("[admin]\nbearer_token_file = {missing:?}\n")).unwrap_err();
    assert_eq!(errors[0].line, 2, "{errors:?}");
    assert!(load("[admin]\ntoken = \"x\"\n").is_err());
}

#[test]
fn relative_paths_in_a_file_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("etc");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("token"), "a".repeat(40)).unwrap();
    let file = folder.join("cragate.toml");
    std::fs::write(
        &file,
        "data_dir = \"state\"\npolicy = \"policies/store.toml\"\n[admin]\nbearer_token_file = \"token\"\n",
    )
    .unwrap();
    let config = Config::load(Some(&file), &Overrides::default()).unwrap();
    assert_eq!(config.data_dir, folder.join("state"));
    assert_eq!(config.policy, Some(folder.join("policies/store.toml")));
    assert_eq!(
        config.upstream,
        UpstreamConfig::Dir(folder.join("state").join("catalog"))
    );

    let overrides = Overrides {
        data_dir: Some("elsewhere".to_owned()),
        ..Overrides::default()
    };
    let config = Config::load(Some(&file), &overrides).unwrap();
    assert_eq!(config.data_dir, PathBuf::from("elsewhere"));
}

#[test]
fn workers_default_to_one_per_core_and_zero_is_refused() {
    let config = Config::load(None, &Overrides::default()).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(config.workers, cores);
    assert_eq!(load("workers = 3\n").unwrap().workers, 3);
    let errors = load("listen = \"127.0.0.1:1\"\nworkers = 0\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 2, "{errors:?}");
}

#[test]
fn listings_pointer_belongs_to_catalog_reads() {
    let head = "upstream = \"http://127.0.0.1:1\"\n[[routes]]\nmethod = \"GET\"\npath = \"/p\"\n";
    let config = load(&format!(
        "{head}kind = \"catalog-read\"\nlistings_pointer = \"/items\"\n"
    ))
    .unwrap();
    assert_eq!(config.routes[0].listings_pointer.as_deref(), Some("/items"));
    let errors = load(&format!(
        "{head}kind = \"listing-read\"\nlistings_pointer = \"/items\"\n"
    ))
    .unwrap_err();
    assert_eq!(errors[0].line, 6, "{errors:?}");
    let errors = load(&format!(
        "{head}kind = \"catalog-read\"\nlistings_pointer = \"items\"\n"
    ))
    .unwrap_err();
    assert!(errors[0].message.contains("listings_pointer"), "{errors:?}");
}

#[test]
fn the_listing_budget_in_flight_holds_at_least_one_listing() {
    let config =
        load("[limits]\nmax_listing_bytes_in_flight = 1048576\nmax_listing_bytes = 4096\n")
            .unwrap();
    assert_eq!(config.limits.max_listing_bytes_in_flight, 1 << 20);
    let errors = load("[limits]\nmax_listing_bytes = 8192\nmax_listing_bytes_in_flight = 4096\n")
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 3, "{errors:?}");
    assert!(
        errors[0].message.contains("at least max_listing_bytes"),
        "{errors:?}"
    );
}

#[test]
fn an_oci_ca_file_must_hold_pem_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let text = format!("[oci]\nupstream = \"https://127.0.0.1:5000\"\nca_file = {empty:?}\n");
    let errors = load(&text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 3, "{errors:?}");
    assert!(
        errors[0].message.contains("holds no PEM certificate"),
        "{errors:?}"
    );
    let missing = dir.path().join("missing.pem");
    let text = format!("[oci]\nupstream = \"https://127.0.0.1:5000\"\nca_file = {missing:?}\n");
    let errors = load(&text).unwrap_err();
    assert!(
        errors[0].message.contains("cannot read the CA file"),
        "{errors:?}"
    );
    let config = load("[oci]\nupstream = \"https://127.0.0.1:5000\"\n").unwrap();
    assert!(config.oci.unwrap().ca_certificates.is_empty());
}
