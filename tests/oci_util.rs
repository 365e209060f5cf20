//! Helpers for the registry-gate tests: the CNCF distribution registry
//! (Debian `docker-registry`) on 127.0.0.1 with a port picked at run time,
//! pushes over plain HTTP with curl, skopeo as the pulling client, and the
//! test signer's images and cosign signatures.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cragate_test_signer::oci::{CosignRequest, Pushable};
use cragate_test_signer::{DEFAULT_SEED, Identity, Instance, San, cases};
use tempfile::TempDir;

use crate::serve_util::{Reply, curl, free_port};

/// Where Debian's docker-registry package puts the binary.
const REGISTRY: &str = "/usr/bin/docker-registry";

/// A running registry, stopped by its pid when dropped.
pub struct Registry {
    child: Child,
    /// Its port.
    pub port: u16,
    _dir: TempDir,
}

impl Registry {
    /// Starts a registry storing into a temporary folder.
    pub fn start() -> Self {
        Self::start_with("", "")
    }

    /// Starts a registry with `http` added to its `http:` section and
    /// `top` to its top level (`tls:`, `auth:`; YAML, indented as such).
    pub fn start_with(http: &str, top: &str) -> Self {
        assert!(
            Path::new(REGISTRY).exists(),
            "{REGISTRY} is missing: install the docker-registry package (scripts/test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{http}{top}",
            dir.path().join("storage").display()
        );
        let path = dir.path().join("config.yml");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port);
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pushes `pushable`'s blobs and then its manifest to `repository` on the
/// registry at `base`, under `reference` (a tag; its digest when `None`
/// and it has no tag of its own).
pub fn push(base: &str, repository: &str, pushable: &Pushable, reference: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    for blob in &pushable.blobs {
        let started = curl(
            &format!("{base}/v2/{repository}/blobs/uploads/"),
            &["-X", "POST"],
        );
        assert_eq!(started.status, 202, "{started:?}");
        let location = started.header("location").unwrap();
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let file = dir.path().join("blob");
        std::fs::write(&file, &blob.bytes).unwrap();
        let done = curl(
            &format!("{location}{separator}digest={}", blob.digest),
            &[
                "-X",
                "PUT",
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                &format!("@{}", file.display()),
            ],
        );
        assert_eq!(done.status, 201, "{done:?}");
    }
    let reference = reference
        .map(str::to_owned)
        .or_else(|| pushable.tag.clone())
        .unwrap_or_else(|| pushable.manifest.digest.clone());
    let put = put_manifest(base, repository, &reference, pushable);
    assert_eq!(put.status, 201, "{put:?}");
}

/// `PUT` of `pushable`'s manifest to `repository` under `reference` on the
/// registry (or gateway) at `base`, with its media type; the reply.
pub fn put_manifest(base: &str, repository: &str, reference: &str, pushable: &Pushable) -> Reply {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifest");
    std::fs::write(&file, &pushable.manifest.bytes).unwrap();
    curl(
        &format!("{base}/v2/{repository}/manifests/{reference}"),
        &[
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {}", pushable.media_type),
            "--data-binary",
            &format!("@{}", file.display()),
        ],
    )
}

/// `skopeo copy dir:SOURCE docker://TARGET` over plain HTTP: a push.
pub fn skopeo_push(source: &Path, target: &str) -> Output {
    Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            "--retry-times=0",
        ])
        .arg(format!("dir:{}", source.display()))
        .arg(format!("docker://{target}"))
        .output()
        .expect("skopeo runs (scripts/test installs it)")
}

/// `skopeo copy docker://SOURCE dir:TARGET` over plain HTTP.
pub fn skopeo_copy(source: &str, target: &Path) -> Output {
    Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            "--retry-times=0",
        ])
        .arg(format!("docker://{source}"))
        .arg(format!("dir:{}", target.display()))
        .output()
        .expect("skopeo runs (scripts/test installs it)")
}

/// Every file of a `dir:` copy, by name, with its bytes.
pub fn copied_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The test signer's instance.
pub fn instance() -> Instance {
    Instance::from_seed(DEFAULT_SEED, cases::instance_start().unwrap()).unwrap()
}

/// A signer by `email`, at the committed vectors' signing time.
pub fn signer(email: &str) -> CosignRequest {
    CosignRequest {
        identity: Identity::new(
            San::Email(email.to_owned()),
            "https://accounts.acme.example",
        ),
        signed_at: cases::signing_time().unwrap(),
    }
}

/// The release identity the test policy trusts for ACME.
pub const ACME: &str = "release@acme.example";

/// Writes the test policy and trusted root into `dir`; returns the policy.
pub fn write_policy(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("trusted_root.json"),
        instance().trusted_root_json().unwrap(),
    )
    .unwrap();
    let policy = format!(
        r#"format = "cragate.policy/v1"
name = "registry"
[trust]
sigstore_roots = ["trusted_root.json"]
[[manufacturers]]
name = "ACME Devices GmbH"
[[manufacturers.identities]]
san = "{ACME}"
issuer = "https://accounts.acme.example"
[[oci.repositories]]
name = "acme/*"
manufacturer = "ACME Devices GmbH"
attestations = ["https://cragate.dev/doc/v1"]
[[oci.repositories]]
name = "multi/*"
manufacturer = "ACME Devices GmbH"
[[oci.repositories]]
name = "push/*"
manufacturer = "ACME Devices GmbH"
attestations = ["https://cragate.dev/doc/v1"]
push = true
"#
    );
    let path = dir.join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    path
}

/// Stderr of an output, as text.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A GET through curl.
pub fn get(url: &str) -> Reply {
    curl(url, &[])
}
