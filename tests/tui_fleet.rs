//! The fleet view (`layerscope fleet IMAGE… --tui`) on three images built with the test
//! kit: a.tar and b.tar on one base, c.tar on its own. What the view shows is checked
//! against `fleet --format json`, the CLI's own report of the same set; then the real
//! binary is driven in tmux: enter opens an image in the explorer, esc comes back, q quits.

mod tui_support;

use clap::Parser;
use crossterm::event::KeyCode;
use layerscope::cli::{Cli, Command as Sub};
use layerscope::size::human;
use layerscope::tui::fleet::{FleetApp, FleetPane};
use layerscope::tui::Settings;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use tui_support::support::{tmux::Tmux, tools::tools, Compression, Content, ImageSpec, LayerSpec};
use tui_support::*;

const NAMES: [&str; 3] = ["a.tar", "b.tar", "c.tar"];

/// a and b: one base layer, then a layer of their own; c: one unrelated layer.
fn build_set(dir: &Path) {
    let random = |len, seed| Content::Random { len, seed };
    let base = || {
        ImageSpec::new().layer(
            LayerSpec::new()
                .dir("etc", 0o755)
                .file("etc/os-release", "ID=test\n")
                .content("usr/lib/libbase.so", random(100_000, 1)),
        )
    };
    let specs = [
        base().layer(LayerSpec::new().content("app/one", random(50_000, 2))),
        base().layer(LayerSpec::new().content("app/two", random(70_000, 3))),
        ImageSpec::new().layer(LayerSpec::new().content("data/blob", random(30_000, 4))),
    ];
    for (name, spec) in NAMES.iter().zip(specs) {
        spec.compression(Compression::Gzip)
            .write_oci_archive(&dir.join(name))
            .unwrap();
    }
}

/// `fleet --format json` on the set, run in `dir`.
fn fleet_json(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .current_dir(dir)
        .args(["--quiet", "fleet", "--format", "json"])
        .args(NAMES)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The set's one layer two images share: (its key, its compressed download).
fn shared_layer(report: &Value) -> (String, u64) {
    let shared: Vec<(&String, &Value)> = report["layers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, row)| row["images"].as_array().unwrap().len() == 2)
        .collect();
    assert_eq!(shared.len(), 1, "{report}");
    let (key, row) = shared[0];
    (key.clone(), row["compressed_download"].as_u64().unwrap())
}

fn hex(key: &str, digits: usize) -> &str {
    &key["sha256:".len().."sha256:".len() + digits]
}

fn image<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap()
}

/// The fleet view of `names`, measured as `fleet` measures it, on a `width` by `height`
/// screen.
fn fleet_view(names: &[String], width: u16, height: u16) -> FleetApp {
    let mut args = vec!["layerscope".to_string(), "--quiet".into(), "fleet".into()];
    args.extend_from_slice(names);
    let cli = Cli::try_parse_from(args).unwrap();
    let Some(Sub::Fleet(fleet)) = &cli.command else {
        panic!("not fleet")
    };
    let measured = layerscope::commands::fleet::measure(fleet, &cli.global).unwrap();
    let left_out = measured.left_out();
    let view = layerscope::explore::fleet::FleetView::new(measured.set, measured.opened, left_out);
    let mut app = FleetApp::new(view, Settings::default());
    app.resize(width, height);
    app
}

/// The set by names relative to its directory, as in the JSON (the working directory
/// must be the set's).
fn fleet_app(width: u16, height: u16) -> FleetApp {
    fleet_view(&NAMES.map(String::from), width, height)
}

/// The set by absolute paths.
fn fleet_app_at(dir: &Path, width: u16, height: u16) -> FleetApp {
    let names: Vec<String> = NAMES
        .iter()
        .map(|n| dir.join(n).display().to_string())
        .collect();
    fleet_view(&names, width, height)
}

#[test]
fn the_shared_base_is_one_cell_across_two_columns_and_the_figures_are_fleets() {
    let dir = tempfile::tempdir().unwrap();
    build_set(dir.path());
    let report = fleet_json(dir.path());
    // The view opens the images by the names given, relative to the working directory,
    // as the JSON names them. Only this test of this file moves there.
    std::env::set_current_dir(dir.path()).unwrap();
    let mut app = fleet_app(110, 30);
    let screen = fleet_screen(&app);

    // The header names the three images, a and b side by side, c after them.
    let header = screen.lines().nth(1).unwrap();
    let at = |name| {
        header
            .find(name)
            .unwrap_or_else(|| panic!("{name}: {header}"))
    };
    assert!(at("a.tar") < at("b.tar") && at("b.tar") < at("c.tar"));
    // The base, in a and b, is drawn once, across both columns, with its size and holders.
    let (shared, size) = shared_layer(&report);
    let cell = format!("{} {} in 2", hex(&shared, 8), human(size));
    let rows: Vec<&str> = screen.lines().filter(|l| l.contains(&cell)).collect();
    assert_eq!(rows.len(), 1, "{screen}");
    assert_eq!(rows[0].matches(hex(&shared, 8)).count(), 1);
    let (before, _) = rows[0].split_at(rows[0].find(hex(&shared, 8)).unwrap());
    let (_, after) = rows[0].split_at(rows[0].find(" in 2").unwrap());
    // The joined cell reaches into b's column on the right of the text and starts in a's.
    assert!(before
        .trim_start_matches('│')
        .trim_start()
        .starts_with("0 "));
    assert!(before.contains('═') && after.contains('═'), "{}", rows[0]);
    // ... and ends inside b's column.
    let b_column = header[..header.find("b.tar").unwrap()].chars().count();
    let joined_end = rows[0][..rows[0].rfind('═').unwrap()].chars().count();
    assert!(joined_end > b_column, "{}", rows[0]);

    // The selected image (a, the first column): its figures, as fleet reports them.
    let a = image(&report, "a.tar");
    let figure = |value: &Value| human(value.as_u64().unwrap());
    assert!(
        screen.contains("Image    a.tar (1 of 3), 2 layers"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!(
            "unique {} (in no other image of the set), shared {}",
            figure(&a["unique"]["compressed_download"]),
            figure(&a["shared"]["compressed_download"])
        )),
        "{screen}"
    );
    assert!(screen.contains(&format!(
        "compressed download {}, layer content {}, final filesystem {}",
        figure(&a["size"]["compressed_download"]),
        figure(&a["size"]["layer_content"]),
        figure(&a["final_filesystem"])
    )));
    let totals = &report["totals"];
    assert!(screen.contains(&format!(
        "pull for a fresh node {}, stored {}",
        figure(&totals["pull_bytes"]),
        figure(&totals["stored_bytes"])
    )));
    // The sharing tree: the base's branch, then a's and b's, then c's root.
    let tree = &report["tree"];
    let branch = |b: &Value, ends: &str| {
        format!(
            "{}  1 layer, {}{ends}",
            figure(&b["bytes"]["compressed_download"]),
            match b["images"].as_array().unwrap().len() {
                1 => "1 image".to_string(),
                n => format!("{n} images"),
            }
        )
    };
    let lines: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Sharing tree"))
        .skip(1)
        .map(|l| l.trim_start_matches('│').trim_end_matches('│').trim_end())
        .take(4)
        .collect();
    assert_eq!(
        lines,
        [
            format!(" {}", branch(&tree[0], "")),
            format!("   {}", branch(&tree[0]["children"][0], "  = a.tar")),
            format!("   {}", branch(&tree[0]["children"][1], "  = b.tar")),
            format!(" {}", branch(&tree[1], "  = c.tar")),
        ],
        "{screen}"
    );
    insta::assert_snapshot!("fleet_view_of_three_images", screen);

    // Right, then up the stack: b's own layer, in b alone.
    press_fleet(&mut app, [key(KeyCode::Right), key(KeyCode::Char('j'))]);
    let b = image(&report, "b.tar");
    let own = b["layers"][1].as_str().unwrap();
    let screen = fleet_screen(&app);
    assert!(screen.contains("Image    b.tar (2 of 3)"), "{screen}");
    assert!(
        screen.contains(&format!(
            "Layer    1: {} compressed download {}",
            hex(own, 12),
            figure(&report["layers"][own]["compressed_download"])
        )),
        "{screen}"
    );
    // Tab to the tree; its last line is c's root, and selects c.
    press_fleet(&mut app, [key(KeyCode::Tab), key(KeyCode::Char('G'))]);
    assert_eq!(app.focus(), FleetPane::Tree);
    assert!(fleet_screen(&app).contains("Image    c.tar (3 of 3)"));
    // Enter asks to open c in the explorer; the loop stops for it and the view stays.
    press_fleet(&mut app, [key(KeyCode::Enter)]);
    assert_eq!(app.take_open().as_deref(), Some("c.tar"));
    assert!(!app.quit());
}

/// More images than fit: the columns scroll sideways and only the ones on screen are
/// drawn, the title says which.
#[test]
fn a_narrow_terminal_scrolls_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    build_set(dir.path());
    let mut app = fleet_app_at(dir.path(), 72, 30);
    let screen = fleet_screen(&app);
    assert!(
        screen.contains("Stacks: images 1–2 of 3 (left/right scrolls)"),
        "{screen}"
    );
    let header = screen.lines().nth(1).unwrap();
    assert!(
        header.contains("a.tar") && !header.contains("c.tar"),
        "{header}"
    );
    press_fleet(&mut app, [key(KeyCode::Char('l')), key(KeyCode::Char('l'))]);
    let screen = fleet_screen(&app);
    assert!(
        screen.contains("Stacks: images 2–3 of 3 (left/right scrolls)"),
        "{screen}"
    );
    let header = screen.lines().nth(1).unwrap();
    assert!(
        header.contains("c.tar") && !header.contains("a.tar"),
        "{header}"
    );
}

/// `layerscope fleet --tui ARGS` in a private tmux, in `dir`, echoing its exit code when
/// it ends.
fn fleet_in_tmux(name: &str, dir: &Path, args: &str, width: u16, height: u16) -> Tmux {
    let command = format!(
        "env -u NO_COLOR -u CI XDG_CONFIG_HOME=/nonexistent TERM=xterm-256color '{}' --quiet fleet --tui {args}; echo EXITED:$?; sleep 60",
        env!("CARGO_BIN_EXE_layerscope"),
    );
    Tmux::start(name, dir, &command, width, height)
}

/// From the fleet view on the first image: right to the second (the summary then shows
/// `selected`), enter into the explorer, whose screen is returned once it says how to go
/// back; then the key `back` returns to the fleet view, still on that image.
fn into_the_explorer_and_back(tmux: &Tmux, selected: &str, back: &str) -> String {
    tmux.send(&["Right"]);
    tmux.wait("the second image selected", |s| s.contains(selected));
    tmux.send(&["Enter"]);
    let explorer = tmux.wait("the explorer", |s| s.contains("goes back to the fleet"));
    tmux.send(&[back]);
    tmux.wait("the fleet view again, on the same image", |s| {
        s.contains("Sharing tree") && s.contains(selected)
    });
    explorer
}

/// The real binary in a real terminal: the fleet view, enter into the explorer on b,
/// esc back with b still selected, q to quit with exit code 0.
#[test]
fn journey_through_the_fleet_into_the_explorer_and_back() {
    if !tools(&["tmux"], "tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    build_set(dir.path());
    let report = fleet_json(dir.path());
    let (shared, _) = shared_layer(&report);
    let tmux = fleet_in_tmux("fleet-tui", dir.path(), &NAMES.join(" "), 110, 34);
    let joined = format!("{} ", hex(&shared, 8));
    let screen = tmux.wait("the fleet view", |s| {
        s.contains("Sharing tree") && s.contains(&joined)
    });
    let row = screen.lines().find(|l| l.contains(&joined)).unwrap();
    assert!(row.contains("═") && row.contains(" in 2"), "{screen}");
    assert!(
        screen.contains("= a.tar") && screen.contains("= c.tar"),
        "{screen}"
    );

    // b is the second column; enter opens it in the explorer, esc comes back.
    let explorer = into_the_explorer_and_back(&tmux, "Image    b.tar (2 of 3)", "Escape");
    // b's layers: the base and its own 70 kB one (a's own is 50 kB).
    assert!(explorer.contains("Layers [layer 0]"), "{explorer}");
    assert!(explorer.contains("70.0 kB"), "{explorer}");
    assert!(!explorer.contains("50.0 kB"), "{explorer}");
    assert!(!explorer.contains("Sharing tree"), "{explorer}");
    tmux.send(&["q"]);
    tmux.wait("the exit code", |s| s.contains("EXITED:0"));
}

/// Any terminal size draws (the panes shrink, hide or scroll), never a panic.
#[test]
fn every_size_draws() {
    let dir = tempfile::tempdir().unwrap();
    build_set(dir.path());
    let mut app = fleet_app_at(dir.path(), 80, 24);
    for (width, height) in [
        (1, 1),
        (4, 3),
        (10, 5),
        (20, 8),
        (33, 12),
        (40, 40),
        (200, 6),
    ] {
        app.resize(width, height);
        let screen = fleet_screen(&app);
        assert_eq!(screen.lines().count(), usize::from(height));
        press_fleet(&mut app, [key(KeyCode::Right), key(KeyCode::Down)]);
    }
}

/// Without a terminal, `fleet --tui` is refused before any image loads: one line, exit 2.
#[test]
fn without_a_terminal_fleet_tui_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_layerscope"))
        .args(["fleet", "--tui", "missing.tar"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("fleet --tui needs a terminal"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// With `--keep-going`, an image that fails to open is listed in the view, the rest are
/// shown, and quitting exits 2, as `fleet` does.
#[test]
fn with_keep_going_a_broken_image_is_listed_and_the_exit_code_is_2() {
    if !tools(&["tmux"], "tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    build_set(dir.path());
    std::fs::write(dir.path().join("broken.tar"), b"not an image").unwrap();
    let args = "--keep-going a.tar broken.tar c.tar";
    let tmux = fleet_in_tmux("fleet-tui-keep-going", dir.path(), args, 120, 40);
    let screen = tmux.wait("the fleet view", |s| s.contains("Sharing tree"));
    assert!(screen.contains("Stacks: 2 images"), "{screen}");
    let left = screen
        .lines()
        .find(|l| l.contains("Left out"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(left.contains("broken.tar"), "{screen}");
    // The second column is c, the image after the broken one: enter opens c; q there
    // comes back.
    let explorer = into_the_explorer_and_back(&tmux, "Image    c.tar (2 of 2)", "q");
    assert!(explorer.contains("30.0 kB"), "{explorer}");
    tmux.send(&["q"]);
    tmux.wait("the exit code", |s| s.contains("EXITED:2"));
}

/// A click selects: a cell of the stacks picks its image and layer, a line of the tree
/// its branch's image.
#[test]
fn a_click_selects_a_cell_or_a_branch() {
    use crossterm::event::{Event, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let dir = tempfile::tempdir().unwrap();
    build_set(dir.path());
    let mut app = fleet_app_at(dir.path(), 110, 30);
    let click = |column, row| {
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let screen = fleet_screen(&app);
    let header = screen.lines().nth(1).unwrap();
    let c = header[..header.find("c.tar").unwrap()].chars().count() as u16;
    // The row of layer 0 is below the border and the header.
    drive_fleet(&mut app, [click(c + 2, 2)]);
    assert!(fleet_screen(&app).contains("/c.tar (3 of 3)"));
    let tree = screen
        .lines()
        .position(|l| l.contains("Sharing tree"))
        .unwrap() as u16;
    // The tree's second line is a's own branch.
    drive_fleet(&mut app, [click(10, tree + 2)]);
    assert_eq!(app.focus(), FleetPane::Tree);
    let screen = fleet_screen(&app);
    assert!(screen.contains("/a.tar (1 of 3)"), "{screen}");
    assert!(screen.contains("Layer    1: "), "{screen}");
}
