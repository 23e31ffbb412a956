//! `ls --format ncdu` read by the real client: Debian's ncdu (1.18) imports every export
//! (`ncdu -f EXPORT -o OTHER`) and writes back the same tree, and the totals it counts
//! equal `ls --long`'s. Over the shared fixtures, the demo images and every `--layer N`.
//!
//! The totals rule: `ls --long` prints each path's content size, hardlinks included, and
//! ncdu's apparent size counts each hardlinked inode once per directory (by `ino`), so
//! its root total is `ls --long`'s sum with every hardlinked inode counted once. Which
//! paths share an inode is taken from the image unpacked by umoci (the reference
//! unpacker) and scanned by ncdu itself: its own export of the real rootfs must group the
//! links as ours does.
//!
//! gdu opens every export too, with the same total plus the 4096 bytes it counts for each
//! directory.
//!
//! ncdu, gdu and umoci are the oracles: `.ci/run` installs them (and sets `CI`, so a
//! missing one fails there); on a machine without them these tests say so and pass.

mod support;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::raw::*;

/// The real clients the exports are checked with (ncdu's scan of umoci's unpack as well,
/// for the hardlink test).
fn clients(extra: &[&str]) -> bool {
    let mut programs = vec!["ncdu", "gdu"];
    programs.extend_from_slice(extra);
    support::tools::tools(&programs, "ncdu, gdu, umoci, skopeo")
}

fn layerscope(args: &[&str], image: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(args)
        .arg(image)
        .env_remove("CI")
        .output()
        .unwrap()
}

fn stdout_of(args: &[&str], image: &Path) -> Vec<u8> {
    let out = layerscope(args, image);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{args:?} {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn layer_args(base: &[&'static str], layer: Option<&str>) -> Vec<&'static str> {
    let mut args = base.to_vec();
    if let Some(n) = layer {
        args.push("--layer");
        args.push(Box::leak(n.to_string().into_boxed_str()));
    }
    args
}

/// Run `ncdu -f export -o other` and return `other`. ncdu exits 0 even when it rejects its
/// input, so an empty stderr is required too (`-0`: no progress lines there).
fn ncdu_reexport(export: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.json"), dir.path().join("out.json"));
    std::fs::write(&input, export).unwrap();
    let run = Command::new("ncdu")
        .arg("-0")
        .arg("-f")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("cannot run ncdu (Debian package ncdu is required)");
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "ncdu refused the export: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(&output).unwrap()
}

/// The apparent-size total gdu computes over an export (`gdu -n -s -a -f`).
fn gdu_total(export: &[u8]) -> u64 {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), export).unwrap();
    let run = Command::new("gdu")
        .args(["-n", "-p", "-c", "-s", "-a", "--no-prefix", "-f"])
        .arg(file.path())
        .output()
        .expect("cannot run gdu (Debian package gdu is required)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "gdu refused the export: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout.split_whitespace().next().unwrap().parse().unwrap()
}

/// ncdu's scan of a real directory.
fn ncdu_scan(dir: &Path) -> Vec<u8> {
    let run = Command::new("ncdu")
        .arg("-0")
        .arg("-o")
        .arg("-")
        .arg(dir)
        .output()
        .expect("cannot run ncdu (Debian package ncdu is required)");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    run.stdout
}

/// One item of an export: its info object, and its children when it is a directory
/// (sorted by name: ncdu keeps no order).
#[derive(Debug, Clone, PartialEq)]
struct Item {
    info: serde_json::Map<String, Value>,
    children: Option<Vec<Item>>,
}

impl Item {
    fn name(&self) -> &str {
        self.info["name"].as_str().unwrap()
    }
    fn flag(&self, key: &str) -> bool {
        self.info.get(key) == Some(&Value::Bool(true))
    }
    fn number(&self, key: &str) -> u64 {
        self.info.get(key).map_or(0, |v| v.as_u64().unwrap())
    }
}

fn item(value: &Value) -> Item {
    match value {
        Value::Object(info) => Item {
            info: info.clone(),
            children: None,
        },
        Value::Array(parts) => {
            let mut children: Vec<Item> = parts[1..].iter().map(item).collect();
            children.sort_by(|a, b| a.name().cmp(b.name()));
            Item {
                info: parts[0].as_object().unwrap().clone(),
                children: Some(children),
            }
        }
        other => panic!("not an ncdu item: {other}"),
    }
}

/// Parse an export: `[1, minor, {progname, progver, timestamp}, root]`. The bytes must be
/// valid UTF-8 JSON, as gdu and every other JSON reader need.
fn parse(bytes: &[u8], progname: &str) -> Item {
    let doc: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)));
    let parts = doc.as_array().unwrap();
    assert_eq!(parts.len(), 4, "{doc}");
    assert_eq!(parts[0], 1);
    assert_eq!(parts[1], 2);
    assert_eq!(parts[2]["progname"], progname);
    assert!(parts[2]["timestamp"].as_u64().unwrap() > 1_700_000_000);
    let root = item(&parts[3]);
    assert!(root.children.is_some(), "the root is a directory");
    root
}

/// Every item below the root by path (`/a/b`).
fn flatten<'a>(dir: &'a Item, prefix: &str, out: &mut BTreeMap<String, &'a Item>) {
    for child in dir.children.as_deref().unwrap_or_default() {
        let path = format!("{prefix}/{}", child.name());
        out.insert(path.clone(), child);
        flatten(child, &path, out);
    }
}

fn paths(root: &Item) -> BTreeMap<String, &Item> {
    let mut out = BTreeMap::new();
    flatten(root, "", &mut out);
    out
}

fn is_regular(item: &Item) -> bool {
    item.children.is_none() && !item.flag("notreg")
}

/// ncdu's apparent-size total of the root: each item's `asize`, a hardlinked inode
/// (`hlnkc`, same `ino`) counted once.
fn ncdu_total(root: &Item) -> u64 {
    let mut seen = BTreeSet::new();
    paths(root)
        .values()
        .filter(|i| !i.flag("hlnkc") || seen.insert(i.number("ino")))
        .map(|i| i.number("asize"))
        .sum()
}

/// `ls --long`'s rows by path: type character and size.
fn ls_rows(image: &Path, layer: Option<&str>) -> BTreeMap<String, (char, u64)> {
    let short = String::from_utf8(stdout_of(&layer_args(&["ls"], layer), image)).unwrap();
    let long = String::from_utf8(stdout_of(&layer_args(&["ls", "--long"], layer), image)).unwrap();
    assert_eq!(short.lines().count(), long.lines().count());
    // Both are sorted alike; a long line ends with its path, then ` -> target` for a link.
    short
        .lines()
        .zip(long.lines())
        .map(|(path, line)| {
            let fields: Vec<&str> = line.splitn(4, ' ').collect();
            assert!(fields[3].starts_with(path), "{line} vs {path}");
            let kind = fields[0].chars().next().unwrap();
            (path.to_string(), (kind, fields[2].parse().unwrap()))
        })
        .collect()
}

/// Export the image (after `layer`), have ncdu import and re-export it, and compare both
/// with `ls --long`. Returns the re-exported tree.
fn check_image(image: &Path, layer: Option<&str>) -> Item {
    let what = format!("{} --layer {layer:?}", image.display());
    let export = stdout_of(&layer_args(&["ls", "--format", "ncdu"], layer), image);
    let ours = parse(&export, "layerscope");
    let back = parse(&ncdu_reexport(&export), "ncdu");
    assert_eq!(ours, back, "{what}: ncdu's re-export differs");

    let rows = ls_rows(image, layer);
    let items = paths(&back);
    assert_eq!(
        items.keys().collect::<Vec<_>>(),
        rows.keys().collect::<Vec<_>>(),
        "{what}: paths"
    );
    for (path, item) in &items {
        let (kind, size) = rows[path];
        let expected = match kind {
            'd' => item.children.is_some(),
            '-' => is_regular(item) && item.number("asize") == size,
            _ => item.flag("notreg") && item.number("asize") == 0,
        };
        assert!(
            expected,
            "{what}: {path} is {kind} {size} in ls --long: {item:?}"
        );
        // Sizes as stored: no block rounding, so ncdu's disk usage is the same number.
        assert_eq!(item.number("dsize"), item.number("asize"), "{what}: {path}");
    }
    // The totals: every path's bytes, and the file count.
    let ls_bytes: u64 = rows.values().filter(|r| r.0 == '-').map(|r| r.1).sum();
    let ncdu_bytes: u64 = items.values().map(|i| i.number("asize")).sum();
    assert_eq!(ncdu_bytes, ls_bytes, "{what}: bytes");
    let ls_files = rows.values().filter(|r| r.0 == '-').count();
    assert_eq!(
        items.values().filter(|i| is_regular(i)).count(),
        ls_files,
        "{what}: files"
    );
    // gdu reads it too, and counts 4096 bytes for each directory, the root included.
    let dirs = items.values().filter(|i| i.children.is_some()).count() as u64 + 1;
    assert_eq!(
        gdu_total(&export),
        ncdu_total(&back) + 4096 * dirs,
        "{what}: gdu"
    );
    back
}

fn layer_count(image: &Path) -> usize {
    let out = stdout_of(&["inspect", "--format", "json"], image);
    let doc: Value = serde_json::from_slice(&out).unwrap();
    doc["layers"].as_array().unwrap().len()
}

/// Every shared fixture (multi-platform images at their default platform), at the top
/// layer and after every layer below it.
#[test]
fn ncdu_imports_every_fixture_after_every_layer_with_ls_long_totals() {
    let Some(dir) = support::tools::fixtures().filter(|_| clients(&[])) else {
        return;
    };
    let mut images: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tar"))
        .collect();
    images.sort();
    assert!(images.len() >= 15, "{images:?}");
    let mut hardlinked = 0;
    for image in &images {
        let top = check_image(image, None);
        hardlinked += paths(&top).values().filter(|i| i.flag("hlnkc")).count();
        for layer in 0..layer_count(image) - 1 {
            check_image(image, Some(&layer.to_string()));
        }
    }
    // dive's busybox links, small-*'s main.hardlink, edge's links across directories.
    assert!(hardlinked > 100, "{hardlinked} hardlinked items");
}

#[test]
fn ncdu_imports_the_demo_images() {
    if !clients(&[]) {
        return;
    }
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
    for name in ["hello", "layers", "wasteful", "fixed", "opaque"] {
        let image = assets.join(format!("{name}.oci.tar"));
        check_image(&image, None);
        for layer in 0..layer_count(&image) - 1 {
            check_image(&image, Some(&layer.to_string()));
        }
    }
}

/// The image as an OCI layout directory: oci-archives are one already; a docker-archive
/// goes through skopeo.
fn oci_layout(image: &Path, dir: &Path) -> String {
    let layout = dir.join("layout");
    let listing = Command::new("tar").arg("-tf").arg(image).output().unwrap();
    let is_oci = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .any(|l| l == "oci-layout");
    let status = if is_oci {
        std::fs::create_dir(&layout).unwrap();
        Command::new("tar")
            .arg("-xf")
            .arg(image)
            .arg("-C")
            .arg(&layout)
            .status()
            .unwrap()
    } else {
        Command::new("skopeo")
            .arg("copy")
            .arg("--quiet")
            .arg(format!("docker-archive:{}", image.display()))
            .arg(format!("oci:{}:latest", layout.display()))
            .status()
            .expect("cannot run skopeo (required)")
    };
    assert!(status.success(), "{}", image.display());
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap_or("latest");
    format!("{}:{tag}", layout.display())
}

/// Hardlink groups: the sets of paths that share an `ino`.
fn link_groups(root: &Item) -> BTreeSet<BTreeSet<String>> {
    let mut groups: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for (path, item) in paths(root) {
        if item.flag("hlnkc") {
            groups.entry(item.number("ino")).or_default().insert(path);
        }
    }
    groups.into_values().collect()
}

/// ncdu's own export of the real unpacked rootfs: the same paths, kinds, file sizes and
/// hardlink groups (and `nlink`) as ours, so ncdu's hardlink-aware total is the same.
#[test]
fn hardlinks_are_grouped_as_in_the_unpacked_rootfs() {
    let Some(dir) = support::tools::fixtures().filter(|_| clients(&["umoci", "skopeo"])) else {
        return;
    };
    for name in [
        "dive-docker-legacy",
        "small-oci-archive",
        "edge-oci-archive",
    ] {
        let image = dir.join(format!("{name}.tar"));
        let work = tempfile::tempdir().unwrap();
        let layout = oci_layout(&image, work.path());
        let bundle = work.path().join("bundle");
        // Implied directories get 0777 minus the umask; devices need root, which CI has.
        let unpack = Command::new("sh")
            .arg("-c")
            .arg("umask 022 && exec umoci unpack --image \"$0\" \"$1\"")
            .arg(&layout)
            .arg(&bundle)
            .output()
            .expect("cannot run umoci (required)");
        assert!(
            unpack.status.success(),
            "{name}: umoci: {}",
            String::from_utf8_lossy(&unpack.stderr)
        );
        let real = parse(&ncdu_scan(&bundle.join("rootfs")), "ncdu");
        let ours = parse(
            &stdout_of(&["ls", "--format", "ncdu"], &image),
            "layerscope",
        );

        let (real_paths, our_paths) = (paths(&real), paths(&ours));
        assert_eq!(
            real_paths.keys().collect::<Vec<_>>(),
            our_paths.keys().collect::<Vec<_>>(),
            "{name}: paths"
        );
        for (path, theirs) in &real_paths {
            let mine = our_paths[path];
            assert_eq!(mine.children.is_some(), theirs.children.is_some(), "{path}");
            assert_eq!(mine.flag("notreg"), theirs.flag("notreg"), "{path}");
            if is_regular(theirs) {
                assert_eq!(mine.number("asize"), theirs.number("asize"), "{path}");
                assert_eq!(mine.number("nlink"), theirs.number("nlink"), "{path}");
            }
        }
        // Symlinks can be hardlinked on disk too; only files carry bytes.
        let file_groups = |root: &Item| -> BTreeSet<BTreeSet<String>> {
            let all = paths(root);
            link_groups(root)
                .into_iter()
                .filter(|g| g.iter().all(|p| is_regular(all[p])))
                .collect()
        };
        let groups = file_groups(&real);
        assert_eq!(file_groups(&ours), groups, "{name}: hardlink groups");
        assert!(!groups.is_empty(), "{name} has hardlinks");

        // The rule, measured: ncdu's total over the files of the real rootfs, each inode
        // once, is ncdu's total over our export, and `ls --long`'s sum minus the bytes of
        // the extra links.
        let real_files: u64 = {
            let mut seen = BTreeSet::new();
            real_paths
                .values()
                .filter(|i| is_regular(i) && (!i.flag("hlnkc") || seen.insert(i.number("ino"))))
                .map(|i| i.number("asize"))
                .sum()
        };
        let back = parse(
            &ncdu_reexport(&stdout_of(&["ls", "--format", "ncdu"], &image)),
            "ncdu",
        );
        assert_eq!(ncdu_total(&back), real_files, "{name}: ncdu's total");
        let rows = ls_rows(&image, None);
        let ls_sum: u64 = rows.values().filter(|r| r.0 == '-').map(|r| r.1).sum();
        let extra: u64 = groups
            .iter()
            .map(|g| (g.len() as u64 - 1) * rows[g.first().unwrap()].1)
            .sum();
        assert_eq!(
            ls_sum - extra,
            real_files,
            "{name}: ls --long, each inode once"
        );
    }
}

/// Names keep their exact value through JSON escapes (controls, C1, bidi, quote and
/// backslash); bytes that are not UTF-8 become `\xNN` text. No raw control byte and no
/// invalid UTF-8 reaches stdout.
#[test]
fn names_round_trip_through_ncdu_and_never_print_raw() {
    if !clients(&[]) {
        return;
    }
    let names: [&[u8]; 7] = [
        b"ctl\x01x",
        b"esc\x1b[31mred",
        "c1\u{9b}csi".as_bytes(),
        "rtl\u{202e}txt".as_bytes(),
        b"quote\"back\\slash",
        b"bad\xff\xfename",
        "plain \u{1f680}".as_bytes(),
    ];
    let entries: Vec<E> = names.iter().map(|n| E::file(*n, "x")).collect();
    let inputs = tempfile::tempdir().unwrap();
    let image = inputs.path().join("names.tar");
    std::fs::write(&image, image_of(&entries)).unwrap();

    let export = stdout_of(&["ls", "--format", "ncdu"], &image);
    assert!(std::str::from_utf8(&export).is_ok(), "stdout is UTF-8");
    assert!(
        !export.iter().any(|&b| b < 0x20 && b != b'\n' || b == 0x7f),
        "raw C0 or DEL on stdout"
    );
    let text = String::from_utf8(export.clone()).unwrap();
    assert!(
        !text.contains('\u{9b}') && !text.contains('\u{202e}'),
        "{text}"
    );

    let back = parse(&ncdu_reexport(&export), "ncdu");
    assert_eq!(parse(&export, "layerscope"), back);
    let got: BTreeSet<String> = paths(&back).keys().cloned().collect();
    let want: BTreeSet<String> = [
        "/ctl\u{1}x",
        "/esc\u{1b}[31mred",
        "/c1\u{9b}csi",
        "/rtl\u{202e}txt",
        "/quote\"back\\slash",
        "/bad\\xff\\xfename",
        "/plain \u{1f680}",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(got, want);
}

/// A sparse file may claim up to 2^64-1 bytes; ncdu drops the whole import past 2^63-1,
/// so such a size is written as 2^63-1 with a warning, and ncdu still imports it.
#[test]
fn sizes_past_ncdus_limit_are_clamped_with_a_warning() {
    if !clients(&[]) {
        return;
    }
    let mut layer = Vec::new();
    push_sparse(&mut layer, "big", (1 << 62) - 512, &[b'b'; 512], 1 << 62);
    push_sparse(&mut layer, "hugest", u64::MAX - 512, &[b'h'; 512], u64::MAX);
    layer.extend_from_slice(&[0; 1024]);
    let inputs = tempfile::tempdir().unwrap();
    let image = inputs.path().join("sparse.tar");
    std::fs::write(&image, docker_image(&[plain(layer)])).unwrap();

    let out = layerscope(&["ls", "--format", "ncdu"], &image);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("layerscope: warning: ")
            && stderr.contains("1 file size(s) past ncdu's limit of 9223372036854775807")
            && stderr.contains("(first: /hugest)"),
        "{stderr}"
    );
    let back = parse(&ncdu_reexport(&out.stdout), "ncdu");
    let items = paths(&back);
    assert_eq!(items["/big"].number("asize"), 1 << 62);
    assert_eq!(items["/hugest"].number("asize"), i64::MAX as u64);
    assert_eq!(parse(&out.stdout, "layerscope"), back);

    let quiet = layerscope(&["ls", "--format", "ncdu", "--quiet"], &image);
    assert!(quiet.status.success() && quiet.stderr.is_empty());
}

#[test]
fn a_missing_layer_or_long_is_a_one_line_error() {
    let Some(dir) = support::tools::fixtures() else {
        return;
    };
    let image = dir.join("ggcr-whiteout.tar");
    let missing = layerscope(&["ls", "--format", "ncdu", "--layer", "3"], &image);
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(missing.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("ggcr-whiteout.tar: no layer 3; the image has layers 0 to 2"),
        "{stderr}"
    );

    let long = layerscope(&["ls", "--format", "ncdu", "--long"], &image);
    let stderr = String::from_utf8(long.stderr).unwrap();
    assert_eq!(long.status.code(), Some(2));
    assert!(long.stdout.is_empty());
    assert_eq!(
        stderr,
        "layerscope: error: --long is a text listing; leave it out with --format ncdu\n"
    );
}

/// Peak RSS growth, in KiB, while `work` runs: the peak is reset first
/// (`/proc/self/clear_refs`), and the growth is measured from the RSS then.
fn peak_growth_kib(work: impl FnOnce()) -> u64 {
    let status_kib = |key: &str| -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find_map(|l| l.strip_prefix(key)).unwrap();
        line.trim().trim_end_matches(" kB").parse().unwrap()
    };
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:");
    work();
    status_kib("VmHWM:").saturating_sub(before)
}

/// Not a test of its own: `the_export_streams` runs it alone in a child process, so that
/// no other test's allocations count.
#[test]
fn export_memory_probe() {
    let Some(image) = std::env::var_os("LAYERSCOPE_NCDU_PROBE") else {
        return;
    };
    let loaded = layerscope::load::load_path(
        image.to_str().unwrap(),
        &Default::default(),
        &Default::default(),
        &mut |_| {},
    )
    .unwrap();
    let top = loaded.tree.layer_count() - 1;
    let export = peak_growth_kib(|| {
        let mut sink = std::io::sink();
        layerscope::commands::ncdu::write(&loaded.tree, top, 0, &mut sink).unwrap();
    });
    // The same walk materialised, as a listing (or a JSON value) would hold it.
    let listing = peak_growth_kib(|| {
        std::hint::black_box(loaded.tree.listing(top));
    });
    println!("EXPORT_KIB={export}");
    println!("LISTING_KIB={listing}");
}

/// The export is written as the tree is walked: over 50,000 paths its peak memory grows
/// by less than a holding structure of the same paths does, and by under 1 MiB.
#[test]
fn the_export_streams() {
    let entries: Vec<E> = (0..50_000)
        .map(|i| E::file(format!("d{}/file-{i}", i % 100), ""))
        .collect();
    let inputs = tempfile::tempdir().unwrap();
    let image = inputs.path().join("many.tar");
    std::fs::write(&image, image_of(&entries)).unwrap();
    let probe = Command::new(std::env::current_exe().unwrap())
        .args([
            "export_memory_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LAYERSCOPE_NCDU_PROBE", &image)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.status.success(), "{stdout}");
    let value = |key: &str| -> u64 {
        stdout
            .lines()
            .find_map(|l| l.split_once(key).map(|(_, value)| value.trim()))
            .unwrap_or_else(|| panic!("no {key} in {stdout}"))
            .parse()
            .unwrap()
    };
    let (export, listing) = (value("EXPORT_KIB="), value("LISTING_KIB="));
    assert!(export < 1024, "export grew by {export} KiB");
    // The probe sees a structure of 50,000 rows (measured second: the export's freed
    // memory would hide a later export's growth).
    assert!(
        listing > 2048 && export * 8 < listing,
        "export grew by {export} KiB, the listing by {listing} KiB"
    );
}
