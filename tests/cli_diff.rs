//! `layerscope diff A B` end to end, on real images: the same image in two formats (every
//! layer shared, nothing changed), and two builds of one app on a shared base (made by
//! tests/fixtures/make-compare-images.sh with umoci and skopeo). Sizes and change sets are
//! checked against an independent count: the two images' `ls --long` listings.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn local(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn shared(name: &str) -> Option<String> {
    let dir = std::env::var_os("LAYERSCOPE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    let path = dir.join(name);
    if path.is_file() {
        Some(path.to_str().unwrap().to_string())
    } else {
        eprintln!("note: {path:?} not found; skipping the shared-fixture part");
        None
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = run(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// path → (mode, uid:gid, size, link) from `ls --long`.
fn listing(image: &str) -> BTreeMap<String, (String, String, u64, String)> {
    let out = run(&["ls", "--long", image]);
    assert_eq!(out.status.code(), Some(0));
    stdout(&out)
        .lines()
        .map(|line| {
            let mut parts = line.splitn(4, ' ');
            let mode = parts.next().unwrap().to_string();
            let owner = parts.next().unwrap().to_string();
            let size: u64 = parts.next().unwrap().parse().unwrap();
            let rest = parts.next().unwrap();
            let (path, link) = match rest.split_once(" -> ") {
                Some((p, l)) => (p.to_string(), l.to_string()),
                None => (rest.to_string(), String::new()),
            };
            (path, (mode, owner, size, link))
        })
        .collect()
}

#[test]
fn the_same_image_in_two_formats_shares_every_layer_and_changes_nothing() {
    let (Some(a), Some(b)) = (
        shared("small-docker-archive.tar"),
        shared("small-zstd-oci-archive.tar"),
    ) else {
        return;
    };
    let doc = json(&[&a, &b]);
    assert_eq!(doc["schema"], "layerscope.diff/v1");
    let layers = doc["shared_layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4, "{doc:#}");
    for (i, layer) in layers.iter().enumerate() {
        assert_eq!(layer["index_a"], i);
        assert_eq!(layer["index_b"], i);
        assert!(layer["diff_id"].as_str().unwrap().starts_with("sha256:"));
        // Stored as a plain tar in A and as zstd in B: the same layer all the same.
        assert!(
            layer["compressed_bytes_b"].as_u64().unwrap()
                < layer["compressed_bytes_a"].as_u64().unwrap()
        );
    }
    assert_eq!(doc["common_base_layers"], 4);
    assert!(doc["diverge_at"].is_null());
    assert_eq!(doc["changes"].as_array().unwrap().len(), 0);
    assert_eq!(doc["totals"]["delta"], 0);
    assert_eq!(doc["totals"]["size_a"], doc["totals"]["size_b"]);

    let text = stdout(&run(&["diff", &a, &b]));
    assert!(
        text.contains("the bottom 4 layers (7.3 MB of content, uncompressed) are shared; the two stacks are identical"),
        "{text}"
    );
}

#[test]
fn two_builds_of_one_app_share_the_base_and_list_exactly_what_changed() {
    let (a, b) = (local("app-v1.tar"), local("app-v2.tar"));
    let doc = json(&[&a, &b]);

    // The base layer is shared (docker-archive plain tar in A, gzip in B), then they part.
    let layers = doc["shared_layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "{doc:#}");
    assert_eq!(
        (layers[0]["index_a"].as_u64(), layers[0]["index_b"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(doc["common_base_layers"], 1);
    assert_eq!(doc["diverge_at"]["layer"], 1);
    assert_eq!(
        doc["diverge_at"]["a_instruction"],
        "app v1: /app and /etc/app"
    );
    assert_eq!(
        doc["diverge_at"]["b_instruction"],
        "app v2: /app and /etc/app"
    );

    // The independent count: the two final listings, compared line by line.
    let (la, lb) = (listing(&a), listing(&b));
    let mut expected: BTreeMap<String, &str> = BTreeMap::new();
    for (path, state) in &lb {
        match la.get(path) {
            None => {
                expected.insert(path.clone(), "added");
            }
            Some(old) if old != state => {
                expected.insert(path.clone(), "modified");
            }
            Some(_) => {}
        }
    }
    for path in la.keys().filter(|p| !lb.contains_key(*p)) {
        expected.insert(path.clone(), "removed");
    }
    // Same size, mode and owner but new bytes: only the content hash tells.
    expected.insert("/etc/app/app.conf".into(), "modified");

    let changes = doc["changes"].as_array().unwrap();
    let got: BTreeMap<String, &str> = changes
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().to_string(),
                c["change"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    // Sorted bytewise, as the text form prints them.
    let paths: Vec<&str> = changes
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted);

    // Every delta, and their sum, against the listings' sizes.
    let size = |l: &BTreeMap<String, (String, String, u64, String)>, p: &str| {
        l.get(p).map_or(0, |s| s.2) as i64
    };
    for change in changes {
        let path = change["path"].as_str().unwrap();
        assert_eq!(
            change["delta"].as_i64().unwrap(),
            size(&lb, path) - size(&la, path),
            "{path}"
        );
    }
    let sum = |l: &BTreeMap<String, (String, String, u64, String)>| -> i64 {
        l.values().map(|s| s.2 as i64).sum()
    };
    assert_eq!(
        doc["totals"]["listed_delta"].as_i64().unwrap(),
        sum(&lb) - sum(&la)
    );
    // No hardlinks in these images: content bytes are the listed bytes.
    assert_eq!(doc["totals"]["size_a"].as_i64().unwrap(), sum(&la));
    assert_eq!(doc["totals"]["size_b"].as_i64().unwrap(), sum(&lb));
    assert_eq!(doc["totals"]["added"], 3);
    assert_eq!(doc["totals"]["modified"], 3);
    assert_eq!(doc["totals"]["removed"], 1);

    // Directory deltas add up their paths' deltas.
    let dirs: BTreeMap<&str, i64> = doc["directories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["delta"].as_i64().unwrap()))
        .collect();
    let under = |dir: &str| -> i64 {
        changes
            .iter()
            .filter(|c| c["path"].as_str().unwrap().starts_with(&format!("{dir}/")))
            .map(|c| c["delta"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(dirs["/app"], under("/app"));
    assert_eq!(dirs["/app/bin"], 1_200_000);
    assert_eq!(dirs["/"], sum(&lb) - sum(&la));
}

#[test]
fn text_form_lists_changes_with_letters_and_long_details() {
    let (a, b) = (local("app-v1.tar"), local("app-v2.tar"));
    let out = run(&["diff", &a, &b, "--long"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for line in [
        "D     -10 B  /app/NOTES",
        "A   +1.2 MB  /app/bin/server",
        "C   +1.2 MB  /app/data/payload.bin  (size 300000 -> 1500000)",
        "C       0 B  /app/run  (mode -rwxr-xr-x -> -rwx------)",
        "A       0 B  /app/bin/start  (lrwxrwxrwx 0:0 0 -> ../run)",
        "Changes (paths, directories included): 3 added, 3 changed, 1 deleted",
        "the bottom layer (200.1 kB of content, uncompressed) is shared; from layer 1 on, A has `app v1: /app and /etc/app`, B has `app v2: /app and /etc/app`",
        "added or removed, 1.0 MB or more:",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn markdown_form_is_a_table_for_a_pull_request() {
    let (a, b) = (local("app-v1.tar"), local("app-v2.tar"));
    let out = run(&["diff", &a, &b, "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("## layerscope diff\n"), "{text}");
    assert!(
        text.contains("| C | `/app/data/payload.bin` | +1.2 MB |"),
        "{text}"
    );
    assert!(
        text.contains("**Changes** (paths, directories included): 3 added, 3 changed, 1 deleted."),
        "{text}"
    );
}

#[test]
fn fail_on_growth_gates_on_the_final_size() {
    let (a, b) = (local("app-v1.tar"), local("app-v2.tar"));
    let doc = json(&[&a, &b]);
    let grew = doc["totals"]["delta"].as_i64().unwrap();
    assert!(grew > 0);
    let exact = grew.to_string();
    let less = (grew - 1).to_string();
    assert_eq!(
        run(&["diff", &a, &b, "--fail-on-growth", &exact])
            .status
            .code(),
        Some(0)
    );
    let out = run(&["diff", &a, &b, "--fail-on-growth", &less]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fail-on-growth"));
    // Humanized sizes work as in `ci`; shrinking never fails.
    assert_eq!(
        run(&["diff", &a, &b, "--fail-on-growth", "3MB"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["diff", &b, &a, "--fail-on-growth", "0"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let a = local("app-v1.tar");
    let missing = local("no-such-image.tar");
    let out = run(&["diff", &a, &missing]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-image.tar"), "{stderr}");

    let out = run(&["diff", &a, &a, "--fail-on-growth", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["diff", "-", "-"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["diff", &a, &a, "--image", "x", "--image", "y"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_image_against_itself_is_all_shared() {
    let a = local("app-v1.tar");
    let doc = json(&[&a, &a]);
    assert_eq!(doc["shared_layers"].as_array().unwrap().len(), 2);
    assert!(doc["diverge_at"].is_null());
    assert!(doc["changes"].as_array().unwrap().is_empty());
}

#[test]
fn layers_the_two_images_share_are_read_once() {
    use layerscope::image::{self, OpenOptions};
    use layerscope::layer::ParseControl;
    use layerscope::load::{load_all, LoadOptions};
    use layerscope::source::Source;
    use std::sync::atomic::Ordering;

    let (a, b) = (local("app-v1.tar"), local("app-v2.tar"));
    let (source_a, source_b) = (Source::open(&a).unwrap(), Source::open(&b).unwrap());
    let open = |s: &Source| image::open(s, &OpenOptions::default()).unwrap();
    let (image_a, image_b) = (open(&source_a), open(&source_b));
    let stored = |i: &image::Image, l: usize| i.layers[l].size.unwrap();
    // A's two layers and B's own top layer; B's base layer is A's.
    let expected = stored(&image_a, 0) + stored(&image_a, 1) + stored(&image_b, 1);
    let control = ParseControl::default();
    let options = LoadOptions {
        verify: true,
        ..Default::default()
    };
    let loaded = load_all(
        vec![(&source_a, image_a), (&source_b, image_b)],
        &options,
        &control,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(control.bytes_read.load(Ordering::Relaxed), expected);
    // Both trees still hold the shared layer's files.
    for image in &loaded {
        let paths: Vec<Vec<u8>> = image.tree.listing(0).into_iter().map(|r| r.path).collect();
        assert!(paths.contains(&b"/usr/share/doc/base/LICENSE".to_vec()));
    }
    assert_eq!(loaded[1].layers[0].diff_id, loaded[0].layers[0].diff_id);
}

#[test]
fn tui_refuses_the_output_options_and_bad_input_in_one_line() {
    let (a, b) = (local("app-v1.tar"), local("app-v2.tar"));
    // --format and --fail-on-growth are about printed output and exit codes: clap refuses
    // them beside --tui (an explicit `--format text` too; the default is no conflict).
    for extra in [
        &["--format", "json"][..],
        &["--format", "text"],
        &["--fail-on-growth", "1MB"],
    ] {
        let mut args = vec!["diff", a.as_str(), b.as_str(), "--tui"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains("cannot be used with") && first.contains("--tui"),
            "{stderr}"
        );
        assert!(first.contains(extra[0]), "{stderr}");
    }
    // A missing image is reported before any terminal is needed: one line, exit 2.
    let missing = local("no-such-image.tar");
    let out = run(&["diff", &a, &missing, "--tui"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no-such-image.tar"), "{stderr}");
    // Here stdout is a pipe: the view needs a terminal, and says what to do instead.
    let out = run(&["diff", &a, &b, "--tui"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("diff --tui needs a terminal"), "{stderr}");
    // --help teaches the flag.
    let help = stdout(&run(&["diff", "--help"]));
    assert!(help.contains("--tui"), "{help}");
    assert!(help.contains("joined into one row each"), "{help}");
    assert!(help.contains("diff v1.tar v2.tar --tui"), "{help}");
}
