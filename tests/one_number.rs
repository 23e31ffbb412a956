//! One number for one quantity. Layer content, final filesystem, wasted bytes and the
//! compressed download are four different quantities; every command and view that shows
//! one names it and shows the same figure for it. Run over every demo image, as a teacher
//! preparing a class would: `inspect`, `ci`, `diff`, `explain` and the explorer's screen.

mod tui_support;

use layerscope::size::human;
use serde_json::Value;
use std::process::Command;
use tui_support::{app_for, screen};

fn layerscope(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    // `ci` exits 1 when a rule fails (the wasteful image fails on purpose).
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "layerscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&layerscope(args)).unwrap()
}

fn bytes(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

/// Text with every run of whitespace one space: wrapped screens read as one line.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The figures `inspect --format json` gives: the reference the others are held to.
struct Figures {
    content: u64,
    compressed: u64,
    layers: Vec<(u64, u64)>,
}

fn inspect(image: &str) -> Figures {
    let doc = json(&["inspect", image, "--format", "json"]);
    let layers: Vec<(u64, u64)> = doc["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (bytes(&l["content_bytes"]), bytes(&l["compressed_bytes"])))
        .collect();
    let figures = Figures {
        content: bytes(&doc["content_bytes"]),
        compressed: bytes(&doc["compressed_bytes"]),
        layers,
    };
    // The image's figures are its layers' sums.
    assert_eq!(
        figures.content,
        figures.layers.iter().map(|l| l.0).sum::<u64>()
    );
    assert_eq!(
        figures.compressed,
        figures.layers.iter().map(|l| l.1).sum::<u64>()
    );
    figures
}

fn export() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    layerscope(&["demo", "--export", dir.path().to_str().unwrap()]);
    dir
}

#[test]
fn every_command_and_view_gives_one_figure_per_quantity() {
    let dir = export();
    for demo in layerscope::demo::IMAGES {
        let path = dir.path().join(format!("{}.oci.tar", demo.name));
        let image = path.to_str().unwrap();
        let figures = inspect(image);

        // diff of the image with itself: its final filesystem and wasted bytes.
        let diff = json(&["diff", image, image, "--format", "json"]);
        let totals = &diff["totals"];
        assert_eq!(bytes(&totals["layer_bytes_a"]), figures.content, "{image}");
        assert_eq!(bytes(&totals["compressed_bytes_a"]), figures.compressed);
        let final_fs = bytes(&totals["size_a"]);
        let wasted = bytes(&totals["wasted_bytes_a"]);
        assert!(final_fs <= figures.content);

        // ci: the same layer content and wasted bytes, in JSON and in its text.
        let ci = json(&["ci", image, "--format", "json"]);
        assert_eq!(
            bytes(&ci["image"]["totalBytes"]),
            figures.content,
            "{image}"
        );
        assert_eq!(bytes(&ci["image"]["wastedBytes"]), wasted, "{image}");
        let ci_text = layerscope(&["ci", image]);
        assert!(
            ci_text.contains(&format!(
                "{} ({} bytes) of layer content",
                human(figures.content),
                figures.content
            )),
            "{ci_text}"
        );

        // diff's Markdown table: each quantity in its named column.
        let markdown = layerscope(&["diff", image, image, "--format", "markdown"]);
        let row = format!(
            "| {} | {} | {} | {} | {} |",
            figures.layers.len(),
            human(figures.content),
            human(final_fs),
            human(wasted),
            human(figures.compressed)
        );
        assert!(markdown.contains(&row), "{row} not in\n{markdown}");

        // explain: the image's layer content, and each layer's content and download.
        let explain = flat(&layerscope(&["explain", image]));
        assert!(
            explain.contains(&format!(
                "Together they ship {} of file content",
                human(figures.content)
            )),
            "{explain}"
        );
        for (index, (content, compressed)) in figures.layers.iter().enumerate() {
            let shipped = format!(
                "It ships {} of file content ({} to download, compressed)",
                human(*content),
                human(*compressed)
            );
            let section = explain
                .split(&format!("Layer {index}: "))
                .nth(1)
                .unwrap_or_else(|| panic!("no layer {index} in {explain}"));
            let section = section
                .split(&format!("Layer {}: ", index + 1))
                .next()
                .unwrap();
            assert!(section.contains(&shipped), "{shipped} not in {section}");
        }

        // The explorer: the image pane names all three sizes, the layer rows their content.
        let app = app_for(image, 160, 45);
        let sizes = format!(
            "Size: {} layer content, {} final filesystem, {} compressed download",
            human(figures.content),
            human(final_fs),
            human(figures.compressed)
        );
        assert!(
            pane_text(&app).contains(&sizes),
            "{sizes} not on\n{}",
            screen(&app)
        );
        let rows = screen(&app);
        for (content, _) in &figures.layers {
            assert!(
                rows.contains(&human(*content)),
                "{} missing",
                human(*content)
            );
        }
    }
}

/// The image pane's text as one line: its rows without the borders of the panes.
fn pane_text(app: &layerscope::tui::App) -> String {
    let rows: Vec<String> = screen(app)
        .lines()
        .filter_map(|l| {
            let start = l.find("│")?;
            let rest = &l[start + "│".len()..];
            let end = rest.find("│")?;
            Some(rest[..end].trim().to_string())
        })
        .collect();
    flat(&rows.join(" "))
}

/// The layer both demo twins start from is one layer: `diff` gives its content as
/// `inspect` does, saying it is uncompressed, and each side's stored size as `inspect`
/// gives it for that image.
#[test]
fn the_shared_base_layer_has_one_size_everywhere() {
    let dir = export();
    let wasteful = dir.path().join("wasteful.oci.tar");
    let fixed = dir.path().join("fixed.oci.tar");
    let (a, b) = (wasteful.to_str().unwrap(), fixed.to_str().unwrap());
    let (fa, fb) = (inspect(a), inspect(b));
    assert_eq!(fa.layers[0].0, fb.layers[0].0);
    let text = layerscope(&["diff", a, b]);
    assert!(
        text.contains(&format!(
            "the bottom layer ({} of content, uncompressed) is shared",
            human(fa.layers[0].0)
        )),
        "{text}"
    );
    let doc = json(&["diff", a, b, "--format", "json"]);
    let shared = &doc["shared_layers"][0];
    assert_eq!(bytes(&shared["compressed_bytes_a"]), fa.layers[0].1);
    assert_eq!(bytes(&shared["compressed_bytes_b"]), fb.layers[0].1);
    assert_eq!(bytes(&doc["common_base_content_bytes"]), fa.layers[0].0);
}
