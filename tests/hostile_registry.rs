//! Hostile registries: small HTTP/1.1 servers written here, on loopback, each doing one
//! thing a registry should not (trickling a manifest, a token or a blob; naming a token
//! realm on another host; quoting credentials back; answering 429 to every resume). Every
//! case must end in exit code 2 with one stderr line, within a bound of time and memory
//! (peak RSS from `wait4`), and no credential in any output or sent in clear elsewhere.
//!
//! The time limits are set small through layerscope's own flags and environment variables,
//! so the suite takes seconds; their defaults are asserted by the `deadlines` unit tests.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::measure::measure;
use support::{Blob, BlobData, ImageSpec, LayerSpec};

const BIN: &str = env!("CARGO_BIN_EXE_layerscope");
/// No server lives longer than this, whatever the test does.
const SERVER_LIFETIME: Duration = Duration::from_secs(90);
/// No layerscope run lives longer than this: past it, it is killed and the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Peak memory allowed to any run (the issue's bound).
const PEAK_LIMIT_KIB: u64 = 300 << 10;
/// Start-up and the rest of a debug build's run, beside the limit a case is set to.
const SLACK: Duration = Duration::from_secs(4);
/// What the tests pull.
const REPO: &str = "hostile";
const USER: &str = "alice";
const PASSWORD: &str = "Tr0ub4dor-and-3";

/// One request as a server read it.
#[derive(Clone, Debug)]
struct Request {
    target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What a server does with one request: write an answer to the stream (then the
/// connection is closed). `stop` is set when the server is being stopped.
type Handler = dyn Fn(&Request, &mut TcpStream, &AtomicBool) -> std::io::Result<()> + Send + Sync;

/// A server on `IP:0`, one thread per connection, recording every request; stopped and
/// joined when dropped (trickles check `stop`), and never older than [`SERVER_LIFETIME`].
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Request>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(
        ip: &str,
        handler: impl Fn(&Request, &mut TcpStream, &AtomicBool) -> std::io::Result<()>
            + Send
            + Sync
            + 'static,
    ) -> Server {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let (stop, log) = (Arc::clone(&stop), Arc::clone(&log));
            std::thread::spawn(move || {
                let born = Instant::now();
                let mut connections = Vec::new();
                while !stop.load(Ordering::Relaxed) && born.elapsed() < SERVER_LIFETIME {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (stop, log, handler) =
                                (Arc::clone(&stop), Arc::clone(&log), Arc::clone(&handler));
                            connections.push(std::thread::spawn(move || {
                                let _ = serve(stream, &log, &*handler, &stop);
                            }));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                stop.store(true, Ordering::Relaxed);
                for connection in connections {
                    let _ = connection.join();
                }
            })
        };
        let server = Server {
            addr,
            stop,
            log,
            thread: Some(thread),
        };
        server.wait_until_it_answers();
        server
    }

    /// The accept loop is up once a connection is taken and answered (an unknown path).
    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(self.addr) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut answer = [0u8; 8];
                if stream.write_all(b"GET /ping HTTP/1.1\r\n\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && answer.starts_with(b"HTTP/1.")
                {
                    self.log.lock().unwrap().clear();
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the test server on {} did not answer", self.addr);
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    log: &Mutex<Vec<Request>>,
    handler: &Handler,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let request = Request { target, headers };
    let mut stream = stream;
    if request.path() == "/ping" {
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
    log.lock().unwrap().push(request.clone());
    handler(&request, &mut stream, stop)
}

/// A whole answer.
fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    stream.write_all(head(status, headers, body.len()).as_bytes())?;
    stream.write_all(body)
}

/// The status line and headers of an answer of `len` body bytes.
fn head(status: &str, headers: &[(&str, &str)], len: usize) -> String {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// An answer whose headers come at once and whose body comes one byte every two seconds.
fn trickle(
    stream: &mut TcpStream,
    headers: &[(&str, &str)],
    body: &[u8],
    stop: &AtomicBool,
) -> std::io::Result<()> {
    stream.write_all(head("200 OK", headers, body.len()).as_bytes())?;
    for byte in body {
        stream.write_all(std::slice::from_ref(byte))?;
        stream.flush()?;
        // Two seconds, in steps, so that a stopped server is not held up.
        for _ in 0..20 {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

fn bytes_of(blob: &Blob) -> Vec<u8> {
    match &blob.data {
        BlobData::Memory(bytes) => bytes.clone(),
        BlobData::File(path) => std::fs::read(path).unwrap(),
    }
}

/// A one-layer image as a registry serves it.
#[derive(Clone)]
struct Served {
    manifest: Vec<u8>,
    manifest_type: String,
    config: (String, Vec<u8>),
    layer: (String, Vec<u8>),
}

impl Served {
    fn new() -> Served {
        let image = ImageSpec::new()
            .layer(LayerSpec::new().file("etc/hostile", "served by a hostile registry\n"))
            .build();
        let manifest = image.manifest_blob();
        let config = image.config_blob();
        let layer = &image.layers[0];
        Served {
            manifest: bytes_of(&manifest),
            manifest_type: manifest.media_type.clone(),
            config: (config.digest.clone(), bytes_of(&config)),
            layer: (layer.digest.clone(), bytes_of(layer)),
        }
    }

    fn layer_digest(&self) -> &str {
        &self.layer.0
    }

    /// What a good registry answers: the manifest, config and layer, or 404.
    fn answer(&self, request: &Request, stream: &mut TcpStream) -> std::io::Result<()> {
        let path = request.path();
        let blob = |digest: &str| path == format!("/v2/{REPO}/blobs/{digest}");
        if path.starts_with(&format!("/v2/{REPO}/manifests/")) {
            respond(
                stream,
                "200 OK",
                &[("Content-Type", self.manifest_type.as_str())],
                &self.manifest,
            )
        } else if blob(&self.config.0) {
            respond(stream, "200 OK", &[], &self.config.1)
        } else if blob(&self.layer.0) {
            respond(stream, "200 OK", &[], &self.layer.1)
        } else {
            respond(stream, "404 Not Found", &[], b"")
        }
    }
}

/// How one run of layerscope went.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    wall: Duration,
    peak_kib: u64,
}

impl Run {
    /// Exit code 2, one stderr line naming the registry and repository and every needle,
    /// nothing on stdout, within `within` and [`PEAK_LIMIT_KIB`]. Returns the line.
    #[track_caller]
    fn assert_fails(&self, registry: &str, needles: &[&str], within: Duration) -> String {
        assert_eq!(self.code, Some(2), "exit code; stderr: {}", self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line expected: {:?}", self.stderr);
        let line = lines[0];
        assert!(line.starts_with("layerscope: error: "), "{line}");
        assert!(
            line.contains(&format!("{registry}/{REPO}")),
            "names the registry: {line}"
        );
        for needle in needles {
            assert!(line.contains(needle), "{needle:?} not in {line:?}");
        }
        assert!(self.stdout.is_empty(), "stdout: {}", self.stdout);
        assert!(
            self.wall < within,
            "took {:?}, bound {within:?}: {line}",
            self.wall
        );
        assert!(
            self.peak_kib < PEAK_LIMIT_KIB,
            "peak {} KiB: {line}",
            self.peak_kib
        );
        // Shown with --nocapture: the numbers the issue's note asks for.
        eprintln!(
            "exit 2, {:.2} s, peak {} KiB: {line}",
            self.wall.as_secs_f64(),
            self.peak_kib
        );
        line.to_string()
    }

    /// Neither stream holds any of `secrets`.
    #[track_caller]
    fn assert_shows_none_of(&self, secrets: &[&str]) {
        for secret in secrets {
            for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
                assert!(
                    !text.contains(secret),
                    "{secret:?} leaked on {name}: {text}"
                );
            }
        }
    }
}

/// Runs `layerscope ARGS` (with `env`) in an empty home, timing it and taking its peak
/// RSS from `wait4`; killed by its PID past [`RUN_LIMIT`].
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("DOCKER_CONFIG", home.path().join("docker"))
        .env("TMPDIR", home.path())
        .stdin(Stdio::null());
    for name in [
        "XDG_RUNTIME_DIR",
        "REGISTRY_AUTH_FILE",
        "DOCKER_HOST",
        "CONTAINER_HOST",
        "CI",
        "LAYERSCOPE_REGISTRY_TIMEOUT",
        "LAYERSCOPE_SPEED_LIMIT",
        "LAYERSCOPE_SPEED_TIME",
        "LAYERSCOPE_WAIT_BUDGET",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).args(args);
    let measured = measure(command, RUN_LIMIT);
    Run {
        code: measured.code,
        stdout: String::from_utf8_lossy(&measured.stdout).into_owned(),
        stderr: measured.stderr,
        wall: measured.wall,
        peak_kib: measured.peak_kib,
    }
}

fn reference(server: &Server) -> String {
    format!("registry://{}/{REPO}:v1", server.host())
}

fn basic_value() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
}

#[test]
fn a_trickling_manifest_fails_at_the_document_deadline() {
    let served = Served::new();
    let server = Server::start("127.0.0.1", move |request, stream, stop| {
        if request.path().contains("/manifests/") {
            trickle(
                stream,
                &[("Content-Type", served.manifest_type.as_str())],
                &served.manifest,
                stop,
            )
        } else {
            served.answer(request, stream)
        }
    });
    // Set through the environment variable, as a CI job would.
    let run = run(
        &["ls", &reference(&server)],
        &[("LAYERSCOPE_REGISTRY_TIMEOUT", "2")],
    );
    run.assert_fails(
        &server.host(),
        &[
            "manifest v1",
            "not received whole within 2 s",
            "--registry-timeout",
        ],
        Duration::from_secs(2) + SLACK,
    );
    assert!(
        run.wall >= Duration::from_secs(2),
        "failed before the deadline: {:?}",
        run.wall
    );
}

#[test]
fn a_trickling_token_response_fails_at_the_document_deadline() {
    let host = Arc::new(Mutex::new(String::new()));
    let server = {
        let host = Arc::clone(&host);
        Server::start("127.0.0.1", move |request, stream, stop| {
            if request.path() == "/token" {
                return trickle(stream, &[], br#"{"token":"never-finished"}"#, stop);
            }
            // The realm is the registry's own loopback host: allowed in plain HTTP.
            let challenge = format!(
                r#"Bearer realm="http://{}/token",service="hostile""#,
                host.lock().unwrap()
            );
            respond(
                stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", challenge.as_str())],
                b"",
            )
        })
    };
    *host.lock().unwrap() = server.host();
    let creds = format!("{USER}:{PASSWORD}");
    let run = run(
        &[
            "ls",
            &reference(&server),
            "--creds",
            &creds,
            "--registry-timeout",
            "1500ms",
        ],
        &[],
    );
    run.assert_fails(
        &server.host(),
        &["token response", "not received whole within 1.5 s"],
        Duration::from_millis(1500) + SLACK,
    );
    run.assert_shows_none_of(&[PASSWORD, &basic_value()]);
    assert!(
        server.requests().iter().any(|r| r.path() == "/token"),
        "the realm on the registry's own host was asked"
    );
}

#[test]
fn a_trickling_blob_fails_at_the_rate_floor() {
    let served = Served::new();
    let digest = served.layer_digest().to_string();
    let server = Server::start("127.0.0.1", move |request, stream, stop| {
        if request.path().ends_with(&served.layer.0) {
            trickle(stream, &[], &served.layer.1, stop)
        } else {
            served.answer(request, stream)
        }
    });
    let run = run(
        &[
            "ls",
            &reference(&server),
            "--speed-limit",
            "1KiB",
            "--speed-time",
            "3",
        ],
        &[],
    );
    let line = run.assert_fails(
        &server.host(),
        &[
            &format!("layer 0 blob {digest}"),
            "slower than 1 KiB/s for 3 s",
        ],
        Duration::from_secs(3) + SLACK,
    );
    assert!(
        run.wall >= Duration::from_secs(3),
        "failed before the window: {line}"
    );
}

/// A plain-HTTP realm on another host (127.0.0.2 stands for auth.example.com): refused
/// before any request reaches it. Named with --insecure-registry, it is asked, with the
/// credentials: so the server would have seen them, had they been sent the first time.
#[test]
fn a_plain_http_realm_on_another_host_gets_no_request() {
    let realm = Server::start("127.0.0.2", |request, stream, _| {
        let granted = request.header("Authorization").is_some();
        let body: &[u8] = if granted {
            br#"{"token":"granted-token-4711"}"#
        } else {
            b"{}"
        };
        respond(
            stream,
            "200 OK",
            &[("Content-Type", "application/json")],
            body,
        )
    });
    let served = Served::new();
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="hostile""#,
        realm.host()
    );
    let registry = Server::start("127.0.0.1", move |request, stream, _| {
        if request.header("Authorization") == Some("Bearer granted-token-4711") {
            return served.answer(request, stream);
        }
        respond(
            stream,
            "401 Unauthorized",
            &[("WWW-Authenticate", challenge.as_str())],
            b"",
        )
    });
    let creds = format!("{USER}:{PASSWORD}");
    let name = reference(&registry);
    let refused = run(&["ls", &name, "--creds", &creds], &[]);
    refused.assert_fails(
        &registry.host(),
        &[
            &format!(
                "refusing the plain-HTTP token realm http://{}",
                realm.host()
            ),
            "--insecure-registry",
        ],
        SLACK,
    );
    refused.assert_shows_none_of(&[PASSWORD, &basic_value()]);
    assert_eq!(
        realm.requests().len(),
        0,
        "the realm was contacted: {:?}",
        realm.requests()
    );

    // The control: allowed by name, the realm is asked, with the credentials.
    let allowed = run(
        &[
            "ls",
            &name,
            "--creds",
            &creds,
            "--insecure-registry",
            "127.0.0.2",
        ],
        &[],
    );
    assert_eq!(allowed.code, Some(0), "stderr: {}", allowed.stderr);
    assert!(allowed.stdout.contains("etc/hostile"), "{}", allowed.stdout);
    let asked = realm.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        asked[0].header("Authorization"),
        Some(format!("Basic {}", basic_value()).as_str())
    );
}

/// A 403 body that quotes the request's `Authorization` header (a token cut by the
/// 200-character bound of error texts, too), and a Content-Type that quotes it: no
/// secret reaches the output.
#[test]
fn credentials_a_server_echoes_back_are_not_shown() {
    let token = "echoed-token-0123456789abcdef0123456789abcdef";
    let host = Arc::new(Mutex::new(String::new()));
    let echo = |request: &Request, stream: &mut TcpStream| {
        let sent = request
            .header("Authorization")
            .unwrap_or("none")
            .to_string();
        // Padding puts the quoted value across the point where error text is cut (200).
        let message = format!("{} you sent {sent}; password {PASSWORD}", "x".repeat(160));
        let body = serde_json::json!({"errors": [{"code": "DENIED", "message": message}]});
        respond(
            stream,
            "403 Forbidden",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    };
    // Basic auth.
    let basic = Server::start("127.0.0.1", move |request, stream, _| {
        if request.header("Authorization").is_none() {
            return respond(
                stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", r#"Basic realm="hostile""#)],
                b"",
            );
        }
        echo(request, stream)
    });
    let creds = format!("{USER}:{PASSWORD}");
    let run_basic = run(&["ls", &reference(&basic), "--creds", &creds], &[]);
    run_basic.assert_fails(
        &basic.host(),
        &["access denied (403 DENIED", "<redacted>"],
        SLACK,
    );
    run_basic.assert_shows_none_of(&[PASSWORD, &basic_value(), &basic_value()[..12]]);

    // A bearer token from the registry's own realm, echoed in the 403.
    let bearer = {
        let host = Arc::clone(&host);
        Server::start("127.0.0.1", move |request, stream, _| {
            if request.path() == "/token" {
                let body = format!(r#"{{"token":"{token}"}}"#);
                return respond(stream, "200 OK", &[], body.as_bytes());
            }
            if request.header("Authorization").is_none() {
                let challenge = format!(r#"Bearer realm="http://{}/token""#, host.lock().unwrap());
                return respond(
                    stream,
                    "401 Unauthorized",
                    &[("WWW-Authenticate", challenge.as_str())],
                    b"",
                );
            }
            echo(request, stream)
        })
    };
    *host.lock().unwrap() = bearer.host();
    let run_bearer = run(&["ls", &reference(&bearer), "--creds", &creds], &[]);
    run_bearer.assert_fails(
        &bearer.host(),
        &["access denied (403 DENIED", "<redacted>"],
        SLACK,
    );
    // Cut at 200 characters before scrubbing, "echoed-token-012" would have stayed.
    run_bearer.assert_shows_none_of(&[PASSWORD, &basic_value(), "echoed-token"]);

    // A header value: the manifest's Content-Type quotes the header.
    let header = Server::start("127.0.0.1", move |request, stream, _| {
        let Some(sent) = request.header("Authorization") else {
            return respond(
                stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", r#"Basic realm="hostile""#)],
                b"",
            );
        };
        let kind = format!("application/x-{sent}");
        respond(
            stream,
            "200 OK",
            &[("Content-Type", kind.as_str())],
            br#"{"schemaVersion":2}"#,
        )
    });
    let run_header = run(&["ls", &reference(&header), "--creds", &creds], &[]);
    run_header.assert_fails(
        &header.host(),
        &["unknown manifest media type", "<redacted>"],
        SLACK,
    );
    run_header.assert_shows_none_of(&[PASSWORD, &basic_value()]);
}

/// A blob cut off half way, and every resume answered 429: the pull's waits share one
/// budget, so it fails within it (without one: 5 resumes of 3 `Retry-After` waits each).
#[test]
fn a_blob_cut_off_and_rate_limited_on_every_resume_fails_within_the_wait_budget() {
    for (retry_after, budget) in [("1", 4), ("10", 5)] {
        let served = Served::new();
        let digest = served.layer_digest().to_string();
        let server = Server::start("127.0.0.1", move |request, stream, _| {
            if !request.path().ends_with(&served.layer.0) {
                return served.answer(request, stream);
            }
            if request.header("Range").is_some() {
                return respond(
                    stream,
                    "429 Too Many Requests",
                    &[("Retry-After", retry_after)],
                    b"",
                );
            }
            // The whole length announced, half of it sent, the connection closed.
            let blob = &served.layer.1;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                blob.len()
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(&blob[..blob.len() / 2])
        });
        let budget_arg = budget.to_string();
        let run = run(
            &["ls", &reference(&server), "--wait-budget", &budget_arg],
            &[],
        );
        run.assert_fails(
            &server.host(),
            &[
                &format!("layer 0 blob {digest}"),
                &format!("wait budget of {budget} s"),
            ],
            Duration::from_secs(budget) + SLACK,
        );
        let resumes = server
            .requests()
            .iter()
            .filter(|r| r.header("Range").is_some())
            .count();
        assert!(resumes >= 1, "the blob was resumed");
    }
}

/// A tag list served in pages of `n` (the query's, else 2), each linking to the next with
/// `Link: <…>; rel="next"` as the distribution API does; `link` writes the next target
/// from the last tag sent.
fn paged_tags(
    request: &Request,
    stream: &mut TcpStream,
    tags: &[String],
    link: &dyn Fn(&str, usize) -> String,
) -> std::io::Result<()> {
    let query = request.target.split_once('?').map_or("", |(_, q)| q);
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .map(String::from)
    };
    let n: usize = param("n").and_then(|n| n.parse().ok()).unwrap_or(2);
    let start = match param("last") {
        Some(last) => tags
            .iter()
            .position(|t| *t == last)
            .map_or(tags.len(), |i| i + 1),
        None => 0,
    };
    let page = &tags[start.min(tags.len())..(start + n).min(tags.len())];
    let body = serde_json::json!({"name": REPO, "tags": page}).to_string();
    let next = match page.last() {
        Some(last) if start + n < tags.len() => Some(link(last, n)),
        _ => None,
    };
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(next) = &next {
        headers.push(("Link", next.as_str()));
    }
    respond(stream, "200 OK", &headers, body.as_bytes())
}

#[test]
fn fleet_all_tags_follows_the_tag_lists_pages() {
    let served = Served::new();
    let layer = served.layer_digest().to_string();
    let tags: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    let server = Server::start("127.0.0.1", move |request, stream, _| {
        if request.path() == format!("/v2/{REPO}/tags/list") {
            let link = |last: &str, n: usize| {
                format!("</v2/{REPO}/tags/list?n={n}&last={last}>; rel=\"next\"")
            };
            paged_tags(request, stream, &tags, &link)
        } else {
            served.answer(request, stream)
        }
    });
    let repository = format!("registry://{}/{REPO}", server.host());
    let run = run(
        &[
            "fleet",
            "--all-tags",
            "--tag-page",
            "2",
            "--format",
            "json",
            &repository,
        ],
        &[],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..5).map(|i| format!("{repository}:t{i}")).collect();
    assert_eq!(names, expected);
    let pages = server
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/tags/list"))
        .count();
    assert_eq!(pages, 3, "five tags, two a page");
    // Five tags of one image: its one layer downloaded and parsed once.
    assert_eq!(report["totals"]["layers_parsed"], 1);
    let layer_gets = server
        .requests()
        .iter()
        .filter(|r| r.path().ends_with(&layer))
        .count();
    assert_eq!(layer_gets, 1);
}

#[test]
fn a_tag_list_that_pages_elsewhere_or_for_ever_is_refused() {
    // A next page on another host: never asked for.
    let server = Server::start("127.0.0.1", move |request, stream, _| {
        let tags: Vec<String> = (0..4).map(|i| format!("t{i}")).collect();
        let link = |_: &str, _: usize| {
            "<http://198.51.100.7/v2/hostile/tags/list?n=2>; rel=\"next\"".to_string()
        };
        paged_tags(request, stream, &tags, &link)
    });
    let repository = format!("registry://{}/{REPO}", server.host());
    run(
        &["fleet", "--all-tags", "--tag-page", "2", &repository],
        &[],
    )
    .assert_fails(
        &server.host(),
        &["the tag list", "outside /v2/hostile/"],
        RUN_LIMIT,
    );

    // New tags on every page, for ever: refused at the limit of 10,000.
    let server = Server::start("127.0.0.1", move |request, stream, _| {
        let query = request.target.split_once("last=").map_or("", |(_, l)| l);
        let from: usize = query
            .trim_start_matches('t')
            .parse()
            .map_or(0, |n: usize| n + 1);
        let tags: Vec<String> = (from..from + 500).map(|i| format!("t{i}")).collect();
        let link = |last: &str, _: usize| {
            format!("</v2/{REPO}/tags/list?n=500&last={last}>; rel=\"next\"")
        };
        let body = serde_json::json!({"name": REPO, "tags": tags}).to_string();
        let next = link(tags.last().unwrap(), 500);
        respond(
            stream,
            "200 OK",
            &[("Content-Type", "application/json"), ("Link", &next)],
            body.as_bytes(),
        )
    });
    let repository = format!("registry://{}/{REPO}", server.host());
    run(
        &["fleet", "--all-tags", "--tag-page", "500", &repository],
        &[],
    )
    .assert_fails(&server.host(), &["more than 10000 tags"], RUN_LIMIT);
    assert!(server.requests().len() <= 22, "{}", server.requests().len());
}
