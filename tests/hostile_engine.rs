//! Hostile inputs the real binary must refuse in bounded time and memory: a fake engine
//! written here, on a unix socket in a temp dir (DOCKER_HOST), whose inspect and error
//! answers are endless or huge and whose exports never end, and a container whose change
//! list never ends or whose archive is refused or breaks off; and decompression bombs, as a
//! file and on stdin. Every case ends in exit code 2 with one line on stderr, within a wall
//! time, and under 300 MB of peak memory (the child's own maximum RSS, from wait4).
//!
//! Run with `--nocapture` to see each case's numbers (docs/fuzzing.md records a run).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::measure::{measure, Measured};
use support::{Blob, HistoryEntry, ImageSpec};

const GIB: u64 = 1 << 30;
/// Peak memory allowed to any case (300 MB, as KiB).
const PEAK_KIB: u64 = 300_000_000 / 1024;
/// How long a fake engine serves before it stops by itself.
const SERVER_LIFETIME: Duration = Duration::from_secs(120);

/// What a fake engine answers to one request, given its path; it may write for as long as
/// the client reads, until `stop` is set.
type Handler = dyn Fn(&str, &mut UnixStream, &AtomicBool) -> std::io::Result<()> + Send + Sync;

/// A fake engine API on a unix socket, serving one connection at a time on its own thread
/// for at most [`SERVER_LIFETIME`]; dropping it stops the thread and joins it.
struct FakeEngine {
    dir: tempfile::TempDir,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeEngine {
    fn start(
        handler: impl Fn(&str, &mut UnixStream, &AtomicBool) -> std::io::Result<()>
            + Send
            + Sync
            + 'static,
    ) -> FakeEngine {
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("engine.sock")).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) && started.elapsed() < SERVER_LIFETIME {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            stream
                                .set_write_timeout(Some(Duration::from_secs(5)))
                                .unwrap();
                            if let Some(path) = request_path(&mut stream) {
                                // The client hanging up mid-answer is what these tests do.
                                let _ = handler(&path, &mut stream, &stop);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        FakeEngine {
            dir,
            stop,
            thread: Some(thread),
        }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("engine.sock").display())
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The path of a request, once its head has arrived (bounded: 64 KiB of head).
fn request_path(stream: &mut UnixStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream.take(64 << 10));
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut line = String::new();
    while reader.read_line(&mut line).ok()? > 2 {
        line.clear();
    }
    first.split(' ').nth(1).map(str::to_string)
}

/// An answer in chunked encoding whose body is what `next` gives until it gives `None`,
/// or until the client stops reading.
fn chunked(
    stream: &mut UnixStream,
    status: &str,
    stop: &AtomicBool,
    mut next: impl FnMut() -> Option<Vec<u8>>,
) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )?;
    while let Some(piece) = next() {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        write!(stream, "{:x}\r\n", piece.len())?;
        stream.write_all(&piece)?;
        stream.write_all(b"\r\n")?;
    }
    stream.write_all(b"0\r\n\r\n")
}

/// An answer with a Content-Length. Every answer says `Connection: close`: the fake
/// serves one request per connection, and a client must not reuse one it closed.
fn whole(stream: &mut UnixStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)
}

/// `total` bytes: `head`, then `fill` repeated, in 64 KiB pieces, made as they are sent.
fn generated(head: &[u8], fill: u8, total: u64) -> impl FnMut() -> Option<Vec<u8>> {
    let mut sent = 0u64;
    // An empty chunk would end the body.
    let mut head = (!head.is_empty()).then(|| head.to_vec());
    move || {
        if let Some(head) = head.take() {
            sent += head.len() as u64;
            return Some(head);
        }
        let left = total.saturating_sub(sent);
        (left > 0).then(|| {
            let n = left.min(64 << 10);
            sent += n;
            vec![fill; n as usize]
        })
    }
}

const INSPECTION: &[u8] =
    br#"{"Id":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#;

fn layerscope(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerscope"));
    command
        .current_dir(cwd)
        .env_remove("CI")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("CONTAINER_HOST")
        .env_remove("LAYERSCOPE_MAX_EXPANSION")
        .env("DOCKER_CONFIG", cwd.join("no-docker-config"))
        .env("XDG_CACHE_HOME", cwd.join("cache"))
        .stdin(Stdio::null());
    command
}

/// Exit code 2, one line on stderr holding every needle, within `limit` and under
/// [`PEAK_KIB`]; returns the line (and prints the case's numbers).
#[track_caller]
fn assert_refused(case: &str, measured: &Measured, limit: Duration, needles: &[&str]) -> String {
    let line = measured.stderr.trim_end().to_string();
    eprintln!(
        "{case}: exit {:?}, {:.2} s, peak {} MiB: {line}",
        measured.code,
        measured.wall.as_secs_f64(),
        measured.peak_kib / 1024
    );
    assert_eq!(measured.code, Some(2), "{case}: {line}");
    assert_eq!(measured.stderr.lines().count(), 1, "{case}: not one line");
    assert!(line.starts_with("layerscope: error: "), "{case}: {line}");
    for needle in needles {
        assert!(line.contains(needle), "{case}: {needle:?} not in {line}");
    }
    assert!(measured.stdout.is_empty(), "{case}: stdout");
    assert!(measured.wall < limit, "{case}: {:?}", measured.wall);
    assert!(
        measured.peak_kib < PEAK_KIB,
        "{case}: peak {} KiB",
        measured.peak_kib
    );
    line
}

/// `layerscope inspect docker://NAME` against `engine`.
fn inspect_engine(engine: &FakeEngine, name: &str, limit: Duration) -> Measured {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = layerscope(cwd.path());
    command
        .args(["inspect", "-q", &format!("docker://{name}")])
        .env("DOCKER_HOST", engine.host());
    measure(command, limit)
}

#[test]
fn a_gib_inspect_answer_is_refused_past_4_mib() {
    let engine = FakeEngine::start(|path, stream, stop| {
        assert!(path.ends_with("/json"), "{path}");
        // A JSON string that never closes: only a bound ends it.
        chunked(stream, "200 OK", stop, generated(b"{\"Id\":\"", b'a', GIB))
    });
    let measured = inspect_engine(&engine, "huge", Duration::from_secs(30));
    assert_refused(
        "1 GiB inspect answer",
        &measured,
        Duration::from_secs(30),
        &[
            &format!("docker engine at {}: ", engine.host()),
            "GET /images/huge/json: the answer is larger than 4 MiB; refused",
        ],
    );
}

#[test]
fn a_gib_error_body_and_a_20_mb_message_are_cut_to_a_short_line() {
    // The export fails with a 1 GiB body, never read past 256 KiB.
    let engine = FakeEngine::start(|path, stream, stop| {
        if path.ends_with("/json") {
            whole(stream, "200 OK", INSPECTION)
        } else {
            chunked(
                stream,
                "500 Internal Server Error",
                stop,
                generated(b"", b'e', GIB),
            )
        }
    });
    let measured = inspect_engine(&engine, "broken", Duration::from_secs(30));
    let line = assert_refused(
        "1 GiB error body",
        &measured,
        Duration::from_secs(30),
        &[
            "GET /images/broken/get: the engine answered 500: eeee",
            "(cut; 262145 bytes or more)",
        ],
    );
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
    drop(engine);

    // The inspection fails with one 20 MB message, as the engines' JSON error.
    let engine = FakeEngine::start(|_, stream, _| {
        let mut body = b"{\"message\":\"".to_vec();
        body.resize(body.len() + (20 << 20), b'x');
        body.extend_from_slice(b"\"}");
        whole(stream, "500 Internal Server Error", &body)
    });
    let measured = inspect_engine(&engine, "chatty", Duration::from_secs(30));
    let line = assert_refused(
        "20 MB error message",
        &measured,
        Duration::from_secs(30),
        &[
            "GET /images/chatty/json: the engine answered 500: {\"message\":\"xxxx",
            "(cut; 262145 bytes or more)",
        ],
    );
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
}

/// An export of tar members made by `member` (given its number), without end.
fn endless_export(member: impl Fn(u64) -> Vec<u8> + Send + Sync + 'static) -> FakeEngine {
    FakeEngine::start(move |path, stream, stop| {
        if path.ends_with("/json") {
            return whole(stream, "200 OK", INSPECTION);
        }
        let mut number = 0;
        chunked(stream, "200 OK", stop, || {
            number += 1;
            Some(member(number))
        })
    })
}

/// One tar member: a regular file or a symlink, with GNU long-name records as needed.
fn tar_member(name: &str, link: Option<&str>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(0);
    match link {
        Some(target) => {
            header.set_entry_type(tar::EntryType::Symlink);
            builder.append_link(&mut header, name, target).unwrap();
        }
        None => builder.append_data(&mut header, name, &[][..]).unwrap(),
    }
    // `into_inner` ends the archive with two zero blocks: members go on after this one.
    let mut bytes = builder.into_inner().unwrap();
    bytes.truncate(bytes.len() - 1024);
    bytes
}

#[test]
fn endless_exports_with_long_names_or_link_targets_stop_at_the_archive_limits() {
    let long = "n".repeat(1 << 20);
    let engine = endless_export(move |i| tar_member(&format!("{i}/{long}"), None));
    let measured = inspect_engine(&engine, "names", Duration::from_secs(60));
    assert_refused(
        "endless export, 1 MiB names",
        &measured,
        Duration::from_secs(60),
        &[
            "docker://names (unix://",
            "): member 64: 67109047 bytes of member names in the archive exceed layerscope's limit of 67108864",
        ],
    );
    drop(engine);

    let target = "t".repeat(1 << 20);
    let engine = endless_export(move |i| tar_member(&format!("link{i}"), Some(&target)));
    let measured = inspect_engine(&engine, "links", Duration::from_secs(60));
    assert_refused(
        "endless export, 1 MiB link targets",
        &measured,
        Duration::from_secs(60),
        &[
            "docker://links (unix://",
            "): member 65: ",
            "bytes of link targets of the archive's members exceed layerscope's limit of 67108864",
        ],
    );
}

#[test]
fn an_endless_export_of_tiny_members_stops_at_the_member_limit() {
    // Empty directories, 256 to a chunk: nothing is kept of them but their count.
    let engine = endless_export(|i| {
        let mut piece = Vec::with_capacity(256 * 512);
        for j in 0..256 {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_path(format!("d{i}-{j}/")).unwrap();
            header.set_mode(0o755);
            header.set_size(0);
            header.set_cksum();
            piece.extend_from_slice(header.as_bytes());
        }
        piece
    });
    let measured = inspect_engine(&engine, "many", Duration::from_secs(120));
    assert_refused(
        "endless export, empty members",
        &measured,
        Duration::from_secs(120),
        &["): member 1048577: 1048577 members in the archive exceed layerscope's limit of 1048576"],
    );
}

#[test]
fn an_archive_file_and_stdin_have_the_exports_limits() {
    // The same long-name members as the endless export, as a file and on stdin.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.tar");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let long = "n".repeat(1 << 20);
    for i in 1..=70 {
        file.write_all(&tar_member(&format!("{i}/{long}"), None))
            .unwrap();
    }
    file.write_all(&[0; 1024]).unwrap();
    drop(file);
    for stdin in [false, true] {
        let cwd = tempfile::tempdir().unwrap();
        let mut command = layerscope(cwd.path());
        command.args(["inspect", "-q"]);
        if stdin {
            command.arg("-").stdin(std::fs::File::open(&path).unwrap());
        } else {
            command.arg(&path);
        }
        let measured = measure(command, Duration::from_secs(60));
        let shown = if stdin {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        assert_refused(
            &format!("70 MiB of names, stdin {stdin}"),
            &measured,
            Duration::from_secs(60),
            &[&format!(
                "{shown}: member 64: 67109047 bytes of member names in the archive exceed"
            )],
        );
    }
}

/// A zstd frame of `size` bytes of zeros after a tar header for them, made of raw and
/// RLE blocks by hand: 4 bytes of blob per 128 KiB of zeros, so 100 GiB take 3 MB, and
/// making it costs nothing.
fn zstd_zeros_layer(size: u64) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, last: bool, kind: u32, size: u32) {
        let word = u32::from(last) | (kind << 1) | (size << 3);
        out.extend_from_slice(&word.to_le_bytes()[..3]);
    }
    let mut header = tar::Header::new_gnu();
    header.set_path("zeros").unwrap();
    header.set_mode(0o644);
    header.set_size(size);
    header.set_cksum();
    // Magic; no checksum or content size; a 128 KiB window.
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
    block(&mut out, false, 0, 512);
    out.extend_from_slice(header.as_bytes());
    // The file's zeros and the two end-of-archive blocks.
    let mut left = size + 1024;
    const MAX: u64 = 128 << 10;
    while left > 0 {
        let n = left.min(MAX);
        left -= n;
        block(&mut out, left == 0, 1, n as u32);
        out.push(0);
    }
    out
}

/// A gzip layer of `size` bytes of zeros (a multiple of 1 MiB) after a tar header: one
/// compressed MiB repeated as gzip members (about 1 KiB of blob per MiB, gzip's limit).
fn gzip_zeros_layer(size: u64) -> Vec<u8> {
    let member = |data: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    };
    let mut header = tar::Header::new_gnu();
    header.set_path("zeros").unwrap();
    header.set_mode(0o644);
    header.set_size(size);
    header.set_cksum();
    let mut out = member(header.as_bytes());
    let mib = member(&vec![0; 1 << 20]);
    for _ in 0..size >> 20 {
        out.extend_from_slice(&mib);
    }
    out.extend_from_slice(&member(&[0; 1024]));
    out
}

/// An OCI archive whose one layer is `blob` (its diff_id is not computed: the cap must
/// stop the parse long before a diff_id could be checked).
fn image_of_layer(dir: &Path, media_type: &str, blob: Vec<u8>) -> PathBuf {
    let path = dir.join("bomb.tar");
    ImageSpec::new()
        .history(HistoryEntry::layer("RUN bomb"))
        .assemble(vec![Blob::from_bytes(media_type, blob)])
        .write_oci_archive(&path)
        .unwrap();
    path
}

#[test]
fn decompression_bombs_are_refused_at_the_cap_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let zstd = image_of_layer(
        dir.path(),
        "application/vnd.oci.image.layer.v1.tar+zstd",
        zstd_zeros_layer(100 * GIB),
    );
    let gzip_dir = tempfile::tempdir().unwrap();
    let gzip = image_of_layer(
        gzip_dir.path(),
        "application/vnd.oci.image.layer.v1.tar+gzip",
        gzip_zeros_layer(2 * GIB),
    );
    for (name, image, compression) in [("zstd", &zstd, "zstd"), ("gzip", &gzip, "gzip")] {
        for stdin in [false, true] {
            let cwd = tempfile::tempdir().unwrap();
            let mut command = layerscope(cwd.path());
            command.args(["inspect", "-q"]);
            if stdin {
                command.arg("-").stdin(std::fs::File::open(image).unwrap());
            } else {
                command.arg(image);
            }
            let measured = measure(command, Duration::from_secs(90));
            assert_refused(
                &format!("{name} bomb, stdin {stdin}"),
                &measured,
                Duration::from_secs(90),
                &[
                    "layer 0 (sha256:",
                    &format!("the {compression} stream expands past 1.1 GB from "),
                    "refused as a decompression bomb (--max-expansion raises the ratio)",
                ],
            );
        }
    }
    // The cap is the setting's: lifted, the gzip bomb is read to its end, where its
    // diff_id (not computed) fails instead.
    let cwd = tempfile::tempdir().unwrap();
    let mut command = layerscope(cwd.path());
    command
        .args(["inspect", "-q"])
        .arg(&gzip)
        .env("LAYERSCOPE_MAX_EXPANSION", "0");
    let measured = measure(command, Duration::from_secs(180));
    assert_refused(
        "gzip bomb, cap lifted",
        &measured,
        Duration::from_secs(180),
        &["layer 0 diff_id digest mismatch"],
    );
}

/// A fake engine with the container `web`, whose change list adds `/etc/app.conf`, and
/// whose archive of it is what `archive` answers.
fn container_engine(
    archive: impl Fn(&mut UnixStream, &AtomicBool) -> std::io::Result<()> + Send + Sync + 'static,
) -> FakeEngine {
    FakeEngine::start(move |path, stream, stop| {
        if path.contains("/containers/web/json") {
            whole(
                stream,
                "200 OK",
                br#"{"Id":"0123456789abcdef","Image":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}"#,
            )
        } else if path.contains("/containers/0123456789abcdef/changes") {
            whole(stream, "200 OK", br#"[{"Path":"/etc/app.conf","Kind":1}]"#)
        } else if path.contains("/containers/0123456789abcdef/archive?path=%2Fetc%2Fapp.conf") {
            archive(stream, stop)
        } else {
            whole(stream, "404 Not Found", br#"{"message":"no such thing"}"#)
        }
    })
}

/// `layerscope ls docker-container://web` against `engine`.
fn ls_container(engine: &FakeEngine, limit: Duration) -> Measured {
    let cwd = tempfile::tempdir().unwrap();
    let mut command = layerscope(cwd.path());
    command
        .args(["ls", "-q", "docker-container://web"])
        .env("DOCKER_HOST", engine.host());
    measure(command, limit)
}

#[test]
fn an_engine_that_refuses_a_containers_archive_is_one_line() {
    let engine = container_engine(|stream, _| {
        whole(
            stream,
            "500 Internal Server Error",
            br#"{"message":"archive refused:\nby policy"}"#,
        )
    });
    let measured = ls_container(&engine, Duration::from_secs(30));
    assert_refused(
        "archive refused",
        &measured,
        Duration::from_secs(30),
        &[&format!(
            "docker engine at {}: GET /containers/web/archive?path=/etc/app.conf: the engine \
             answered 500: archive refused: by policy",
            engine.host()
        )],
    );
}

#[test]
fn a_containers_archive_that_breaks_off_is_one_line() {
    // The tar header promises 1 MiB; 1000 bytes come, and the connection closes.
    let engine = container_engine(|stream, _| {
        let mut header = tar::Header::new_gnu();
        header.set_path("app.conf").unwrap();
        header.set_mode(0o644);
        header.set_size(1 << 20);
        header.set_cksum();
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\nConnection: close\r\n\r\n"
        )?;
        stream.write_all(header.as_bytes())?;
        stream.write_all(&[b'x'; 1000])
    });
    let measured = ls_container(&engine, Duration::from_secs(30));
    assert_refused(
        "archive broken off",
        &measured,
        Duration::from_secs(30),
        &[&format!(
            "docker engine at {}: the archive of /etc/app.conf: ",
            engine.host()
        )],
    );
}

#[test]
fn an_endless_change_list_is_refused_past_64_mib() {
    let engine = FakeEngine::start(|path, stream, stop| {
        if path.contains("/containers/web/json") {
            whole(
                stream,
                "200 OK",
                br#"{"Id":"0123456789abcdef","Image":"sha256:0123"}"#,
            )
        } else {
            // One path name that never ends.
            chunked(
                stream,
                "200 OK",
                stop,
                generated(b"[{\"Path\":\"/", b'a', GIB),
            )
        }
    });
    let measured = ls_container(&engine, Duration::from_secs(60));
    assert_refused(
        "1 GiB change list",
        &measured,
        Duration::from_secs(60),
        &["GET /containers/web/changes: the answer is larger than 64 MiB; refused"],
    );
}

#[test]
fn a_containers_archive_with_a_gib_of_pax_records_stops_at_16_mib() {
    // A PAX header whose records go on for 1 GiB: the tar crate would read them whole.
    let engine = container_engine(|stream, stop| {
        let mut header = tar::Header::new_ustar();
        header.set_path("PaxHeaders/app.conf").unwrap();
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_mode(0o644);
        header.set_size(GIB);
        header.set_cksum();
        chunked(
            stream,
            "200 OK",
            stop,
            generated(header.as_bytes(), b'a', GIB + 512),
        )
    });
    let measured = ls_container(&engine, Duration::from_secs(60));
    assert_refused(
        "1 GiB of PAX records",
        &measured,
        Duration::from_secs(60),
        &["the archive of /etc/app.conf: a member's headers exceed 16 MiB"],
    );
}
