//! Hostile and damaged images: every failure is one line on stderr naming what is wrong,
//! with exit code 2; recoverable damage is a warning and the load goes on; nothing is
//! written outside unnamed temporary files; no raw control byte from an image reaches
//! the terminal. Each case drives the real binary from an empty working directory with
//! an empty TMPDIR, and checks both are still empty afterwards.

mod support;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::raw::*;

// ---------------------------------------------------------------------------------------
// Running the binary.

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    raw_stderr: Vec<u8>,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Input files live here; the process runs elsewhere.
struct Inputs {
    dir: tempfile::TempDir,
}

impl Inputs {
    fn new() -> Inputs {
        Inputs {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn entries_of(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn command(cwd: &Path, tmp: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_layerscope"));
    command
        .current_dir(cwd)
        .env("TMPDIR", tmp)
        .env_remove("CI")
        .stdin(Stdio::null());
    command
}

/// Run with an empty working directory and TMPDIR, and check both stay empty.
fn run(args: &[&str], image: &Path) -> Run {
    run_in(args, Some(image), None)
}

/// [`run`] with `bytes` on stdin (`args` name `-`).
fn run_stdin(args: &[&str], bytes: &[u8]) -> Run {
    let inputs = Inputs::new();
    let path = inputs.file("stdin.tar", bytes);
    run_in(args, None, Some(&path))
}

fn run_in(args: &[&str], image: Option<&Path>, stdin: Option<&Path>) -> Run {
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut command = command(cwd.path(), tmp.path());
    command.args(args).args(image);
    if let Some(stdin) = stdin {
        command.stdin(std::fs::File::open(stdin).unwrap());
    }
    let output: Output = command.output().unwrap();
    assert_eq!(entries_of(cwd.path()), Vec::<String>::new(), "files in cwd");
    assert_eq!(
        entries_of(tmp.path()),
        Vec::<String>::new(),
        "files in TMPDIR"
    );
    let run = Run {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        raw_stderr: output.stderr,
    };
    for bytes in [&run.stdout, &run.raw_stderr] {
        assert!(
            !has_raw_control(bytes),
            "raw control in {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    run
}

/// ESC, BEL or a UTF-8 encoded C1 control (U+0080–U+009F; U+009B is CSI).
fn has_raw_control(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b)
        || bytes.contains(&0x07)
        || bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..=0x9f).contains(&w[1]))
}

fn run_bytes(args: &[&str], bytes: &[u8]) -> Run {
    let inputs = Inputs::new();
    let path = inputs.file("image.tar", bytes);
    run(args, &path)
}

/// Exit code 2 and exactly one stderr line, an error mentioning every needle.
#[track_caller]
fn assert_fails(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {:?}", run.stderr);
    assert!(lines[0].starts_with("layerscope: error: "), "{}", lines[0]);
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "{needle:?} not in {:?}",
            lines[0]
        );
    }
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout());
}

/// Success with a warning mentioning every needle.
#[track_caller]
fn assert_warns(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let found = run.stderr.lines().any(|line| {
        line.starts_with("layerscope: warning: ") && needles.iter().all(|n| line.contains(n))
    });
    assert!(found, "no warning with {needles:?} in {:?}", run.stderr);
}

#[track_caller]
fn assert_clean(run: &Run) {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "", "no warnings expected");
}

fn lines(run: &Run) -> Vec<String> {
    run.stdout().lines().map(str::to_string).collect()
}

fn basic_layers() -> Vec<Layer> {
    vec![
        plain(tar_of(&[E::dir("etc/"), E::file("etc/hostname", "box\n")])),
        plain(tar_of(&[E::file("etc/motd", "hi\n")])),
    ]
}

// ---------------------------------------------------------------------------------------
// Archive damage.

#[test]
fn intact_images_load_cleanly_in_both_formats() {
    for bytes in [docker_image(&basic_layers()), oci_image(&basic_layers())] {
        let run = run_bytes(&["ls", "--long"], &bytes);
        assert_clean(&run);
        assert_eq!(
            lines(&run),
            [
                "drwxr-xr-x 0:0 0 /etc",
                "-rw-r--r-- 0:0 4 /etc/hostname",
                "-rw-r--r-- 0:0 3 /etc/motd"
            ]
        );
    }
}

#[test]
fn truncated_outer_tar_is_an_error_naming_the_file() {
    let layers = basic_layers();
    let members = docker_members(&layers, &config_for(&layers));
    let manifest_len = members.last().unwrap().1.len();
    let bytes = archive(&members);
    // manifest.json comes last, as docker writes it: cut inside its data...
    let data = bytes.len() - 1024 - manifest_len.div_ceil(512) * 512;
    let run = run_bytes(&["inspect"], &bytes[..data + manifest_len / 2]);
    assert_fails(&run, &["image.tar", "truncated archive", "manifest.json"]);
    // ...and inside its header.
    let run = run_bytes(&["inspect"], &bytes[..data - 400]);
    assert_fails(&run, &["image.tar", "truncated archive"]);
}

#[test]
fn truncated_last_layer_is_a_warning_and_the_rest_loads() {
    let last = tar_of(&[E::file("big", vec![7u8; 4096]), E::file("after", "x")]);
    let layers = vec![basic_layers().remove(0), plain(last.clone())];
    let mut members = docker_members(&layers, &config_for(&layers));
    // manifest.json first, so that the archive can end inside the last layer.
    let manifest = members.pop().unwrap();
    members.insert(0, manifest);
    let bytes = archive(&members);
    // The last member's data ends just before the two zero blocks; cut 1000 bytes into
    // the content of its first file.
    let cut = bytes.len() - 1024 - last.len() + 512 + 1000;
    let run = run_bytes(&["ls"], &bytes[..cut]);
    // The entry whose content is cut is dropped; those before it are kept.
    assert_warns(
        &run,
        &[
            "layer 1",
            "ends early after 0 entries",
            "1000 bytes into a 4096-byte file",
        ],
    );
    assert_eq!(lines(&run), ["/etc", "/etc/hostname"]);
}

#[test]
fn corrupt_gzip_and_zstd_streams_name_the_layer() {
    // Incompressible content, so that the damage lands in stored data that only the
    // stream's checksum can catch.
    let tar = tar_of(&[E::file("noise", pseudo_random(200_000))]);
    for (layer, kind) in [
        (gzip(tar.clone()), "gzip"),
        (zstd(tar.clone(), true), "zstd"),
    ] {
        let broken = flip_middle(layer);
        let digest = sha(&broken.blob);
        let bytes = oci_image(&[broken]);
        for args in [&["inspect"][..], &["inspect", "--no-verify"]] {
            assert_fails(
                &run_bytes(args, &bytes),
                &[
                    &format!("layer 0 ({digest})"),
                    &format!("corrupt {kind} stream"),
                ],
            );
        }
    }
    // A zstd frame without a checksum decodes damaged data without complaint: only the
    // diff_id shows it, and --no-verify cannot.
    let broken = flip_middle(zstd(tar.clone(), false));
    let bytes = oci_image(&[broken]);
    assert_fails(
        &run_bytes(&["inspect"], &bytes),
        &["layer 0 diff_id digest mismatch", &sha(&tar)],
    );
    assert_clean(&run_bytes(&["inspect", "--no-verify"], &bytes));
}

fn flip_middle(layer: Layer) -> Layer {
    let mut blob = layer.blob;
    let middle = blob.len() / 2;
    for byte in &mut blob[middle..middle + 64] {
        *byte = !*byte;
    }
    Layer { blob, ..layer }
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn wrong_magic_empty_file_and_plain_directories_are_not_images() {
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend(pseudo_random(2000));
    assert_fails(
        &run_bytes(&["inspect"], &zip),
        &["image.tar", "not a container image", "not a tar archive"],
    );
    assert_fails(
        &run_bytes(&["inspect"], b""),
        &["image.tar", "not a container image", "empty"],
    );
    // A gzip stream that is not a tar inside.
    let gz = gzip(b"hello, not a tar".repeat(100)).blob;
    assert_fails(&run_bytes(&["inspect"], &gz), &["image.tar", "not a"]);
    // A tar with no image in it.
    let other = archive(&vec![("notes.txt".into(), b"hi".to_vec())]);
    assert_fails(
        &run_bytes(&["inspect"], &other),
        &["image.tar", "neither manifest.json", "index.json"],
    );
    let inputs = Inputs::new();
    let dir = inputs.dir.path().join("plain");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("readme"), "hi").unwrap();
    assert_fails(
        &run(&["inspect"], &dir),
        &["plain", "not a container image", "index.json"],
    );
    let missing = inputs.dir.path().join("missing.tar");
    assert_fails(
        &run(&["inspect"], &missing),
        &["missing.tar", "No such file"],
    );
}

#[test]
fn verbose_shows_the_cause_chain() {
    let inputs = Inputs::new();
    let missing = inputs.dir.path().join("missing.tar");
    let run = run(&["inspect", "--verbose"], &missing);
    assert_eq!(run.code, Some(2));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", run.stderr);
    assert!(lines[0].starts_with("layerscope: error: ") && lines[0].contains("missing.tar"));
    assert!(lines[1].starts_with("  caused by: "), "{}", lines[1]);
}

// ---------------------------------------------------------------------------------------
// Manifests and configs.

#[test]
fn missing_blobs_are_named() {
    let layers = basic_layers();
    let mut members = docker_members(&layers, &config_for(&layers));
    members.retain(|(name, _)| name != "1/layer.tar");
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", "missing blob 1/layer.tar", "layer 1"],
    );

    let mut members = docker_members(&layers, &config_for(&layers));
    let config = members.remove(0).0;
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", &format!("missing blob {config}"), "config"],
    );

    let mut members = oci_members(&layers, &config_for(&layers), |_| {});
    let layer = format!("blobs/sha256/{}", hex_of(&layers[0].blob));
    members.retain(|(name, _)| *name != layer);
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", &sha(&layers[0].blob), "layer 0"],
    );

    let config = serde_json::to_vec(&config_for(&layers)).unwrap();
    let mut members = oci_members(&layers, &config_for(&layers), |_| {});
    let name = format!("blobs/sha256/{}", hex_of(&config));
    members.retain(|(n, _)| *n != name);
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", &name, "config"],
    );
}

#[test]
fn invalid_json_and_wrong_shapes_name_the_member() {
    let layers = basic_layers();
    let cases: Vec<(&str, &[u8])> = vec![
        ("manifest.json", b"[{\"Config\": "),
        ("manifest.json", b"{\"Config\": \"x.json\"}"),
        ("manifest.json", b"[{\"Config\": 42}]"),
        ("manifest.json", b"\xff\xfe"),
    ];
    for (member, bytes) in cases {
        let mut members = docker_members(&layers, &config_for(&layers));
        replace(&mut members, member, bytes.to_vec());
        assert_fails(
            &run_bytes(&["inspect"], &archive(&members)),
            &["image.tar", &format!("invalid JSON in {member}")],
        );
    }
    // A config of the wrong shape, under its own (matching) digest name.
    let bad_config = br#"{"rootfs": "layers", "history": 7}"#.to_vec();
    let mut members = docker_members(&layers, &config_for(&layers));
    let name = format!("{}.json", hex_of(&bad_config));
    members[0] = (name.clone(), bad_config);
    let manifest = json!([{"Config": name, "Layers": ["0/layer.tar", "1/layer.tar"]}]);
    replace(
        &mut members,
        "manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    );
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", &format!("invalid JSON in {name}")],
    );

    for index in [&b"[]"[..], b"{\"manifests\": 3}", b"nul"] {
        let mut members = oci_members(&layers, &config_for(&layers), |_| {});
        replace(&mut members, "index.json", index.to_vec());
        assert_fails(
            &run_bytes(&["inspect"], &archive(&members)),
            &["image.tar", "invalid JSON in index.json"],
        );
    }
    // A manifest with no layers key is not an OCI manifest.
    let members = oci_members(&layers, &config_for(&layers), |m| {
        m.as_object_mut().unwrap().remove("layers");
    });
    let manifest = members[members.len() - 2].0.clone();
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", &format!("invalid JSON in {manifest}")],
    );
}

#[test]
fn null_manifests_and_empty_layer_lists() {
    let layers = basic_layers();
    let mut members = oci_members(&layers, &config_for(&layers), |_| {});
    replace(
        &mut members,
        "index.json",
        br#"{"schemaVersion": 2, "manifests": null}"#.to_vec(),
    );
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", "index.json leads to no image manifest"],
    );

    let mut members = docker_members(&[], &config_for(&[]));
    replace(&mut members, "manifest.json", b"[]".to_vec());
    assert_fails(
        &run_bytes(&["inspect"], &archive(&members)),
        &["image.tar", "manifest.json lists no images"],
    );

    // No layers at all: inspect describes the image, ls has nothing to list.
    let bytes = docker_image(&[]);
    let run = run_bytes(&["inspect"], &bytes);
    assert_clean(&run);
    assert!(
        run.stdout().contains("Layers:        0"),
        "{}",
        run.stdout()
    );
    assert_fails(
        &run_bytes(&["ls"], &bytes),
        &["image.tar", "the image has no layers"],
    );
    assert_fails(
        &run_bytes(&["changes", "--layer", "5"], &docker_image(&basic_layers())),
        &["image.tar", "no layer 5", "0 to 1"],
    );
}

#[test]
fn history_longer_or_shorter_than_layers_is_a_warning() {
    let layers = basic_layers();
    for count in [1usize, 4] {
        let mut config = config_for(&layers);
        config["history"] = (0..count)
            .map(|i| json!({"created_by": format!("RUN step {i}")}))
            .collect();
        let run = run_bytes(&["inspect"], &archive(&docker_members(&layers, &config)));
        assert_warns(
            &run,
            &[&format!("history has {count} layer-producing"), "2 layers"],
        );
    }
}

#[test]
fn layers_and_diff_ids_disagreeing_in_number_fail_unless_no_verify() {
    // Docker and containerd refuse such an image; --no-verify reads it with a warning.
    let layers = basic_layers();
    for extra in [false, true] {
        let mut config = config_for(&layers);
        let diff_ids = config["rootfs"]["diff_ids"].as_array_mut().unwrap();
        let counted = if extra {
            diff_ids.push(json!(format!("sha256:{}", "0".repeat(64))));
            3
        } else {
            diff_ids.pop();
            1
        };
        let image = archive(&docker_members(&layers, &config));
        let message = format!("2 layers but the config has {counted} diff_ids");
        let run = run_bytes(&["inspect"], &image);
        assert_fails(
            &run,
            &["image.tar: invalid image: ", &message, "--no-verify"],
        );
        let run = run_bytes(&["inspect", "--no-verify"], &image);
        assert_warns(&run, &[&message]);
        // On stdin too, where the stream parse opens the image.
        let run = run_stdin(&["inspect", "-"], &image);
        assert_fails(&run, &["<stdin>: invalid image: ", &message]);
    }
}

#[test]
fn digest_mismatches_fail_unless_no_verify() {
    // diff_id: the config claims another uncompressed digest.
    let layers = basic_layers();
    let mut config = config_for(&layers);
    let wrong = sha(b"something else");
    config["rootfs"]["diff_ids"][1] = json!(wrong);
    let bytes = archive(&docker_members(&layers, &config));
    assert_fails(
        &run_bytes(&["inspect"], &bytes),
        &[
            "image.tar",
            "layer 1 diff_id digest mismatch",
            &wrong,
            &sha(&layers[1].tar),
        ],
    );
    assert_clean(&run_bytes(&["inspect", "--no-verify"], &bytes));

    // Compressed digest: the blob stored under the descriptor's digest is a different
    // compression of the same tar, so only the blob digest is wrong.
    let tar = tar_of(&[E::file("a", "same content\n".repeat(500))]);
    let (good, other) = (gzip_level(tar.clone(), 9), gzip_level(tar, 1));
    assert_ne!(good.blob, other.blob);
    let layers = [good];
    let mut members = oci_members(&layers, &config_for(&layers), |_| {});
    let name = format!("blobs/sha256/{}", hex_of(&layers[0].blob));
    replace(&mut members, &name, other.blob.clone());
    let bytes = archive(&members);
    assert_fails(
        &run_bytes(&["inspect"], &bytes),
        &[
            "image.tar",
            "layer 0 blob digest mismatch",
            &sha(&layers[0].blob),
            &sha(&other.blob),
        ],
    );
    assert_clean(&run_bytes(&["inspect", "--no-verify"], &bytes));

    // The config blob itself.
    let layers = basic_layers();
    let config = serde_json::to_vec(&config_for(&layers)).unwrap();
    let mut members = oci_members(&layers, &config_for(&layers), |_| {});
    let name = format!("blobs/sha256/{}", hex_of(&config));
    let mut edited = config_for(&layers);
    edited["author"] = json!("mallory");
    replace(&mut members, &name, serde_json::to_vec(&edited).unwrap());
    let bytes = archive(&members);
    assert_fails(
        &run_bytes(&["inspect"], &bytes),
        &["image.tar", "digest mismatch", &name],
    );
    assert_clean(&run_bytes(&["inspect", "--no-verify"], &bytes));
}

// ---------------------------------------------------------------------------------------
// Paths.

#[test]
fn climbing_and_absolute_paths_stay_inside_the_root() {
    let run = run_bytes(
        &["ls"],
        &image_of(&[
            E::file("../../etc/passwd", "root::0:0\n"),
            E::file("/abs/path", "x"),
            E::file("a/../../b", "y"),
        ]),
    );
    assert_warns(&run, &["2 entries had paths climbing above the root"]);
    assert_eq!(
        lines(&run),
        ["/abs", "/abs/path", "/b", "/etc", "/etc/passwd"]
    );
}

#[test]
fn control_bytes_and_invalid_utf8_in_names_are_escaped() {
    let mut nul_in_pax = E::file(b"pax\0tail", "x");
    nul_in_pax.pax_path = true;
    let run = run_bytes(
        &["ls", "--long"],
        &image_of(&[
            E::file("new\nline", "x"),
            // A tar header name ends at its first NUL: the rest is never seen.
            E::file(b"evil\0hidden", "x"),
            nul_in_pax,
            E::file(b"red\x1b[31mname", "x"),
            E::symlink("link", b"\x1b]0;title\x07target"),
            E::file(b"bad\xff\xfeutf8", "x"),
            E::file("c1\u{9b}31m", "x"),
        ]),
    );
    assert_clean(&run);
    let out = run.stdout();
    assert!(lines(&run).contains(&"-rw-r--r-- 0:0 1 /evil".to_string()));
    for expected in [
        "/new\\x0aline",
        "/pax\\x00tail",
        "/red\\x1b[31mname",
        "/link -> \\x1b]0;title\\x07target",
        "/bad\\xff\\xfeutf8",
        "/c1\\xc2\\x9b31m",
    ] {
        assert!(out.contains(expected), "{expected:?} not in {out}");
    }
    assert!(!out.contains("hidden"));
    // Every path is one line: a newline in a name never splits a row.
    assert_eq!(lines(&run).len(), 7);
}

#[test]
fn control_bytes_in_history_tags_labels_and_warnings_are_escaped() {
    let layers = vec![plain(tar_of(&[
        E::file(b"\x1b[2Jfile", "x"),
        E::hardlink("hl\x1b", b"nowhere\x1b[5m"),
    ]))];
    let mut config = config_for(&layers);
    config["history"][0]["created_by"] =
        json!("/bin/sh -c echo \u{1b}[31mred\u{1b}[0m\u{7} \u{9b}2J");
    config["config"]["Labels"]["evil"] = json!("\u{1b}]52;c;cGF5bG9hZA==\u{7}");
    let mut members = docker_members(&layers, &config);
    let manifest = json!([{"Config": members[0].0, "RepoTags": ["tag\u{1b}[1m:latest"], "Layers": ["0/layer.tar"]}]);
    replace(
        &mut members,
        "manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    );
    let bytes = archive(&members);
    let run = run_bytes(&["inspect"], &bytes);
    assert_warns(&run, &["hardlink /hl\\x1b points to nowhere\\x1b[5m"]);
    assert!(
        run.stdout().contains("echo \\x1b[31mred"),
        "{}",
        run.stdout()
    );
    assert!(run.stdout().contains("tag\\x1b[1m:latest"));
    let json = run_bytes(&["inspect", "--format", "json"], &bytes);
    assert_eq!(json.code, Some(0));
    // JSON escapes controls its own way (\u001b, \u009b) and stays equal.
    let parsed: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["tags"][0], "tag\u{1b}[1m:latest");
    assert!(json.stdout().contains("\\u009b2J"), "{}", json.stdout());
    assert_eq!(
        parsed["layers"][0]["instruction"]["raw"],
        config["history"][0]["created_by"]
    );
    for args in [&["ls", "--long"][..], &["changes", "--layer", "0"]] {
        let run = run_bytes(args, &bytes);
        assert!(run.stdout().contains("\\x1b[2Jfile"), "{}", run.stdout());
    }
}

#[test]
fn a_64_kib_pax_path_is_listed_whole() {
    let long: String = (0..64 * 1024 / 16)
        .map(|i| format!("d{i:06}/"))
        .collect::<String>()
        + "end";
    assert!(long.len() > 32 * 1024);
    let mut name = long.clone();
    name.push_str(&"x".repeat(64 * 1024 - name.len()));
    let run = run_bytes(&["ls"], &image_of(&[E::file(&name, "x")]));
    assert_clean(&run);
    let last = lines(&run).pop().unwrap();
    assert_eq!(last, format!("/{name}"));
    assert_eq!(last.len(), 64 * 1024 + 1);
}

#[test]
fn a_path_ten_thousand_levels_deep_does_not_overflow_the_stack() {
    let deep = "a/".repeat(10_000) + "leaf";
    let bytes = docker_image(&[
        plain(tar_of(&[E::file(&deep, "x")])),
        // A whiteout of the top removes all 10,001 paths below it.
        plain(tar_of(&[E::file(".wh.a", "")])),
    ]);
    let run = run_bytes(&["inspect"], &bytes);
    assert_clean(&run);
    let table: Vec<String> = lines(&run)
        .into_iter()
        .filter(|l| l.contains("RUN step"))
        .collect();
    assert!(table[0].contains(" 10001      0      0 "), "{table:?}");
    assert!(table[1].contains("      0      0  10001 "), "{table:?}");
    let run = run_bytes(&["ls"], &bytes);
    assert_clean(&run);
    assert!(run.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------
// Links.

#[test]
fn symlink_loops_are_listed_not_followed() {
    let run = run_bytes(
        &["ls", "--long"],
        &image_of(&[
            E::symlink("a", "b"),
            E::symlink("b", "a"),
            E::symlink("self", "self"),
            E::symlink("up", "../../../.."),
            E::file("a/through", "x"),
        ]),
    );
    // `a/through`'s parent loops (a -> b -> a): a warning, and the entry is placed as
    // written, which makes `a` a directory.
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert_eq!(
        run.stderr,
        "layerscope: warning: layer 0: /a/through: more than 40 symlinks to follow (a loop?), \
         or one longer than 4095 bytes, resolving its parent; placed at the path as written\n"
    );
    assert_eq!(
        lines(&run),
        [
            "drwxr-xr-x 0:0 0 /a",
            "-rw-r--r-- 0:0 1 /a/through",
            "lrwxrwxrwx 0:0 0 /b -> a",
            "lrwxrwxrwx 0:0 0 /self -> self",
            "lrwxrwxrwx 0:0 0 /up -> ../../../..",
        ]
    );
    // Outer archive members that loop are missing blobs, not a hang.
    let layers = basic_layers();
    let config = config_for(&layers);
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in docker_members(&layers, &config) {
        if name == "1/layer.tar" {
            for (link, target) in [("1/layer.tar", "loop.tar"), ("loop.tar", "1/layer.tar")] {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, link, target).unwrap();
            }
            continue;
        }
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        builder
            .append_data(&mut header, &name, bytes.as_slice())
            .unwrap();
    }
    assert_fails(
        &run_bytes(&["inspect"], &builder.into_inner().unwrap()),
        &["image.tar", "missing blob 1/layer.tar"],
    );
}

#[test]
fn hardlinks_to_nothing_or_to_directories_are_warnings() {
    let run = run_bytes(
        &["ls", "--long"],
        &image_of(&[
            E::dir("d/"),
            E::file("f", "12345"),
            E::hardlink("good", "f"),
            E::hardlink("to-missing", "nowhere"),
            E::hardlink("to-dir", "d"),
            E::hardlink("to-self", "to-self"),
        ]),
    );
    assert_eq!(run.code, Some(0));
    for name in [
        "to-missing points to nowhere",
        "to-dir points to d",
        "to-self",
    ] {
        assert_warns(&run, &[&format!("hardlink /{name}")]);
    }
    assert!(lines(&run).contains(&"-rw-r--r-- 0:0 5 /good".to_string()));
    assert!(lines(&run).contains(&"-rw-r--r-- 0:0 0 /to-missing".to_string()));
}

#[test]
fn duplicate_entries_in_one_layer_last_one_wins() {
    let run = run_bytes(
        &["ls", "--long"],
        &image_of(&[
            E::file("x", "first"),
            E::file("x", "second!"),
            E::dir("d/"),
            E::file("d/child", "c"),
            E::file("d", "now a file"),
        ]),
    );
    assert_clean(&run);
    assert_eq!(lines(&run), ["-rw-r--r-- 0:0 10 /d", "-rw-r--r-- 0:0 7 /x"]);
}

// ---------------------------------------------------------------------------------------
// Whiteouts.

#[test]
fn odd_whiteouts_are_harmless() {
    let bytes = docker_image(&[
        plain(tar_of(&[E::file("keep", "k")])),
        plain(tar_of(&[
            E::file(".wh.absent", ""),
            E::file("dir/.wh.", ""),
            E::file("ghost/.wh..wh..opq", ""),
        ])),
    ]);
    let run = run_bytes(&["ls"], &bytes);
    assert_warns(&run, &["layer 1", "1 whiteout entries named nothing"]);
    // The opaque marker's directory exists from then on, as a runtime creates it.
    assert_eq!(lines(&run), ["/ghost", "/keep"]);
}

// ---------------------------------------------------------------------------------------
// Special entries.

#[test]
fn device_nodes_fifos_and_sparse_files_are_listed() {
    let mut null = E::new("dev/null", b'3');
    null.device = Some((1, 3));
    let mut sda = E::new("dev/sda", b'4');
    sda.device = Some((8, 0));
    let mut layer = Vec::new();
    for entry in [null, sda, E::new("fifo", b'6')] {
        push_entry(&mut layer, &entry);
    }
    push_sparse(&mut layer, "sparse", 4096, &[b's'; 512], 1 << 20);
    layer.extend_from_slice(&[0; 1024]);
    let run = run_bytes(&["ls", "--long"], &docker_image(&[plain(layer)]));
    assert_clean(&run);
    assert_eq!(
        lines(&run),
        [
            "drwxr-xr-x 0:0 0 /dev",
            "crw-r--r-- 0:0 0 /dev/null",
            "brw-r--r-- 0:0 0 /dev/sda",
            "prw-r--r-- 0:0 0 /fifo",
            "-rw-r--r-- 0:0 1048576 /sparse",
        ]
    );
}

#[test]
fn sparse_files_claiming_exabytes_load_at_once() {
    // Two sparse files of 2^62 and 2^63 bytes each store 512 bytes: reading their holes
    // would take centuries, and adding their sizes overflows a u64.
    let mut layer = Vec::new();
    push_sparse(&mut layer, "huge", (1 << 62) - 512, &[b'h'; 512], 1 << 62);
    push_sparse(&mut layer, "huger", (1 << 63) - 512, &[b'h'; 512], 1 << 63);
    push_sparse(&mut layer, "hugest", u64::MAX - 512, &[b'h'; 512], u64::MAX);
    layer.extend_from_slice(&[0; 1024]);
    let bytes = docker_image(&[plain(layer)]);
    let started = Instant::now();
    let run = run_bytes(&["inspect"], &bytes);
    assert_clean(&run);
    // A hang guard, not a measurement: hashing the holes took forever before the fix.
    assert!(started.elapsed() < Duration::from_secs(60));
    let run = run_bytes(&["ls", "--long"], &bytes);
    assert!(lines(&run).contains(&format!("-rw-r--r-- 0:0 {} /hugest", u64::MAX)));
}

#[test]
fn sizes_near_u64_max_in_headers_end_cleanly() {
    for size in [u64::MAX, u64::MAX - 511, u64::MAX - 512, 1 << 63] {
        for kind in [b'0', b'5', b'2'] {
            let mut entry = E::new("liar", kind);
            entry.size = Some(size);
            entry.data = b"short".to_vec();
            entry.link = b"t".to_vec();
            let bytes = image_of(&[E::file("before", "b"), entry]);
            let run = run_bytes(&["ls", "--no-verify"], &bytes);
            // Either a clean error naming the layer, or a truncation warning keeping
            // the entries before it.
            if run.code == Some(2) {
                assert_fails(&run, &["layer 0 (", "invalid tar data"]);
            } else {
                assert_warns(&run, &["layer 0", "ends early"]);
                assert!(lines(&run).contains(&"/before".to_string()));
            }
        }
    }
}

#[test]
fn huge_pax_and_long_name_headers_are_refused_not_buffered() {
    // The tar crate reads extension headers into memory whole; the parser stops them at
    // 16 MiB instead of letting a layer allocate as much as it holds.
    for typeflag in [b'x', b'L'] {
        let mut layer = Vec::new();
        push_entry(&mut layer, &E::file("before", "b"));
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        header.set_entry_type(tar::EntryType::new(typeflag));
        header.set_size(17 << 20);
        header.set_mode(0o644);
        push_header(&mut layer, &mut header);
        layer.resize(layer.len() + (17 << 20), b'a');
        push_entry(&mut layer, &E::file("after", "x"));
        layer.extend([0; 1024]);
        let run = run_bytes(&["ls", "--no-verify"], &docker_image(&[plain(layer)]));
        assert_fails(&run, &["layer 0 (", "headers exceed 16 MiB"]);
    }
}

// ---------------------------------------------------------------------------------------
// Bombs and cancellation.

/// Peak RSS in KiB of a child process that loads `image` through the library. The child
/// is this test binary again, running `memory_probe`.
fn peak_rss_kib(image: &Path) -> u64 {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["memory_probe", "--exact", "--nocapture", "--test-threads=1"])
        .env("LAYERSCOPE_PROBE_IMAGE", image)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB="))
        .unwrap_or_else(|| panic!("no probe output: {stdout}"))
        .trim()
        .parse()
        .unwrap()
}

/// Not a test of its own: `peak_rss_kib` runs it in a child process.
#[test]
fn memory_probe() {
    let Some(image) = std::env::var_os("LAYERSCOPE_PROBE_IMAGE") else {
        return;
    };
    let options = layerscope::load::LoadOptions {
        verify: true,
        ..Default::default()
    };
    let control = layerscope::layer::ParseControl::default();
    let loaded =
        layerscope::load::load_path(image.to_str().unwrap(), &options, &control, &mut |_| {})
            .unwrap();
    let listed = loaded.tree.listing(loaded.tree.layer_count() - 1).len();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .unwrap()
        .trim()
        .trim_end_matches(" kB");
    println!("LISTED={listed}");
    println!("PEAK_RSS_KIB={peak}");
}

fn sha_file(path: &Path) -> String {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut hasher).unwrap();
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// An OCI archive at `path` whose one layer is the file `blob`, streamed from disk so
/// that the test never holds a big layer in memory.
fn image_around_blob(path: &Path, blob: &Path, media: &str, diff_id: &str) {
    let digest = sha_file(blob);
    let size = std::fs::metadata(blob).unwrap().len();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "RUN bomb"}],
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config), "size": config.len()},
        "layers": [{"mediaType": media, "digest": digest, "size": size}],
    }))
    .unwrap();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(&manifest), "size": manifest.len()}],
    }))
    .unwrap();
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut add = |name: String, size: u64, data: &mut dyn std::io::Read| {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        builder.append_data(&mut header, name, data).unwrap();
    };
    add(
        format!("blobs/sha256/{}", hex_of(&config)),
        config.len() as u64,
        &mut &config[..],
    );
    add(
        format!("blobs/sha256/{}", digest.trim_start_matches("sha256:")),
        size,
        &mut std::fs::File::open(blob).unwrap(),
    );
    add(
        format!("blobs/sha256/{}", hex_of(&manifest)),
        manifest.len() as u64,
        &mut &manifest[..],
    );
    add("index.json".into(), index.len() as u64, &mut &index[..]);
    builder.finish().unwrap();
}

fn gz_member(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A gzip layer holding one file of `size` zeros (a multiple of 1 MiB), made of one
/// compressed MiB repeated as gzip members, which layers may be (pigz, estargz).
/// With `diff_id: false` the config's diff_id is not computed (and is wrong).
fn zeros_bomb(dir: &Path, size: u64, diff_id: bool) -> PathBuf {
    let blob = dir.join("bomb.blob");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&blob).unwrap());
    let mut hasher = Sha256::new();
    let mut header = Vec::new();
    push_entry(
        &mut header,
        &E {
            size: Some(size),
            ..E::file("zeros", "")
        },
    );
    out.write_all(&gz_member(&header)).unwrap();
    hasher.update(&header);
    let mib = vec![0u8; 1 << 20];
    let member = gz_member(&mib);
    for _ in 0..size >> 20 {
        out.write_all(&member).unwrap();
        if diff_id {
            hasher.update(&mib);
        }
    }
    out.write_all(&gz_member(&[0; 1024])).unwrap();
    hasher.update([0u8; 1024]);
    drop(out);
    let image = dir.join("bomb.tar");
    let diff = format!("sha256:{}", hex::encode(hasher.finalize()));
    image_around_blob(
        &image,
        &blob,
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &diff,
    );
    std::fs::remove_file(blob).unwrap();
    image
}

/// A plain layer of `count` empty files spread over 100 directories.
fn many_files(dir: &Path, name: &str, count: usize) -> PathBuf {
    let blob = dir.join(format!("{name}.blob"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&blob).unwrap());
    let mut block = Vec::new();
    for i in 0..count {
        block.clear();
        push_entry(&mut block, &E::file(format!("d{}/f{i}", i % 100), ""));
        out.write_all(&block).unwrap();
    }
    out.write_all(&[0; 1024]).unwrap();
    drop(out);
    let image = dir.join(format!("{name}.tar"));
    let digest = sha_file(&blob);
    image_around_blob(
        &image,
        &blob,
        "application/vnd.oci.image.layer.v1.tar",
        &digest,
    );
    std::fs::remove_file(blob).unwrap();
    image
}

#[test]
fn many_empty_files_cost_memory_per_entry_not_more() {
    // 5,000 and 50,000 files here (a debug build parses slowly); docs/fuzzing.md records
    // a 1,000,000-file run of the release binary.
    let inputs = Inputs::new();
    let small = many_files(inputs.dir.path(), "small", 5_000);
    let large = many_files(inputs.dir.path(), "large", 50_000);
    let (small_kib, large_kib) = (peak_rss_kib(&small), peak_rss_kib(&large));
    let per_entry = large_kib.saturating_sub(small_kib) * 1024 / 45_000;
    // Records, arena, nodes, versions and the listing: a few hundred bytes per path.
    assert!(
        per_entry < 1000,
        "{per_entry} bytes per entry ({small_kib} KiB, then {large_kib} KiB)"
    );
}

#[test]
fn a_gzip_bomb_costs_time_not_memory() {
    // 1 MiB and 12 MiB of zeros from ~1 KiB per MiB of blob. Debug builds inflate at a
    // few MB/s, so the sizes are small; docs/fuzzing.md records a 1 GiB release run.
    let (base_dir, bomb_dir) = (Inputs::new(), Inputs::new());
    let base = zeros_bomb(base_dir.dir.path(), 1 << 20, true);
    let bomb = zeros_bomb(bomb_dir.dir.path(), 12 << 20, true);
    let stored = std::fs::metadata(&bomb).unwrap().len();
    assert!(stored < 64 << 10, "{stored}");
    let (base_kib, bomb_kib) = (peak_rss_kib(&base), peak_rss_kib(&bomb));
    assert!(
        bomb_kib < base_kib + 6 * 1024,
        "peak RSS {base_kib} KiB for 1 MiB of content, {bomb_kib} KiB for 12 MiB"
    );
    let run = run(&["ls", "--long"], &base);
    assert_clean(&run);
    assert_eq!(lines(&run), ["-rw-r--r-- 0:0 1048576 /zeros"]);
}

/// A command whose SIGINT has its default action. A process started with `&` by a
/// non-interactive shell (a CI script, say) inherits SIGINT ignored, and so would the
/// child: it would then run to the end however long, and never test the interruption.
fn interruptible(cwd: &Path, tmp: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = command(cwd, tmp);
    // SAFETY: signal(2) is async-signal-safe, so it may run between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::signal(libc::SIGINT, libc::SIG_DFL) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// Send SIGINT and wait for the process to end: a generous bound that only catches a
/// process ignoring the signal (a loaded CI machine must not make this flaky).
fn interrupt(child: &mut std::process::Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGINT");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn ctrl_c_ends_a_long_load_promptly_and_leaves_nothing() {
    use std::os::unix::process::ExitStatusExt;
    let inputs = Inputs::new();
    let bomb = zeros_bomb(inputs.dir.path(), 8 << 30, false);
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // While parsing an 8 GiB layer, which takes far longer than the wait (with the
    // decompression cap lifted: the cap would stop it at 1 GiB, maybe before the signal).
    let mut child = interruptible(cwd.path(), tmp.path())
        .args(["inspect", "-q", "--max-expansion", "0"])
        .arg(&bomb)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let status = interrupt(&mut child);
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    assert!(
        status.signal() == Some(2) || status.code() == Some(130),
        "{status:?}: {stderr}"
    );

    // While reading stdin (an open pipe) as it streams in: a member whose header promises
    // 1 GiB, of which only the first MiB has arrived.
    let mut child = interruptible(cwd.path(), tmp.path())
        .args(["inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_path("blobs/sha256/big").unwrap();
    header.set_size(1 << 30);
    header.set_mode(0o644);
    header.set_cksum();
    stdin.write_all(header.as_bytes()).unwrap();
    stdin.write_all(&vec![0u8; 1 << 20]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = interrupt(&mut child);
    assert!(
        status.signal() == Some(2) || status.code() == Some(130),
        "{status:?}"
    );
    drop(stdin);
    assert_eq!(entries_of(cwd.path()), Vec::<String>::new());
    assert_eq!(entries_of(tmp.path()), Vec::<String>::new());
}

#[test]
fn stdin_images_load_and_leave_no_files() {
    let bytes = docker_image(&basic_layers());
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut child = command(cwd.path(), tmp.path())
        .args(["ls", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "/etc\n/etc/hostname\n/etc/motd\n"
    );
    assert_eq!(entries_of(cwd.path()), Vec::<String>::new());
    assert_eq!(entries_of(tmp.path()), Vec::<String>::new());
}
