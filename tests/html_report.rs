//! `report` and `explain --format html` opened in a real browser: Debian's Chromium,
//! headless, with every network path closed (a dead proxy, no name resolves). The page's
//! DOM after its script ran (`--dump-dom`), its console and a screenshot are checked
//! against `inspect`, `ci` and `diff`'s JSON and against the fixtures' own contents.

mod support;

use regex::Regex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{HistoryEntry, ImageSpec, LayerSpec};

fn layerscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// stdout of a run that must succeed (`ci` may exit 1: a rule failed on purpose).
fn stdout(args: &[&str]) -> String {
    let out = layerscope(args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "layerscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(args)).unwrap()
}

fn export_demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    stdout(&["demo", "--export", dir.path().to_str().unwrap()]);
    dir
}

/// Write `layerscope report IMAGE [extra] -o DIR/report.html` and return its path.
fn report(image: &Path, extra: &[&str], dir: &Path) -> PathBuf {
    let out = dir.join("report.html");
    let mut args = vec!["report", image.to_str().unwrap()];
    args.extend(extra);
    args.extend(["-o", out.to_str().unwrap()]);
    let run = layerscope(&args);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.stdout.is_empty(), "-o writes nothing to stdout");
    out
}

// ---------------------------------------------------------------------------------------
// The browser.

/// Chromium's binary: Debian's, installed by `.ci/run`.
fn chromium() -> PathBuf {
    std::env::var_os("LAYERSCOPE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Whether the browser is there: the oracle of the tests that open a page. Where it is
/// not, they say so and pass (in CI, where .ci/run installs it, they fail).
fn browser() -> bool {
    let path = chromium();
    path.exists() || support::tools::tools(&[&path.to_string_lossy()], "chromium")
}

/// A browser process and its own process group, killed by id when dropped, even when the
/// test fails half-way.
struct Browser {
    child: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The group was made for this child alone (`process_group(0)`): its renderer
            // and GPU processes go with it.
            let group = -(self.child.id() as i32);
            // SAFETY: kill(2) with a process-group id; no memory is involved.
            unsafe { libc::kill(group, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

struct Page {
    stdout: String,
    /// The console messages the page logged (Chromium's `CONSOLE` log lines).
    console: Vec<String>,
}

/// Open `file` in headless Chromium with `mode` (`--dump-dom`, `--screenshot=…`): a fresh
/// profile, HOME and XDG dirs in a temp dir, no network, at most 90 s.
fn open(file: &Path, mode: &[String]) -> Page {
    let home = tempfile::tempdir().unwrap();
    let out_path = home.path().join("stdout");
    let err_path = home.path().join("stderr");
    let mut command = Command::new(chromium());
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,900",
            "--force-device-scale-factor=1",
        ])
        .arg(format!(
            "--user-data-dir={}",
            home.path().join("profile").display()
        ))
        .args(mode)
        .arg(format!("file://{}", file.display()))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut browser = Browser {
        child: command.spawn().unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = browser.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "chromium ran over 90 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(browser);
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(status.success(), "chromium failed: {status}\n{stderr}");
    Page {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        console: stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
    }
}

/// The DOM after the page's script ran, asserting that the console stayed silent: no
/// script error, no blocked request, no policy violation.
fn dom(file: &Path) -> String {
    let page = open(file, &["--dump-dom".to_string()]);
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    page.stdout
}

/// Pixel colours of a screenshot of `file`'s first screen, 1280×900, row by row.
fn screenshot(file: &Path, flags: &[&str]) -> Vec<[u8; 3]> {
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("shot.png");
    let mut mode = vec![format!("--screenshot={}", png_path.display())];
    mode.extend(flags.iter().map(|f| f.to_string()));
    let page = open(file, &mode);
    assert!(page.console.is_empty(), "console: {:#?}", page.console);
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, 900));
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect()
}

fn hex(colour: &str) -> [u8; 3] {
    let c = colour.trim_start_matches('#');
    let byte = |i: usize| u8::from_str_radix(&c[i..i + 2], 16).unwrap();
    [byte(0), byte(2), byte(4)]
}

/// `attr="value"` of the first match of `re`'s capture 1.
fn attr(element: &str, name: &str) -> Option<String> {
    Regex::new(&format!(r#"\s{name}="([^"]*)""#))
        .unwrap()
        .captures(element)
        .map(|c| c[1].to_string())
}

fn num(element: &str, name: &str) -> u64 {
    attr(element, name)
        .unwrap_or_else(|| panic!("no {name} in {element}"))
        .parse()
        .unwrap()
}

/// The start tags of the elements `re` matches.
fn tags<'a>(dom: &'a str, re: &str) -> Vec<&'a str> {
    Regex::new(re)
        .unwrap()
        .find_iter(dom)
        .map(|m| m.as_str())
        .collect()
}

/// The SVG of one treemap, by id.
fn treemap<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!(r#"<svg id="{id}""#))
        .unwrap_or_else(|| panic!("no treemap {id}"));
    let end = start + dom[start..].find("</svg>").unwrap();
    &dom[start..end]
}

/// The report's layer rows against `inspect --format json`: every layer, its content and
/// download bytes and its change counts, and the summary's totals.
fn assert_figures_match_inspect(html: &str, image: &str) {
    let inspect = json(&["inspect", image, "--format", "json"]);
    let rows = tags(html, r#"<tr class="layer"[^>]*>"#);
    let layers = inspect["layers"].as_array().unwrap();
    assert_eq!(rows.len(), layers.len(), "{image}: one row per layer");
    for (row, layer) in rows.iter().zip(layers) {
        assert_eq!(num(row, "data-layer"), layer["index"].as_u64().unwrap());
        assert_eq!(
            num(row, "data-content-bytes"),
            layer["content_bytes"].as_u64().unwrap()
        );
        assert_eq!(
            num(row, "data-compressed-bytes"),
            layer["compressed_bytes"].as_u64().unwrap()
        );
        assert_eq!(num(row, "data-added"), layer["added"].as_u64().unwrap());
        assert_eq!(
            num(row, "data-changed"),
            layer["modified"].as_u64().unwrap()
        );
        assert_eq!(num(row, "data-deleted"), layer["removed"].as_u64().unwrap());
    }
    let quantity = |name: &str| {
        let row = tags(html, &format!(r#"<tr data-quantity="{name}"[^>]*>"#));
        assert_eq!(row.len(), 1, "{image}: no {name} row");
        num(row[0], "data-bytes")
    };
    assert_eq!(
        quantity("layer content"),
        inspect["content_bytes"].as_u64().unwrap()
    );
    assert_eq!(
        quantity("compressed download"),
        inspect["compressed_bytes"].as_u64().unwrap()
    );
    // The final filesystem and wasted bytes as `diff` gives them, and the treemap's cells
    // adding up to the final filesystem.
    let diff = json(&["diff", image, image, "--format", "json"]);
    let final_fs = diff["totals"]["size_a"].as_u64().unwrap();
    assert_eq!(quantity("final filesystem"), final_fs, "{image}");
    assert_eq!(
        quantity("wasted"),
        diff["totals"]["wasted_bytes_a"].as_u64().unwrap()
    );
    if final_fs > 0 {
        let cells: u64 = tags(
            treemap(html, "map-fs"),
            r#"<rect class="(file|rest|dir)"[^>]*>"#,
        )
        .iter()
        .map(|r| num(r, "data-bytes"))
        .sum();
        assert_eq!(cells, final_fs, "{image}: the treemap's cells");
    }
}

// ---------------------------------------------------------------------------------------
// The tests.

#[test]
fn the_wasteful_demo_report_in_chromium() {
    if !browser() {
        return;
    }
    let demo = export_demo();
    let image = demo.path().join("wasteful.oci.tar");
    let dockerfile = demo.path().join("wasteful.Dockerfile");
    let out = tempfile::tempdir().unwrap();
    let file = report(
        &image,
        &["--dockerfile", dockerfile.to_str().unwrap()],
        out.path(),
    );
    let dom = dom(&file);
    // The page's own script ran under its Content-Security-Policy.
    assert!(
        dom.contains(r#"<html lang="en" data-script="ran">"#),
        "{dom}"
    );
    assert_figures_match_inspect(&dom, image.to_str().unwrap());

    // The hints, as `ci` measures them with the same Dockerfile.
    let ci = json(&[
        "ci",
        image.to_str().unwrap(),
        "--dockerfile",
        dockerfile.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let expected: Vec<(String, u64)> = ci["hints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().to_string(),
                h["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(!expected.is_empty(), "the wasteful demo has hints");
    let hints: Vec<(String, u64)> = tags(&dom, r#"<li class="hint"[^>]*>"#)
        .iter()
        .map(|li| (attr(li, "data-kind").unwrap(), num(li, "data-bytes")))
        .collect();
    assert_eq!(hints, expected);

    // Both treemaps, their layers in the legend, and the story folded under each layer.
    let fs_map = treemap(&dom, "map-fs");
    assert!(fs_map.contains(r#"<rect class="file""#));
    let wasted: u64 = tags(
        treemap(&dom, "map-wasted"),
        r#"<rect class="(file|rest|dir)"[^>]*>"#,
    )
    .iter()
    .map(|r| num(r, "data-bytes"))
    .sum();
    assert_eq!(
        wasted,
        ci["image"]["wastedBytes"].as_u64().unwrap(),
        "the wasted map holds every wasted byte"
    );
    let layers = tags(&dom, r#"<tr class="layer"[^>]*>"#).len();
    for layer in 0..layers {
        assert!(
            dom.contains(&format!(
                r#"<details id="story-{layer}"><summary>Layer {layer}: "#
            )),
            "no story for layer {layer}"
        );
    }
    assert!(dom.contains(r#"<span class="badge" title="from the base image">base</span>"#));
    // The script drew the way back to the top of each map.
    assert!(dom.contains(r#"<nav class="crumbs" data-for="map-fs" aria-label="Zoom level of the final filesystem map"><button type="button" aria-current="true">/</button></nav>"#), "{dom}");

    // Without script, all but the zoom is there: the treemaps are drawn SVG, every cell
    // with its tooltip, the stack, hints and story plain HTML. (Chromium's headless modes
    // need script themselves, so the page's script is taken out instead of turned off.)
    let html = std::fs::read_to_string(&file).unwrap();
    let script = html.rfind("<script>").unwrap();
    let end = html.rfind("</script>").unwrap() + "</script>".len();
    let no_script = out.path().join("no-script.html");
    std::fs::write(&no_script, [&html[..script], &html[end..]].concat()).unwrap();
    let static_page = open(&no_script, &["--dump-dom".to_string()]);
    assert!(static_page.console.is_empty(), "{:?}", static_page.console);
    let plain = static_page.stdout;
    assert!(!plain.contains("data-script"), "the script ran");
    assert_eq!(
        tags(&plain, r#"<tr class="layer"[^>]*>"#).len(),
        layers,
        "the stack without script"
    );
    assert_eq!(
        treemap(&plain, "map-fs").matches("<title>").count(),
        fs_map.matches("<title>").count()
    );
    assert_eq!(plain.matches(r#"<li class="hint""#).count(), expected.len());
    assert_eq!(plain.matches("<details id=\"story-").count(), layers);

    // Zoomed by a link to /app/lib: the map shows that directory's rectangle, the path
    // back up is the breadcrumb.
    let zoomed = open(
        Path::new(&format!("{}#map-fs=/app/lib", file.display())),
        &["--dump-dom".to_string()],
    );
    assert!(zoomed.console.is_empty(), "{:?}", zoomed.console);
    let lib = tags(
        treemap(&dom, "map-fs"),
        r#"<g class="dir-open"[^>]*data-name="lib"[^>]*>"#,
    );
    let view_box = attr(lib[0], "data-box").unwrap();
    assert!(
        zoomed.stdout.contains(&format!(
            r#"<svg id="map-fs" class="treemap" viewBox="{view_box}""#
        )),
        "not zoomed to {view_box}"
    );
    assert!(zoomed.stdout.contains(r#"<button type="button">/</button><button type="button">app/</button><button type="button" aria-current="true">lib/</button>"#));

    // The first screen is drawn: many colours, and each layer's colour where its swatch
    // and bar are. Layer 0 hides nothing, so its bar is all its colour: its length is its
    // content over the largest layer's, of 240 px, 14 px high, plus its swatch's 10×10
    // inside (a 12 px square, outlined).
    let pixels = screenshot(&file, &[]);
    assert_eq!(pixels[0], [255, 255, 255], "a light page by default");
    let distinct: std::collections::HashSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(distinct.len() > 50, "{} colours: blank?", distinct.len());
    let rows = tags(&dom, r#"<tr class="layer"[^>]*>"#);
    let fills = tags(&dom, r#"<svg class="swatch"[^>]*><rect [^>]*>"#);
    let colour_of = |layer: usize| hex(&attr(fills[layer], "fill").unwrap());
    let count = |colour: [u8; 3]| pixels.iter().filter(|&&p| p == colour).count() as f64;
    let contents: Vec<f64> = rows
        .iter()
        .map(|r| num(r, "data-content-bytes") as f64)
        .collect();
    let largest = contents.iter().copied().fold(0.0, f64::max);
    assert_eq!(num(rows[0], "data-hidden-bytes"), 0);
    // The bar's 1 px outline blends its edge pixels: its fill shows in (width - 2) × 12 px,
    // the swatch's in 10 × 10.
    let implied = ((contents[0] / largest * 240.0).round() - 2.0) * 12.0 + 100.0;
    let seen = count(colour_of(0));
    assert!(
        (seen - implied).abs() < implied * 0.1,
        "layer 0's colour covers {seen} px, its bar implies {implied}"
    );
    for layer in 1..3 {
        assert!(count(colour_of(layer)) >= 100.0, "layer {layer} not drawn");
    }
    // A reader who prefers dark gets the dark variant, the layers' colours unchanged.
    let dark = screenshot(
        &file,
        &[
            "--force-dark-mode",
            "--blink-settings=preferredColorScheme=0",
        ],
    );
    assert_eq!(dark[0], [0x14, 0x14, 0x14], "prefers-color-scheme: dark");
    assert!(dark.iter().filter(|&&p| p == colour_of(0)).count() as f64 >= implied * 0.9);
    // Most of layer 1's content is hidden by later layers: that much of its bar is shaded,
    // its colour under black at 45 % opacity.
    let hidden = num(rows[1], "data-hidden-bytes") as f64;
    assert!(
        hidden > contents[1] * 0.9,
        "the wasteful demo hides layer 1"
    );
    let shaded = colour_of(1).map(|c| (f64::from(c) * 0.55).round() as i32);
    let near = |p: &[u8; 3]| (0..3).all(|i| (i32::from(p[i]) - shaded[i]).abs() <= 1);
    let seen = pixels.iter().filter(|p| near(p)).count() as f64;
    // Under the shade the bar's outline blends the top and bottom rows and the right column.
    let implied = ((hidden / largest * 240.0).round() - 1.0) * 12.0;
    assert!(
        (seen - implied).abs() < implied * 0.15,
        "layer 1's shaded bar covers {seen} px, its hidden bytes imply {implied}"
    );
}

#[test]
fn hostile_names_render_as_text_and_run_nothing() {
    if !browser() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("hostile.tar");
    let pwn = "document.title='pwned'";
    let names: Vec<Vec<u8>> = vec![
        format!("<script>{pwn}</script>").into_bytes(),
        format!("srv/<img src=x onerror=\"{pwn}\">").into_bytes(),
        b"srv/quote\"and'apostrophe".to_vec(),
        b"srv/amp&amp;ersand & more".to_vec(),
        b"srv/ctl\x1b[31m\x07bell".to_vec(),
        b"srv/</title></svg><b>bold</b>".to_vec(),
        b"etc/plain".to_vec(),
    ];
    // A token the secret rules know, in a file of its own size class (the last).
    let token = "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2";
    let mut layer = LayerSpec::new();
    for (i, name) in names.iter().enumerate() {
        let mut data = vec![b'x'; 300 + 100 * i];
        if i == names.len() - 1 {
            data[..token.len() + 1].copy_from_slice(format!("{token}\n").as_bytes());
        }
        layer = layer.file(name, data);
    }
    ImageSpec::new()
        .tag("example/hostile:1")
        .history(HistoryEntry::layer(&format!(
            "/bin/sh -c echo '<script>{pwn}</script>' > /x"
        )))
        .layer(layer)
        .write_oci_archive(&image)
        .unwrap();
    let file = report(&image, &[], dir.path());
    let dom = dom(&file);
    assert!(dom.contains(r#"data-script="ran""#));
    assert!(
        dom.contains("<title>layerscope report: example/hostile:1</title>"),
        "the title changed: a script from a name ran"
    );
    assert!(!dom.contains("pwned</title>"));
    // Each name is text: the markup it carries is escaped, no element came of it.
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert!(dom.contains("&lt;img src=x onerror=\"document.title='pwned'\"&gt;"));
    assert!(!dom.contains("<img") && !dom.contains("<b>"), "{dom}");
    assert!(dom.contains("quote\"and'apostrophe"));
    assert!(dom.contains("amp&amp;amp;ersand &amp; more"));
    assert!(
        dom.contains(r"ctl\x1b[31m\x07bell"),
        "control bytes show as \\xNN"
    );
    assert!(!dom.contains('\x1b') && !dom.contains('\x07'));
    // One file cell per file of the image, each as large as the file.
    let cells = tags(treemap(&dom, "map-fs"), r#"<rect class="file"[^>]*>"#);
    assert_eq!(cells.len(), names.len());
    let mut sizes: Vec<u64> = cells.iter().map(|c| num(c, "data-bytes")).collect();
    sizes.sort();
    assert_eq!(
        sizes,
        (0..names.len() as u64)
            .map(|i| 300 + 100 * i)
            .collect::<Vec<_>>()
    );
    assert_figures_match_inspect(&dom, image.to_str().unwrap());
    // The secret is counted and listed as `secrets` finds it, its value redacted.
    let found = json(&["secrets", image.to_str().unwrap(), "--format", "json"]);
    let found = found["findings"].as_array().unwrap().len();
    assert!(found >= 1);
    let row = tags(&dom, r#"<tr data-quantity="secret findings"[^>]*>"#);
    assert_eq!(num(row[0], "data-count"), found as u64);
    assert_eq!(dom.matches(r#"<li class="secret">"#).count(), found);
    assert!(
        !dom.contains(&token[4..20]),
        "the token's value is in the page"
    );
    assert!(dom.contains("ghp_…i2"), "the redacted preview");
}

/// The console check sees what it must: a page that logs an error and fetches from the
/// network fails it, so a silent console in the tests above means something.
#[test]
fn the_console_check_catches_errors_and_requests() {
    if !browser() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.html");
    std::fs::write(
        &file,
        "<!DOCTYPE html><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">\
         <img src=\"http://example.invalid/x.png\"><script>console.error('boom')</script>",
    )
    .unwrap();
    let page = open(&file, &["--dump-dom".to_string()]);
    assert!(
        page.console.iter().any(|l| l.contains("boom")),
        "{:?}",
        page.console
    );
    assert!(
        page.console
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "{:?}",
        page.console
    );
}

/// A page refers to nothing outside itself: no http(s) address, no external stylesheet,
/// script or image, links only within the page, and a policy that forbids the rest.
fn assert_self_contained(html: &str, what: &str) {
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{what}"
    );
    assert!(!html.contains("<link") && !html.contains(" src="), "{what}");
    let hrefs = Regex::new(r#"href="([^"]*)""#).unwrap();
    for href in hrefs.captures_iter(html) {
        assert!(href[1].starts_with('#'), "{what}: href {}", &href[1]);
    }
    assert!(html.contains(
        r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-"#
    ), "{what}");
}

/// No demo's report refers to anything outside itself: no http(s) address, no external
/// stylesheet, script or image, links only within the page; its policy forbids the rest.
/// Its figures are `inspect`'s and `diff`'s (the one-number rule, on every demo image).
#[test]
fn reports_are_self_contained_and_give_one_figure_per_quantity() {
    let demo = export_demo();
    for image in layerscope::demo::IMAGES {
        let path = demo.path().join(format!("{}.oci.tar", image.name));
        let out = tempfile::tempdir().unwrap();
        let html = std::fs::read_to_string(report(&path, &[], out.path())).unwrap();
        assert_self_contained(&html, image.name);
        assert_figures_match_inspect(&html, path.to_str().unwrap());
        assert!(html.len() < 3_000_000);
    }
}

#[test]
fn explain_html_is_a_printable_handout_with_the_stack() {
    if !browser() {
        return;
    }
    let demo = export_demo();
    let image = demo.path().join("layers.oci.tar");
    let dockerfile = demo.path().join("layers.Dockerfile");
    let html = stdout(&[
        "explain",
        image.to_str().unwrap(),
        "--dockerfile",
        dockerfile.to_str().unwrap(),
        "--format",
        "html",
    ]);
    let text = stdout(&[
        "explain",
        image.to_str().unwrap(),
        "--dockerfile",
        dockerfile.to_str().unwrap(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("handout.html");
    std::fs::write(&file, &html).unwrap();
    let dom = dom(&file);
    // No script at all: a handout is read and printed.
    assert!(!dom.contains("<script") && dom.contains("script-src 'none'"));
    assert_figures_match_inspect_layers(&dom, image.to_str().unwrap());
    // The same story as the text: every layer's section, every heading.
    let layers = tags(&dom, r#"<tr class="layer"[^>]*>"#).len();
    for layer in 0..layers {
        assert!(text.contains(&format!("Layer {layer}: ")));
        assert!(
            dom.contains(&format!("<h2>Layer {layer}: ")),
            "layer {layer}"
        );
    }
    assert_eq!(
        dom.matches("<h2>").count() + dom.matches("<h3>").count(),
        text.lines().filter(|l| l.starts_with("---")).count() + 1,
        "one heading per section of the text, and the stack's"
    );
}

/// [`assert_figures_match_inspect`]'s per-layer half, for the handout (no summary).
fn assert_figures_match_inspect_layers(html: &str, image: &str) {
    let inspect = json(&["inspect", image, "--format", "json"]);
    let rows = tags(html, r#"<tr class="layer"[^>]*>"#);
    let layers = inspect["layers"].as_array().unwrap();
    assert_eq!(rows.len(), layers.len());
    for (row, layer) in rows.iter().zip(layers) {
        assert_eq!(
            num(row, "data-content-bytes"),
            layer["content_bytes"].as_u64().unwrap()
        );
        assert_eq!(
            num(row, "data-compressed-bytes"),
            layer["compressed_bytes"].as_u64().unwrap()
        );
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.tar");
    let run = layerscope(&["report", missing.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("missing.tar"), "{stderr}");

    let demo = export_demo();
    let image = demo.path().join("hello.oci.tar");
    let nowhere = dir.path().join("no/such/dir/report.html");
    let run = layerscope(&[
        "report",
        image.to_str().unwrap(),
        "-o",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("report.html"), "{stderr}");
    assert!(!nowhere.exists());
}

/// An attribute value as the DOM dump writes it, back to its text.
fn unescape(value: &str) -> String {
    value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The part of `dom` from the start tag `start` to the next `end`.
fn element<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let at = dom
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in the page"));
    &dom[at..at + dom[at..].find(end).unwrap()]
}

/// The report's Packages section against `packages --format json` on an image whose
/// database Debian's own dpkg wrote (tests/support/dpkg.rs), and the final package set
/// against `dpkg-query` over the rootfs dpkg left: every package, and each layer's added,
/// upgraded and removed packages, biggest first.
#[test]
fn the_packages_section_matches_packages_json_and_dpkg_query() {
    if !browser() || !support::tools::tools(&["dpkg", "dpkg-deb", "dpkg-query"], "dpkg") {
        return;
    }
    let image = support::dpkg::debian_image();
    let layout = image.layout.to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let file = report(&image.layout, &[], out.path());
    let dom = dom(&file);
    let found = json(&["packages", layout, "--format", "json"]);

    // The largest packages: every one here (fewer than the table's cap), biggest first.
    type Row = (String, String, String, u64, u64, u64);
    let mut expected: Vec<Row> = found["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap().to_string();
            let n = |k: &str| p[k].as_u64().unwrap();
            (
                s("manager"),
                s("name"),
                s("version"),
                n("layer"),
                n("bytes"),
                n("files"),
            )
        })
        .collect();
    expected.sort_by(|a, b| b.4.cmp(&a.4).then(a.1.cmp(&b.1)));
    assert!((2..layerscope::report::MAX_PACKAGE_ROWS).contains(&expected.len()));
    let rows: Vec<Row> = tags(&dom, r#"<tr class="package" [^>]*>"#)
        .iter()
        .map(|r| {
            let s = |k: &str| unescape(&attr(r, k).unwrap());
            let n = |k: &str| num(r, k);
            let row = (s("data-manager"), s("data-name"), s("data-version"));
            (
                row.0,
                row.1,
                row.2,
                n("data-layer"),
                n("data-bytes"),
                n("data-files"),
            )
        })
        .collect();
    assert_eq!(rows, expected);
    // The final set is the one dpkg itself reads from the rootfs it wrote.
    let dpkg: std::collections::BTreeSet<(String, String)> =
        support::dpkg::dpkg_query(&image.work.join("rootfs"));
    let shown: std::collections::BTreeSet<(String, String)> =
        rows.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
    assert_eq!(shown, dpkg);
    // Plain HTML: the rows are in the file as written, not made by the script.
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        written.matches(r#"<tr class="package" "#).count(),
        rows.len()
    );

    // Each layer that changed the database: its changes, added ones biggest first and
    // adding up to what `packages` measures for the layer.
    let layers = found["layers"].as_array().unwrap();
    assert_eq!(
        tags(&dom, r#"<details class="package-layer"[^>]*>"#).len(),
        layers.len()
    );
    let names = |list: &Value| -> Vec<String> {
        let mut names: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| v["name"].as_str().unwrap())
                    .to_string()
            })
            .collect();
        names.sort();
        names
    };
    let mut upgrades = 0;
    for layer in layers {
        let index = layer["index"].as_u64().unwrap();
        let section = element(
            &dom,
            &format!(r#"<details class="package-layer" id="packages-{index}""#),
            "</details>",
        );
        let changes = |kind: &str| -> Vec<(String, Option<u64>)> {
            tags(
                section,
                &format!(r#"<tr class="package-change" data-change="{kind}"[^>]*>"#),
            )
            .iter()
            .map(|r| {
                let bytes = attr(r, "data-bytes").map(|b| b.parse().unwrap());
                (unescape(&attr(r, "data-name").unwrap()), bytes)
            })
            .collect()
        };
        let sorted = |rows: &[(String, Option<u64>)]| {
            let mut names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
            names.sort();
            names
        };
        let added = changes("added");
        assert_eq!(sorted(&added), names(&layer["added"]), "layer {index}");
        let sizes: Vec<u64> = added.iter().map(|r| r.1.unwrap()).collect();
        assert!(
            sizes.windows(2).all(|w| w[0] >= w[1]),
            "biggest first: {sizes:?}"
        );
        assert_eq!(
            sizes.iter().sum::<u64>(),
            layer["added_bytes"].as_u64().unwrap()
        );
        let upgraded = changes("upgraded");
        assert_eq!(
            sorted(&upgraded),
            names(&layer["upgraded"]),
            "layer {index}"
        );
        // An upgrade is measured in the layer that made it: the final package's bytes.
        for (name, bytes) in &upgraded {
            let row = expected.iter().find(|r| &r.1 == name).unwrap();
            assert_eq!((row.3, Some(row.4)), (index, *bytes), "{name}");
            upgrades += 1;
        }
        assert_eq!(
            sorted(&changes("removed")),
            names(&layer["removed"]),
            "layer {index}"
        );
    }
    assert!(upgrades > 0, "the image upgrades alpha");
}

/// `fleet --format html` against `fleet --format json`: every total, image row, shared
/// layer and branch of the sharing tree. The page has no script, makes no request (the
/// console stays silent) and shows a hostile image name as text.
#[test]
fn the_fleet_page_matches_fleet_json_and_runs_nothing() {
    if !browser() {
        return;
    }
    use support::rootfs::bytes;
    let dir = tempfile::tempdir().unwrap();
    let base = LayerSpec::new()
        .file("etc/os-release", bytes(5000, 1))
        .file("usr/lib/libc.so", bytes(30000, 2));
    let runtime = LayerSpec::new().file("usr/lib/python/x.py", bytes(9000, 3));
    let write = |path: &Path, layers: &[&LayerSpec]| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        layers
            .iter()
            .fold(ImageSpec::new(), |image, &layer| image.layer(layer.clone()))
            .write_oci_archive(path)
            .unwrap();
    };
    let app1 = dir.path().join("app1.tar");
    let app2 = dir.path().join("app2.tar");
    let app3 = dir.path().join("app3.tar");
    // A name that is markup: a directory `<script>…<` holding `script>.tar`.
    let hostile = dir
        .path()
        .join("<script>document.title='pwned'</script>.tar");
    let token = "ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2\n";
    write(
        &app1,
        &[
            &base,
            &runtime,
            &LayerSpec::new().file("app/one", bytes(4000, 4)),
        ],
    );
    write(
        &app2,
        &[
            &base,
            &runtime,
            &LayerSpec::new()
                .file("app/two", bytes(6000, 5))
                .file("etc/os-release", bytes(5100, 6))
                .file("app/.netrc-token", token),
        ],
    );
    write(
        &app3,
        &[&base, &LayerSpec::new().file("app/three", bytes(7000, 7))],
    );
    write(
        &hostile,
        &[&LayerSpec::new().file("srv/other", bytes(3000, 8))],
    );
    let names: Vec<&str> = [&app1, &app2, &app3, &hostile]
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect();
    let mut args = vec!["fleet"];
    args.extend(&names);
    let set = json(&[&args[..], &["--format", "json"]].concat());
    let file = dir.path().join("fleet.html");
    let run = layerscope(
        &[
            &args[..],
            &["--format", "html", "-o", file.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.stdout.is_empty(), "-o writes nothing to stdout");
    // The set as built: two layers shared (the base and the runtime), two families.
    assert_eq!(set["totals"]["shared_layers"], 2);
    assert_eq!(set["tree"].as_array().unwrap().len(), 2);

    let html = std::fs::read_to_string(&file).unwrap();
    assert_self_contained(&html, "fleet");
    assert!(html.contains("script-src 'none'") && !html.contains("<script"));
    let dom = dom(&file);
    assert!(
        dom.contains("<title>layerscope fleet: 4 images</title>"),
        "a name's script ran"
    );
    assert!(!dom.contains("pwned</title>") && !dom.contains("<script"));
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;.tar"));

    let totals = &set["totals"];
    for key in [
        "images",
        "layer_references",
        "distinct_layers",
        "layers_parsed",
        "shared_layers",
        "pull_bytes",
        "naive_pull_bytes",
        "stored_bytes",
    ] {
        let row = tags(&dom, &format!(r#"<tr data-total="{key}"[^>]*>"#));
        assert_eq!(row.len(), 1, "no {key}");
        assert_eq!(
            num(row[0], "data-value"),
            totals[key].as_u64().unwrap(),
            "{key}"
        );
    }
    assert!(totals["pull_bytes"].as_u64() < totals["naive_pull_bytes"].as_u64());

    let rows = tags(&dom, r#"<tr class="image"[^>]*>"#);
    let images = set["images"].as_array().unwrap();
    assert_eq!(rows.len(), images.len());
    for (row, image) in rows.iter().zip(images) {
        let name = image["name"].as_str().unwrap();
        assert_eq!(unescape(&attr(row, "data-name").unwrap()), name);
        let n = |v: &Value| v.as_u64().unwrap();
        for (attribute, value) in [
            (
                "data-layers",
                image["layers"].as_array().unwrap().len() as u64,
            ),
            ("data-unique", n(&image["unique"]["compressed_download"])),
            ("data-shared", n(&image["shared"]["compressed_download"])),
            ("data-compressed", n(&image["size"]["compressed_download"])),
            ("data-content", n(&image["size"]["layer_content"])),
            ("data-final", n(&image["final_filesystem"])),
            ("data-wasted", n(&image["wasted_bytes"])),
            ("data-secrets", n(&image["secret_findings"])),
            (
                "data-base-layers",
                image["base"]["layers"].as_u64().unwrap_or(0),
            ),
        ] {
            assert_eq!(num(row, attribute), value, "{name}: {attribute}");
        }
        let efficiency: f64 = attr(row, "data-efficiency").unwrap().parse().unwrap();
        assert!((efficiency - image["efficiency"].as_f64().unwrap()).abs() < 1e-9);
    }
    assert!(
        rows.iter().any(|r| num(r, "data-wasted") > 0),
        "app2 hides a base file"
    );
    assert!(
        rows.iter().any(|r| num(r, "data-secrets") > 0),
        "app2 ships a token"
    );

    let shared: Vec<(String, u64, u64, u64)> = tags(&dom, r#"<tr class="shared-layer"[^>]*>"#)
        .iter()
        .map(|r| {
            let key = unescape(&attr(r, "data-key").unwrap());
            (
                key,
                num(r, "data-compressed"),
                num(r, "data-content"),
                num(r, "data-images"),
            )
        })
        .collect();
    let expected: Vec<(String, u64, u64, u64)> = set["layers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, l)| l["images"].as_array().unwrap().len() > 1)
        .map(|(key, l)| {
            let n = |k: &str| l[k].as_u64().unwrap();
            let images = l["images"].as_array().unwrap().len() as u64;
            (
                key.clone(),
                n("compressed_download"),
                n("layer_content"),
                images,
            )
        })
        .collect();
    assert_eq!(shared, expected);

    // The sharing tree, branch by branch in the order a depth-first walk meets them.
    fn walk(branches: &Value, depth: u64, out: &mut Vec<[u64; 6]>) {
        for b in branches.as_array().unwrap() {
            let len = |k: &str| b[k].as_array().unwrap().len() as u64;
            out.push([
                depth,
                len("layers"),
                b["bytes"]["compressed_download"].as_u64().unwrap(),
                b["bytes"]["layer_content"].as_u64().unwrap(),
                len("images"),
                len("ends"),
            ]);
            walk(&b["children"], depth + 1, out);
        }
    }
    let mut expected = Vec::new();
    walk(&set["tree"], 0, &mut expected);
    let branches: Vec<[u64; 6]> = tags(&dom, r#"<li class="branch"[^>]*>"#)
        .iter()
        .map(|b| {
            [
                "data-depth",
                "data-layers",
                "data-compressed",
                "data-content",
                "data-images",
                "data-ends",
            ]
            .map(|a| num(b, a))
        })
        .collect();
    assert_eq!(branches, expected);
    assert!(
        branches.iter().any(|b| b[0] == 2),
        "app1 and app2 branch above the runtime"
    );
    // Every image ends at one branch, named there.
    assert_eq!(dom.matches(r#"<code class="end">"#).count(), images.len());

    // Drawn, light and dark: the page's background, and the bars in the accent colour.
    let light = screenshot(&file, &[]);
    assert_eq!(light[0], [255, 255, 255]);
    assert!(
        light.iter().filter(|&&p| p == hex("#0b57d0")).count() > 500,
        "no bars drawn"
    );
    let dark = screenshot(
        &file,
        &[
            "--force-dark-mode",
            "--blink-settings=preferredColorScheme=0",
        ],
    );
    assert_eq!(dark[0], [0x14, 0x14, 0x14]);
    assert!(dark.iter().filter(|&&p| p == hex("#8ab4f8")).count() > 500);

    // A page that cannot be written: one line naming the file, exit 2.
    let nowhere = dir.path().join("no/such/dir/fleet.html");
    let run = layerscope(
        &[
            &args[..],
            &["--format", "html", "-o", nowhere.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("fleet.html"), "{stderr}");
}

/// Every zoomable cell of a treemap is a focusable button with a name of its own, the
/// zoom path is made of buttons, and the keys work: the page's self-test (`#selftest`)
/// focuses a directory and dispatches real KeyboardEvents and clicks, and writes what
/// each did into the DOM.
#[test]
fn treemap_zoom_is_reachable_and_driven_from_the_keyboard() {
    if !browser() {
        return;
    }
    let demo = export_demo();
    let out = tempfile::tempdir().unwrap();
    let file = report(&demo.path().join("wasteful.oci.tar"), &[], out.path());
    let html = std::fs::read_to_string(&file).unwrap();
    let groups = tags(&html, r#"<g class="dir-open"[^>]*>"#);
    assert!(groups.len() >= 3, "{} zoomable directories", groups.len());
    for g in &groups {
        assert_eq!(attr(g, "tabindex").as_deref(), Some("0"), "{g}");
        assert_eq!(attr(g, "role").as_deref(), Some("button"), "{g}");
        let name = attr(g, "aria-label").unwrap();
        assert!(
            name.contains(&attr(g, "data-name").unwrap()) && name.contains(" in "),
            "{g}"
        );
    }
    let dom = dom(&file);
    assert!(
        !dom.contains("data-selftest"),
        "the self-test runs only when asked"
    );
    let crumbs = element(&dom, r#"<nav class="crumbs" data-for="map-fs""#, "</nav>");
    assert!(crumbs.contains(r#"<button type="button" aria-current="true">/</button>"#));

    let tested = open(
        Path::new(&format!("{}#selftest", file.display())),
        &["--dump-dom".to_string()],
    );
    assert!(tested.console.is_empty(), "{:?}", tested.console);
    assert!(
        tested.stdout.contains(
            r#"data-selftest="focus=true enter=true crumbs=2 escape=true space=true crumb=true click=true""#
        ),
        "{}",
        element(&tested.stdout, "<html", ">")
    );
}

/// WCAG contrast of the page's palette, read from its stylesheet: text at least 4.5:1 on
/// the backgrounds it is drawn on, graphics that carry meaning at least 3:1, in the light,
/// dark and print variants. The ratio is WCAG 2's definition, computed here.
#[test]
fn the_palette_has_wcag_contrast_light_dark_and_print() {
    let css = include_str!("../src/report/style.css");
    let block = |after: &str| -> std::collections::HashMap<String, String> {
        let from = css.find(after).unwrap_or_else(|| panic!("no {after}"));
        let body = element(&css[from..], ":root {", "}");
        Regex::new(r"--([a-z]+):\s*(#[0-9a-f]{6})")
            .unwrap()
            .captures_iter(body)
            .map(|c| (c[1].to_string(), c[2].to_string()))
            .collect()
    };
    let light = block(":root {");
    let with = |over: std::collections::HashMap<String, String>| {
        let mut all = light.clone();
        all.extend(over);
        all
    };
    let dark = with(block("prefers-color-scheme: dark"));
    let print = with(block("@media print"));
    fn luminance(c: [u8; 3]) -> f64 {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
    }
    let ratio = |a: [u8; 3], b: [u8; 3]| {
        let (a, b) = (luminance(a), luminance(b));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    };
    let capture = |re: &str| Regex::new(re).unwrap().captures(css).unwrap()[1].to_string();
    // Names on treemap cells, and the fleet's inherited bar (the muted colour, see-through).
    let cell_text = hex(&capture(r"svg\.treemap text \{[^}]*fill: (#[0-9a-f]{6})"));
    let opacity: f64 = capture(r"rect\.inherited \{[^}]*fill-opacity: ([0-9.]+)")
        .parse()
        .unwrap();
    let palette: Vec<[u8; 3]> = (0..12)
        .map(|i| hex(layerscope::report::treemap::layer_colour(i)))
        .collect();
    for (variant, vars) in [("light", &light), ("dark", &dark), ("print", &print)] {
        let v = |name: &str| hex(&vars[name]);
        let check = |what: &str, fg: [u8; 3], bg: [u8; 3], least: f64| {
            let r = ratio(fg, bg);
            assert!(r >= least, "{variant}: {what} is {r:.2}:1, under {least}:1");
        };
        // Text: body, the muted notes, links and the zoom buttons, names on the map's frame.
        for bg in ["bg", "frame"] {
            check(&format!("fg on {bg}"), v("fg"), v(bg), 4.5);
            check(&format!("muted on {bg}"), v("muted"), v(bg), 4.5);
            check(&format!("accent on {bg}"), v("accent"), v(bg), 4.5);
        }
        // Graphics: bars and focus rings (accent), swatch outlines and badges (muted),
        // the inherited part of a sharing-tree bar.
        check("accent bars", v("accent"), v("bg"), 3.0);
        check("muted outlines", v("muted"), v("bg"), 3.0);
        let blended = std::array::from_fn(|i| {
            (f64::from(v("muted")[i]) * opacity + f64::from(v("bg")[i]) * (1.0 - opacity)).round()
                as u8
        });
        check("inherited bars", blended, v("bg"), 3.0);
        for (layer, &fill) in palette.iter().enumerate() {
            check(
                &format!("names on layer {layer}'s cells"),
                cell_text,
                fill,
                4.5,
            );
        }
    }
    // In the light variants every cell and bar has an outline that stands out from the page
    // and from every layer's colour, so no layer's shape rests on its pale fill alone.
    for (variant, vars) in [("light", &light), ("print", &print)] {
        let edge = hex(&vars["edge"]);
        let r = ratio(edge, hex(&vars["bg"]));
        assert!(r >= 3.0, "{variant}: the outline is {r:.2}:1 on the page");
        for (layer, &fill) in palette.iter().enumerate() {
            let r = ratio(edge, fill);
            assert!(
                r >= 3.0,
                "{variant}: the outline is {r:.2}:1 on layer {layer}"
            );
        }
    }
    // On the dark page the layers' colours stand out from the background as graphics.
    for (layer, &fill) in palette.iter().enumerate() {
        let r = ratio(fill, hex(&dark["bg"]));
        assert!(r >= 3.0, "dark: layer {layer} is {r:.2}:1 on the page");
    }
}
