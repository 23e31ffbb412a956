//! A real registry for tests: Debian's `docker-registry` (the CNCF distribution server) on
//! 127.0.0.1 and a free port, with a config written here and storage in a temp dir, images
//! pushed into it with skopeo; and an environment with no user's credentials or cache for
//! the layerscope binary that reads from it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn tools_present() -> bool {
    let found = |name: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ok = found("docker-registry") && found("skopeo") && found("htpasswd") && found("openssl");
    if !ok {
        eprintln!(
            "note: docker-registry, skopeo, htpasswd or openssl missing; registry tests skipped"
        );
    }
    ok
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn run(command: &mut Command) -> Output {
    let output = command.output().expect("run a tool");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub enum Auth {
    None,
    Htpasswd { user: String, password: String },
    Token { realm: String, cert: PathBuf },
}

/// A running docker-registry; stopped by its PID when dropped, even on a failed test.
pub struct Registry {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        Registry::start_with(auth, false)
    }

    /// [`Registry::start`], its access log (one line per request) kept in `requests.log`.
    pub fn start_with(auth: Auth, access_log: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let auth_yaml = match &auth {
            Auth::None => String::new(),
            Auth::Htpasswd { user, password } => {
                let file = dir.path().join("htpasswd");
                run(Command::new("htpasswd")
                    .args(["-B", "-b", "-c"])
                    .arg(&file)
                    .args([user, password]));
                format!(
                    "auth:\n  htpasswd:\n    realm: layerscope-test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token { realm, cert } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: layerscope-registry\n    issuer: layerscope-test-issuer\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: {}\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
            !access_log,
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("requests.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            // The access log goes to stdout, the server's own log to stderr.
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, port, dir };
        registry.wait_until_it_answers();
        registry
    }

    pub fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let request = format!("GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", self.port);
                let mut answer = [0u8; 12];
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && answer.starts_with(b"HTTP/1.")
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry did not answer on port {}", self.port);
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// skopeo copy IMAGE (a fixture file) to REPO:TAG.
    pub fn push(&self, image: &Path, repo: &str, all: bool, creds: Option<&str>) {
        let format = if tar_has(image, "manifest.json") {
            "docker-archive"
        } else {
            "oci-archive"
        };
        let mut command = Command::new("skopeo");
        command.args(["--insecure-policy", "copy", "-q", "--dest-tls-verify=false"]);
        if all {
            command.arg("--all");
        }
        if let Some(creds) = creds {
            command.args(["--dest-creds", creds]);
        }
        command
            .arg(format!("{format}:{}", image.display()))
            .arg(format!("docker://{}/{repo}", self.host()));
        run(&mut command);
    }

    /// The access log so far: one line per request.
    pub fn requests(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("requests.log")).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn tar_has(path: &Path, member: &str) -> bool {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(file);
    archive.entries().unwrap().flatten().any(|e| {
        e.path()
            .is_ok_and(|p| p.to_string_lossy().trim_start_matches("./") == member)
    })
}

/// An environment with no user's credentials or cache in it.
pub struct Env {
    pub home: tempfile::TempDir,
    bin: PathBuf,
}

impl Env {
    /// For the layerscope binary at `bin` (the test's `CARGO_BIN_EXE_layerscope`).
    pub fn new(bin: &str) -> Env {
        Env {
            home: tempfile::tempdir().unwrap(),
            bin: bin.into(),
        }
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .env("HOME", self.home.path())
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env("DOCKER_CONFIG", self.home.path().join("docker"))
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_HOST")
            .env_remove("CONTAINER_HOST")
            .env_remove("CI")
            .stdin(Stdio::null());
        command
    }

    pub fn ls(&self, reference: &str, extra: &[&str]) -> Output {
        self.command()
            .args(["ls", "--long"])
            .arg(reference)
            .args(extra)
            .output()
            .unwrap()
    }

    /// A `docker-credential-layerscopetest` helper in this environment's `bin`, named for
    /// `host` by `credHelpers` in its `config.json`, answering `alice` and `secret` and
    /// logging each server it is asked for to the returned log. Returns the `PATH` that
    /// finds it, and the log.
    pub fn credential_helper(&self, host: &str, secret: &str) -> (String, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let bin = self.home.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = self.home.path().join("helper.log");
        let helper = bin.join("docker-credential-layerscopetest");
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" >> {}\n\
                 printf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"{secret}\"}}' \"$server\"\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let docker = self.home.path().join("docker");
        std::fs::create_dir_all(&docker).unwrap();
        std::fs::write(
            docker.join("config.json"),
            format!(r#"{{"credHelpers": {{"{host}": "layerscopetest"}}}}"#),
        )
        .unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        (path, log)
    }

    pub fn blobs(&self) -> PathBuf {
        self.home.path().join("cache/layerscope/blobs/sha256")
    }

    /// Where the cache keeps the blob `digest`.
    pub fn cached(&self, digest: &str) -> PathBuf {
        self.blobs().join(digest.strip_prefix("sha256:").unwrap())
    }
}
