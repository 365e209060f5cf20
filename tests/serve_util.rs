//! Helpers for the `cragate serve` end-to-end tests: the real `cragate`
//! binary, a real nginx as the HTTP upstream and curl as the client, all on
//! 127.0.0.1 with ports picked at run time.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::util::testdata;

/// The example listing the app-store policy accepts, and its artifact.
pub fn accepted_listing() -> PathBuf {
    testdata().join("examples/accepted-listing.json")
}

/// The artifact the accepted listing declares.
pub fn accepted_artifact() -> PathBuf {
    testdata().join("examples/accepted-artifact.bin")
}

/// A listing the app-store policy rejects.
pub fn rejected_listing() -> PathBuf {
    testdata().join("cra/app_store_class_ii_fail/listing.json")
}

/// `sha256:<hex>` of a file's bytes, computed by coreutils.
pub fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

/// `sha256:<hex>` of `bytes`, computed by coreutils.
pub fn sha256_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes");
    std::fs::write(&path, bytes).unwrap();
    sha256(&path)
}

/// A running `cragate serve`, stopped when dropped.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Holds the data folder and anything the test writes.
    pub dir: TempDir,
}

impl Gateway {
    /// Starts `cragate serve --listen 127.0.0.1:0 --data-dir DIR/data ARGS`
    /// and waits for it to say where it listens.
    pub fn start(args: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), args)
    }

    /// The same, in a folder the test prepared.
    pub fn start_in(dir: TempDir, args: &[&str]) -> Self {
        let data = dir.path().join("data");
        let mut all = vec!["--data-dir", data.to_str().unwrap()];
        all.extend_from_slice(args);
        Self::spawn(dir, &all)
    }

    /// Starts `cragate serve --listen 127.0.0.1:0 ARGS`, where ARGS name the
    /// data folder (`--data-dir`), so that it outlives the process and a
    /// restart finds what the last one stored.
    pub fn start_separate(args: &[&str]) -> Self {
        Self::spawn(tempfile::tempdir().unwrap(), args)
    }

    /// [`Self::start_separate`] on a given address, for a gateway that
    /// others must find again after a restart.
    pub fn start_separate_on(listen: &str, args: &[&str]) -> Self {
        Self::spawn_on(tempfile::tempdir().unwrap(), listen, args)
    }

    fn spawn(dir: TempDir, args: &[&str]) -> Self {
        Self::spawn_on(dir, "127.0.0.1:0", args)
    }

    fn spawn_on(dir: TempDir, listen: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cragate"))
            .arg("serve")
            .args(["--listen", listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let status = child.wait().unwrap();
            panic!("cragate serve did not start ({status}): {line:?}");
        };
        Self {
            base: base.to_owned(),
            child,
            dir,
        }
    }

    /// A URL on the gateway.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The data folder.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Sends SIGTERM (by the child's own pid).
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Kills the process with SIGKILL (by the child's own pid) and reaps it.
    pub fn sigkill(&mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "cragate did not exit in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The admin bearer token of gateways started with [`Gateway::with_config`].
pub const ADMIN_TOKEN: &str = "5b0e3c9f1a7d4e2f8b6a1c3d5e7f9a0b2c4d6e8f";

/// Route rules for the `/store/` folder of [`Nginx`]: listings as
/// `/store/listings/{id}.json`, artifacts as `/store/artifacts/{digest}`.
pub const STORE_ROUTES: &str = r#"
[[routes]]
method = "PUT"
path = "/store/listings/{id}.json"
kind = "listing-submission"

[[routes]]
method = "GET"
path = "/store/listings/{id}.json"
kind = "listing-read"

[[routes]]
method = "GET"
path = "/store/listings/"
kind = "catalog-read"

[[routes]]
method = "PUT"
path = "/store/artifacts/{digest}"
kind = "artifact-upload"

[[routes]]
method = "GET"
path = "/store/artifacts/{digest}"
kind = "download"
"#;

impl Gateway {
    /// Starts with `config` as its configuration file, and `[admin]`
    /// opening the admin routes with [`ADMIN_TOKEN`].
    pub fn with_config(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("admin-token");
        std::fs::write(&token, format!("{ADMIN_TOKEN}\n")).unwrap();
        let path = dir.path().join("cragate.toml");
        let text = format!(
            "{config}\n[admin]\nbearer_token_file = {:?}\n",
            token.display().to_string()
        );
        std::fs::write(&path, text).unwrap();
        Self::start_in(dir, &["--config", path.to_str().unwrap()])
    }

    /// Fronts `nginx` with [`STORE_ROUTES`], `extra` before them (top-level
    /// keys, `[limits]`, more rules), admin routes open with [`ADMIN_TOKEN`].
    pub fn fronting(nginx: &Nginx, extra: &str) -> Self {
        Self::with_config(&format!(
            "upstream = \"http://127.0.0.1:{}\"\n{extra}\n{STORE_ROUTES}",
            nginx.port
        ))
    }

    /// A GET of an admin route with [`ADMIN_TOKEN`].
    pub fn admin(&self, path: &str) -> Reply {
        let header = format!("Authorization: Bearer {ADMIN_TOKEN}");
        curl(&self.url(path), &["-H", &header])
    }

    /// Fails when the ledger records anything.
    pub fn assert_ledger_empty(&self) {
        let records = self.ledger();
        assert!(
            records.is_empty(),
            "the ledger records {:?}",
            kinds(&records)
        );
    }

    /// Every record on the ledger, read through the admin API.
    pub fn ledger(&self) -> Vec<Value> {
        let reply = self.admin("/v1/admin/ledger/entries");
        assert_eq!(reply.status, 200, "{reply:?}");
        let found = reply.json();
        assert_eq!(found["truncated"], false);
        found["entries"].as_array().unwrap().clone()
    }
}

/// The `kind` of each ledger record, in order.
pub fn kinds(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["body"]["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The accepted listing as JSON, to alter.
pub fn accepted_json() -> Value {
    serde_json::from_slice(&std::fs::read(accepted_listing()).unwrap()).unwrap()
}

/// The rejected listing as JSON, to alter.
pub fn rejected_json() -> Value {
    serde_json::from_slice(&std::fs::read(rejected_listing()).unwrap()).unwrap()
}

/// Sends `body` with `method` to `url` as JSON.
pub fn send_json(method: &str, url: &str, body: &[u8]) -> Reply {
    send_json_with(method, url, body, &[])
}

/// [`send_json`] with more curl arguments.
pub fn send_json_with(method: &str, url: &str, body: &[u8], extra: &[&str]) -> Reply {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.json");
    std::fs::write(&path, body).unwrap();
    let data = format!("@{}", path.display());
    let mut args = vec![
        "-X",
        method,
        "-H",
        "content-type: application/json",
        "--data-binary",
        &data,
    ];
    args.extend_from_slice(extra);
    curl(url, &args)
}

/// The accepted listing with another `product.id`.
pub fn accepted_with_id(id: &str) -> Vec<u8> {
    let mut listing = accepted_json();
    listing["product"]["id"] = Value::String(id.to_owned());
    serde_json::to_vec(&listing).unwrap()
}

/// A rule for catalog pages of [`Nginx`] under `/store/pages/` that carry
/// listings: entries under `/items`, each with its listing at `/listing`.
pub const PAGES_ROUTE: &str = r#"
[[routes]]
method = "GET"
path = "/store/pages/{id}.json"
kind = "catalog-read"
listings_pointer = "/items"
listing_pointer = "/listing"
"#;

/// A running nginx serving a writable folder under `/store/` (WebDAV PUT),
/// stopped when dropped.
pub struct Nginx {
    child: Child,
    /// Its port.
    pub port: u16,
    /// The folder whose `store/` it serves.
    pub root: PathBuf,
    _dir: TempDir,
}

/// Where Debian's nginx package puts the binary.
const NGINX: &str = "/usr/sbin/nginx";

impl Nginx {
    /// Starts nginx on a free port.
    pub fn start() -> Self {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: install the nginx package (scripts/test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("store/listings")).unwrap();
        std::fs::create_dir_all(root.join("store/artifacts")).unwrap();
        let port = free_port();
        let prefix = dir.path().display().to_string();
        let config = format!(
            r#"worker_processes 1;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /store/ {{
      root {root};
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
      autoindex on;
      autoindex_format json;
    }}
  }}
}}
"#,
            root = root.display()
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        // One process (no master, no workers): stopping it by its pid stops it
        // all. `user root;` only matters when the tests run as root.
        let globals = format!(
            "daemon off; master_process off; pid {prefix}/nginx.pid; error_log stderr; user root;"
        );
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .args(["-g", &globals])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        Self {
            child,
            port,
            root,
            _dir: dir,
        }
    }

    /// Stops it (by its own pid) and waits until the port is closed.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What curl received.
pub struct Reply {
    /// HTTP status, 0 when there was none.
    pub status: u16,
    /// The response head as text (lower-case it to search).
    pub head: String,
    /// The body.
    pub body: Vec<u8>,
    /// curl's exit code.
    pub exit: i32,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(2000).collect();
        write!(
            f,
            "status {} (curl exit {})\n{}{body}",
            self.status, self.exit, self.head
        )
    }
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        let name = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&name))
            .map(|l| l[name.len()..].trim().to_owned())
    }
}

/// Runs curl with `args` against `url`.
pub fn curl(url: &str, args: &[&str]) -> Reply {
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("head");
    let body = dir.path().join("body");
    let output = Command::new("curl")
        .args(["-s", "-S", "--max-time", "60", "-w", "%{http_code}", "-D"])
        .arg(&head)
        .arg("-o")
        .arg(&body)
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs (scripts/test installs it)");
    Reply {
        status: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        head: std::fs::read_to_string(&head).unwrap_or_default(),
        body: std::fs::read(&body).unwrap_or_default(),
        exit: output.status.code().unwrap_or(-1),
    }
}

/// Uploads a file with PUT (streamed by curl).
pub fn put_file(url: &str, path: &Path, extra: &[&str]) -> Reply {
    let mut args = vec!["-T", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    curl(url, &args)
}

/// POSTs a file as the body.
pub fn post_file(url: &str, path: &Path) -> Reply {
    let data = format!("@{}", path.display());
    curl(
        url,
        &[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
            &data,
        ],
    )
}

/// A copy of the accepted listing whose artifacts are the given files.
pub fn listing_with_artifacts(dir: &Path, id: &str, artifacts: &[&Path]) -> PathBuf {
    let mut listing: Value =
        serde_json::from_slice(&std::fs::read(accepted_listing()).unwrap()).unwrap();
    let artifacts: Vec<Value> = artifacts
        .iter()
        .map(|path| {
            serde_json::json!({
                "name": path.file_name().unwrap().to_str().unwrap(),
                "digest": sha256(path),
                "size": std::fs::metadata(path).unwrap().len(),
            })
        })
        .collect();
    listing["artifacts"] = Value::Array(artifacts);
    listing["product"]["id"] = Value::String(id.to_owned());
    let path = dir.join(format!("{id}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&listing).unwrap()).unwrap();
    path
}

/// A file of `size` bytes of a repeating pattern seeded by `seed`.
pub fn pattern_file(dir: &Path, name: &str, size: usize, seed: u8) -> PathBuf {
    let bytes: Vec<u8> = (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// For hand-written test upstreams: reads one request (line, headers, a
/// `Content-Length` body) and returns its request line; `None` once the
/// connection has ended.
pub fn read_request(reader: &mut impl std::io::BufRead) -> Option<String> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    Some(request_line)
}
